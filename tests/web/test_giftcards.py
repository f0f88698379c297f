"""Gift cards through the two apps: sold in the console (the code shown once and never
again), balances checked there and in the shop (throttled), disabled by a supervisor,
invoices paid with a card, and the checkout paid by a gift card in part or in full."""
from __future__ import annotations

import re
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from core import clock
from core.auth.passwords import hash_password
from core.billing import giftcards, ledger, receivables
from core.billing.models import GiftCard, GiftCardMovement, Payment
from core.orders.models import Order
from core.payments.models import PaymentAttempt
from tests.fakes import FakeGateway
from tests.billing_support import CLERK, assert_books_reconcile, sell_gift_card
from tests.conftest import agent_client_for, csrf_token
from tests.factories import AgentFactory, CustomerFactory
from tests.helpers import QueryCounter
from tests.web.conftest import text_of
from tests.web.test_cart import add

CODE = re.compile(r"[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}")


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def paid(db):
    """A customer whose cheque of 100.00 EUR is recorded in billing and not yet used."""
    customer = CustomerFactory(name="Gina Giver")
    payment = receivables.record_payment(
        db, customer_id=customer.id, method="cheque", amount=D("100.00"), currency="EUR",
        received_on=clock.today(), reference="CHQ 4711", actor=CLERK)
    db.commit()
    return customer, payment


def sell_form(client, paid, **fields):
    """The sell form's fields as the page gives them for the customer who paid (key and CSRF
    token included), selling 25.00 EUR of their cheque."""
    customer, payment = paid
    html = text(client.get(f"/gift-cards/?customer={customer.number}"))
    key = re.search(r'name="key" type="hidden" value="([0-9a-f]{32})"', html).group(1)
    return {"csrf_token": csrf_token(client, "/gift-cards/"), "key": key,
            "customer": customer.number, "payment": str(payment.id), "amount": "25.00",
            **fields}


def sold_cards(db) -> int:
    return db.scalar(select(func.count()).select_from(GiftCard))


def agent_with(console_app, db, role: str):
    AgentFactory(email=f"gc-{role}@test.example", roles_text=role,
                 password_hash=hash_password("demo-pass-1"))
    db.commit()
    return agent_client_for(console_app, f"gc-{role}@test.example")


@pytest.fixture
def seller(console_app):
    """Gift cards are sold by billing (money has to come in), not by every agent."""
    return agent_client_for(console_app, "billing@marketline.example")


def test_an_agent_checks_cards_but_does_not_sell_them(agent_client, db):
    page = text(agent_client.get("/gift-cards/"))
    assert "Sell a gift card" not in page and "Check a balance" in page
    before = sold_cards(db)
    response = agent_client.post("/gift-cards/sell", data={
        "csrf_token": csrf_token(agent_client, "/gift-cards/"), "amount": "25.00",
        "customer": "C-000001", "payment": "1", "key": "0" * 32})
    assert response.status_code == 403
    assert sold_cards(db) == before


@pytest.fixture
def card(db):
    card, code = sell_gift_card(db, D("40.00"), reference="SEPA GC")
    db.commit()
    return card, code


# -- the console: selling ------------------------------------------------------------------------

def test_selling_shows_the_code_once_and_never_again(seller, db, paid, smtp_sink):
    before = sold_cards(db)
    data = sell_form(seller, paid, recipient_email="Gift.Taker@example.com")
    response = seller.post("/gift-cards/sell", data=data)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    code = CODE.search(text(response)).group(0)
    card = db.scalar(select(GiftCard).order_by(GiftCard.id.desc()))
    assert sold_cards(db) == before + 1
    assert (card.last4, card.balance, card.sold_by) == (code[-4:], D("25.00"),
                                                        "billing@marketline.example")
    assert code not in card.code_hash and card.recipient_email == "gift.taker@example.com"
    message = smtp_sink.wait_for("gift.taker@example.com")
    assert code in text_of(message) and "25.00 EUR" in message["Subject"]

    # The same page posted again sells nothing and cannot show the code.
    again = seller.post("/gift-cards/sell", data=data)
    assert again.status_code == 200 and code not in text(again)
    assert "already sold" in text(again) and sold_cards(db) == before + 1
    # Nowhere else shows it: the list, the card's page, a balance check.
    for page in (seller.get("/gift-cards/"), seller.get(f"/gift-cards/{card.id}"),
                 seller.post("/gift-cards/check", data={
                     "code": code.lower(), "csrf_token": csrf_token(seller, "/gift-cards/")})):
        assert page.status_code == 200 and code not in text(page) and f"…{card.last4}" in text(page)


def test_a_sale_takes_the_money_from_the_recorded_payment_and_the_books_reconcile(
        seller, db, paid):
    customer, payment = paid
    page = text(seller.get(f"/gift-cards/?customer={customer.number}"))
    assert "Cheque CHQ 4711" in page and "100.00 EUR not yet used" in page
    deposits = ledger.balance(db, ledger.CUSTOMER_DEPOSITS)
    liability = ledger.balance(db, ledger.GIFT_CARD_LIABILITY)
    response = seller.post("/gift-cards/sell", data=sell_form(seller, paid, amount="60.00"))
    assert response.status_code == 200 and CODE.search(text(response))
    db.expire_all()
    card = db.scalar(select(GiftCard).order_by(GiftCard.id.desc()))
    assert (card.balance, card.customer_id) == (D("60.00"), customer.id)
    assert db.get(Payment, payment.id).amount_unallocated == D("40.00")
    # Dr customer deposits 2300, Cr gift-card liability 2200
    assert ledger.balance(db, ledger.CUSTOMER_DEPOSITS) - deposits == D("60.00")
    assert ledger.balance(db, ledger.GIFT_CARD_LIABILITY) - liability == D("-60.00")
    issue = db.scalar(select(GiftCardMovement).where(GiftCardMovement.gift_card_id == card.id))
    assert (issue.kind, issue.payment_id) == ("issue", payment.id)
    assert_books_reconcile(db)
    statement = text(seller.get(f"/billing/customers/{customer.number}"))
    assert f"Gift card …{card.last4}" in statement and "bought with Cheque CHQ 4711" in statement
    # what is left of the cheque is all a second card may take
    html = text(seller.post("/gift-cards/sell", data=sell_form(seller, paid, amount="40.01")))
    assert "Only 40.00 EUR of that payment is not yet used." in html and not CODE.search(html)


def test_no_gift_card_is_sold_without_a_recorded_payment(seller, db, paid):
    before = sold_cards(db)
    stranger = CustomerFactory(name="Nick Nopay")
    page = text(seller.get(f"/gift-cards/?customer={stranger.number}"))
    assert "No bank transfer or cheque of Nick Nopay has money not yet used" in page
    assert f'href="/billing/payments/new?customer={stranger.number}"' in page
    assert "Sell gift card</button>" not in page
    # someone else's payment, or none at all, is refused at the field
    _, payment = paid
    data = sell_form(seller, paid, customer=stranger.number)
    html = text(seller.post("/gift-cards/sell", data=data))
    assert "Choose one of the customer&#39;s recorded payments." in html
    html = text(seller.post("/gift-cards/sell", data={**sell_form(seller, paid), "payment": ""}))
    assert 'id="payment-error">Choose the payment the card is sold for.' in html
    # a card payment taken for an order is not money for a gift card
    card_payment = receivables.record_payment(
        db, customer_id=paid[0].id, method="card", amount=D("30.00"), currency="EUR",
        received_on=clock.today(), reference="pi_x", actor=CLERK)
    db.commit()
    html = text(seller.post("/gift-cards/sell",
                            data={**sell_form(seller, paid), "payment": str(card_payment.id)}))
    assert "sold for a bank transfer or cheque recorded in billing" in html
    assert sold_cards(db) == before
    db.expire_all()
    assert db.get(Payment, payment.id).amount_unallocated == D("100.00")


def test_a_sale_with_errors_is_refused_at_its_fields_and_sells_nothing(seller, db, paid):
    before = sold_cards(db)
    response = seller.get("/gift-cards/?customer=C-999999")
    assert 'id="customer-error">There is no customer with that number.' in text(response)
    response = seller.post("/gift-cards/sell", data=sell_form(seller, paid, customer="C-999999"))
    html = text(response)
    assert response.status_code == 200 and not CODE.search(html)
    assert "There is no customer with that number." in html
    response = seller.post("/gift-cards/sell", data=sell_form(seller, paid, amount="1000.01"))
    assert "Enter an amount from 0.01 to 1000" in text(response)
    assert 'id="amount" ' in text(response) and 'aria-invalid="true"' in text(response)
    assert sold_cards(db) == before


def test_posting_without_a_csrf_token_sells_nothing(seller, db, paid):
    before = sold_cards(db)
    data = sell_form(seller, paid)
    del data["csrf_token"]
    assert seller.post("/gift-cards/sell", data=data).status_code == 400
    assert sold_cards(db) == before


# -- the console: balances, movements, disabling ---------------------------------------------

def test_the_balance_check_shows_balance_expiry_status_and_movements(agent_client, db, card):
    gift, code = card
    from tests.unit.test_orders import place, vid
    order = place(db, [(vid(db, "PAP-A4-80"), 1)], key="gc-web-moves")
    giftcards.redeem(db, code, D("10.40"), actor=CLERK, order=order)
    db.commit()
    response = agent_client.post("/gift-cards/check", data={
        "code": code.replace("-", " "), "csrf_token": csrf_token(agent_client, "/gift-cards/")})
    html = text(response)
    assert response.status_code == 200
    assert "29.60 EUR" in html and "40.00 EUR" in html and "No expiry" in html and "Active" in html
    assert "Sold" in html and "SEPA GC" in html and "−10.40 EUR" in html and order.number in html
    assert code not in html


def test_an_unknown_code_is_said_at_the_field(agent_client):
    response = agent_client.post("/gift-cards/check", data={
        "code": "AAAA-BBBB-CCCC-DDDD", "csrf_token": csrf_token(agent_client, "/gift-cards/")})
    assert "We could not find a gift card with that code." in text(response)


def test_only_a_supervisor_disables_a_card(agent_client, supervisor_client, db, card):
    gift, code = card
    token = csrf_token(agent_client, "/gift-cards/")
    assert agent_client.post(f"/gift-cards/{gift.id}/disable",
                             data={"reason": "lost", "csrf_token": token}).status_code == 403
    assert "A supervisor can disable" in text(agent_client.get(f"/gift-cards/{gift.id}"))
    token = csrf_token(supervisor_client, f"/gift-cards/{gift.id}")
    response = supervisor_client.post(f"/gift-cards/{gift.id}/disable",
                                      data={"reason": "reported stolen", "csrf_token": token})
    assert response.status_code == 303
    db.refresh(gift)
    assert not gift.active and giftcards.lookup(db, code) is None
    assert "Disabled" in text(supervisor_client.get(f"/gift-cards/{gift.id}"))


@pytest.mark.parametrize("role, allowed", [("agent", True), ("billing", True),
                                           ("supervisor", True), ("catalog", False),
                                           ("warehouse", False), ("credit", False)])
def test_the_gift_card_pages_are_for_agents_billing_and_supervisors(console_app, db, role,
                                                                     allowed):
    client = agent_with(console_app, db, role)
    response = client.get("/gift-cards/")
    assert response.status_code == (200 if allowed else 403)
    home = text(client.get("/"))
    assert ('href="/gift-cards/"' in home) == allowed


def test_the_list_of_recent_cards_costs_the_same_queries_for_one_or_many(agent_client, db,
                                                                          connection):
    def count() -> int:
        with QueryCounter(connection) as counter:
            assert agent_client.get("/gift-cards/").status_code == 200
        return counter.count

    sell_gift_card(db, D("5.00"), reference="1")
    db.commit()
    one = count()
    for i in range(6):
        sell_gift_card(db, D("5.00"), reference=f"r{i}")
    db.commit()
    assert count() == one


# -- the console: paying an invoice with a gift card -----------------------------------------

def test_billing_pays_part_of_an_invoice_with_a_gift_card_and_goes_back(console_app, db, card):
    from core.customers.models import Customer
    from tests.unit.test_billing import free_text
    gift, code = card
    acme = db.scalar(select(Customer).where(Customer.name == "Acme Corp"))
    invoice = free_text(db, acme, "100.00")
    db.commit()
    client = agent_with(console_app, db, "billing")
    page = text(client.get(f"/gift-cards/redeem-invoice?invoice={invoice.number}"))
    key = re.search(r'name="key" type="hidden" value="([0-9a-f]{32})"', page).group(1)
    data = {"invoice": invoice.number, "code": code, "amount": "40.00", "key": key,
            "next": f"/billing/invoices/{invoice.number}",
            "csrf_token": csrf_token(client, "/gift-cards/")}
    response = client.post("/gift-cards/redeem-invoice", data=data)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/billing/invoices/{invoice.number}")
    assert client.post("/gift-cards/redeem-invoice", data=data).status_code == 303  # twice
    db.refresh(invoice), db.refresh(gift)
    assert (invoice.amount_open, invoice.status, gift.balance) == (D("60.00"), "partially_paid", 0)
    assert db.scalar(select(func.count()).select_from(Payment)
                     .where(Payment.gift_card_id == gift.id)) == 1

    response = client.post("/gift-cards/redeem-invoice", data={
        **data, "key": "f" * 32, "amount": "1.00", "next": "//evil.example/"})
    assert response.status_code == 200
    assert 'id="code-error">The gift card has only 0.00 EUR left.' in text(response)


def test_an_off_site_next_is_never_followed(console_app, db, card):
    from core.customers.models import Customer
    from tests.unit.test_billing import free_text
    _, code = card
    acme = db.scalar(select(Customer).where(Customer.name == "Acme Corp"))
    invoice = free_text(db, acme, "10.00")
    db.commit()
    client = agent_with(console_app, db, "billing")
    response = client.post("/gift-cards/redeem-invoice", data={
        "invoice": invoice.number, "code": code, "amount": "10.00", "key": "e" * 32,
        "next": "/\t/evil.example/", "csrf_token": csrf_token(client, "/gift-cards/")})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/gift-cards/redeem-invoice")


# -- the shop: balance check -------------------------------------------------------------------

def test_the_shop_shows_a_balance_without_the_code(client, card):
    gift, code = card
    response = client.post("/gift-card", data={"code": code.lower(),
                                               "csrf_token": csrf_token(client, "/gift-card")})
    html = text(response)
    assert response.status_code == 200
    assert "40.00 EUR" in html and f"…{gift.last4}" in html and "No expiry" in html
    assert code not in html


def test_the_shops_balance_check_is_rate_limited_per_address(client, card):
    _, code = card
    token = csrf_token(client, "/gift-card")
    for i in range(10):
        response = client.post("/gift-card", data={"code": f"AAAA-BBBB-CCCC-{i:04d}",
                                                   "csrf_token": token})
        assert response.status_code == 200
        assert "We could not find a gift card with that code." in text(response)
    response = client.post("/gift-card", data={"code": code, "csrf_token": token})
    assert response.status_code == 429 and "Too many gift card checks" in text(response)
    assert "40.00 EUR" not in text(response)


# -- the shop: checkout ----------------------------------------------------------------------

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
    return {"csrf_token": csrf_token(client, "/checkout"), "key": key,
            "email": "gift.buyer@example.com", "full_name": "Gil Gift",
            "line1": "Hauptstraße 5", "city": "Berlin", "postal_code": "10115",
            "country": "DE", "shipping_method": "standard", **fields}


def place(client, data):
    return client.post("/checkout", data=data, headers={"Accept": "application/json"})


def test_the_checkout_shows_what_the_gift_card_will_pay(client, db, card, stripe):
    _, code = card
    add(client, db, "PAP-A4-80", 5)  # 27.45 + 4.95 shipping = 32.40
    data = checkout_data(client, gift_card=code)
    assert 'id="gift_card"' in text(client.get("/checkout"))
    response = client.post("/checkout/gift-card", data=data, headers={"HX-Request": "true"})
    html = text(response)
    assert 'data-covers-all="true"' in html and "32.40 EUR" in html and "No card is needed" in html
    add(client, db, "PAP-A4-80", 5)  # 10 reams: 52.20 at the volume price, shipping free
    html = text(client.post("/checkout/gift-card", data=data, headers={"HX-Request": "true"}))
    assert 'data-covers-all="false"' in html and "remaining <strong>12.20 EUR" in html
    html = text(client.post("/checkout/gift-card", data={**data, "gift_card": "AAAA-BBBB-CCCC-DDDD"},
                            headers={"HX-Request": "true"}))
    assert "That gift card code is not valid." in html


def test_a_gift_card_covering_the_whole_order_confirms_it_with_no_payment_intent(
        client, db, card, stripe, smtp_sink):
    gift, code = card
    add(client, db, "PAP-A4-80", 5)
    response = place(client, checkout_data(client, gift_card=code))
    assert response.status_code == 200, text(response)
    assert response.json["status"] == "confirmed"
    order = db.scalar(select(Order).order_by(Order.id.desc()))
    assert (order.status, order.payment_state, order.amount_prepaid) == ("confirmed", "captured",
                                                                         D("32.40"))
    assert stripe.authorised == []
    assert db.scalar(select(func.count()).select_from(PaymentAttempt)
                     .where(PaymentAttempt.order_id == order.id)) == 0
    db.refresh(gift)
    assert gift.balance == D("7.60")
    thanks = text(client.get(response.json["redirect"]))
    assert "Your gift card paid 32.40 EUR" in thanks and "authorised" not in thanks
    mail = text_of(smtp_sink.wait_for("gift.buyer@example.com"))
    assert "Paid by gift card: 32.40 EUR" in mail and "Your gift card paid the whole order." in mail


def test_a_gift_card_paying_part_leaves_the_rest_to_the_card(client, db, card, stripe):
    gift, code = card
    add(client, db, "PAP-A4-80", 10)  # 52.20 at the volume price, shipping free
    response = place(client, checkout_data(client, gift_card=code))
    assert response.status_code == 422
    assert "enter your card details for the remaining 12.20 EUR" in response.json["errors"]["card"]
    db.refresh(gift)
    assert gift.balance == D("40.00")  # nothing taken, no order kept
    response = place(client, checkout_data(client, gift_card=code, payment_method="pm_card_visa"))
    assert response.json["status"] == "confirmed"
    assert stripe.authorised == [D("12.20")]
    order = db.scalar(select(Order).order_by(Order.id.desc()))
    assert (order.payment_state, order.amount_prepaid) == ("authorised", D("40.00"))
    assert "Your card has been authorised for 12.20 EUR" in text(client.get(response.json["redirect"]))


def test_an_invalid_gift_card_at_checkout_is_said_at_its_field(client, db, stripe):
    add(client, db, "PAP-A4-80", 1)
    response = place(client, checkout_data(client, gift_card="AAAA-BBBB-CCCC-DDDD"))
    assert response.status_code == 422
    assert response.json["errors"] == {"gift_card": "That gift card code is not valid."}
    assert stripe.authorised == []


# -- the console: phone orders -------------------------------------------------------------------

def phone_place(client, number, payment, gift_card):
    from tests.web.test_order_entry import entry_url, post
    page = text(client.get(entry_url(number)))
    key = re.search(r'name="key" type="hidden" value="([0-9a-f]{32})"', page).group(1)
    return post(client, number, "place", {"payment_method": payment, "key": key,
                                          "gift_card": gift_card}, htmx=False)


def test_the_phone_entry_shows_what_the_gift_card_pays(agent_client, db, card):
    from tests.web.test_order_entry import add, number_of, post
    gift, code = card
    number = number_of(db, "shopper")
    add(agent_client, number, "PAP-A4-80", 10)  # 52.20, shipping free
    html = text(post(agent_client, number, "gift-card", {"gift_card": code}))
    assert html.lstrip().startswith('<div id="gift-card-result"')
    assert "It pays <strong>40.00 EUR</strong> of 52.20 EUR" in html and "12.20 EUR" in html
    html = text(post(agent_client, number, "gift-card", {"gift_card": "AAAA-BBBB-CCCC-DDDD"}))
    assert "That gift card code is not valid." in html
    assert 'id="gift_card"' in text(agent_client.get(f"/order-entry/new?customer={number}"))


def test_a_phone_order_paid_in_full_by_gift_card_is_confirmed_without_a_card(agent_client, db,
                                                                             card):
    from tests.web.test_order_entry import add, number_of, placed
    gift, code = card
    number = number_of(db, "shopper")
    add(agent_client, number, "PAP-A4-80", 5)  # 32.40
    response = phone_place(agent_client, number, "card", code)
    assert response.status_code == 303
    order = placed(db, response)
    assert (order.status, order.payment_state, order.amount_prepaid) == ("confirmed", "captured",
                                                                         D("32.40"))
    db.refresh(gift)
    assert gift.balance == D("7.60")
    assert "paid in full by gift card" in text(agent_client.get(response.headers["Location"]))


def test_a_phone_order_paid_partly_by_gift_card_takes_the_rest_by_card_or_on_account(
        agent_client, db, card):
    from tests.web.test_order_entry import add, number_of, placed
    gift, code = card
    shopper = number_of(db, "shopper")
    add(agent_client, shopper, "PAP-A4-80", 10)  # 52.20
    response = phone_place(agent_client, shopper, "card", code)
    order = placed(db, response)
    assert (order.status, order.amount_prepaid) == ("pending_payment", D("40.00"))
    assert response.headers["Location"].endswith(f"/order-entry/{order.number}/card")
    card_page = text(agent_client.get(f"/order-entry/{order.number}/card"))
    assert 'id="card-amount">12.20 EUR' in card_page

    acme = number_of(db, "acme")
    gift2, code2 = sell_gift_card(db, D("5.00"), reference="CHQ")
    db.commit()
    add(agent_client, acme, "PAP-A4-80", 2)
    order = placed(db, phone_place(agent_client, acme, "on_account", code2))
    assert (order.status, order.payment_state, order.amount_prepaid) == ("confirmed",
                                                                         "on_account", D("5.00"))


def test_a_gift_card_that_cannot_pay_keeps_the_phone_order_unplaced(agent_client, db):
    from tests.web.test_order_entry import add, number_of
    number = number_of(db, "shopper")
    add(agent_client, number, "PAP-A4-80", 1)
    before = db.scalar(select(func.count()).select_from(Order))
    response = phone_place(agent_client, number, "pay_link", "AAAA-BBBB-CCCC-DDDD")
    html = text(response)
    assert response.status_code == 200
    assert 'id="gift_card-error">That gift card code is not valid.' in html
    assert db.scalar(select(func.count()).select_from(Order)) == before


def test_a_pay_link_asks_only_for_what_the_gift_card_left(client, db, monkeypatch, settings):
    from core.billing import prepayments
    from core.payments.links import make_token
    from tests.unit.test_orders import place, vid
    card, code = sell_gift_card(db, D("25.00"), reference="CHQ")
    order = place(db, [(vid(db, "PAP-A4-80"), 5)], key="link-gift")  # 32.40
    prepayments.pay_with_gift_card(db, order, code, actor=CLERK)
    db.commit()
    page = text(client.get(f"/pay/{make_token(settings.SECRET_KEY, order.id)}"))
    assert re.search(r"Amount due: <strong>[^<]*7\.40", page)
    assert "25.00" in page and "gift card" in page
    assert re.search(r"Pay [^<]*7\.40", page)
