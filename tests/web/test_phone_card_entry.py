"""Card entry by phone (MOTO) can be switched off (PHONE_CARD_ENTRY, off in production unless
set): agents then send a payment link. And the phone entry kept in the agent's cookie stays
small however many customers the agent serves."""
import dataclasses

import pytest
from sqlalchemy import func, select

from callcenter.order_entry import CARD_ENTRY_OFF, MAX_ENTRIES
from core.orders.models import Order
from tests.conftest import agent_client_for, csrf_token
from tests.factories import CustomerFactory
from tests.web.test_order_entry import add, entry_url, number_of, place, placed

CARD_RADIO = 'name="payment_method" value="card"'


@pytest.fixture
def no_card_client(settings, session_factory):
    from callcenter import create_app
    app = create_app(dataclasses.replace(settings, PHONE_CARD_ENTRY="0"),
                     session_factory=session_factory)
    app.config.update(TESTING=True)
    return agent_client_for(app, "agent@marketline.example")


def orders_of(db, number) -> int:
    from core.customers.models import Customer
    customer = db.scalar(select(Customer).where(Customer.number == number))
    return db.scalar(select(func.count()).select_from(Order)
                     .where(Order.customer_id == customer.id))


def test_with_card_entry_on_the_entry_offers_card_by_phone(agent_client, db):
    number = number_of(db, "shopper")
    assert CARD_RADIO in agent_client.get(entry_url(number)).get_data(as_text=True)


def test_with_card_entry_off_the_entry_offers_a_pay_link_instead(no_card_client, db):
    number = number_of(db, "shopper")
    page = no_card_client.get(entry_url(number)).get_data(as_text=True)
    assert CARD_RADIO not in page
    assert 'name="payment_method" value="pay_link" checked' in page


def test_with_card_entry_off_placing_with_card_is_refused_at_the_payment_field(no_card_client,
                                                                              db):
    number = number_of(db, "shopper")
    add(no_card_client, number, "PAP-A4-80")
    response = place(no_card_client, number, "card")
    assert response.status_code == 200
    assert CARD_ENTRY_OFF in response.get_data(as_text=True)
    assert orders_of(db, number) == 0


@pytest.fixture
def waiting_order(no_card_client, db, smtp_sink):
    """A phone order awaiting payment (by link)."""
    number = number_of(db, "shopper")
    add(no_card_client, number, "PAP-A4-80")
    order = placed(db, place(no_card_client, number, "pay_link"))
    assert order.status == "pending_payment"
    return order


def test_with_card_entry_off_the_card_page_says_so_and_offers_the_pay_link(no_card_client,
                                                                         waiting_order):
    response = no_card_client.get(f"/order-entry/{waiting_order.number}/card")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert CARD_ENTRY_OFF in page
    assert 'id="card-element"' not in page and "moto.js" not in page
    assert "Send a payment link to" in page


def test_with_card_entry_off_a_card_posted_anyway_is_refused_with_a_message(no_card_client,
                                                                          db, waiting_order):
    path = f"/order-entry/{waiting_order.number}/card"
    token = csrf_token(no_card_client, path)
    answer = no_card_client.post(path, headers={"Accept": "application/json"},
                                 data={"csrf_token": token, "payment_method": "pm_card_visa"})
    assert answer.status_code == 403
    assert answer.json["message"] == CARD_ENTRY_OFF
    page = no_card_client.post(path, data={"csrf_token": token, "payment_method": "pm_x"},
                               follow_redirects=True)
    assert page.status_code == 200 and CARD_ENTRY_OFF in page.get_data(as_text=True)
    db.expire_all()
    assert db.get(Order, waiting_order.id).status == "pending_payment"


# -- L4: the entry state in the agent's cookie stays bounded -------------------------------------

def session_of(client, app) -> dict:
    cookie = client.get_cookie("ml_console")
    return app.session_interface.get_signing_serializer(app).loads(cookie.value)


def test_only_the_most_recent_customers_entries_are_kept_in_the_cookie(console_app, db):
    customers = [CustomerFactory() for _ in range(MAX_ENTRIES + 3)]
    db.commit()
    agent = agent_client_for(console_app, "agent@marketline.example")
    for customer in customers:
        assert add(agent, customer.number, "PAP-A4-80").status_code == 200
    kept = sorted(k for k in session_of(agent, console_app) if k.startswith("entry:"))
    assert kept == sorted(f"entry:{c.number}" for c in customers[-MAX_ENTRIES:])
    latest = agent.get(entry_url(customers[-1].number)).get_data(as_text=True)
    assert "PAP-A4-80" in latest
    # The oldest starts afresh; doing so makes it the most recent again.
    assert add(agent, customers[0].number, "PEN-G2-BLU").status_code == 200
    kept = {k for k in session_of(agent, console_app) if k.startswith("entry:")}
    assert f"entry:{customers[0].number}" in kept and len(kept) == MAX_ENTRIES
