"""A customer pays an open invoice by card: from a pay-by-link e-mail (/pay/invoice/<token>),
from the account's invoice pages, or by phone (MOTO).

    outcome = pay_invoice(session, gateway, invoice.id, payment_method="pm_...",
                          actor=actor, commit=db_session.commit)
    # outcome.status: paid | requires_action | processing | declined | nothing_due
    # requires_action: run stripe.confirmCardPayment(outcome.client_secret) in the browser,
    # then call complete_invoice_payment(session, gateway, invoice.id, actor=..., commit=...)

The steps: lock the invoice's order; record the attempt (purpose "invoice") and commit;
authorise the invoice's open amount (manual capture, 3-D Secure when the bank asks); then,
under the lock again, capture what is still open (if the invoice was paid meanwhile by
other means, the authorisation is voided instead) and record it with
core.billing.receivables.record_card_capture. A paid invoice releases the order's
capture_failed hold once no invoice of the order is left open.

The caller checks that the invoice is the customer's own (an invoice of another customer
must answer 404); these functions only check that it can be paid by card.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core import audit
from core.billing.invoicing import get_invoice
from core.billing.models import Invoice, Payment
from core.db import utcnow
from core.errors import DomainError
from core.payments import services as payments
from core.payments.records import (capture_key, lock_invoice, lock_order, record_taken,
                                   release_capture_hold)
from core.payments.gateway import (GatewayUnavailable, IntentResult, PaymentDeclined,
                                   PaymentGateway)
from core.payments.models import PaymentAttempt
from core.payments.states import AttemptStatus, move_attempt

IN_FLIGHT = ("creating", "requires_action", "authorised", "capturing")
PROCESSING = "Your payment is being processed."
PATIENCE = dt.timedelta(minutes=30)  # an attempt left this long is no longer "in progress"
CHANNEL = "payments"


class InvoiceNotPayable(DomainError):
    code = "invoice_not_payable"


@dataclass(frozen=True)
class InvoicePaymentOutcome:
    status: str  # paid | requires_action | processing | declined | nothing_due
    invoice: Invoice
    message: str = ""
    client_secret: str = ""
    payment: Payment | None = None


def refusal(invoice: Invoice) -> str | None:
    """Why this document cannot be paid by card here; None when it can."""
    if invoice.kind != "invoice":
        return f"{invoice.number} is a credit note; there is nothing to pay."
    if invoice.order_id is None:
        # A card payment is recorded against an order (payment_attempts.order_id).
        return (f"{invoice.number} cannot be paid by card online yet; please pay it by bank "
                "transfer.")
    return None


def card_payable(invoice: Invoice) -> bool:
    """Whether to offer a "Pay by card" button for this invoice."""
    return refusal(invoice) is None and invoice.amount_open > 0


def pay_invoice(session: Session, gateway: PaymentGateway, invoice_id: int, *, payment_method: str,
                actor: audit.Actor, commit: Callable[[], None],
                moto: bool = False) -> InvoicePaymentOutcome:
    """Authorise and capture the invoice's open amount on a card (see the module's
    docstring). Raises InvoiceNotPayable for a credit note or an invoice without order."""
    invoice = get_invoice(session, invoice_id)
    if problem := refusal(invoice):
        commit()
        raise InvoiceNotPayable(problem)
    order = lock_order(session, invoice.order_id)
    invoice = lock_invoice(session, invoice_id)
    if invoice.amount_open <= 0:
        commit()
        return InvoicePaymentOutcome("nothing_due", invoice, f"{invoice.number} is paid.")
    if _in_flight(session, invoice.id) is not None:
        commit()
        return InvoicePaymentOutcome("processing", invoice, PROCESSING)
    attempt = payments.new_attempt(session, order, amount=invoice.amount_open, purpose="invoice",
                                   invoice_id=invoice.id, payment_method=payment_method,
                                   moto=moto)
    metadata = {"invoice": invoice.number, "order": order.number, "attempt": attempt.key}
    commit()  # the attempt (and its idempotency key) exists before Stripe hears of it
    try:
        result = gateway.authorise(amount=attempt.amount, currency=attempt.currency,
                                   payment_method=payment_method, key=attempt.key, moto=moto,
                                   metadata=metadata)
    except (PaymentDeclined, GatewayUnavailable) as err:
        lock_order(session, attempt.order_id)
        attempt = payments.lock_attempt(session, attempt.id)
        if attempt.status not in payments.OPEN:  # a lost answer that did go through
            commit()
            return _settled(session, invoice_id, attempt)
        payments.record_decline(session, attempt, str(err))
        commit()
        return InvoicePaymentOutcome("declined", get_invoice(session, invoice_id), str(err))
    return _authorised(session, gateway, invoice_id, attempt, result, actor, commit)


def complete_invoice_payment(session: Session, gateway: PaymentGateway, invoice_id: int, *,
                             actor: audit.Actor, commit: Callable[[], None],
                             gave_up: bool = False) -> InvoicePaymentOutcome:
    """After 3-D Secure in the browser (or when the first answer was "processing"): ask
    Stripe how the payment ended and finish it. Stripe is asked with no transaction open.

    As at checkout (core.workflows.card_payments), a challenge still running is cancelled only when
    the customer gave up (`gave_up`), for a card read out on the phone, or once it is
    older than CHALLENGE_WINDOW; a poll from a second submit is answered "processing"."""
    attempt = _in_flight(session, invoice_id, patience=None)
    commit()
    if attempt is None or not attempt.stripe_id:
        invoice = get_invoice(session, invoice_id)
        if invoice.amount_open <= 0:
            return InvoicePaymentOutcome("paid", invoice)
        return InvoicePaymentOutcome("declined", invoice, "No card payment is in progress for "
                                     f"{invoice.number}; please try again.")
    if attempt.status in ("authorised", "capturing"):
        return _capture(session, gateway, invoice_id, attempt, actor, commit)
    try:
        result = gateway.retrieve(attempt.stripe_id)
        if result.status == "requires_action":
            if not (gave_up or attempt.moto or payments.challenge_over(attempt)):
                return _waiting(session, invoice_id, commit)  # the challenge is live
            result = gateway.cancel(attempt.stripe_id)
    except GatewayUnavailable as err:
        return InvoicePaymentOutcome("processing", get_invoice(session, invoice_id), str(err))
    return _authorised(session, gateway, invoice_id, attempt, result, actor, commit)


def _waiting(session: Session, invoice_id: int, commit: Callable[[], None]
             ) -> InvoicePaymentOutcome:
    invoice = get_invoice(session, invoice_id)
    commit()
    return InvoicePaymentOutcome("processing", invoice, PROCESSING)


def _in_flight(session: Session, invoice_id: int, *,
               patience: dt.timedelta | None = PATIENCE) -> PaymentAttempt | None:
    conditions = [PaymentAttempt.invoice_id == invoice_id, PaymentAttempt.purpose == "invoice",
                  PaymentAttempt.status.in_(IN_FLIGHT)]
    if patience is not None:
        # A card already authorised (or being captured) stays in progress until the sweep
        # (capture.resume_collections) finishes it: a new payment would take the money twice.
        conditions.append(or_(PaymentAttempt.status.in_(("authorised", "capturing")),
                              PaymentAttempt.updated_at > utcnow() - patience))
    return session.scalar(select(PaymentAttempt).where(*conditions)
                          .order_by(PaymentAttempt.id.desc()).limit(1))


def _authorised(session: Session, gateway: PaymentGateway, invoice_id: int,
                attempt: PaymentAttempt,
                result: IntentResult, actor: audit.Actor, commit: Callable[[], None]
                ) -> InvoicePaymentOutcome:
    """Apply Stripe's answer to the authorisation; capture when it is there. The attempt
    is read afresh under the order's lock: a second /complete may have settled (even
    captured) it since this caller loaded it."""
    lock_order(session, attempt.order_id)
    attempt = payments.lock_attempt(session, attempt.id)
    attempt.stripe_id = attempt.stripe_id or result.id
    attempt.updated_at = utcnow()
    if attempt.status not in payments.OPEN:  # settled by an earlier call
        commit()
        return _settled(session, invoice_id, attempt)
    if result.status == "requires_action":
        move_attempt(attempt, AttemptStatus.REQUIRES_ACTION)
        commit()
        return InvoicePaymentOutcome("requires_action", get_invoice(session, invoice_id),
                                     client_secret=result.client_secret)
    if result.status == "processing":  # the bank has not decided: stays in flight
        commit()
        return InvoicePaymentOutcome("processing", get_invoice(session, invoice_id),
                                     PROCESSING)
    if result.status != "requires_capture":
        move_attempt(attempt, AttemptStatus.CANCELLED if result.status == "canceled"
                     else AttemptStatus.FAILED)
        attempt.error = (result.error or "The card could not be authorised.")[:300]
        commit()
        return InvoicePaymentOutcome("declined", get_invoice(session, invoice_id),
                                     "The card could not be authorised. Try again or use "
                                     "another card.")
    move_attempt(attempt, AttemptStatus.AUTHORISED)
    commit()
    return _capture(session, gateway, invoice_id, attempt, actor, commit)


def _capture(session: Session, gateway: PaymentGateway, invoice_id: int, attempt: PaymentAttempt,
             actor: audit.Actor, commit: Callable[[], None]) -> InvoicePaymentOutcome:
    """Capture what the invoice still has open (the amount asked is kept while capturing,
    so a repeat sends the same request with the same idempotency key)."""
    lock_order(session, attempt.order_id)
    invoice = lock_invoice(session, invoice_id)
    attempt = payments.lock_attempt(session, attempt.id)
    if attempt.status not in ("authorised", "capturing"):  # captured (or voided) meanwhile
        commit()
        return _settled(session, invoice_id, attempt)
    if attempt.status == "authorised":
        amount = min(attempt.amount, invoice.amount_open)
        if amount <= 0:  # paid meanwhile (a transfer, credit): give the hold back
            commit()
            return _void(session, gateway, invoice_id, attempt, commit)
        move_attempt(attempt, AttemptStatus.CAPTURING)
        attempt.amount_captured = amount
        attempt.updated_at = utcnow()
    commit()
    try:
        result = gateway.capture(attempt.stripe_id, attempt.amount_captured, attempt.currency,
                                 capture_key(attempt))
    except GatewayUnavailable as err:
        return InvoicePaymentOutcome("processing", get_invoice(session, invoice_id), str(err))
    except PaymentDeclined as err:
        lock_order(session, attempt.order_id)
        attempt = payments.lock_attempt(session, attempt.id)
        if attempt.status != "capturing":  # another call recorded the capture meanwhile
            commit()
            return _settled(session, invoice_id, attempt)
        move_attempt(attempt, AttemptStatus.FAILED)
        attempt.amount_captured = 0
        attempt.error = str(err)[:300]
        commit()
        return InvoicePaymentOutcome("declined", get_invoice(session, invoice_id), str(err))
    collected = record_taken(session, attempt.order_id, invoice_id, attempt, result, actor,
                             commit, action="invoice.paid_by_card", status="paid")
    order = lock_order(session, attempt.order_id)
    release_capture_hold(session, order, actor=actor)
    commit()
    return InvoicePaymentOutcome("paid", get_invoice(session, invoice_id), collected.message,
                                 payment=collected.payment)


def _void(session: Session, gateway: PaymentGateway, invoice_id: int, attempt: PaymentAttempt,
          commit: Callable[[], None]) -> InvoicePaymentOutcome:
    try:
        voided = gateway.cancel(attempt.stripe_id).status == "canceled"
    except GatewayUnavailable:
        voided = False
    lock_order(session, attempt.order_id)
    attempt = payments.lock_attempt(session, attempt.id)
    if voided and attempt.status == "authorised":
        move_attempt(attempt, AttemptStatus.CANCELLED)
    attempt.updated_at = utcnow()
    commit()
    invoice = get_invoice(session, invoice_id)
    return InvoicePaymentOutcome("nothing_due", invoice, f"{invoice.number} was paid meanwhile; "
                                 "nothing was taken from your card.")


def _settled(session: Session, invoice_id: int, attempt: PaymentAttempt) -> InvoicePaymentOutcome:
    invoice = get_invoice(session, invoice_id)
    if attempt.status == "captured":
        payment = session.scalar(select(Payment).where(Payment.key == capture_key(attempt)))
        return InvoicePaymentOutcome("paid", invoice, payment=payment)
    if attempt.status in ("capturing", "authorised"):
        return InvoicePaymentOutcome("processing", invoice, PROCESSING)
    return InvoicePaymentOutcome("declined", invoice, attempt.error or "The payment failed.")
