"""The console's start page: an agent starts a call from it (issue 16).

The customer search comes first with the cursor in it, results arrive as an htmx fragment,
today's work shows only what the agent's roles may act on, and the recent activity reads as
sentences with links. The page runs a fixed number of queries however much there is.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from itertools import count

import pytest
from sqlalchemy import func, select

from core import audit, clock
from core.agents.models import Agent
from core.credit.models import CollectionTask
from core.customers.models import Customer
from core.orders.models import Order, OrderHold
from core.quotes.models import Quote
from tests.conftest import agent_client_for
from tests.helpers import QueryCounter

HX = {"HX-Request": "true"}
_seq = count(1)


def _client(console_app, who: str):
    return agent_client_for(console_app, f"{who}@marketline.example")


def _section(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[start:html.index("</section>", start)]


def _customer(db, name: str = "Acme Corp") -> Customer:
    return db.scalar(select(Customer).where(Customer.name == name))


def _agent(db, who: str) -> Agent:
    return db.scalar(select(Agent).where(Agent.email == f"{who}@marketline.example"))


def _order(db, who: Customer, *, by: Agent | None = None, total: str = "413.90",
           at: dt.datetime | None = None) -> Order:
    n = next(_seq)
    order = Order(number=f"SO-9{n:05d}", idempotency_key=f"start-{n}", customer_id=who.id,
                  email=who.email, channel_code="callcenter",
                  placed_by_kind="agent" if by else "customer", placed_by_id=by.id if by else None,
                  currency="EUR", prices_include_tax=True, status="confirmed",
                  payment_state="on_account", payment_method="on_account",
                  subtotal=Decimal(total), discount_total=Decimal(0), net_total=Decimal(total),
                  tax_total=Decimal(0), gross_total=Decimal(total), placed_at=at or clock.now())
    db.add(order)
    db.flush()
    actor = audit.Actor("agent", by.id, by.email) if by else audit.Actor("customer", None, who.name)
    audit.record(db, "order.placed", actor=actor, channel="callcenter", subject=order,
                 data={"number": order.number, "total": total})
    return order


# --- the search box --------------------------------------------------------------------------

def test_the_search_box_comes_first_with_the_cursor_in_it(agent_client):
    html = agent_client.get("/").get_data(as_text=True)
    main = html[html.index("<main"):]
    first_input = re.search(r"<input[^>]*>", main).group(0)
    assert 'id="start-q"' in first_input and "autofocus" in first_input
    assert '<label for="start-q">Search customers</label>' in main
    assert 'hx-get="/find"' in first_input
    assert 'hx-trigger="input changed delay:250ms, search"' in first_input
    assert 'hx-target="#start-results"' in first_input
    assert main.count("autofocus") == 1
    # Without JavaScript the form still goes somewhere that finds the customer.
    assert re.search(r'<form method="get" action="/find" role="search">', main)


@pytest.mark.parametrize("who", ["warehouse", "catalog", "manager"])
def test_roles_that_cannot_see_customers_get_no_search_box(console_app, who):
    client = _client(console_app, who)
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="start-q"' not in html and "autofocus" not in html
    assert client.get("/find?q=Acme", headers=HX).status_code == 403


def test_the_search_answers_a_fragment_of_linked_customers_as_the_agent_types(agent_client, db):
    acme = _customer(db)
    response = agent_client.get("/find?q=acme", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html and "<h1" not in html
    assert f'<a href="/customers/{acme.number}">Acme Corp</a>' in html
    assert "HX-Request" in response.headers.get("Vary", "")


def test_a_search_that_finds_nothing_says_so_and_offers_a_new_customer(agent_client):
    html = agent_client.get("/find?q=zzqqxx", headers=HX).get_data(as_text=True)
    assert "No customer matches" in html and 'href="/customers/new"' in html


def test_enter_on_a_single_result_opens_the_customer_without_javascript(agent_client, db):
    acme = _customer(db)
    response = agent_client.get(f"/find?q={acme.number}")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/customers/{acme.number}")


def test_enter_on_many_results_opens_the_customer_search(agent_client):
    response = agent_client.get("/find?q=a")  # too short for names: the search page explains
    assert response.status_code == 303
    assert "/customers/?q=a" in response.headers["Location"]


# --- today's work, by role -------------------------------------------------------------------

BLOCK_IDS = ("orders-today", "holds-waiting", "returns-to-approve", "quotes-to-send",
             "follow-ups", "low-stock-h", "to-release", "to-ship")
WAREHOUSE_WORK = {"to-release", "to-ship"}


@pytest.mark.parametrize("who, shown", [
    ("agent", {"orders-today", "holds-waiting", "returns-to-approve", "quotes-to-send"}),
    ("supervisor", set(BLOCK_IDS) - WAREHOUSE_WORK),  # looks at the warehouse, does not act
    ("billing", {"holds-waiting", "follow-ups"}),  # Bill holds billing and credit
    ("credit", {"holds-waiting", "follow-ups"}),
    ("warehouse", {"low-stock-h", "to-release", "to-ship"}),
    ("catalog", set()),
    ("manager", set()),
])
def test_each_role_sees_the_work_it_may_act_on(console_app, who, shown):
    html = _client(console_app, who).get("/").get_data(as_text=True)
    assert {b for b in BLOCK_IDS if f'id="{b}"' in html} == shown
    assert 'id="activity-h"' in html


def test_orders_taken_today_count_the_agents_own_and_all(console_app, db):
    alex, sue = _agent(db, "agent"), _agent(db, "supervisor")
    acme = _customer(db)
    mine = _order(db, acme, by=alex)
    _order(db, acme, by=sue)
    _order(db, acme, by=alex, at=clock.now() - dt.timedelta(days=2))  # not today
    db.commit()
    today = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    total = db.scalar(select(func.count()).select_from(Order).where(Order.placed_at >= today))
    own = db.scalar(select(func.count()).select_from(Order).where(
        Order.placed_at >= today, Order.placed_by_kind == "agent", Order.placed_by_id == alex.id))
    assert own >= 1 and total >= 2
    html = _client(console_app, "agent").get("/").get_data(as_text=True)
    block = _section(html, "orders-today")
    assert f"{own} by you, {total} in total today." in block
    assert f'<a href="/orders/{mine.number}">{mine.number}</a>' in block
    assert "413.90 EUR" in block


def test_holds_waiting_come_oldest_first_with_customer_kind_and_age(console_app, db):
    acme = _customer(db)
    old = _order(db, acme)
    db.add(OrderHold(order_id=old.id, kind="manual", reason_code="customer_request",
                     placed_by="t", placed_at=clock.now() - dt.timedelta(days=400)))
    db.commit()
    block = _section(_client(console_app, "agent").get("/").get_data(as_text=True),
                     "holds-waiting")
    first = re.search(r"<li>(.*?)</li>", block, re.S).group(1)
    assert f'href="/orders/{old.number}"' in first
    assert "Acme Corp" in first and "Manual" in first and "400 days" in first


def test_follow_ups_due_are_the_agents_own_and_unassigned_ones(console_app, db):
    bill, alex = _agent(db, "billing"), _agent(db, "agent")
    acme, globex = _customer(db), _customer(db, "Globex GmbH")
    yesterday = clock.today() - dt.timedelta(days=1)
    db.add_all([
        CollectionTask(customer_id=acme.id, agent_id=None, due_on=yesterday, note="Call Acme"),
        CollectionTask(customer_id=globex.id, agent_id=bill.id, due_on=clock.today(),
                       note="Ring Globex"),
        CollectionTask(customer_id=globex.id, agent_id=alex.id, due_on=yesterday,
                       note="Someone else's"),
        CollectionTask(customer_id=globex.id, agent_id=bill.id,
                       due_on=clock.today() + dt.timedelta(days=3), note="Not yet"),
    ])
    db.commit()
    block = _section(_client(console_app, "billing").get("/").get_data(as_text=True),
                     "follow-ups")
    assert "Call Acme (unassigned)" in block and "1 day overdue" in block
    assert "Ring Globex" in block and "due today" in block
    assert "Someone else&#39;s" not in block and "Not yet" not in block
    assert block.index("Call Acme") < block.index("Ring Globex")
    assert f'<a href="/collections/{acme.number}">{acme.number}</a>' in block


def test_quotes_to_send_list_the_drafts(console_app, db):
    drafts = db.scalars(select(Quote).where(Quote.status == "draft")).all()
    block = _section(_client(console_app, "agent").get("/").get_data(as_text=True),
                     "quotes-to-send")
    assert f'<span class="badge" id="quotes-to-send-count">{len(drafts)}</span>' in block
    for q in drafts[:5]:
        assert f'<a href="/quotes/{q.number}">{q.number}</a>' in block


# --- recent activity -------------------------------------------------------------------------

def test_recent_activity_reads_as_sentences_with_links(console_app, db):
    order = _order(db, _customer(db), total="1190.00")
    db.commit()
    html = _client(console_app, "agent").get("/").get_data(as_text=True)
    activity = html[html.index('id="activity"'):]
    assert (f'Order <a href="/orders/{order.number}">{order.number}</a> placed by '
            f'<a href="/customers/') in activity
    assert "1,190.00 EUR" in activity
    assert "order.placed" not in activity


def test_links_in_the_activity_only_go_where_the_role_may_go(console_app, db):
    order = _order(db, _customer(db))
    db.commit()
    html = _client(console_app, "warehouse").get("/").get_data(as_text=True)
    activity = html[html.index('id="activity"'):]
    assert f"Order {order.number} placed by Acme Corp" in activity
    assert f'href="/orders/{order.number}"' not in activity


# --- a fixed number of queries ---------------------------------------------------------------

def test_the_start_page_runs_a_fixed_number_of_queries_as_the_data_grows(console_app, db,
                                                                          connection):
    client = _client(console_app, "supervisor")
    sue = _agent(db, "supervisor")
    acme = _customer(db)
    _order(db, acme, by=sue)
    db.commit()
    client.get("/")
    with QueryCounter(connection) as one:
        client.get("/")
    for i in range(12):
        order = _order(db, acme, by=sue if i % 2 else None)
        db.add(OrderHold(order_id=order.id, kind="manual", reason_code="customer_request",
                         placed_by="t"))
        db.add(CollectionTask(customer_id=acme.id, agent_id=None, due_on=clock.today(),
                              note=f"task {i}"))
    db.commit()
    with QueryCounter(connection) as more:
        html = client.get("/").get_data(as_text=True)
    assert "and " in _section(html, "holds-waiting")  # more than the first few
    assert one.count == more.count


# --- the warehouse's work ----------------------------------------------------------------------

def _released(db, who: Customer, promised: dt.date) -> Order:
    order = _order(db, who)
    order.status, order.promised_date = "in_fulfilment", promised
    order.released_at = clock.now()
    db.flush()
    return order


def test_the_warehouse_starts_with_what_to_release_and_to_ship_and_how_many_are_late(
        console_app, db):
    acme = _customer(db)
    ready = _order(db, acme, at=clock.now() - dt.timedelta(days=400))  # the oldest of all
    late = _released(db, acme, clock.today() - dt.timedelta(days=3))
    _released(db, acme, clock.today() + dt.timedelta(days=2))
    db.commit()
    html = _client(console_app, "warehouse").get("/").get_data(as_text=True)
    release = _section(html, "to-release")
    first = re.search(r'<li><a href="([^"]+)">(SO-\d+)</a>', release)
    assert first.groups() == (f"/fulfilment/orders/{ready.number}", ready.number)
    ship = _section(html, "to-ship")
    released = db.scalar(select(func.count()).select_from(Order).where(
        Order.status.in_(("in_fulfilment", "partially_shipped"))))
    overdue = db.scalar(select(func.count()).select_from(Order).where(
        Order.status.in_(("in_fulfilment", "partially_shipped")),
        Order.promised_date < clock.today()))
    assert f'<span class="badge" id="to-ship-count">{released}</span>' in ship
    assert f'<span class="badge badge-late">{overdue} late</span>' in ship
    assert f'<a href="/fulfilment/orders/{late.number}">{late.number}</a>' in ship
    assert "3 days late" in ship
    assert 'href="/fulfilment/ship">All orders to ship</a>' in ship


def test_the_warehouse_start_page_runs_a_fixed_number_of_queries(console_app, db, connection):
    client = _client(console_app, "warehouse")
    acme = _customer(db)
    client.get("/")
    with QueryCounter(connection) as one:
        client.get("/")
    for i in range(12):
        _order(db, acme)
        _released(db, acme, clock.today() - dt.timedelta(days=i % 3))
    db.commit()
    with QueryCounter(connection) as more:
        html = client.get("/").get_data(as_text=True)
    assert "and " in _section(html, "to-ship")
    assert one.count == more.count
