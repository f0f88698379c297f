"""Catalogue management for the back office: products, variants, prices, price lists,
assortment rules and promotions, validated, audited, and the read side of the admin pages.

Every command takes a session and the acting agent's Actor, flushes and never commits.
Checks that need no database live in small pure functions (`check_*`, `parse_*`) so the
CSV import can run them on every row before it touches anything.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from core import audit, parsing
from core.catalog import search
from core.catalog.models import (AssortmentRule, Category, Channel, Product, Variant,
                                 VariantAttribute)
from core.customers.models import Customer
from core.errors import DomainError, NotFound
from core.money import MINOR_UNITS
from core.paging import Page
from core.parsing import AMOUNT_LIMIT
from core.pricing.models import (PROMOTION_KINDS, SCOPES, PriceList, PriceListEntry, Promotion,
                                 TaxCategory)

CHANNEL = "console"
MAX_USAGE_LIMIT = 1_000_000_000
SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
MAX_WEIGHT_GRAMS = 10_000_000  # ten tonnes: anything above is a typo
MAX_ATTRIBUTES = 20


class CatalogInputError(DomainError):
    """Catalogue input broke a rule; `field` names the form field at fault."""

    code = "invalid_catalog_input"


def _fail(message: str, field_name: str | None = None):
    raise CatalogInputError(message, field=field_name)


# --- input -------------------------------------------------------------------------------


@dataclass
class ProductData:
    name: str
    category_id: int | None
    tax_category_id: int | None
    slug: str = ""
    brand: str = ""
    description: str = ""
    active: bool = True


@dataclass
class VariantData:
    sku: str
    name: str = ""
    barcode: str = ""
    weight_grams: int = 0
    attributes: dict[str, str] = field(default_factory=dict)
    active: bool = True


@dataclass
class PriceListData:
    code: str
    name: str
    currency: str
    scope: str
    channel_code: str | None = None
    customer_group: str | None = None
    customer_number: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    priority: int = 0
    prices_include_tax: bool = True
    active: bool = True


@dataclass
class PromotionData:
    name: str
    kind: str
    value: Decimal = Decimal(0)
    currency: str = "EUR"
    buy_quantity: int = 0
    get_quantity: int = 0
    coupon_code: str | None = None
    channels: Sequence[str] = ()
    customer_groups: Sequence[str] = ()
    products: Sequence[str] = ()  # product slugs or SKUs of their variants
    category_ids: Sequence[int] = ()
    min_subtotal: Decimal | None = None
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    usage_limit_total: int | None = None
    usage_limit_per_customer: int | None = None
    priority: int = 0
    exclusive: bool = False
    active: bool = True


# --- pure checks (shared with the CSV import) ---------------------------------------------


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:200]


def check_text(value: str | None, label: str, field_name: str, *, max_length: int,
               required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        _fail(f"Enter the {label}.", field_name)
    if len(text) > max_length:
        _fail(f"The {label} can have at most {max_length} characters.", field_name)
    return text


def check_slug(value: str, field_name: str = "slug") -> str:
    slug = (value or "").strip().lower()
    if slug and not CODE_PATTERN.match(slug):
        _fail("A slug has lower-case letters, digits and hyphens only, like copy-paper-a4.",
              field_name)
    if len(slug) > 200:
        _fail("A slug can have at most 200 characters.", field_name)
    return slug


def check_sku(value: str | None, field_name: str = "sku") -> str:
    sku = (value or "").strip()
    if not sku:
        _fail("Enter the SKU.", field_name)
    if len(sku) > 64:
        _fail("A SKU can have at most 64 characters.", field_name)
    if not SKU_PATTERN.match(sku):
        _fail(f"SKU {sku!r} may hold letters, digits and . _ / - only, and no spaces.",
              field_name)
    return sku


def check_barcode(value: str | None, field_name: str = "barcode") -> str:
    """Empty, or a GTIN (EAN-8, UPC-A, EAN-13, GTIN-14) whose check digit is right."""
    code = (value or "").strip()
    if not code:
        return ""
    if not code.isdigit() or len(code) not in (8, 12, 13, 14):
        _fail("A barcode is a GTIN of 8, 12, 13 or 14 digits.", field_name)
    body, check = code[:-1], int(code[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    if (10 - total % 10) % 10 != check:
        _fail(f"Barcode {code} has a wrong check digit; check it for a typo.", field_name)
    return code


def check_weight(value: int | None, field_name: str = "weight_grams") -> int:
    grams = 0 if value is None else value
    if grams < 0 or grams > MAX_WEIGHT_GRAMS:
        _fail(f"The weight is between 0 and {MAX_WEIGHT_GRAMS} grams.", field_name)
    return grams


def parse_attributes(text: str | None, field_name: str = "attributes") -> dict[str, str]:
    """'Colour=Black; Size=A4' -> {'Colour': 'Black', 'Size': 'A4'}."""
    result: dict[str, str] = {}
    for part in (text or "").replace("\n", ";").split(";"):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            _fail(f"Write attributes as Name=Value separated by semicolons; {part.strip()!r} "
                  "is not.", field_name)
        result[name] = value
    return check_attributes(result, field_name)


def check_attributes(attributes: Mapping[str, str], field_name: str = "attributes"
                     ) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in attributes.items():
        name, value = name.strip(), value.strip()
        if not name or not value:
            _fail("Every attribute needs a name and a value.", field_name)
        if len(name) > 60 or len(value) > 120:
            _fail(f"Attribute {name[:60]!r}: names have at most 60 characters, values 120.",
                  field_name)
        if any(ch in name + value for ch in "=;"):
            _fail(f"Attribute {name!r}: names and values cannot contain = or ;.", field_name)
        if name.lower() in seen:
            _fail(f"Attribute {name!r} is given twice.", field_name)
        seen.add(name.lower())
        cleaned[name] = value
    if len(cleaned) > MAX_ATTRIBUTES:
        _fail(f"A variant has at most {MAX_ATTRIBUTES} attributes.", field_name)
    return cleaned


def format_attributes(attributes: Mapping[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in attributes.items())


def check_currency(value: str | None, field_name: str = "currency") -> str:
    code = (value or "").strip().upper()
    if code not in MINOR_UNITS:
        _fail(f"Choose a currency Marketline accepts ({', '.join(sorted(MINOR_UNITS))}).",
              field_name)
    return code


def check_amount(amount: Decimal | None, currency: str, field_name: str, *,
                 label: str = "price", positive: bool = False) -> Decimal:
    """A non-negative amount with no more decimals than the currency's minor unit."""
    if amount is None or not isinstance(amount, Decimal) or not amount.is_finite():
        _fail(f"Enter the {label} as a number, like 12.50.", field_name)
    if amount < 0 or (positive and amount == 0):
        _fail(f"The {label} must be {'more than' if positive else 'at least'} 0.", field_name)
    if amount >= AMOUNT_LIMIT:  # before quantize, which cannot hold 1e30 at 28 digits
        _fail(f"The {label} is too large.", field_name)
    places = MINOR_UNITS.get(currency, 2)
    quantum = Decimal(1).scaleb(-places)
    if amount != amount.quantize(quantum):
        _fail(f"A {label} in {currency} has at most {places} decimal places.", field_name)
    return amount.quantize(quantum)


def parse_decimal(text: str | None) -> Decimal | None:
    """'12.50' or '12,50' -> Decimal('12.50'); None when it is not a plain number below
    10**15 with at most 12 decimals (core.parsing: no exponent, NaN, Infinity or "²").
    The caller's check_amount then says what is wrong with a number (places, size)."""
    return parsing.parse_decimal(text, places=12, limit=AMOUNT_LIMIT * 10)


def check_min_quantity(value: int | None, field_name: str = "min_quantity") -> int:
    if value is None or value < 1 or value > 1_000_000:
        _fail("The quantity break starts at 1 unit or more.", field_name)
    return value


# --- small helpers -------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A JSON-friendly form for the audit trail; amounts without trailing zeros (4.9)."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return list(value)
    return value


def _apply(obj: object, values: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Set attributes; return {name: [old, new]} of what changed (for the audit trail)."""
    changed = {}
    for name, new in values.items():
        old = getattr(obj, name)
        if old != new:
            changed[name] = [_plain(old), _plain(new)]
            setattr(obj, name, new)
    return changed


def _record(session: Session, action: str, actor: audit.Actor, subject: object,
            data: dict[str, Any]) -> None:
    audit.record(session, action, actor=actor, channel=CHANNEL, subject=subject, data=data)


def get_or_404(session: Session, model, ident: int, what: str):
    found = session.get(model, ident)
    if found is None:
        raise NotFound(f"There is no {what} {ident}.")
    return found


# --- products and variants ---------------------------------------------------------------


def _product_values(session: Session, data: ProductData, product: Product | None
                    ) -> dict[str, Any]:
    name = check_text(data.name, "product name", "name", max_length=200, required=True)
    brand = check_text(data.brand, "brand", "brand", max_length=100)
    description = check_text(data.description, "description", "description",
                             max_length=20_000)
    if data.category_id is None or session.get(Category, data.category_id) is None:
        _fail("Choose the category.", "category_id")
    if data.tax_category_id is None or session.get(TaxCategory, data.tax_category_id) is None:
        _fail("Choose the tax category.", "tax_category_id")
    slug = check_slug(data.slug)
    if not slug:
        slug = product.slug if product is not None else _free_slug(
            session, slugify(f"{brand} {name}" if brand else name) or "product")
    else:
        clash = session.scalar(select(Product.id).where(Product.slug == slug))
        if clash is not None and (product is None or clash != product.id):
            _fail(f"Another product already uses the slug {slug}.", "slug")
    return dict(name=name, brand=brand, description=description, slug=slug,
                category_id=data.category_id, tax_category_id=data.tax_category_id,
                active=bool(data.active))


def _free_slug(session: Session, base: str) -> str:
    taken = set(session.scalars(select(Product.slug).where(
        or_(Product.slug == base, Product.slug.like(f"{base}-%")))))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def create_product(session: Session, data: ProductData, *, actor: audit.Actor) -> Product:
    """Add a product (no variants yet; it sells once a variant has a price)."""
    product = Product(**_product_values(session, data, None))
    session.add(product)
    session.flush()
    search.reindex(session, [product.id])
    _record(session, "product.created", actor, product,
            {"slug": product.slug, "name": product.name})
    return product


def update_product(session: Session, product: Product, data: ProductData, *,
                   actor: audit.Actor) -> Product:
    """Change a product's fields; the search index follows."""
    changed = _apply(product, _product_values(session, data, product))
    if changed:
        search.reindex(session, [product.id])
        _record(session, "product.updated", actor, product, {"changes": changed})
    return product


def _variant_values(session: Session, data: VariantData, variant: Variant | None
                    ) -> dict[str, Any]:
    sku = check_sku(data.sku)
    clash = session.scalar(select(Variant.id).where(func.lower(Variant.sku) == sku.lower()))
    if clash is not None and (variant is None or clash != variant.id):
        _fail(f"SKU {sku} is already in use.", "sku")
    return dict(sku=sku,
                name=check_text(data.name, "variant name", "name", max_length=200),
                barcode=check_barcode(data.barcode),
                weight_grams=check_weight(data.weight_grams),
                active=bool(data.active))


def set_attributes(variant: Variant, attributes: Mapping[str, str]) -> dict[str, str] | None:
    """Make the variant's attributes these; in place, so the (variant, name) key never clashes.

    Returns the new attributes when they changed, else None.
    """
    before = variant.attributes
    wanted = dict(attributes)
    if before == wanted:
        return None
    by_lower = {k.lower(): k for k in wanted}
    for row in list(variant.attribute_values):
        key = by_lower.get(row.name.lower())
        if key is None:
            variant.attribute_values.remove(row)
        else:
            row.name, row.value = key, wanted.pop(key)
    for name, value in wanted.items():
        variant.attribute_values.append(VariantAttribute(name=name, value=value))
    return dict(attributes)


def add_variant(session: Session, product: Product, data: VariantData, *,
                actor: audit.Actor) -> Variant:
    """Add a variant (SKU) to a product, with its attributes."""
    values = _variant_values(session, data, None)
    attributes = check_attributes(data.attributes)
    position = session.scalar(select(func.coalesce(func.max(Variant.position), -1))
                              .where(Variant.product_id == product.id)) + 1
    variant = Variant(product=product, position=position, **values)
    variant.attribute_values = [VariantAttribute(name=k, value=v) for k, v in attributes.items()]
    session.add(variant)
    session.flush()
    search.reindex(session, [product.id])
    _record(session, "variant.created", actor, variant,
            {"sku": variant.sku, "product_id": product.id, "attributes": attributes})
    return variant


def update_variant(session: Session, variant: Variant, data: VariantData, *,
                   actor: audit.Actor) -> Variant:
    """Change a variant's SKU, name, barcode, weight, attributes or active flag."""
    values = _variant_values(session, data, variant)
    attributes = check_attributes(data.attributes)
    changed = _apply(variant, values)
    if (new_attributes := set_attributes(variant, attributes)) is not None:
        changed["attributes"] = new_attributes
    if changed:
        session.flush()
        if "sku" in changed:
            search.reindex(session, [variant.product_id])
        _record(session, "variant.updated", actor, variant,
                {"sku": variant.sku, "changes": changed})
    return variant


# --- prices ---------------------------------------------------------------------------------


def set_price(session: Session, *, price_list: PriceList, variant: Variant, min_quantity: int,
              unit_price: Decimal, actor: audit.Actor) -> PriceListEntry:
    """Set the unit price of a variant from `min_quantity` units up in a list (a quantity
    break): updates the break when it exists, else adds it."""
    min_quantity = check_min_quantity(min_quantity)
    unit_price = check_amount(unit_price, price_list.currency, "unit_price")
    entry = session.scalar(select(PriceListEntry).where(
        PriceListEntry.price_list_id == price_list.id, PriceListEntry.variant_id == variant.id,
        PriceListEntry.min_quantity == min_quantity))
    old = None
    if entry is None:
        entry = PriceListEntry(price_list=price_list, variant=variant,
                               min_quantity=min_quantity, unit_price=unit_price)
        session.add(entry)
    else:
        old = entry.unit_price
        if old == unit_price:
            return entry
        entry.unit_price = unit_price
    session.flush()
    _record(session, "price.set", actor, entry,
            {"price_list": price_list.code, "sku": variant.sku, "min_quantity": min_quantity,
             "unit_price": _plain(unit_price), "previous": _plain(old)})
    return entry


def remove_price(session: Session, entry: PriceListEntry, *, actor: audit.Actor) -> None:
    """Delete one quantity break of a variant in a price list."""
    _record(session, "price.removed", actor, entry,
            {"price_list": entry.price_list.code, "sku": entry.variant.sku,
             "min_quantity": entry.min_quantity, "unit_price": _plain(entry.unit_price)})
    session.delete(entry)
    session.flush()


def _price_list_values(session: Session, data: PriceListData, price_list: PriceList | None
                       ) -> dict[str, Any]:
    code = (data.code or "").strip().lower()
    if not code:
        _fail("Enter a code for the price list, like retail-chf.", "code")
    if len(code) > 60 or not CODE_PATTERN.match(code):
        _fail("A code has lower-case letters, digits and hyphens only (at most 60).", "code")
    clash = session.scalar(select(PriceList.id).where(PriceList.code == code))
    if clash is not None and (price_list is None or clash != price_list.id):
        _fail(f"Another price list already has the code {code}.", "code")
    name = check_text(data.name, "name", "name", max_length=200, required=True)
    currency = check_currency(data.currency)
    if (price_list is not None and currency != price_list.currency
            and session.scalar(select(exists().where(
                PriceListEntry.price_list_id == price_list.id)))):
        _fail("The currency cannot change while the list holds prices.", "currency")
    if data.scope not in SCOPES:
        _fail(f"The scope is one of {', '.join(SCOPES)}.", "scope")
    channel_code = customer_group = None
    customer_id = None
    if data.scope == "channel":
        channel_code = (data.channel_code or "").strip()
        channel = session.scalar(select(Channel).where(Channel.code == channel_code))
        if channel is None:
            _fail("Choose the channel this list is for.", "channel_code")
        if channel.currency != currency:
            _fail(f"Channel {channel.code} sells in {channel.currency}, not {currency}.",
                  "currency")
    elif data.scope == "group":
        customer_group = check_text(data.customer_group, "customer group", "customer_group",
                                    max_length=40, required=True)
    elif data.scope == "contract":
        number = (data.customer_number or "").strip().upper()
        customer_id = session.scalar(select(Customer.id).where(Customer.number == number))
        if not number or customer_id is None:
            _fail("Enter the number of an existing customer, like C-000123.",
                  "customer_number")
    if data.valid_from and data.valid_to and data.valid_to < data.valid_from:
        _fail("The list cannot end before it starts.", "valid_to")
    if not -1000 <= data.priority <= 1000:
        _fail("The priority is between -1000 and 1000.", "priority")
    return dict(code=code, name=name, currency=currency, scope=data.scope,
                channel_code=channel_code, customer_group=customer_group,
                customer_id=customer_id, valid_from=data.valid_from, valid_to=data.valid_to,
                priority=data.priority, prices_include_tax=bool(data.prices_include_tax),
                active=bool(data.active))


def create_price_list(session: Session, data: PriceListData, *, actor: audit.Actor
                      ) -> PriceList:
    """Add an (empty) price list for a scope, currency and period."""
    price_list = PriceList(**_price_list_values(session, data, None))
    session.add(price_list)
    session.flush()
    _record(session, "price_list.created", actor, price_list,
            {k: _plain(v) for k, v in _price_list_snapshot(price_list).items()})
    return price_list


def update_price_list(session: Session, price_list: PriceList, data: PriceListData, *,
                      actor: audit.Actor) -> PriceList:
    """Change a price list's settings (not its entries)."""
    changed = _apply(price_list, _price_list_values(session, data, price_list))
    if changed:
        session.flush()
        _record(session, "price_list.updated", actor, price_list, {"changes": changed})
    return price_list


def _price_list_snapshot(pl: PriceList) -> dict[str, Any]:
    return dict(code=pl.code, name=pl.name, currency=pl.currency, scope=pl.scope,
                channel_code=pl.channel_code, customer_group=pl.customer_group,
                customer_id=pl.customer_id, valid_from=pl.valid_from, valid_to=pl.valid_to,
                priority=pl.priority, prices_include_tax=pl.prices_include_tax,
                active=pl.active)


def price_list_form_data(pl: PriceList, session: Session) -> PriceListData:
    """The settings of a list as the edit form shows them."""
    number = session.scalar(select(Customer.number).where(Customer.id == pl.customer_id)) \
        if pl.customer_id else None
    return PriceListData(code=pl.code, name=pl.name, currency=pl.currency, scope=pl.scope,
                         channel_code=pl.channel_code, customer_group=pl.customer_group,
                         customer_number=number, valid_from=pl.valid_from,
                         valid_to=pl.valid_to, priority=pl.priority,
                         prices_include_tax=pl.prices_include_tax, active=pl.active)


# --- assortment --------------------------------------------------------------------------------


def find_product_ids(session: Session, refs: Iterable[str], field_name: str) -> list[int]:
    """Product ids for references that are product slugs or SKUs; unknown ones are refused."""
    wanted = list(dict.fromkeys(r.strip() for r in refs if r.strip()))
    if not wanted:
        return []
    by_slug = dict(session.execute(select(Product.slug, Product.id)
                                   .where(Product.slug.in_([w.lower() for w in wanted]))).all())
    by_sku = dict(session.execute(select(Variant.sku, Variant.product_id)
                                  .where(Variant.sku.in_(wanted))).all())
    ids, unknown = [], []
    for ref in wanted:
        pid = by_sku.get(ref) or by_slug.get(ref.lower())
        if pid is None:
            unknown.append(ref)
        else:
            ids.append(pid)
    if unknown:
        _fail(f"No product has the slug or SKU {', '.join(unknown)}.", field_name)
    return list(dict.fromkeys(ids))


def add_assortment_rule(session: Session, channel: Channel, *, mode: str,
                        category_id: int | None = None, product_ref: str | None = None,
                        actor: audit.Actor) -> AssortmentRule:
    """Include or exclude a category (and its subtree) or one product in a channel."""
    if mode not in ("include", "exclude"):
        _fail("Choose include or exclude.", "mode")
    product_ref = (product_ref or "").strip()
    if bool(category_id) == bool(product_ref):
        _fail("Choose a category or name a product, not both.", "category_id")
    product_id = None
    if category_id:
        if session.get(Category, category_id) is None:
            _fail("Choose an existing category.", "category_id")
    else:
        product_id = find_product_ids(session, [product_ref], "product")[0]
    duplicate = session.scalar(select(AssortmentRule.id).where(
        AssortmentRule.channel_id == channel.id, AssortmentRule.mode == mode,
        AssortmentRule.category_id.is_(None) if product_id else
        AssortmentRule.category_id == category_id,
        AssortmentRule.product_id.is_(None) if category_id else
        AssortmentRule.product_id == product_id))
    if duplicate is not None:
        _fail("The channel already has this rule.", "mode")
    rule = AssortmentRule(channel=channel, mode=mode, category_id=category_id or None,
                          product_id=product_id)
    session.add(rule)
    session.flush()
    _record(session, "assortment_rule.added", actor, rule,
            {"channel": channel.code, "mode": mode, "category_id": rule.category_id,
             "product_id": product_id})
    return rule


def remove_assortment_rule(session: Session, rule: AssortmentRule, *, actor: audit.Actor
                           ) -> None:
    """Drop a rule from its channel's assortment."""
    _record(session, "assortment_rule.removed", actor, rule,
            {"channel": rule.channel.code, "mode": rule.mode, "category_id": rule.category_id,
             "product_id": rule.product_id})
    rule.channel.assortment.remove(rule)
    session.flush()


# --- promotions ----------------------------------------------------------------------------


def _promotion_values(session: Session, data: PromotionData, promotion: Promotion | None
                      ) -> dict[str, Any]:
    name = check_text(data.name, "name", "name", max_length=200, required=True)
    if data.kind not in PROMOTION_KINDS:
        _fail(f"The kind is one of {', '.join(PROMOTION_KINDS)}.", "kind")
    currency = check_currency(data.currency)
    value, buy, get = data.value if data.value is not None else Decimal(0), 0, 0
    if data.kind == "percent_off":
        if not isinstance(value, Decimal) or not Decimal(0) < value <= Decimal(100):
            _fail("A percentage off is more than 0 and at most 100.", "value")
        if value != value.quantize(Decimal("0.01")):
            _fail("A percentage has at most two decimal places.", "value")
    elif data.kind == "amount_off":
        value = check_amount(value, currency, "value", label="amount off", positive=True)
    elif data.kind == "fixed_price":
        value = check_amount(value, currency, "value", label="fixed price")
    elif data.kind == "buy_x_get_y":
        buy, get = data.buy_quantity or 0, data.get_quantity or 0
        if not 1 <= buy <= 1000:
            _fail("Enter how many units the customer buys (1 or more).", "buy_quantity")
        if not 1 <= get <= 1000:
            _fail("Enter how many units the customer gets free (1 or more).", "get_quantity")
        value = Decimal(0)
    else:  # free_shipping
        value = Decimal(0)
    product_ids = find_product_ids(session, data.products, "products")
    category_ids = list(dict.fromkeys(int(c) for c in data.category_ids))
    if category_ids:
        known = set(session.scalars(select(Category.id).where(Category.id.in_(category_ids))))
        if missing := [c for c in category_ids if c not in known]:
            _fail(f"There is no category {missing[0]}.", "category_ids")
    if data.kind in ("fixed_price", "buy_x_get_y") and not (product_ids or category_ids):
        _fail("Name the products or categories this promotion applies to.", "products")
    channels = list(dict.fromkeys(c.strip() for c in data.channels if c.strip()))
    if channels:
        known_channels = set(session.scalars(select(Channel.code)))
        if missing := [c for c in channels if c not in known_channels]:
            _fail(f"There is no channel {missing[0]}.", "channels")
    groups = list(dict.fromkeys(g.strip() for g in data.customer_groups if g.strip()))
    if any(len(g) > 40 for g in groups):
        _fail("A customer group has at most 40 characters.", "customer_groups")
    coupon = (data.coupon_code or "").strip().upper() or None
    if coupon is not None:
        if len(coupon) > 60 or not re.fullmatch(r"[A-Z0-9][A-Z0-9_-]*", coupon):
            _fail("A coupon code has letters, digits, - and _ only (at most 60).",
                  "coupon_code")
        clash = session.scalar(select(Promotion.id).where(
            func.upper(Promotion.coupon_code) == coupon))
        if clash is not None and (promotion is None or clash != promotion.id):
            _fail(f"Another promotion already uses the coupon code {coupon}.", "coupon_code")
    min_subtotal = None
    if data.min_subtotal is not None:
        min_subtotal = check_amount(data.min_subtotal, currency, "min_subtotal",
                                    label="minimum subtotal")
    if data.starts_at and data.ends_at and data.ends_at <= data.starts_at:
        _fail("The promotion must end after it starts.", "ends_at")
    for limit, field_name in ((data.usage_limit_total, "usage_limit_total"),
                              (data.usage_limit_per_customer, "usage_limit_per_customer")):
        if limit is not None and not 1 <= limit <= MAX_USAGE_LIMIT:
            _fail("A usage limit is 1 or more (at most a billion); leave it empty for no "
                  "limit.", field_name)
    if not -1000 <= data.priority <= 1000:
        _fail("The priority is between -1000 and 1000.", "priority")
    return dict(name=name, kind=data.kind, value=value, currency=currency, buy_quantity=buy,
                get_quantity=get, coupon_code=coupon, channels=channels,
                customer_groups=groups, product_ids=product_ids, category_ids=category_ids,
                min_subtotal=min_subtotal, starts_at=data.starts_at, ends_at=data.ends_at,
                usage_limit_total=data.usage_limit_total,
                usage_limit_per_customer=data.usage_limit_per_customer,
                priority=data.priority, exclusive=bool(data.exclusive),
                active=bool(data.active))


def create_promotion(session: Session, data: PromotionData, *, actor: audit.Actor
                     ) -> Promotion:
    """Add a promotion after checking the fields its kind needs."""
    values = _promotion_values(session, data, None)
    promotion = Promotion(**values)
    session.add(promotion)
    session.flush()
    _record(session, "promotion.created", actor, promotion,
            {k: _plain(v) for k, v in values.items()})
    return promotion


def update_promotion(session: Session, promotion: Promotion, data: PromotionData, *,
                     actor: audit.Actor) -> Promotion:
    """Change a promotion; usage counts stay as they are."""
    changed = _apply(promotion, _promotion_values(session, data, promotion))
    if changed:
        session.flush()
        _record(session, "promotion.updated", actor, promotion,
                {k: [_plain(v) for v in pair] for k, pair in changed.items()})
    return promotion


def deactivate_promotion(session: Session, promotion: Promotion, *, actor: audit.Actor
                         ) -> Promotion:
    """Stop a promotion from applying; it stays for the record (orders refer to it)."""
    if promotion.active:
        promotion.active = False
        session.flush()
        _record(session, "promotion.deactivated", actor, promotion, {"name": promotion.name})
    return promotion


def promotion_form_data(session: Session, promotion: Promotion) -> PromotionData:
    """A promotion as its edit form shows it: products by slug."""
    slugs = dict(session.execute(select(Product.id, Product.slug)
                                 .where(Product.id.in_(promotion.product_ids or []))).all())
    return PromotionData(
        name=promotion.name, kind=promotion.kind, value=promotion.value,
        currency=promotion.currency, buy_quantity=promotion.buy_quantity,
        get_quantity=promotion.get_quantity, coupon_code=promotion.coupon_code,
        channels=list(promotion.channels or []),
        customer_groups=list(promotion.customer_groups or []),
        products=[slugs[p] for p in promotion.product_ids or [] if p in slugs],
        category_ids=list(promotion.category_ids or []), min_subtotal=promotion.min_subtotal,
        starts_at=promotion.starts_at, ends_at=promotion.ends_at,
        usage_limit_total=promotion.usage_limit_total,
        usage_limit_per_customer=promotion.usage_limit_per_customer,
        priority=promotion.priority, exclusive=promotion.exclusive, active=promotion.active)


# --- read side of the admin pages --------------------------------------------------------------


@dataclass(frozen=True)
class ProductRow:
    id: int
    name: str
    slug: str
    brand: str
    category: str
    active: bool
    skus: list[str]


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_products(session: Session, *, query: str = "", status: str = "all", page: int = 1,
                  per_page: int = 30) -> Page[ProductRow]:
    """A page of products (active or not) matching a name, slug, brand or SKU fragment.

    Three queries whatever the page holds: count, rows, their SKUs.
    """
    conditions = []
    text = query.strip()[:100]
    if text:
        pattern = _like(text)
        conditions.append(or_(
            Product.name.ilike(pattern, escape="\\"), Product.slug.ilike(pattern, escape="\\"),
            Product.brand.ilike(pattern, escape="\\"),
            exists(select(Variant.id).where(Variant.product_id == Product.id,
                                            Variant.sku.ilike(pattern, escape="\\")))))
    if status == "active":
        conditions.append(Product.active)
    elif status == "inactive":
        conditions.append(~Product.active)
    total = session.scalar(select(func.count()).select_from(Product).where(*conditions)) or 0
    rows = session.execute(
        select(Product.id, Product.name, Product.slug, Product.brand, Category.name,
               Product.active)
        .join(Category, Category.id == Product.category_id)
        .where(*conditions).order_by(Product.name, Product.id)
        .limit(per_page).offset((page - 1) * per_page)).all()
    skus: dict[int, list[str]] = defaultdict(list)
    if rows:
        for pid, sku in session.execute(
                select(Variant.product_id, Variant.sku)
                .where(Variant.product_id.in_([r[0] for r in rows]))
                .order_by(Variant.position, Variant.id)):
            skus[pid].append(sku)
    return Page([ProductRow(pid, name, slug, brand, cat, active, skus[pid])
                 for pid, name, slug, brand, cat, active in rows], page, per_page, total)


def product_detail(session: Session, product_id: int) -> tuple[Product, dict[int, list]]:
    """A product with its variants and attributes, and each variant's price entries
    (with their lists), ordered by list then quantity break."""
    product = session.scalar(
        select(Product).where(Product.id == product_id)
        .options(selectinload(Product.variants).selectinload(Variant.attribute_values)))
    if product is None:
        raise NotFound("There is no such product.")
    prices: dict[int, list[PriceListEntry]] = defaultdict(list)
    ids = [v.id for v in product.variants]
    if ids:
        for entry in session.scalars(
                select(PriceListEntry).join(PriceList)
                .where(PriceListEntry.variant_id.in_(ids))
                .options(selectinload(PriceListEntry.price_list))
                .order_by(PriceList.code, PriceListEntry.min_quantity)):
            prices[entry.variant_id].append(entry)
    return product, prices


def price_list_entries(session: Session, price_list: PriceList, *, page: int = 1,
                       per_page: int = 100) -> tuple[list[tuple], int]:
    """(sku, product name, min quantity, unit price, entry id) rows of a list, by SKU."""
    total = session.scalar(select(func.count()).select_from(PriceListEntry)
                           .where(PriceListEntry.price_list_id == price_list.id)) or 0
    rows = session.execute(
        select(Variant.sku, Product.name, PriceListEntry.min_quantity, PriceListEntry.unit_price,
               PriceListEntry.id, Product.id)
        .join(Variant, Variant.id == PriceListEntry.variant_id)
        .join(Product, Product.id == Variant.product_id)
        .where(PriceListEntry.price_list_id == price_list.id)
        .order_by(Variant.sku, PriceListEntry.min_quantity)
        .limit(per_page).offset((page - 1) * per_page)).all()
    return rows, total


def price_lists(session: Session) -> list[tuple[PriceList, int]]:
    """Every price list with its number of entries."""
    counts = (select(PriceListEntry.price_list_id, func.count().label("n"))
              .group_by(PriceListEntry.price_list_id).subquery())
    return [(pl, n or 0) for pl, n in session.execute(
        select(PriceList, counts.c.n).outerjoin(counts, counts.c.price_list_id == PriceList.id)
        .order_by(PriceList.scope, PriceList.code))]


def channels_with_rules(session: Session) -> list[Channel]:
    return list(session.scalars(
        select(Channel).order_by(Channel.code).options(
            selectinload(Channel.assortment).selectinload(AssortmentRule.category),
            selectinload(Channel.assortment).selectinload(AssortmentRule.product))))


def categories(session: Session) -> list[Category]:
    """Every category in tree order (by materialised path), for choices."""
    return list(session.scalars(select(Category).order_by(Category.path)))


def category_label(category: Category, by_id: Mapping[int, Category]) -> str:
    names = [by_id[int(i)].name for i in category.path.strip("/").split("/")
             if i and int(i) in by_id]
    return " › ".join(names) or category.name
