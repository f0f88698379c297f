"""3-D Secure and Stripe's "processing" at checkout (review L8): a second submit, or its
poll, never cancels the PaymentIntent the shopper is authenticating; only the shopper's
giving up, a challenge left longer than the window, or a card read out on the phone (MOTO)
does. A payment the bank is still processing leaves the order waiting."""
import datetime as dt

from sqlalchemy import select

from core.audit import Actor
from core.db import utcnow
from core.inventory.models import StockLevel
from core.money import Money
from core.payments import services as payments
from core.payments.gateway import IntentResult
from core.payments.models import PaymentAttempt
from core.workflows.card_payments import authorise_order, complete_authentication
from core.workflows.checkout_expiry import WEB_PATIENCE, expire_abandoned
from tests.unit.test_orders import place, vid

SHOPPER = Actor("anonymous", None, "guest")


class Stripe:
    """Answers like Stripe: an authorisation comes back with `status`; retrieve tells what
    the intent is now; cancel voids it."""

    def __init__(self, status="requires_action"):
        self.status, self.cancelled, self.made = status, [], []

    def save_card(self, payment_method, **kwargs):
        return "cus_test"

    def authorise(self, *, amount, currency, payment_method, key, metadata, moto=False,
                  customer=None):
        self.made.append(key)
        return IntentResult(f"pi_{key}", self.status, f"pi_{key}_secret_abc",
                            Money(amount, currency))

    def retrieve(self, intent_id):
        return IntentResult(intent_id, self.status, f"{intent_id}_secret_abc", Money("1", "EUR"))

    def cancel(self, intent_id):
        self.cancelled.append(intent_id)
        self.status = "canceled"
        return IntentResult(intent_id, "canceled", "", Money("1", "EUR"))


def checkout(db, key):
    order = place(db, [(vid(db, "PAP-A4-80"), 1)], key=key)
    db.commit()
    return order


def reserved(db) -> int:
    return db.scalar(select(StockLevel.reserved)
                     .where(StockLevel.variant_id == vid(db, "PAP-A4-80")))


def the_attempt(db, order) -> PaymentAttempt:
    return db.scalar(select(PaymentAttempt).where(PaymentAttempt.order_id == order.id))


def test_a_second_submit_and_its_polls_during_3d_secure_never_cancel_the_live_payment_intent(db):
    order = checkout(db, "double-3ds")
    stripe = Stripe("requires_action")
    first = authorise_order(db, stripe, order.id, payment_method="pm_card", actor=SHOPPER,
                            commit=db.commit)
    assert first.status == "requires_action" and first.client_secret
    second = authorise_order(db, stripe, order.id, payment_method="pm_card", actor=SHOPPER,
                             commit=db.commit)
    assert second.status == "processing"  # no second PaymentIntent, no second challenge
    for _ in range(3):  # the second submit polls /complete while the first tab authenticates
        polled = complete_authentication(db, stripe, order.id, actor=SHOPPER, commit=db.commit)
        assert polled.status == "processing"
    assert stripe.cancelled == [] and len(stripe.made) == 1
    assert order.status == "pending_payment" and the_attempt(db, order).status == "requires_action"

    stripe.status = "requires_capture"  # the shopper completes the challenge in the first tab
    done = complete_authentication(db, stripe, order.id, actor=SHOPPER, commit=db.commit)
    assert done.status == "authorised" and order.status == "confirmed"
    assert stripe.cancelled == []


def test_a_shopper_who_gives_up_the_challenge_gets_the_payment_cancelled_and_the_cart_back(db):
    order = checkout(db, "gave-up-3ds")
    before = reserved(db)
    stripe = Stripe("requires_action")
    authorise_order(db, stripe, order.id, payment_method="pm_card", actor=SHOPPER,
                    commit=db.commit)
    outcome = complete_authentication(db, stripe, order.id, actor=SHOPPER, commit=db.commit,
                                      gave_up=True)
    assert outcome.status == "declined" and "could not be authenticated" in outcome.message
    assert stripe.cancelled == [the_attempt(db, order).stripe_id]
    assert the_attempt(db, order).status == "cancelled"
    assert order.status == "cancelled" and reserved(db) == before - 1


def test_a_challenge_left_longer_than_the_window_is_cancelled_on_the_next_poll(db):
    order = checkout(db, "left-3ds")
    stripe = Stripe("requires_action")
    authorise_order(db, stripe, order.id, payment_method="pm_card", actor=SHOPPER,
                    commit=db.commit)
    attempt = the_attempt(db, order)
    attempt.created_at = utcnow() - payments.CHALLENGE_WINDOW - dt.timedelta(minutes=1)
    db.commit()
    outcome = complete_authentication(db, stripe, order.id, actor=SHOPPER, commit=db.commit)
    assert outcome.status == "declined" and stripe.cancelled == [attempt.stripe_id]


def test_a_card_read_out_on_the_phone_that_asks_for_3d_secure_is_still_voided(db):
    order = checkout(db, "moto-3ds")
    stripe = Stripe("requires_action")
    outcome = authorise_order(db, stripe, order.id, payment_method="pm_card", actor=SHOPPER,
                              commit=db.commit, moto=True, abandon_on_decline=False)
    assert outcome.status == "requires_action"
    # What core.workflows.phone_orders.take_card does next: nobody can authenticate on the phone.
    complete_authentication(db, stripe, order.id, actor=SHOPPER, commit=db.commit,
                            abandon_on_decline=False)
    assert stripe.cancelled == [the_attempt(db, order).stripe_id]
    assert order.status == "pending_payment"  # waits for another card or a pay link


def test_a_payment_the_bank_is_still_processing_leaves_the_order_waiting(db):
    order = checkout(db, "processing")
    before = reserved(db)
    stripe = Stripe("processing")
    outcome = authorise_order(db, stripe, order.id, payment_method="pm_card", actor=SHOPPER,
                              commit=db.commit)
    assert outcome.status == "processing"
    assert order.status == "pending_payment" and reserved(db) == before  # nothing abandoned
    attempt = the_attempt(db, order)
    assert attempt.status in payments.OPEN and attempt.stripe_id

    polled = complete_authentication(db, stripe, order.id, actor=SHOPPER, commit=db.commit)
    assert polled.status == "processing" and stripe.cancelled == []
    # The sweep leaves it to the bank too, however old the order is.
    order.placed_at = utcnow() - WEB_PATIENCE - dt.timedelta(minutes=5)
    db.commit()
    assert expire_abandoned(db, stripe, commit=db.commit)["kept"] == 1
    assert order.status == "pending_payment" and stripe.cancelled == []

    stripe.status = "requires_capture"  # the bank said yes
    done = complete_authentication(db, stripe, order.id, actor=SHOPPER, commit=db.commit)
    assert done.status == "authorised" and order.status == "confirmed"


def test_a_processing_report_from_a_webhook_is_not_a_failure(db):
    order = checkout(db, "processing-hook")
    attempt = payments.new_attempt(db, order)
    attempt.stripe_id = "pi_processing"
    db.commit()
    result = IntentResult("pi_processing", "processing", "", Money(order.gross_total, "EUR"))
    assert payments.apply_result(db, attempt, result) == "processing"
    assert attempt.status == "creating" and order.status == "pending_payment"
