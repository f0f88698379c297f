"""The read side of stock for the warehouse pages: a variant's stock page, the stock list,
expected arrivals, low stock. Each answer costs a fixed number of queries whatever its size
(tests/web/test_console_stock.py counts them)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session, joinedload

from core.catalog.models import Product, Variant
from core.errors import NotFound
from core.inventory.models import (ExpectedArrival, StockLevel, StockMovement, Supplier,
                                   Warehouse)
from core.paging import Page, paginate

DEFAULT_REORDER_POINT = 4  # a level without its own reorder point is low at 4 free units


def _low(available):
    return available <= func.coalesce(StockLevel.reorder_point, DEFAULT_REORDER_POINT)


def is_low(available: int, reorder_point: int | None) -> bool:
    """At or below the row's reorder point (DEFAULT_REORDER_POINT when it has none)."""
    return available <= (DEFAULT_REORDER_POINT if reorder_point is None else reorder_point)


@dataclass(frozen=True)
class LevelRow:
    warehouse: str
    warehouse_name: str
    on_hand: int
    reserved: int
    backordered: int
    reorder_point: int | None
    bin_location: str = ""

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def low(self) -> bool:
        return is_low(self.available, self.reorder_point)


@dataclass(frozen=True)
class StockPage:
    variant: Variant
    product_name: str
    backorderable: bool
    levels: list[LevelRow]
    movements: Page[StockMovement]
    arrivals: list[ExpectedArrival]

    @property
    def totals(self) -> LevelRow:
        return LevelRow("", "All warehouses", sum(l.on_hand for l in self.levels),
                        sum(l.reserved for l in self.levels),
                        sum(l.backordered for l in self.levels), None)


def variant_by_sku(session: Session, sku: str) -> Variant:
    """The variant with this SKU (any case); NotFound when there is none. One query when
    typed as stored."""
    wanted = (sku or "").strip()
    found = session.scalar(select(Variant).options(joinedload(Variant.product))
                           .where(Variant.sku == wanted))
    if found is None and wanted:  # typed in lower case: a second look, without the index
        found = session.scalar(select(Variant).options(joinedload(Variant.product))
                               .where(func.upper(Variant.sku) == wanted.upper()))
    if found is None:
        raise NotFound(f"There is no product with SKU {sku}.", field="sku")
    return found


def stock_page(session: Session, sku: str, *, page: int = 1, per_page: int = 50) -> StockPage:
    """A variant's stock: levels per warehouse, its movements newest first (paged) and its
    open expected arrivals. Five queries."""
    variant = variant_by_sku(session, sku)
    levels = [LevelRow(*row) for row in session.execute(
                  select(Warehouse.code, Warehouse.name, StockLevel.on_hand,
                         StockLevel.reserved, StockLevel.backordered, StockLevel.reorder_point,
                         StockLevel.bin_location)
                  .join(Warehouse, Warehouse.code == StockLevel.warehouse)
                  .where(StockLevel.variant_id == variant.id)
                  .order_by(Warehouse.position, Warehouse.code))]
    movements = paginate(session, select(StockMovement)
                         .where(StockMovement.variant_id == variant.id)
                         .order_by(StockMovement.id.desc()), page=page, per_page=per_page)
    arrivals = list(session.scalars(
        select(ExpectedArrival).options(joinedload(ExpectedArrival.supplier))
        .where(ExpectedArrival.variant_id == variant.id, ExpectedArrival.status == "open")
        .order_by(ExpectedArrival.expected_on, ExpectedArrival.id)))
    return StockPage(variant, variant.product.name, variant.product.backorderable, levels,
                     movements, arrivals)


@dataclass(frozen=True)
class StockRow:
    sku: str
    name: str
    warehouse: str
    on_hand: int
    reserved: int
    backordered: int
    reorder_point: int | None
    bin_location: str = ""

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def low(self) -> bool:
        return is_low(self.available, self.reorder_point)


def stock_list(session: Session, *, query: str = "", warehouse: str = "", low_only: bool = False,
               page: int = 1, per_page: int = 50) -> Page[StockRow]:
    """Stock rows by SKU, filtered by SKU or product name, warehouse and low stock. Two
    queries."""
    available = StockLevel.on_hand - StockLevel.reserved
    stmt = (select(Variant.sku, Product.name, StockLevel.warehouse, StockLevel.on_hand,
                   StockLevel.reserved, StockLevel.backordered, StockLevel.reorder_point,
                   StockLevel.bin_location)
            .join(Variant, Variant.id == StockLevel.variant_id)
            .join(Product, Product.id == Variant.product_id))
    if query:
        like = f"%{query.lower().replace('%', '').replace('_', '')}%"
        stmt = stmt.where(or_(func.lower(Variant.sku).like(like),
                              func.lower(Product.name).like(like)))
    if warehouse:
        stmt = stmt.where(StockLevel.warehouse == warehouse)
    if low_only:
        stmt = stmt.where(_low(available))
    found = paginate(session, stmt.order_by(Variant.sku, StockLevel.warehouse), page=page,
                     per_page=per_page)
    return found.map(lambda r: StockRow(*r))


def low_stock(session: Session, *, limit: int = 10) -> list[tuple[str, str, int]]:
    """(SKU, product name, free units in all warehouses) of active variants at or below their
    reorder point, fewest first. One query."""
    available = func.sum(StockLevel.on_hand - StockLevel.reserved)
    point = func.min(func.coalesce(StockLevel.reorder_point, DEFAULT_REORDER_POINT))
    return [(sku, name, int(units)) for sku, name, units in session.execute(
        select(Variant.sku, Product.name, available)
        .join(Variant, Variant.id == StockLevel.variant_id)
        .join(Product, Product.id == Variant.product_id)
        .where(Variant.active, Product.active)
        .group_by(Variant.id, Variant.sku, Product.name)
        .having(available <= point)
        .order_by(available, Variant.sku).limit(limit))]


def arrivals(session: Session, *, status: str = "", page: int = 1, per_page: int = 50
             ) -> Page[ExpectedArrival]:
    """Expected arrivals, open ones first by date, then the others newest first. Two
    queries (supplier and variant loaded with the rows)."""
    stmt = select(ExpectedArrival).options(joinedload(ExpectedArrival.supplier),
                                           joinedload(ExpectedArrival.variant))
    if status:
        stmt = stmt.where(ExpectedArrival.status == status)
    is_open = ExpectedArrival.status == "open"
    stmt = stmt.order_by(case((is_open, 0), else_=1),
                         case((is_open, ExpectedArrival.expected_on), else_=None),
                         ExpectedArrival.expected_on.desc(), ExpectedArrival.id)
    count = select(func.count()).select_from(ExpectedArrival)
    if status:
        count = count.where(ExpectedArrival.status == status)
    return paginate(session, stmt, page=page, per_page=per_page, count=count)


def arrival(session: Session, arrival_id: int) -> ExpectedArrival:
    """One expected arrival with its supplier and variant; NotFound when there is none."""
    found = session.scalar(select(ExpectedArrival)
                           .options(joinedload(ExpectedArrival.supplier),
                                    joinedload(ExpectedArrival.variant))
                           .where(ExpectedArrival.id == arrival_id))
    if found is None:
        raise NotFound(f"There is no expected arrival {arrival_id}.")
    return found


def is_late(item: ExpectedArrival, today: dt.date) -> bool:
    return item.status == "open" and item.expected_on < today


def warehouses(session: Session) -> list[tuple[str, str]]:
    """(code, name) of the active warehouses by position. One query."""
    return [tuple(r) for r in session.execute(
        select(Warehouse.code, Warehouse.name).where(Warehouse.active)
        .order_by(Warehouse.position, Warehouse.code))]


def suppliers(session: Session) -> list[tuple[int, str]]:
    """(id, name) of the active suppliers by name. One query."""
    return [tuple(r) for r in session.execute(
        select(Supplier.id, Supplier.name).where(Supplier.active).order_by(Supplier.name))]

