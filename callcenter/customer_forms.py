"""Forms of the customer pages, and their translation into the customer services' inputs.

The services check the business rules (core.customers.services); the forms only carry
values and put the services' errors at the right field.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, Form, FormField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from core.customers.addresses import COUNTRIES, REGIONS
from core.customers.services import (INTERACTION_CHANNELS, INTERACTION_OUTCOMES,
                                     INTERACTION_REASONS, KINDS, NOTE_MAX, PAYMENT_TERMS,
                                     CustomerData)
from core.customers.models import Customer, CustomerAddress
from callcenter.catalog_forms import options
from core.web.forms import AmountField


def _region_choices() -> list:
    choices = [("", "—")]
    for country, regions in REGIONS.items():
        choices += [(code, f"{name} ({COUNTRIES[country]})") for code, name in regions.items()]
    return options(choices)


class AddressForm(Form):
    """The default address; fields are prefixed 'address-' on the page."""

    full_name = StringField("Recipient name", validators=[Length(max=200)])
    company = StringField("Company (optional)", validators=[Optional(), Length(max=200)])
    line1 = StringField("Street and house number", validators=[Length(max=200)])
    line2 = StringField("Address line 2 (optional)", validators=[Optional(), Length(max=200)])
    postal_code = StringField("Postcode", validators=[Length(max=20)])
    city = StringField("City", validators=[Length(max=100)])
    region = SelectField("Region (optional)", choices=_region_choices(), default="")
    country = SelectField("Country", choices=options(COUNTRIES.items()), default="DE")
    phone = StringField("Delivery phone (optional)", validators=[Optional(), Length(max=40)])


class CustomerForm(FlaskForm):
    kind = SelectField("Customer type", choices=options(KINDS.items()), default="person")
    name = StringField("Name", validators=[Length(max=200)])
    email = StringField("E-mail", validators=[Length(max=254)])
    phone = StringField("Phone", validators=[Length(max=40)])
    price_group = SelectField("Price group", default="retail")
    payment_terms = SelectField("Payment terms", choices=options(PAYMENT_TERMS.items()),
                                default="card")
    on_account_allowed = BooleanField("May order on account (pay by invoice)")
    vat_id = StringField("VAT ID (optional)", validators=[Optional(), Length(max=40)])
    address = FormField(AddressForm, label="Default address", separator="-")
    create_anyway = BooleanField("This is a different customer: save anyway")

    def to_data(self) -> CustomerData:
        return CustomerData(kind=self.kind.data or "", name=self.name.data or "",
                            email=self.email.data or "", phone=self.phone.data or "",
                            price_group=self.price_group.data or "",
                            payment_terms=self.payment_terms.data or "",
                            on_account_allowed=bool(self.on_account_allowed.data),
                            address={k: v or "" for k, v in self.address.data.items()},
                            vat_id=self.vat_id.data or "")

    def fill(self, customer: Customer, address: CustomerAddress | None) -> None:
        self.process(obj=customer)
        if address is not None:
            self.address.form.process(data=address.as_dict())


class NoteForm(FlaskForm):
    text = TextAreaField("Note", validators=[Length(max=NOTE_MAX)])


class InteractionForm(FlaskForm):
    channel = SelectField("Contact by", choices=options(INTERACTION_CHANNELS.items()),
                          default="phone")
    reason = SelectField("Reason",
                         choices=options([("", "Choose…"), *INTERACTION_REASONS.items()]))
    outcome = SelectField("Outcome",
                          choices=options([("", "Choose…"), *INTERACTION_OUTCOMES.items()]))
    order_number = StringField("Order number (optional)", validators=[Optional(), Length(max=20)])
    note = TextAreaField("What was said (optional)", validators=[Optional(),
                                                                 Length(max=NOTE_MAX)])




class CreditLimitForm(FlaskForm):
    """The customer's credit limit and its review date (core.credit.limits); empty limit:
    no limit; empty review date: CREDIT_REVIEW_MONTHS from today."""

    credit_limit = AmountField("Credit limit", validators=[Optional()])
    review_on = DateField("Next credit review", validators=[Optional()])
    limit_note = StringField("Why (optional)", validators=[Optional(), Length(max=300)])


class CreditReviewForm(FlaskForm):
    """A credit review that keeps the limit (core.credit.limits.mark_reviewed); on a page
    beside the limit's form, so made with prefix="review"."""

    review_on = DateField("Next credit review", validators=[Optional()])
    note = StringField("What the review looked at", validators=[Length(max=300)])
