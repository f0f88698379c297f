"""The authorisation matrix: every console route, for anonymous visitors, a customer's
session and each role. No one gets a 2xx they are not entitled to."""
import re

import pytest
from werkzeug.routing import Rule

from core.agents.models import ROLES
from core.auth.passwords import hash_password
from tests.conftest import agent_client_for, sign_in
from tests.factories import AgentFactory

PUBLIC = {"console.sign_in", "static", "core.static", "media", "sso.login", "sso.callback",
          "two_step.code", "two_step.set_up",  # the second step of a held sign-in
          "csp_report"}  # browsers report CSP violations without a session
SAMPLE = {"number": "SO-999999", "customer": "C-999999", "token": "x", "filename": "x.svg"}


def routes(app):
    """(endpoint, method, concrete path, roles the view requires) for every console route."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        path = _concrete(rule)
        view = app.view_functions[rule.endpoint]
        roles = getattr(view, "required_roles", None)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, path, roles


def _concrete(rule: Rule) -> str:
    def fill(match):
        name = match.group(2)
        return SAMPLE.get(name, "999999")
    return re.sub(r"<(?:(\w+):)?(\w+)>", fill, rule.rule)


def call(client, method, path):
    if method == "GET":
        return client.get(path)
    # A real token for this client's session: CSRF is not what stops these requests.
    from tests.conftest import csrf_token
    try:
        token = csrf_token(client, "/sign-in")
    except AssertionError:
        token = ""
    return client.open(path, method=method, data={"csrf_token": token},
                       headers={"X-CSRFToken": token})


def test_every_console_view_declares_the_roles_it_needs(console_app):
    found = list(routes(console_app))
    undeclared = {e for e, _, _, roles in found if roles is None and e != "console.sign_out"}
    assert undeclared == set()
    assert len({e for e, _, _, _ in found}) >= 20  # the matrix covers the whole console


def test_anonymous_visitors_get_no_2xx_anywhere(console_app):
    client = console_app.test_client()
    for endpoint, method, path, _ in routes(console_app):
        response = call(client, method, path)
        assert not 200 <= response.status_code < 300, (endpoint, method, path, response.status_code)


def test_a_customers_session_gets_no_2xx_anywhere(shop_app, console_app):
    shop = shop_app.test_client()
    assert sign_in(shop, "shopper@example.com", "demo-pass-1").status_code == 303
    console = console_app.test_client()
    console.set_cookie("ml_console", shop.get_cookie("ml_shop").value)
    for endpoint, method, path, _ in routes(console_app):
        if endpoint == "console.sign_out":
            continue
        response = call(console, method, path)
        assert not 200 <= response.status_code < 300, (endpoint, method, path, response.status_code)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_refused_exactly_where_it_does_not_hold_the_role(console_app, db, role):
    AgentFactory(email=f"matrix-{role}@test.example", roles_text=role,
                 password_hash=hash_password("demo-pass-1"))
    db.commit()
    client = agent_client_for(console_app, f"matrix-{role}@test.example")
    for endpoint, method, path, roles in routes(console_app):
        if roles is None:
            continue
        response = call(client, method, path)
        entitled = role == "admin" or role in roles
        if entitled:
            assert response.status_code != 403, (role, endpoint, method, path)
        else:
            assert response.status_code == 403, (role, endpoint, method, path, response.status_code)
