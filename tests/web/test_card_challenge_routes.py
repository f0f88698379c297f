"""The card pages' /complete routes (checkout, pay links, account invoices): a poll never
cancels a 3-D Secure challenge; the card form's report that the shopper gave up does
(review L8). And what Stripe's webhooks leave in the database (review L6)."""
import hashlib
import hmac
import json
import time

import pytest
from sqlalchemy import select

from core.customers.models import CustomerUser
from core.payments import services as payments
from core.payments.models import PaymentAttempt, StripeEvent
from tests.fakes import FakeGateway
from tests.conftest import csrf_token
from tests.unit.test_orders import place, vid

SECRET = "whsec_marketline_dev"  # the default in core.config, as tests/web/test_webhooks.py


@pytest.fixture
def payment_gateway():
    """The apps take card payments through the fake (tests/fakes.py)."""
    return FakeGateway()


def shoppers_order_in_3d_secure(db, intent_id: str):
    order = place(db, [(vid(db, "PAP-A4-80"), 1)], key=f"route-{intent_id}")
    order.customer_id = db.scalar(select(CustomerUser.customer_id)
                                  .where(CustomerUser.email == "shopper@example.com"))
    attempt = payments.new_attempt(db, order)
    attempt.stripe_id, attempt.status = intent_id, "requires_action"
    db.commit()
    return order


def complete(client, number: str, data=None):
    return client.post(f"/checkout/{number}/complete", data=data or {},
                       headers={"X-CSRFToken": csrf_token(client, "/"),
                                "Accept": "application/json"})


def test_polling_checkout_completion_never_cancels_and_a_reported_give_up_does(
        customer_client, db, payment_gateway):
    order = shoppers_order_in_3d_secure(db, "pi_route_3ds")
    stripe = payment_gateway

    polled = complete(customer_client, order.number)
    assert polled.status_code == 202 and polled.get_json()["status"] == "processing"
    assert stripe.cancelled == []

    gave_up = complete(customer_client, order.number, {"gave_up": "1"})
    assert gave_up.status_code == 402 and gave_up.get_json()["status"] == "declined"
    assert stripe.cancelled == ["pi_route_3ds"]
    db.expire_all()
    assert db.scalar(select(PaymentAttempt.status).where(
        PaymentAttempt.stripe_id == "pi_route_3ds")) == "cancelled"


# -- L6: no client_secret in stripe_events ------------------------------------------------------

def sign(payload: bytes) -> str:
    at = int(time.time())
    mac = hmac.new(SECRET.encode(), f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def test_a_stored_webhook_event_keeps_no_client_secret_and_is_still_applied(client, db):
    order = place(db, [(vid(db, "PAP-A4-80"), 1)], key="secret-free")
    attempt = payments.new_attempt(db, order)
    attempt.stripe_id = "pi_secret_free"
    db.commit()
    payload = json.dumps({"id": "evt_secret_free", "object": "event",
                          "type": "payment_intent.amount_capturable_updated",
                          "data": {"object": {
                              "id": "pi_secret_free", "object": "payment_intent",
                              "status": "requires_capture", "currency": "eur",
                              "amount": int(order.gross_total * 100),
                              "client_secret": "pi_secret_free_secret_TOPSECRET",
                              "latest_charge": {"id": "ch_1", "client_secret": "also_TOPSECRET"},
                              "next_action": None}}}).encode()
    response = client.post("/webhooks/stripe", data=payload,
                           headers={"Stripe-Signature": sign(payload),
                                    "Content-Type": "application/json"})
    assert response.status_code == 200
    db.expire_all()
    stored = db.get(StripeEvent, "evt_secret_free")
    assert "TOPSECRET" not in json.dumps(stored.payload)
    assert "client_secret" not in json.dumps(stored.payload)
    assert stored.payload["data"]["object"]["id"] == "pi_secret_free"
    assert stored.outcome == "authorised"
    assert db.get(type(order), order.id).status == "confirmed"
