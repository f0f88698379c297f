"""A billing clerk cannot mint a spendable gift card alone (review M5, reviewer's probe): a
clerk who records a cheque nobody saw and sells a card out of it gets no code; the sale
waits on the billing start page until a colleague with the credit or supervisor role
confirms the money came in, and the code is made then, shown once to them and e-mailed."""
import re

import pytest
from sqlalchemy import func, select

from core.billing import giftcards
from core.billing.models import GiftCard, GiftCardRequest, Payment
from tests.conftest import csrf_token
from tests.factories import CustomerFactory
from tests.web.conftest import text_of
from tests.web.test_console_billing import client_with_roles
from tests.web.test_giftcards import CODE, agent_with, text


def cards(db) -> int:
    return db.scalar(select(func.count()).select_from(GiftCard))


def record_cheque(clerk, customer, amount="1000.00"):
    response = clerk.post("/billing/payments/new", data={
        "csrf_token": csrf_token(clerk, f"/billing/payments/new?customer={customer.number}"),
        "customer": customer.number, "method": "cheque", "amount": amount,
        "received_on": "2026-12-01", "reference": "CHQ 1", "key": "a" * 32})
    assert response.status_code in (302, 303), text(response)[:500]


def sell(clerk, customer, payment, amount="1000.00", **fields):
    html = text(clerk.get(f"/gift-cards/?customer={customer.number}"))
    key = re.search(r'name="key" type="hidden" value="([0-9a-f]{32})"', html).group(1)
    return clerk.post("/gift-cards/sell", data={
        "csrf_token": csrf_token(clerk, "/gift-cards/"), "key": key,
        "customer": customer.number, "payment": str(payment.id), "amount": amount, **fields})


def decide(client, sale_id: int, action: str, note: str = ""):
    return client.post(f"/gift-cards/sales/{sale_id}/{action}", data={
        "csrf_token": csrf_token(client, "/gift-cards/sales/" + str(sale_id)),
        f"{action}-csrf_token": csrf_token(client, "/gift-cards/sales/" + str(sale_id)),
        f"{action}-note": note})


@pytest.fixture
def waiting_sale(console_app, db):
    """The reviewer's probe: a billing clerk records a cheque of 1,000.00 EUR for a customer
    and sells a card of 1,000.00 EUR out of it. Returns (clerk, customer, sale response)."""
    clerk = agent_with(console_app, db, "billing")
    customer = CustomerFactory(name="Anyone", email="anyone@example.com")
    db.commit()
    record_cheque(clerk, customer)
    payment = db.scalar(select(Payment).order_by(Payment.id.desc()))
    return clerk, customer, payment, sell(clerk, customer, payment)


def test_a_clerk_selling_out_of_a_cheque_they_recorded_gets_no_code_and_no_card(
        db, waiting_sale):
    clerk, customer, payment, sold = waiting_sale
    before = cards(db)
    assert sold.status_code in (302, 303)
    page = clerk.get(sold.headers["Location"])
    html = text(page)
    assert page.status_code == 200 and not CODE.search(html)
    assert "waits for a colleague with the credit or supervisor role" in html
    assert "You asked for this gift card sale" in html  # and cannot confirm it
    assert cards(db) == before
    request = db.scalar(select(GiftCardRequest).where(GiftCardRequest.payment_id == payment.id))
    assert (request.status, request.amount, request.gift_card_id) == ("requested", 1000, None)
    # The same page posted again asks nothing more; the money is held meanwhile.
    offered = text(clerk.get(f"/gift-cards/?customer={customer.number}"))
    assert "has money not yet used" in offered and "CHQ 1" not in offered
    assert db.scalar(select(func.count()).select_from(GiftCardRequest)
                     .where(GiftCardRequest.payment_id == payment.id)) == 1
    # Billing alone cannot confirm it (the role is not enough, and it is theirs).
    refused = decide(clerk, request.id, "confirm")
    assert refused.status_code == 403 and cards(db) == before


def test_a_colleague_confirms_from_the_billing_start_page_and_the_code_is_shown_once(
        console_app, db, waiting_sale, smtp_sink):
    clerk, customer, payment, sold = waiting_sale
    request = db.scalar(select(GiftCardRequest).where(GiftCardRequest.payment_id == payment.id))
    controller = client_with_roles(console_app, db, "credit")
    start = text(controller.get("/billing/invoices"))
    assert "Gift card sales awaiting confirmation" in start
    assert f"/gift-cards/sales/{request.id}" in start and "Cheque CHQ 1" in start

    confirmed = decide(controller, request.id, "confirm", "Seen on the bank statement")
    assert confirmed.status_code == 200
    assert confirmed.headers["Cache-Control"] == "no-store"
    code = CODE.search(text(confirmed)).group(0)
    assert "anyone@example.com" in text(confirmed)
    card = giftcards.lookup(db, code)
    assert card is not None and card.balance == 1000 and card.sold_by == "gc-billing@test.example"
    assert code in text_of(smtp_sink.wait_for("anyone@example.com"))
    # Decided once: confirming again shows no code and makes no second card.
    again = decide(controller, request.id, "confirm")
    assert not CODE.search(text(again)) and "already confirmed" in text(again)
    assert db.scalar(select(func.count()).select_from(GiftCard)
                     .where(GiftCard.customer_id == customer.id)) == 1
    for page in (clerk.get(f"/gift-cards/sales/{request.id}"),
                 controller.get(f"/gift-cards/sales/{request.id}"),
                 controller.get("/billing/invoices")):
        assert page.status_code == 200 and code not in text(page)


def test_a_clerk_with_the_credit_role_cannot_confirm_their_own_sale(console_app, db):
    clerk = client_with_roles(console_app, db, "billing,credit")
    customer = CustomerFactory(name="Selfie", email="selfie@example.com")
    db.commit()
    record_cheque(clerk, customer, "200.00")
    payment = db.scalar(select(Payment).order_by(Payment.id.desc()))
    sell(clerk, customer, payment, "200.00")
    request = db.scalar(select(GiftCardRequest).where(GiftCardRequest.payment_id == payment.id))
    refused = decide(clerk, request.id, "confirm")
    assert refused.status_code == 403 and "You asked for this gift card sale" in text(refused)
    assert not CODE.search(text(refused))
    db.refresh(request)
    assert request.status == "requested" and request.gift_card_id is None


def test_a_rejected_sale_says_why_at_the_field_and_frees_the_money(console_app, db,
                                                                   waiting_sale):
    clerk, customer, payment, _ = waiting_sale
    before = cards(db)
    request = db.scalar(select(GiftCardRequest).where(GiftCardRequest.payment_id == payment.id))
    boss = client_with_roles(console_app, db, "supervisor")
    blank = decide(boss, request.id, "reject", "")
    assert blank.status_code == 200 and "Say why the gift card sale is rejected" in text(blank)
    done = decide(boss, request.id, "reject", "No such cheque arrived")
    assert done.status_code in (302, 303)
    db.refresh(request)
    assert request.status == "rejected" and cards(db) == before
    assert "1,000.00 EUR not yet used" in text(clerk.get(f"/gift-cards/?customer={customer.number}"))
