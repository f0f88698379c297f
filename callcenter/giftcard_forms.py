"""Forms of the console's gift card pages."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, HiddenField, RadioField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from callcenter.catalog_forms import AmountField

CODE_HINT = "16 letters and digits; dashes and spaces do not matter."


class PayerForm(FlaskForm):
    """Who paid for the gift card (GET, no CSRF): their recorded payments are offered."""

    class Meta:
        csrf = False

    customer = StringField("Customer who paid", validators=[
        DataRequired("Enter the number of the customer who paid."), Length(max=20)])


class SellForm(FlaskForm):
    """A sale for one of the customer's recorded payments (choices set by the view)."""

    key = HiddenField()  # one sale per page: a second submit shows the first card
    customer = HiddenField()  # the customer number the payments were offered for
    payment = RadioField("Paid with", choices=[], validate_choice=False,
                         validators=[DataRequired("Choose the payment the card is sold for.")])
    amount = AmountField("Amount", validators=[DataRequired("Enter the amount.")])
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


class ConfirmSaleForm(FlaskForm):
    """A colleague confirms the money of a sale awaiting confirmation came in."""

    note = StringField("Note (optional)", validators=[Optional(), Length(max=300)])


class RejectSaleForm(FlaskForm):
    note = StringField("Why it is rejected", validators=[
        DataRequired("Say why the gift card sale is rejected."), Length(max=300)])
