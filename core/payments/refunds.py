"""Refunds to the card a payment came from.

    refund = refund_to_card(session, gateway, payment_id=payment.id, amount=Decimal("12.50"),
                            actor=actor, commit=db_session.commit, credit_note_id=note.id,
                            reason="Returned: RMA-000012")

1. Our own guard: never more than the payment captured less what was refunded or is being
   refunded (Stripe's check is not relied on; the local stand-in has none).
2. Record a pending Refund (core.billing.receivables.begin_card_refund) and commit.
3. Ask Stripe to refund that amount of the PaymentIntent, with the refund's key as
   idempotency key.
4. Record it (record_card_refund: the ledger entry, the credit used up) and move the
   attempt's and order's refunded amounts; commit. A refusal marks the refund failed and
   raises RefundFailed; when Stripe does not answer, the refund stays pending and
   `resume_pending_refunds` asks again later with the same key.
"""
from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.billing import receivables
from core.billing.models import Invoice, Payment, Refund
from core.db import utcnow
from core.errors import DomainError, NotFound
from core.payments import services as payments
from core.payments.records import lock_order, update_payment_state
from core.payments.gateway import GatewayUnavailable, PaymentDeclined, PaymentGateway
from core.payments.models import PaymentAttempt

ACTOR = audit.Actor.system("refund retry")
log = logging.getLogger("marketline.refunds")


class RefundNotAllowed(DomainError):
    code = "refund_not_allowed"


class RefundFailed(DomainError):
    code = "refund_failed"


def refundable(session: Session, payment: Payment) -> Decimal:
    """What may still go back to this payment's card: captured less refunded and pending."""
    return receivables.refundable_to_card(session, payment)


def refund_to_card(session: Session, gateway: PaymentGateway, *, payment_id: int, amount: Decimal,
                   actor: audit.Actor, commit: Callable[[], None],
                   credit_note_id: int | None = None, reason: str = "") -> Refund:
    """Give `amount` of a card payment back to its card (see the module's docstring)."""
    payment = session.scalar(select(Payment).where(Payment.id == payment_id).with_for_update()
                             .execution_options(populate_existing=True))
    if payment is None:
        raise NotFound("We could not find that payment.")
    if payment.method != "card" or not payment.stripe_id:
        raise RefundNotAllowed("Only a card payment can be refunded to the card.")
    amount = Decimal(amount)
    if amount <= 0:
        raise RefundNotAllowed("Enter an amount above zero.", field="amount")
    if amount > (left := refundable(session, payment)):
        raise RefundNotAllowed(f"At most {left} {payment.currency} can go back to this card "
                               "(captured less refunded).", field="amount")
    credit_note = session.get(Invoice, credit_note_id) if credit_note_id else None
    if credit_note_id and credit_note is None:
        raise NotFound("We could not find that credit note.")
    count = session.scalar(select(func.count()).select_from(Refund)
                           .where(Refund.payment_id == payment.id)) or 0
    refund = receivables.begin_card_refund(session, payment=payment, amount=amount,
                                           key=f"refund-{payment.id}-{count + 1}", actor=actor,
                                           credit_note=credit_note, reason=reason)
    commit()  # the pending refund (and its key) exists before Stripe hears of it
    return _send(session, gateway, refund, actor, commit)


def _send(session: Session, gateway: PaymentGateway, refund: Refund, actor: audit.Actor,
          commit: Callable[[], None]) -> Refund:
    payment = session.get(Payment, refund.payment_id)
    try:
        stripe_id = gateway.refund(payment.stripe_id, refund.amount, refund.currency, refund.key)
    except GatewayUnavailable as err:
        raise RefundFailed(f"{err} The refund is kept as pending and will be asked again.") from err
    except PaymentDeclined as err:
        receivables.fail_card_refund(session, refund, str(err))
        audit.record(session, "payment.refund_failed", actor=actor, channel="backoffice",
                     subject=refund, data={"payment": payment.stripe_id, "error": str(err)})
        commit()
        raise RefundFailed(str(err)) from None
    credit_note = session.get(Invoice, refund.credit_note_id) if refund.credit_note_id else None
    recorded = receivables.record_card_refund(session, payment=payment, amount=refund.amount,
                                              stripe_id=stripe_id, key=refund.key, actor=actor,
                                              credit_note=credit_note)
    _note_on_attempt(session, payment, refund.amount)
    commit()
    return recorded


def _note_on_attempt(session: Session, payment: Payment, amount: Decimal) -> None:
    """The attempt that took the money, and its order, show what went back."""
    attempt = session.scalar(select(PaymentAttempt).where(
        PaymentAttempt.stripe_id == payment.stripe_id))
    if attempt is None:
        return
    order = lock_order(session, attempt.order_id)
    attempt = payments.lock_attempt(session, attempt.id)  # afresh: two refunds both count
    attempt.amount_refunded += amount
    attempt.updated_at = utcnow()
    update_payment_state(session, order)


def resume_pending_refunds(session: Session, gateway: PaymentGateway, *,
                           commit: Callable[[], None],
                           older_than: dt.timedelta = dt.timedelta(minutes=10),
                           now: dt.datetime | None = None) -> int:
    """Ask Stripe again (same idempotency key) about card refunds whose answer was lost."""
    cutoff = (now or utcnow()) - older_than
    ids = list(session.scalars(select(Refund.id).where(
        Refund.method == "card", Refund.status == "pending", Refund.recorded_at < cutoff)
        .order_by(Refund.id).limit(200)))
    commit()
    done = 0
    for refund_id in ids:
        try:
            _send(session, gateway, session.get(Refund, refund_id), ACTOR, commit)
            done += 1
        except DomainError:  # RefundFailed, or the books refusing it: logged, next one
            session.rollback()
            log.exception("card refund %s could not be completed", refund_id)
    return done
