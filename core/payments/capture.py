"""Collecting a shipment's invoice from the card: capture at shipment.

A card order is authorised when it is placed (core.workflows.card_payments). When a shipment leaves,
fulfilment invoices it, commits, and calls `collect_invoice`:

* The amount due is the invoice's `amount_open` (after any prepayment or credit billing
  already applied). Nothing is due: nothing to do. On-account orders wait for a transfer.
* The order's authorisation is still uncaptured and younger than AUTHORISATION_DAYS less
  half a day: capture the amount due from it (a partial capture: Stripe captures a card
  PaymentIntent once and releases the rest of the authorisation to the cardholder).
* Otherwise (an earlier shipment captured it, or it expired): charge the card saved with
  the authorisation, off-session, for the amount due: one new PaymentIntent per shipment.
* The attempt is recorded and committed before Stripe is asked; the answer is recorded in
  receivables (`record_card_capture`, idempotent by the attempt's key) and committed.
* A decline places a payment_review hold (reason capture_failed) and e-mails the customer
  a link to pay the invoice by card (/pay/invoice/<token>).
* A second call for the same invoice does nothing; an attempt whose answer was lost is
  asked again with the same idempotency key, so Stripe answers without charging twice.

Steps that call Stripe take a `commit` callable and never run with a transaction open.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, events
from core.billing.invoicing import get_invoice
from core.billing.models import Invoice, Payment
from core.db import utcnow
from core.orders.models import Order
from core.payments import services as payments
from core.payments.gateway import GatewayUnavailable, PaymentDeclined
from core.payments.models import PaymentAttempt
from core.payments.states import AttemptStatus, move_attempt
from core.payments.records import (CHANNEL, SYSTEM, CollectOutcome, authorisation_days,
                                   authorisation_usable, capture_key, current_authorisation,
                                   hold_payment_review, lock_invoice, lock_order, record_taken,
                                   void_authorisation)


def collect_invoice(session: Session, gateway, invoice_id: int, *, actor: audit.Actor,
                    commit: Callable[[], None], now: dt.datetime | None = None,
                    retry: bool = False) -> CollectOutcome:
    """Take a shipment invoice's open amount from the order's card (see the module's
    docstring). `retry` tries again after a decline (a second call does nothing otherwise)."""
    now = now or utcnow()
    invoice = get_invoice(session, invoice_id)
    if invoice.kind != "invoice" or invoice.order_id is None:
        commit()
        return CollectOutcome("not_card", "Only an order's invoice is collected from its card.")
    order = lock_order(session, invoice.order_id)
    invoice = lock_invoice(session, invoice_id)
    if order.payment_method == "on_account" or invoice.payment_method == "on_account":
        commit()
        return CollectOutcome("on_account", f"{invoice.number} waits for the customer's payment.")
    if order.payment_method == "exchange":
        commit()
        return CollectOutcome("exchange", f"{invoice.number} is paid by the return it "
                                          "replaces (core.returns.settlement).")
    earlier = _attempt_for(session, invoice.id)
    if earlier is not None and earlier.status in ("creating", "capturing"):
        return _resume(session, gateway, order, invoice, earlier, actor, commit)
    if earlier is not None and earlier.status == "captured":
        commit()
        return CollectOutcome("already_collected", "", _payment_of(session, earlier))
    if earlier is not None and earlier.status == "failed" and not retry:
        commit()
        return CollectOutcome("failed", earlier.error)
    if invoice.amount_open <= 0:
        commit()
        return CollectOutcome("nothing_due", f"{invoice.number} is paid.")
    due = invoice.amount_open
    authorisation = current_authorisation(session, order.id)
    usable = authorisation is not None and authorisation_usable(
        authorisation, days=authorisation_days(gateway), now=now)
    if usable and authorisation.amount >= due:
        return _capture(session, gateway, order, invoice, authorisation, due, actor, commit)
    # A lapsing authorisation is voided before the card is charged: the cardholder's money
    # is not held twice (and a debit card keeps the funds for the charge).
    return _charge(session, gateway, order, invoice, due, actor, commit,
                   lapsed=authorisation if authorisation is not None and not usable else None)


def _attempt_for(session: Session, invoice_id: int) -> PaymentAttempt | None:
    """The latest attempt that collected (or tried to collect) this invoice at shipment,
    read afresh (the caller holds the order's lock and acts on its status)."""
    return session.scalar(select(PaymentAttempt).where(
        PaymentAttempt.invoice_id == invoice_id,
        PaymentAttempt.purpose.in_((*payments.AUTHORISING, "shipment")))
        .order_by(PaymentAttempt.id.desc()).limit(1)
        .execution_options(populate_existing=True))


def _payment_of(session: Session, attempt: PaymentAttempt) -> Payment | None:
    return session.scalar(select(Payment).where(Payment.key == capture_key(attempt)))


def _capture(session: Session, gateway, order: Order, invoice: Invoice,
             authorisation: PaymentAttempt, due: Decimal, actor: audit.Actor,
             commit: Callable[[], None]) -> CollectOutcome:
    # While "capturing", amount_captured is the amount asked: a repeat after a lost answer
    # must send the same amount with the same idempotency key.
    move_attempt(authorisation, AttemptStatus.CAPTURING)
    authorisation.amount_captured = due
    authorisation.invoice_id = invoice.id
    authorisation.updated_at = utcnow()
    commit()  # the capture is on record before Stripe hears of it
    return _send_capture(session, gateway, order.id, invoice.id, authorisation, actor, commit)


def _send_capture(session: Session, gateway, order_id: int, invoice_id: int,
                  authorisation: PaymentAttempt, actor: audit.Actor,
                  commit: Callable[[], None]) -> CollectOutcome:
    try:
        result = gateway.capture(authorisation.stripe_id, authorisation.amount_captured,
                                 authorisation.currency, capture_key(authorisation))
    except GatewayUnavailable as err:
        return CollectOutcome("pending", str(err))
    except PaymentDeclined as err:
        # Stripe would not capture (the authorisation lapsed early, or was voided): the
        # saved card is charged instead.
        order, invoice, authorisation, settled = _relock(session, order_id, invoice_id,
                                                         authorisation, "capturing", commit)
        if settled:
            return CollectOutcome("already_collected" if authorisation.status == "captured"
                                  else "pending", "", _payment_of(session, authorisation))
        move_attempt(authorisation, AttemptStatus.EXPIRED)
        authorisation.error = str(err)[:300]
        authorisation.invoice_id, authorisation.amount_captured = None, Decimal(0)
        audit.record(session, "order.capture_refused", actor=actor, channel=CHANNEL,
                     subject=order, data={"payment": authorisation.stripe_id, "error": str(err)})
        return _charge(session, gateway, order, invoice, invoice.amount_open, actor, commit)
    return record_taken(session, order_id, invoice_id, authorisation, result, actor, commit,
                        action="order.payment_captured", status="captured")


def _relock(session: Session, order_id: int, invoice_id: int, attempt: PaymentAttempt,
            sent: str, commit: Callable[[], None]
            ) -> tuple[Order, Invoice, PaymentAttempt, bool]:
    """After the gateway refused: the order, its invoice and the attempt locked afresh, and
    whether another call settled the attempt meanwhile (its status is no longer `sent`);
    then this commits, and the caller only answers."""
    order = lock_order(session, order_id)
    invoice = lock_invoice(session, invoice_id)
    attempt = payments.lock_attempt(session, attempt.id)
    settled = attempt.status != sent
    if settled:
        commit()
    return order, invoice, attempt, settled


def _charge(session: Session, gateway, order: Order, invoice: Invoice, due: Decimal,
            actor: audit.Actor, commit: Callable[[], None],
            lapsed: PaymentAttempt | None = None) -> CollectOutcome:
    card = payments.saved_card(session, order.id)
    attempt = payments.new_attempt(session, order, amount=due, purpose="shipment",
                                   invoice_id=invoice.id,
                                   payment_method=card.payment_method_id if card else None,
                                   stripe_customer=card.stripe_customer_id if card else None)
    if card is None:
        return _failed(session, order, invoice, attempt, actor, commit,
                       "No card was saved with this order's payment.")
    commit()  # the attempt (and its idempotency key) exists before Stripe hears of it
    if lapsed is not None:
        void_authorisation(session, gateway, order.id, lapsed, actor, commit,
                           why="too old to capture; the saved card is charged instead")
    return _send_charge(session, gateway, order.id, invoice.id, attempt, actor, commit)


def _send_charge(session: Session, gateway, order_id: int, invoice_id: int,
                 attempt: PaymentAttempt, actor: audit.Actor,
                 commit: Callable[[], None]) -> CollectOutcome:
    order_number = session.get(Order, order_id).number
    invoice_number = session.get(Invoice, invoice_id).number
    try:
        result = gateway.charge_saved_card(
            customer=attempt.stripe_customer_id, payment_method=attempt.payment_method_id,
            amount=attempt.amount, currency=attempt.currency, key=attempt.key,
            metadata={"order": order_number, "invoice": invoice_number, "attempt": attempt.key})
    except GatewayUnavailable as err:
        return CollectOutcome("pending", str(err))
    except PaymentDeclined as err:
        order, invoice, attempt, settled = _relock(session, order_id, invoice_id, attempt,
                                                   "creating", commit)
        if settled:
            return CollectOutcome("already_collected" if attempt.status == "captured"
                                  else attempt.status, attempt.error,
                                  _payment_of(session, attempt))
        return _failed(session, order, invoice, attempt, actor, commit, str(err),
                       intent_id=err.intent_id)
    return record_taken(session, order_id, invoice_id, attempt, result, actor, commit,
                        action="order.shipment_charged", status="charged")


def _resume(session: Session, gateway, order: Order, invoice: Invoice, attempt: PaymentAttempt,
            actor: audit.Actor, commit: Callable[[], None]) -> CollectOutcome:
    """An attempt whose answer never arrived: ask again with the same idempotency key
    (Stripe answers a repeated key with its first answer instead of charging again)."""
    commit()
    if attempt.status == "capturing":
        return _send_capture(session, gateway, order.id, invoice.id, attempt, actor, commit)
    return _send_charge(session, gateway, order.id, invoice.id, attempt, actor, commit)


def _failed(session: Session, order: Order, invoice: Invoice, attempt: PaymentAttempt,
            actor: audit.Actor, commit: Callable[[], None], message: str, *,
            intent_id: str | None = None) -> CollectOutcome:
    """The card could not be charged: hold the rest of the order, ask the customer to pay
    the invoice by link."""
    payments.record_failure(session, attempt, message, intent_id=intent_id)
    hold_payment_review(session, order, reason_code="capture_failed", actor=actor,
                        note=f"{invoice.number}: {message}")
    audit.record(session, "invoice.card_payment_failed", actor=actor, channel=CHANNEL,
                 subject=invoice, data={"order": order.number, "error": message,
                                        "amount": str(invoice.amount_open)})
    # The customer is e-mailed a link to pay by card once this commits (core.notifications).
    events.record(session, events.InvoiceCardPaymentFailed(
        invoice.id, invoice.number, invoice.email or order.email, message))
    commit()
    return CollectOutcome("failed", message)


def resume_collections(session: Session, gateway, *, commit: Callable[[], None],
                       older_than: dt.timedelta = dt.timedelta(minutes=10),
                       now: dt.datetime | None = None) -> int:
    """Collections whose answer from Stripe was lost (the process stopped, the network
    failed): ask again with the same idempotency key. Returns how many were asked."""
    cutoff = (now or utcnow()) - older_than
    invoice_ids = list(session.scalars(select(PaymentAttempt.invoice_id).where(
        PaymentAttempt.purpose.in_((*payments.AUTHORISING, "shipment")),
        PaymentAttempt.status.in_(("creating", "capturing")),
        PaymentAttempt.invoice_id.is_not(None), PaymentAttempt.updated_at < cutoff)
        .distinct().limit(200)))
    paying = list(session.scalars(select(PaymentAttempt.invoice_id).where(
        PaymentAttempt.purpose == "invoice", PaymentAttempt.status.in_(("authorised", "capturing")),
        PaymentAttempt.invoice_id.is_not(None), PaymentAttempt.updated_at < cutoff)
        .distinct().limit(200)))
    commit()
    for invoice_id in invoice_ids:
        collect_invoice(session, gateway, invoice_id, actor=SYSTEM, commit=commit)
    for invoice_id in paying:  # a customer's invoice payment whose capture answer was lost
        complete_invoice_payment(session, gateway, invoice_id, actor=SYSTEM, commit=commit)
    return len(invoice_ids) + len(paying)


# The rest of the card API, importable from here too (see each module):
from core.payments.invoices import (InvoiceNotPayable, InvoicePaymentOutcome,  # noqa: E402,F401
                                    card_payable, complete_invoice_payment, pay_invoice)
from core.payments.refunds import RefundFailed, RefundNotAllowed, refund_to_card  # noqa: E402,F401
