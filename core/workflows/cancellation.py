"""Cancelling an order before shipment and voiding its card authorisation.

Policy on payment state: a voided authorisation means nothing was ever charged, so the
order goes back to payment state "unpaid" (one of the states DESIGN.md lists) and each
voided PaymentAttempt becomes "cancelled". When Stripe cannot be reached, the order is
still cancelled (stock released) but the attempt stays "authorised" and the order's
payment state stays "authorised": that is the truth about the money, and the
"order.void_failed" audit event tells staff which authorisation to void by hand or retry.
"""
from __future__ import annotations

from typing import Callable, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.billing.prepayments import restore_order_prepayments
from core.db import utcnow
from core.orders import services as orders, states
from core.orders.models import Order
from core.orders.states import PaymentState, move_payment
from core.payments.gateway import GatewayUnavailable, IntentResult
from core.payments.models import PaymentAttempt
from core.payments.states import AttemptStatus, move_attempt
from core.workflows import drop_shipment, stock_changes, stock_receipts


class VoidingGateway(Protocol):
    def cancel(self, intent_id: str) -> IntentResult: ...


def refusal(order: Order) -> str | None:
    """Why the order cannot be cancelled now, in words for its buyer; None when it can."""
    if order.status == "cancelled":
        return "This order is already cancelled."
    if order.status not in states.CANCELLABLE:
        return "This order has shipped and can no longer be cancelled; start a return instead."
    return None


def cancel_and_void(session: Session, order: Order, *, gateway: VoidingGateway,
                    actor: audit.Actor, reason: str,
                    commit: Callable[[], None] | None = None) -> None:
    """Cancel the order (releasing stock: the units it held go to orders waiting for them
    first, core.workflows.stock_changes), then void every authorised card payment, and
    any still waiting for 3-D Secure.

    The cancellation is flushed (and committed, when `commit` is given) before Stripe is
    called, so a rule that says no stops everything before any money moves, and a void
    never happens for a cancellation that was not kept. Flushes; the caller commits.
    """
    if problem := refusal(order):
        raise orders.OrderError(problem)
    held = stock_changes.held_by(order)
    waiting = stock_receipts.lock_waiting(session, held)  # orders before stock rows
    orders.cancel_order(session, order, actor=actor, reason=reason)
    stock_changes.fill_freed(session, held, actor=actor, reference=order.number,
                             waiting=waiting)
    restore_order_prepayments(session, order, actor)  # a gift card gets its money back
    drop_shipment.cancel_purchase_orders(session, order, actor=actor, reason=reason)
    attempts = session.scalars(select(PaymentAttempt).where(
        PaymentAttempt.order_id == order.id,
        PaymentAttempt.status.in_(["authorised", "requires_action"]),
        PaymentAttempt.stripe_id.is_not(None)).order_by(PaymentAttempt.id)).all()
    if commit is not None:
        commit()  # Stripe is called with no transaction (and no lock) open
    answers = [(attempt.id, _ask_void(gateway, attempt)) for attempt in attempts]
    # The commit let the lock go: take it again and record on what is there now.
    order = orders.get_order(session, order.id, lock=True)
    voided = [_record_void(session, order, _locked_attempt(session, attempt_id), answer, actor)
              for attempt_id, answer in answers]
    if attempts and all(voided):
        move_payment(order, PaymentState.UNPAID)
    session.flush()


def _locked_attempt(session: Session, attempt_id: int) -> PaymentAttempt:
    return session.scalar(select(PaymentAttempt).where(PaymentAttempt.id == attempt_id)
                          .with_for_update().execution_options(populate_existing=True))


def _ask_void(gateway: VoidingGateway, attempt: PaymentAttempt) -> IntentResult | str:
    """Stripe's answer to the void, or what kept it from answering."""
    try:
        return gateway.cancel(attempt.stripe_id)
    except GatewayUnavailable as err:
        return str(err)


def _void(session: Session, order: Order, attempt: PaymentAttempt, gateway: VoidingGateway,
          actor: audit.Actor) -> bool:
    """Void one authorisation (call it with no transaction open); on failure leave it
    authorised and tell staff. True if voided."""
    answer = _ask_void(gateway, attempt)
    order = orders.get_order(session, order.id, lock=True)
    return _record_void(session, order, _locked_attempt(session, attempt.id), answer, actor)


def _record_void(session: Session, order: Order, attempt: PaymentAttempt,
                 answer: IntentResult | str, actor: audit.Actor) -> bool:
    """Record one void, under the order's lock on a fresh attempt. True if voided."""
    if attempt.status in ("cancelled", "voided"):
        return True  # voided meanwhile (a late authorisation of the cancelled order)
    if isinstance(answer, str):
        problem = answer
    else:
        result = answer
        if result.status == "canceled":
            move_attempt(attempt, AttemptStatus.CANCELLED)
            attempt.updated_at = utcnow()
            audit.record(session, "order.payment_voided", actor=actor, channel=order.channel_code,
                         subject=order, data={"payment": attempt.stripe_id})
            return True
        problem = f"Stripe left the payment {result.status}."
    audit.record(session, "order.void_failed", actor=actor, channel=order.channel_code,
                 subject=order, data={"payment": attempt.stripe_id, "error": problem[:300]})
    return False
