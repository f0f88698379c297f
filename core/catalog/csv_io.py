"""CSV export and import of products (with variants and base prices) and of price lists.

Import is all or nothing: every row is checked first, problems are collected as
"line N: message" (N as a spreadsheet shows it: the header is line 1), and when there is
any, nothing is written. Otherwise the rows are upserted by SKU in the caller's
transaction (flushed, never committed).

Products file, one row per variant (a product with no variant has a row with no SKU):

    product_slug, product_name, category, brand, description, tax_category, product_active,
    sku, variant_name, barcode, weight_grams, attributes, variant_active, base_price

`category` is a category slug, `tax_category` a tax category code, `attributes` is
"Colour=Black; Size=A4", flags are yes/no, `base_price` is the one-unit price in the base
price list chosen for the file (empty: leave prices alone). Only product_slug,
product_name, category and tax_category must be columns; a missing optional column leaves
that field as it is (new rows get the default).

Prices file, one row per quantity break:

    price_list, sku, min_quantity, unit_price      (product_name is exported and ignored)

Cells that a spreadsheet would run as a formula (starting with = + - @) are written with a
leading apostrophe, which the import takes off again.
"""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from core import audit, spreadsheet
from core.catalog import search
from core.catalog.products import (CHANNEL, CatalogInputError, check_amount, check_barcode,
                                check_min_quantity, check_sku, check_slug, check_text,
                                check_weight, format_attributes, parse_attributes,
                                parse_decimal, set_attributes)
from core.catalog.models import Category, Product, Variant
from core.errors import DomainError
from core.money import MINOR_UNITS
from core.pricing.models import PriceList, PriceListEntry, TaxCategory

PRODUCT_COLUMNS = ("product_slug", "product_name", "category", "brand", "description",
                   "tax_category", "product_active", "sku", "variant_name", "barcode",
                   "weight_grams", "attributes", "variant_active", "base_price")
PRODUCT_REQUIRED = ("product_slug", "product_name", "category", "tax_category")
PRICE_COLUMNS = ("price_list", "sku", "product_name", "min_quantity", "unit_price")
PRICE_REQUIRED = ("price_list", "sku", "min_quantity", "unit_price")
MAX_ROWS = 50_000
MAX_REPORTED = 200
CHUNK = 500
FORMULA_START = spreadsheet.FORMULA_START
TRUE_WORDS = {"yes", "y", "true", "1", "active"}
FALSE_WORDS = {"no", "n", "false", "0", "inactive"}


class ImportRejected(DomainError):
    """The file has problems; `errors` lists them as "line N: message". Nothing was written."""

    code = "import_rejected"

    def __init__(self, errors: list[str]):
        shown = errors[:MAX_REPORTED]
        if len(errors) > MAX_REPORTED:
            shown.append(f"… and {len(errors) - MAX_REPORTED} more problems.")
        super().__init__(f"Nothing was imported: the file has {len(errors)} "
                         f"problem{'s' if len(errors) != 1 else ''}. Correct "
                         f"{'them' if len(errors) != 1 else 'it'} and upload the file again.",
                         field="file")
        self.errors = shown


@dataclass
class ImportReport:
    """What an import did, by kind of record."""

    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    rows: int = 0

    def summary(self) -> str:
        parts = [f"{name.replace('_', ' ')}: {n}" for name, n in self.counts.items() if n]
        return (f"Imported {self.rows} row{'s' if self.rows != 1 else ''}: "
                + (", ".join(parts) if parts else "nothing changed") + ".")


# --- reading and writing CSV ------------------------------------------------------------------


_safe = spreadsheet.defuse
_unsafe = spreadsheet.restore


def _write(header: Sequence[str], rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_safe(v) for v in row])
    return "\ufeff" + out.getvalue()  # a BOM, so spreadsheet programs read UTF-8


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise ImportRejected([f"line {line}: the file is not UTF-8 text. Save it as "
                              "“CSV UTF-8” and upload it again."]) from None


def read_rows(data: bytes | str, columns: Sequence[str], required: Sequence[str]
              ) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, {column: stripped value}) for each non-empty row after the header.

    The delimiter is a comma, or a semicolon or tab when the header uses one instead.
    """
    text = _decode(data)
    first = text.split("\n", 1)[0]
    delimiter = next((d for d in (",", ";", "\t") if d in first), ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [h.strip().lstrip("\ufeff").lower() for h in next(reader)]
    except StopIteration:
        raise ImportRejected(["line 1: the file is empty; it needs a header row."]) from None
    except csv.Error as err:
        raise ImportRejected([f"line 1: {err}"]) from None
    problems = []
    if missing := [c for c in required if c not in header]:
        problems.append(f"line 1: the header lacks the column{'s' if len(missing) > 1 else ''} "
                        f"{', '.join(missing)}.")
    if unknown := [h for h in header if h not in columns]:
        problems.append(f"line 1: unknown column{'s' if len(unknown) > 1 else ''} "
                        f"{', '.join(repr(u) for u in unknown)}; the columns are "
                        f"{', '.join(columns)}.")
    if dupes := sorted({h for h in header if header.count(h) > 1}):
        problems.append(f"line 1: the column {', '.join(dupes)} appears twice.")
    if problems:
        raise ImportRejected(problems)
    count = 0
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise ImportRejected([f"line {line}: {err}"]) from None
        if not any(c.strip() for c in cells):
            continue
        count += 1
        if count > MAX_ROWS:
            raise ImportRejected([f"line {line}: a file holds at most {MAX_ROWS} rows; "
                                  "split it."])
        if len(cells) != len(header):
            yield line, {"__error__": f"has {len(cells)} values but the header has "
                                      f"{len(header)} columns."}
            continue
        yield line, {h: _unsafe(c.strip()) for h, c in zip(header, cells)}


def _flag(raw: str, label: str) -> bool:
    word = raw.strip().lower()
    if word in TRUE_WORDS or word == "":
        return True
    if word in FALSE_WORDS:
        return False
    raise CatalogInputError(f"{label} is yes or no, not {raw!r}.")


def _int(raw: str, label: str) -> int:
    try:
        return int(raw.strip() or "0")
    except ValueError:
        raise CatalogInputError(f"{label} is a whole number, not {raw!r}.") from None


def _chunks(items: Sequence, size: int = CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _record(session: Session, action: str, actor: audit.Actor, subject, data: dict) -> None:
    audit.record(session, action, actor=actor, channel=CHANNEL, subject=subject, data=data)


# --- products ------------------------------------------------------------------------------------


def base_price_lists(session: Session) -> list[PriceList]:
    """Lists a products file can carry prices for: base scope, active first."""
    return list(session.scalars(select(PriceList).where(PriceList.scope == "base")
                                .order_by(PriceList.active.desc(), PriceList.id)))


def export_products(session: Session, price_list: PriceList | None) -> str:
    """Every product and variant as CSV, with one-unit prices from `price_list` (a base list)."""
    products = session.scalars(
        select(Product).order_by(Product.slug)
        .options(selectinload(Product.variants).selectinload(Variant.attribute_values),
                 selectinload(Product.category))).all()
    taxes = dict(session.execute(select(TaxCategory.id, TaxCategory.code)).all())
    prices: dict[int, Decimal] = {}
    if price_list is not None:
        prices = dict(session.execute(
            select(PriceListEntry.variant_id, PriceListEntry.unit_price)
            .where(PriceListEntry.price_list_id == price_list.id,
                   PriceListEntry.min_quantity == 1)).all())

    def yes(flag: bool) -> str:
        return "yes" if flag else "no"

    def rows():
        for p in products:
            head = [p.slug, p.name, p.category.slug, p.brand, p.description,
                    taxes.get(p.tax_category_id, ""), yes(p.active)]
            if not p.variants:
                yield head + [""] * 7
            for v in sorted(p.variants, key=lambda v: (v.position, v.id)):
                price = prices.get(v.id)
                yield head + [v.sku, v.name, v.barcode, v.weight_grams,
                              format_attributes(v.attributes), yes(v.active),
                              "" if price is None else _plain_amount(price, price_list)]

    return _write(PRODUCT_COLUMNS, rows())


def _plain_amount(amount: Decimal, price_list: PriceList) -> str:
    return str(amount.quantize(Decimal(1).scaleb(-MINOR_UNITS.get(price_list.currency, 2))))


@dataclass
class _ProductRow:
    line: int
    slug: str
    product: dict[str, Any]  # only the columns the file has
    sku: str | None
    variant: dict[str, Any]
    base_price: Decimal | None


def _parse_product_row(line: int, raw: dict[str, str], categories: dict[str, int],
                       taxes: dict[str, int], currency: str | None) -> _ProductRow:
    slug = check_slug(raw["product_slug"], "product_slug")
    if not slug:
        raise CatalogInputError("product_slug is empty; every row names its product.")
    product: dict[str, Any] = {
        "name": check_text(raw["product_name"], "product name", "product_name",
                           max_length=200, required=True)}
    category = raw["category"].strip().lower()
    if category not in categories:
        raise CatalogInputError(f"there is no category with the slug {category!r}."
                                if category else "category is empty.")
    product["category_id"] = categories[category]
    tax = raw["tax_category"].strip().lower()
    if tax not in taxes:
        raise CatalogInputError(f"tax_category is one of {', '.join(sorted(taxes))}, "
                                f"not {raw['tax_category']!r}.")
    product["tax_category_id"] = taxes[tax]
    if "brand" in raw:
        product["brand"] = check_text(raw["brand"], "brand", "brand", max_length=100)
    if "description" in raw:
        product["description"] = check_text(raw["description"], "description",
                                            "description", max_length=20_000)
    if "product_active" in raw:
        product["active"] = _flag(raw["product_active"], "product_active")
    variant_columns = [c for c in ("variant_name", "barcode", "weight_grams", "attributes",
                                   "base_price") if raw.get(c)]
    if not raw.get("sku"):
        if variant_columns:
            raise CatalogInputError(f"{variant_columns[0]} is given but sku is empty.")
        return _ProductRow(line, slug, product, None, {}, None)
    variant: dict[str, Any] = {"sku": check_sku(raw["sku"])}
    if "variant_name" in raw:
        variant["name"] = check_text(raw["variant_name"], "variant name", "variant_name",
                                     max_length=200)
    if "barcode" in raw:
        variant["barcode"] = check_barcode(raw["barcode"])
    if "weight_grams" in raw:
        variant["weight_grams"] = check_weight(_int(raw["weight_grams"], "weight_grams"))
    if "attributes" in raw:
        variant["attributes"] = parse_attributes(raw["attributes"])
    if "variant_active" in raw:
        variant["active"] = _flag(raw["variant_active"], "variant_active")
    base_price = None
    if raw.get("base_price"):
        if currency is None:
            raise CatalogInputError("base_price is given but no base price list was chosen.")
        amount = parse_decimal(raw["base_price"])
        if amount is None:
            raise CatalogInputError(f"base_price is a number like 12.50, not "
                                    f"{raw['base_price']!r}.")
        base_price = check_amount(amount, currency, "base_price", label="base price")
    return _ProductRow(line, slug, product, variant["sku"], variant, base_price)


def _load_variants(session: Session, skus: list[str]) -> dict[str, Variant]:
    """Existing variants whose SKU equals one of `skus` ignoring case, by lower-case SKU."""
    found: dict[str, Variant] = {}
    lowered = sorted({s.lower() for s in skus})
    for chunk in _chunks(lowered):
        for v in session.scalars(select(Variant).where(func.lower(Variant.sku).in_(chunk))
                                 .options(selectinload(Variant.attribute_values),
                                          selectinload(Variant.product))):
            found[v.sku.lower()] = v
    return found


def _load_products(session: Session, slugs: list[str]) -> dict[str, Product]:
    found: dict[str, Product] = {}
    for chunk in _chunks(sorted(set(slugs))):
        for p in session.scalars(select(Product).where(Product.slug.in_(chunk))):
            found[p.slug] = p
    return found


def _check_products(session: Session, data: bytes | str, price_list: PriceList | None
                    ) -> tuple[list[_ProductRow], dict[str, Product], dict[str, Variant]]:
    """Parse and check every row; raise ImportRejected with every problem found."""
    categories = dict(session.execute(select(Category.slug, Category.id)).all())
    taxes = dict(session.execute(select(TaxCategory.code, TaxCategory.id)).all())
    currency = price_list.currency if price_list is not None else None
    errors: list[str] = []
    rows: list[_ProductRow] = []
    for line, raw in read_rows(data, PRODUCT_COLUMNS, PRODUCT_REQUIRED):
        if "__error__" in raw:
            errors.append(f"line {line}: {raw['__error__']}")
            continue
        try:
            rows.append(_parse_product_row(line, raw, categories, taxes, currency))
        except CatalogInputError as err:
            errors.append(f"line {line}: {err}")
    products = _load_products(session, [r.slug for r in rows])
    variants = _load_variants(session, [r.sku for r in rows if r.sku])
    first_of_product: dict[str, _ProductRow] = {}
    first_of_sku: dict[str, int] = {}
    for row in rows:
        problem = None
        first = first_of_product.setdefault(row.slug, row)
        if first is not row and first.product != row.product:
            problem = (f"product {row.slug} has other product details than on line "
                       f"{first.line}; rows of one product must agree.")
        elif row.sku:
            key = row.sku.lower()
            existing = variants.get(key)
            if key in first_of_sku:
                problem = f"SKU {row.sku} is also on line {first_of_sku[key]}."
            elif existing is not None and existing.sku != row.sku:
                problem = f"SKU {row.sku} differs only in case from the existing {existing.sku}."
            elif existing is not None and existing.product.slug != row.slug:
                problem = (f"SKU {row.sku} belongs to product {existing.product.slug}; "
                           "a SKU cannot move to another product.")
            first_of_sku.setdefault(key, row.line)
        if problem:
            errors.append(f"line {row.line}: {problem}")
    if errors:
        errors.sort(key=lambda e: int(e.split(":")[0].split()[1]))
        raise ImportRejected(errors)
    return rows, products, variants


def import_products(session: Session, data: bytes | str, *, price_list: PriceList | None,
                    actor: audit.Actor, filename: str = "") -> ImportReport:
    """Upsert products and variants by slug and SKU, and one-unit prices in `price_list`."""
    if price_list is not None and price_list.scope != "base":
        raise CatalogInputError("Base prices go into a price list of scope base.",
                                field="price_list")
    rows, products, variants = _check_products(session, data, price_list)
    existing_prices = _existing_entries(session, [v.id for v in variants.values()],
                                        price_list) if price_list is not None else {}
    report = ImportReport(rows=len(rows))
    created_skus, updated_skus = [], []
    done: dict[str, Product] = {}
    touched: list[Product] = []  # to reindex for search
    with session.no_autoflush:  # one flush at the end, not one per lazy load
        for row in rows:
            product = done.get(row.slug)
            if product is None:
                product, state = _upsert_product(row, products.get(row.slug))
                session.add(product)
                report.counts[f"products_{state}"] += 1
                done[row.slug] = product
                if state != "unchanged":
                    touched.append(product)
            if row.sku is None:
                continue
            variant, state = _upsert_variant(session, product, row,
                                             variants.get(row.sku.lower()))
            report.counts[f"variants_{state}"] += 1
            if state != "unchanged":
                touched.append(product)
                (created_skus if state == "created" else updated_skus).append(row.sku)
            if row.base_price is not None:
                state = _upsert_price(session, price_list, variant, 1, row.base_price,
                                      existing_prices)
                report.counts[f"prices_{state}"] += 1
    session.flush()
    search.reindex(session, {p.id for p in touched})
    _record(session, "catalog.products_imported", actor, None,
            {"file": filename, "counts": dict(report.counts), "rows": report.rows,
             "price_list": price_list.code if price_list else None,
             "created_skus": created_skus, "updated_skus": updated_skus})
    session.flush()
    return report


def _upsert_product(row: _ProductRow, product: Product | None) -> tuple[Product, str]:
    """The row's product, made or brought up to date, and what happened to it."""
    if product is None:
        return Product(slug=row.slug, **{"brand": "", "description": "", "active": True,
                                         **row.product}), "created"
    changed = False
    for name, value in row.product.items():
        if getattr(product, name) != value:
            setattr(product, name, value)
            changed = True
    return product, "updated" if changed else "unchanged"


def _upsert_variant(session: Session, product: Product, row: _ProductRow,
                    variant: Variant | None) -> tuple[Variant, str]:
    values = {k: v for k, v in row.variant.items() if k != "attributes"}
    attributes = row.variant.get("attributes")
    if variant is None:
        position = len(product.variants)
        variant = Variant(product=product, position=position,
                          **{"name": "", "barcode": "", "weight_grams": 0, "active": True,
                             **values})
        variant.attribute_values = []
        session.add(variant)
        if attributes:
            set_attributes(variant, attributes)
        return variant, "created"
    changed = False
    for name, value in values.items():
        if getattr(variant, name) != value:
            setattr(variant, name, value)
            changed = True
    if attributes is not None and set_attributes(variant, attributes) is not None:
        changed = True
    return variant, "updated" if changed else "unchanged"


def _existing_entries(session: Session, variant_ids: list[int],
                      price_list: PriceList | None = None) -> dict[tuple[int, int, int],
                                                                   PriceListEntry]:
    """Price entries of these variants (in one list, or all), by (list, variant, break)."""
    found = {}
    for chunk in _chunks(sorted(variant_ids)):
        stmt = select(PriceListEntry).where(PriceListEntry.variant_id.in_(chunk))
        if price_list is not None:
            stmt = stmt.where(PriceListEntry.price_list_id == price_list.id)
        for entry in session.scalars(stmt):
            found[(entry.price_list_id, entry.variant_id, entry.min_quantity)] = entry
    return found


def _upsert_price(session: Session, price_list: PriceList, variant: Variant, min_quantity: int,
                  unit_price: Decimal, existing: dict) -> str:
    """Add or change one quantity break; `existing` holds the entries loaded beforehand."""
    entry = existing.get((price_list.id, variant.id, min_quantity)) if variant.id else None
    if entry is None:
        session.add(PriceListEntry(price_list=price_list, variant=variant,
                                   min_quantity=min_quantity, unit_price=unit_price))
        return "created"
    if entry.unit_price == unit_price:
        return "unchanged"
    entry.unit_price = unit_price
    return "updated"


# --- prices ------------------------------------------------------------------------------------


def export_price_list(session: Session, price_list: PriceList) -> str:
    """A price list's entries as CSV, by SKU and quantity break."""
    rows = session.execute(
        select(Variant.sku, Product.name, PriceListEntry.min_quantity, PriceListEntry.unit_price)
        .join(Variant, Variant.id == PriceListEntry.variant_id)
        .join(Product, Product.id == Variant.product_id)
        .where(PriceListEntry.price_list_id == price_list.id)
        .order_by(Variant.sku, PriceListEntry.min_quantity)).all()
    return _write(PRICE_COLUMNS, ([price_list.code, sku, name, qty,
                                   _plain_amount(price, price_list)]
                                  for sku, name, qty, price in rows))


@dataclass
class _PriceRow:
    line: int
    price_list: PriceList
    sku: str
    min_quantity: int
    unit_price: Decimal


def import_prices(session: Session, data: bytes | str, *, actor: audit.Actor,
                  filename: str = "") -> ImportReport:
    """Upsert quantity breaks by (price list, SKU, minimum quantity)."""
    lists = {pl.code: pl for pl in session.scalars(select(PriceList))}
    errors: list[str] = []
    parsed: list[tuple[int, dict[str, str]]] = []
    for line, raw in read_rows(data, PRICE_COLUMNS, PRICE_REQUIRED):
        if "__error__" in raw:
            errors.append(f"line {line}: {raw['__error__']}")
        else:
            parsed.append((line, raw))
    variants = {v.sku: v for chunk in _chunks(sorted({r["sku"] for _, r in parsed}))
                for v in session.scalars(select(Variant).where(Variant.sku.in_(chunk)))}
    rows: list[_PriceRow] = []
    seen: dict[tuple[str, str, int], int] = {}
    for line, raw in parsed:
        try:
            price_list = lists.get(raw["price_list"].strip().lower())
            if price_list is None:
                raise CatalogInputError(f"there is no price list {raw['price_list']!r}.")
            sku = check_sku(raw["sku"])
            if sku not in variants:
                raise CatalogInputError(f"there is no variant with SKU {sku}.")
            if not raw["min_quantity"]:
                raise CatalogInputError("min_quantity is empty; the first break is 1.")
            min_quantity = check_min_quantity(_int(raw["min_quantity"], "min_quantity"))
            amount = parse_decimal(raw["unit_price"])
            if amount is None:
                raise CatalogInputError(f"unit_price is a number like 12.50, not "
                                        f"{raw['unit_price']!r}.")
            unit_price = check_amount(amount, price_list.currency, "unit_price",
                                      label="unit price")
            key = (price_list.code, sku, min_quantity)
            if key in seen:
                raise CatalogInputError(f"{sku} from {min_quantity} in {price_list.code} is "
                                        f"also on line {seen[key]}.")
            seen[key] = line
            rows.append(_PriceRow(line, price_list, sku, min_quantity, unit_price))
        except CatalogInputError as err:
            errors.append(f"line {line}: {err}")
    if errors:
        errors.sort(key=lambda e: int(e.split(":")[0].split()[1]))
        raise ImportRejected(errors)
    existing = _existing_entries(session, list({variants[r.sku].id for r in rows}))
    report = ImportReport(rows=len(rows))
    for row in rows:
        state = _upsert_price(session, row.price_list, variants[row.sku], row.min_quantity,
                              row.unit_price, existing)
        report.counts[f"prices_{state}"] += 1
    _record(session, "catalog.prices_imported", actor, None,
            {"file": filename, "counts": dict(report.counts), "rows": report.rows,
             "price_lists": sorted({r.price_list.code for r in rows})})
    session.flush()
    return report
