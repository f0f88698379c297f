"""After the order: history, detail with its timeline, cancelling before shipment (and
voiding the card authorisation), and the guest look-up by number, e-mail and postcode."""
from __future__ import annotations

import datetime as dt
import itertools
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import audit
from core.audit import AuditEvent
from core.catalog.models import Variant
from core.config import load_settings
from core.customers.models import CustomerUser
from core.db import utcnow
from core.inventory.models import StockLevel
from core.orders.models import Order, OrderLine
from core.payments.gateway import StripeGateway
from core.payments.models import PaymentAttempt
from core.workflows.cancellation import cancel_and_void
from tests.fakes import FakeGateway
from tests import factories
from tests.conftest import csrf_token, sign_in
from tests.helpers import QueryCounter

SHOPPER = "shopper@example.com"
ADDRESS = {"full_name": "Sam Shopper", "line1": "Invalidenstraße 1", "postal_code": "10115",
           "city": "Berlin", "country": "DE"}
_numbers = itertools.count(1)


def make_order(db, customer_id, *, status="confirmed", payment_state="authorised",
               placed_at=None, quantity=2, sku="PAP-A4-80", email=SHOPPER, cancel_reason="",
               reserve=True) -> Order:
    """An order as checkout leaves it: 2 x 5.49 of copy paper, standard shipping, VAT inside."""
    variant = db.scalar(select(Variant).where(Variant.sku == sku))
    unit = Decimal("5.49")
    amount = unit * quantity
    discount = Decimal("1.00")
    gross_lines = amount - discount
    tax = (gross_lines * Decimal("0.19") / Decimal("1.19")).quantize(Decimal("0.01"))
    shipping = Decimal("4.90")
    order = Order(
        number=f"SO-T{next(_numbers):05d}", idempotency_key=uuid.uuid4().hex,
        customer_id=customer_id, email=email, channel_code="web-b2c", placed_by_kind="customer",
        placed_by_id=None, currency="EUR", prices_include_tax=True, status=status,
        payment_state=payment_state, shipping_address=ADDRESS, billing_address=ADDRESS,
        shipping_method="standard", shipping_amount=shipping, shipping_tax=Decimal("0.78"),
        subtotal=amount, discount_total=discount,
        net_total=gross_lines - tax + shipping - Decimal("0.78"),
        tax_total=tax + Decimal("0.78"), gross_total=gross_lines + shipping,
        promised_date=dt.date(2030, 1, 15), placed_at=placed_at or utcnow(),
        cancel_reason=cancel_reason,
        lines=[OrderLine(variant_id=variant.id, sku=sku, name=variant.product.name,
                         quantity=quantity, unit_price=unit, amount=amount, discount=discount,
                         net=gross_lines - tax, tax=tax, gross=gross_lines,
                         tax_rate=Decimal("0.19"),
                         discounts=[{"promotion_id": 1, "name": "Paper week",
                                     "amount": str(discount)}],
                         quantity_reserved=quantity if reserve else 0, warehouse="MAIN")])
    db.add(order)
    if reserve and status in ("pending_payment", "confirmed", "in_fulfilment"):
        level = stock(db, sku)
        level.reserved += quantity
    db.flush()
    audit.record(db, "order.placed", actor=audit.Actor("customer", None, email),
                 channel="web-b2c", subject=order, data={"number": order.number})
    db.flush()
    return order


def stock(db, sku) -> StockLevel:
    return db.scalar(select(StockLevel).join(Variant, Variant.id == StockLevel.variant_id)
                     .where(Variant.sku == sku)
                     .execution_options(populate_existing=True))


def authorise(db, order, stripe_id="pi_fake_1") -> PaymentAttempt:
    attempt = PaymentAttempt(order_id=order.id, key=f"{order.number}-pay-1", stripe_id=stripe_id,
                             amount=order.gross_total, currency="EUR", status="authorised")
    db.add(attempt)
    audit.record(db, "order.payment_authorised", actor=audit.Actor.system("payments"),
                 channel="web-b2c", subject=order, data={"payment": stripe_id})
    db.flush()
    return attempt


def shopper_id(db) -> int:
    return db.scalar(select(CustomerUser.customer_id).where(CustomerUser.email == SHOPPER))


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def payment_gateway():
    """The apps take card payments through the fake (tests/fakes.py)."""
    return FakeGateway()


@pytest.fixture
def gateway(payment_gateway):
    return payment_gateway


# --- history -------------------------------------------------------------------------

def test_history_lists_the_customers_orders_newest_first_with_status_and_total(customer_client, db):
    now = utcnow()
    old = make_order(db, shopper_id(db), placed_at=now - dt.timedelta(days=3))
    new = make_order(db, shopper_id(db), status="shipped", placed_at=now - dt.timedelta(days=1))
    db.commit()
    html = text(customer_client.get("/account/orders"))
    assert html.index(new.number) < html.index(old.number)
    assert f'href="/account/orders/{new.number}"' in html
    assert "Shipped" in html and "Confirmed" in html
    assert "14.88 EUR" in html  # 10.98 - 1.00 + 4.90
    # each row orders again from the list (its own form, to the order's Order again)
    assert f'action="/account/orders/{new.number}/order-again"' in html
    assert f'aria-label="Order again {new.number}"' in html


def test_history_pages_twenty_orders_at_a_time(customer_client, db):
    start = utcnow() - dt.timedelta(days=30)
    orders = [make_order(db, shopper_id(db), placed_at=start + dt.timedelta(hours=i))
              for i in range(25)]
    db.commit()
    first = text(customer_client.get("/account/orders"))
    assert orders[-1].number in first and orders[5].number in first
    assert orders[4].number not in first
    assert "Page 1 of 2" in first and 'href="/account/orders?page=2"' in first
    second = text(customer_client.get("/account/orders?page=2"))
    assert orders[4].number in second and orders[0].number in second
    assert orders[5].number not in second and "Newer orders" in second


def test_history_runs_the_same_number_of_queries_for_one_order_or_many(customer_client, db,
                                                                        connection):
    make_order(db, shopper_id(db))
    db.commit()
    customer_client.get("/account/orders")  # warm up: nothing first-time is counted

    def count():
        with QueryCounter(connection) as counter:
            assert customer_client.get("/account/orders").status_code == 200
        return counter.count

    one = count()
    for _ in range(30):
        make_order(db, shopper_id(db))
    db.commit()
    assert count() == one


def test_failed_checkout_attempts_are_left_out_of_the_history(customer_client, db):
    kept = make_order(db, shopper_id(db), status="cancelled", payment_state="unpaid",
                      cancel_reason="Cancelled by the customer", reserve=False)
    attempts = [make_order(db, shopper_id(db), status="cancelled", payment_state="unpaid",
                           cancel_reason=reason, reserve=False)
                for reason in ("Payment declined", "Payment failed", "Card authentication failed")]
    db.commit()
    html = text(customer_client.get("/account/orders"))
    assert kept.number in html
    assert not any(a.number in html for a in attempts)
    assert not any(a.number in text(customer_client.get("/account/")) for a in attempts)


def test_history_needs_a_signed_in_customer(client):
    response = client.get("/account/orders")
    assert response.status_code == 302 and "/account/sign-in" in response.headers["Location"]


def test_account_overview_shows_the_five_latest_orders_and_a_link_to_all(customer_client, db):
    start = utcnow() - dt.timedelta(days=10)
    orders = [make_order(db, shopper_id(db), placed_at=start + dt.timedelta(days=i))
              for i in range(7)]
    db.commit()
    html = text(customer_client.get("/account/"))
    assert all(o.number in html for o in orders[2:])
    assert orders[0].number not in html and orders[1].number not in html
    assert 'href="/account/orders"' in html and "You have no orders yet" not in html


def test_account_overview_without_orders_says_so(customer_client):
    assert "You have no orders yet" in text(customer_client.get("/account/"))


# --- detail and authorisation ----------------------------------------------------------

def test_order_detail_shows_lines_address_totals_payment_and_timeline(customer_client, db):
    order = make_order(db, shopper_id(db))
    authorise(db, order)
    db.commit()
    html = text(customer_client.get(f"/account/orders/{order.number}"))
    assert f"<h1>Order {order.number}</h1>" in html
    assert "PAP-A4-80" in html and "Everyday Copy Paper" in html
    assert "5.49 EUR" in html and "9.98 EUR" in html and "Paper week" in html  # unit, line
    assert "10.98 EUR" in html and "−1.00 EUR" in html and "4.90 EUR" in html  # subtotal ...
    assert "14.88 EUR" in html  # total
    assert "Sam Shopper, Invalidenstraße 1, 10115 Berlin, Germany" in html
    assert "Standard delivery" in html
    assert "Card authorised" in html and "15 Jan 2030" in html
    assert html.index("Order placed") < html.index("Payment authorised")
    assert "UTC" not in html and "Times are shown in Berlin time." in html
    assert "Cancel this order" in html


def test_other_customers_order_returns_404(customer_client, db):
    stranger = factories.CustomerFactory()
    order = make_order(db, stranger.id, email=stranger.email)
    authorise(db, order)
    db.commit()
    assert customer_client.get(f"/account/orders/{order.number}").status_code == 404
    assert customer_client.get(f"/account/orders/{order.number}/cancel").status_code == 404
    token = csrf_token(customer_client, "/account/")
    response = customer_client.post(f"/account/orders/{order.number}/cancel",
                                    data={"csrf_token": token})
    assert response.status_code == 404
    db.refresh(order)
    assert order.status == "confirmed"
    assert order.number not in text(customer_client.get("/account/orders"))


def test_a_company_buyer_sees_only_the_orders_they_placed_and_an_approver_every_one(client, db):
    """Review finding L9: a buyer's colleague's order is 404 to them; an approver sees both."""
    company = factories.CustomerFactory(kind="company")
    first = factories.CustomerUserFactory(customer=company, email="first@company.example")
    second = factories.CustomerUserFactory(customer=company, email="second@company.example")
    factories.CustomerUserFactory(customer=company, email="approver@company.example",
                                  role="approver")
    theirs = make_order(db, company.id, email="first@company.example")
    theirs.placed_by_id = first.id
    mine = make_order(db, company.id, email="second@company.example")
    mine.placed_by_id = second.id
    db.commit()
    assert sign_in(client, "second@company.example", factories.PASSWORD).status_code == 303
    listed = text(client.get("/account/orders"))
    assert mine.number in listed and theirs.number not in listed
    assert client.get(f"/account/orders/{mine.number}").status_code == 200
    assert client.get(f"/account/orders/{theirs.number}").status_code == 404
    assert client.get(f"/account/orders/{theirs.number}/cancel").status_code == 404
    client.post("/account/sign-out", data={"csrf_token": csrf_token(client, "/account/")})
    assert sign_in(client, "approver@company.example", factories.PASSWORD).status_code == 303
    listed = text(client.get("/account/orders"))
    assert mine.number in listed and theirs.number in listed
    assert client.get(f"/account/orders/{theirs.number}").status_code == 200


# --- cancelling --------------------------------------------------------------------------

def test_cancel_asks_for_confirmation_first(customer_client, db, gateway):
    order = make_order(db, shopper_id(db))
    db.commit()
    html = text(customer_client.get(f"/account/orders/{order.number}/cancel"))
    assert f"Cancel order {order.number}?" in html
    assert '<button type="submit">Yes, cancel the order</button>' in html
    db.refresh(order)
    assert order.status == "confirmed" and gateway.cancelled == []


def test_cancelling_releases_the_stock_and_voids_the_card_authorisation(customer_client, db,
                                                                        gateway):
    reserved_before = stock(db, "PAP-A4-80").reserved
    order = make_order(db, shopper_id(db))
    attempt = authorise(db, order, "pi_fake_void")
    db.commit()
    token = csrf_token(customer_client, f"/account/orders/{order.number}/cancel")
    response = customer_client.post(f"/account/orders/{order.number}/cancel",
                                    data={"csrf_token": token})
    assert response.status_code == 303
    html = text(customer_client.get(response.headers["Location"]))
    assert f"Order {order.number} is cancelled." in html
    assert "Cancel this order" not in html and "Cancelled by the customer" in html
    assert "Card authorisation released" in html
    assert gateway.cancelled == ["pi_fake_void"]
    db.refresh(order)
    db.refresh(attempt)
    assert order.status == "cancelled" and order.payment_state == "unpaid"
    assert attempt.status == "cancelled"
    assert stock(db, "PAP-A4-80").reserved == reserved_before


def test_a_shipped_order_shows_no_cancel_button_and_refuses_the_post(customer_client, db,
                                                                     gateway):
    order = make_order(db, shopper_id(db), status="shipped", payment_state="captured",
                       reserve=False)
    db.commit()
    assert "Cancel this order" not in text(customer_client.get(f"/account/orders/{order.number}"))
    token = csrf_token(customer_client, "/account/")
    response = customer_client.post(f"/account/orders/{order.number}/cancel",
                                    data={"csrf_token": token})
    html = text(customer_client.get(response.headers["Location"]))
    assert "This order has shipped and can no longer be cancelled; start a return instead." in html
    db.refresh(order)
    assert order.status == "shipped" and gateway.cancelled == []


def test_cancelling_without_csrf_is_refused(customer_client, db, gateway):
    order = make_order(db, shopper_id(db))
    db.commit()
    response = customer_client.post(f"/account/orders/{order.number}/cancel")
    assert response.status_code == 400
    db.refresh(order)
    assert order.status == "confirmed"


def test_the_void_is_called_only_after_the_cancellation_is_flushed(db):
    order = make_order(db, shopper_id(db))
    authorise(db, order, "pi_fake_order")
    fake = FakeGateway(db=db)
    cancel_and_void(db, order, gateway=fake, actor=audit.Actor.system("test"), reason="test")
    assert fake.status_seen == ["cancelled"]


def test_a_failed_void_keeps_the_cancellation_and_tells_staff(db):
    reserved_before = stock(db, "PAP-A4-80").reserved
    order = make_order(db, shopper_id(db))
    attempt = authorise(db, order, "pi_fake_down")
    cancel_and_void(db, order, gateway=FakeGateway(fail=True),
                    actor=audit.Actor.system("test"), reason="test")
    assert order.status == "cancelled"
    assert stock(db, "PAP-A4-80").reserved == reserved_before  # the order's 2 are released
    # the money is still held: staff retry the void from the audit event
    assert attempt.status == "authorised" and order.payment_state == "authorised"
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "order.void_failed",
                                               AuditEvent.subject_id == str(order.id)))
    assert event.data["payment"] == "pi_fake_down" and "did not answer" in event.data["error"]


def test_an_order_without_card_authorisation_is_cancelled_without_calling_stripe(db):
    order = make_order(db, shopper_id(db), status="pending_payment", payment_state="unpaid")
    fake = FakeGateway()
    cancel_and_void(db, order, gateway=fake, actor=audit.Actor.system("test"), reason="test")
    assert order.status == "cancelled" and order.payment_state == "unpaid" and fake.cancelled == []


def test_a_cancelled_order_cannot_be_cancelled_twice(db):
    from core.orders.services import OrderError
    order = make_order(db, shopper_id(db), status="cancelled", payment_state="unpaid",
                       reserve=False)
    with pytest.raises(OrderError, match="already cancelled"):
        cancel_and_void(db, order, gateway=FakeGateway(), actor=audit.Actor.system("t"),
                        reason="again")


@pytest.fixture
def stripe_client(localstripe, database_url, session_factory):
    """The storefront talking to a real localstripe, signed in as the demo shopper."""
    from storefront import create_app
    settings = load_settings(environ={}, DATABASE_URL=database_url, SECRET_KEY="test-secret-key",
                             SMTP_URL="", STRIPE_API_BASE=localstripe)
    app = create_app(settings, session_factory=session_factory)
    app.config.update(TESTING=True)
    client = app.test_client()
    assert sign_in(client, SHOPPER, "demo-pass-1").status_code == 303
    return client, StripeGateway(settings)


def test_cancelling_voids_a_real_payment_intent_in_localstripe(stripe_client, db):
    client, stripe_gateway = stripe_client
    order = make_order(db, shopper_id(db))
    result = stripe_gateway.authorise(amount=order.gross_total, currency="EUR",
                                      payment_method="pm_card_visa", key=uuid.uuid4().hex,
                                      metadata={"order": order.number})
    assert result.status == "requires_capture"
    authorise(db, order, result.id)
    db.commit()
    token = csrf_token(client, f"/account/orders/{order.number}/cancel")
    response = client.post(f"/account/orders/{order.number}/cancel", data={"csrf_token": token})
    assert response.status_code == 303
    assert stripe_gateway.retrieve(result.id).status == "canceled"
    db.refresh(order)
    assert order.status == "cancelled" and order.payment_state == "unpaid"


# --- guest look-up -----------------------------------------------------------------------

NOT_FOUND = "We could not find a guest order with that number, e-mail and postcode."


def lookup(client, number, email, postcode="10115"):
    token = csrf_token(client, "/orders/lookup")
    return client.post("/orders/lookup", data={"number": number, "email": email,
                                               "postcode": postcode, "csrf_token": token})


def test_the_sign_in_page_links_to_the_guest_lookup(client):
    html = text(client.get("/account/sign-in"))
    assert '<a href="/orders/lookup">Track an order without an account</a>' in html


def test_the_lookup_form_labels_its_fields(client):
    html = text(client.get("/orders/lookup"))
    assert ">Order number</label>" in html and ">Email</label>" in html
    assert '<label for="postcode">Postcode</label>' in html


def test_a_guest_finds_an_order_by_number_and_email_in_any_case(client, db):
    order = make_order(db, None, email="Guest.Person@Example.com")
    db.commit()
    response = lookup(client, order.number.lower(), "guest.person@EXAMPLE.com")
    html = text(response)
    assert response.status_code == 200
    assert f"<h1>Order {order.number}</h1>" in html and "Order placed" in html
    assert "Cancel this order" not in html


@pytest.mark.parametrize("wrong", ["number", "email"])
def test_a_wrong_number_or_email_gets_one_message_that_names_neither(client, db, wrong):
    order = make_order(db, None, email="guest@example.com")
    db.commit()
    number = "SO-T99999" if wrong == "number" else order.number
    email = "other@example.com" if wrong == "email" else "guest@example.com"
    html = text(lookup(client, number, email))
    assert NOT_FOUND in html
    assert order.number not in html.replace(f'value="{order.number}"', "")


def test_a_registered_customers_order_is_not_found_by_the_guest_lookup(client, db):
    buyer = db.scalar(select(CustomerUser).where(CustomerUser.email == "buyer@acme.example"))
    order = make_order(db, buyer.customer_id, email="buyer@acme.example")
    db.commit()
    response = lookup(client, order.number, "buyer@acme.example")
    html = text(response)
    assert response.status_code == 200 and NOT_FOUND in html
    assert "Invalidenstraße" not in html and "Order placed" not in html


def test_a_guest_with_the_wrong_postcode_gets_the_same_not_found_message(client, db):
    order = make_order(db, None, email="guest@example.com")
    db.commit()
    html = text(lookup(client, order.number, "guest@example.com", postcode="10117"))
    assert NOT_FOUND in html and "Order placed" not in html
    found = text(lookup(client, order.number, "guest@example.com", postcode=" 10 115 "))
    assert f"<h1>Order {order.number}</h1>" in found


def test_one_order_number_is_tried_ten_times_an_hour_whatever_the_address(shop_app, db):
    order = make_order(db, None, email="guest@example.com")
    db.commit()
    for i in range(10):
        guesser = shop_app.test_client()
        guesser.environ_base["REMOTE_ADDR"] = f"10.1.0.{i}"
        assert NOT_FOUND in text(lookup(guesser, order.number, "guest@example.com",
                                        postcode=f"{10000 + i}"))
    owner = shop_app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "10.2.0.1"
    response = lookup(owner, order.number, "guest@example.com")
    assert response.status_code == 429 and "Too many look-ups" in text(response)
    assert "Retry-After" in response.headers


def test_strangers_guessing_e_mails_for_an_order_number_do_not_lock_its_guest_out(shop_app,
                                                                                 db):
    order = make_order(db, None, email="guest@example.com")
    db.commit()
    for i in range(15):
        guesser = shop_app.test_client()
        guesser.environ_base["REMOTE_ADDR"] = f"10.3.0.{i}"
        assert NOT_FOUND in text(lookup(guesser, order.number, f"someone{i}@example.com"))
    owner = shop_app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "10.2.0.1"
    response = lookup(owner, order.number, "guest@example.com")
    assert response.status_code == 200 and order.number in text(response)


def test_lookups_are_limited_to_ten_a_minute_per_address(client, db):
    order = make_order(db, None, email="guest@example.com")
    db.commit()
    for i in range(10):
        assert lookup(client, f"SO-X{i:05d}", "guest@example.com").status_code == 200
    response = lookup(client, order.number, "guest@example.com")  # right, but too many
    assert response.status_code == 429
    html = text(response)
    assert "Too many look-ups" in html and "Order placed" not in html


def test_a_guest_cannot_cancel_through_the_account_urls(client, db):
    order = make_order(db, None, email="guest@example.com")
    db.commit()
    token = csrf_token(client, "/orders/lookup")
    response = client.post(f"/account/orders/{order.number}/cancel", data={"csrf_token": token})
    assert response.status_code == 302 and "/account/sign-in" in response.headers["Location"]
    db.refresh(order)
    assert order.status == "confirmed"
