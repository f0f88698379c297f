"""Forms of the catalogue pages, and their translation into the admin services' inputs."""
from __future__ import annotations

import datetime as dt
import re

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, DateField, DateTimeLocalField, IntegerField, SelectField,
                     SelectMultipleField, StringField, TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from core.catalog.products import (MAX_AXES, MAX_RETURN_DAYS, Axis, ProductData, VariantData,
                                   format_attributes, parse_attributes, parse_axis_values, refuse)
from core import labels
from core.money import MINOR_UNITS
from core.web.forms import AmountField  # noqa: F401 - the console's forms take it from here
from core.web.forms import record_id
from core.web.labels import display_zone
from core.pricing.models import PROMOTION_KINDS, SCOPES
from core.pricing.price_lists import PriceListData
from core.pricing.promotions import MAX_USAGE_LIMIT, PromotionData

KIND_LABELS = {"percent_off": "Percent off", "amount_off": "Amount off (per order)",
               "fixed_price": "Fixed unit price", "buy_x_get_y": "Buy X, get Y free",
               "free_shipping": "Free shipping"}
SCOPE_LABELS = {"base": "Base (everyone)", "channel": "Channel", "group": "Customer group",
                "contract": "Customer contract"}


def options(pairs) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


DATETIME_LOCAL = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]  # the first is what inputs show
CURRENCIES = options((c, c) for c in sorted(MINOR_UNITS))


def _list_text(raw: str | None) -> list[str]:
    """'a, b\\nc' -> ['a', 'b', 'c']."""
    return [part.strip() for part in re.split(r"[,\n;]", raw or "") if part.strip()]


def _console_zone() -> str:
    """The agent's zone: typed times are read in the zone times are shown in."""
    return display_zone()


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """A time the agent typed (in the console's time zone) as UTC."""
    return labels.from_local(value, _console_zone())


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class ProductForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter the product name."),
                                           Length(max=200)])
    slug = StringField("Slug (web address)", validators=[Optional(), Length(max=200)])
    brand = StringField("Brand", validators=[Optional(), Length(max=100)])
    category_id = SelectField("Category", coerce=int)
    tax_category_id = SelectField("Tax category", coerce=int)
    description = TextAreaField("Description", validators=[Optional(), Length(max=20_000)])
    # Live or draft is not edited here: the product page's Publish and Unpublish buttons.
    returnable = BooleanField("Returnable", default=True)
    return_days = IntegerField("Return window (days)", validators=[
        Optional(), NumberRange(0, MAX_RETURN_DAYS,
                                f"Enter 0 to {MAX_RETURN_DAYS} days, or leave it empty.")])
    backorderable = BooleanField("Allows backorders")
    drop_ship = BooleanField("Drop-shipped by the supplier")
    # The service checks the supplier (and that a drop-shipped product has one).
    supplier_id = SelectField("Supplier", coerce=record_id, validate_choice=False, default=0)

    def to_data(self) -> ProductData:
        return ProductData(name=self.name.data or "", slug=self.slug.data or "",
                           brand=self.brand.data or "", description=self.description.data or "",
                           category_id=self.category_id.data,
                           tax_category_id=self.tax_category_id.data, active=None,
                           returnable=self.returnable.data, return_days=self.return_days.data,
                           backorderable=self.backorderable.data,
                           drop_ship=self.drop_ship.data,
                           supplier_id=self.supplier_id.data or None)


class VariantForm(FlaskForm):
    sku = StringField("SKU", validators=[DataRequired("Enter the SKU."), Length(max=64)])
    name = StringField("Variant name", validators=[Optional(), Length(max=200)])
    barcode = StringField("Barcode (GTIN)", validators=[Optional(), Length(max=14)])
    weight_grams = IntegerField("Weight in grams", validators=[
        Optional(), NumberRange(0, 10_000_000, "The weight is between 0 and 10,000,000 g.")])
    attributes = TextAreaField("Other attributes", validators=[Optional(), Length(max=4000)])
    active = BooleanField("Active (sold)", default=True)
    # Checked by the service (0 or more), which says so at this field.
    cost_price = AmountField("Cost price (EUR, per unit)")
    axes: list[Axis] = []

    def axis_fields(self) -> list:
        """The fields of the product's options (Size, Colour), one per axis, with the axis."""
        return [(self[f"axis_{n}"], axis) for n, axis in enumerate(self.axes, 1)]

    def fill(self, variant) -> None:
        self.process(obj=variant)
        own = dict(variant.attributes)
        for field, axis in self.axis_fields():
            key = next((k for k in own if k.lower() == axis.name.lower()), None)
            field.data = own.pop(key) if key is not None else ""
        self.attributes.data = format_attributes(own)

    def to_data(self) -> VariantData:
        attributes = parse_attributes(self.attributes.data)
        for field, axis in self.axis_fields():
            value = (field.data or "").strip()
            if not value:
                continue
            if any(k.lower() == axis.name.lower() for k in attributes):
                refuse(f"{axis.name} has its own field; leave it out of the other attributes.",
                       "attributes")
            attributes[axis.name] = value
        return VariantData(sku=self.sku.data or "", name=self.name.data or "",
                           barcode=self.barcode.data or "",
                           weight_grams=self.weight_grams.data or 0,
                           attributes=attributes,
                           active=self.active.data, cost_price=self.cost_price.data)


def variant_form(axes: list[Axis], **kwargs) -> VariantForm:
    """A VariantForm with one text field per option axis of the product (its label the
    axis's name), before the other attributes."""
    class _VariantForm(VariantForm):
        pass
    for n, axis in enumerate(axes, 1):
        setattr(_VariantForm, f"axis_{n}",
                StringField(axis.name, validators=[Optional(), Length(max=120)]))
    _VariantForm.axes = list(axes)
    return _VariantForm(**kwargs)


class AxesForm(FlaskForm):
    """A product's options (up to MAX_AXES) and their values, and the start of the SKUs
    the variant grid makes."""
    axis_1_name = StringField("Name of option 1", validators=[Optional(), Length(max=60)])
    axis_1_values = StringField("Values of option 1", validators=[Optional(), Length(max=2000)])
    axis_2_name = StringField("Name of option 2", validators=[Optional(), Length(max=60)])
    axis_2_values = StringField("Values of option 2", validators=[Optional(), Length(max=2000)])
    axis_3_name = StringField("Name of option 3", validators=[Optional(), Length(max=60)])
    axis_3_values = StringField("Values of option 3", validators=[Optional(), Length(max=2000)])
    sku_prefix = StringField("SKUs start with", validators=[
        DataRequired("Enter the start of the SKUs, like OAT-BAR."), Length(max=40)])

    def rows(self) -> list:
        return [(self[f"axis_{n}_name"], self[f"axis_{n}_values"])
                for n in range(1, MAX_AXES + 1)]

    def fill(self, axes: list[Axis], sku_prefix: str) -> None:
        for (name, values), axis in zip(self.rows(), axes):
            name.data, values.data = axis.name, ", ".join(axis.values)
        self.sku_prefix.data = sku_prefix

    def pairs(self) -> list[tuple[str, list[str]]]:
        return [(name.data or "", parse_axis_values(values.data)) for name, values in self.rows()]


class PriceForm(FlaskForm):
    price_list_id = SelectField("Price list", coerce=int)
    min_quantity = IntegerField("From quantity", default=1, validators=[
        DataRequired("Enter the quantity the price starts at."),
        NumberRange(1, 1_000_000, "The quantity is 1 or more.")])
    unit_price = AmountField("Unit price", validators=[DataRequired("Enter the unit price.")])


class PriceListForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired("Enter a code."), Length(max=60)])
    name = StringField("Name", validators=[DataRequired("Enter a name."), Length(max=200)])
    currency = SelectField("Currency", choices=CURRENCIES, default="EUR")
    scope = SelectField("Scope", choices=options((s, SCOPE_LABELS[s]) for s in SCOPES))
    # The service checks the channel (and says so at this field).
    channel_code = SelectField("Channel (for scope channel)", validate_choice=False)
    customer_group = StringField("Customer group (for scope group)",
                                 validators=[Optional(), Length(max=40)])
    customer_number = StringField("Customer number (for scope contract)",
                                  validators=[Optional(), Length(max=20)])
    valid_from = DateField("Valid from", validators=[Optional()])
    valid_to = DateField("Valid to (inclusive)", validators=[Optional()])
    priority = IntegerField("Priority", default=0, validators=[
        Optional(), NumberRange(-1000, 1000, "The priority is between -1000 and 1000.")])
    prices_include_tax = BooleanField("Prices include tax", default=True)
    active = BooleanField("Active", default=True)

    def to_data(self) -> PriceListData:
        return PriceListData(
            code=self.code.data or "", name=self.name.data or "", currency=self.currency.data,
            scope=self.scope.data, channel_code=self.channel_code.data or None,
            customer_group=self.customer_group.data or None,
            customer_number=self.customer_number.data or None,
            valid_from=self.valid_from.data, valid_to=self.valid_to.data,
            priority=self.priority.data or 0,
            prices_include_tax=self.prices_include_tax.data, active=self.active.data)


class AssortmentRuleForm(FlaskForm):
    mode = SelectField("Rule", choices=options([("include", "Include"), ("exclude", "Exclude")]))
    category_id = SelectField("Category (with its subcategories)", coerce=int)
    product = StringField("or a product (slug or SKU)", validators=[Optional(), Length(max=200)])


USAGE_LIMIT = "A usage limit is 1 or more (at most a billion); leave it empty for no limit."


class PromotionForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter a name."), Length(max=200)])
    kind = SelectField("Kind", choices=options((k, KIND_LABELS[k]) for k in PROMOTION_KINDS))
    value = AmountField("Value: percent, amount off or fixed unit price")
    currency = SelectField("Currency", choices=CURRENCIES, default="EUR")
    buy_quantity = IntegerField("Buy X (units)", validators=[
        Optional(), NumberRange(1, 1000, "Enter 1 to 1000 units.")])
    get_quantity = IntegerField("Get Y free (units)", validators=[
        Optional(), NumberRange(1, 1000, "Enter 1 to 1000 units.")])
    coupon_code = StringField("Coupon code", validators=[Optional(), Length(max=60)])
    channels = SelectMultipleField("Channels (none: every channel)")
    customer_groups = StringField("Customer groups, comma-separated (empty: everyone)",
                                  validators=[Optional(), Length(max=400)])
    products = TextAreaField("Products: slugs or SKUs, comma-separated (empty: all)",
                             validators=[Optional(), Length(max=4000)])
    category_ids = SelectMultipleField("Categories (empty: all)", coerce=int)
    min_subtotal = AmountField("Minimum subtotal")
    starts_at = DateTimeLocalField("Starts", format=DATETIME_LOCAL, validators=[Optional()])
    ends_at = DateTimeLocalField("Ends", format=DATETIME_LOCAL, validators=[Optional()])
    usage_limit_total = IntegerField("Usage limit in total", validators=[
        Optional(), NumberRange(1, MAX_USAGE_LIMIT, USAGE_LIMIT)])
    usage_limit_per_customer = IntegerField("Usage limit per customer", validators=[
        Optional(), NumberRange(1, MAX_USAGE_LIMIT, USAGE_LIMIT)])
    priority = IntegerField("Priority (higher applies first)", default=0, validators=[
        Optional(), NumberRange(-1000, 1000, "The priority is between -1000 and 1000.")])
    exclusive = BooleanField("Exclusive (never combined with others)")
    active = BooleanField("Active", default=True)

    def fill(self, data: PromotionData) -> None:
        self.process(obj=data)
        self.customer_groups.data = ", ".join(data.customer_groups)
        self.products.data = ", ".join(data.products)
        for name in ("starts_at", "ends_at"):
            value = getattr(data, name)
            self[name].data = (labels.to_local(value, _console_zone()).replace(tzinfo=None)
                               if value else None)

    def to_data(self) -> PromotionData:
        return PromotionData(
            name=self.name.data or "", kind=self.kind.data, value=self.value.data,
            currency=self.currency.data, buy_quantity=self.buy_quantity.data or 0,
            get_quantity=self.get_quantity.data or 0, coupon_code=self.coupon_code.data,
            channels=self.channels.data or [],
            customer_groups=_list_text(self.customer_groups.data),
            products=_list_text(self.products.data), category_ids=self.category_ids.data or [],
            min_subtotal=self.min_subtotal.data, starts_at=_utc(self.starts_at.data),
            ends_at=_utc(self.ends_at.data), usage_limit_total=self.usage_limit_total.data,
            usage_limit_per_customer=self.usage_limit_per_customer.data,
            priority=self.priority.data or 0, exclusive=self.exclusive.data,
            active=self.active.data)


class ImportProductsForm(FlaskForm):
    file = FileField("Products file (CSV)", validators=[FileRequired("Choose a CSV file.")])
    price_list_id = SelectField("Base prices go into", coerce=int)


class ImportPricesForm(FlaskForm):
    file = FileField("Prices file (CSV)", validators=[FileRequired("Choose a CSV file.")])
