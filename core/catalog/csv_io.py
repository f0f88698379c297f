"""Reading CSV files for import, and the catalogue's part of the products file: every row
checked (problems collected as "line N: message", N as a spreadsheet shows it: the header is
line 1), and products and variants brought up to date by slug and SKU. The files as a
whole, with tax categories and prices, are core.pricing.catalogue_files: pricing sits above
the catalogue.

Products file, one row per variant (a product with no variant has a row with no SKU):

    product_slug, product_name, category, brand, description, tax_category, product_active,
    sku, variant_name, barcode, weight_grams, attributes, variant_active, base_price,
    cost_price

`category` is a category slug, `tax_category` a tax category code, `attributes` is
"Colour=Black; Size=A4", flags are yes/no, `base_price` is the one-unit price in the base
price list chosen for the file (empty: leave prices alone), `cost_price` the variant's
standard cost per unit in EUR, net (empty: leave it alone; files from before it was a
column import as they did). Only product_slug,
product_name, category and tax_category must be columns; a missing optional column leaves
that field as it is (new rows get the default).

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

from core import spreadsheet
from core.catalog.models import Category, Product, Variant
from core.catalog.products import (CatalogInputError, check_amount, check_barcode,
                                   check_cost_price, check_sku, check_slug, check_text,
                                   check_weight, parse_attributes, parse_decimal,
                                   set_attributes)
from core.errors import DomainError

PRODUCT_COLUMNS = ("product_slug", "product_name", "category", "brand", "description",
                   "tax_category", "product_active", "sku", "variant_name", "barcode",
                   "weight_grams", "attributes", "variant_active", "base_price", "cost_price")
PRODUCT_REQUIRED = ("product_slug", "product_name", "category", "tax_category")
# Stock per warehouse, "stock:MAIN": read and posted by core.workflows.catalogue_import.
STOCK_PREFIX = "stock:"
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


def write_csv(header: Sequence[str], rows) -> str:
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


def read_rows(data: bytes | str, columns: Sequence[str], required: Sequence[str],
              prefixes: Sequence[str] = ()) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, {column: stripped value}) for each non-empty row after the header.

    The delimiter is a comma, or a semicolon or tab when the header uses one instead.
    Columns starting with one of `prefixes` ("stock:") are let through as well.
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
    if unknown := [h for h in header if h not in columns
                   and not any(h.startswith(p) and len(h) > len(p) for p in prefixes)]:
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


def whole_number(raw: str, label: str) -> int:
    try:
        return int(raw.strip() or "0")
    except ValueError:
        raise CatalogInputError(f"{label} is a whole number, not {raw!r}.") from None


def chunks(items: Sequence, size: int = CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --- products ------------------------------------------------------------------------------------


@dataclass
class ProductRow:
    line: int
    slug: str
    product: dict[str, Any]  # only the columns the file has
    sku: str | None
    variant: dict[str, Any]
    base_price: Decimal | None


def _parse_product_row(line: int, raw: dict[str, str], categories: dict[str, int],
                       taxes: dict[str, int], currency: str | None) -> ProductRow:
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
                                   "base_price", "cost_price") if raw.get(c)]
    if not raw.get("sku"):
        if variant_columns:
            raise CatalogInputError(f"{variant_columns[0]} is given but sku is empty.")
        return ProductRow(line, slug, product, None, {}, None)
    variant: dict[str, Any] = {"sku": check_sku(raw["sku"])}
    if "variant_name" in raw:
        variant["name"] = check_text(raw["variant_name"], "variant name", "variant_name",
                                     max_length=200)
    if "barcode" in raw:
        variant["barcode"] = check_barcode(raw["barcode"])
    if "weight_grams" in raw:
        variant["weight_grams"] = check_weight(whole_number(raw["weight_grams"], "weight_grams"))
    if "attributes" in raw:
        variant["attributes"] = parse_attributes(raw["attributes"])
    if "variant_active" in raw:
        variant["active"] = _flag(raw["variant_active"], "variant_active")
    if raw.get("cost_price"):
        cost = parse_decimal(raw["cost_price"])
        if cost is None:
            raise CatalogInputError(f"cost_price is a number like 12.50, not "
                                    f"{raw['cost_price']!r}.")
        variant["cost_price"] = check_cost_price(cost)
    base_price = None
    if raw.get("base_price"):
        if currency is None:
            raise CatalogInputError("base_price is given but no base price list was chosen.")
        amount = parse_decimal(raw["base_price"])
        if amount is None:
            raise CatalogInputError(f"base_price is a number like 12.50, not "
                                    f"{raw['base_price']!r}.")
        base_price = check_amount(amount, currency, "base_price", label="base price")
    return ProductRow(line, slug, product, variant["sku"], variant, base_price)


def _load_variants(session: Session, skus: list[str]) -> dict[str, Variant]:
    """Existing variants whose SKU equals one of `skus` ignoring case, by lower-case SKU."""
    found: dict[str, Variant] = {}
    lowered = sorted({s.lower() for s in skus})
    for chunk in chunks(lowered):
        for v in session.scalars(select(Variant).where(func.lower(Variant.sku).in_(chunk))
                                 .options(selectinload(Variant.attribute_values),
                                          selectinload(Variant.product))):
            found[v.sku.lower()] = v
    return found


def _load_products(session: Session, slugs: list[str]) -> dict[str, Product]:
    found: dict[str, Product] = {}
    for chunk in chunks(sorted(set(slugs))):
        for p in session.scalars(select(Product).where(Product.slug.in_(chunk))):
            found[p.slug] = p
    return found


def check_products(session: Session, data: bytes | str, *, taxes: dict[str, int],
                   currency: str | None
                   ) -> tuple[list[ProductRow], dict[str, Product], dict[str, Variant]]:
    """Parse and check every row, given the tax categories by code and the currency of the
    base prices (None: the file carries none); raise ImportRejected with every problem."""
    categories = dict(session.execute(select(Category.slug, Category.id)).all())
    errors: list[str] = []
    rows: list[ProductRow] = []
    for line, raw in read_rows(data, PRODUCT_COLUMNS, PRODUCT_REQUIRED, (STOCK_PREFIX,)):
        if "__error__" in raw:
            errors.append(f"line {line}: {raw['__error__']}")
            continue
        try:
            rows.append(_parse_product_row(line, raw, categories, taxes, currency))
        except CatalogInputError as err:
            errors.append(f"line {line}: {err}")
    products = _load_products(session, [r.slug for r in rows])
    variants = _load_variants(session, [r.sku for r in rows if r.sku])
    first_of_product: dict[str, ProductRow] = {}
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


def upsert_product(row: ProductRow, product: Product | None) -> tuple[Product, str]:
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


def upsert_variant(session: Session, product: Product, row: ProductRow,
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


# --- prices ------------------------------------------------------------------------------------


