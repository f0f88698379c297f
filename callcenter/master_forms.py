"""Forms of the master-data pages (callcenter/master_data.py) and their services' inputs."""
from __future__ import annotations

import re

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (BooleanField, DateField, IntegerField, PasswordField, SelectField,
                     SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from core.agents.models import ROLES
from core.catalog.categories import CategoryData
from core.catalog.products import MAX_RETURN_DAYS
from core.catalog.relations import KIND_LABELS as RELATION_LABELS
from core.inventory.suppliers import SupplierData
from core.inventory.warehouses import WarehouseData
from core.orders.shipping_methods import KINDS as SHIPPING_KINDS
from core.orders.shipping_methods import ShippingMethodData
from core.pricing.tax_rates import ChannelData, TaxRateData
from core.web.forms import AmountField, PercentField, record_id
from callcenter.catalog_forms import CURRENCIES, options

ROLE_LABELS = {"agent": "Agent (orders, customers)", "supervisor": "Supervisor",
               "credit": "Credit control", "catalog": "Catalogue manager",
               "warehouse": "Warehouse", "billing": "Billing",
               "manager": "Sales manager (analytics)", "admin": "Administrator"}


def _codes(raw: str | None) -> list[str]:
    return [part.strip() for part in re.split(r"[,\s;]+", raw or "") if part.strip()]


class CategoryForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter the category name."),
                                           Length(max=200)])
    slug = StringField("Slug (web address)", validators=[Optional(), Length(max=120)])
    parent_id = SelectField("Parent category", coerce=record_id, validate_choice=False, default=0)
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])
    return_days = IntegerField("Return window (days)", validators=[
        Optional(), NumberRange(0, MAX_RETURN_DAYS,
                                f"Enter 0 to {MAX_RETURN_DAYS} days, or leave it empty.")])
    active = BooleanField("Active (shown in the shop)", default=True)

    def to_data(self) -> CategoryData:
        return CategoryData(name=self.name.data or "", slug=self.slug.data or "",
                            description=self.description.data or "",
                            parent_id=self.parent_id.data or None, active=self.active.data,
                            return_days=self.return_days.data)


class AddressMixin:
    line1 = StringField("Street and number", validators=[Optional(), Length(max=200)])
    line2 = StringField("Address line 2", validators=[Optional(), Length(max=200)])
    postcode = StringField("Postcode", validators=[Optional(), Length(max=20)])
    city = StringField("City", validators=[Optional(), Length(max=100)])
    country = StringField("Country (two letters)", validators=[Optional(), Length(max=2)])

    def address(self) -> dict[str, str]:
        return {k: self[k].data or "" for k in ("line1", "line2", "postcode", "city", "country")}

    def fill_address(self, address: dict) -> None:
        for k in ("line1", "line2", "postcode", "city", "country"):
            self[k].data = (address or {}).get(k, "")


class WarehouseForm(AddressMixin, FlaskForm):
    code = StringField("Code", validators=[DataRequired("Enter the warehouse's code."),
                                           Length(max=20)])
    name = StringField("Name", validators=[DataRequired("Enter the warehouse's name."),
                                           Length(max=100)])
    position = IntegerField("Position (lower comes first)", default=0, validators=[
        Optional(), NumberRange(0, 1000, "The position is 0 to 1000.")])
    active = BooleanField("Active", default=True)

    def to_data(self) -> WarehouseData:
        return WarehouseData(code=self.code.data or "", name=self.name.data or "",
                             address=self.address(), position=self.position.data or 0,
                             active=self.active.data)


class SupplierForm(AddressMixin, FlaskForm):
    code = StringField("Code", validators=[DataRequired("Enter the supplier's code."),
                                           Length(max=20)])
    name = StringField("Name", validators=[DataRequired("Enter the supplier's name."),
                                           Length(max=200)])
    email = StringField("E-mail for purchase orders", validators=[Optional(), Length(max=254)])
    phone = StringField("Phone", validators=[Optional(), Length(max=40)])
    lead_days = IntegerField("Lead time (working days)", default=10, validators=[
        Optional(),
        NumberRange(0, 365, "The lead time is 0 to 365 working days.")])
    active = BooleanField("Active", default=True)

    def to_data(self) -> SupplierData:
        return SupplierData(code=self.code.data or "", name=self.name.data or "",
                            email=self.email.data or "", phone=self.phone.data or "",
                            address=self.address(), lead_days=self.lead_days.data,
                            active=self.active.data)


class TaxCategoryForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired("Enter a code."), Length(max=40)])
    name = StringField("Name", validators=[DataRequired("Enter a name."), Length(max=100)])


class TaxRateForm(FlaskForm):
    tax_category_id = SelectField("Tax category", coerce=record_id, validate_choice=False)
    country = StringField("Country (two letters)", validators=[
        DataRequired("Enter the country, like DE."), Length(max=2)])
    region = StringField("Region (empty: the whole country)",
                         validators=[Optional(), Length(max=10)])
    name = StringField("Name", validators=[DataRequired("Enter a name, like VAT 19 %."),
                                           Length(max=100)])
    rate_percent = PercentField("Rate in percent", low=0, high=100,
                                validators=[InputRequired("Enter the rate, like 19.")])
    valid_from = DateField("Valid from", validators=[DataRequired("Enter the first day.")])
    valid_to = DateField("Valid to (inclusive; empty: open)", validators=[Optional()])

    def fill(self, rate) -> None:
        self.process(obj=rate)
        self.rate_percent.data = rate.rate * 100

    def to_data(self) -> TaxRateData:
        return TaxRateData(tax_category_id=self.tax_category_id.data or None,
                           country=self.country.data or "", region=self.region.data or "",
                           name=self.name.data or "", rate_percent=self.rate_percent.data,
                           valid_from=self.valid_from.data, valid_to=self.valid_to.data)


class ShippingMethodForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired("Enter a code."), Length(max=40)])
    name = StringField("Name", validators=[DataRequired("Enter a name."), Length(max=100)])
    kind = SelectField("Rate", choices=options(SHIPPING_KINDS.items()))
    price = AmountField("Price incl. tax (base price by weight)",
                        validators=[DataRequired("Enter the price, like 4.90.")])
    per_kg = AmountField("Price per started kg (by weight)")
    free_above = AmountField("Free for orders from (empty: never)")
    transit_days = IntegerField("Transit (working days)", default=2, validators=[
        Optional(), NumberRange(0, 60, "Transit takes 0 to 60 working days.")])
    countries = StringField("Countries, comma-separated (empty: everywhere)",
                            validators=[Optional(), Length(max=400)])
    channels = SelectMultipleField("Channels (none: every channel)")
    position = IntegerField("Position (lower comes first)", default=0, validators=[
        Optional(), NumberRange(0, 1000, "The position is 0 to 1000.")])
    active = BooleanField("Active", default=True)

    def fill(self, method) -> None:
        self.process(obj=method)
        self.countries.data = ", ".join(method.countries)

    def to_data(self) -> ShippingMethodData:
        return ShippingMethodData(
            code=self.code.data or "", name=self.name.data or "", kind=self.kind.data,
            price=self.price.data, per_kg=self.per_kg.data, free_above=self.free_above.data,
            transit_days=self.transit_days.data if self.transit_days.data is not None else 2,
            countries=_codes(self.countries.data), channels=self.channels.data or [],
            position=self.position.data or 0, active=self.active.data)


class ChannelForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter a name."), Length(max=100)])
    currency = SelectField("Currency", choices=CURRENCIES)
    prices_include_tax = BooleanField("Prices include tax")
    country = StringField("Tax country (two letters)", validators=[
        DataRequired("Enter the tax country, like DE."), Length(max=2)])
    default_price_list_id = SelectField("Default price list", coerce=record_id,
                                        validate_choice=False, default=0)
    active = BooleanField("Active")

    def to_data(self) -> ChannelData:
        return ChannelData(name=self.name.data or "", currency=self.currency.data,
                           prices_include_tax=self.prices_include_tax.data,
                           country=self.country.data or "",
                           default_price_list_id=self.default_price_list_id.data or None,
                           active=self.active.data)


class ChannelWarehouseForm(FlaskForm):
    warehouse_id = SelectField("Warehouse", coerce=record_id, validate_choice=False)


class PictureForm(FlaskForm):
    file = FileField("Picture (JPEG, PNG, GIF or WebP)")
    alt = StringField("Alt text (what the picture shows)", validators=[Optional(),
                                                                       Length(max=200)])


class AltForm(FlaskForm):
    alt = StringField("Alt text", validators=[DataRequired("Enter the alt text."),
                                              Length(max=200)])


class RelationForm(FlaskForm):
    kind = SelectField("Kind", choices=options(RELATION_LABELS.items()))
    related = StringField("Product (SKU, slug or name)", validators=[
        DataRequired("Enter the SKU or name of the related product."), Length(max=200)])


class AgentForm(FlaskForm):
    full_name = StringField("Name", validators=[DataRequired("Enter the person's name."),
                                                Length(max=200)])
    email = StringField("E-mail", validators=[DataRequired("Enter the person's e-mail."),
                                              Length(max=254)])
    password = PasswordField("Initial password (empty: single sign-on only)",
                             validators=[Optional(), Length(max=200)])
    roles = SelectMultipleField("Roles", choices=options((r, ROLE_LABELS[r]) for r in ROLES),
                                validators=[DataRequired("Choose at least one role.")])


class RolesForm(FlaskForm):
    roles = SelectMultipleField("Roles", choices=options((r, ROLE_LABELS[r]) for r in ROLES),
                                validators=[DataRequired("Choose at least one role.")])
