"""Checkouts that never finished paying give their stock back."""
import datetime as dt

from sqlalchemy import select

from core.db import utcnow
from core.inventory.models import StockLevel
from core.money import Money
from core.payments import services as payments
from core.payments.gateway import IntentResult
from core.payments.models import PaymentAttempt
from core.workflows.checkout_expiry import expire_abandoned
from tests.unit.test_orders import place, vid


class Stripe:
    """Answers like Stripe for the intents it knows: their status, and cancel."""

    def __init__(self, statuses):
        self.statuses, self.cancelled = dict(statuses), []

    def _result(self, intent_id):
        return IntentResult(intent_id, self.statuses[intent_id], "", Money("5.49", "EUR"))

    def retrieve(self, intent_id):
        return self._result(intent_id)

    def cancel(self, intent_id):
        self.cancelled.append(intent_id)
        self.statuses[intent_id] = "canceled"
        return self._result(intent_id)


def waiting_order(db, key, intent_id, minutes_ago):
    order = place(db, [(vid(db, "PAP-A4-80"), 1)], key=key)
    order.placed_at = utcnow() - dt.timedelta(minutes=minutes_ago)
    attempt = payments.new_attempt(db, order)
    attempt.stripe_id, attempt.status = intent_id, "requires_action"
    db.flush()
    return order


def reserved(db):
    return db.scalar(select(StockLevel.reserved).where(StockLevel.variant_id == vid(db, "PAP-A4-80")))


def test_an_abandoned_checkout_is_cancelled_voided_and_its_stock_released(db):
    before = reserved(db)
    order = waiting_order(db, "left", "pi_left", minutes_ago=45)
    stripe = Stripe({"pi_left": "requires_action"})
    counts = expire_abandoned(db, stripe, commit=db.flush)
    assert counts["cancelled"] == 1 and stripe.cancelled == ["pi_left"]
    assert order.status == "cancelled" and reserved(db) == before
    assert db.scalar(select(PaymentAttempt.status).where(PaymentAttempt.order_id == order.id)) == "cancelled"


def test_an_authorisation_that_did_arrive_confirms_the_order(db):
    order = waiting_order(db, "late", "pi_late", minutes_ago=45)
    counts = expire_abandoned(db, Stripe({"pi_late": "requires_capture"}), commit=db.flush)
    assert counts["confirmed"] == 1 and order.status == "confirmed"


def test_recent_checkouts_and_phone_orders_within_a_week_are_left_alone(db):
    fresh = waiting_order(db, "fresh", "pi_fresh", minutes_ago=5)
    phone = waiting_order(db, "phone", "pi_phone", minutes_ago=60 * 24 * 3)
    phone.placed_by_kind = "agent"
    db.flush()
    expire_abandoned(db, Stripe({"pi_fresh": "requires_action", "pi_phone": "requires_action"}),
                     commit=db.flush)
    assert fresh.status == "pending_payment" and phone.status == "pending_payment"
