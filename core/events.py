"""Domain events: recorded with a transaction, handed to their handlers after it commits.

A service that changes something people must hear about (an order is confirmed) records
an event on the session. Nothing happens until the session commits; then every handler
registered for the event's type runs (core.notifications queues the e-mail). A rollback
drops the events of the transaction, and a savepoint rolled back drops the events
recorded inside it, so a refused step never sends anything.

Handlers run after the commit, outside any transaction of the recording session: they
must use their own session (a Celery task does) and must not raise; a failing handler is
logged and the others still run.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger("marketline.events")

_KEY = "marketline.events"
_MARKS = "marketline.event_marks"
_SILENT = "marketline.events_silenced"
_handlers: dict[type, list[Callable[[object], None]]] = defaultdict(list)


@dataclass(frozen=True)
class OrderConfirmed:
    """An order stopped waiting: paid (authorised, or by gift card) or confirmed on account."""

    order_id: int


@dataclass(frozen=True)
class ConfirmationResendAsked:
    """An agent asked for an order's confirmation e-mail to go out again."""

    order_id: int


@dataclass(frozen=True)
class ShipmentSent:
    """A shipment left, and its invoice is collected as far as it can be: the buyer hears
    of both (the shipment first, then the invoice, which then shows what was paid)."""

    shipment_id: int
    invoice_id: int
    partial: bool = False  # the order waits for more shipments


@dataclass(frozen=True)
class InvoiceEmailRequested:
    """An invoice or credit note is to be e-mailed to the customer once this commits: issued
    in the back office (a credit note, a cancellation, a free-text invoice), or asked for
    again (`resend`)."""

    invoice_id: int
    resend: bool = False


@dataclass(frozen=True)
class InvoiceCardPaymentFailed:
    """The card could not be charged for an invoice: the customer is sent a link to pay it.
    What the e-mail says is taken in the transaction (`reason` is the bank's answer)."""

    invoice_id: int
    number: str
    email: str
    reason: str


@dataclass(frozen=True)
class OrderCardNeeded:
    """An order's card authorisation could not be renewed: the customer is asked, by a
    link, to confirm a card for the order."""

    order_id: int
    number: str
    email: str
    reason: str


@dataclass(frozen=True)
class PayLinkRequested:
    """A phone order waits for the customer to pay by link. Amounts are formatted in the
    transaction (total, and what a gift card paid and what is left, when one did)."""

    order_id: int
    number: str
    email: str
    total: str
    prepaid: str = ""
    left: str = ""


@dataclass(frozen=True)
class EmailConfirmationRequested:
    """A new shop account (or one signing in unconfirmed) needs its address confirmed.
    The token travels to the e-mail only (its hash is stored)."""

    email: str
    full_name: str
    token: str


@dataclass(frozen=True)
class PasswordResetAsked:
    """Someone asked for a reset link for `email`. Nothing is looked up in that request:
    the task finds the account, if any, makes the token and mails it, so the answer and
    its timing say nothing of who has an account."""

    email: str


@dataclass(frozen=True)
class RegistrationRepeated:
    """Someone registered an address that already has an account: its owner is told."""

    email: str
    full_name: str


@dataclass(frozen=True)
class ReturnMoved:
    """A return reached a point the customer hears of: `what` is "requested", "approved"
    (with the label when the goods come back), "rejected", "received" or "refunded"
    (refunded or exchanged: money back, or the replacement on its way)."""

    return_id: int
    what: str


@dataclass(frozen=True)
class ApprovalRequested:
    """A company buyer's order went over their spending limit and waits: every active
    approver and admin of the company but the buyer is e-mailed a link to the Approvals page."""

    order_id: int


@dataclass(frozen=True)
class ApprovalDecided:
    """A company approver approved or rejected (`approved`) an order waiting for approval:
    the buyer hears of it, with the approver's comment."""

    order_id: int
    approved: bool
    comment: str = ""


@dataclass(frozen=True)
class QuoteSent:
    """An agent sent a quote: the customer (the buyer it is for, else the customer's
    address) is e-mailed it with its PDF."""

    quote_id: int


def record(session: Session, happened: object) -> None:
    """Keep `happened` with the session's transaction; it is dispatched after commit."""
    session.info.setdefault(_KEY, []).append(happened)


def silence(session: Session) -> None:
    """Dispatch nothing this session records (the demo seed: nobody is e-mailed)."""
    session.info[_SILENT] = True


def pending(session: Session) -> list[object]:
    """The events recorded and not yet dispatched (for tests and diagnostics)."""
    return list(session.info.get(_KEY, ()))


def subscribe(kind: type, handler: Callable[[object], None]) -> None:
    """Run `handler(event)` after the commit of every transaction that recorded a `kind`."""
    if handler not in _handlers[kind]:
        _handlers[kind].append(handler)


@event.listens_for(Session, "after_transaction_create")
def _mark(session: Session, transaction: SessionTransaction) -> None:
    # A savepoint remembers how many events existed when it began.
    if transaction.nested:
        session.info.setdefault(_MARKS, {})[id(transaction)] = len(session.info.get(_KEY, ()))


@event.listens_for(Session, "after_soft_rollback")
def _drop(session: Session, previous_transaction: SessionTransaction) -> None:
    marks = session.info.get(_MARKS, {})
    if previous_transaction.nested and id(previous_transaction) in marks:
        del session.info.get(_KEY, [])[marks.pop(id(previous_transaction)):]
    elif previous_transaction.parent is None:
        session.info.pop(_KEY, None)
        session.info.pop(_MARKS, None)


@event.listens_for(Session, "after_commit")
def _dispatch(session: Session) -> None:
    happened = session.info.pop(_KEY, [])
    session.info.pop(_MARKS, None)
    if session.info.get(_SILENT):
        return
    for item in happened:
        for handler in list(_handlers.get(type(item), ())):
            try:
                handler(item)
            except Exception:  # noqa: BLE001 - what was committed stays; see the docstring
                log.exception("handler %r failed for %r", handler, item)


@dataclass(frozen=True)
class BuyerInvited:
    """A company buyer was invited (or the invitation sent again): the invitee is e-mailed
    a one-time link to choose a password. The token travels to the e-mail only."""

    email: str
    full_name: str
    company: str
    invited_by: str
    token: str
    days: int


@dataclass(frozen=True)
class EmailChangeRequested:
    """A login asked to change its e-mail address: the new address gets the link that
    confirms it (the token travels to the e-mail only), the old one a notice."""

    old_email: str
    new_email: str
    full_name: str
    token: str


@dataclass(frozen=True)
class EmailChanged:
    """A login's e-mail address changed: the old address is told (it can no longer sign in
    with it)."""

    old_email: str
    new_email: str
    full_name: str


@dataclass(frozen=True)
class DeliveryMoved:
    """An expected arrival came later (or not at all): an order's backordered lines ship
    later. The customer is told the lines and the new dates (taken in the transaction)."""

    order_id: int
    number: str
    email: str
    promised_date: str  # ISO day of the whole order, "" if unknown
    lines: tuple[tuple[str, str, str], ...]  # (sku, name, ISO delivery day)


@dataclass(frozen=True)
class PurchaseOrderSent:
    """A drop-shipment purchase order is to be e-mailed to its supplier, its PDF attached:
    made when its order was released, or asked for again (`resend`)."""

    purchase_order_id: int
    resend: bool = False


@dataclass(frozen=True)
class PurchaseOrderCancelled:
    """A purchase order was cancelled with its sales order: the supplier is told not to ship."""

    purchase_order_id: int


@dataclass(frozen=True)
class StatementEmailRequested:
    """A statement of account is to be e-mailed, its PDF attached (core.credit.statement_sends:
    the monthly run, once per customer and period, or a controller's "E-mail statement")."""

    statement_send_id: int


@dataclass(frozen=True)
class DunningLetterSent:
    """A dunning run sent a collection letter (core.credit.dunning): the customer is
    e-mailed the letter's PDF, with its charges document when it has one (once; the
    letter's `emailed_at`)."""

    letter_id: int
