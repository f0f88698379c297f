"""The console: agents sign in, roles, separation from the storefront, the agents CLI."""
import pytest
from sqlalchemy import select
from werkzeug.test import Client

from core.agents.models import Agent
from core.audit import AuditEvent
from core.web.app import compose
from tests.conftest import csrf_token, sign_in


def test_anonymous_visitors_are_sent_to_the_agent_sign_in(console_client):
    response = console_client.get("/")
    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]


def test_an_agent_signs_in_and_sees_the_start_page(agent_client):
    html = agent_client.get("/").get_data(as_text=True)
    assert "Alex Agent" in html and "Search customers" in html


def test_a_customer_cannot_sign_in_to_the_console(console_client):
    response = sign_in(console_client, "shopper@example.com", "demo-pass-1", path="/sign-in")
    assert response.status_code == 200
    assert "do not match" in response.get_data(as_text=True)


def test_a_storefront_session_cookie_means_nothing_to_the_console(customer_client, console_app):
    cookie = customer_client.get_cookie("ml_shop").value
    console = console_app.test_client()
    console.set_cookie("ml_console", cookie)
    assert console.get("/").status_code == 302


def test_console_throttles_wrong_passwords_too(console_client):
    for _ in range(10):
        sign_in(console_client, "agent@marketline.example", "wrong-pass", path="/sign-in")
    response = sign_in(console_client, "agent@marketline.example", "demo-pass-1", path="/sign-in")
    assert "Too many sign-in attempts" in response.get_data(as_text=True)


def test_agent_sign_out_ends_the_session(agent_client):
    token = csrf_token(agent_client, "/")
    assert agent_client.post("/sign-out", data={"csrf_token": token}).status_code == 303
    assert agent_client.get("/").status_code == 302


def test_both_apps_share_one_server_with_separate_cookies(shop_app, console_app):
    client = Client(compose(shop_app, console_app))
    assert client.get("/").status_code == 200
    page = client.get("/agent/sign-in")
    assert page.status_code == 200 and "Agent sign in" in page.get_data(as_text=True)
    assert 'action="/agent/sign-in"' in page.get_data(as_text=True)
    names = {c.key for c in client._cookies.values()}
    assert {"ml_shop", "ml_console"} <= names


def test_cli_creates_an_agent_with_roles(console_app, db):
    runner = console_app.test_cli_runner()
    result = runner.invoke(args=["agents", "create", "--email", "New.Agent@Marketline.example",
                                 "--name", "New Agent", "--role", "agent", "--role", "credit",
                                 "--password", "agent-pass-1"])
    assert result.exit_code == 0, result.output
    agent = db.scalar(select(Agent).where(Agent.email == "new.agent@marketline.example"))
    assert agent.roles == {"agent", "credit"}
    assert agent.password_hash.startswith("$argon2id$")
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "agent.created",
                                              AuditEvent.subject_id == str(agent.id)))


def test_cli_refuses_a_duplicate_agent(console_app):
    runner = console_app.test_cli_runner()
    result = runner.invoke(args=["agents", "create", "--email", "agent@marketline.example",
                                 "--name", "Again", "--password", "agent-pass-1"])
    assert result.exit_code != 0 and "already exists" in result.output


@pytest.mark.parametrize("role, allowed", [("agent", True), ("supervisor", True),
                                           ("credit", True), ("catalog", True), ("admin", True)])
def test_every_role_reaches_the_start_page(console_app, db, role, allowed):
    from core.auth.passwords import hash_password
    from tests.conftest import agent_client_for
    from tests.factories import AgentFactory
    AgentFactory(email=f"{role}-role@test.example", roles_text=role,
                 password_hash=hash_password("demo-pass-1"))
    db.commit()
    client = agent_client_for(console_app, f"{role}-role@test.example")
    assert (client.get("/").status_code == 200) is allowed
