"""The order page: an order with its shipping method, status timeline and shipments, for the
customer who placed it (the shop) and as the core of the console's order view.

A read model over orders and fulfilment; finding the order (scoped to its buyer) is
core.orders.queries.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.billing import queries as billing_queries
from core.billing.models import Invoice
from core.customers.addresses import one_line
from core.fulfilment.queries import ShipmentInfo, shipments_for_order
from core.orders import holds, states
from core.orders.models import OrderHold
from core.orders.models import Order
from core.orders.queries import PAYMENT_LABELS, TimelineEntry, timeline
from core.orders.shipping import ShippingMethod


@dataclass(frozen=True)
class OrderDetail:
    order: Order
    shipping_method_name: str
    timeline: list[TimelineEntry] = field(default_factory=list)
    shipments: list[ShipmentInfo] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)  # with_documents only

    @property
    def status_label(self) -> str:
        return customer_status_label(self.order)

    @property
    def payment_label(self) -> str:
        return PAYMENT_LABELS.get(self.order.payment_state, self.order.payment_state)

    @property
    def shipping_address_line(self) -> str:
        return one_line(self.order.shipping_address or {})

    @property
    def cancellable(self) -> bool:
        return self.order.status in states.CANCELLABLE


def order_detail(session: Session, order: Order, *,
                 with_documents: bool = False) -> OrderDetail:
    """The order with the name of its shipping method, its status timeline and its
    shipments (carrier, tracking, items): three queries; `with_documents`, the invoices
    and credit notes issued for it too (the shop's order page lists them): one more."""
    method = session.scalar(select(ShippingMethod.name)
                            .where(ShippingMethod.code == order.shipping_method))
    return OrderDetail(order, method or order.shipping_method, timeline(session, order),
                       shipments_for_order(session, order.id),
                       billing_queries.order_invoices(session, order.id)
                       if with_documents else [])


# -- an order waiting for its company's approver (core.workflows.approvals) ----------------

AWAITING_APPROVAL = "Awaiting approval"


def awaiting_approval(order: Order) -> bool:
    """The order waits for an approver of its company (its holds are loaded: one query)."""
    return order.status != "cancelled" and any(
        holds.company_approval(h) for h in order.active_holds)


def customer_status_label(order: Order, *, waiting: bool | None = None) -> str:
    """The order's status as its buyer reads it: "Awaiting approval" while a company
    approver has to decide it, else the status's label. `waiting`: already known (a list
    page asks `awaiting_approval_ids` once for all its orders)."""
    if waiting is None:
        waiting = awaiting_approval(order)
    if waiting and order.status != "cancelled":
        return AWAITING_APPROVAL
    return states.LABELS.get(order.status, order.status)


def awaiting_approval_ids(session: Session, order_ids) -> set[int]:
    """Which of these orders wait for their company's approver: one query for a page."""
    ids = list(order_ids)
    if not ids:
        return set()
    return set(session.scalars(
        select(OrderHold.order_id).join(Order, Order.id == OrderHold.order_id)
        .where(OrderHold.order_id.in_(ids), OrderHold.released_at.is_(None),
               OrderHold.kind == "approval", OrderHold.reason_code == "spending_limit",
               Order.status != "cancelled")))
