"""Forms of the console's gift card pages."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, HiddenField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from callcenter.catalog_forms import AmountField, options

PAID_BY = {"bank_transfer": "Bank transfer", "cheque": "Cheque",
           "card": "Card terminal"}
CODE_HINT = "16 letters and digits; dashes and spaces do not matter."


class SellForm(FlaskForm):
    key = HiddenField()  # one sale per page: a second submit shows the first card
    amount = AmountField("Amount", validators=[DataRequired("Enter the amount.")])
    currency = SelectField("Currency", default="EUR")
    paid_by = RadioField("Paid by", choices=options(PAID_BY.items()),
                         validators=[DataRequired("Choose how the gift card was paid.")])
    reference = StringField("Payment reference", validators=[
        DataRequired("Enter the payment reference (card payment, bank or cheque)."),
        Length(max=80)])
    customer = StringField("Customer number (optional)", validators=[Optional(), Length(max=20)])
    recipient_email = EmailField("Recipient's e-mail (optional)", validators=[
        Optional(), Email("Enter a valid e-mail address."), Length(max=254)])
    expires_on = DateField("Valid until (optional)", validators=[Optional()])


class CheckForm(FlaskForm):
    code = StringField("Gift card code", validators=[DataRequired("Enter the gift card code."),
                                                     Length(max=40)])


class DisableForm(FlaskForm):
    reason = StringField("Why the card is disabled", validators=[
        DataRequired("Give the reason the card is disabled."), Length(max=300)])


class RedeemInvoiceForm(FlaskForm):
    key = HiddenField()
    next = HiddenField()  # where to go back to (the invoice page that sent the agent here)
    invoice = StringField("Invoice number", validators=[DataRequired("Enter the invoice number."),
                                                        Length(max=20)])
    code = StringField("Gift card code", validators=[DataRequired("Enter the gift card code."),
                                                     Length(max=40)])
    amount = AmountField("Amount to pay", validators=[DataRequired("Enter the amount.")])
