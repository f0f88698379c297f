"""The console's credit panel and limit, and credit holds released by the credit role."""
from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import select

from core.audit import AuditEvent
from core.customers.models import Customer
from core.orders.models import Order, OrderHold
from tests.conftest import agent_client_for, csrf_token
from tests.helpers import QueryCounter


def globex(db) -> Customer:
    return db.scalar(select(Customer).where(Customer.name == "Globex GmbH"))


def held_order(db) -> Order:
    return db.scalar(select(Order).where(Order.po_number == "GX-1001"))


def test_the_customer_page_shows_limit_exposure_and_what_makes_it_up(agent_client, db):
    customer, order = globex(db), held_order(db)
    html = agent_client.get(f"/customers/{customer.number}").get_data(as_text=True)
    assert re.search(r'id="credit-limit">1,?000\.00', html)
    assert "Over the limit" in html and order.number in html
    assert order.money(order.gross_total).format() in html
    assert 'name="credit_limit"' not in html  # an agent only reads it


def test_the_credit_panel_keeps_the_page_query_count_fixed(console_app, db, connection):
    client = agent_client_for(console_app, "billing@marketline.example")
    number = globex(db).number
    client.get(f"/customers/{number}")
    with QueryCounter(connection) as one:
        client.get(f"/customers/{number}")
    order = held_order(db)
    for i in range(3):  # more orders on account: the same queries
        db.add(Order(number=f"SO-9{i:05d}", idempotency_key=f"credit-{i}",
                     customer_id=order.customer_id, email=order.email, channel_code="web-b2b",
                     placed_by_kind="agent", currency="EUR", prices_include_tax=False,
                     status="confirmed", payment_state="on_account", payment_method="on_account",
                     subtotal=Decimal(10), discount_total=Decimal(0), net_total=Decimal(10),
                     tax_total=Decimal(0), gross_total=Decimal(10)))
    db.commit()
    with QueryCounter(connection) as more:
        html = client.get(f"/customers/{number}").get_data(as_text=True)
    assert "SO-900002" in html
    assert one.count == more.count


def test_the_credit_role_changes_the_limit_audited(console_app, db):
    client = agent_client_for(console_app, "billing@marketline.example")
    customer = globex(db)
    token = csrf_token(client, f"/customers/{customer.number}")
    response = client.post(f"/customers/{customer.number}/credit-limit",
                           data={"csrf_token": token, "credit_limit": "5000"})
    assert response.status_code == 303
    db.expire_all()
    assert globex(db).credit_limit == Decimal("5000.00")
    event = db.scalar(select(AuditEvent).where(
        AuditEvent.action == "customer.credit_limit_changed",
        AuditEvent.subject_id == str(customer.id)).order_by(AuditEvent.id.desc()))
    assert Decimal(event.data["before"]) == Decimal("1000.00")
    assert Decimal(event.data["after"]) == Decimal("5000")
    assert event.actor_label == "billing@marketline.example"
    # issue 15: the change is in the limit's history, reviewed in CREDIT_REVIEW_MONTHS
    from core import clock
    from core.credit.limits import add_months
    from core.credit.models import CreditLimitChange
    change = db.scalar(select(CreditLimitChange).where(
        CreditLimitChange.customer_id == customer.id))
    assert (change.limit_before, change.limit_after) == (Decimal("1000.00"), Decimal("5000"))
    assert globex(db).credit_review_on == change.review_after == add_months(clock.today(), 12)
    response = client.post(f"/customers/{customer.number}/credit-limit",
                           data={"csrf_token": token, "credit_limit": "lots"})
    assert response.status_code == 422


def test_an_agent_may_not_change_the_limit(agent_client, db):
    customer = globex(db)
    token = csrf_token(agent_client, f"/customers/{customer.number}")
    response = agent_client.post(f"/customers/{customer.number}/credit-limit",
                                 data={"csrf_token": token, "credit_limit": "99999"})
    assert response.status_code == 403
    db.expire_all()
    assert globex(db).credit_limit == Decimal("1000.00")


def _release(client, order, hold):
    token = csrf_token(client, f"/orders/{order.number}")
    return client.post(f"/orders/{order.number}/holds/{hold.id}/release",
                       data={"csrf_token": token, "note": "Paid in advance by transfer"})


def test_the_credit_role_releases_a_credit_hold_and_a_plain_agent_may_not(console_app, db):
    order = held_order(db)
    [hold] = order.active_holds
    assert (hold.kind, hold.reason_code) == ("credit", "over_limit")
    agent = agent_client_for(console_app, "agent@marketline.example")
    assert _release(agent, order, hold).status_code == 403
    billing = agent_client_for(console_app, "billing@marketline.example")
    response = _release(billing, order, hold)
    assert response.status_code == 303, response.get_data(as_text=True)
    db.expire_all()
    assert db.get(OrderHold, hold.id).released_by == "billing@marketline.example"


def test_a_supervisor_releases_a_credit_hold_too(console_app, db):
    """Issue 13: credit holds are released by "the credit role or a supervisor"."""
    order = held_order(db)
    [hold] = order.active_holds
    supervisor = agent_client_for(console_app, "supervisor@marketline.example")
    response = _release(supervisor, order, hold)
    assert response.status_code == 303, response.get_data(as_text=True)
    db.expire_all()
    assert db.get(OrderHold, hold.id).released_by == "supervisor@marketline.example"


def test_a_phone_order_on_account_over_the_limit_is_placed_on_credit_hold(db):
    """Review finding M8, through the phone order service the console's order entry calls:
    Globex is already over its limit with the demo's held order."""
    from core.agents.models import Agent
    from core.demo.orders import take_phone_order
    agent = db.scalar(select(Agent).where(Agent.email == "agent@marketline.example"))
    order = take_phone_order(db, globex(db), agent, [("PAP-A4-80", 1)], 0, key="m8-web")
    [hold] = order.active_holds
    assert (hold.kind, hold.reason_code) == ("credit", "over_limit")
    from callcenter.order_entry import _placed_message
    assert "credit hold" in _placed_message(order)
