"""The webhook and the browser racing for one 3-D Secure authorisation, in real threads on
PostgreSQL (READ COMMITTED, row locks), with committed data (review H3).

Each round places an order waiting for 3-D Secure, then releases two threads together:
the browser's /complete (core.workflows.card_payments.complete_authentication) and Stripe's webhook
(store + process). Some rounds widen the window on one side (the webhook pauses after
reading the attempt; or Stripe is slow to answer the browser), so both interleavings the
review describes happen for certain, besides the free-running ones."""
from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy import delete, func, select

from core.audit import Actor, AuditEvent
from core.db import make_session_factory
from core.money import Money
from core.orders.models import Order
from core.payments import services as payments
from core.payments import webhooks
from core.payments.gateway import IntentResult
from core.payments.models import PaymentAttempt, StripeEvent
from core.workflows.card_payments import complete_authentication
from tests.helpers import run_threads
from tests.pg.test_checkout_concurrency import make_variant, place  # noqa: F401 (fixture)

BROWSER = Actor("anonymous", None, "guest")
# (webhook pauses after reading the attempt, Stripe answers the browser after) in seconds
ROUNDS = [(0.3, 0.0), (0.0, 0.3), (0.0, 0.0)] * 3


class Stripe:
    """Says the intent is authorised; records any void (there must be none)."""

    def __init__(self, amount: Money, pause: float):
        self.amount, self.pause = amount, pause
        self.cancelled: list[str] = []
        self.lock = threading.Lock()

    def retrieve(self, intent_id):
        time.sleep(self.pause)
        return IntentResult(intent_id, "requires_capture", "", self.amount)

    def cancel(self, intent_id):
        with self.lock:
            self.cancelled.append(intent_id)
        return IntentResult(intent_id, "canceled", "", self.amount)


@pytest.fixture
def webhook_pause(monkeypatch):
    """Seconds the webhook waits after reading the attempt (set per round)."""
    pause = [0.0]
    find = payments.find_attempt

    def slow_find(session, stripe_id, *, key=None):
        found = find(session, stripe_id, key=key)
        time.sleep(pause[0])
        return found

    monkeypatch.setattr(payments, "find_attempt", slow_find)  # only the webhook calls it
    return pause


@pytest.fixture
def events(engine):
    made: list[str] = []
    yield made
    with make_session_factory(engine)() as s:
        s.execute(delete(StripeEvent).where(StripeEvent.id.in_(made)))
        s.commit()


def waiting_for_3d_secure(factory, variant_id: int, intent_id: str) -> tuple[int, Money]:
    with factory() as s:
        order = place(s, variant_id, 1, key=f"pg-race-{intent_id}")
        attempt = payments.new_attempt(s, order)
        attempt.stripe_id, attempt.status = intent_id, "requires_action"
        s.commit()
        return order.id, Money(order.gross_total, order.currency)


def intent_event(event_id: str, intent_id: str, amount: Money) -> dict:
    return {"id": event_id, "object": "event", "type": "payment_intent.amount_capturable_updated",
            "data": {"object": {"id": intent_id, "object": "payment_intent",
                                "status": "requires_capture", "currency": "eur",
                                "amount": amount.to_minor()}}}


def test_the_webhook_racing_the_browser_never_voids_the_live_authorisation(
        engine, make_variant, webhook_pause, events):
    factory = make_session_factory(engine)  # expire_on_commit=False, as the apps have it
    variant_id = make_variant(on_hand=len(ROUNDS) + 1)
    run = uuid.uuid4().hex[:8]
    for n, (hook_pause, stripe_pause) in enumerate(ROUNDS):
        intent_id, event_id = f"pi_pg_{run}_{n}", f"evt_pg_{run}_{n}"
        events.append(event_id)
        order_id, amount = waiting_for_3d_secure(factory, variant_id, intent_id)
        stripe = Stripe(amount, stripe_pause)
        webhook_pause[0] = hook_pause

        def browser():
            with factory() as s:
                return complete_authentication(s, stripe, order_id, actor=BROWSER,
                                               commit=s.commit).status

        def hook():
            with factory() as s:
                webhooks.store(s, intent_event(event_id, intent_id, amount))
                s.commit()
                outcome = webhooks.process(s, event_id, gateway=stripe)
                s.commit()
                return outcome

        said_browser, said_hook = run_threads(2, lambda i: (browser, hook)[i]())

        where = f"round {n} (webhook pause {hook_pause}, Stripe pause {stripe_pause})"
        assert stripe.cancelled == [], where  # the live authorisation is never voided
        assert said_browser == "authorised", where
        assert said_hook in ("authorised", "unchanged"), where
        with factory() as s:
            order = s.get(Order, order_id)
            assert (order.status, order.payment_state) == ("confirmed", "authorised"), where
            assert s.scalar(select(PaymentAttempt.status)
                            .where(PaymentAttempt.stripe_id == intent_id)) == "authorised", where
            assert s.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.action == "order.payment_authorised",
                AuditEvent.subject_id == str(order_id))) == 1, where  # confirmed once
            assert s.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.action.in_(("order.payment_voided", "order.void_failed")),
                AuditEvent.subject_id == str(order_id))) == 0, where
