"""Storefront forms: labels are the words a shopper reads."""
from flask_wtf import FlaskForm
from wtforms import (EmailField, HiddenField, PasswordField, RadioField, SelectField, StringField,
                     TelField)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp

from core.customers.addresses import COUNTRIES, REGIONS

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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.region.choices = region_choices(self.country.data)

    def address(self) -> dict[str, str]:
        return {f: getattr(self, f).data or "" for f in
                ("full_name", "company", "line1", "line2", "city", "postal_code", "region",
                 "country", "phone")}
