"""Console sessions end after CONSOLE_IDLE_MINUTES without a request; the console's cookie
lives under the console's root; production cookie names carry __Host- / __Secure-."""
import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select
from werkzeug.test import Client

from core import db as core_db
from core.auth.models import LoginSession
from core.web.app import compose
from tests.conftest import agent_client_for


@pytest.fixture
def clock(monkeypatch):
    """Move the web tier's clock forward: clock.advance(minutes=31)."""
    class Clock:
        offset = dt.timedelta()

        def advance(self, **delta):
            self.offset += dt.timedelta(**delta)

    clock = Clock()
    monkeypatch.setattr("core.web.auth.utcnow", lambda: core_db.utcnow() + clock.offset)
    return clock


def agent_sessions(db) -> list[LoginSession]:
    db.expire_all()
    return list(db.scalars(select(LoginSession).where(LoginSession.realm == "agent")))


# --- the cookie -----------------------------------------------------------------------------

def test_a_request_that_changes_nothing_in_the_session_sends_no_cookie(agent_client):
    """A slow answer must not put back an older cookie over one a faster request just set
    (an order-entry suggestion arriving after Add line lost the draft's cart)."""
    agent_client.get("/customers/")  # the CSRF token, once
    response = agent_client.get("/customers/")

    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


# --- idle timeout -------------------------------------------------------------------------

def test_a_console_session_ends_after_31_minutes_without_a_request(agent_client, clock, db):
    assert agent_client.get("/customers/").status_code == 200
    clock.advance(minutes=31)

    response = agent_client.get("/customers/")

    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]
    page = agent_client.get("/sign-in").get_data(as_text=True)
    assert "signed out after 30 minutes without activity" in page
    assert agent_sessions(db) == []  # ended on the server, not only refused
    clock.advance(minutes=-31)
    assert agent_client.get("/customers/").status_code == 302  # and it stays ended


def test_a_request_within_the_idle_time_keeps_the_console_session(agent_client, clock):
    for _ in range(3):
        clock.advance(minutes=20)
        assert agent_client.get("/customers/").status_code == 200  # 60 minutes, never idle 30


def test_activity_is_written_at_most_once_a_minute(agent_client, clock, db):
    [login] = agent_sessions(db)
    first = login.last_seen_at
    clock.advance(seconds=30)
    agent_client.get("/customers/")
    assert agent_sessions(db)[0].last_seen_at == first

    clock.advance(seconds=40)
    agent_client.get("/customers/")
    assert agent_sessions(db)[0].last_seen_at > first + dt.timedelta(seconds=60)


def test_the_idle_time_is_configurable(settings, session_factory, clock):
    from callcenter import create_app
    app = create_app(dataclasses.replace(settings, CONSOLE_IDLE_MINUTES=5),
                     session_factory=session_factory)
    client = agent_client_for(app, "agent@marketline.example")
    clock.advance(minutes=4)
    assert client.get("/customers/").status_code == 200
    clock.advance(minutes=6)
    assert client.get("/customers/").status_code == 302
    assert "signed out after 5 minutes" in client.get("/sign-in").get_data(as_text=True)


def test_an_htmx_request_after_the_idle_time_leads_the_whole_page_to_sign_in(agent_client,
                                                                              clock):
    clock.advance(minutes=31)

    response = agent_client.get("/customers/?q=acme", headers={"HX-Request": "true"})

    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/sign-in")


def test_customers_keep_the_absolute_session_lifetime(customer_client, clock):
    clock.advance(minutes=120)
    assert customer_client.get("/account/").status_code == 200


# --- cookies ------------------------------------------------------------------------------

def _sign_in_under_agent(client) -> str:
    page = client.get("/agent/sign-in").get_data(as_text=True)
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    response = client.post("/agent/sign-in", data={"email": "agent@marketline.example",
                                                   "password": "demo-pass-1",
                                                   "csrf_token": token})
    assert response.status_code == 303
    return response.headers["Set-Cookie"]


def test_the_console_cookie_is_scoped_to_agent_when_mounted_under_agent(shop_app, console_app):
    client = Client(compose(shop_app, console_app))

    set_cookie = _sign_in_under_agent(client)

    assert set_cookie.startswith("ml_console=") and "Path=/agent;" in set_cookie
    assert client.get_cookie("ml_console", path="/agent") is not None
    assert client.get_cookie("ml_console") is None  # nothing at / for the shop to receive
    assert client.get("/agent/customers/").status_code == 200


def test_the_console_served_alone_behind_a_proxy_scopes_its_cookie_to_script_name(console_app):
    client = console_app.test_client()

    response = client.get("/sign-in", base_url="http://localhost/agent")  # SCRIPT_NAME=/agent

    assert "Path=/agent;" in response.headers["Set-Cookie"]


def test_the_shop_cookie_stays_at_the_root(shop_app, console_app):
    client = Client(compose(shop_app, console_app))
    set_cookie = client.get("/account/sign-in").headers["Set-Cookie"]
    assert set_cookie.startswith("ml_shop=") and "Path=/;" in set_cookie


def test_production_cookies_carry_the_host_and_secure_prefixes(settings, session_factory):
    from callcenter import create_app as create_console
    from storefront import create_app as create_shop
    production = dataclasses.replace(settings, MARKETLINE_ENV="production")
    shop = create_shop(production, session_factory=session_factory)
    console = create_console(production, session_factory=session_factory)
    assert shop.config["SESSION_COOKIE_NAME"] == "__Host-ml_shop"
    assert console.config["SESSION_COOKIE_NAME"] == "__Secure-ml_console"
    client = Client(compose(shop, console))

    shop_cookie = client.get("/account/sign-in").headers["Set-Cookie"]
    console_cookie = _sign_in_under_agent(client)

    # __Host- needs Secure, Path=/ and no Domain; __Secure- needs Secure.
    assert shop_cookie.startswith("__Host-ml_shop=")
    assert "Secure" in shop_cookie and "Path=/;" in shop_cookie and "Domain" not in shop_cookie
    assert console_cookie.startswith("__Secure-ml_console=")
    assert "Secure" in console_cookie and "Path=/agent;" in console_cookie
