"""Anti-automation (review M3, M4): payments, codes and account mails are rate-limited per
address and per account in the database; a refusal is a 429 that says how long to wait and
loses nothing; Stripe SetupIntents are made when a card form is used, not on page views;
sign-in backs off per e-mail and address instead of locking the account."""
from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import func, select

from core.customers.models import CustomerUser
from core.orders.models import Cart
from core.payments.links import make_token
from tests.fakes import FakeGateway
from tests.conftest import csrf_token, sign_in
from tests.web.test_cart import add

JSON = {"Accept": "application/json"}


def text(response) -> str:
    return response.get_data(as_text=True)


def client_at(app, address: str):
    """A test client whose requests come from `address`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


@pytest.fixture
def payment_gateway():
    """The apps take card payments through the fake (tests/fakes.py)."""
    return FakeGateway()


@pytest.fixture
def stripe(payment_gateway):
    return payment_gateway


def checkout_data(client, **fields):
    html = text(client.get("/checkout"))
    key = re.search(r'name="key" type="hidden" value="([0-9a-f]{32})"', html).group(1)
    return {"csrf_token": csrf_token(client, "/checkout"), "key": key, "payment_method": "pm_x",
            "email": "card.tester@example.com", "full_name": "Carl Tester",
            "line1": "Hauptstraße 5", "city": "Berlin", "postal_code": "10115",
            "country": "DE", "shipping_method": "standard", **fields}


# -- M3: a SetupIntent when the card form is used, not on every page view -------------------

def test_viewing_the_checkout_twenty_times_makes_no_setup_intent(client, db, stripe):
    add(client, db, "PAP-A4-80", 2)
    for _ in range(20):
        page = client.get("/checkout")
        assert page.status_code == 200
    assert stripe.setups == 0
    assert 'data-setup-url="/checkout/card-setup"' in text(page)
    answer = client.post("/checkout/card-setup", headers={
        "X-CSRFToken": csrf_token(client, "/checkout"), **JSON})
    assert answer.status_code == 200 and answer.json["client_secret"] == "seti_1_secret_x"
    assert stripe.setups == 1


def test_the_card_setup_needs_the_csrf_token_and_a_cart(client, db, stripe):
    assert client.post("/checkout/card-setup", headers=JSON).status_code == 400
    empty = client.post("/checkout/card-setup", headers={
        "X-CSRFToken": csrf_token(client, "/"), **JSON})
    assert empty.status_code == 422 and stripe.setups == 0


def test_card_setups_are_limited_and_refused_with_a_problem_document(client, db, stripe):
    add(client, db, "PAP-A4-80", 1)
    headers = {"X-CSRFToken": csrf_token(client, "/checkout"), **JSON}
    answers = [client.post("/checkout/card-setup", headers=headers) for _ in range(21)]
    assert [a.status_code for a in answers[:20]] == [200] * 20  # per cart: 20 an hour
    refused = answers[20]
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    assert refused.json["status"] == 429 and "Try again in" in refused.json["detail"]
    assert int(refused.headers["Retry-After"]) > 0
    assert stripe.setups == 20


def test_pay_link_and_invoice_pages_make_no_setup_intent_until_the_form_is_used(
        client, db, stripe, settings):
    from tests.unit.test_orders import place, vid
    order = place(db, [(vid(db, "PAP-A4-80"), 1)], key="link-view")
    db.commit()
    link = f"/pay/{make_token(settings.SECRET_KEY, order.id)}"
    for _ in range(5):
        assert client.get(link).status_code == 200
    assert stripe.setups == 0
    assert f'data-setup-url="{link}/card-setup"' in text(client.get(link))
    answer = client.post(f"{link}/card-setup", headers={"X-CSRFToken": csrf_token(client, link),
                                                       **JSON})
    assert answer.json["client_secret"] and stripe.setups == 1


def test_the_phone_card_page_makes_its_setup_intent_only_when_asked(agent_client, db,
                                                                     payment_gateway):
    from tests.web.test_order_entry import add as add_line, number_of, place, placed
    fake = payment_gateway
    number = number_of(db, "shopper")
    add_line(agent_client, number, "PAP-A4-80")
    order = placed(db, place(agent_client, number, "card"))
    card_page = f"/order-entry/{order.number}/card"
    for _ in range(5):
        page = text(agent_client.get(card_page))
    assert fake.setups == 0 and f'data-setup-url="{card_page}/setup"' in page
    answer = agent_client.post(f"{card_page}/setup", headers={
        "X-CSRFToken": csrf_token(agent_client, card_page), **JSON})
    assert answer.status_code == 200 and answer.json["client_secret"] == "seti_1_secret_x"
    assert agent_client.post(f"{card_page}/setup", headers=JSON).status_code == 400  # no CSRF


# -- M3: card testing through a pay link or the checkout ------------------------------------

def test_a_pay_link_refuses_card_after_card_with_429_and_keeps_the_order_open(
        shop_app, db, stripe, settings):
    from tests.unit.test_orders import place, vid
    stripe.decline = True
    order = place(db, [(vid(db, "PAP-A4-80"), 1)], key="card-testing")
    db.commit()
    link = f"/pay/{make_token(settings.SECRET_KEY, order.id)}"
    statuses = []
    for i in range(30):  # a card tester, even from ever new addresses
        client = client_at(shop_app, f"10.3.0.{i}")
        answer = client.post(link, data={"payment_method": f"pm_{i}"}, headers={
            "X-CSRFToken": csrf_token(client, link), **JSON})
        statuses.append(answer.status_code)
    assert statuses[:10] == [402] * 10 and set(statuses[10:]) == {429}
    assert len(stripe.authorised) == 10
    assert "Too many payment attempts" in answer.json["detail"]
    assert "Retry-After" in answer.headers
    db.refresh(order)
    assert order.status == "pending_payment"


def test_the_checkout_refuses_a_card_tester_with_a_problem_document_and_keeps_the_cart(
        client, db, stripe):
    stripe.decline = True
    add(client, db, "PAP-A4-80", 1)
    answers = [client.post("/checkout", data=checkout_data(client), headers=JSON)
               for _ in range(11)]
    assert [a.status_code for a in answers[:10]] == [402] * 10
    refused = answers[10]
    assert refused.status_code == 429 and "Too many payment attempts" in refused.json["detail"]
    assert len(stripe.authorised) == 10
    cart = db.scalar(select(Cart).order_by(Cart.id.desc()))
    assert [line.quantity for line in cart.lines] == [1]  # the cart is still there


# -- codes: coupons; account mails ----------------------------------------------------------

def test_coupon_codes_tried_one_after_another_are_refused_at_the_field(client, db):
    add(client, db, "PAP-A4-80", 1)
    token = csrf_token(client, "/cart/")
    for i in range(10):
        html = text(client.post("/cart/coupon", data={"code": f"GUESS{i}",
                                                      "csrf_token": token}))
        assert 'id="coupon-error"' in html
    response = client.post("/cart/coupon", data={"code": "WELCOME10", "csrf_token": token})
    assert response.status_code == 429 and "Retry-After" in response.headers
    assert re.search(r'id="coupon-error" role="alert">Too many coupon codes tried in a short '
                     r'time\. Try again in \d+ seconds\.', text(response))
    assert 'value="WELCOME10"' in text(response)
    over_htmx = client.post("/cart/coupon", data={"code": "WELCOME10", "csrf_token": token},
                            headers={"HX-Request": "true"})
    assert over_htmx.status_code == 200 and "Too many coupon codes" in text(over_htmx)
    cart = db.scalar(select(Cart).order_by(Cart.id.desc()))
    assert cart.coupon_codes == [] and len(cart.lines) == 1


def test_registrations_from_one_address_are_limited(client, db):
    def register(i):
        token = csrf_token(client, "/account/register")
        client.post("/account/sign-out", data={"csrf_token": token})
        token = csrf_token(client, "/account/register")
        return client.post("/account/register", data={
            "csrf_token": token, "full_name": f"Bot {i}", "email": f"bot{i}@example.com",
            "password": "long-enough-1"})

    before = db.scalar(select(func.count()).select_from(CustomerUser))
    assert [register(i).status_code for i in range(10)] == [303] * 10
    refused = register(10)
    assert refused.status_code == 429 and "Too many new accounts" in text(refused)
    assert db.scalar(select(func.count()).select_from(CustomerUser)) == before + 10


def test_registrations_for_one_email_are_limited_whatever_the_address(shop_app, db,
                                                                      smtp_sink):
    # Registering an address that has an account mails its owner: not without end.
    def register(address):
        client = client_at(shop_app, address)
        token = csrf_token(client, "/account/register")
        return client.post("/account/register", data={
            "csrf_token": token, "full_name": "Mallory", "email": "shopper@example.com",
            "password": "long-enough-1"})

    assert [register(f"10.5.0.{i}").status_code for i in range(3)] == [303] * 3
    refused = register("10.5.0.9")
    assert refused.status_code == 429 and "Too many new accounts" in text(refused)
    time.sleep(0.3)
    assert sum("shopper@example.com" in m["To"] for m in smtp_sink.messages) == 3


def test_reset_mails_for_one_email_are_limited_whatever_the_address(shop_app, db):
    def forgot(address, email="shopper@example.com"):
        client = client_at(shop_app, address)
        token = csrf_token(client, "/account/forgot-password")
        return client.post("/account/forgot-password", data={"csrf_token": token,
                                                             "email": email})

    assert [forgot(f"10.4.0.{i}").status_code for i in range(3)] == [200] * 3
    refused = forgot("10.4.0.9")
    assert refused.status_code == 429
    assert re.search(r'id="email-error">Too many password reset requests in a short time\. '
                     r'Try again in \d+ minutes\.', text(refused))
    # and one address cannot mail everyone either
    assert [forgot("10.4.1.1", f"someone{i}@example.com").status_code
            for i in range(10)] == [200] * 10
    assert forgot("10.4.1.1", "another@example.com").status_code == 429


def test_the_checkouts_gift_card_field_counts_like_a_balance_check(client, db):
    add(client, db, "PAP-A4-80", 1)
    data = checkout_data(client, gift_card="AAAA-BBBB-CCCC-DDDD")
    for _ in range(10):
        assert client.post("/checkout/gift-card", data=data).status_code == 200
    refused = client.post("/checkout/gift-card", data=data)
    assert refused.status_code == 429 and "Too many gift card checks" in text(refused)


# -- M4: sign-in backs off instead of locking the account -----------------------------------

def test_ten_wrong_agent_passwords_from_one_address_do_not_stop_the_right_one_from_another(
        console_app):
    attacker = client_at(console_app, "198.51.100.1")
    for _ in range(10):
        sign_in(attacker, "agent@marketline.example", "wrong-pass", path="/sign-in")
    assert "Too many sign-in attempts" in text(
        sign_in(attacker, "agent@marketline.example", "demo-pass-1", path="/sign-in"))
    agent = client_at(console_app, "203.0.113.9")
    response = sign_in(agent, "agent@marketline.example", "demo-pass-1", path="/sign-in")
    assert response.status_code == 303


def test_the_sign_in_refusal_says_how_long_to_wait(client):
    for _ in range(10):
        sign_in(client, "shopper@example.com", "wrong-1")
    html = text(sign_in(client, "shopper@example.com", "demo-pass-1"))
    assert re.search(r"Too many sign-in attempts\. Try again in \d+ seconds?, or reset your "
                     r"password\.", html)
