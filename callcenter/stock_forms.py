"""Forms of the stock pages: receive, adjust, count, transfer, expected arrivals."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from callcenter.order_admin_forms import options
from core.inventory.models import ADJUSTMENT_REASONS
from core.parsing import parse_int
from core.web.forms import AmountField, record_id

MAX_UNITS = 1_000_000


class UnitsField(StringField):
    """A whole number of units typed as digits (a sign where `signed`); data is an int, or
    None with a message at the field."""

    def __init__(self, label=None, validators=None, *, low: int = 1, high: int = MAX_UNITS,
                 message: str | None = None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.low, self.high = low, high
        self.message = message or f"Enter a whole number of units from {low:,} to {high:,}."

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        raw = (valuelist[0] or "").strip()
        if not raw:
            self.data = None
            return
        self.data = parse_int(raw, low=self.low, high=self.high)
        if self.data is None:
            raise ValueError(self.message)

    def post_validate(self, form, validation_stopped):
        if self.process_errors:
            self.errors = list(self.process_errors)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)


def _warehouse_field(label: str = "Warehouse"):
    return SelectField(label, validators=[DataRequired("Choose a warehouse.")], choices=[],
                       validate_choice=False)


class StockFilterForm(FlaskForm):
    """The stock list's filters (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField("SKU or name", validators=[Optional(), Length(max=100)])
    warehouse = SelectField("Warehouse", choices=[], validate_choice=False,
                            validators=[Optional()])
    low = BooleanField("Low stock only")


class ReceiveForm(FlaskForm):
    sku = StringField("SKU", validators=[DataRequired("Enter the SKU."), Length(max=64)])
    quantity = UnitsField("Quantity", validators=[InputRequired("Enter the units received.")])
    warehouse = _warehouse_field()
    reference = StringField("Reference", validators=[Length(max=40)])
    unit_cost = AmountField("Cost price (optional)", validators=[Optional()])
    note = StringField("Note", validators=[Length(max=200)])


REASON_CHOICES = options([("", "Choose a reason"), *ADJUSTMENT_REASONS.items()])


class AdjustForm(FlaskForm):
    warehouse = _warehouse_field()
    change = UnitsField("Change (units, like 3 or -3)", low=-MAX_UNITS,
                        message="Enter the units gained (like 3) or lost (like -3), not 0.",
                        validators=[InputRequired("Enter the change in units.")])
    reason = SelectField("Reason", choices=REASON_CHOICES,
                         validators=[DataRequired("Choose a reason.")])
    note = StringField("Note", validators=[Length(max=200)])


class CountForm(FlaskForm):
    warehouse = _warehouse_field()
    counted = UnitsField("Units counted", low=0,
                         message=f"Enter the units counted, from 0 to {MAX_UNITS:,}.",
                         validators=[InputRequired("Enter the units counted.")])
    note = StringField("Note", validators=[Length(max=200)])


class TransferForm(FlaskForm):
    source = _warehouse_field("From warehouse")
    target = _warehouse_field("To warehouse")
    quantity = UnitsField("Units to move", validators=[InputRequired("Enter the units to move.")])
    note = StringField("Note", validators=[Length(max=200)])


class BinForm(FlaskForm):
    warehouse = _warehouse_field()
    bin_location = StringField("Bin", validators=[Length(max=20, message=(
        "A bin has at most 20 characters, like A-03-2."))])


class ArrivalForm(FlaskForm):
    supplier = SelectField("Supplier", choices=[], coerce=record_id, validate_choice=False,
                           validators=[InputRequired("Choose a supplier.")])
    sku = StringField("SKU", validators=[DataRequired("Enter the SKU."), Length(max=64)])
    quantity = UnitsField("Quantity", validators=[InputRequired("Enter the units expected.")])
    warehouse = _warehouse_field()
    expected_on = DateField("Expected on", validators=[InputRequired("Enter the expected day.")])
    reference = StringField("Reference", validators=[Length(max=40)])


class RescheduleForm(FlaskForm):
    expected_on = DateField("New expected day",
                            validators=[InputRequired("Enter the new expected day.")])


class ReceiveArrivalForm(FlaskForm):
    quantity = UnitsField("Units that came", validators=[Optional()])
    unit_cost = AmountField("Cost price (optional)", validators=[Optional()])


class ActionForm(FlaskForm):
    """A button that does something (cancel an arrival): only the CSRF token."""
