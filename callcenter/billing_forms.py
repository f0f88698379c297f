"""Forms of the console's billing pages: invoices, credit notes, write-offs, payments,
customer credit and the ledger's filters."""
from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import (BooleanField, DateField, Form, FormField, HiddenField, IntegerField,
                     RadioField, SelectField, StringField, TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (DataRequired, InputRequired, Length, NumberRange, Optional,
                                ValidationError)

from callcenter.catalog_forms import AmountField, options
from core.billing import invoicing
from core.billing.accounts import AGE_FILTERS, JOURNAL_KINDS, STATUS_FILTERS, TaxOption
from core.billing.queries import business_today
from core.catalog.products import parse_decimal
from core.parsing import parse_int
from core.web.forms import IndexedFieldList

MAX_QUANTITY = 100_000
LINE_KINDS = {"service": "Service", "fee": "Fee"}
PAYMENT_METHODS = {"bank_transfer": "Bank transfer", "cheque": "Cheque"}
# Free-text invoices are not paid by card when ordering: those terms are left out.
FREE_TEXT_TERMS = {code: t.label for code, t in invoicing.TERMS.items() if code != "card"}


def tax_choices(found: list[TaxOption]) -> list[SelectChoice]:
    return [SelectChoice(o.value, o.label, optgroup=o.country) for o in found]


# -- invoices -------------------------------------------------------------------------------

class InvoiceFilterForm(FlaskForm):
    """The invoice list's filters (GET, no CSRF)."""

    class Meta:
        csrf = False

    status = SelectField("Show", choices=options(STATUS_FILTERS.items()), default="open",
                         validators=[Optional()])
    customer = StringField("Customer", validators=[Optional(), Length(max=100)])
    q = StringField("Number", validators=[Optional(), Length(max=20)])
    age = SelectField("Age", choices=options([("", "Any age"), *AGE_FILTERS.items()]),
                      default="", validators=[Optional()])


class ConfirmForm(FlaskForm):
    """A button that does something: only the CSRF token."""


class ApproveRequestForm(FlaskForm):
    note = StringField("Note (optional)", validators=[Optional(), Length(max=300)])


class RejectRequestForm(FlaskForm):
    note = StringField("Why it is rejected", validators=[
        DataRequired("Say why the credit note is rejected."), Length(max=300)])


class CreditNoteForm(FlaskForm):
    """Quantities per line come as qty-<invoice line id>; see quantities()."""

    scope = RadioField("What to credit", default="lines",
                       choices=options([("lines", "The quantities below"),
                                        ("whole", "Everything not yet credited")]),
                       validators=[InputRequired("Choose what to credit.")])
    reason = TextAreaField("Reason", validators=[DataRequired("Give the reason for the credit note."),
                                                 Length(max=300)])
    refund_to_card = BooleanField("Refund the credited amount to the card it was paid with")

    def quantities(self, creditable: dict[int, int], formdata: MultiDict
                   ) -> tuple[dict[int, int], dict[int, str]]:
        """(line id -> quantity, line id -> problem) from the qty-<id> inputs."""
        wanted, problems = {}, {}
        for line_id, left in creditable.items():
            raw = (formdata.get(f"qty-{line_id}") or "").strip()
            if not raw:
                continue
            quantity = parse_int(raw)
            if quantity is None:
                problems[line_id] = "Enter a whole number."
                continue
            if not 0 <= quantity <= left:
                problems[line_id] = f"Enter 0 to {left}."
            elif quantity:
                wanted[line_id] = quantity
        return wanted, problems


class CancelInvoiceForm(FlaskForm):
    reason = TextAreaField("Why it is cancelled", validators=[
        DataRequired("Give the reason for cancelling."), Length(max=300)])


class WriteOffForm(FlaskForm):
    amount = AmountField("Amount to write off", validators=[InputRequired("Enter the amount.")])
    reason = TextAreaField("Reason", validators=[DataRequired("Give the reason for the write-off."),
                                                 Length(max=300)])


class RefundToCardForm(FlaskForm):
    amount = AmountField("Amount to refund to the card",
                         validators=[InputRequired("Enter the amount.")])


class GiveBackForm(FlaskForm):
    """A credit note's part paid by gift card, back onto the card."""

    key = HiddenField()  # one give-back per page: a second submit gives nothing more
    amount = AmountField("Amount to give back to the gift card",
                         validators=[InputRequired("Enter the amount.")])


# -- free-text invoices ----------------------------------------------------------------------

class FreeTextLineForm(Form):
    """One line; a line left wholly empty is ignored."""

    description = StringField("Description", validators=[Optional(), Length(max=300)])
    quantity = IntegerField("Quantity", validators=[
        Optional(), NumberRange(1, MAX_QUANTITY, f"Enter a quantity from 1 to {MAX_QUANTITY}.")])
    unit_price = AmountField("Unit price (net)", validators=[Optional()])
    tax_rate = SelectField("Tax rate", validate_choice=True)
    kind = SelectField("Kind", choices=options(LINE_KINDS.items()), default="service")

    def is_blank(self) -> bool:
        return not any((f.raw_data or [""])[0].strip()
                       for f in (self.description, self.quantity, self.unit_price))

    def check_required(self) -> bool:
        ok = True
        for name, message in (("description", "Describe what is invoiced."),
                              ("quantity", "Enter a quantity."),
                              ("unit_price", "Enter the unit price.")):
            f = self._fields[name]
            if (f.data is None or f.data == "") and not f.errors:
                f.errors = [*f.errors, message]
                ok = False
        if self.unit_price.data is not None and self.unit_price.data <= 0:
            self.unit_price.errors = [*self.unit_price.errors, "Enter a price above zero."]
            ok = False
        return ok


class FreeTextInvoiceForm(FlaskForm):
    customer = HiddenField(validators=[DataRequired("Choose the customer first."),
                                       Length(max=20)])
    terms = SelectField("Payment terms", choices=options([("", "The customer's terms"),
                                                          *FREE_TEXT_TERMS.items()]),
                        validators=[Optional()])
    memo = TextAreaField("Memo (printed on the invoice)", validators=[Length(max=1000)])
    MAX_LINES = 50
    lines = IndexedFieldList(FormField(FreeTextLineForm), min_entries=1, max_entries=MAX_LINES)

    def set_tax_choices(self, choices: list[SelectChoice], default: str) -> None:
        for entry in self.lines:
            entry.form.tax_rate.choices = choices
            if not entry.form.tax_rate.data or entry.form.tax_rate.data == "None":
                entry.form.tax_rate.data = default

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        filled = [e.form for e in self.lines if not e.form.is_blank()]
        if not filled:
            self.lines.errors.append("Add at least one line.")
            return False
        for line in filled:
            ok = line.check_required() and ok
        return ok

    def free_text_lines(self) -> list[invoicing.FreeTextLine]:
        return [invoicing.FreeTextLine(description=f.description.data.strip(),
                                       quantity=f.quantity.data, unit_price=f.unit_price.data,
                                       tax_rate=Decimal(f.tax_rate.data), kind=f.kind.data)
                for f in (e.form for e in self.lines) if not f.is_blank()]


def line_form(index: int, choices: list[SelectChoice], default: str) -> FreeTextLineForm:
    """A blank line with the names the invoice form's FieldList gives its line `index`."""
    form = FreeTextLineForm(formdata=None, prefix=f"lines-{index}-")
    form.tax_rate.choices = choices
    form.tax_rate.data = default
    return form


# -- payments and credit -------------------------------------------------------------------

class PaymentForm(FlaskForm):
    """Allocations come as alloc-<invoice id>; see allocations()."""

    customer = HiddenField(validators=[DataRequired("Choose the customer first."),
                                       Length(max=20)])
    method = SelectField("Paid by", choices=options(PAYMENT_METHODS.items()),
                         default="bank_transfer")
    amount = AmountField("Amount received", validators=[InputRequired("Enter the amount received.")])
    received_on = DateField("Received on", default=business_today,
                            validators=[InputRequired("Enter the day the money arrived.")])
    reference = StringField("Bank reference or cheque number",
                            validators=[DataRequired("Enter the bank reference or cheque number."),
                                        Length(max=120)])
    key = HiddenField(validators=[Length(max=80)])
    first = HiddenField(validators=[Length(max=20)])  # an invoice offered first: its page's link

    def validate_received_on(self, field) -> None:
        if field.data and field.data > business_today():
            raise ValidationError("The money cannot have arrived after today.")

    @staticmethod
    def typed_allocations(formdata: MultiDict) -> tuple[dict[int, Decimal], dict[int, str]]:
        """(invoice id -> amount, invoice id -> problem) from the alloc-<id> inputs."""
        typed, problems = {}, {}
        for name, raw in formdata.items():
            invoice_id = allocation_id(name)
            if invoice_id is None:
                continue
            raw = raw.strip()
            if not raw:
                typed[invoice_id] = Decimal(0)
                continue
            value = parse_decimal(raw)
            if value is None or value < 0:
                problems[invoice_id] = "Enter an amount like 12.50, or 0."
            else:
                typed[invoice_id] = value
        return typed, problems


def allocation_id(name: str) -> int | None:
    """The invoice id of an alloc-<invoice id> input name; None for any other name."""
    return parse_int(name[6:], low=1) if name.startswith("alloc-") else None


class ApplyCreditForm(FlaskForm):
    """One per credit source, with prefix f"apply-{source.key}"."""

    invoice = SelectField("Invoice", validate_choice=False,
                          validators=[DataRequired("Choose the invoice.")])
    amount = AmountField("Amount", validators=[InputRequired("Enter the amount.")])


class RefundCreditForm(FlaskForm):
    """One per credit source, with prefix f"refund-{source.key}"."""

    amount = AmountField("Amount to refund", validators=[InputRequired("Enter the amount.")])
    reference = StringField("Bank reference of the transfer", validators=[
        DataRequired("Enter the bank reference of the transfer."), Length(max=120)])
    reason = StringField("Reason", validators=[Optional(), Length(max=300)])


# -- the ledger ---------------------------------------------------------------------------------

class JournalFilterForm(FlaskForm):
    class Meta:
        csrf = False

    kind = SelectField("Kind", choices=options([("", "Any kind"), *JOURNAL_KINDS.items()]),
                       validators=[Optional()])
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])
    reference = StringField("Reference", validators=[Optional(), Length(max=60)])


class TrialBalanceForm(FlaskForm):
    class Meta:
        csrf = False

    as_of = DateField("As of", validators=[Optional()])
