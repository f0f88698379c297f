"""The payment attempt's transition table: one PaymentIntent's life as we record it.

`move_attempt` is the only code that changes a PaymentAttempt's status, and records the
audit event it is given with the attempt as its subject. Stripe's answers are audited on the
order (order.payment_voided, order.payment_captured, ...), so the code that asked Stripe
records those events itself.
"""
from __future__ import annotations

from enum import StrEnum

from core.audit import Entry
from core.errors import DomainError
from core.statemachine import Machine


class AttemptStatus(StrEnum):
    CREATING = "creating"  # recorded before Stripe is called
    REQUIRES_ACTION = "requires_action"  # 3-D Secure
    AUTHORISED = "authorised"
    CAPTURING = "capturing"  # a capture asked of Stripe, its answer not yet recorded
    CAPTURED = "captured"
    FAILED = "failed"
    EXPIRED = "expired"  # Stripe would not capture the authorisation any more
    VOIDED = "voided"  # an authorisation nobody needed, given back
    CANCELLED = "cancelled"  # voided by us, or cancelled at Stripe


A = AttemptStatus
TRANSITIONS: dict[str, set[str]] = {
    A.CREATING: {A.REQUIRES_ACTION, A.AUTHORISED, A.CAPTURED, A.FAILED, A.CANCELLED},
    A.REQUIRES_ACTION: {A.REQUIRES_ACTION, A.AUTHORISED, A.CAPTURED, A.FAILED, A.CANCELLED},
    A.AUTHORISED: {A.CAPTURING, A.CAPTURED, A.VOIDED, A.CANCELLED},
    A.CAPTURING: {A.CAPTURED, A.FAILED, A.EXPIRED, A.CANCELLED},
    A.FAILED: {A.REQUIRES_ACTION, A.AUTHORISED, A.CAPTURED, A.FAILED, A.CANCELLED},
    A.EXPIRED: {A.CAPTURED},
    A.CAPTURED: set(),
    A.VOIDED: set(),
    A.CANCELLED: {A.CANCELLED},
}
LABELS = {A.CREATING: "Being created", A.REQUIRES_ACTION: "Awaiting 3-D Secure",
          A.AUTHORISED: "Authorised", A.CAPTURING: "Being captured", A.CAPTURED: "Captured",
          A.FAILED: "Failed", A.EXPIRED: "Expired", A.VOIDED: "Voided",
          A.CANCELLED: "Cancelled"}


class IllegalAttemptTransition(DomainError):
    code = "illegal_attempt_transition"


ATTEMPT = Machine("payment_attempt", AttemptStatus, TRANSITIONS, labels=LABELS,
                  error=IllegalAttemptTransition, noun="A card payment",
                  columns=("payment_attempts.status",),
                  doc="""What the code records of Stripe's answers (core.payments.services,
.invoices, .capture, .records, .renewal, and core.workflows.card_payments, .checkout_expiry
and .cancellation):

- creating or requires_action -> requires_action | authorised | captured (a card charged
  at once, or a saved card charged for a shipment) | failed | cancelled (Stripe cancelled
  it, or an order cancelled while 3-D Secure was waiting); requires_action is re-stated
  when Stripe asks again.
- authorised -> capturing (asked to capture, answer pending) | captured | voided (an
  authorisation that arrived after the order stopped waiting) | cancelled (voided by us).
- capturing -> captured | failed | expired (Stripe refused the capture: the saved card is
  charged instead) | cancelled.
- failed takes Stripe's later answers like an open attempt (apply_result does not count it
  as settled): the customer may try again on the same PaymentIntent, a webhook may repeat
  the decline, and checkout expiry records that Stripe cancelled the declined intent.
- expired -> captured: Stripe's answer that the money was taken wins over what a
  concurrent call recorded meanwhile (record_taken records the capture).
- cancelled -> cancelled: a void that runs twice.
- captured and voided are final.""")


def move_attempt(attempt, target: str, *, audit: Entry | None = None) -> str:
    """Move the attempt to `target` after checking ATTEMPT's table and record `audit` on it;
    returns the previous status."""
    return ATTEMPT.move(attempt, target, audit=audit)
