"""Fulfilment: release confirmed orders to the warehouse, pick, ship (in full or in part),
invoice each shipment, and mark shipments delivered.

The policy:

* Release: only a confirmed order with no active hold whose money is secured goes to the
  warehouse: a card authorised (or already captured), or an on-account order. A batch
  releases what it can and says why it left the rest.
* Ship: any quantity from 1 to what is still outstanding on a line (ordered - shipped);
  at least one line. Shipped units leave stock on hand and their reservation together;
  what is not shipped yet (a backorder) stays reserved and ships later. The order becomes
  partially_shipped, or shipped once every unit has left. A hold placed after release
  stops shipping too. Each shipment is invoiced in the same transaction.
* A supplier's shipment of drop-shipped lines is recorded when the supplier tells us, on
  hold or not, and whether or not the order ships complete: that parcel has left already.
* Carriers that track need a tracking number (letters, digits and hyphens).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from core import audit
from core.billing import invoicing
from core.billing.models import Invoice
from core.db import utcnow
from core.errors import DomainError, NotFound
from core.fulfilment import carriers, states
from core.fulfilment.states import ShipmentStatus
from core.fulfilment.models import Shipment, ShipmentLine
from core.customers.addresses import COUNTRIES
from core.inventory import bins
from core.inventory import services as inventory
from core.inventory.models import StockLevel
from core.orders import holds
from core.orders import states as order_states
from core.orders.states import OrderStatus
from core.orders.models import Order, OrderLine
from core.orders.shipping import ShippingMethod

CHANNEL = "console"
RELEASED = states.RELEASED_ORDER_STATUSES
SECURED_PAYMENT_STATES = states.SECURED_PAYMENT_STATES
MAX_BATCH = 200
TRACKING_NUMBER = re.compile(r"[A-Za-z0-9-]{4,80}")


class FulfilmentError(DomainError):
    code = "fulfilment"


class NotReleasable(FulfilmentError):
    code = "not_releasable"


# -- release -------------------------------------------------------------------------------


def payment_secured(order: Order) -> bool:
    """The card is authorised (or charged), the customer buys on account, or the order
    replaces returned goods (paid by the return)."""
    return (order.payment_method in ("on_account", "exchange")
            or order.payment_state in SECURED_PAYMENT_STATES)


def release_refusal(order: Order) -> str | None:
    """Why `order` cannot go to the warehouse now; None when it can."""
    if order.status != "confirmed":
        label = order_states.LABELS.get(order.status, order.status).lower()
        return (f"Order {order.number} is {label}; only a confirmed order is sent to "
                "the warehouse.")
    try:
        holds.assert_releasable(order)
    except holds.OrderOnHold as err:
        return str(err)
    if not payment_secured(order):
        return (f"Order {order.number} is not paid: its card payment is not authorised. "
                "Take the card or send a payment link first.")
    return None


def release_order(session: Session, order: Order, *, actor: audit.Actor) -> None:
    """Send one order to the warehouse, or raise NotReleasable saying why not. Flushes."""
    if problem := release_refusal(order):
        raise NotReleasable(problem)
    order_states.move(order, OrderStatus.IN_FULFILMENT, audit=audit.Entry(
        session, "order.released", actor, CHANNEL, {"number": order.number}))
    order.released_at = utcnow()
    session.flush()


@dataclass(frozen=True)
class ReleaseResult:
    released: list[Order]
    refused: list[tuple[str, str]]  # (order number, or the id asked for; why not)


def release_orders(session: Session, order_ids: Iterable[int], *,
                   actor: audit.Actor) -> ReleaseResult:
    """Release every order of the batch that may go; report the others with the reason.

    The orders are locked in id order (two people releasing overlapping batches queue
    instead of deadlocking). Flushes; the caller commits.
    """
    ids = sorted(set(order_ids))
    if not ids:
        raise NotReleasable("Choose at least one order to release.", field="order")
    if len(ids) > MAX_BATCH:
        raise NotReleasable(f"Release at most {MAX_BATCH} orders at a time.", field="order")
    found = {o.id: o for o in session.scalars(
        select(Order).where(Order.id.in_(ids)).order_by(Order.id)
        .options(selectinload(Order.holds)).with_for_update()
        .execution_options(populate_existing=True))}
    released, refused = [], []
    for order_id in ids:
        order = found.get(order_id)
        if order is None:
            refused.append((str(order_id), "There is no such order."))
        elif problem := release_refusal(order):
            refused.append((order.number, problem))
        else:
            release_order(session, order, actor=actor)
            released.append(order)
    return ReleaseResult(released, refused)


# -- the pick list -------------------------------------------------------------------------


@dataclass(frozen=True)
class PickLine:
    """One order's share of an item on the pick list."""

    order_id: int
    order_number: str
    order_line_id: int
    outstanding: int  # ordered - shipped
    reserved: int
    backordered: int = 0  # waiting for stock: not on the shelf, not picked
    warehouse: str | None = None

    @property
    def to_pick(self) -> int:
        """Only reserved units are on the shelf for the order."""
        return min(self.outstanding, self.reserved)


@dataclass(frozen=True)
class PickItem:
    """One SKU to take from one warehouse's shelves (a picker works in one warehouse)."""

    warehouse: str
    sku: str
    name: str
    lines: list[PickLine]
    bin_location: str = ""  # where it sits in the warehouse; "" when nobody said

    @property
    def outstanding(self) -> int:
        return sum(l.outstanding for l in self.lines)

    @property
    def reserved(self) -> int:
        return sum(l.reserved for l in self.lines)

    @property
    def to_pick(self) -> int:
        return sum(l.to_pick for l in self.lines)

    @property
    def backordered(self) -> int:
        """Units of the SKU the orders wait for in this warehouse, fully backordered lines
        included: not on the shelf, not picked."""
        return sum(l.backordered for l in self.lines)

    @property
    def picked_lines(self) -> list[PickLine]:
        """The orders' lines with units to take off the shelf."""
        return [l for l in self.lines if l.to_pick]


@dataclass(frozen=True)
class PickOrder:
    """Where one order on the pick list goes, and how: its parcel's ship-to and method."""

    id: int
    number: str
    ship_to: dict  # the order's shipping address snapshot
    shipping_method: str  # by name, as people read it

    @property
    def ship_to_name(self) -> str:
        a = self.ship_to or {}
        return ", ".join(p for p in (a.get("full_name", ""), a.get("company", "")) if p)

    @property
    def ship_to_place(self) -> str:
        a = self.ship_to or {}
        country = COUNTRIES.get(a.get("country", ""), a.get("country", ""))
        return ", ".join(p for p in (a.get("city", ""), country) if p)


@dataclass(frozen=True)
class PickList:
    items: list[PickItem]  # in walking order: by warehouse, bin (no bin last), then SKU
    order_numbers: list[str]  # the released orders it covers
    skipped: int  # orders asked for that are not with the warehouse (or fully shipped)
    orders: list[PickOrder] = field(default_factory=list)  # those orders, by number


def walking_order(item: PickItem) -> tuple:
    """A picker's path: warehouse, then bin in natural order ("A-2" before "A-10", no bin
    last), then SKU."""
    return (item.warehouse, bins.walking_key(item.bin_location), item.sku)


def pick_list(session: Session, order_ids: Iterable[int]) -> PickList:
    """What to take off the shelves for the selected released orders, in walking order
    (warehouse, bin, SKU), with each order's outstanding quantity, ship-to and shipping
    method. Only reserved units are picked: backordered units wait for stock (they are
    counted, to say so), drop-shipped lines for their supplier, and an order that ships
    complete waits whole while any line is backordered.
    One query, whatever the number of orders or lines."""
    ids = set(order_ids)
    other = aliased(OrderLine)
    waiting = exists(select(other.id).where(other.order_id == Order.id,
                                            other.quantity_backordered > 0))
    rows = session.execute(
        select(OrderLine, Order.number, Order.shipping_address, Order.shipping_method,
               ShippingMethod.name, StockLevel.bin_location)
        .join(Order, Order.id == OrderLine.order_id)
        .outerjoin(ShippingMethod, ShippingMethod.code == Order.shipping_method)
        .outerjoin(StockLevel, and_(StockLevel.variant_id == OrderLine.variant_id,
                                    StockLevel.warehouse == OrderLine.warehouse))
        .where(Order.id.in_(ids), Order.status.in_(RELEASED),
               OrderLine.quantity > OrderLine.quantity_shipped,
               or_(OrderLine.quantity_reserved > 0, OrderLine.quantity_backordered > 0),
               OrderLine.warehouse.is_not(None),
               or_(Order.ship_complete.is_(False), ~waiting))
        .order_by(OrderLine.warehouse, OrderLine.sku, Order.number, OrderLine.id)
    ).all() if ids else []
    items: dict[tuple[str, str], PickItem] = {}
    orders: dict[str, PickOrder] = {}
    for line, number, ship_to, method_code, method_name, bin_location in rows:
        item = items.setdefault((line.warehouse, line.sku),
                                PickItem(line.warehouse, line.sku, line.name, [],
                                         bin_location or ""))
        item.lines.append(PickLine(line.order_id, number, line.id,
                                   line.quantity - line.quantity_shipped, line.quantity_reserved,
                                   line.quantity_backordered or 0, line.warehouse))
        orders.setdefault(number, PickOrder(line.order_id, number, ship_to or {},
                                            method_name or method_code))
    picked = sorted((item for item in items.values() if item.to_pick), key=walking_order)
    numbers = sorted({l.order_number for item in picked for l in item.picked_lines})
    return PickList(picked, numbers, len(ids) - len(numbers), [orders[n] for n in numbers])


# -- shipping ------------------------------------------------------------------------------


def outstanding(line: OrderLine) -> int:
    return line.quantity - line.quantity_shipped


def partly_shipped(order) -> bool:
    """Something of the order has shipped already."""
    return any(line.quantity_shipped for line in order.lines)


def ship_now_default(line: OrderLine, *, fill: bool) -> int:
    """What a line's Ship-now box offers: with `fill`, what is outstanding and reserved.
    The ship page fills it for an order's first shipment; after a partial shipment it
    offers 0 and shows what is outstanding (as Odoo's backorder does), so that a reflex
    second click on Ship refuses ("Enter a quantity ...") instead of sending the rest;
    the warehouse fills in the rest deliberately."""
    return min(outstanding(line), line.quantity_reserved) if fill else 0


def normalise_tracking_number(carrier: carriers.Carrier, raw: str | None) -> str:
    """The tracking number without the spaces people type; required for a carrier that
    tracks, letters, digits and hyphens only."""
    number = re.sub(r"\s+", "", raw or "")
    if not carrier.tracks:
        if number:
            raise FulfilmentError(f"{carrier.name} has no tracking numbers; leave it empty.",
                                  field="tracking_number")
        return ""
    if not number:
        raise FulfilmentError(f"Enter the {carrier.name} tracking number.",
                              field="tracking_number")
    if not TRACKING_NUMBER.fullmatch(number):
        raise FulfilmentError("A tracking number has 4 to 80 letters, digits or hyphens.",
                              field="tracking_number")
    return number


def _carrier(code: str) -> carriers.Carrier:
    carrier = carriers.get(code or "")
    if carrier is None:
        raise FulfilmentError("Choose the carrier from the list.", field="carrier")
    return carrier


def _check_shippable(order: Order, *, drop_shipped: bool = False) -> None:
    """Only a released order ships. Our own parcel waits while the order ships complete and
    a unit is backordered, and while the order is on hold. A supplier's parcel
    (`drop_shipped`) has left already when we hear of it: it is recorded (and invoiced)
    whatever the holds and the ship-complete wish, which concern our parcels only; the
    card is then collected as for any shipment."""
    if order.status not in RELEASED:
        label = order_states.LABELS.get(order.status, order.status).lower()
        raise FulfilmentError(f"Order {order.number} is {label}; only an order released to "
                              "the warehouse with units still to ship can ship.")
    if drop_shipped:
        return
    if order.ship_complete and any(l.quantity_backordered for l in order.lines):
        raise FulfilmentError(f"Order {order.number} ships complete, as the customer asked, "
                              "and some units are still on backorder.")
    if order.on_hold:
        names = "; ".join(holds.describe(h) for h in order.active_holds)
        raise FulfilmentError(f"Order {order.number} is on hold ({names}). Release the holds "
                              "before shipping it.")


def _picked(order: Order, quantities: Mapping[int, int], *, drop_shipped: bool = False
            ) -> list[tuple[OrderLine, int]]:
    """The (line, quantity) pairs to ship, each 1..outstanding; zero quantities are left out.
    Our own shipment takes lines from our warehouses, a supplier's only drop-shipped ones."""
    lines = {line.id: line for line in order.lines}
    picked = []
    for line_id, quantity in quantities.items():
        line = lines.get(line_id)
        if line is None:
            raise FulfilmentError(f"That line is not on order {order.number}.")
        if quantity == 0:
            continue
        left = outstanding(line)
        if left == 0:
            raise FulfilmentError(f"{line.sku} has shipped in full.", field=f"qty-{line.id}")
        if quantity < 0 or quantity > left:
            raise FulfilmentError(f"Ship from 1 to {left} of {line.sku}, or 0 to leave it "
                                  "for later.", field=f"qty-{line.id}")
        if drop_shipped:
            if line.warehouse is not None:
                raise FulfilmentError(f"{line.sku} ships from our warehouse, not from the "
                                      "supplier.", field=f"qty-{line.id}")
        elif line.warehouse is None:
            raise FulfilmentError(f"{line.sku} is drop-shipped: its supplier ships it and "
                                  "records the shipment on the purchase order.",
                                  field=f"qty-{line.id}")
        elif quantity > line.quantity_reserved:
            raise FulfilmentError(f"Only {line.quantity_reserved} of {line.sku} are reserved "
                                  "for this order; count the stock and correct it first.",
                                  field=f"qty-{line.id}")
        picked.append((line, quantity))
    if not picked:
        raise FulfilmentError("Enter a quantity for at least one line.")
    return picked


def _next_number(session: Session, order: Order) -> str:
    """SO-000123-1, -2, ...: the order's lock keeps two shipments from taking one number."""
    shipped = session.scalar(select(func.count()).select_from(Shipment)
                             .where(Shipment.order_id == order.id)) or 0
    return f"{order.number}-{shipped + 1}"


@dataclass(frozen=True)
class Shipped:
    shipment: Shipment
    invoice: Invoice


def ship(session: Session, order: Order, quantities: Mapping[int, int], *, carrier: str,
         tracking_number: str, actor: audit.Actor) -> Shipment:
    """Ship `quantities` (order line id -> units) of the locked `order` and invoice them.
    Flushes; the caller commits (see core.workflows.shipping.ship_order)."""
    return ship_and_invoice(session, order, quantities, carrier=carrier,
                            tracking_number=tracking_number, actor=actor).shipment


def ship_and_invoice(session: Session, order: Order, quantities: Mapping[int, int], *,
                     carrier: str, tracking_number: str, actor: audit.Actor) -> Shipped:
    """ship(), answering with the invoice as well (the flow collects it after commit)."""
    shipment = _ship_goods(session, order, quantities, carrier=carrier,
                           tracking_number=tracking_number, actor=actor)
    invoice = invoicing.invoice_shipment(session, shipment, actor=actor)
    return Shipped(shipment, invoice)


def ship_drop_shipped(session: Session, order: Order, quantities: Mapping[int, int], *,
                      purchase_order_id: int, carrier: str, tracking_number: str,
                      actor: audit.Actor) -> Shipped:
    """A supplier shipped drop-shipped `quantities` (order line id -> units) of the locked
    `order` to the customer: a shipment of the purchase order, invoiced as ours are, with
    no stock movement (the goods never were ours). Recorded on hold and for an order that
    ships complete with units on backorder too: the supplier's parcel has left. Flushes; the caller commits (see
    core.workflows.drop_shipment)."""
    shipment = _ship_goods(session, order, quantities, carrier=carrier,
                           tracking_number=tracking_number, actor=actor,
                           purchase_order_id=purchase_order_id)
    invoice = invoicing.invoice_shipment(session, shipment, actor=actor)
    return Shipped(shipment, invoice)


def _ship_goods(session: Session, order: Order, quantities: Mapping[int, int], *,
                carrier: str, tracking_number: str, actor: audit.Actor,
                purchase_order_id: int | None = None) -> Shipment:
    ours = purchase_order_id is None
    _check_shippable(order, drop_shipped=not ours)
    chosen = _carrier(carrier)
    number = normalise_tracking_number(chosen, tracking_number)
    picked = _picked(order, quantities, drop_shipped=not ours)
    now = utcnow()
    shipment = Shipment(number=_next_number(session, order), order_id=order.id,
                        status=ShipmentStatus.CREATED, carrier=chosen.code, tracking_number=number,
                        created_by=actor.label, created_at=now, purchase_order_id=purchase_order_id,
                        lines=[ShipmentLine(order_line_id=l.id, quantity=q) for l, q in picked])
    states.move(shipment, ShipmentStatus.SHIPPED)
    shipment.shipped_at = now
    session.add(shipment)
    if ours:
        inventory.ship_out(session, [(l.variant_id, l.warehouse, q) for l, q in picked],
                           reference=shipment.number, by=actor.label,
                           skus={l.variant_id: l.sku for l, _ in picked})
    for line, quantity in picked:
        line.quantity_shipped += quantity
        if ours:
            line.quantity_reserved -= quantity
    target = (OrderStatus.SHIPPED if all(outstanding(l) == 0 for l in order.lines)
              else OrderStatus.PARTIALLY_SHIPPED)
    shipped = audit.Entry(session, f"order.{target}", actor, CHANNEL,
                          {"shipment": shipment.number, "carrier": chosen.code,
                           "tracking_number": number, "lines": {l.sku: q for l, q in picked}})
    if order.status != target:
        order_states.move(order, target, audit=shipped)
    else:  # a further part shipped: the order stays partly shipped, the shipment is audited
        shipped.record(order)
    session.flush()
    return shipment


# -- delivery ------------------------------------------------------------------------------


def get_shipment(session: Session, shipment_id: int, *, lock: bool = False) -> Shipment:
    stmt = (select(Shipment).where(Shipment.id == shipment_id)
            .options(selectinload(Shipment.lines)))
    shipment = session.scalar(stmt.with_for_update().execution_options(populate_existing=True)
                              if lock else stmt)
    if shipment is None:
        raise NotFound("We could not find that shipment.")
    return shipment


def mark_delivered(session: Session, shipment: Shipment, *, actor: audit.Actor) -> Shipment:
    """The carrier delivered the shipment. Flushes; the caller commits."""
    states.move(shipment, ShipmentStatus.DELIVERED)
    shipment.delivered_at = utcnow()
    order = shipment.order
    audit.record(session, "order.shipment_delivered", actor=actor, channel=CHANNEL,
                 subject=order, data={"shipment": shipment.number})
    session.flush()
    if order.status == "shipped" and not session.scalar(
            select(Shipment.id).where(Shipment.order_id == order.id,
                                      Shipment.status != "delivered").limit(1)):
        # Everything ordered has shipped and every parcel arrived: the order is complete.
        order_states.move(order, OrderStatus.COMPLETED, audit=audit.Entry(
            session, "order.completed", actor, CHANNEL, {"shipment": shipment.number}))
        session.flush()
    return shipment
