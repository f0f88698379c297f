"""The shipment's transition table (DESIGN.md, "States").

created -> picked -> shipped -> delivered; a shipment packed and handed to the carrier in
one go skips "picked" (created -> shipped).
"""
from __future__ import annotations

from core.errors import DomainError

TRANSITIONS: dict[str, set[str]] = {
    "created": {"picked", "shipped"},
    "picked": {"shipped"},
    "shipped": {"delivered"},
    "delivered": set(),
}
LABELS = {"created": "Created", "picked": "Picked", "shipped": "Shipped",
          "delivered": "Delivered"}


class IllegalShipmentTransition(DomainError):
    code = "illegal_shipment_transition"


def check(current: str, target: str) -> None:
    """Raise IllegalShipmentTransition unless the table allows current -> target."""
    if target not in TRANSITIONS.get(current, set()):
        raise IllegalShipmentTransition(
            f"A shipment that is {LABELS.get(current, current).lower()} cannot become "
            f"{LABELS.get(target, target).lower()}.")


def move(shipment, target: str) -> str:
    """Move `shipment` to `target` after checking the table; returns the previous status."""
    check(shipment.status, target)
    previous, shipment.status = shipment.status, target
    return previous


# What the warehouse reads of an order (core.orders.states has the order's own table):
# released and with units still to ship, and the payment states that let an order go.
RELEASED_ORDER_STATUSES = ("in_fulfilment", "partially_shipped")
SECURED_PAYMENT_STATES = ("authorised", "partially_captured", "captured")
