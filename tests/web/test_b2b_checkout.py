"""Checkout for companies: ship-to from the book, requested delivery date, on account (credit
and spending checks), and the Approvals page (query count, refusals, e-mails)."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import clock
from core.customers.models import Customer, CustomerAddress, CustomerUser
from core.orders.models import Order
from tests.conftest import csrf_token, sign_in
from tests.fakes import FakeGateway
from tests.helpers import QueryCounter
from tests.web.conftest import text_of
from tests.web.test_cart import add


@pytest.fixture
def payment_gateway():
    return FakeGateway()


def signed_in(shop_app, email):
    client = shop_app.test_client()
    response = sign_in(client, email, "demo-pass-1")
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


def book_of(db, name) -> list[CustomerAddress]:
    customer = db.scalar(select(Customer).where(Customer.name == name))
    return list(db.scalars(select(CustomerAddress).where(
        CustomerAddress.customer_id == customer.id).order_by(CustomerAddress.id)))


def checkout(client, db, *, sku="PAP-A4-80", quantity=1, **fields):
    add(client, db, sku, quantity)
    page = client.get("/checkout").get_data(as_text=True)
    key = re.search(r'name="key" type="hidden" value="([0-9a-f]{32})"', page).group(1)
    data = {"csrf_token": csrf_token(client, "/checkout"), "key": key,
            "email": "buyer@acme.example", "shipping_method": "standard", "country": "DE"}
    data.update(fields)
    return client.post("/checkout", data=data, headers={"Accept": "application/json"})


def placed(db) -> Order:
    db.expire_all()
    return db.scalar(select(Order).order_by(Order.id.desc()).limit(1))


def test_a_company_checkout_offers_the_book_the_date_and_on_account(shop_app, db):
    client = signed_in(shop_app, "buyer@acme.example")
    add(client, db, "PAP-A4-80", 1)
    html = client.get("/checkout").get_data(as_text=True)
    office, *_ = book_of(db, "Acme Corp")  # the head office first (the default ship-to)
    assert re.search(rf'id="ship_to-{office.id}" name="ship_to" value="{office.id}"[^>]* checked',
                     html)
    assert 'value="new"' in html and "Requested delivery date (optional)" in html
    assert re.search(r'id="payment-on_account" name="payment" value="on_account" checked', html)
    assert "On account (net 30)" in html


def test_a_guest_sees_todays_checkout(client, db):
    add(client, db, "PAP-A4-80", 1)
    html = client.get("/checkout").get_data(as_text=True)
    assert 'name="ship_to"' not in html and 'name="payment"' not in html
    assert "Requested delivery" not in html


def test_on_account_from_the_book_confirms_at_once_without_a_card(shop_app, db):
    client = signed_in(shop_app, "buyer@acme.example")
    office, *_ = book_of(db, "Acme Corp")  # the head office first (the default ship-to)
    response = checkout(client, db, ship_to=str(office.id), payment="on_account",
                        po_number="PO-42")
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["status"] == "confirmed"
    order = placed(db)
    assert answer["redirect"] == f"/order/{order.number}/thanks"
    assert (order.status, order.payment_state, order.payment_method) == (
        "confirmed", "on_account", "on_account")
    assert order.shipping_address["line1"] == "Marienplatz 1" and order.po_number == "PO-42"
    assert not order.on_hold
    page = client.get(answer["redirect"]).get_data(as_text=True)
    assert "is confirmed" in page and "on account" in page


def test_another_customers_address_is_refused_at_the_field(shop_app, db):
    client = signed_in(shop_app, "buyer@acme.example")
    [globex] = book_of(db, "Globex GmbH")
    response = checkout(client, db, ship_to=str(globex.id), payment="on_account")
    assert response.status_code == 422
    assert "ship_to" in response.get_json()["errors"]


def test_a_requested_date_before_the_promised_date_is_refused_at_the_field(shop_app, db):
    client = signed_in(shop_app, "buyer@acme.example")
    office, *_ = book_of(db, "Acme Corp")  # the head office first (the default ship-to)
    today = clock.today().isoformat()
    response = checkout(client, db, ship_to=str(office.id), payment="on_account",
                        requested_date=today)
    assert response.status_code == 422
    assert "earliest we can deliver" in response.get_json()["errors"]["requested_date"]
    later = (clock.today() + dt.timedelta(days=30)).isoformat()
    response = checkout(client, db, ship_to=str(office.id), payment="on_account",
                        requested_date=later)
    assert response.get_json()["status"] == "confirmed"
    order = placed(db)
    assert order.requested_date.isoformat() == later
    html = client.get(f"/account/orders/{order.number}").get_data(as_text=True)
    assert "Requested delivery" in html


def test_a_new_address_is_saved_to_the_book_by_an_admin(shop_app, db):
    client = signed_in(shop_app, "admin@acme.example")
    before = len(book_of(db, "Acme Corp"))
    response = checkout(client, db, ship_to="new", payment="on_account", full_name="Ada Admin",
                        line1="Leopoldstraße 3", city="Munich", postal_code="80802",
                        save_address="y")
    assert response.get_json()["status"] == "confirmed"
    db.expire_all()
    assert len(book_of(db, "Acme Corp")) == before + 1


def test_a_buyer_may_not_save_to_the_book(shop_app, db):
    client = signed_in(shop_app, "buyer@acme.example")
    response = checkout(client, db, ship_to="new", payment="on_account", full_name="Bea",
                        line1="Leopoldstraße 3", city="Munich", postal_code="80802",
                        save_address="y")
    assert response.status_code == 422 and "save_address" in response.get_json()["errors"]


def test_over_the_limit_on_account_waits_for_approval_and_approvers_are_mailed(
        shop_app, db, smtp_sink):
    client = signed_in(shop_app, "buyer@acme.example")
    office, *_ = book_of(db, "Acme Corp")  # the head office first (the default ship-to)
    response = checkout(client, db, sku="TON-TN3430", quantity=10, ship_to=str(office.id),
                        payment="on_account")
    answer = response.get_json()
    assert answer["status"] == "confirmed"
    order = placed(db)
    assert [h.reason_code for h in order.active_holds] == ["spending_limit"]
    page = client.get(answer["redirect"]).get_data(as_text=True)
    assert "awaits approval" in page
    assert "Awaiting approval" in client.get("/account/orders").get_data(as_text=True)
    assert "Awaiting approval" in client.get(
        f"/account/orders/{order.number}").get_data(as_text=True)
    for approver in ("approver@acme.example", "admin@acme.example"):
        mail = smtp_sink.wait_for(approver, subject=order.number)
        assert "http://localhost/account/approvals" in text_of(mail)
    assert not [m for m in smtp_sink.messages if "buyer@acme.example" in m["To"]
                and "approval" in m["Subject"]]
    # the buyer's confirmation says the order waits for an approver
    confirmation = smtp_sink.wait_for("buyer@acme.example", subject=f"order {order.number}")
    assert "waits for an approver at your company" in text_of(confirmation)


def test_globex_over_its_credit_limit_goes_on_credit_hold(shop_app, db):
    client = signed_in(shop_app, "gina@globex.example")
    [warehouse] = book_of(db, "Globex GmbH")
    response = checkout(client, db, sku="TON-TN3430", quantity=20, ship_to=str(warehouse.id),
                        payment="on_account", email="gina@globex.example")
    assert response.get_json()["status"] == "confirmed"
    order = placed(db)
    assert order.gross_total > Decimal("1000.00")
    [hold] = order.active_holds
    assert (hold.kind, hold.reason_code) == ("credit", "over_limit")


# -- the Approvals page -----------------------------------------------------------------------

def waiting_orders(shop_app, db, count):
    """`count` orders of Bea's waiting for approval (her order limit lowered to 5 EUR)."""
    bea = db.scalar(select(CustomerUser).where(CustomerUser.email == "buyer@acme.example"))
    bea.order_limit = Decimal("5.00")
    db.commit()
    client = signed_in(shop_app, "buyer@acme.example")
    office, *_ = book_of(db, "Acme Corp")  # the head office first (the default ship-to)
    numbers = []
    for _ in range(count):
        assert checkout(client, db, ship_to=str(office.id),
                        payment="on_account").get_json()["status"] == "confirmed"
        numbers.append(placed(db).number)
    return numbers


def test_the_approvals_page_costs_the_same_queries_for_one_order_or_five(
        shop_app, db, connection):
    abe = signed_in(shop_app, "approver@acme.example")
    baseline = abe.get("/account/approvals").get_data(as_text=True).count('<h2 id="approval-')
    waiting_orders(shop_app, db, 1)
    abe.get("/account/approvals")
    with QueryCounter(connection) as one:
        html = abe.get("/account/approvals").get_data(as_text=True)
    assert html.count("<h2 id=\"approval-") == baseline + 1
    waiting_orders(shop_app, db, 4)
    with QueryCounter(connection) as five:
        html = abe.get("/account/approvals").get_data(as_text=True)
    assert html.count("<h2 id=\"approval-") == baseline + 5 and "Bea Buyer" in html
    assert one.count == five.count


def test_a_buyer_is_refused_the_approvals_page(shop_app, db):
    [number] = waiting_orders(shop_app, db, 1)
    bea = signed_in(shop_app, "buyer@acme.example")
    response = bea.get("/account/approvals")
    assert response.status_code == 403
    assert "approvers and admins see the Approvals page" in response.get_data(as_text=True)
    token = csrf_token(bea, "/")
    assert bea.post(f"/account/approvals/{number}/approve",
                    data={"csrf_token": token}).status_code == 403
    assert placed(db).on_hold
    assert ">Approvals</a>" not in bea.get("/").get_data(as_text=True)


def test_globex_cannot_see_or_approve_acmes_orders(shop_app, db):
    [number] = waiting_orders(shop_app, db, 1)
    gina = signed_in(shop_app, "gina@globex.example")
    assert number not in gina.get("/account/approvals").get_data(as_text=True)
    token = csrf_token(gina, "/")
    assert gina.post(f"/account/approvals/{number}/approve",
                     data={"csrf_token": token}).status_code == 404
    assert gina.get(f"/account/approvals/{number}").status_code == 404
    assert placed(db).on_hold


def test_an_approver_approves_and_the_buyer_is_mailed(shop_app, db, smtp_sink):
    [number] = waiting_orders(shop_app, db, 1)
    abe = signed_in(shop_app, "approver@acme.example")
    assert ">Approvals</a>" in abe.get("/").get_data(as_text=True)
    token = csrf_token(abe, "/account/approvals")
    response = abe.post(f"/account/approvals/{number}/approve",
                        data={"csrf_token": token, "comment": "OK for Q4"})
    assert response.status_code == 303
    assert not placed(db).on_hold
    mail = smtp_sink.wait_for("buyer@acme.example", subject="approved")
    assert "OK for Q4" in text_of(mail) and "Abe" in text_of(mail)


def test_rejecting_needs_a_comment_then_cancels(shop_app, db, smtp_sink):
    [number] = waiting_orders(shop_app, db, 1)
    abe = signed_in(shop_app, "approver@acme.example")
    token = csrf_token(abe, "/account/approvals")
    response = abe.post(f"/account/approvals/{number}/reject", data={"csrf_token": token})
    assert response.status_code == 422
    assert "Say why you reject the order" in response.get_data(as_text=True)
    response = abe.post(f"/account/approvals/{number}/reject",
                        data={"csrf_token": token, "comment": "Not this quarter"})
    assert response.status_code == 303
    order = placed(db)
    assert order.status == "cancelled" and "Not this quarter" in order.cancel_reason
    mail = smtp_sink.wait_for("buyer@acme.example", subject="rejected")
    assert "Not this quarter" in text_of(mail)


def test_a_stale_order_shows_the_new_total_before_it_is_approved(shop_app, db):
    from core.catalog.models import Variant
    from core.pricing.models import PriceListEntry
    [number] = waiting_orders(shop_app, db, 1)
    order = placed(db)
    order.placed_at = order.placed_at - dt.timedelta(days=20)
    variant = db.scalar(select(Variant).where(Variant.sku == "PAP-A4-80"))
    for entry in db.scalars(select(PriceListEntry).where(PriceListEntry.variant_id == variant.id)):
        entry.unit_price = entry.unit_price * 2
    db.commit()
    abe = signed_in(shop_app, "approver@acme.example")
    listed = abe.get("/account/approvals").get_data(as_text=True)
    assert f'href="/account/approvals/{number}"' in listed  # no direct Approve button
    assert f"Approve {number}</button>" not in listed
    token = csrf_token(abe, "/account/approvals")
    refused = abe.post(f"/account/approvals/{number}/approve", data={"csrf_token": token})
    assert refused.status_code == 422 and "check its new total first" in refused.get_data(
        as_text=True)
    html = abe.get(f"/account/approvals/{number}").get_data(as_text=True)
    new_total = re.search(r'name="expected_total" value="([0-9.]+)"', html).group(1)
    assert "Total at today" in html and "Difference" in html
    assert Decimal(new_total) > order.gross_total
    response = abe.post(f"/account/approvals/{number}/approve",
                        data={"csrf_token": token, "expected_total": new_total})
    assert response.status_code == 303
    order = placed(db)
    assert not order.on_hold and order.gross_total == Decimal(new_total)


def test_a_card_order_over_the_limit_waits_and_approvers_hear_once_authorised(
        shop_app, db, smtp_sink):
    client = signed_in(shop_app, "buyer@acme.example")
    office, *_ = book_of(db, "Acme Corp")  # the head office first (the default ship-to)
    response = checkout(client, db, sku="TON-TN3430", quantity=10, ship_to=str(office.id),
                        payment="card", payment_method="pm_card_visa")
    assert response.get_json()["status"] == "confirmed", response.get_json()
    order = placed(db)
    assert order.payment_state == "authorised"
    assert [h.reason_code for h in order.active_holds] == ["spending_limit"]
    smtp_sink.wait_for("approver@acme.example", subject=order.number)
    # a second look at the payment does not mail the approvers again
    token = csrf_token(client, "/")
    client.post(f"/checkout/{order.number}/complete", data={"csrf_token": token})
    requests = [m for m in smtp_sink.messages if "approver@acme.example" in m["To"]
                and order.number in m["Subject"]]
    assert len(requests) == 1


def test_the_account_overview_shows_awaiting_approval_and_the_approvals_link(shop_app, db):
    waiting_orders(shop_app, db, 1)
    bea = signed_in(shop_app, "buyer@acme.example")
    assert "Awaiting approval" in bea.get("/account/").get_data(as_text=True)
    abe = signed_in(shop_app, "approver@acme.example")
    assert "Orders awaiting your approval" in abe.get("/account/").get_data(as_text=True)


def test_a_double_click_on_approve_leads_back_to_the_list_with_a_message(shop_app, db):
    [number] = waiting_orders(shop_app, db, 1)
    abe = signed_in(shop_app, "approver@acme.example")
    token = csrf_token(abe, "/account/approvals")
    first = abe.post(f"/account/approvals/{number}/approve", data={"csrf_token": token})
    assert first.status_code == 303
    for action in ("approve", "reject"):
        again = abe.post(f"/account/approvals/{number}/{action}",
                         data={"csrf_token": token, "comment": "twice"})
        assert again.status_code == 303 and again.headers["Location"].endswith(
            "/account/approvals")
        page = abe.get("/account/approvals").get_data(as_text=True)
        assert f"Order {number} was already decided" in page
    order = placed(db)
    assert order.status == "confirmed" and not order.on_hold
    gina = signed_in(shop_app, "gina@globex.example")  # another company's: still not found
    assert gina.post(f"/account/approvals/{number}/approve",
                     data={"csrf_token": csrf_token(gina, "/")}).status_code == 404


def test_the_same_on_account_checkout_posted_twice_answers_as_the_first(
        shop_app, db, monkeypatch):
    """A resubmitted checkout (the same cart and key, the order already confirmed on
    account: the second click's request left before the first emptied the cart) does not
    run the company's steps again: no refusal, no second address in the book."""
    import storefront.checkout
    monkeypatch.setattr(storefront.checkout, "_after_confirmation", lambda order: None)
    client = signed_in(shop_app, "admin@acme.example")
    before = len(book_of(db, "Acme Corp"))
    add(client, db, "PAP-A4-80", 1)
    page = client.get("/checkout").get_data(as_text=True)
    key = re.search(r'name="key" type="hidden" value="([0-9a-f]{32})"', page).group(1)
    data = {"csrf_token": csrf_token(client, "/checkout"), "key": key,
            "email": "admin@acme.example", "shipping_method": "standard", "country": "DE",
            "ship_to": "new", "payment": "on_account", "full_name": "Ada Admin",
            "line1": "Leopoldstraße 3", "city": "Munich", "postal_code": "80802",
            "save_address": "y"}
    first = client.post("/checkout", data=data, headers={"Accept": "application/json"})
    assert first.get_json()["status"] == "confirmed", first.get_json()
    order = placed(db)
    again = client.post("/checkout", data=data, headers={"Accept": "application/json"})
    assert again.status_code == 200, again.get_json()
    assert again.get_json() == first.get_json()
    db.expire_all()
    assert placed(db).id == order.id
    assert len(book_of(db, "Acme Corp")) == before + 1


def test_approvers_hear_of_a_card_order_the_stripe_webhook_confirms(
        shop_app, db, smtp_sink, payment_gateway, monkeypatch):
    """The buyer's browser never comes back from 3-D Secure: the webhook's authorisation
    confirms the order, and the approvers are mailed all the same (once)."""
    from core.money import Money
    from core.payments.gateway import IntentResult
    from tests.web.test_webhooks import event_for, post, sign

    def challenged(*, amount, currency, key, **kwargs):
        return IntentResult(f"pi_{key}", "requires_action", f"pi_{key}_secret_x",
                            Money(amount, currency))
    monkeypatch.setattr(payment_gateway, "authorise", challenged)
    client = signed_in(shop_app, "buyer@acme.example")
    office, *_ = book_of(db, "Acme Corp")  # the head office first (the default ship-to)
    response = checkout(client, db, sku="TON-TN3430", quantity=10, ship_to=str(office.id),
                        payment="card", payment_method="pm_card_threeDSecure2Required")
    assert response.get_json()["status"] == "requires_action", response.get_json()
    order = placed(db)
    assert order.status == "pending_payment"
    from core.payments.models import PaymentAttempt
    intent = db.scalar(select(PaymentAttempt.stripe_id).where(
        PaymentAttempt.order_id == order.id))
    for event_id in ("evt_3ds_1", "evt_3ds_2"):  # Stripe sends two events for it
        payload = event_for(intent, event_id=event_id, amount=int(order.gross_total * 100),
                            kind="payment_intent.amount_capturable_updated")
        assert post(shop_app.test_client(), payload, sign(payload)).status_code == 200
    order = placed(db)
    assert (order.status, order.payment_state) == ("confirmed", "authorised")
    assert [h.reason_code for h in order.active_holds] == ["spending_limit"]
    mail = smtp_sink.wait_for("approver@acme.example", subject=order.number)
    assert "http://localhost/account/approvals" in text_of(mail)
    requests = [m for m in smtp_sink.messages if "approver@acme.example" in m["To"]
                and order.number in m["Subject"]]
    assert len(requests) == 1
