"""Stock: the journal (every change a movement, the balance kept beside it), reservations for
orders across a channel's warehouses, backorders, and available-to-promise by date.

Concurrency: every command locks the stock rows it changes (SELECT ... FOR UPDATE, in id
order, on PostgreSQL; SQLite serialises writers) and changes them with conditional
UPDATEs whose WHERE clause re-checks the numbers, backed by the table's CHECK constraints
(on hand >= 0, reserved <= on hand), so stock never goes negative whatever runs at once.

Promising (Dynamics 365's available-to-promise): a line is promised from free stock in the
channel's warehouses (on hand - reserved) if there is enough; else, for a product that
allows backorders, from the open expected arrivals in date order, after the units already
backordered against them; else from its supplier's lead time. A drop-shipped product is
promised by its supplier's lead time and never touches our stock.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, case, func, insert, or_, select, update
from sqlalchemy.orm import Session

from core.catalog.models import Channel, Product, Variant
from core import clock
from core.db import utcnow
from core.errors import DomainError
from core.inventory.models import (ChannelWarehouse, ExpectedArrival, StockLevel, StockMovement,
                                   Supplier, Warehouse)

WAREHOUSE = "MAIN"  # the first warehouse every installation has
DISPATCH_DAYS = 1  # in stock: leaves the warehouse the next working day
BACKORDER_DAYS = 10  # lead time of a product without a supplier
MAX_UNITS = 1_000_000  # one movement's quantity


class StockError(DomainError):
    code = "stock"


class OutOfStock(StockError):
    code = "out_of_stock"


class StockMismatch(StockError):
    code = "stock_mismatch"


def _merge(lines: Iterable[tuple[int, int]]) -> dict[int, int]:
    wanted: dict[int, int] = {}
    for variant_id, quantity in lines:
        wanted[variant_id] = wanted.get(variant_id, 0) + quantity
    return wanted


def _floor_zero(session: Session, expression):
    return (func.max(expression, 0) if session.get_bind().dialect.name == "sqlite"
            else func.greatest(expression, 0))


def add_working_days(day: dt.date, days: int) -> dt.date:
    while days > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def promised_date(today: dt.date, in_stock: bool, transit_days: int) -> dt.date:
    """Delivery with the default lead times: dispatch (or backorder) plus transit, in working
    days. Kept for callers that have no Promise; promise() is the honest answer."""
    return add_working_days(today, (DISPATCH_DAYS if in_stock else BACKORDER_DAYS) + transit_days)


# -- warehouses ----------------------------------------------------------------------------


def warehouses_for(session: Session, channel_code: str | None) -> list[str]:
    """The channel's warehouses in order of preference; every active warehouse (by position)
    for a channel that names none. One query."""
    rows = session.execute(
        select(Warehouse.code, Warehouse.position, Channel.code)
        .outerjoin(ChannelWarehouse, ChannelWarehouse.warehouse_id == Warehouse.id)
        .outerjoin(Channel, Channel.id == ChannelWarehouse.channel_id)
        .where(Warehouse.active)
        .order_by(ChannelWarehouse.position, Warehouse.position, Warehouse.code)).all()
    own = [code for code, _, channel in rows if channel_code and channel == channel_code]
    if own:
        return list(dict.fromkeys(own))
    every = sorted({(position, code) for code, position, _ in rows})
    return [code for _, code in every] or [WAREHOUSE]


def _ensure_levels(session: Session, pairs: Iterable[tuple[int, str]]) -> None:
    """A stock row for each (variant id, warehouse) that has none, racing safely."""
    rows = [{"variant_id": v, "warehouse": w, "on_hand": 0, "reserved": 0, "backordered": 0}
            for v, w in sorted(set(pairs))]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    session.execute(dialect_insert(StockLevel).on_conflict_do_nothing(
        index_elements=["variant_id", "warehouse"]), rows)


def _lock(session: Session, variant_ids: Iterable[int], warehouses: Iterable[str]
          ) -> list[StockLevel]:
    return list(session.scalars(
        select(StockLevel)
        .where(StockLevel.variant_id.in_(set(variant_ids)),
               StockLevel.warehouse.in_(set(warehouses)))
        .order_by(StockLevel.id).with_for_update()
        .execution_options(populate_existing=True)))


def _movements(session: Session, rows: list[dict]) -> None:
    if rows:
        session.execute(insert(StockMovement), [
            {"quantity": 0, "reserved": 0, "reason": "", "unit_cost": None, **r,
             "reference": r["reference"][:40], "note": r.get("note", "")[:200],
             "by": r["by"][:200]} for r in rows])


# -- item facts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemFacts:
    variant_id: int
    sku: str
    backorderable: bool
    drop_ship: bool
    supplier_id: int | None
    lead_days: int


def facts(session: Session, variant_ids: Iterable[int]) -> dict[int, ItemFacts]:
    """What stock needs to know about each variant's product. One query."""
    ids = set(variant_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Variant.id, Variant.sku, Product.backorderable, Product.drop_ship,
               Product.supplier_id, Supplier.lead_days)
        .join(Product, Product.id == Variant.product_id)
        .outerjoin(Supplier, Supplier.id == Product.supplier_id)
        .where(Variant.id.in_(ids))).all()
    return {row[0]: _item_facts(*row) for row in rows}


def _item_facts(vid, sku, back, drop, supplier, lead) -> ItemFacts:
    return ItemFacts(vid, sku, bool(back), bool(drop) and supplier is not None, supplier,
                     lead if lead is not None else BACKORDER_DAYS)


# -- available-to-promise -------------------------------------------------------------------


@dataclass(frozen=True)
class Promise:
    """When `quantity` units of a variant can leave: `ships_on` (None: they cannot be
    promised, the product neither is in stock nor allows backorders). `source` is stock,
    arrival (the expected arrival dated `arrival_on` covers the units beyond stock),
    lead_time (the supplier's lead time covers them), supplier (drop-shipped) or
    unavailable (then `arrival_on`, if set, is when more are expected). `warehouse` is where the line would be reserved (and backordered);
    `available` the free units there (the most any warehouse has when nothing is short)."""

    variant_id: int
    quantity: int
    available: int
    short: int
    ships_on: dt.date | None
    source: str
    arrival_on: dt.date | None = None
    warehouse: str | None = None

    @property
    def in_stock(self) -> bool:
        return self.source == "stock"

    @property
    def promisable(self) -> bool:
        return self.ships_on is not None

    def delivery(self, transit_days: int) -> dt.date | None:
        return add_working_days(self.ships_on, transit_days) if self.ships_on else None


@dataclass
class _Stock:
    """A variant's stock in the channel's warehouses: free (on hand - reserved) and
    backordered units per warehouse, and the open arrivals per warehouse in date order."""

    free: dict[str, int]
    backordered: dict[str, int]
    arrivals: dict[str, list[tuple[dt.date, int]]]

    def spare(self, warehouse: str) -> int:
        """Free units nobody waits for: backorders come first."""
        return self.free.get(warehouse, 0) - self.backordered.get(warehouse, 0)


def _plan(vid: int, quantity: int, item: ItemFacts | None, stock: _Stock,
          warehouses: list[str], today: dt.date) -> Promise:
    """The one rule both promise() and reserve() follow, so what the shop says is what the
    order gets:

    * the first warehouse (in the channel's order) whose spare units (free less what is
      already backordered there) cover the line: in stock, ships the next working day;
    * a drop-shipped product: the supplier's lead time, no warehouse;
    * a product that allows no backorders: unavailable;
    * else the line waits in one warehouse: the one the earliest open arrival goes to (else
      the one with most spare units), reserving its spare units; the rest is promised by
      the first arrival there that covers it after the units already backordered, else by
      the supplier's lead time.
    """
    if item is not None and item.drop_ship:
        return Promise(vid, quantity, 0, 0, add_working_days(today, item.lead_days), "supplier")
    for w in warehouses:
        if stock.spare(w) >= quantity:
            return Promise(vid, quantity, stock.spare(w), 0,
                           add_working_days(today, DISPATCH_DAYS), "stock", warehouse=w)
    most = max(warehouses, key=lambda w: (stock.spare(w), -warehouses.index(w)))
    if item is None or not item.backorderable:
        spare = max(stock.spare(most), 0)
        # Not promisable; arrival_on tells when more are expected (the earliest open arrival).
        expected = min((days[0][0] for w, days in stock.arrivals.items()
                        if days and w in warehouses), default=None)
        return Promise(vid, quantity, spare, quantity - spare, None, "unavailable",
                       max(expected, today) if expected else None, warehouse=most)
    coming = [(days[0][0], warehouses.index(w), w) for w, days in stock.arrivals.items()
              if days and w in warehouses]
    home = min(coming)[2] if coming else most
    take = min(max(stock.spare(home), 0), quantity)
    short = quantity - take
    need = short + max(-stock.spare(home), 0)  # after the units already waiting there
    covered = 0
    for arrival_on, units in stock.arrivals.get(home, []):
        covered += units
        if covered >= need:
            return Promise(vid, quantity, take, short,
                           add_working_days(max(arrival_on, today), DISPATCH_DAYS), "arrival",
                           arrival_on, home)
    return Promise(vid, quantity, take, short, add_working_days(today, item.lead_days),
                   "lead_time", warehouse=home)


def _arrivals(session: Session, variant_ids, warehouses) -> dict[int, dict[str, list]]:
    found: dict[int, dict[str, list]] = {}
    for vid, warehouse, day, units in session.execute(
            select(ExpectedArrival.variant_id, ExpectedArrival.warehouse,
                   ExpectedArrival.expected_on,
                   ExpectedArrival.quantity - ExpectedArrival.quantity_received)
            .where(ExpectedArrival.variant_id.in_(set(variant_ids)),
                   ExpectedArrival.status == "open", ExpectedArrival.warehouse.in_(warehouses))
            .order_by(ExpectedArrival.expected_on, ExpectedArrival.id)):
        found.setdefault(vid, {}).setdefault(warehouse, []).append((day, int(units)))
    return found


def promise(session: Session, lines: Iterable[tuple[int, int]], *, warehouses: list[str],
            today: dt.date) -> dict[int, Promise]:
    """Promise each (variant id, quantity), merged by variant, as reserve() would place it
    now (_plan). Two queries whatever the number of lines: the products with their stock in
    the warehouses, and the open arrivals."""
    return availability(session, lines, warehouses=warehouses, today=today)[0]


def availability(session: Session, lines: Iterable[tuple[int, int]], *, warehouses: list[str],
                 today: dt.date) -> tuple[dict[int, Promise], dict[int, int]]:
    """promise(), and the free units (on hand less reserved) of each variant summed over the
    warehouses, from the same two queries (a product page shows both)."""
    wanted = _merge(lines)
    if not wanted:
        return {}, {}
    known: dict[int, ItemFacts] = {}
    stock = {vid: _Stock({}, {}, {}) for vid in wanted}
    for vid, sku, back, drop, supplier, lead, warehouse, free, backordered in session.execute(
            select(Variant.id, Variant.sku, Product.backorderable, Product.drop_ship,
                   Product.supplier_id, Supplier.lead_days, StockLevel.warehouse,
                   StockLevel.on_hand - StockLevel.reserved, StockLevel.backordered)
            .join(Product, Product.id == Variant.product_id)
            .outerjoin(Supplier, Supplier.id == Product.supplier_id)
            .outerjoin(StockLevel, and_(StockLevel.variant_id == Variant.id,
                                        StockLevel.warehouse.in_(warehouses)))
            .where(Variant.id.in_(wanted))):
        known.setdefault(vid, _item_facts(vid, sku, back, drop, supplier, lead))
        if warehouse is not None:
            stock[vid].free[warehouse] = int(free)
            stock[vid].backordered[warehouse] = int(backordered)
    for vid, by_warehouse in _arrivals(session, wanted, warehouses).items():
        stock[vid].arrivals = by_warehouse
    promises = {vid: _plan(vid, quantity, known.get(vid), stock[vid], warehouses, today)
                for vid, quantity in wanted.items()}
    return promises, {vid: sum(stock[vid].free.values()) for vid in wanted}


# -- reservations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Reservation:
    """Where a variant's units for one order went: `reserved` units in `warehouse`, the rest
    `backordered` there; drop-shipped units (warehouse None) are the supplier's. `promise`
    is when they ship, decided under the stock rows' locks."""

    variant_id: int
    warehouse: str | None
    reserved: int
    backordered: int
    supplier_id: int | None = None
    promise: Promise | None = None


def reserve(session: Session, lines: Iterable[tuple[int, int]], *, warehouses: list[str] | None = None,
            reference: str = "", by: str = "system", skus: dict[int, str] | None = None,
            allow_backorder: bool = True, today: dt.date | None = None
            ) -> dict[int, Reservation]:
    """Reserve (variant id, quantity) lines, merged by variant, all or nothing, where
    promise() says (_plan), deciding under the stock rows' locks: a product short of stock
    that allows no backorders refuses the whole order (OutOfStock). A fixed number of
    queries: the products, the locked rows, the arrivals, one UPDATE per warehouse used, the
    movements.
    """
    wanted = _merge(lines)
    if not wanted:
        return {}
    warehouses = warehouses or [WAREHOUSE]
    today = today or clock.business_date(utcnow())
    known = facts(session, wanted)
    stock = {vid: _Stock({}, {}, {}) for vid in wanted}
    for level in _lock(session, wanted, warehouses):
        stock[level.variant_id].free[level.warehouse] = level.available
        stock[level.variant_id].backordered[level.warehouse] = level.backordered
    for vid, by_warehouse in _arrivals(session, wanted, warehouses).items():
        stock[vid].arrivals = by_warehouse
    answer: dict[int, Reservation] = {}
    short = []
    for vid, quantity in wanted.items():
        item = known.get(vid)
        plan = _plan(vid, quantity, item, stock[vid], warehouses, today)
        if plan.source == "supplier":
            answer[vid] = Reservation(vid, None, 0, 0, item.supplier_id, plan)
        elif plan.source == "unavailable" or (plan.short and not allow_backorder):
            short.append((vid, plan.available))
        else:
            answer[vid] = Reservation(vid, plan.warehouse, quantity - plan.short, plan.short,
                                      None, plan)
    if short:
        names = ", ".join(f"{(skus or {}).get(v) or (known[v].sku if v in known else v)} "
                          f"(only {left} left)" for v, left in short)
        raise OutOfStock(f"Not enough stock for {names}. Change the quantity and try again.")
    placed = [r for r in answer.values() if r.warehouse is not None]
    _ensure_levels(session, [(r.variant_id, r.warehouse) for r in placed
                             if r.warehouse not in stock[r.variant_id].free])
    for warehouse in sorted({r.warehouse for r in placed}):
        here = {r.variant_id: r for r in placed if r.warehouse == warehouse}
        taken = case({v: r.reserved for v, r in here.items()}, value=StockLevel.variant_id)
        waiting = case({v: r.backordered for v, r in here.items()}, value=StockLevel.variant_id)
        result = session.execute(
            update(StockLevel)
            .where(StockLevel.variant_id.in_(here), StockLevel.warehouse == warehouse,
                   or_(taken == 0,
                       StockLevel.on_hand - StockLevel.reserved - StockLevel.backordered >= taken))
            .values(reserved=StockLevel.reserved + taken,
                    backordered=StockLevel.backordered + waiting)
            .execution_options(synchronize_session=False))
        if result.rowcount != len(here):  # SQLite: another writer came between
            raise OutOfStock("The stock changed while your order was placed. Check the "
                             "quantities and try again.")
    _movements(session, [{"variant_id": r.variant_id, "warehouse": r.warehouse,
                          "kind": "reservation", "reserved": r.reserved,
                          "reference": reference, "by": by}
                         for r in placed if r.reserved])
    return answer


def release(session: Session, lines: Iterable[tuple[int, str | None, int, int]], *,
            reference: str = "", by: str = "system") -> None:
    """Give back (variant id, warehouse, reserved, backordered) lines: an order cancelled or
    changed before shipment. Drop-shipped lines (warehouse None) hold no stock. The rows
    are locked and the journal records what each row actually gave back, so the two never
    part even if a line claims more than its row holds."""
    held: dict[tuple[int, str], list[int]] = {}
    for vid, warehouse, reserved, backordered in lines:
        if warehouse is None or (reserved <= 0 and backordered <= 0):
            continue
        entry = held.setdefault((vid, warehouse), [0, 0])
        entry[0] += max(reserved, 0)
        entry[1] += max(backordered, 0)
    if not held:
        return
    rows = []
    for level in _lock(session, {v for v, _ in held}, {w for _, w in held}):
        wanted = held.get((level.variant_id, level.warehouse))
        if wanted is None:
            continue
        given = min(wanted[0], level.reserved)
        level.reserved -= given
        level.backordered -= min(wanted[1], level.backordered)
        if given:
            rows.append({"variant_id": level.variant_id, "warehouse": level.warehouse,
                         "kind": "release", "reserved": -given, "reference": reference,
                         "by": by})
    session.flush()
    _movements(session, rows)


def ship_out(session: Session, lines: Iterable[tuple[int, str, int]], *, reference: str = "",
             by: str = "system", skus: dict[int, str] | None = None) -> None:
    """Goods left the warehouse: on hand and reserved both go down by the shipped
    (variant id, warehouse, quantity) lines, all or nothing.

    Shipped units were reserved, so the WHERE clause asks for that: a row with fewer
    reserved units than are shipping is left alone and the whole shipment refused
    (StockMismatch, the other rows' change undone by a savepoint)."""
    wanted: dict[tuple[int, str], int] = {}
    for vid, warehouse, quantity in lines:
        wanted[(vid, warehouse)] = wanted.get((vid, warehouse), 0) + quantity
    if not wanted:
        return
    savepoint = session.begin_nested()
    for warehouse in sorted({w for _, w in wanted}):
        here = {v: q for (v, w), q in wanted.items() if w == warehouse}
        amount = case(here, value=StockLevel.variant_id)
        result = session.execute(
            update(StockLevel)
            .where(StockLevel.variant_id.in_(here), StockLevel.warehouse == warehouse,
                   StockLevel.reserved >= amount, StockLevel.on_hand >= amount)
            .values(on_hand=StockLevel.on_hand - amount, reserved=StockLevel.reserved - amount)
            .execution_options(synchronize_session=False))
        if result.rowcount != len(here):
            savepoint.rollback()
            reserved = dict(session.execute(
                select(StockLevel.variant_id, StockLevel.reserved)
                .where(StockLevel.variant_id.in_(here), StockLevel.warehouse == warehouse)).all())
            short = [v for v, qty in here.items() if reserved.get(v, 0) < qty]
            names = ", ".join(f"{(skus or {}).get(v, v)} ({reserved.get(v, 0)} reserved)"
                              for v in short)
            raise StockMismatch(f"The stock records show fewer units reserved than are "
                                f"shipping: {names}. Count the stock and correct it before "
                                "shipping.")
    savepoint.commit()
    _movements(session, [{"variant_id": v, "warehouse": w, "kind": "shipment", "quantity": -q,
                          "reserved": -q, "reference": reference, "by": by}
                         for (v, w), q in sorted(wanted.items())])


def put_back(session: Session, lines: Iterable[tuple[int, int]], *, reference: str, by: str,
             note: str = "", warehouse: str = WAREHOUSE) -> None:
    """Returned units go back on the shelf: on hand grows by each (variant id, quantity),
    with a return_restock movement naming the return. Flushes."""
    merged = {v: q for v, q in _merge(lines).items() if q > 0}
    if not merged:
        return
    _ensure_levels(session, [(v, warehouse) for v in merged])
    amount = case(merged, value=StockLevel.variant_id)
    session.execute(update(StockLevel)
                    .where(StockLevel.variant_id.in_(merged), StockLevel.warehouse == warehouse)
                    .values(on_hand=StockLevel.on_hand + amount)
                    .execution_options(synchronize_session=False))
    _movements(session, [{"variant_id": v, "warehouse": warehouse, "kind": "return_restock",
                          "quantity": q, "reference": reference, "note": note, "by": by}
                         for v, q in sorted(merged.items())])
    session.flush()


def write_off(session: Session, lines: Iterable[tuple[int, int]], *, reference: str, by: str,
              note: str = "", warehouse: str = WAREHOUSE) -> None:
    """Returned units that cannot be sold again are scrapped: a write_off movement records
    the loss; they were never back on hand, so stock does not change. Flushes."""
    _movements(session, [{"variant_id": v, "warehouse": warehouse, "kind": "write_off",
                          "reference": reference, "by": by,
                          "note": f"{q} unit{'s' if q != 1 else ''} written off"
                                  + (f": {note}" if note else "")}
                         for v, q in sorted(_merge(lines).items()) if q > 0])
    session.flush()


# -- the warehouse's own commands -----------------------------------------------------------


def _check_units(quantity: int, field: str = "quantity") -> None:
    if not 1 <= quantity <= MAX_UNITS:
        raise StockError(f"Enter a whole number of units from 1 to {MAX_UNITS:,}.", field=field)


def lock_level(session: Session, variant_id: int, warehouse: str) -> StockLevel:
    """The variant's stock row in the warehouse, locked; made (empty) if it has none."""
    if session.scalar(select(Warehouse.id).where(Warehouse.code == warehouse,
                                                 Warehouse.active)) is None:
        raise StockError("Choose an active warehouse from the list.", field="warehouse")
    _ensure_levels(session, [(variant_id, warehouse)])
    return _lock(session, [variant_id], [warehouse])[0]


def _move(session: Session, level: StockLevel, kind: str, change: int, *, reference: str,
          by: str, reason: str = "", note: str = "", unit_cost: Decimal | None = None,
          reserved: int = 0) -> StockMovement:
    if level.on_hand + change < 0:
        raise StockError(f"Only {level.on_hand} on hand in {level.warehouse}.", field="quantity")
    if level.on_hand + change < level.reserved + reserved:
        raise StockError(f"{level.reserved} of the {level.on_hand} on hand in {level.warehouse} "
                         "are reserved for orders; at most "
                         f"{level.on_hand - level.reserved} can go.", field="quantity")
    level.on_hand += change
    level.reserved += reserved
    movement = StockMovement(variant_id=level.variant_id, warehouse=level.warehouse, kind=kind,
                             quantity=change, reserved=reserved, reference=reference[:40],
                             reason=reason, note=note[:200], unit_cost=unit_cost, by=by[:200])
    session.add(movement)
    session.flush()
    return movement


def receive(session: Session, *, variant_id: int, warehouse: str, quantity: int,
            reference: str, by: str, note: str = "", unit_cost: Decimal | None = None
            ) -> StockMovement:
    """Goods arrived: on hand grows. Flushes; the caller fills backorders (fill_backorders)."""
    _check_units(quantity)
    if unit_cost is not None and unit_cost < 0:
        raise StockError("A cost price is zero or more.", field="unit_cost")
    level = lock_level(session, variant_id, warehouse)
    return _move(session, level, "receipt", quantity, reference=reference, by=by, note=note,
                 unit_cost=unit_cost)


def adjust(session: Session, *, variant_id: int, warehouse: str, change: int, reason: str,
           by: str, note: str = "", reference: str = "") -> StockMovement:
    """Units found (positive) or lost, damaged, scrapped (negative), with a reason."""
    from core.inventory.models import ADJUSTMENT_REASONS
    if reason not in ADJUSTMENT_REASONS:
        raise StockError("Choose a reason from the list.", field="reason")
    if change == 0 or abs(change) > MAX_UNITS:
        raise StockError("Enter the units gained (like 3) or lost (like -3), not 0.",
                         field="change")
    level = lock_level(session, variant_id, warehouse)
    kind = "scrap" if reason in ("damaged", "expired") and change < 0 else "adjustment"
    return _move(session, level, kind, change, reference=reference or reason, by=by,
                 reason=reason, note=note)


def count(session: Session, *, variant_id: int, warehouse: str, counted: int, by: str,
          note: str = "", reference: str = "") -> StockMovement:
    """A cycle count: what is on the shelf replaces what the books say; the difference (zero
    too, so the count is on record) posts as a count movement."""
    if not 0 <= counted <= MAX_UNITS:
        raise StockError(f"Enter the units counted, from 0 to {MAX_UNITS:,}.", field="counted")
    level = lock_level(session, variant_id, warehouse)
    if counted < level.reserved:
        raise StockError(f"{level.reserved} units are reserved for orders in {warehouse}; a "
                         "count below that needs those orders changed first (or recount).",
                         field="counted")
    return _move(session, level, "count", counted - level.on_hand, reference=reference or "count",
                 by=by, note=note)


def transfer(session: Session, *, variant_id: int, source: str, target: str, quantity: int,
             by: str, reference: str = "", note: str = "") -> tuple[StockMovement, StockMovement]:
    """Units move from one warehouse to another: out of one, into the other, together."""
    _check_units(quantity)
    if source == target:
        raise StockError("Choose two different warehouses.", field="target")
    for code in (source, target):
        if session.scalar(select(Warehouse.id).where(Warehouse.code == code,
                                                     Warehouse.active)) is None:
            raise StockError("Choose an active warehouse from the list.",
                             field="source" if code == source else "target")
    _ensure_levels(session, [(variant_id, source), (variant_id, target)])
    rows = {l.warehouse: l for l in _lock(session, [variant_id], [source, target])}
    reference = reference or f"{source}>{target}"
    out = _move(session, rows[source], "transfer_out", -quantity, reference=reference, by=by,
                note=note)
    into = _move(session, rows[target], "transfer_in", quantity, reference=reference, by=by,
                 note=note)
    return out, into


def fill_backorders(session: Session, *, variant_id: int, warehouse: str, by: str,
                    reference: str = "") -> int:
    """Free stock in the warehouse goes to its backorders: as many units as are both free and
    backordered become reserved. Answers how many; the caller gives them to order lines
    (oldest first). Locks the row."""
    level = lock_level(session, variant_id, warehouse)
    units = min(level.available, level.backordered)
    if units <= 0:
        return 0
    level.backordered -= units
    _move(session, level, "backorder_filled", 0, reserved=units, reference=reference, by=by)
    return units


# -- reading --------------------------------------------------------------------------------


def available(session: Session, variant_ids: list[int], *,
              warehouses: list[str] | None = None) -> dict[int, int]:
    """Free units (on hand - reserved) per variant, in `warehouses` or all of them."""
    stmt = (select(StockLevel.variant_id, func.sum(StockLevel.on_hand - StockLevel.reserved))
            .where(StockLevel.variant_id.in_(variant_ids)).group_by(StockLevel.variant_id))
    if warehouses is not None:
        stmt = stmt.where(StockLevel.warehouse.in_(warehouses))
    found = {vid: int(units) for vid, units in session.execute(stmt).all()}
    return {vid: found.get(vid, 0) for vid in variant_ids}


def on_hand(session: Session, variant_ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        select(StockLevel.variant_id, func.sum(StockLevel.on_hand))
        .where(StockLevel.variant_id.in_(variant_ids)).group_by(StockLevel.variant_id)).all()
    found = {vid: int(units) for vid, units in rows}
    return {vid: found.get(vid, 0) for vid in variant_ids}


def journal_balance(session: Session, variant_id: int, warehouse: str) -> tuple[int, int]:
    """(on hand, reserved) summed from the variant's movements in the warehouse: what the
    stock row must say."""
    on, held = session.execute(
        select(func.coalesce(func.sum(StockMovement.quantity), 0),
               func.coalesce(func.sum(StockMovement.reserved), 0))
        .where(StockMovement.variant_id == variant_id,
               StockMovement.warehouse == warehouse)).one()
    return int(on), int(held)
