"""The expected arrival's transition table (DESIGN.md, "States"). `move_arrival` is the
only code that changes an arrival's status.

    open -> open (part received: the rest is still expected) | received (every unit came,
            or the rest will not come) | cancelled (the supplier will not deliver)
    received, cancelled: final.
"""
from __future__ import annotations

from enum import StrEnum

from core.audit import Entry
from core.errors import DomainError
from core.statemachine import Machine


class ArrivalStatus(StrEnum):
    OPEN = "open"
    RECEIVED = "received"
    CANCELLED = "cancelled"


class IllegalArrivalTransition(DomainError):
    code = "illegal_arrival_transition"


A = ArrivalStatus
TRANSITIONS: dict[str, set[str]] = {
    A.OPEN: {A.OPEN, A.RECEIVED, A.CANCELLED},
    A.RECEIVED: set(),
    A.CANCELLED: set(),
}
LABELS = {A.OPEN: "Expected", A.RECEIVED: "Received", A.CANCELLED: "Cancelled"}

ARRIVAL = Machine("expected_arrival", ArrivalStatus, TRANSITIONS, labels=LABELS,
                  error=IllegalArrivalTransition, noun="An expected arrival",
                  columns=("expected_arrivals.status",), doc=__doc__)


def move_arrival(arrival, target: ArrivalStatus, *, audit: Entry | None = None) -> str:
    """The one door to an expected arrival's status."""
    return ARRIVAL.move(arrival, target, audit=audit)


def label(status: str) -> str:
    return ARRIVAL.label(status)
