"""What card money does to our records, shared by collection at shipment (capture),
invoice payments (invoices), renewal and refunds: row locks read afresh, money recorded in
receivables, the order's payment state, payment_review holds."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.billing import receivables
from core.billing.models import Invoice, Payment
from core.db import utcnow
from core.errors import NotFound
from core.orders import holds
from core.orders.models import Order
from core.orders.queries import lock_order
from core.orders.states import PaymentState, move_payment
from core.payments import services as payments
from core.payments.gateway import GatewayUnavailable, IntentResult, PaymentGateway
from core.payments.models import PaymentAttempt
from core.payments.states import AttemptStatus, move_attempt

DEFAULT_AUTHORISATION_DAYS = 7
CAPTURE_MARGIN = dt.timedelta(hours=12)  # an authorisation this close to its end is not used
CHANNEL = "payments"
SYSTEM = audit.Actor.system("card collection")


@dataclass(frozen=True)
class CollectOutcome:
    # captured (from the authorisation) | charged (saved card, off-session) | nothing_due |
    # on_account | not_card | already_collected | failed | pending (Stripe did not answer)
    status: str
    message: str = ""
    payment: Payment | None = None


def authorisation_days(gateway: PaymentGateway) -> int:
    return int(getattr(gateway, "authorisation_days", DEFAULT_AUTHORISATION_DAYS))


def authorisation_usable(attempt: PaymentAttempt, *, days: int, now: dt.datetime) -> bool:
    """Still safe to capture: younger than the authorisation's life less half a day."""
    return now - attempt.created_at < dt.timedelta(days=days) - CAPTURE_MARGIN


def current_authorisation(session: Session, order_id: int) -> PaymentAttempt | None:
    """The order's latest uncaptured authorisation, if any, read afresh (callers hold the
    order's lock and change what they find)."""
    return session.scalar(select(PaymentAttempt).where(
        PaymentAttempt.order_id == order_id,
        PaymentAttempt.purpose.in_(payments.AUTHORISING),
        PaymentAttempt.status == "authorised", PaymentAttempt.stripe_id.is_not(None))
        .order_by(PaymentAttempt.id.desc()).limit(1)
        .execution_options(populate_existing=True))


def lock_invoice(session: Session, invoice_id: int) -> Invoice:
    invoice = session.scalar(select(Invoice).where(Invoice.id == invoice_id).with_for_update()
                             .execution_options(populate_existing=True))
    if invoice is None:
        raise NotFound("We could not find that invoice.")
    return invoice


def capture_key(attempt: PaymentAttempt) -> str:
    """The idempotency key of the money an attempt took (Stripe call and Payment record)."""
    return attempt.key if attempt.purpose == "shipment" else f"{attempt.key}-capture"


# -- capturing the authorisation --------------------------------------------------------------


def record_taken(session: Session, order_id: int, invoice_id: int, attempt: PaymentAttempt,
              result: IntentResult, actor: audit.Actor, commit: Callable[[], None], *,
              action: str, status: str) -> CollectOutcome:
    """Stripe took the money: record it against the invoice, move the order's payment state.
    A repeat (another call recorded the same capture meanwhile) records nothing twice."""
    order = lock_order(session, order_id)
    invoice = lock_invoice(session, invoice_id)
    attempt = payments.lock_attempt(session, attempt.id)
    if attempt.status == "captured":
        payment = session.scalar(select(Payment).where(Payment.key == capture_key(attempt)))
        commit()
        return CollectOutcome(status, f"{attempt.amount_captured} {attempt.currency} taken "
                              f"for {invoice.number}.", payment)
    amount = (result.captured or result.amount).amount
    attempt.stripe_id = attempt.stripe_id or result.id
    move_attempt(attempt, AttemptStatus.CAPTURED)
    attempt.amount_captured = amount
    attempt.captured_at = attempt.updated_at = utcnow()
    payment = receivables.record_card_capture(session, invoice, amount=amount,
                                              stripe_id=attempt.stripe_id,
                                              key=capture_key(attempt), actor=actor)
    update_payment_state(session, order)
    audit.record(session, action, actor=actor, channel=CHANNEL, subject=order,
                 data={"payment": attempt.stripe_id, "invoice": invoice.number,
                       "amount": str(amount), "currency": attempt.currency})
    commit()
    return CollectOutcome(status, f"{amount} {attempt.currency} taken for {invoice.number}.",
                          payment)


# -- charging the saved card ------------------------------------------------------------------


def hold_payment_review(session: Session, order: Order, *, reason_code: str,
                        actor: audit.Actor, note: str) -> None:
    """Place a payment_review hold unless one for the same reason is active already."""
    if any(h.kind == "payment_review" and h.reason_code == reason_code
           for h in order.active_holds):
        return
    try:
        holds.place_hold(session, order, kind="payment_review", reason_code=reason_code,
                         note=note, actor=actor)
    except holds.HoldError as err:  # e.g. the order was completed meanwhile
        audit.record(session, "order.hold_refused", actor=actor, channel=CHANNEL,
                     subject=order, data={"reason": reason_code, "error": str(err)})


def release_capture_hold(session: Session, order: Order, *, actor: audit.Actor) -> None:
    """Once no card invoice of the order is left open, its capture_failed hold goes."""
    receivables.release_collection_hold(session, order.id)
    session.expire(order, ["holds"])


def update_payment_state(session: Session, order: Order) -> None:
    """partially_captured while goods or money are outstanding, captured once every unit
    is shipped and every invoice of the order is paid; refunds move it on from there."""
    if order.payment_method == "on_account":
        return  # paid by its invoices; the order's payment state stays "on_account"
    captured, refunded = session.execute(
        select(func.coalesce(func.sum(PaymentAttempt.amount_captured), 0),
               func.coalesce(func.sum(PaymentAttempt.amount_refunded), 0))
        .where(PaymentAttempt.order_id == order.id, PaymentAttempt.status == "captured")).one()
    captured, refunded = Decimal(captured), Decimal(refunded)
    if captured <= 0:
        return
    if refunded > 0:
        move_payment(order, PaymentState.REFUNDED if refunded >= captured
                     else PaymentState.PARTIALLY_REFUNDED)
        return
    open_amount = Decimal(session.scalar(
        select(func.coalesce(func.sum(Invoice.amount_open), 0))
        .where(Invoice.order_id == order.id, Invoice.kind == "invoice")) or 0)
    shipped = all(l.quantity_shipped >= l.quantity for l in order.lines)
    move_payment(order, PaymentState.CAPTURED if shipped and open_amount == 0
                 else PaymentState.PARTIALLY_CAPTURED)


def void_authorisation(session: Session, gateway: PaymentGateway, order_id: int,
                       attempt: PaymentAttempt,
                       actor: audit.Actor, commit: Callable[[], None], *, why: str) -> bool:
    """Void an authorisation (called with no transaction open); audited either way."""
    try:
        voided = gateway.cancel(attempt.stripe_id).status == "canceled"
        problem = "" if voided else "Stripe did not void it."
    except GatewayUnavailable as err:
        voided, problem = False, str(err)
    order = lock_order(session, order_id)
    attempt = payments.lock_attempt(session, attempt.id)
    if voided:
        move_attempt(attempt, AttemptStatus.CANCELLED)
        attempt.updated_at = utcnow()
    audit.record(session, "order.payment_voided" if voided else "order.void_failed",
                 actor=actor, channel=CHANNEL, subject=order,
                 data={"payment": attempt.stripe_id, "why": why, "error": problem[:300]})
    commit()
    return voided
