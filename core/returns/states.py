"""The return's transition table (DESIGN.md, "States"). `move_return` is the only code
that changes a return's status; it records the audit event the caller names.

    requested -> approved | rejected | closed (withdrawn)
    approved -> label_sent | partly_received | received | closed; refunded or exchanged
                (goods worth too little to send back are kept)
    label_sent -> partly_received | received | closed
    partly_received -> received | closed
    received -> refunded | exchanged | closed
    refunded, exchanged -> closed

Money follows the goods: each receipt credits what came in, so a partly received return
has been refunded for its received part; it becomes refunded (or exchanged) once all of it
is in and settled. A return refunded without the goods (policy: not worth sending back)
goes straight from approved to refunded.
"""
from __future__ import annotations

from enum import StrEnum

from core.audit import Entry
from core.errors import DomainError
from core.statemachine import Machine


class ReturnStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    LABEL_SENT = "label_sent"
    PARTLY_RECEIVED = "partly_received"
    RECEIVED = "received"
    REFUNDED = "refunded"
    EXCHANGED = "exchanged"
    CLOSED = "closed"


class IllegalReturnTransition(DomainError):
    code = "illegal_return_transition"


R = ReturnStatus
TRANSITIONS: dict[str, set[str]] = {
    R.REQUESTED: {R.APPROVED, R.REJECTED, R.CLOSED},
    R.APPROVED: {R.LABEL_SENT, R.PARTLY_RECEIVED, R.RECEIVED, R.REFUNDED, R.EXCHANGED,
                 R.CLOSED},
    R.LABEL_SENT: {R.PARTLY_RECEIVED, R.RECEIVED, R.CLOSED},
    R.PARTLY_RECEIVED: {R.RECEIVED, R.CLOSED},
    R.RECEIVED: {R.REFUNDED, R.EXCHANGED, R.CLOSED},
    R.REFUNDED: {R.CLOSED},
    R.EXCHANGED: {R.CLOSED},
    R.REJECTED: set(),
    R.CLOSED: set(),
}
LABELS = {R.REQUESTED: "Requested", R.APPROVED: "Approved", R.REJECTED: "Rejected",
          R.LABEL_SENT: "Label sent", R.PARTLY_RECEIVED: "Partly received",
          R.RECEIVED: "Received", R.REFUNDED: "Refunded", R.EXCHANGED: "Exchanged",
          R.CLOSED: "Closed"}
# The goods may still arrive in these states.
AWAITING_GOODS = frozenset({R.APPROVED, R.LABEL_SENT, R.PARTLY_RECEIVED})
OPEN = frozenset({R.REQUESTED, *AWAITING_GOODS, R.RECEIVED})

RETURN = Machine("return", ReturnStatus, TRANSITIONS, labels=LABELS,
                 error=IllegalReturnTransition, noun="A return", columns=("returns.status",),
                 doc=__doc__)


def move_return(rma, target: ReturnStatus, *, audit: Entry | None = None) -> str:
    """The one door to a return's status."""
    return RETURN.move(rma, target, audit=audit)


def label(status: str) -> str:
    return RETURN.label(status)
