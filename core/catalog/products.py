"""Catalogue management for the back office: products, variants and assortment rules,
validated, audited, and the read side of the catalogue pages. Price lists, prices and
promotions are core.pricing's (price_lists, promotions); they share the checks here.

Every command takes a session and the acting agent's Actor, flushes and never commits.
Checks that need no database live in small pure functions (`check_*`, `parse_*`) so the
CSV import can run them on every row before it touches anything.
"""
from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import column, exists, func, or_, select, table
from sqlalchemy.orm import Session, selectinload

from core import audit, parsing
from core.catalog import search
from core.catalog.models import (AssortmentRule, Category, Channel, Product, Variant,
                                 VariantAttribute)
from core.errors import DomainError
from core.money import MINOR_UNITS
from core.paging import Page, paginate
from core.parsing import AMOUNT_LIMIT

CHANNEL = "console"
SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
MAX_WEIGHT_GRAMS = 10_000_000  # ten tonnes: anything above is a typo
MAX_ATTRIBUTES = 20
MAX_RETURN_DAYS = 365
# Pricing sits above the catalogue: a product names its tax category by the table its
# foreign key points at (products.tax_category_id -> tax_categories.id), not by the model.
_tax_categories = table("tax_categories", column("id"))
_suppliers = table("suppliers", column("id"))  # core.inventory's, likewise
# A product is published only when a variant has a price every shopper sees (core.pricing's
# tables, read by name for the same reason).
_price_lists = table("price_lists", column("id"), column("scope"), column("active"))
_price_entries = table("price_list_entries", column("price_list_id"), column("variant_id"))
MAX_AXES = 3
MAX_AXIS_VALUES = 30
MAX_GRID = 200  # variants one grid may make


class CatalogInputError(DomainError):
    """Catalogue input broke a rule; `field` names the form field at fault."""

    code = "invalid_catalog_input"


def refuse(message: str, field_name: str | None = None):
    """Raise CatalogInputError at the field: the catalogue's and pricing's input checks."""
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
    # None: unchanged (a new product is a draft). True publishes it, which needs a price
    # every shopper sees (see publish_product).
    active: bool | None = None
    returnable: bool = True
    return_days: int | None = None  # None: the category's window, else the shop's default
    backorderable: bool = False
    drop_ship: bool = False
    supplier_id: int | None = None


@dataclass
class VariantData:
    sku: str
    name: str = ""
    barcode: str = ""
    weight_grams: int = 0
    attributes: dict[str, str] = field(default_factory=dict)
    active: bool = True
    cost_price: Decimal | None = None  # EUR net per unit; None: no standard cost


# --- pure checks (shared with the CSV import) ---------------------------------------------


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:200]


def check_text(value: str | None, label: str, field_name: str, *, max_length: int,
               required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        refuse(f"Enter the {label}.", field_name)
    if len(text) > max_length:
        refuse(f"The {label} can have at most {max_length} characters.", field_name)
    return text


def check_slug(value: str, field_name: str = "slug") -> str:
    slug = (value or "").strip().lower()
    if slug and not CODE_PATTERN.match(slug):
        refuse("A slug has lower-case letters, digits and hyphens only, like copy-paper-a4.",
              field_name)
    if len(slug) > 200:
        refuse("A slug can have at most 200 characters.", field_name)
    return slug


def check_sku(value: str | None, field_name: str = "sku") -> str:
    sku = (value or "").strip()
    if not sku:
        refuse("Enter the SKU.", field_name)
    if len(sku) > 64:
        refuse("A SKU can have at most 64 characters.", field_name)
    if not SKU_PATTERN.match(sku):
        refuse(f"SKU {sku!r} may hold letters, digits and . _ / - only, and no spaces.",
              field_name)
    return sku


def check_barcode(value: str | None, field_name: str = "barcode") -> str:
    """Empty, or a GTIN (EAN-8, UPC-A, EAN-13, GTIN-14) whose check digit is right."""
    code = (value or "").strip()
    if not code:
        return ""
    if not code.isdigit() or len(code) not in (8, 12, 13, 14):
        refuse("A barcode is a GTIN of 8, 12, 13 or 14 digits.", field_name)
    body, check = code[:-1], int(code[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    if (10 - total % 10) % 10 != check:
        refuse(f"Barcode {code} has a wrong check digit; check it for a typo.", field_name)
    return code


def check_cost_price(value: Decimal | None, field_name: str = "cost_price") -> Decimal | None:
    """A standard cost per unit (EUR, net): empty, or from 0 with at most four decimals."""
    if value is None:
        return None
    if not value.is_finite() or value < 0:
        refuse("The cost price is 0 or more, like 12.50; leave it empty if it is not known.",
               field_name)
    if value >= AMOUNT_LIMIT or value != value.quantize(Decimal("0.0001")):
        refuse("Enter the cost price with at most four decimals, like 12.50.", field_name)
    return value


def check_weight(value: int | None, field_name: str = "weight_grams") -> int:
    grams = 0 if value is None else value
    if grams < 0 or grams > MAX_WEIGHT_GRAMS:
        refuse(f"The weight is between 0 and {MAX_WEIGHT_GRAMS} grams.", field_name)
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
            refuse(f"Write attributes as Name=Value separated by semicolons; {part.strip()!r} "
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
            refuse("Every attribute needs a name and a value.", field_name)
        if len(name) > 60 or len(value) > 120:
            refuse(f"Attribute {name[:60]!r}: names have at most 60 characters, values 120.",
                  field_name)
        if any(ch in name + value for ch in "=;"):
            refuse(f"Attribute {name!r}: names and values cannot contain = or ;.", field_name)
        if name.lower() in seen:
            refuse(f"Attribute {name!r} is given twice.", field_name)
        seen.add(name.lower())
        cleaned[name] = value
    if len(cleaned) > MAX_ATTRIBUTES:
        refuse(f"A variant has at most {MAX_ATTRIBUTES} attributes.", field_name)
    return cleaned


def format_attributes(attributes: Mapping[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in attributes.items())


def check_currency(value: str | None, field_name: str = "currency") -> str:
    code = (value or "").strip().upper()
    if code not in MINOR_UNITS:
        refuse(f"Choose a currency Marketline accepts ({', '.join(sorted(MINOR_UNITS))}).",
              field_name)
    return code


def check_amount(amount: Decimal | None, currency: str, field_name: str, *,
                 label: str = "price", positive: bool = False) -> Decimal:
    """A non-negative amount with no more decimals than the currency's minor unit."""
    if amount is None or not isinstance(amount, Decimal) or not amount.is_finite():
        refuse(f"Enter the {label} as a number, like 12.50.", field_name)
    if amount < 0 or (positive and amount == 0):
        refuse(f"The {label} must be {'more than' if positive else 'at least'} 0.", field_name)
    if amount >= AMOUNT_LIMIT:  # before quantize, which cannot hold 1e30 at 28 digits
        refuse(f"The {label} is too large.", field_name)
    places = MINOR_UNITS.get(currency, 2)
    quantum = Decimal(1).scaleb(-places)
    if amount != amount.quantize(quantum):
        refuse(f"A {label} in {currency} has at most {places} decimal places.", field_name)
    return amount.quantize(quantum)


def parse_decimal(text: str | None) -> Decimal | None:
    """'12.50' or '12,50' -> Decimal('12.50'); None when it is not a plain number below
    10**15 with at most 12 decimals (core.parsing: no exponent, NaN, Infinity or "²").
    The caller's check_amount then says what is wrong with a number (places, size)."""
    return parsing.parse_decimal(text, places=12, limit=AMOUNT_LIMIT * 10)


def check_min_quantity(value: int | None, field_name: str = "min_quantity") -> int:
    if value is None or value < 1 or value > 1_000_000:
        refuse("The quantity break starts at 1 unit or more.", field_name)
    return value


# --- small helpers -------------------------------------------------------------------------


def audit_value(value: Any) -> Any:
    """A JSON-friendly form for the audit trail; amounts without trailing zeros (4.9)."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return list(value)
    return value


def apply_changes(obj: object, values: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Set attributes; return {name: [old, new]} of what changed (for the audit trail)."""
    changed = {}
    for name, new in values.items():
        old = getattr(obj, name)
        if old != new:
            changed[name] = [audit_value(old), audit_value(new)]
            setattr(obj, name, new)
    return changed


def record_change(session: Session, action: str, actor: audit.Actor, subject: object,
                  data: dict[str, Any]) -> None:
    """Audit a change to the catalogue or its prices (channel "console")."""
    audit.record(session, action, actor=actor, channel=CHANNEL, subject=subject, data=data)



# --- products and variants ---------------------------------------------------------------


def _product_values(session: Session, data: ProductData, product: Product | None
                    ) -> dict[str, Any]:
    name = check_text(data.name, "product name", "name", max_length=200, required=True)
    brand = check_text(data.brand, "brand", "brand", max_length=100)
    description = check_text(data.description, "description", "description",
                             max_length=20_000)
    if data.category_id is None or session.get(Category, data.category_id) is None:
        refuse("Choose the category.", "category_id")
    if data.tax_category_id is None or session.scalar(
            select(_tax_categories.c.id).where(_tax_categories.c.id == data.tax_category_id)
    ) is None:
        refuse("Choose the tax category.", "tax_category_id")
    slug = check_slug(data.slug)
    if not slug:
        slug = product.slug if product is not None else _free_slug(
            session, slugify(f"{brand} {name}" if brand else name) or "product")
    else:
        clash = session.scalar(select(Product.id).where(Product.slug == slug))
        if clash is not None and (product is None or clash != product.id):
            refuse(f"Another product already uses the slug {slug}.", "slug")
    return dict(name=name, brand=brand, description=description, slug=slug,
                category_id=data.category_id, tax_category_id=data.tax_category_id,
                active=_active_value(session, data, product),
                returnable=bool(data.returnable),
                return_days=check_return_days(data.return_days),
                **_supply_values(session, data))


def _active_value(session: Session, data: ProductData, product: Product | None) -> bool:
    """A new product is a draft; an existing one keeps its state unless `data.active` says
    otherwise, and goes live only with a price every shopper sees."""
    if product is None:
        return False  # whatever data.active says: it has no variant, so no price, yet
    current = product.active
    if data.active is None or bool(data.active) == current:
        return current
    if data.active and not has_public_price(session, product.id):
        refuse(NEEDS_PRICE, "active")
    return bool(data.active)


def _supply_values(session: Session, data: ProductData) -> dict[str, Any]:
    """Backorders, drop shipment and the supplier: a drop-shipped product needs its supplier."""
    supplier_id = data.supplier_id or None
    if supplier_id is not None and session.scalar(
            select(_suppliers.c.id).where(_suppliers.c.id == supplier_id)) is None:
        refuse("Choose an existing supplier.", "supplier_id")
    if data.drop_ship and supplier_id is None:
        refuse("A drop-shipped product needs the supplier who ships it.", "supplier_id")
    return dict(backorderable=bool(data.backorderable), drop_ship=bool(data.drop_ship),
                supplier_id=supplier_id)


def check_return_days(value: int | None, field_name: str = "return_days") -> int | None:
    """A product's own return window in days (0 to MAX_RETURN_DAYS), or None for the
    category's or the shop's."""
    if value is not None and not 0 <= value <= MAX_RETURN_DAYS:
        refuse(f"The return window is 0 to {MAX_RETURN_DAYS} days; leave it empty for the "
               "category's.", field_name)
    return value


def _free_slug(session: Session, base: str) -> str:
    taken = set(session.scalars(select(Product.slug).where(
        or_(Product.slug == base, Product.slug.like(f"{base}-%")))))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def create_product(session: Session, data: ProductData, *, actor: audit.Actor) -> Product:
    """Add a product as a draft (no variants yet): the shop neither shows nor sells it until
    it is published (publish_product), once a variant has a price every shopper sees."""
    product = Product(**_product_values(session, data, None))
    session.add(product)
    session.flush()
    search.reindex(session, [product.id])
    record_change(session, "product.created", actor, product,
            {"slug": product.slug, "name": product.name})
    return product


def update_product(session: Session, product: Product, data: ProductData, *,
                   actor: audit.Actor) -> Product:
    """Change a product's fields; the search index follows."""
    changed = apply_changes(product, _product_values(session, data, product))
    if changed:
        search.reindex(session, [product.id])
        record_change(session, "product.updated", actor, product, {"changes": changed})
    return product


# --- drafts and publishing ------------------------------------------------------------------

NEEDS_PRICE = ("Give a variant a price in a list every shopper sees (like Retail EUR) before "
               "the product goes live.")
STATE_LABELS = {"live": "Live", "live_no_price": "Live — but no price every shopper sees",
                "draft_no_price": "Draft — needs a price",
                "draft_ready": "Draft — ready to publish"}


def public_price_exists(product_id):
    """SQL: an active variant of the product has a price in an active list every shopper of
    some channel sees (a base list, or a channel's default list)."""
    return exists(
        select(_price_entries.c.variant_id)
        .join(_price_lists, _price_lists.c.id == _price_entries.c.price_list_id)
        .join(Variant, Variant.id == _price_entries.c.variant_id)
        .where(Variant.product_id == product_id, Variant.active, _price_lists.c.active,
               or_(_price_lists.c.scope == "base",
                   _price_lists.c.id.in_(select(Channel.default_price_list_id)
                                         .where(Channel.default_price_list_id.is_not(None))))))


def has_public_price(session: Session, product_id: int) -> bool:
    return bool(session.scalar(select(public_price_exists(product_id))))


def product_state(session: Session, product: Product) -> str:
    """live, live_no_price, draft_no_price or draft_ready (keys of STATE_LABELS)."""
    priced = has_public_price(session, product.id)
    if product.active:
        return "live" if priced else "live_no_price"
    return "draft_ready" if priced else "draft_no_price"


def publish_product(session: Session, product: Product, *, actor: audit.Actor) -> Product:
    """Put a draft in the shop: refused until a variant has a price every shopper sees."""
    if product.active:
        return product
    if not has_public_price(session, product.id):
        refuse(NEEDS_PRICE, "active")
    product.active = True
    session.flush()
    search.reindex(session, [product.id])
    record_change(session, "product.published", actor, product,
                  {"slug": product.slug, "name": product.name})
    return product


def unpublish_product(session: Session, product: Product, *, actor: audit.Actor) -> Product:
    """Take a product out of the shop (back to a draft); orders keep their lines."""
    if not product.active:
        return product
    product.active = False
    session.flush()
    search.reindex(session, [product.id])
    record_change(session, "product.unpublished", actor, product,
                  {"slug": product.slug, "name": product.name})
    return product


def _variant_values(session: Session, data: VariantData, variant: Variant | None
                    ) -> dict[str, Any]:
    sku = check_sku(data.sku)
    clash = session.scalar(select(Variant.id).where(func.lower(Variant.sku) == sku.lower()))
    if clash is not None and (variant is None or clash != variant.id):
        refuse(f"SKU {sku} is already in use.", "sku")
    return dict(sku=sku,
                name=check_text(data.name, "variant name", "name", max_length=200),
                barcode=check_barcode(data.barcode),
                weight_grams=check_weight(data.weight_grams),
                active=bool(data.active), cost_price=check_cost_price(data.cost_price))


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
    record_change(session, "variant.created", actor, variant,
            {"sku": variant.sku, "product_id": product.id, "attributes": attributes})
    return variant


def update_variant(session: Session, variant: Variant, data: VariantData, *,
                   actor: audit.Actor) -> Variant:
    """Change a variant's SKU, name, barcode, weight, attributes, active flag or cost price."""
    values = _variant_values(session, data, variant)
    attributes = check_attributes(data.attributes)
    changed = apply_changes(variant, values)
    if (new_attributes := set_attributes(variant, attributes)) is not None:
        changed["attributes"] = new_attributes
    if changed:
        session.flush()
        if "sku" in changed:
            search.reindex(session, [variant.product_id])
        record_change(session, "variant.updated", actor, variant,
                {"sku": variant.sku, "changes": changed})
    return variant


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
        refuse(f"No product has the slug or SKU {', '.join(unknown)}.", field_name)
    return list(dict.fromkeys(ids))


def add_assortment_rule(session: Session, channel: Channel, *, mode: str,
                        category_id: int | None = None, product_ref: str | None = None,
                        actor: audit.Actor) -> AssortmentRule:
    """Include or exclude a category (and its subtree) or one product in a channel."""
    if mode not in ("include", "exclude"):
        refuse("Choose include or exclude.", "mode")
    product_ref = (product_ref or "").strip()
    if bool(category_id) == bool(product_ref):
        refuse("Choose a category or name a product, not both.", "category_id")
    product_id = None
    if category_id:
        if session.get(Category, category_id) is None:
            refuse("Choose an existing category.", "category_id")
    else:
        product_id = find_product_ids(session, [product_ref], "product")[0]
    duplicate = session.scalar(select(AssortmentRule.id).where(
        AssortmentRule.channel_id == channel.id, AssortmentRule.mode == mode,
        AssortmentRule.category_id.is_(None) if product_id else
        AssortmentRule.category_id == category_id,
        AssortmentRule.product_id.is_(None) if category_id else
        AssortmentRule.product_id == product_id))
    if duplicate is not None:
        refuse("The channel already has this rule.", "mode")
    rule = AssortmentRule(channel=channel, mode=mode, category_id=category_id or None,
                          product_id=product_id)
    session.add(rule)
    session.flush()
    record_change(session, "assortment_rule.added", actor, rule,
            {"channel": channel.code, "mode": mode, "category_id": rule.category_id,
             "product_id": product_id})
    return rule


def remove_assortment_rule(session: Session, rule: AssortmentRule, *, actor: audit.Actor
                           ) -> None:
    """Drop a rule from its channel's assortment."""
    record_change(session, "assortment_rule.removed", actor, rule,
            {"channel": rule.channel.code, "mode": rule.mode, "category_id": rule.category_id,
             "product_id": rule.product_id})
    rule.channel.assortment.remove(rule)
    session.flush()


# --- read side of the catalogue pages ----------------------------------------------------


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
    found = paginate(session, select(Product.id, Product.name, Product.slug, Product.brand,
                                     Category.name, Product.active)
                     .join(Category, Category.id == Product.category_id)
                     .where(*conditions).order_by(Product.name, Product.id),
                     page=page, per_page=per_page,
                     count=select(func.count()).select_from(Product).where(*conditions))
    skus: dict[int, list[str]] = defaultdict(list)
    if found.items:
        for pid, sku in session.execute(
                select(Variant.product_id, Variant.sku)
                .where(Variant.product_id.in_([r[0] for r in found.items]))
                .order_by(Variant.position, Variant.id)):
            skus[pid].append(sku)
    return found.map(lambda r: ProductRow(*r, skus[r[0]]))


def channels_with_rules(session: Session) -> list[Channel]:
    return list(session.scalars(
        select(Channel).order_by(Channel.code).options(
            selectinload(Channel.assortment).selectinload(AssortmentRule.category),
            selectinload(Channel.assortment).selectinload(AssortmentRule.product))))


def channel_codes(session: Session) -> list[str]:
    return list(session.scalars(select(Channel.code).order_by(Channel.code)))


def categories(session: Session) -> list[Category]:
    """Every category in tree order (by materialised path), for choices."""
    return list(session.scalars(select(Category).order_by(Category.path)))


def category_label(category: Category, by_id: Mapping[int, Category]) -> str:
    names = [by_id[int(i)].name for i in category.path.strip("/").split("/")
             if i and int(i) in by_id]
    return " › ".join(names) or category.name


# --- option axes and the variant grid ----------------------------------------------------


@dataclass(frozen=True)
class Axis:
    """An option of a product (Size) and its values in order (S, M, L)."""
    name: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class GridRow:
    """One combination of the axes' values, and the variant that has it (None: none yet)."""
    attributes: dict[str, str]
    variant: Variant | None


def product_axes(variants: Iterable[Variant]) -> list[Axis]:
    """The axes a product's variants span: attribute names in the order they first appear,
    each with its values in that order (names and values compared ignoring case)."""
    names: dict[str, str] = {}
    values: dict[str, dict[str, str]] = {}
    for variant in variants:
        for name, value in variant.attributes.items():
            key = name.lower()
            names.setdefault(key, name)
            values.setdefault(key, {}).setdefault(value.lower(), value)
    return [Axis(names[k], tuple(values[k].values())) for k in names]


def parse_axis_values(text: str | None) -> list[str]:
    """'S, M,L' or one per line -> ['S', 'M', 'L'] (repeats dropped, ignoring case)."""
    seen: dict[str, str] = {}
    for part in re.split(r"[,\n;]", text or ""):
        if part.strip():
            seen.setdefault(part.strip().lower(), part.strip())
    return list(seen.values())


def check_axes(pairs: Iterable[tuple[str, Iterable[str]]]) -> list[Axis]:
    """Axes from (name, values) pairs; blank pairs are skipped. Field names: axis_<n>_name,
    axis_<n>_values (n from 1)."""
    axes: list[Axis] = []
    seen: set[str] = set()
    for n, (name, values) in enumerate(pairs, 1):
        name, values = (name or "").strip(), [v.strip() for v in values if v.strip()]
        if not name and not values:
            continue
        if not name:
            refuse("Name this option, like Size.", f"axis_{n}_name")
        if not values:
            refuse(f"Give the values of {name}, separated by commas, like S, M, L.",
                   f"axis_{n}_values")
        if len(name) > 60 or any(ch in name for ch in "=;"):
            refuse("An option name has at most 60 characters and no = or ;.", f"axis_{n}_name")
        if name.lower() in seen:
            refuse(f"{name} is given twice.", f"axis_{n}_name")
        if len(values) > MAX_AXIS_VALUES:
            refuse(f"An option has at most {MAX_AXIS_VALUES} values.", f"axis_{n}_values")
        for value in values:
            if len(value) > 120 or any(ch in value for ch in "=;"):
                refuse(f"Value {value[:120]!r}: at most 120 characters and no = or ;.",
                       f"axis_{n}_values")
        seen.add(name.lower())
        axes.append(Axis(name, tuple(values)))
    if not axes:
        refuse("Name at least one option and its values, like Size: S, M, L.", "axis_1_name")
    if len(axes) > MAX_AXES:
        refuse(f"A product has at most {MAX_AXES} options.", "axis_1_name")
    total = 1
    for axis in axes:
        total *= len(axis.values)
    if total > MAX_GRID:
        refuse(f"These options make {total} variants; at most {MAX_GRID} at a time.",
               "axis_1_values")
    return axes


def sku_part(value: str) -> str:
    """A value as a SKU segment: 'Navy blue' -> 'NAVYBLUE', '1 l' -> '1L'."""
    return re.sub(r"[^A-Za-z0-9]+", "", value).upper()[:12] or "X"


def suggest_sku_prefix(product: Product) -> str:
    """The start of the SKUs a grid suggests: the part the variants' SKUs share up to a
    hyphen, else the product's slug in capitals."""
    skus = [v.sku for v in product.variants]
    if len(skus) > 1:
        common = skus[0]
        for sku in skus[1:]:
            while not sku.startswith(common):
                common = common[:-1]
        common = common.rsplit("-", 1)[0] if "-" in common else ""
        if common:
            return common[:40]
    return (product.slug.upper()[:40].strip("-") or "SKU")


def grid_sku(prefix: str, values: Iterable[str]) -> str:
    return "-".join([prefix.strip().rstrip("-")] + [sku_part(v) for v in values])[:64]


def _matches(variant: Variant, combination: Mapping[str, str]) -> bool:
    own = {k.lower(): v.lower() for k, v in variant.attributes.items()}
    return all(own.get(k.lower()) == v.lower() for k, v in combination.items())


def variant_grid(variants: list[Variant], axes: list[Axis]) -> tuple[list[GridRow],
                                                                      list[Variant]]:
    """One row per combination of the axes' values with its variant (matched by attributes,
    ignoring case), and the variants that match no combination."""
    rows, used = [], set()
    for values in itertools.product(*(a.values for a in axes)):
        combination = dict(zip((a.name for a in axes), values))
        variant = next((v for v in variants if v.id not in used and _matches(v, combination)),
                       None)
        if variant is not None:
            used.add(variant.id)
        rows.append(GridRow(combination, variant))
    return rows, [v for v in variants if v.id not in used]


def generate_variants(session: Session, product: Product, axes: list[Axis], *,
                      sku_prefix: str, actor: audit.Actor) -> tuple[list[Variant], int]:
    """Add a variant for every combination of the axes' values that no variant of the
    product has yet (matched by attributes, so running it again adds nothing). SKUs are
    sku_prefix-VALUE-VALUE, names the values. Returns (the new variants, how many
    combinations existed already). Checks every SKU before it adds any."""
    prefix = check_sku(sku_prefix, "sku_prefix")
    rows, _ = variant_grid(list(product.variants), axes)
    missing = [row.attributes for row in rows if row.variant is None]
    skus = [grid_sku(prefix, combination.values()) for combination in missing]
    if len(set(s.lower() for s in skus)) != len(skus):
        refuse("Two values make the same SKU; make the values differ in letters or digits.",
               "sku_prefix")
    if skus:
        taken = session.scalars(select(Variant.sku).where(
            func.lower(Variant.sku).in_([s.lower() for s in skus]))).all()
        if taken:
            refuse(f"SKU {taken[0]} is already in use; choose another start for the SKUs.",
                   "sku_prefix")
    created = []
    for combination, sku in zip(missing, skus):
        created.append(add_variant(session, product, VariantData(
            sku=check_sku(sku, "sku_prefix"), name=" / ".join(combination.values()),
            attributes=dict(combination)), actor=actor))
    return created, len(rows) - len(missing)
