"""Checkouts that never finished paying give their stock back.

A web checkout reserves stock before the card is authorised. When the shopper leaves in
the middle of 3-D Secure, or the answer from Stripe is lost, the order would wait for ever.
`expire_abandoned` asks Stripe how each such payment ended: an authorisation that did
arrive confirms the order; anything else is voided and the order cancelled, its stock
released. Orders placed by phone wait as long as a payment link lives.
Run it every few minutes: Celery beat does (core.tasks), or `flask --app wsgi expire-checkouts`.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core import audit
from core.db import utcnow
from core.orders import services as orders
from core.orders.models import Order
from core.payments import services as payments
from core.payments.gateway import GatewayUnavailable, PaymentGateway
from core.payments.links import DEFAULT_LIFETIME as PAY_LINK_LIFETIME
from core.payments.models import PaymentAttempt
from core.payments.states import AttemptStatus, move_attempt
from core.workflows import stock_changes
from core.workflows.card_payments import after_card_confirmation

WEB_PATIENCE = dt.timedelta(minutes=30)
ACTOR = audit.Actor.system("checkout-expiry")


def stale_orders(session: Session, *, now: dt.datetime) -> list[int]:
    """Orders still waiting for a payment past their patience."""
    web = (Order.placed_by_kind != "agent") & (Order.placed_at < now - WEB_PATIENCE)
    phone = (Order.placed_by_kind == "agent") & (Order.placed_at < now - PAY_LINK_LIFETIME)
    return list(session.scalars(select(Order.id).where(Order.status == "pending_payment",
                                                       or_(web, phone))
                                .order_by(Order.id).limit(500)))


def expire_abandoned(session: Session, gateway: PaymentGateway, *,
                     commit: Callable[[], None], now: dt.datetime | None = None) -> dict[str, int]:
    """Settle every stale order; each is committed on its own. Returns counts by outcome."""
    counts = {"confirmed": 0, "cancelled": 0, "kept": 0}
    for order_id in stale_orders(session, now=now or utcnow()):
        counts[_settle(session, gateway, order_id, commit)] += 1
    return counts


def _settle(session: Session, gateway: PaymentGateway, order_id: int, commit) -> str:
    open_ids = list(session.scalars(select(PaymentAttempt.id).where(
        PaymentAttempt.order_id == order_id,
        PaymentAttempt.status.in_(payments.OPEN),
        PaymentAttempt.stripe_id.is_not(None))))
    commit()  # no transaction (and no lock) open while Stripe answers
    for attempt_id in open_ids:
        attempt = session.get(PaymentAttempt, attempt_id)
        try:
            result = gateway.retrieve(attempt.stripe_id)
            if result.status == "processing":
                return "kept"  # the bank has not decided: ask again next time
            if not result.authorised and result.status != "canceled":
                result = gateway.cancel(attempt.stripe_id)
        except GatewayUnavailable:
            return "kept"  # try again next time rather than guess
        # apply_result locks the order and reads order and attempt afresh.
        outcome = payments.apply_result(session, attempt, result, actor=ACTOR, gateway=gateway)
        if outcome == "failed" and result.status == "canceled":
            move_attempt(attempt, AttemptStatus.CANCELLED)
        if outcome == "authorised":  # the approvers hear of it, as on the browser's path
            after_card_confirmation(session, attempt.order, actor=ACTOR)
        commit()
    # Locked and read afresh: a webhook may have confirmed it since the sweep began.
    order = orders.get_order(session, order_id, lock=True)
    if order.status != "pending_payment":
        commit()
        return "confirmed" if order.status == "confirmed" else "kept"
    stock_changes.abandon(session, order, actor=ACTOR, reason="Checkout abandoned")
    commit()
    return "cancelled"
