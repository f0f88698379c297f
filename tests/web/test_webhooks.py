"""Stripe webhooks: signatures, storage by id, exactly-once effect in any order."""
import hashlib
import hmac
import json
import random
import time

from sqlalchemy import func, select

from core.audit import Actor, AuditEvent
from core.money import Money
from core.payments import services as payments
from core.payments.gateway import IntentResult
from core.payments.models import PaymentAttempt, StripeEvent
from tests.fakes import FakeGateway
from tests.unit.test_orders import place, vid

SECRET = "whsec_marketline_dev"  # the default in core.config


def sign(payload: bytes, *, at: int | None = None, secret: str = SECRET) -> str:
    at = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def event_for(intent_id: str, *, event_id: str, status="requires_capture", amount=1000,
              kind="payment_intent.succeeded") -> bytes:
    return json.dumps({"id": event_id, "object": "event", "type": kind, "data": {"object": {
        "id": intent_id, "object": "payment_intent", "status": status, "amount": amount,
        "currency": "eur", "client_secret": f"{intent_id}_secret_x"}}}).encode()


def post(client, payload, signature):
    return client.post("/webhooks/stripe", data=payload,
                       headers={"Stripe-Signature": signature, "Content-Type": "application/json"})


def pending_order_with_intent(db, intent_id="pi_webhook_1"):
    order = place(db, [(vid(db, "PAP-A4-80"), 1)], key=f"key-{intent_id}")
    attempt = payments.new_attempt(db, order)
    attempt.stripe_id, attempt.status = intent_id, "creating"
    db.commit()
    return order, attempt


def test_a_tampered_body_is_rejected(client, db):
    order, _ = pending_order_with_intent(db)
    payload = event_for("pi_webhook_1", event_id="evt_1")
    response = post(client, payload.replace(b"requires_capture", b"succeeded"), sign(payload))
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert db.scalar(select(func.count()).select_from(StripeEvent)) == 0
    db.refresh(order)
    assert order.status == "pending_payment"


def test_a_stale_timestamp_is_rejected(client, db):
    pending_order_with_intent(db)
    payload = event_for("pi_webhook_1", event_id="evt_2")
    response = post(client, payload, sign(payload, at=int(time.time()) - 301))
    assert response.status_code == 400


def test_a_wrong_secret_is_rejected(client, db):
    payload = event_for("pi_x", event_id="evt_3")
    assert post(client, payload, sign(payload, secret="whsec_other")).status_code == 400


def test_webhooks_need_no_csrf_token_but_a_signature(client, db):
    payload = event_for("pi_unknown", event_id="evt_4")
    assert post(client, payload, sign(payload)).status_code == 200  # stored, nothing to apply
    assert db.get(StripeEvent, "evt_4").outcome == "no such payment"


def test_one_event_three_times_in_random_order_racing_the_browser_changes_state_once(client, db):
    order, attempt = pending_order_with_intent(db, "pi_race")
    payload = event_for("pi_race", event_id="evt_race", amount=int(order.gross_total * 100))
    deliveries = ["webhook", "webhook", "webhook", "browser"]
    random.Random(7).shuffle(deliveries)
    for who in deliveries:
        if who == "webhook":
            assert post(client, payload, sign(payload)).status_code == 200
        else:
            result = IntentResult("pi_race", "requires_capture", "", Money(order.gross_total, "EUR"))
            payments.apply_result(db, db.get(PaymentAttempt, attempt.id), result,
                                  actor=Actor("customer", None, "browser"))
            db.commit()
    db.expire_all()
    assert db.get(type(order), order.id).status == "confirmed"
    assert db.get(PaymentAttempt, attempt.id).status == "authorised"
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "order.payment_authorised",
        AuditEvent.subject_id == str(order.id))) == 1
    assert db.scalar(select(func.count()).select_from(StripeEvent)
                     .where(StripeEvent.id == "evt_race")) == 1


def test_a_failed_payment_event_cancels_the_waiting_order_and_releases_stock(client, db):
    from core.inventory.models import StockLevel
    order, _ = pending_order_with_intent(db, "pi_fail")
    variant = order.lines[0].variant_id
    reserved = db.scalar(select(StockLevel.reserved).where(StockLevel.variant_id == variant))
    payload = event_for("pi_fail", event_id="evt_fail", status="requires_payment_method",
                        kind="payment_intent.payment_failed")
    assert post(client, payload, sign(payload)).status_code == 200
    db.expire_all()
    assert db.get(type(order), order.id).status == "cancelled"
    assert db.scalar(select(StockLevel.reserved).where(StockLevel.variant_id == variant)) == reserved - 1


def test_a_late_failure_after_authorisation_changes_nothing(client, db):
    order, attempt = pending_order_with_intent(db, "pi_late")
    ok = event_for("pi_late", event_id="evt_ok")
    late = event_for("pi_late", event_id="evt_late", status="requires_payment_method",
                     kind="payment_intent.payment_failed")
    post(client, ok, sign(ok))
    post(client, late, sign(late))
    db.expire_all()
    assert db.get(type(order), order.id).status == "confirmed"


def test_a_late_requires_action_event_does_not_undo_an_authorisation(client, db):
    order, attempt = pending_order_with_intent(db, "pi_order")
    ok = event_for("pi_order", event_id="evt_cap", kind="payment_intent.amount_capturable_updated",
                   amount=int(order.gross_total * 100))
    late = event_for("pi_order", event_id="evt_act", status="requires_action",
                     kind="payment_intent.requires_action")
    post(client, ok, sign(ok))
    post(client, late, sign(late))
    db.expire_all()
    assert db.get(PaymentAttempt, attempt.id).status == "authorised"
    assert db.get(type(order), order.id).payment_state == "authorised"


def test_an_authorisation_arriving_after_the_order_was_cancelled_is_voided(db):
    from core.orders import services as orders
    from core.payments import webhooks
    order, attempt = pending_order_with_intent(db, "pi_orphan")
    orders.cancel_order(db, order, actor=Actor.system("test"), reason="changed mind")
    db.commit()
    payload = json.loads(event_for("pi_orphan", event_id="evt_orphan"))
    webhooks.store(db, payload)
    gateway = FakeGateway()
    assert webhooks.process(db, "evt_orphan", gateway=gateway) == "orphaned"
    assert gateway.cancelled == ["pi_orphan"]
    assert db.get(PaymentAttempt, attempt.id).status == "voided"
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "order.payment_voided", AuditEvent.subject_id == str(order.id))) == 1


def test_an_attempt_whose_answer_was_lost_is_found_by_its_key(client, db):
    order = place(db, [(vid(db, "PAP-A4-80"), 1)], key="lost-answer")
    attempt = payments.new_attempt(db, order)  # no stripe id: the answer never came
    db.commit()
    body = json.loads(event_for("pi_lost", event_id="evt_lost", amount=int(order.gross_total * 100)))
    body["data"]["object"]["metadata"] = {"attempt": attempt.key}
    payload = json.dumps(body).encode()
    assert post(client, payload, sign(payload)).status_code == 200
    db.expire_all()
    assert db.get(PaymentAttempt, attempt.id).stripe_id == "pi_lost"
    assert db.get(type(order), order.id).status == "confirmed"
