"""The products file with stock per warehouse: columns `stock:MAIN`, `stock:HAM` hold the
units on hand of each row's SKU in that warehouse. Import checks them with the rest of the
file (all or nothing), upserts the products (core.pricing.catalogue_files), then posts each
difference from what the books say as a count movement with reference "import" through
core.inventory.services, so the stock journal stays the only door to stock. An empty cell
leaves that warehouse alone; export writes the on-hand units of every active warehouse."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.catalog.csv_io import (PRODUCT_COLUMNS, PRODUCT_REQUIRED, STOCK_PREFIX,
                                 ImportRejected, ImportReport, read_rows)
from core.catalog.models import Variant
from core.inventory import services as stock
from core.inventory.models import StockLevel, Warehouse
from core.pricing import catalogue_files
from core.pricing.models import PriceList

REFERENCE = "import"


def _stock_cells(session: Session, data: bytes | str) -> dict[str, dict[str, int]]:
    """{sku: {warehouse code: units}} from the stock columns; ImportRejected with every
    problem (unknown warehouse, a count that is no whole number from 0)."""
    known = set(session.scalars(select(Warehouse.code)))
    errors: list[str] = []
    cells: dict[str, dict[str, int]] = {}
    unknown_reported = False
    for line, raw in read_rows(data, PRODUCT_COLUMNS, PRODUCT_REQUIRED, (STOCK_PREFIX,)):
        columns = {k: v for k, v in raw.items() if k.startswith(STOCK_PREFIX)}
        if not columns:
            continue  # no stock columns in this file
        unknown = sorted(k[len(STOCK_PREFIX):].upper() for k in columns
                         if k[len(STOCK_PREFIX):].upper() not in known)
        if unknown and not unknown_reported:
            errors.append(f"line 1: there is no warehouse {', '.join(unknown)}; the "
                          f"warehouses are {', '.join(sorted(known))}.")
            unknown_reported = True
        sku = (raw.get("sku") or "").strip()
        for key, value in columns.items():
            if not value:
                continue
            code = key[len(STOCK_PREFIX):].upper()
            if not sku:
                errors.append(f"line {line}: {key} needs a SKU on the row.")
            elif not value.isdigit() or int(value) > stock.MAX_UNITS:
                errors.append(f"line {line}: {key} is the units on hand, a whole number from "
                              f"0 to {stock.MAX_UNITS:,}, not {value!r}.")
            elif code in known:
                cells.setdefault(sku, {})[code] = int(value)
    if errors:
        raise ImportRejected(errors)
    return cells


def import_products(session: Session, data: bytes | str, *, price_list: PriceList | None,
                    actor: audit.Actor, filename: str = "") -> ImportReport:
    """Products, variants, base prices and stock per warehouse from one file. Flushes."""
    cells = _stock_cells(session, data)
    report = catalogue_files.import_products(session, data, price_list=price_list, actor=actor,
                                             filename=filename)
    if not cells:
        return report
    variants = dict(session.execute(select(Variant.sku, Variant.id)
                                    .where(Variant.sku.in_(list(cells)))).all())
    levels = {(lv.variant_id, lv.warehouse): lv.on_hand for lv in session.scalars(
        select(StockLevel).where(StockLevel.variant_id.in_(list(variants.values()))))}
    for sku, by_warehouse in cells.items():
        variant_id = variants[sku]
        for code, units in sorted(by_warehouse.items()):
            if levels.get((variant_id, code), 0) == units:
                continue  # what the books say already: no movement
            try:
                stock.count(session, variant_id=variant_id, warehouse=code, counted=units,
                            by=actor.label, reference=REFERENCE,
                            note=f"products file {filename}"[:200])
            except stock.StockError as err:
                raise ImportRejected([f"SKU {sku} in {code}: {err}"]) from None
            report.counts["stock_counts"] += 1
    session.flush()
    return report


def export_products(session: Session, price_list: PriceList | None) -> str:
    """The products file with a stock column per active warehouse (units on hand)."""
    codes = list(session.scalars(select(Warehouse.code).where(Warehouse.active)
                                 .order_by(Warehouse.position, Warehouse.code)))
    on_hand = {(variant_id, code): units for variant_id, code, units in session.execute(
        select(StockLevel.variant_id, StockLevel.warehouse, StockLevel.on_hand))}
    return catalogue_files.export_products(
        session, price_list, extra_columns=[f"{STOCK_PREFIX}{c}" for c in codes],
        extra=lambda v: [on_hand.get((v.id, c), 0) for c in codes])
