"""The billing documents' transition tables: invoices and credit notes, refunds, and the
requests that wait for a second person (credit note requests, gift card sales).

The functions here are the only code that changes these statuses, and each records the
audit event it is given (`audit=audit.Entry(...)`) with the moved document as its subject:

- `restate(doc)`: an invoice's or credit note's status follows its open amount, by one
  rule (`derived_status`), whichever way the amount was settled or used (the allocation,
  not the status, is what is audited, so no caller passes an event).
- `move_refund(refund, target)`: a refund recorded before Stripe was called learns the
  answer (payment.refunded is recorded through it).
- `move_request(request, target, noun=...)`: used by core.billing.credit_requests.change_status,
  which passes the request's audit event (credit_request.approved, ...).
"""
from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from core.billing.models import CREDIT_REQUEST_MOVES, CreditRequestStatus
from core.audit import Entry
from core.errors import DomainError
from core.statemachine import Machine


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"


class RefundStatus(StrEnum):
    PENDING = "pending"  # recorded before Stripe is called
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class IllegalInvoiceTransition(DomainError):
    code = "illegal_invoice_transition"


class IllegalRefundTransition(DomainError):
    code = "illegal_refund_transition"


class IllegalRequestTransition(DomainError):
    code = "illegal_transition"


class GiftCardStatus(StrEnum):
    ACTIVE = "active"
    USED = "used"  # nothing left on it
    EXPIRED = "expired"
    DISABLED = "disabled"


class IllegalGiftCardTransition(DomainError):
    code = "illegal_gift_card_transition"


D = InvoiceStatus
INVOICE = Machine(
    "invoice", InvoiceStatus,
    {D.OPEN: {D.PARTIALLY_PAID, D.PAID}, D.PARTIALLY_PAID: {D.PAID}, D.PAID: set()},
    labels={D.OPEN: "Open", D.PARTIALLY_PAID: "Partly paid", D.PAID: "Paid"},
    error=IllegalInvoiceTransition, noun="A document", columns=("invoices.status",),
    doc="""open -> partially_paid -> paid (DESIGN.md), for invoices and credit notes alike.
The status follows the open amount (derived_status): paid when nothing is open, partially
paid when some was settled (or, for a credit note, used), open while all of it is. An open
amount only goes down (allocations, credit used or refunded), so the status only goes
forward; a document issued with nothing to pay starts paid. An issued document changes
otherwise only through a credit note.""")

R = RefundStatus
REFUND = Machine(
    "refund", RefundStatus,
    {R.PENDING: {R.SUCCEEDED, R.FAILED}, R.SUCCEEDED: set(), R.FAILED: set()},
    labels={R.PENDING: "Pending", R.SUCCEEDED: "Succeeded", R.FAILED: "Failed"},
    error=IllegalRefundTransition, noun="A refund", columns=("refunds.status",),
    doc="""A card refund is recorded pending before Stripe is called, then succeeds or fails
with Stripe's answer; a refund by bank transfer or to a gift card is recorded succeeded at
once. Succeeded and failed are final.""")

REQUEST = Machine(
    "credit_request", CreditRequestStatus, CREDIT_REQUEST_MOVES,
    labels={status: status.label for status in CreditRequestStatus},
    error=IllegalRequestTransition, noun="A request",
    columns=("credit_note_requests.status", "gift_card_requests.status"),
    doc="""A request awaiting a second person (a credit note or invoice cancellation beyond
the requester's limit, a gift card sale out of a payment the seller recorded): requested
-> approved | rejected, once. The table is CREDIT_REQUEST_MOVES.""")


def derived_status(amount_open: Decimal, gross_total: Decimal) -> InvoiceStatus:
    """The one rule for an invoice's or credit note's status: paid when nothing is open;
    partially_paid when some was settled or used; else open."""
    if amount_open == 0:
        return InvoiceStatus.PAID
    return InvoiceStatus.PARTIALLY_PAID if amount_open < gross_total else InvoiceStatus.OPEN


def restate(doc, *, audit: Entry | None = None) -> None:
    """Move the invoice's or credit note's status to what its open amount says, through
    INVOICE's table, and record `audit` on it; nothing moves (and nothing is recorded) when
    it already says so."""
    target = derived_status(doc.amount_open, doc.gross_total)
    if doc.status != target:
        INVOICE.move(doc, target, audit=audit)


def move_refund(refund, target: str, *, audit: Entry | None = None) -> str:
    """Move the refund to `target` after checking REFUND's table and record `audit` on it;
    returns the previous status."""
    return REFUND.move(refund, target, audit=audit)


def move_request(request, target: str, *, noun: str | None = None,
                 audit: Entry | None = None) -> str:
    """Move a credit note request or gift card request to `target` after checking the
    table and record `audit` on it; returns the previous status.
    core.billing.credit_requests.change_status is the caller (it passes the audit event)."""
    return REQUEST.move(request, target, noun=noun, audit=audit)


G = GiftCardStatus
GIFT_CARD = Machine(
    "gift_card", GiftCardStatus,
    {G.ACTIVE: {G.DISABLED}, G.USED: {G.DISABLED}, G.EXPIRED: {G.DISABLED}, G.DISABLED: set()},
    labels={G.ACTIVE: "Active", G.USED: "Used up", G.EXPIRED: "Expired", G.DISABLED: "Disabled"},
    error=IllegalGiftCardTransition, noun="A gift card",
    doc="""A gift card is active, used (nothing left), expired or disabled. Only "disabled" is
stored (gift_cards.active); the others follow from its balance and expiry date, by one rule
(gift_card_status). Billing disables a card that is lost, stolen or sold by mistake, in any
state but disabled; nothing enables it again (a new card is sold instead).""")


def gift_card_status(card, today) -> GiftCardStatus:
    """active | used | expired | disabled, from the card's flag, balance and expiry."""
    if not card.active:
        return GiftCardStatus.DISABLED
    if card.expires_on is not None and card.expires_on < today:
        return GiftCardStatus.EXPIRED
    if card.balance <= 0:
        return GiftCardStatus.USED
    return GiftCardStatus.ACTIVE


def disable_gift_card(card, today, *, audit: Entry | None = None) -> GiftCardStatus:
    """Disable the card after checking GIFT_CARD's table (a disabled card cannot be disabled
    again) and record `audit` on it; returns the state it was in. The one write of
    gift_cards.active after a card is sold."""
    current = gift_card_status(card, today)
    GIFT_CARD.check(current, GiftCardStatus.DISABLED,
                    noun=f"Gift card …{card.last4}")
    card.active = False
    if audit is not None:
        audit.record(card)
    return current

