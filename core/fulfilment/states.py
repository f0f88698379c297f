"""The shipment's transition table (DESIGN.md, "States").

`move` is the only code that changes a shipment's status, and records the audit event it
is given with the shipment as its subject. The shipment's own moves are audited on its order
(order.shipped, order.shipment_delivered), so their callers record those events themselves.
"""
from __future__ import annotations

from enum import StrEnum

from core.audit import Entry
from core.errors import DomainError
from core.orders.states import OrderStatus, PaymentState
from core.statemachine import Machine


class ShipmentStatus(StrEnum):
    CREATED = "created"
    PICKED = "picked"
    SHIPPED = "shipped"
    DELIVERED = "delivered"


S = ShipmentStatus
TRANSITIONS: dict[str, set[str]] = {
    S.CREATED: {S.PICKED, S.SHIPPED},
    S.PICKED: {S.SHIPPED},
    S.SHIPPED: {S.DELIVERED},
    S.DELIVERED: set(),
}
LABELS = {S.CREATED: "Created", S.PICKED: "Picked", S.SHIPPED: "Shipped",
          S.DELIVERED: "Delivered"}


class IllegalShipmentTransition(DomainError):
    code = "illegal_shipment_transition"


SHIPMENT = Machine("shipment", ShipmentStatus, TRANSITIONS, labels=LABELS,
                   error=IllegalShipmentTransition, noun="A shipment",
                   columns=("shipments.status",),
                   doc="""created -> picked -> shipped -> delivered; a shipment packed and
handed to the carrier in one go skips "picked" (created -> shipped). Delivered is final.""")


def check(current: str, target: str) -> None:
    """Raise IllegalShipmentTransition unless the table allows current -> target."""
    SHIPMENT.check(current, target)


def move(shipment, target: str, *, audit: Entry | None = None) -> str:
    """Move `shipment` to `target` after checking the table and record `audit` on it;
    returns the previous status."""
    return SHIPMENT.move(shipment, target, audit=audit)


# What the warehouse reads of an order (core.orders.states has the order's own table):
# released and with units still to ship, and the payment states that let an order go.
RELEASED_ORDER_STATUSES = (OrderStatus.IN_FULFILMENT, OrderStatus.PARTIALLY_SHIPPED)
SECURED_PAYMENT_STATES = (PaymentState.AUTHORISED, PaymentState.PARTIALLY_CAPTURED,
                          PaymentState.CAPTURED)
