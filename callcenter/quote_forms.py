"""Forms of the console's quote pages: the worklist's filters, a new quote, the editor's
line, price and terms forms, sending and declining."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from callcenter.catalog_forms import options
from core.orders.cart import MAX_LINE_QUANTITY
from core.quotes.services import NOTE_LENGTH, REASON_LENGTH, REASONS, STATUS_FILTERS
from core.web.forms import AmountField, PercentField


class QuoteFilterForm(FlaskForm):
    """The worklist's filters (GET, no CSRF)."""

    class Meta:
        csrf = False

    status = SelectField("Status", choices=options(STATUS_FILTERS.items()), default="",
                         validators=[Optional()])
    q = StringField("Quote, customer name or number", validators=[Optional(), Length(max=40)])


class NewQuoteForm(FlaskForm):
    customer = StringField("Customer number", validators=[
        DataRequired("Enter the customer's number."), Length(max=20)])
    buyer = SelectField("For", choices=options([("", "The customer (its e-mail address)")]),
                        validate_choice=False, validators=[Optional()])


class AddLineForm(FlaskForm):
    sku = StringField("SKU", validators=[DataRequired("Enter a SKU."), Length(max=64)])
    quantity = IntegerField("Quantity", default=1, validators=[
        InputRequired("Enter a quantity."),
        NumberRange(1, MAX_LINE_QUANTITY, f"Enter a quantity from 1 to {MAX_LINE_QUANTITY}.")])


class PriceForm(FlaskForm):
    """A quoted unit price or a discount in percent off the list price, with its reason."""

    unit_price = AmountField("Quoted unit price", validators=[Optional()])
    percent = PercentField("Discount %", validators=[Optional()],
                           message="Enter a discount from 0.01 to 100 %.")
    reason = SelectField("Reason", choices=options([("", "Choose a reason…"), *REASONS.items()]),
                         validators=[DataRequired("Choose a reason for the price.")])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if ok and (self.unit_price.data is None) == (self.percent.data is None):
            self.unit_price.errors.append("Enter either a quoted unit price or a discount in percent.")
            return False
        return ok


class TermsForm(FlaskForm):
    expires_on = DateField("Valid until", validators=[Optional()])
    note = TextAreaField("Note on the quote", validators=[
        Optional(), Length(max=NOTE_LENGTH, message=f"Keep the note under {NOTE_LENGTH} characters.")])


class DeclineForm(FlaskForm):
    reason = TextAreaField("Why it is declined", validators=[
        DataRequired("Say why the request is declined."),
        Length(max=REASON_LENGTH, message=f"Keep the reason under {REASON_LENGTH} characters.")])


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token."""
