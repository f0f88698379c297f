"""Reservations: stock is taken with one conditional UPDATE inside the order's transaction."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from core.errors import DomainError
from core.inventory.models import StockLevel, StockMovement

WAREHOUSE = "MAIN"
DISPATCH_DAYS = 1  # in stock: leaves the warehouse the next working day
BACKORDER_DAYS = 10  # not in stock: expected from the supplier


class OutOfStock(DomainError):
    code = "out_of_stock"


def _merge(lines: list[tuple[int, int]]) -> dict[int, int]:
    wanted: dict[int, int] = {}
    for variant_id, quantity in lines:
        wanted[variant_id] = wanted.get(variant_id, 0) + quantity
    return wanted


def reserve(session: Session, lines: list[tuple[int, int]], *, skus: dict[int, str] | None = None
            ) -> None:
    """Reserve (variant id, quantity) lines, all or nothing, in one statement.

    The WHERE clause re-checks availability row by row under the row lock, so concurrent
    orders never oversell (PostgreSQL re-evaluates it after waiting for a locked row;
    SQLite serialises writers). The CHECK constraint reserved <= on_hand backs it up.
    """
    wanted = _merge(lines)
    if not wanted:
        return
    amount = case(wanted, value=StockLevel.variant_id)
    result = session.execute(
        update(StockLevel)
        .where(StockLevel.variant_id.in_(wanted), StockLevel.warehouse == WAREHOUSE,
               StockLevel.on_hand - StockLevel.reserved >= amount)
        .values(reserved=StockLevel.reserved + amount)
        .execution_options(synchronize_session=False))
    if result.rowcount != len(wanted):
        _raise_shortage(session, wanted, skus or {})


def _raise_shortage(session: Session, wanted: dict[int, int], skus: dict[int, str]) -> None:
    available = dict(session.execute(
        select(StockLevel.variant_id, StockLevel.on_hand - StockLevel.reserved)
        .where(StockLevel.variant_id.in_(wanted), StockLevel.warehouse == WAREHOUSE)).all())
    short = [vid for vid, qty in wanted.items() if available.get(vid, 0) < qty]
    names = ", ".join(f"{skus.get(v, v)} (only {max(available.get(v, 0), 0)} left)" for v in short)
    raise OutOfStock(f"Not enough stock for {names}. Change the quantity and try again.")


def release(session: Session, lines: list[tuple[int, int]]) -> None:
    """Give reserved units back (an order cancelled before shipment)."""
    wanted = _merge(lines)
    if not wanted:
        return
    amount = case(wanted, value=StockLevel.variant_id)
    session.execute(
        update(StockLevel)
        .where(StockLevel.variant_id.in_(wanted), StockLevel.warehouse == WAREHOUSE)
        .values(reserved=func.max(StockLevel.reserved - amount, 0)
                if session.get_bind().dialect.name == "sqlite"
                else func.greatest(StockLevel.reserved - amount, 0))
        .execution_options(synchronize_session=False))


class StockMismatch(DomainError):
    code = "stock_mismatch"


def ship_out(session: Session, lines: list[tuple[int, int]], *,
             skus: dict[int, str] | None = None) -> None:
    """Goods left the warehouse: on hand and reserved both go down by the shipped
    (variant id, quantity) lines, all or nothing, in one conditional UPDATE.

    Shipped units were reserved at order confirmation, so the WHERE clause asks for
    that: a row with fewer reserved units than are shipping is left alone and the whole
    shipment refused (StockMismatch, with the other rows' change undone by a savepoint),
    so neither number ever goes negative.
    """
    wanted = _merge(lines)
    if not wanted:
        return
    amount = case(wanted, value=StockLevel.variant_id)
    savepoint = session.begin_nested()
    result = session.execute(
        update(StockLevel)
        .where(StockLevel.variant_id.in_(wanted), StockLevel.warehouse == WAREHOUSE,
               StockLevel.reserved >= amount, StockLevel.on_hand >= amount)
        .values(on_hand=StockLevel.on_hand - amount, reserved=StockLevel.reserved - amount)
        .execution_options(synchronize_session=False))
    if result.rowcount == len(wanted):
        savepoint.commit()
    else:
        savepoint.rollback()
        reserved = dict(session.execute(
            select(StockLevel.variant_id, StockLevel.reserved)
            .where(StockLevel.variant_id.in_(wanted), StockLevel.warehouse == WAREHOUSE)).all())
        short = [v for v, qty in wanted.items() if reserved.get(v, 0) < qty]
        names = ", ".join(f"{(skus or {}).get(v, v)} ({reserved.get(v, 0)} reserved)"
                          for v in short)
        raise StockMismatch(f"The stock records show fewer units reserved than are shipping: "
                            f"{names}. Count the stock and correct it before shipping.")


def available(session: Session, variant_ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        select(StockLevel.variant_id, func.sum(StockLevel.on_hand - StockLevel.reserved))
        .where(StockLevel.variant_id.in_(variant_ids)).group_by(StockLevel.variant_id)).all()
    found = {vid: int(units) for vid, units in rows}
    return {vid: found.get(vid, 0) for vid in variant_ids}


def promised_date(today: dt.date, in_stock: bool, transit_days: int) -> dt.date:
    """When the buyer can expect the goods: dispatch (or backorder) plus transit, in working days."""
    return add_working_days(today, (DISPATCH_DAYS if in_stock else BACKORDER_DAYS) + transit_days)


def add_working_days(day: dt.date, days: int) -> dt.date:
    while days > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def put_back(session: Session, lines: list[tuple[int, int]], *, reference: str, by: str,
             note: str = "") -> None:
    """Returned units go back on the shelf: on hand grows by each (variant id, quantity),
    with a return_restock movement naming the return. A variant without a stock row gets
    one. Flushes."""
    for variant_id, quantity in _merge(lines).items():
        if quantity <= 0:
            continue
        changed = session.execute(
            update(StockLevel).where(StockLevel.variant_id == variant_id,
                                     StockLevel.warehouse == WAREHOUSE)
            .values(on_hand=StockLevel.on_hand + quantity)
            .execution_options(synchronize_session=False)).rowcount
        if not changed:
            session.add(StockLevel(variant_id=variant_id, warehouse=WAREHOUSE,
                                   on_hand=quantity, reserved=0))
        session.add(StockMovement(variant_id=variant_id, warehouse=WAREHOUSE,
                                  kind="return_restock", quantity=quantity,
                                  reference=reference[:40], note=note[:200], by=by[:200]))
    session.flush()


def write_off(session: Session, lines: list[tuple[int, int]], *, reference: str, by: str,
              note: str = "") -> None:
    """Returned units that cannot be sold again are scrapped: a write_off movement records
    the loss; they were never back on hand, so stock does not change. Flushes."""
    for variant_id, quantity in _merge(lines).items():
        if quantity > 0:
            session.add(StockMovement(variant_id=variant_id, warehouse=WAREHOUSE,
                                      kind="write_off", quantity=quantity,
                                      reference=reference[:40], note=note[:200], by=by[:200]))
    session.flush()


def on_hand(session: Session, variant_ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        select(StockLevel.variant_id, func.sum(StockLevel.on_hand))
        .where(StockLevel.variant_id.in_(variant_ids)).group_by(StockLevel.variant_id)).all()
    found = {vid: int(units) for vid, units in rows}
    return {vid: found.get(vid, 0) for vid in variant_ids}
