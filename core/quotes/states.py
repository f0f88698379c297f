"""The quote's transition table (DESIGN.md, "States"). `move_quote` is the only code that
changes a quote's status; it records the audit event the caller names.

    draft -> sent (an agent priced it and sent it) | rejected (an agent declines a buyer's
             request, saying why)
    sent -> accepted (the buyer accepted it before it expired: an order was placed at the
            quoted prices) | rejected (the buyer declined it, saying why) | expired (its
            expiry date passed: the periodic task, or an attempt to accept it too late)
    accepted -> accepted (accepted again: the order it became was cancelled, by the
            company's approver, the buyer, an agent or an unpaid card, and its date has
            not passed; a new order is placed at the same prices)
    rejected, expired: final. A new quote is made for a new offer.

A draft does not expire: it is not an offer yet, and the agent sets its date when sending.
"""
from __future__ import annotations

from enum import StrEnum

from core.audit import Entry
from core.errors import DomainError
from core.statemachine import Machine


class QuoteStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"


class IllegalQuoteTransition(DomainError):
    code = "illegal_quote_transition"


Q = QuoteStatus
TRANSITIONS: dict[str, set[str]] = {
    Q.DRAFT: {Q.SENT, Q.REJECTED},
    Q.SENT: {Q.ACCEPTED, Q.REJECTED, Q.EXPIRED},
    Q.ACCEPTED: {Q.ACCEPTED},
    Q.REJECTED: set(),
    Q.EXPIRED: set(),
}
LABELS = {Q.DRAFT: "Being prepared", Q.SENT: "Sent", Q.ACCEPTED: "Accepted",
          Q.REJECTED: "Declined", Q.EXPIRED: "Expired"}
OPEN = frozenset({Q.DRAFT, Q.SENT})

QUOTE = Machine("quote", QuoteStatus, TRANSITIONS, labels=LABELS,
                error=IllegalQuoteTransition, noun="A quote", columns=("quotes.status",),
                doc=__doc__)


def move_quote(quote, target: QuoteStatus, *, audit: Entry | None = None) -> str:
    """The one door to a quote's status."""
    return QUOTE.move(quote, target, audit=audit)


def label(status: str) -> str:
    return QUOTE.label(status)
