"""Storefront forms: labels are the words a shopper reads."""
from collections.abc import Mapping, Sequence

from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import (BooleanField, DateField, EmailField, Form, FormField, HiddenField,
                     IntegerField, PasswordField, RadioField, SelectField, StringField,
                     TelField, TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp

from core.customers.addresses import COUNTRIES, REGIONS
from core.parsing import parse_int
from core.returns import policy
from core.returns.services import Request, RequestLine, ReturnableLine

EMAIL = [DataRequired("Enter your e-mail address."), Email("Enter a valid e-mail address."),
         Length(max=254)]
NEW_PASSWORD = [DataRequired("Choose a password."),
                Length(min=8, max=200, message="Use at least 8 characters.")]


class SignInForm(FlaskForm):
    email = EmailField("Email", validators=EMAIL)
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])


class RegisterForm(FlaskForm):
    full_name = StringField("Full name", validators=[DataRequired("Enter your name."),
                                                     Length(max=200)])
    email = EmailField("Email", validators=EMAIL)
    password = PasswordField("Password", validators=NEW_PASSWORD)


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=EMAIL)


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=NEW_PASSWORD)
    confirm = PasswordField("Repeat new password",
                            validators=[DataRequired("Repeat the new password."),
                                        EqualTo("password", "The two passwords differ.")])


class ConfirmEmailForm(FlaskForm):
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password",
                                     validators=[DataRequired("Enter your current password.")])
    password = PasswordField("New password", validators=NEW_PASSWORD)
    confirm = PasswordField("Repeat new password",
                            validators=[DataRequired("Repeat the new password."),
                                        EqualTo("password", "The two passwords differ.")])


def region_choices(country: str | None) -> list[tuple[str, str]]:
    """The regions of one country, by name (none for a country without regions)."""
    regions = REGIONS.get(country or "", {})
    if not regions:
        return []
    return [("", "—"), *sorted(regions.items(), key=lambda r: r[1])]


class CheckoutForm(FlaskForm):
    """Contact, shipping address and method; the card is entered in Stripe's element."""

    email = EmailField("Email", validators=EMAIL)
    full_name = StringField("Full name", validators=[DataRequired("Enter the recipient's full name."),
                                                     Length(max=200)])
    company = StringField("Company (optional)", validators=[Optional(), Length(max=200)])
    line1 = StringField("Address", validators=[DataRequired("Enter the street and house number."),
                                               Length(max=200)])
    line2 = StringField("Apartment, suite, floor (optional)", validators=[Optional(), Length(max=200)])
    city = StringField("City", validators=[DataRequired("Enter the city."), Length(max=100)])
    postal_code = StringField("Postal code", validators=[DataRequired("Enter the postal code."),
                                                         Length(max=20)])
    country = SelectField("Country", choices=sorted(COUNTRIES.items(), key=lambda c: c[1]),
                          default="DE")
    region = SelectField("Region (optional)", choices=[], validate_choice=False,
                         validators=[Optional()])
    phone = TelField("Phone (optional)", validators=[Optional(), Length(max=40)])
    po_number = StringField("Purchase order number (optional)", validators=[Optional(),
                                                                             Length(max=60)])
    shipping_method = RadioField("Shipping", validate_choice=False,
                                 validators=[DataRequired("Choose a shipping method.")])
    gift_card = StringField("Gift card code (optional)", validators=[Optional(), Length(max=40)])
    key = HiddenField()
    # A PaymentMethod id from Stripe.js (pm_…); anything longer than our columns is no card.
    payment_method = HiddenField(validators=[Optional(), Regexp(
        r"^[A-Za-z0-9_]{1,80}$", message="Enter your card details again.")])
    # For a customer with an address book and terms (core.workflows.b2b_checkout): the
    # ship-to from the book (an address id) or "new"; the new one saved to the book; the
    # delivery day asked for; on account or card. Guests never see them.
    ship_to = RadioField("Ship to", choices=[SelectChoice("new", "A new address")],
                         validate_choice=False, default="new")
    save_address = BooleanField("Save this address to the address book")
    requested_date = DateField("Requested delivery date (optional)", validators=[Optional()],
                               render_kw={"type": "date"})
    payment = RadioField("Payment", choices=[SelectChoice("card", "Card")], default="card",
                         validate_choice=False)
    # When a line waits for stock: "0" ships what is in stock now and the rest when it
    # arrives, "1" ships everything together (Checkout.ship_complete).
    ship_complete = RadioField("Delivery of backordered items",
                               choices=[SelectChoice("0", "Ship what is in stock now"),
                                        SelectChoice("1", "Ship everything together")],
                               default="0", validate_choice=False)

    ADDRESS_FIELDS = ("full_name", "company", "line1", "line2", "city", "postal_code",
                      "region", "phone")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.region.choices = region_choices(self.country.data)

    def book_address_chosen(self) -> bool:
        return bool(self.ship_to.data) and self.ship_to.data != "new"

    def validate(self, extra_validators=None) -> bool:
        # An address from the book needs none of the new address's fields.
        if self.book_address_chosen():
            for name in self.ADDRESS_FIELDS:
                self[name].validators = [Optional()]
        valid = super().validate(extra_validators)
        if self.requested_date.errors:
            self.requested_date.errors = ["Enter the date as day, month and year."]
        return valid

    def address(self) -> dict[str, str]:
        return {f: getattr(self, f).data or "" for f in
                ("full_name", "company", "line1", "line2", "city", "postal_code", "region",
                 "country", "phone")}


# --- returns ---------------------------------------------------------------------------

MAX_RETURN_QUANTITY = 9999


class QuantityField(IntegerField):
    """A number of units in plain digits; empty is None (nothing of this line)."""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        raw = (valuelist[0] or "").strip()
        self.data = parse_int(raw, low=0, high=MAX_RETURN_QUANTITY) if raw else None
        if raw and self.data is None:
            raise ValueError("Enter a whole number of units, like 1 (0 keeps the item).")


def _labelled(text: str, name: str) -> Markup:
    """The label a shopper sees ("Reason"), with the item it belongs to for screen readers."""
    return Markup('{}<span class="visually-hidden"> for {}</span>').format(text, name)


def _choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def _per_line(lines: Sequence[ReturnableLine], make) -> FormField:
    fields = {str(r.line.id): make(r.line.name) for r in lines}
    return FormField(type("LineFields", (Form,), fields), separator="-")


class ReturnForm(FlaskForm):
    """Returning lines of an order. Per order line `quantity-<id>`, `reason-<id>` and
    `comment-<id>` (subforms, so that a refusal's field, core.returns' ReturnError.field,
    is the input it is about: core.web.forms.place_error); money back or an exchange, where
    the money goes, and the page's idempotency key. Build it with `for_order`. Which
    quantities, reasons and ways of refunding are allowed is the service's to say."""

    resolution = RadioField("What would you like?", choices=_choices(policy.RESOLUTIONS.items()),
                            default="refund", validate_choice=False)
    refund_method = RadioField("Where the money goes", choices=[], validate_choice=False)
    key = HiddenField()

    @classmethod
    def for_order(cls, lines: Sequence[ReturnableLine], methods: Mapping[str, str],
                  **kwargs) -> "ReturnForm":
        """The form for these order lines (every one: a line that cannot come back any more
        is still read, so the service says why at its field) and these refund methods."""
        reasons = _choices([("", "Choose a reason…"), *policy.describe_reasons().items()])
        form_class = type("OrderReturnForm", (cls,), {
            "quantity": _per_line(lines, lambda name: QuantityField(
                _labelled("Quantity to return", name), default=0)),
            "reason": _per_line(lines, lambda name: SelectField(
                _labelled("Reason", name), choices=reasons, validate_choice=False)),
            "comment": _per_line(lines, lambda name: TextAreaField(
                _labelled("Comment", name), validators=[Optional(), Length(
                    max=500, message="Keep the comment under 500 characters.")])),
        })
        form = form_class(**kwargs)
        form.refund_method.choices = _choices(methods.items())
        if form.refund_method.data is None and methods:
            form.refund_method.data = next(iter(methods))
        return form

    def return_request(self) -> Request:
        """What was asked for, as core.returns.services.request_return takes it."""
        lines = [RequestLine(int(line_id), self.quantity[line_id].data or 0,
                             self.reason[line_id].data or "", self.comment[line_id].data or "")
                 for line_id in self.quantity.form._fields]
        return Request(lines=lines, resolution=self.resolution.data or "",
                       refund_method=self.refund_method.data or "")
