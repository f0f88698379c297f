"""Goods in, and what it means for the orders waiting on them.

Receiving stock (by hand, or an expected arrival) fills the backorders of that variant in
that warehouse: core.inventory.fill_backorders turns free units into reserved ones, and
they go to the open order lines waiting for them, oldest order first. A line filled
completely can leave the next working day, so its promised days move up.

Moving an expected arrival later, or cancelling it, re-promises the backordered lines of
its variant against the open arrivals in date order (first come, first served, as
inventory.promise does for new orders); lines that now ship later get the new dates, and
each of those customers is told once per order after the commit (events.DeliveryMoved).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, joinedload

from core import audit, clock, events
from core.db import utcnow
from core.errors import DomainError
from core.inventory import services as inventory
from core.inventory.models import ExpectedArrival, StockMovement, Supplier, Warehouse
from core.inventory.queries import variant_by_sku
from core.inventory.states import ArrivalStatus, move_arrival
from core.orders.models import Order, OrderLine

WAITING = ("draft", "pending_payment", "confirmed", "in_fulfilment", "partially_shipped")
CHANNEL = "console"


class ArrivalError(DomainError):
    code = "arrival"


@dataclass(frozen=True)
class Filled:
    """`units` of an order line's backorder became reserved (`complete`: nothing waits)."""

    order_number: str
    sku: str
    units: int
    complete: bool


@dataclass(frozen=True)
class Receipt:
    movement: StockMovement
    filled: list[Filled]

    @property
    def units_filled(self) -> int:
        return sum(f.units for f in self.filled)


@dataclass(frozen=True)
class MovedOrder:
    """An order whose delivery moved later: its lines that moved and the new dates."""

    order_id: int
    number: str
    email: str
    promised_date: dt.date | None
    lines: tuple[tuple[str, str, dt.date], ...]  # (sku, name, new delivery day)


def _working_days_between(start: dt.date, end: dt.date) -> int:
    days, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            days += 1
    return days


def _set_ship_day(line: OrderLine, ships_on: dt.date) -> None:
    """New dispatch day; delivery keeps the line's transit (working days after dispatch)."""
    transit = (_working_days_between(line.ships_on, line.promised_date)
               if line.ships_on and line.promised_date else 0)
    line.ships_on = ships_on
    line.promised_date = inventory.add_working_days(ships_on, transit)


def _waiting_lines(session: Session, variant_id: int, warehouse: str) -> list[OrderLine]:
    """The backordered lines of the variant in the warehouse, oldest order first, their
    orders locked in id order first."""
    order_ids = list(session.scalars(
        select(Order.id).join(OrderLine, OrderLine.order_id == Order.id)
        .where(OrderLine.variant_id == variant_id, OrderLine.warehouse == warehouse,
               OrderLine.quantity_backordered > 0, Order.status.in_(WAITING))
        .order_by(Order.id).distinct()))
    if not order_ids:
        return []
    session.execute(select(Order.id).where(Order.id.in_(order_ids)).order_by(Order.id)
                    .with_for_update())
    return list(session.scalars(
        select(OrderLine).join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.order_id.in_(order_ids), OrderLine.variant_id == variant_id,
               OrderLine.warehouse == warehouse, OrderLine.quantity_backordered > 0)
        .order_by(Order.placed_at, Order.id, OrderLine.id)
        .options(joinedload(OrderLine.order).selectinload(Order.lines))))


def lock_waiting(session: Session, places) -> dict[tuple[int, str], list[OrderLine]]:
    """The backordered lines waiting at each (variant id, warehouse), their orders locked:
    taken BEFORE a command changes the stock row, so every path locks orders first and
    stock rows second, as shipping and cancelling do (no deadlock between them)."""
    return {place: _waiting_lines(session, *place)
            for place in sorted({(v, w) for v, w in places if w})}


def _audit_orders(session: Session, action: str, actor: audit.Actor,
                  data: dict[int, dict]) -> None:
    """One audit event per order, written in one INSERT (executemany): the same cost for one
    order or fifty."""
    if data:
        now = utcnow()
        session.execute(insert(audit.AuditEvent), [dict(
            at=now, actor_kind=actor.kind, actor_id=actor.id, actor_label=actor.label,
            channel=CHANNEL, action=action, subject_type=Order.__tablename__,
            subject_id=str(order_id), data=values) for order_id, values in data.items()])


def fill_backorders(session: Session, *, variant_id: int, warehouse: str, actor: audit.Actor,
                    reference: str = "", today: dt.date | None = None,
                    waiting: list[OrderLine] | None = None) -> list[Filled]:
    """Give the warehouse's free units of the variant to its backordered order lines, oldest
    order first. `waiting`: those lines, their orders already locked (receive() locks them
    before the stock row). Locks: the orders, then the stock row, the order shipping and
    cancelling take them in (they lock their order, then change stock), so two of these
    never wait for each other. Flushes."""
    if waiting is None:
        waiting = _waiting_lines(session, variant_id, warehouse)
    units = inventory.fill_backorders(session, variant_id=variant_id, warehouse=warehouse,
                                      by=actor.label, reference=reference)
    if units <= 0:
        return []
    today = today or clock.business_date(utcnow())
    ships_on = inventory.add_working_days(today, inventory.DISPATCH_DAYS)
    filled, touched = [], {}
    for line in waiting:
        if units <= 0:
            break
        if line.quantity_backordered <= 0 or line.order.status not in WAITING:
            continue  # locked before, since cancelled (or filled) in this transaction
        take = min(units, line.quantity_backordered)
        units -= take
        line.quantity_backordered -= take
        line.quantity_reserved += take
        complete = line.quantity_backordered == 0
        if complete:  # leaves the next working day (later than promised if the arrival was late)
            _set_ship_day(line, ships_on)
        touched[line.order_id] = line.order
        filled.append(Filled(line.order.number, line.sku, take, complete))
    if units > 0:
        # More was backordered on the stock row than order lines wait for (an order changed
        # by hand): the extra units are free again rather than reserved for nobody.
        inventory.release(session, [(variant_id, warehouse, units, 0)], reference=reference,
                          by=actor.label)
    for order in touched.values():
        days = [l.promised_date for l in order.lines if l.promised_date]
        if days:
            order.promised_date = max(days)
    _audit_orders(session, "order.backorder_filled", actor, {
        order.id: {"reference": reference, "units": sum(f.units for f in filled
                                                        if f.order_number == order.number)}
        for order in touched.values()})
    session.flush()
    return filled


def receive(session: Session, *, sku: str, warehouse: str, quantity: int, reference: str,
            actor: audit.Actor, note: str = "", unit_cost: Decimal | None = None) -> Receipt:
    """Goods arrived: post the receipt and fill that warehouse's backorders. Flushes."""
    variant = variant_by_sku(session, sku)
    waiting = _waiting_lines(session, variant.id, warehouse)  # orders before the stock row
    movement = inventory.receive(session, variant_id=variant.id, warehouse=warehouse,
                                 quantity=quantity, reference=reference or "Receipt",
                                 by=actor.label, note=note, unit_cost=unit_cost)
    return Receipt(movement, fill_backorders(session, variant_id=variant.id,
                                             warehouse=warehouse, actor=actor,
                                             reference=movement.reference, waiting=waiting))


# -- expected arrivals ----------------------------------------------------------------------


def _lock_arrival(session: Session, arrival_id: int) -> ExpectedArrival:
    found = session.scalar(select(ExpectedArrival).where(ExpectedArrival.id == arrival_id)
                           .with_for_update().execution_options(populate_existing=True))
    if found is None:
        from core.errors import NotFound
        raise NotFound(f"There is no expected arrival {arrival_id}.")
    return found


def _entry(session: Session, action: str, actor: audit.Actor, **data) -> audit.Entry:
    return audit.Entry(session, action, actor, CHANNEL, data or None)


def add_arrival(session: Session, *, supplier_id: int | None, sku: str, quantity: int | None,
                warehouse: str, expected_on: dt.date | None, reference: str,
                actor: audit.Actor, today: dt.date | None = None) -> ExpectedArrival:
    """A supplier will deliver units to a warehouse on a day. Flushes."""
    today = today or clock.business_date(utcnow())
    if supplier_id is None or session.get(Supplier, supplier_id) is None:
        raise ArrivalError("Choose a supplier from the list.", field="supplier")
    variant = variant_by_sku(session, sku)
    if quantity is None or not 1 <= quantity <= inventory.MAX_UNITS:
        raise ArrivalError(f"Enter a whole number of units from 1 to {inventory.MAX_UNITS:,}.",
                           field="quantity")
    if session.scalar(select(Warehouse.id).where(Warehouse.code == warehouse)) is None:
        raise ArrivalError("Choose a warehouse from the list.", field="warehouse")
    if expected_on is None or expected_on < today:
        raise ArrivalError("Enter the day the goods are expected, today or later.",
                           field="expected_on")
    found = ExpectedArrival(supplier_id=supplier_id, variant_id=variant.id, warehouse=warehouse,
                            quantity=quantity, expected_on=expected_on,
                            reference=(reference or "")[:40], status=ArrivalStatus.OPEN,
                            created_by=actor.label[:200])
    session.add(found)
    session.flush()
    audit.record(session, "expected_arrival.added", actor=actor, channel=CHANNEL, subject=found,
                 data={"sku": variant.sku, "quantity": quantity,
                       "expected_on": expected_on.isoformat()})
    return found


def receive_arrival(session: Session, arrival_id: int, *, quantity: int | None,
                    actor: audit.Actor, unit_cost: Decimal | None = None) -> Receipt:
    """The arrival came, all of it or `quantity` units: a receipt with its reference, the
    arrival received (or still open for the rest), backorders filled. Flushes."""
    arrival = _lock_arrival(session, arrival_id)
    if arrival.status != ArrivalStatus.OPEN:
        raise ArrivalError("This arrival is not expected any more.")
    quantity = arrival.outstanding if quantity is None else quantity
    if not 1 <= quantity <= arrival.outstanding:
        raise ArrivalError(f"Enter the units that came, from 1 to {arrival.outstanding}.",
                           field="quantity")
    reference = arrival.reference or f"ARR-{arrival.id}"
    waiting = _waiting_lines(session, arrival.variant_id, arrival.warehouse)
    movement = inventory.receive(session, variant_id=arrival.variant_id,
                                 warehouse=arrival.warehouse, quantity=quantity,
                                 reference=reference, by=actor.label, unit_cost=unit_cost,
                                 note=f"Expected arrival {arrival.id}")
    arrival.quantity_received += quantity
    done = arrival.outstanding == 0
    if done:
        arrival.received_at = utcnow()
    move_arrival(arrival, ArrivalStatus.RECEIVED if done else ArrivalStatus.OPEN,
                 audit=_entry(session, "expected_arrival.received", actor, units=quantity))
    filled = fill_backorders(session, variant_id=arrival.variant_id, warehouse=arrival.warehouse,
                             actor=actor, reference=reference, waiting=waiting)
    return Receipt(movement, filled)


def reschedule_arrival(session: Session, arrival_id: int, *, expected_on: dt.date | None,
                       actor: audit.Actor, today: dt.date | None = None) -> list[MovedOrder]:
    """The arrival comes on another day: re-promise the lines waiting for it and tell the
    customers whose delivery moves later. Flushes."""
    today = today or clock.business_date(utcnow())
    arrival = _lock_arrival(session, arrival_id)
    if arrival.status != ArrivalStatus.OPEN:
        raise ArrivalError("Only an expected arrival can change its date.")
    if expected_on is None or expected_on < today:
        raise ArrivalError("Enter the new day the goods are expected, today or later.",
                           field="expected_on")
    before = arrival.expected_on
    arrival.expected_on = expected_on
    audit.record(session, "expected_arrival.rescheduled", actor=actor, channel=CHANNEL,
                 subject=arrival, data={"from": before.isoformat(), "to": expected_on.isoformat()})
    session.flush()
    return repromise(session, variant_id=arrival.variant_id, warehouse=arrival.warehouse,
                     actor=actor, today=today)


def cancel_arrival(session: Session, arrival_id: int, *, actor: audit.Actor,
                   today: dt.date | None = None) -> list[MovedOrder]:
    """The supplier will not deliver: the arrival is cancelled and the lines waiting for it
    re-promised (customers told). Flushes."""
    arrival = _lock_arrival(session, arrival_id)
    move_arrival(arrival, ArrivalStatus.CANCELLED,
                 audit=_entry(session, "expected_arrival.cancelled", actor))
    session.flush()
    return repromise(session, variant_id=arrival.variant_id, warehouse=arrival.warehouse,
                     actor=actor, today=today or clock.business_date(utcnow()))


def repromise(session: Session, *, variant_id: int, warehouse: str, actor: audit.Actor,
              today: dt.date) -> list[MovedOrder]:
    """Promise the backordered lines of the variant in the warehouse again, oldest order
    first, against the open arrivals in date order (else the supplier's lead time). Lines
    that now ship later take the new dates; an event per order tells its customer."""
    lines = _waiting_lines(session, variant_id, warehouse)
    if not lines:
        return []
    coming = list(session.execute(
        select(ExpectedArrival.expected_on,
               ExpectedArrival.quantity - ExpectedArrival.quantity_received)
        .where(ExpectedArrival.variant_id == variant_id, ExpectedArrival.warehouse == warehouse,
               ExpectedArrival.status == ArrivalStatus.OPEN)
        .order_by(ExpectedArrival.expected_on, ExpectedArrival.id)))
    item = inventory.facts(session, [variant_id]).get(variant_id)
    lead = inventory.add_working_days(today, item.lead_days if item else inventory.BACKORDER_DAYS)
    need, moved = 0, {}
    for line in lines:
        need += line.quantity_backordered
        covered, day = 0, None
        for arrival_on, units in coming:
            covered += int(units)
            if covered >= need:
                day = inventory.add_working_days(max(arrival_on, today), inventory.DISPATCH_DAYS)
                break
        ships_on = day or lead
        if line.ships_on is None or ships_on > line.ships_on:
            _set_ship_day(line, ships_on)
            moved.setdefault(line.order_id, []).append(line)
    answer = []
    for lines_moved in moved.values():
        order = lines_moved[0].order
        days = [l.promised_date for l in order.lines if l.promised_date]
        if days and (order.promised_date is None or max(days) > order.promised_date):
            order.promised_date = max(days)
        found = MovedOrder(order.id, order.number, order.email, order.promised_date,
                           tuple((l.sku, l.name, l.promised_date) for l in lines_moved))
        answer.append(found)
        audit.record(session, "order.delivery_moved", actor=actor, channel=CHANNEL,
                     subject=order, data={"promised_date": order.promised_date.isoformat()
                                          if order.promised_date else None})
        events.record(session, events.DeliveryMoved(
            order.id, order.number, order.email,
            order.promised_date.isoformat() if order.promised_date else "",
            tuple((sku, name, day.isoformat()) for sku, name, day in found.lines)))
    session.flush()
    return answer
