"""Read side of fulfilment: an order's shipments (for the customer and the console), and
the warehouse's two worklists, "to release" and "to ship". Each runs a fixed number of
queries whatever the number of orders, lines or shipments."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from core import clock
from core.customers.models import Customer
from core.db import like_escape
from core.fulfilment import carriers, states
from core.fulfilment.models import Shipment, ShipmentLine
from core.orders.models import Order, OrderHold, OrderLine
from core.orders.shipping import ShippingMethod
from core.paging import Page, paginate


@dataclass(frozen=True)
class ShippedItem:
    sku: str
    name: str
    quantity: int


@dataclass(frozen=True)
class ShipmentInfo:
    """A shipment as people read it: carrier by name, a tracking link, what was in it."""

    id: int
    number: str
    status: str
    carrier_code: str
    tracking_number: str
    shipped_at: dt.datetime | None
    delivered_at: dt.datetime | None
    items: list[ShippedItem]

    @property
    def carrier(self) -> str:
        return carriers.name(self.carrier_code)

    @property
    def tracking_link(self) -> str | None:
        return carriers.tracking_link(self.carrier_code, self.tracking_number)

    @property
    def status_label(self) -> str:
        return states.LABELS.get(self.status, self.status)

    @property
    def deliverable(self) -> bool:
        return "delivered" in states.TRANSITIONS.get(self.status, set())


def shipping_method_name(session: Session, code: str) -> str:
    """The shipping method's name as people read it ("Standard delivery"), not its code.
    One query."""
    return session.scalar(select(ShippingMethod.name).where(ShippingMethod.code == code)) or code


def shipments_for_order(session: Session, order_id: int) -> list[ShipmentInfo]:
    """The order's shipments, oldest first, with their items. One query."""
    rows = session.execute(
        select(Shipment, ShipmentLine.quantity, OrderLine.sku, OrderLine.name)
        .join(ShipmentLine, ShipmentLine.shipment_id == Shipment.id)
        .join(OrderLine, OrderLine.id == ShipmentLine.order_line_id)
        .where(Shipment.order_id == order_id)
        .order_by(Shipment.id, ShipmentLine.id)).all()
    found: dict[int, ShipmentInfo] = {}
    for shipment, quantity, sku, name in rows:
        info = found.get(shipment.id)
        if info is None:
            info = found[shipment.id] = ShipmentInfo(
                shipment.id, shipment.number, shipment.status, shipment.carrier,
                shipment.tracking_number, shipment.shipped_at, shipment.delivered_at, [])
        info.items.append(ShippedItem(sku, name, quantity))
    return list(found.values())


def shipment_info(shipment: Shipment) -> ShipmentInfo:
    """One shipment, its lines and their order lines already loaded (the e-mail)."""
    return ShipmentInfo(shipment.id, shipment.number, shipment.status, shipment.carrier,
                        shipment.tracking_number, shipment.shipped_at, shipment.delivered_at,
                        [ShippedItem(l.order_line.sku, l.order_line.name, l.quantity)
                         for l in shipment.lines])


# -- worklists -------------------------------------------------------------------------------


def _page(session: Session, stmt, conditions, order_by, page: int, per_page: int,
          *options) -> Page[tuple[Order, str]]:
    """A page of (order, customer name) rows."""
    found = paginate(session, stmt.outerjoin(Customer, Customer.id == Order.customer_id)
                     .where(*conditions).options(*options).order_by(*order_by),
                     page=page, per_page=per_page,
                     count=select(func.count()).select_from(Order).where(*conditions))
    return found.map(lambda row: (row[0], row[1] or "Guest"))


def _number_condition(query: str):
    """Orders whose number contains what was typed, literally: % and _ match themselves."""
    query = (query or "").strip().upper()
    if not query:
        return None
    return Order.number.like(f"%{like_escape(query)}%", escape="\\")


@dataclass(frozen=True)
class ReleaseFilters:
    number: str = ""
    payment: str = ""  # "" | card | on_account
    placed_before: dt.date | None = None


def releasable_condition():
    """Confirmed, no active hold, money secured: what services.release_refusal lets go."""
    active_hold = exists().where(OrderHold.order_id == Order.id,
                                 OrderHold.released_at.is_(None))
    return and_(Order.status == "confirmed", ~active_hold,
                or_(Order.payment_method.in_(("on_account", "exchange")),
                    Order.payment_state.in_(states.SECURED_PAYMENT_STATES)))


def to_release(session: Session, filters: ReleaseFilters, *, page: int = 1,
               per_page: int = 50) -> Page[tuple[Order, str]]:
    """Orders ready to go to the warehouse, oldest first. Two queries."""
    conditions = [releasable_condition()]
    if (by_number := _number_condition(filters.number)) is not None:
        conditions.append(by_number)
    if filters.payment == "on_account":
        conditions.append(Order.payment_method == "on_account")
    elif filters.payment == "card":
        conditions.append(Order.payment_method != "on_account")
    if filters.placed_before:
        conditions.append(Order.placed_at < clock.day_start(filters.placed_before))
    return _page(session, select(Order, Customer.name), conditions,
                 (Order.placed_at, Order.id), page, per_page)


@dataclass(frozen=True)
class ShipFilters:
    number: str = ""
    status: str = ""  # "" | in_fulfilment | partially_shipped
    promised_by: dt.date | None = None


def to_ship(session: Session, filters: ShipFilters, *, page: int = 1,
            per_page: int = 50) -> Page[tuple[Order, str]]:
    """Released orders with units still to ship, the earliest promised first, with their
    lines and holds. Four queries."""
    conditions = [Order.status.in_(states.RELEASED_ORDER_STATUSES)]
    if filters.status in states.RELEASED_ORDER_STATUSES:
        conditions.append(Order.status == filters.status)
    if (by_number := _number_condition(filters.number)) is not None:
        conditions.append(by_number)
    if filters.promised_by:
        conditions.append(Order.promised_date <= filters.promised_by)
    return _page(session, select(Order, Customer.name), conditions,
                 (Order.promised_date.is_(None), Order.promised_date, Order.released_at,
                  Order.id),
                 page, per_page, selectinload(Order.lines), selectinload(Order.holds))
