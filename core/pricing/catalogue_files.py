"""CSV export and import of the catalogue with its prices: the products file (products and
variants, their tax category and one-unit price in a base price list) and the price-list
file, one row per quantity break:

    price_list, sku, min_quantity, unit_price      (product_name is exported and ignored)

Import is all or nothing: every row is checked first, problems are collected as
"line N: message", and when there is any, nothing is written. Otherwise the rows are
upserted by SKU in the caller's transaction (flushed, never committed). The products file's
columns and their checks are core.catalog.csv_io's.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core import audit
from core.catalog import search
from core.catalog.csv_io import (PRODUCT_COLUMNS, ImportRejected, ImportReport, chunks,
                                 check_products, read_rows, upsert_product, upsert_variant,
                                 whole_number, write_csv)
from core.catalog.models import Product, Variant
from core.catalog.products import (CatalogInputError, check_amount, check_min_quantity, check_sku,
                                   format_attributes, parse_decimal, record_change)
from core.money import MINOR_UNITS
from core.pricing.models import PriceList, PriceListEntry, TaxCategory

__all__ = ["ImportRejected", "ImportReport", "base_price_lists", "export_price_list",
           "export_products", "import_prices", "import_products"]

PRICE_COLUMNS = ("price_list", "sku", "product_name", "min_quantity", "unit_price")
PRICE_REQUIRED = ("price_list", "sku", "min_quantity", "unit_price")


def base_price_lists(session: Session) -> list[PriceList]:
    """Lists a products file can carry prices for: base scope, active first."""
    return list(session.scalars(select(PriceList).where(PriceList.scope == "base")
                                .order_by(PriceList.active.desc(), PriceList.id)))


def export_products(session: Session, price_list: PriceList | None,
                    extra_columns: Sequence[str] = (),
                    extra: Callable[[Variant], list] | None = None) -> str:
    """Every product and variant as CSV, with one-unit prices from `price_list` (a base list).

    `extra_columns` are appended, filled per variant by `extra` (stock per warehouse, by
    core.workflows.catalogue_import, which may read the inventory this layer may not)."""
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
                yield head + [""] * (8 + len(extra_columns))
            for v in sorted(p.variants, key=lambda v: (v.position, v.id)):
                price = prices.get(v.id)
                yield head + [v.sku, v.name, v.barcode, v.weight_grams,
                              format_attributes(v.attributes), yes(v.active),
                              "" if price is None else _plain_amount(price, price_list),
                              "" if v.cost_price is None else _plain(v.cost_price)] + (
                    extra(v) if extra is not None else [])

    return write_csv(tuple(PRODUCT_COLUMNS) + tuple(extra_columns), rows())


def _plain(cost: Decimal) -> str:
    """A cost price as typed: 12.50, or all four places when it has them (12.3456)."""
    cents = cost.quantize(Decimal("0.01"))
    return str(cents) if cents == cost else format(cost.normalize(), "f")


def _plain_amount(amount: Decimal, price_list: PriceList) -> str:
    return str(amount.quantize(Decimal(1).scaleb(-MINOR_UNITS.get(price_list.currency, 2))))


def import_products(session: Session, data: bytes | str, *, price_list: PriceList | None,
                    actor: audit.Actor, filename: str = "") -> ImportReport:
    """Upsert products and variants by slug and SKU, and one-unit prices in `price_list`."""
    if price_list is not None and price_list.scope != "base":
        raise CatalogInputError("Base prices go into a price list of scope base.",
                                field="price_list")
    taxes = dict(session.execute(select(TaxCategory.code, TaxCategory.id)).all())
    rows, products, variants = check_products(
        session, data, taxes=taxes,
        currency=price_list.currency if price_list is not None else None)
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
                product, state = upsert_product(row, products.get(row.slug))
                session.add(product)
                report.counts[f"products_{state}"] += 1
                done[row.slug] = product
                if state != "unchanged":
                    touched.append(product)
            if row.sku is None:
                continue
            variant, state = upsert_variant(session, product, row,
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
    record_change(session, "catalog.products_imported", actor, None,
            {"file": filename, "counts": dict(report.counts), "rows": report.rows,
             "price_list": price_list.code if price_list else None,
             "created_skus": created_skus, "updated_skus": updated_skus})
    session.flush()
    return report


def _existing_entries(session: Session, variant_ids: list[int],
                      price_list: PriceList | None = None) -> dict[tuple[int, int, int],
                                                                   PriceListEntry]:
    """Price entries of these variants (in one list, or all), by (list, variant, break)."""
    found = {}
    for chunk in chunks(sorted(variant_ids)):
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


def export_price_list(session: Session, price_list: PriceList) -> str:
    """A price list's entries as CSV, by SKU and quantity break."""
    rows = session.execute(
        select(Variant.sku, Product.name, PriceListEntry.min_quantity, PriceListEntry.unit_price)
        .join(Variant, Variant.id == PriceListEntry.variant_id)
        .join(Product, Product.id == Variant.product_id)
        .where(PriceListEntry.price_list_id == price_list.id)
        .order_by(Variant.sku, PriceListEntry.min_quantity)).all()
    return write_csv(PRICE_COLUMNS, ([price_list.code, sku, name, qty,
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
    variants = {v.sku: v for chunk in chunks(sorted({r["sku"] for _, r in parsed}))
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
            min_quantity = check_min_quantity(whole_number(raw["min_quantity"], "min_quantity"))
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
    record_change(session, "catalog.prices_imported", actor, None,
            {"file": filename, "counts": dict(report.counts), "rows": report.rows,
             "price_lists": sorted({r.price_list.code for r in rows})})
    session.flush()
    return report
