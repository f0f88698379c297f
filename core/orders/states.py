"""The sales order's transition table (DESIGN.md, "States")."""
from __future__ import annotations

from core.errors import DomainError

TRANSITIONS: dict[str, set[str]] = {
    "draft": {"pending_payment", "confirmed", "cancelled"},
    "pending_payment": {"confirmed", "cancelled"},
    "confirmed": {"in_fulfilment", "cancelled"},
    "in_fulfilment": {"partially_shipped", "shipped", "cancelled"},
    "partially_shipped": {"shipped"},
    "shipped": {"completed"},
    "completed": set(),
    "cancelled": set(),
}
LABELS = {"draft": "Draft", "pending_payment": "Awaiting payment", "confirmed": "Confirmed",
          "in_fulfilment": "Being prepared", "partially_shipped": "Partly shipped",
          "shipped": "Shipped", "completed": "Completed", "cancelled": "Cancelled"}
CANCELLABLE = {s for s, targets in TRANSITIONS.items() if "cancelled" in targets}


class IllegalTransition(DomainError):
    code = "illegal_transition"


def check(current: str, target: str) -> None:
    """Raise IllegalTransition unless the table allows current -> target."""
    if target not in TRANSITIONS.get(current, set()):
        raise IllegalTransition(
            f"An order that is {LABELS.get(current, current).lower()} cannot become "
            f"{LABELS.get(target, target).lower()}.")


def move(order, target: str) -> str:
    """Move `order` to `target` after checking the table; returns the previous status."""
    check(order.status, target)
    previous, order.status = order.status, target
    return previous
