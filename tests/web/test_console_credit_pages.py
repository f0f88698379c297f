"""The credit pages of the console (issue 15): who sees and who acts, CSRF, bad input at
the field, fixed query counts, and the demo's credit controller."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from sqlalchemy import select

from core import clock
from core.credit.models import CreditLimitChange
from core.customers.models import Customer
from core.orders.models import Order
from tests.conftest import agent_client_for, csrf_token
from tests.helpers import QueryCounter

CARLA = "credit@marketline.example"


def customer(db, name: str) -> Customer:
    return db.scalar(select(Customer).where(Customer.name == name))


def acme(db) -> Customer:
    return customer(db, "Acme Corp")


def test_the_credit_controller_sees_the_home_lists(console_app, db):
    client = agent_client_for(console_app, CARLA)
    html = client.get("/credit/").get_data(as_text=True)
    assert '<li><a href="/credit/">Credit</a></li>' in html  # the nav link
    hartmann = customer(db, "Hartmann Bürobedarf KG")
    held = db.scalar(select(Order).where(Order.po_number == "HB-2231"))
    globex = customer(db, "Globex GmbH")
    reviews = html[html.index('id="reviews"'):html.index('id="holds"')]
    assert hartmann.name in reviews and "Past due" in reviews
    holds = html[html.index('id="holds"'):html.index('id="over-limit"')]
    assert held.number in holds and "Credit review past due" in holds
    assert globex.name in html[html.index('id="over-limit"'):]


def test_the_credit_page_shows_everything_about_a_customers_credit(console_app, db):
    client = agent_client_for(console_app, CARLA)
    who = acme(db)
    html = client.get(f"/credit/customers/{who.number}").get_data(as_text=True)
    assert re.search(r'id="credit-limit">25,?000\.00', html)
    assert f'id="credit-review">{who.credit_review_on.isoformat()}' in html
    for part in ("credit-receivables", "credit-unshipped", "credit-shipped-uninvoiced",
                 "credit-headroom"):
        assert f'id="{part}"' in html
    assert '<svg role="img"' in html and "<table>" in html and "<caption>" in html
    over_time = html[html.index('id="over-time"'):html.index('id="behaviour"')]
    assert ">Open receivables at each month end, against the limit</h2>" in over_time
    assert "Exposure over time" not in html  # the chart is receivables only: not exposure
    assert "Orders not yet invoiced are not in these bars" in over_time
    assert "Average days to pay" in html and "Average days beyond terms" in html
    assert "Cut while three invoices" in html and "Back to 25,000" in html
    assert f'action="/credit/customers/{who.number}/limit"' in html
    assert "Mark reviewed" in html


def test_the_credit_page_says_which_rules_bite(console_app, db):
    client = agent_client_for(console_app, CARLA)
    hartmann = customer(db, "Hartmann Bürobedarf KG")
    html = client.get(f"/credit/customers/{hartmann.number}").get_data(as_text=True)
    blocking = html[html.index('id="blocking"'):html.index('id="over-time"')]
    assert "Credit review past due" in blocking
    assert f"past due since {hartmann.credit_review_on.isoformat()}" in blocking
    held = db.scalar(select(Order).where(Order.po_number == "HB-2231"))
    assert held.number in blocking


def test_the_customer_page_links_to_the_credit_page(console_app, db):
    client = agent_client_for(console_app, CARLA)
    who = acme(db)
    html = client.get(f"/customers/{who.number}").get_data(as_text=True)
    assert f"/credit/customers/{who.number}" in html


def test_billing_reads_but_may_not_act_and_others_may_not_look(console_app, db):
    who = acme(db)
    billing = agent_client_for(console_app, "billing@marketline.example")
    # billing@ has the credit role in the demo: a billing-only agent is made here
    from core import audit
    from core.agents.services import create_agent
    create_agent(db, email="bea@marketline.example", full_name="Bea Billing",
                 password="demo-pass-1", roles=["billing"], actor=audit.Actor.system("test"))
    db.commit()
    bea = agent_client_for(console_app, "bea@marketline.example")
    page = bea.get(f"/credit/customers/{who.number}")
    assert page.status_code == 200
    assert 'name="credit_limit"' not in page.get_data(as_text=True)
    assert bea.get("/credit/").status_code == 200
    token = csrf_token(billing, f"/credit/customers/{who.number}")
    assert bea.post(f"/credit/customers/{who.number}/limit",
                    data={"csrf_token": token, "credit_limit": "1"}).status_code in (400, 403)
    for email in ("agent@marketline.example", "warehouse@marketline.example",
                  "catalog@marketline.example"):
        other = agent_client_for(console_app, email)
        assert other.get("/credit/").status_code == 403
        assert other.get(f"/credit/customers/{who.number}").status_code == 403
    assert billing.get("/credit/customers/C-NOPE").status_code == 404


def test_changing_the_limit_and_review_date_from_the_credit_page(console_app, db):
    client = agent_client_for(console_app, CARLA)
    who = acme(db)
    review = clock.today() + dt.timedelta(days=90)
    token = csrf_token(client, f"/credit/customers/{who.number}")
    response = client.post(f"/credit/customers/{who.number}/limit", data={
        "csrf_token": token, "credit_limit": "30000", "review_on": review.isoformat(),
        "limit_note": "New warehouse, bigger orders"})
    assert response.status_code == 303
    db.expire_all()
    who = acme(db)
    assert who.credit_limit == Decimal("30000") and who.credit_review_on == review
    change = db.scalar(select(CreditLimitChange).where(CreditLimitChange.customer_id == who.id)
                       .order_by(CreditLimitChange.id.desc()))
    assert (change.limit_before, change.limit_after) == (Decimal("25000.00"), Decimal("30000"))
    assert change.changed_by == CARLA and change.note == "New warehouse, bigger orders"
    html = client.get(f"/credit/customers/{who.number}").get_data(as_text=True)
    assert "New warehouse, bigger orders" in html


def test_a_past_review_date_is_refused_at_the_field(console_app, db):
    client = agent_client_for(console_app, CARLA)
    who = acme(db)
    before = (who.credit_limit, who.credit_review_on)
    token = csrf_token(client, f"/credit/customers/{who.number}")
    response = client.post(f"/credit/customers/{who.number}/limit", data={
        "csrf_token": token, "credit_limit": "1",
        "review_on": (clock.today() - dt.timedelta(days=2)).isoformat()})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'id="review_on-error"[^>]*>The review date cannot be in the past', html)
    db.expire_all()
    assert (acme(db).credit_limit, acme(db).credit_review_on) == before


def test_mark_reviewed_keeps_the_limit_and_moves_the_date(console_app, db):
    client = agent_client_for(console_app, CARLA)
    hartmann = customer(db, "Hartmann Bürobedarf KG")
    token = csrf_token(client, f"/credit/customers/{hartmann.number}")
    response = client.post(f"/credit/customers/{hartmann.number}/reviewed", data={
        "csrf_token": token, "review-note": "Accounts 2025 seen, limit stays"})
    assert response.status_code == 303
    db.expire_all()
    hartmann = customer(db, "Hartmann Bürobedarf KG")
    assert hartmann.credit_limit == Decimal("8000.00")
    assert hartmann.credit_review_on > clock.today()
    empty = client.post(f"/credit/customers/{hartmann.number}/reviewed", data={
        "csrf_token": token, "review-note": ""})
    assert empty.status_code == 422
    assert re.search(r'id="review-note-error"[^>]*>Say what the review looked at',
                     empty.get_data(as_text=True))


def test_a_post_without_its_csrf_token_is_refused(console_app, db):
    client = agent_client_for(console_app, CARLA)
    who = acme(db)
    response = client.post(f"/credit/customers/{who.number}/limit",
                           data={"credit_limit": "1"})
    assert response.status_code in (400, 422)
    db.expire_all()
    assert acme(db).credit_limit == Decimal("25000.00")


def _orders(db, who: Customer, n: int, prefix: str) -> None:
    for i in range(n):
        db.add(Order(number=f"SO-{prefix}{i:04d}", idempotency_key=f"cp-{prefix}-{i}",
                     customer_id=who.id, email="x@example.com", channel_code="web-b2b",
                     placed_by_kind="agent", currency="EUR", prices_include_tax=False,
                     status="confirmed", payment_state="on_account", payment_method="on_account",
                     subtotal=Decimal(10), discount_total=Decimal(0), net_total=Decimal(10),
                     tax_total=Decimal(0), gross_total=Decimal(999_999)))
    db.commit()


def test_the_credit_page_runs_a_fixed_number_of_queries(console_app, db, connection):
    client = agent_client_for(console_app, CARLA)
    who = acme(db)
    client.get(f"/credit/customers/{who.number}")
    with QueryCounter(connection) as one:
        client.get(f"/credit/customers/{who.number}")
    _orders(db, who, 4, "91")
    from core.credit import limits
    from core import audit
    limits.mark_reviewed(db, who, note="again", actor=audit.Actor.system("t"),
                         roles=["credit"], settings=console_app.config["MARKETLINE"])
    db.commit()
    with QueryCounter(connection) as more:
        html = client.get(f"/credit/customers/{who.number}").get_data(as_text=True)
    assert "again" in html
    assert one.count == more.count


def test_the_credit_home_runs_a_fixed_number_of_queries(console_app, db, connection):
    client = agent_client_for(console_app, CARLA)
    client.get("/credit/")
    with QueryCounter(connection) as one:
        client.get("/credit/")
    for name in ("Acme Corp", "Hartmann Bürobedarf KG"):
        _orders(db, customer(db, name), 3, "92" if name == "Acme Corp" else "93")
    for c in db.scalars(select(Customer).limit(5)):
        c.credit_review_on = clock.today() + dt.timedelta(days=3)
        c.credit_limit = Decimal("1.00")
    db.commit()
    with QueryCounter(connection) as more:
        html = client.get("/credit/").get_data(as_text=True)
    assert "Acme Corp" in html[html.index('id="over-limit"'):]
    assert one.count == more.count
