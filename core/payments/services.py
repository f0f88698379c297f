"""Card payments of orders: attempts recorded before Stripe is called, results applied
idempotently whether they come from the browser, the server or a webhook."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.db import utcnow
from core.orders import services as orders
from core.orders.models import Order
from core.payments.gateway import IntentResult
from core.payments.models import PaymentAttempt

SYSTEM = audit.Actor.system("payments")


def new_attempt(session: Session, order: Order, *, moto: bool = False) -> PaymentAttempt:
    """Record the attempt (and its idempotency key) before Stripe is called. The caller commits."""
    count = session.scalar(select(func.count()).select_from(PaymentAttempt)
                           .where(PaymentAttempt.order_id == order.id)) or 0
    attempt = PaymentAttempt(order_id=order.id, key=f"{order.number}-pay-{count + 1}",
                             amount=order.gross_total, currency=order.currency, moto=moto)
    session.add(attempt)
    session.flush()
    return attempt


def open_attempt(session: Session, order: Order) -> PaymentAttempt | None:
    """The attempt waiting for the buyer (3-D Secure), if any."""
    return session.scalar(select(PaymentAttempt).where(
        PaymentAttempt.order_id == order.id,
        PaymentAttempt.status.in_(["creating", "requires_action"]))
        .order_by(PaymentAttempt.id.desc()).limit(1))


def find_attempt(session: Session, stripe_id: str, *, lock: bool = False) -> PaymentAttempt | None:
    stmt = select(PaymentAttempt).where(PaymentAttempt.stripe_id == stripe_id)
    return session.scalar(stmt.with_for_update() if lock else stmt)


def apply_result(session: Session, attempt: PaymentAttempt, result: IntentResult, *,
                 actor: audit.Actor = SYSTEM) -> str:
    """Bring the attempt and its order in line with Stripe's word. Safe to repeat.

    Returns what happened: "authorised", "requires_action", "failed" or "unchanged".
    """
    order = orders.get_order(session, attempt.order_id, lock=True)
    attempt.stripe_id = attempt.stripe_id or result.id
    attempt.updated_at = utcnow()
    if result.authorised:
        attempt.status = "authorised" if result.status == "requires_capture" else "captured"
        changed = orders.mark_authorised(session, order, actor=actor, reference=result.id)
        return "authorised" if changed else "unchanged"
    if result.status == "requires_action":
        attempt.status = "requires_action"
        return "requires_action"
    if attempt.status in ("authorised", "captured"):
        return "unchanged"  # a late failure report of an earlier, superseded state
    attempt.status = "failed"
    attempt.error = (result.error or "The payment failed.")[:300]
    return "failed"


def record_decline(session: Session, attempt: PaymentAttempt, message: str) -> None:
    attempt.status = "failed"
    attempt.error = message[:300]
    attempt.updated_at = utcnow()


def abandon(session: Session, order: Order, *, actor: audit.Actor, reason: str) -> None:
    """A checkout whose payment failed: cancel the order and give the stock back."""
    if order.status == "pending_payment":
        orders.cancel_order(session, order, actor=actor, reason=reason)
