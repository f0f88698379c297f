"""The purchase order's transition table (DESIGN.md, "States"). `move_purchase_order` is the
only code that changes a purchase order's status.

    sent -> shipped (the supplier shipped every line and we recorded its tracking) |
            partially_shipped (some lines shipped) | cancelled (the sales order was
            cancelled before the supplier shipped, and the supplier was told)
    partially_shipped -> partially_shipped (a further part shipped) | shipped
    shipped, cancelled: final.
"""
from __future__ import annotations

from enum import StrEnum

from core.audit import Entry
from core.errors import DomainError
from core.statemachine import Machine


class PurchaseOrderStatus(StrEnum):
    SENT = "sent"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


class IllegalPurchaseOrderTransition(DomainError):
    code = "illegal_purchase_order_transition"


P = PurchaseOrderStatus
TRANSITIONS: dict[str, set[str]] = {
    P.SENT: {P.SHIPPED, P.PARTIALLY_SHIPPED, P.CANCELLED},
    P.PARTIALLY_SHIPPED: {P.PARTIALLY_SHIPPED, P.SHIPPED},
    P.SHIPPED: set(),
    P.CANCELLED: set(),
}
LABELS = {P.SENT: "Sent to supplier", P.PARTIALLY_SHIPPED: "Partly shipped",
          P.SHIPPED: "Shipped by supplier", P.CANCELLED: "Cancelled"}

PURCHASE_ORDER = Machine("purchase_order", PurchaseOrderStatus, TRANSITIONS, labels=LABELS,
                         error=IllegalPurchaseOrderTransition, noun="A purchase order",
                         columns=("purchase_orders.status",), doc=__doc__)


def move_purchase_order(purchase_order, target: PurchaseOrderStatus, *,
                        audit: Entry | None = None) -> str:
    """The one door to a purchase order's status."""
    return PURCHASE_ORDER.move(purchase_order, target, audit=audit)


def label(status: str) -> str:
    return PURCHASE_ORDER.label(status)
