"""Every confirmed order gets exactly one confirmation e-mail, sent after commit, whatever
the path that confirmed it: the web checkout's card, 3-D Secure finished by Stripe's
webhook, a payment link, a card taken by phone, or on account."""
import dataclasses
import json
import time

import pytest
import requests
import stripe
from sqlalchemy import func, select

from core import events
from core.orders.models import Order
from core.payments.models import PaymentAttempt
from tests.conftest import agent_client_for, csrf_token
from tests.unit.test_orders import vid
from tests.web.conftest import text_of
from tests.web.test_order_entry import add, number_of, place, placed
from tests.web.test_webhooks import post as post_webhook
from tests.web.test_webhooks import sign

GUEST = "confirm-me@example.com"


@pytest.fixture
def paying(settings, session_factory, localstripe):
    """The shop and the console talking to a real localstripe."""
    from callcenter import create_app as create_console
    from storefront import create_app as create_shop
    paying_settings = dataclasses.replace(settings, STRIPE_API_BASE=localstripe)
    shop = create_shop(paying_settings, session_factory=session_factory)
    console = create_console(paying_settings, session_factory=session_factory)
    shop.config.update(TESTING=True)
    console.config.update(TESTING=True)
    return shop, console


def card(localstripe, number):
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": localstripe})
    return client.v1.payment_methods.create({"type": "card", "card": {
        "number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"}}).id


def messages_to(sink, address, wait=0.3):
    time.sleep(wait)  # anything sent twice would have arrived by now
    return [m for m in sink.messages if address in m["To"]]


def confirmations_to(sink, address):
    return [m for m in messages_to(sink, address) if m["Subject"].startswith("Your Marketline order")]


def checkout(client, db, payment_method):
    token = csrf_token(client, "/cart/")
    client.post("/cart/add", data={"csrf_token": token, "variant_id": vid(db, "PAP-A4-80"),
                                   "quantity": "2"})
    page = client.get("/checkout").get_data(as_text=True)
    key = page.split('name="key" type="hidden" value="')[1].split('"')[0]
    token = csrf_token(client, "/cart/")
    return client.post("/checkout", data={
        "csrf_token": token, "key": key, "email": GUEST, "full_name": "Ola Confirm",
        "line1": "Hafenstraße 1", "city": "Hamburg", "postal_code": "20457", "country": "DE",
        "shipping_method": "standard", "payment_method": payment_method})


def order_by_email(db, email) -> Order:
    db.expire_all()
    return db.scalar(select(Order).where(Order.email == email).order_by(Order.id.desc()))


def test_a_web_checkout_by_card_sends_one_confirmation(paying, db, localstripe, smtp_sink):
    shop, _ = paying
    client = shop.test_client()
    response = checkout(client, db, card(localstripe, "4242424242424242"))
    assert response.json["status"] == "confirmed", response.json
    order = order_by_email(db, GUEST)
    # The browser comes back to the thanks page, and a double submit is answered again.
    client.post(f"/checkout/{order.number}/complete",
                headers={"X-CSRFToken": csrf_token(client, "/cart/")})
    (message,) = confirmations_to(smtp_sink, GUEST)
    body = text_of(message)
    assert order.number in body and "Your card has been authorised" in body
    assert "/orders/lookup" in body  # a guest's way back to the order
    assert order_by_email(db, GUEST).confirmation_emailed_at is not None


def test_3d_secure_finished_by_the_webhook_sends_one_confirmation(paying, db, localstripe,
                                                                   smtp_sink):
    shop, _ = paying
    client = shop.test_client()
    response = checkout(client, db, card(localstripe, "4000002500003155"))
    assert response.json["status"] == "requires_action"
    order = order_by_email(db, GUEST)
    assert confirmations_to(smtp_sink, GUEST) == []  # nothing before the money is held
    intent = db.scalar(select(PaymentAttempt).where(PaymentAttempt.order_id == order.id))
    # The shopper passes the challenge; the tab is closed before the browser reports back.
    requests.post(f"{localstripe}/v1/payment_intents/{intent.stripe_id}/_authenticate",
                  data={"client_secret": response.json["client_secret"], "success": "true",
                        "key": "pk_test_x"}, timeout=5).raise_for_status()
    payload = json.dumps({"id": "evt_confirm_3ds", "object": "event",
                          "type": "payment_intent.amount_capturable_updated",
                          "data": {"object": {"id": intent.stripe_id, "object": "payment_intent",
                                              "status": "requires_capture",
                                              "amount": int(order.gross_total * 100),
                                              "currency": "eur",
                                              "metadata": {"attempt": intent.key}}}}).encode()
    for _ in range(2):  # Stripe may deliver an event more than once
        assert post_webhook(client, payload, sign(payload)).status_code == 200
    assert order_by_email(db, GUEST).status == "confirmed"
    (message,) = confirmations_to(smtp_sink, GUEST)
    assert order.number in text_of(message)


def test_paying_by_link_sends_one_confirmation(paying, db, localstripe, smtp_sink):
    shop, console = paying
    agent = agent_client_for(console, "agent@marketline.example")
    number = number_of(db, "shopper")
    add(agent, number, "PAP-A4-80")
    order = placed(db, place(agent, number, "pay_link"))
    assert confirmations_to(smtp_sink, "shopper@example.com") == []
    link_mail = messages_to(smtp_sink, "shopper@example.com", wait=0)[-1]
    path = "/pay/" + text_of(link_mail).split("/pay/")[1].split()[0]
    client = shop.test_client()
    token = csrf_token(client, path)
    response = client.post(path, data={"csrf_token": token,
                                       "payment_method": card(localstripe, "4242424242424242")})
    assert response.json["status"] == "confirmed", response.json
    (message,) = confirmations_to(smtp_sink, "shopper@example.com")
    body = text_of(message)
    assert order.number in body
    assert f"/account/orders/{order.number}" in body  # the customer's account


def test_a_card_taken_by_phone_sends_one_confirmation(paying, db, localstripe, smtp_sink):
    _, console = paying
    agent = agent_client_for(console, "agent@marketline.example")
    number = number_of(db, "shopper")
    add(agent, number, "PAP-A4-80")
    order = placed(db, place(agent, number, "card"))
    path = f"/order-entry/{order.number}/card"
    response = agent.post(path, data={"csrf_token": csrf_token(agent, path),
                                      "payment_method": card(localstripe, "4242424242424242")})
    assert response.status_code == 303
    assert order_by_email(db, "shopper@example.com").status == "confirmed"
    (message,) = confirmations_to(smtp_sink, "shopper@example.com")
    assert order.number in text_of(message)


def test_an_order_on_account_by_phone_sends_one_confirmation(paying, db, smtp_sink):
    _, console = paying
    agent = agent_client_for(console, "agent@marketline.example")
    number = number_of(db, "acme")
    add(agent, number, "PAP-A4-80")
    order = placed(db, place(agent, number, "on_account"))
    assert (order.status, order.payment_state) == ("confirmed", "on_account")
    (message,) = confirmations_to(smtp_sink, "purchasing@acme.example")
    body = text_of(message)
    assert order.number in body and "You will receive an invoice when your goods ship" in body


def test_the_console_sends_the_confirmation_again_on_request(paying, db, smtp_sink):
    _, console = paying
    agent = agent_client_for(console, "agent@marketline.example")
    number = number_of(db, "acme")
    add(agent, number, "PAP-A4-80")
    order = placed(db, place(agent, number, "on_account"))
    path = f"/orders/{order.number}"
    agent.post(f"{path}/confirmation", data={"resend-csrf_token": csrf_token(agent, path)})
    assert len(confirmations_to(smtp_sink, "purchasing@acme.example")) == 2


def test_a_confirmation_recorded_in_a_rolled_back_transaction_sends_nothing(db, smtp_sink):
    from tests.unit.test_orders import place as place_order
    order = place_order(db, [(vid(db, "PAP-A4-80"), 1)], key="rolled-back")
    db.commit()
    with db.begin_nested():
        from core.orders import services as orders
        orders.confirm(db, order)
        assert events.pending(db)
        db.rollback()  # the savepoint: its events go with it
    assert events.pending(db) == []
    db.commit()
    assert messages_to(smtp_sink, "ola@example.com") == []
    assert db.scalar(select(func.count()).select_from(Order)
                     .where(Order.confirmation_emailed_at.is_not(None),
                            Order.id == order.id)) == 0
