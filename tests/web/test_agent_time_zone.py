"""An agent's own time zone: the console shows their times in it and reads the times they type
in it; the business day stays the console's (CONSOLE_TIMEZONE, Europe/Berlin in tests)."""
import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from core.agents.models import Agent
from core.audit import AuditEvent
from core.orders.models import Order
from core.pricing.models import Promotion
from tests.conftest import agent_client_for, csrf_token
from tests.web.conftest import CATALOG_AGENT, catalog_post

AGENT = "agent@marketline.example"


def _choose(client, zone: str):
    return client.post("/account/time-zone", data={
        "time_zone": zone, "csrf_token": csrf_token(client, "/account")})


def _agent(db, email: str = AGENT) -> Agent:
    db.expire_all()
    return db.scalar(select(Agent).where(Agent.email == email))


def _placed(order: Order, zone: str) -> str:
    at = order.placed_at if order.placed_at.tzinfo else order.placed_at.replace(
        tzinfo=dt.timezone.utc)
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def test_an_agent_sees_times_in_the_zone_they_chose_and_colleagues_keep_the_consoles(
        console_app, db):
    agent = agent_client_for(console_app, AGENT)
    colleague = agent_client_for(console_app, "supervisor@marketline.example")
    order = db.scalar(select(Order).where(Order.placed_at.is_not(None)).order_by(Order.id))
    berlin, new_york = _placed(order, "Europe/Berlin"), _placed(order, "America/New_York")
    assert berlin != new_york
    page = agent.get("/account").get_data(as_text=True)
    assert "The console&#39;s: Europe / Berlin" in page and 'for="time_zone"' in page

    saved = _choose(agent, "America/New_York")
    assert saved.status_code == 303
    assert _agent(db).time_zone == "America/New_York"
    account = agent.get("/account").get_data(as_text=True)
    assert '<option selected value="America/New_York">New York</option>' in account
    assert '<optgroup label="America">' in account
    assert f"<dd>{new_york}</dd>" in agent.get(f"/orders/{order.number}").get_data(as_text=True)
    assert f"<dd>{berlin}</dd>" in colleague.get(f"/orders/{order.number}").get_data(
        as_text=True)
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "agent.time_zone_changed"))
    assert event.data == {"from": None, "to": "America/New_York"}

    assert _choose(agent, "").status_code == 303  # back to the console's
    assert _agent(db).time_zone is None
    assert f"<dd>{berlin}</dd>" in agent.get(f"/orders/{order.number}").get_data(as_text=True)


def test_a_zone_not_on_the_list_is_refused_at_the_field_and_nothing_changes(console_app, db):
    agent = agent_client_for(console_app, AGENT)
    for bad in ("Mars/Olympus_Mons", "Etc/GMT+5", "US/Eastern"):
        refused = _choose(agent, bad)
        assert refused.status_code == 200
        body = refused.get_data(as_text=True)
        assert 'id="time_zone-error"' in body and "Choose a time zone from the list." in body
    assert _agent(db).time_zone is None
    assert db.scalar(select(AuditEvent).where(
        AuditEvent.action == "agent.time_zone_changed")) is None


def test_a_time_typed_by_an_agent_is_read_in_their_zone(console_app, db):
    catalog = agent_client_for(console_app, CATALOG_AGENT)
    assert _choose(catalog, "Asia/Tokyo").status_code == 303
    created = catalog_post(catalog, "/catalog/promotions/new", {
        "name": "Tokyo morning", "kind": "percent_off", "value": "10", "currency": "EUR",
        "channels": ["web-b2c"], "starts_at": "2027-01-10T09:00", "priority": "5",
        "active": "y"})
    assert created.status_code == 303, created.get_data(as_text=True)
    promotion = db.scalar(select(Promotion).where(Promotion.name == "Tokyo morning"))
    starts = promotion.starts_at if promotion.starts_at.tzinfo else promotion.starts_at.replace(
        tzinfo=dt.timezone.utc)
    assert starts == dt.datetime(2027, 1, 10, 0, 0, tzinfo=dt.timezone.utc)  # 09:00 in Tokyo
    edit = catalog.get(f"/catalog/promotions/{promotion.id}").get_data(as_text=True)
    assert 'value="2027-01-10T09:00"' in edit
