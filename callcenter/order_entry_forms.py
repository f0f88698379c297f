"""Forms of the phone order entry screen."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from core.customers.addresses import COUNTRIES
from core.orders.cart import MAX_LINE_QUANTITY
from core.workflows.phone_orders import PAYMENT_METHODS, REASONS
from core.web.forms import AmountField, PercentField
from callcenter.catalog_forms import options

NEW_ADDRESS = "new"


class AddLineForm(FlaskForm):
    sku = StringField("SKU", validators=[DataRequired("Enter a SKU or a product name."),
                                         Length(max=100)])
    quantity = IntegerField("Quantity", default=1, validators=[
        InputRequired("Enter a quantity."),
        NumberRange(1, MAX_LINE_QUANTITY, f"Enter a quantity from 1 to {MAX_LINE_QUANTITY}.")])


class QuantityForm(FlaskForm):
    quantity = IntegerField("Quantity", validators=[
        InputRequired("Enter a quantity (0 removes the line)."),
        NumberRange(0, MAX_LINE_QUANTITY, f"Enter a quantity from 0 to {MAX_LINE_QUANTITY}.")])


class OverrideForm(FlaskForm):
    """A new unit price or a discount in percent, with the reason it is given for."""

    unit_price = AmountField("New unit price", validators=[Optional()])
    # Two decimals from 0.01 to 100: "sNaN", "1e30" or "150" get this message, not a crash.
    percent = PercentField("Discount %", validators=[Optional()],
                           message="Enter a discount from 0.01 to 100 %.")
    reason = SelectField("Reason", choices=options([("", "Choose a reason…"), *REASONS.items()]),
                         validators=[DataRequired("Choose a reason for the price change.")])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if ok and (self.unit_price.data is None) == (self.percent.data is None):
            self.unit_price.errors.append("Enter either a new unit price or a discount in percent.")
            return False
        if ok and self.percent.data is not None and self.percent.data <= 0:
            self.percent.errors.append("Enter a discount from 0.01 to 100 %.")
            return False
        return ok

    def stored(self) -> dict[str, str]:
        out = {"reason": self.reason.data}
        if self.unit_price.data is not None:
            out["unit_price"] = str(self.unit_price.data)
        else:
            out["percent"] = str(self.percent.data)
        return out


class CouponForm(FlaskForm):
    code = StringField("Coupon code", validators=[DataRequired("Enter a coupon code."),
                                                  Length(max=40)])


class ShippingForm(FlaskForm):
    """Where to and how: an address from the customer's book or a new one, and a method."""

    address_id = SelectField("Ship to", validate_choice=False)
    full_name = StringField("Full name", validators=[Optional(), Length(max=200)])
    company = StringField("Company", validators=[Optional(), Length(max=200)])
    line1 = StringField("Street and number", validators=[Optional(), Length(max=200)])
    line2 = StringField("Address line 2", validators=[Optional(), Length(max=200)])
    postal_code = StringField("Postal code", validators=[Optional(), Length(max=20)])
    city = StringField("City", validators=[Optional(), Length(max=100)])
    region = StringField("Region code", validators=[Optional(), Length(max=10)])
    country = SelectField("Country", choices=options(COUNTRIES.items()), default="DE")
    phone = StringField("Phone", validators=[Optional(), Length(max=40)])
    shipping_method = RadioField("Shipping method", validate_choice=False)

    def typed_address(self) -> dict[str, str]:
        return {k: getattr(self, k).data or "" for k in ("full_name", "company", "line1",
                                                          "line2", "postal_code", "city",
                                                          "region", "country", "phone")}


class PlaceForm(FlaskForm):
    key = HiddenField()
    payment_method = RadioField("Payment", choices=options(PAYMENT_METHODS.items()),
                                validators=[DataRequired("Choose how the customer pays.")])
    po_number = StringField("PO number", validators=[Optional(), Length(max=60)])
    gift_card = StringField("Gift card code (optional)", validators=[Optional(), Length(max=40)])
    # When a line waits for stock: "1" ships everything together (Checkout.ship_complete).
    ship_complete = RadioField("Backordered items",
                               choices=options([("0", "Ship what is in stock now, the rest "
                                                       "when it arrives"),
                                                ("1", "Ship everything together")]),
                               default="0", validate_choice=False)


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token."""
