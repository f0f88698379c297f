"""Console single sign-on through a real OpenID Connect provider (node oidc-provider).

The Flask test client plays our side; `requests` plays the agent's browser on the
provider's development login and consent pages, and hands the provider's redirect back
to the test client, as a browser would follow it.
"""
from __future__ import annotations

import dataclasses
import re
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from sqlalchemy import select

from core.agents.models import Agent
from core.audit import AuditEvent
from tests.conftest import free_port

FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')
HIDDEN_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
CANCEL_LINK = re.compile(r'<a href="([^"]+)">\[ Cancel \]</a>')


class ProviderBrowser:
    """The agent's browser while it is on the provider's pages."""

    def __init__(self, issuer: str):
        self.issuer = issuer
        self.http = requests.Session()

    def follow(self, response: requests.Response) -> requests.Response | str:
        """Follow redirects within the provider; return the first URL that leaves it."""
        while response.is_redirect:
            target = urljoin(response.url, response.headers["Location"])
            if not target.startswith(self.issuer + "/"):
                return target
            response = self.http.get(target, allow_redirects=False)
        response.raise_for_status()
        return response

    def open(self, url: str) -> requests.Response | str:
        return self.follow(self.http.get(url, allow_redirects=False))

    def submit(self, page: requests.Response, **fields: str) -> requests.Response | str:
        action = urljoin(page.url, FORM_ACTION.search(page.text).group(1))
        data = dict(HIDDEN_INPUT.findall(page.text)) | fields
        return self.follow(self.http.post(action, data=data, allow_redirects=False))

    def sign_in(self, authorization_url: str, login: str) -> str:
        """Log in as `login` with any password and consent; return our callback URL."""
        login_page = self.open(authorization_url)
        assert 'name="login"' in login_page.text, login_page.text
        consent_page = self.submit(login_page, login=login, password="any password")
        assert 'name="prompt" value="consent"' in consent_page.text, consent_page.text
        callback = self.submit(consent_page)
        assert isinstance(callback, str), "the provider did not send the agent back"
        return callback


def local_path(url: str) -> str:
    """The path and query of a URL, for the Flask test client."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


@pytest.fixture
def sso_settings(settings, oidc_provider):
    # The console alone, as the test client serves it: its redirect URI is CONSOLE_URL's.
    return dataclasses.replace(settings, OIDC_DISCOVERY_URL=oidc_provider.discovery_url,
                               OIDC_CLIENT_ID=oidc_provider.client_id,
                               OIDC_CLIENT_SECRET=oidc_provider.client_secret,
                               CONSOLE_URL="http://localhost")


@pytest.fixture
def sso_client(sso_settings, session_factory):
    from callcenter import create_app
    app = create_app(sso_settings, session_factory=session_factory)
    app.config.update(TESTING=True)
    return app.test_client()


@pytest.fixture
def provider_browser(oidc_provider):
    return ProviderBrowser(oidc_provider.issuer)


def start_single_sign_on(client) -> str:
    response = client.get("/sso/login")
    assert response.status_code == 302
    return response.headers["Location"]


def sign_in_through_provider(client, browser, login: str):
    """The whole round trip; returns our answer to the provider's redirect."""
    callback = browser.sign_in(start_single_sign_on(client), login)
    assert callback.startswith("http://localhost/sso/callback?")
    return client.get(local_path(callback))


def sso_events(db, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)
                           .order_by(AuditEvent.id)))


# --- not configured ---------------------------------------------------------------------

def test_sign_in_page_offers_no_single_sign_on_when_it_is_not_configured(console_client):
    page = console_client.get("/sign-in").get_data(as_text=True)
    assert "Agent sign in" in page
    assert "single sign-on" not in page


@pytest.mark.parametrize("path", ["/sso/login", "/sso/callback?code=x&state=y"])
def test_single_sign_on_routes_are_not_found_when_it_is_not_configured(console_client, path):
    assert console_client.get(path).status_code == 404


# --- configured, against the real provider ----------------------------------------------

def test_sign_in_page_links_to_single_sign_on_below_the_password_form(sso_client):
    page = sso_client.get("/sign-in").get_data(as_text=True)
    link = '<a class="button secondary" href="/sso/login">Sign in with single sign-on</a>'
    assert link in page
    assert page.index("</form>") < page.index(link)


def test_sign_in_redirects_to_the_provider_with_pkce(sso_client, oidc_provider):
    location = start_single_sign_on(sso_client)
    assert location.startswith(f"{oidc_provider.issuer}/auth?")
    assert "code_challenge_method=S256" in location
    assert "scope=openid+email+profile" in location
    assert "redirect_uri=http%3A%2F%2Flocalhost%2Fsso%2Fcallback" in location


def test_an_agent_signs_in_through_single_sign_on(sso_client, provider_browser, db):
    response = sign_in_through_provider(sso_client, provider_browser, "agent@marketline.example")

    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    home = sso_client.get("/")
    assert home.status_code == 200
    assert "Alex Agent" in home.get_data(as_text=True)
    agent = db.scalar(select(Agent).where(Agent.email == "agent@marketline.example"))
    [event] = sso_events(db, "agent.signed_in_sso")
    assert (event.actor_kind, event.actor_id, event.channel) == ("agent", agent.id, "console")


def test_the_providers_e_mail_matches_the_agent_whatever_its_case(sso_client, provider_browser):
    response = sign_in_through_provider(sso_client, provider_browser, "Agent@Marketline.EXAMPLE")

    assert response.status_code == 303
    assert "Alex Agent" in sso_client.get("/").get_data(as_text=True)


def test_an_unknown_e_mail_is_refused_and_no_agent_is_created(sso_client, provider_browser, db):
    agents_before = db.scalar(select(Agent.id).order_by(Agent.id.desc()).limit(1))

    response = sign_in_through_provider(sso_client, provider_browser, "nobody@marketline.example")

    assert response.status_code == 303
    assert response.headers["Location"] == "/sign-in"
    page = sso_client.get("/sign-in").get_data(as_text=True)
    assert "No active console account uses the e-mail address nobody@marketline.example" in page
    assert sso_client.get("/").status_code in (302, 303)  # still signed out
    assert db.scalar(select(Agent.id).order_by(Agent.id.desc()).limit(1)) == agents_before
    assert db.scalar(select(Agent).where(Agent.email == "nobody@marketline.example")) is None
    [refusal] = sso_events(db, "agent.sso_refused")
    assert refusal.data == {"email": "nobody@marketline.example", "reason": "unknown_email"}
    assert sso_events(db, "agent.signed_in_sso") == []


def test_an_inactive_agent_is_refused(sso_client, provider_browser, db):
    agent = db.scalar(select(Agent).where(Agent.email == "agent@marketline.example"))
    agent.active = False
    db.commit()

    response = sign_in_through_provider(sso_client, provider_browser, "agent@marketline.example")

    assert response.headers["Location"] == "/sign-in"
    page = sso_client.get("/sign-in").get_data(as_text=True)
    assert "No active console account uses the e-mail address agent@marketline.example" in page
    assert sso_client.get("/").status_code in (302, 303)


def test_cancelling_at_the_provider_comes_back_to_the_sign_in_page(sso_client, provider_browser):
    login_page = provider_browser.open(start_single_sign_on(sso_client))
    cancel = urljoin(login_page.url, CANCEL_LINK.search(login_page.text).group(1))
    callback = provider_browser.open(cancel)
    assert "error=access_denied" in callback

    response = sso_client.get(local_path(callback))

    assert response.status_code == 303
    assert response.headers["Location"] == "/sign-in"
    page = sso_client.get("/sign-in").get_data(as_text=True)
    assert "Single sign-on was cancelled at the provider" in page


def test_a_callback_with_a_forged_state_is_refused_without_an_error_page(sso_client):
    start_single_sign_on(sso_client)

    response = sso_client.get("/sso/callback?code=forged&state=forged")

    assert response.status_code == 303
    assert response.headers["Location"] == "/sign-in"
    page = sso_client.get("/sign-in").get_data(as_text=True)
    assert "Single sign-on did not complete. Please try again." in page


def test_a_code_cannot_be_replayed_in_another_browser(sso_client, provider_browser, sso_settings,
                                                      session_factory):
    from callcenter import create_app
    callback = provider_browser.sign_in(start_single_sign_on(sso_client),
                                        "agent@marketline.example")
    other_browser = create_app(sso_settings, session_factory=session_factory).test_client()

    response = other_browser.get(local_path(callback))

    assert response.headers["Location"] == "/sign-in"
    assert other_browser.get("/").status_code in (302, 303)


def test_an_unreachable_provider_comes_back_to_the_sign_in_page(sso_settings, session_factory):
    from callcenter import create_app
    nowhere = f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration"
    app = create_app(dataclasses.replace(sso_settings, OIDC_DISCOVERY_URL=nowhere),
                     session_factory=session_factory)
    client = app.test_client()

    response = client.get("/sso/login")

    assert response.status_code == 303
    assert response.headers["Location"] == "/sign-in"
    assert "Single sign-on is unavailable just now" in client.get("/sign-in").get_data(as_text=True)


# --- the agent is the provider's (issuer, subject), not its e-mail (M7) ------------------

def bound_identity(db, email: str) -> tuple[str | None, str | None]:
    db.expire_all()
    agent = db.scalar(select(Agent).where(Agent.email == email))
    return agent.sso_issuer, agent.sso_subject


def test_the_first_single_sign_on_binds_the_agent_to_the_providers_subject(
        sso_client, provider_browser, oidc_provider, db):
    assert bound_identity(db, "agent@marketline.example") == (None, None)

    sign_in_through_provider(sso_client, provider_browser, "agent@marketline.example")

    assert bound_identity(db, "agent@marketline.example") == (oidc_provider.issuer,
                                                              "agent@marketline.example")
    [bound] = sso_events(db, "agent.sso_bound")
    assert bound.data == {"issuer": oidc_provider.issuer, "subject": "agent@marketline.example",
                          "by": "email"}


def test_the_same_e_mail_with_another_subject_is_refused_once_bound(
        sso_client, provider_browser, sso_settings, session_factory, oidc_provider, db):
    from callcenter import create_app
    sign_in_through_provider(sso_client, provider_browser, "agent@marketline.example")
    # The provider now answers the same, verified, e-mail for someone else (a renamed or
    # recycled account, another tenant): login "EMAIL#..." in tests/oidc/provider.mjs.
    intruder = create_app(sso_settings, session_factory=session_factory).test_client()

    response = sign_in_through_provider(intruder, ProviderBrowser(oidc_provider.issuer),
                                        "agent@marketline.example#someone-else")

    assert response.status_code == 303 and response.headers["Location"] == "/sign-in"
    page = intruder.get("/sign-in").get_data(as_text=True)
    assert "is linked to another single sign-on identity" in page
    assert intruder.get("/").status_code in (302, 303)
    [refusal] = sso_events(db, "agent.sso_refused")
    assert refusal.data == {"email": "agent@marketline.example", "reason": "other_subject",
                            "issuer": oidc_provider.issuer,
                            "sso_subject": "agent@marketline.example#someone-else"}
    assert bound_identity(db, "agent@marketline.example")[1] == "agent@marketline.example"


def test_a_bound_agent_signs_in_by_subject_even_when_the_e_mail_changed(
        sso_client, provider_browser, oidc_provider, db):
    agent = db.scalar(select(Agent).where(Agent.email == "agent@marketline.example"))
    # Bound to the provider's subject "alex.renamed@elsewhere.example", whose e-mail (the
    # same, at this provider) is not the agent's any more.
    agent.sso_issuer, agent.sso_subject = oidc_provider.issuer, "alex.renamed@elsewhere.example"
    db.commit()

    response = sign_in_through_provider(sso_client, provider_browser,
                                        "alex.renamed@elsewhere.example")

    assert response.headers["Location"] == "/"
    assert "Alex Agent" in sso_client.get("/").get_data(as_text=True)


def test_an_administrator_binds_an_agent_ahead_and_its_e_mail_alone_no_longer_signs_in(
        sso_client, sso_settings, session_factory, provider_browser, oidc_provider, db):
    from callcenter import create_app
    runner = create_app(sso_settings, session_factory=session_factory).test_cli_runner()
    result = runner.invoke(args=["agents", "bind-sso", "--email", "agent@marketline.example",
                                 "--issuer", oidc_provider.issuer, "--subject", "alex-42"])
    assert result.exit_code == 0, result.output

    refused = sign_in_through_provider(sso_client, provider_browser, "agent@marketline.example")
    assert refused.headers["Location"] == "/sign-in"

    result = runner.invoke(args=["agents", "unbind-sso", "--email", "agent@marketline.example"])
    assert result.exit_code == 0, result.output
    assert bound_identity(db, "agent@marketline.example") == (None, None)
    assert [e.data["by"] for e in sso_events(db, "agent.sso_bound")] == ["admin"]
    assert len(sso_events(db, "agent.sso_unbound")) == 1


def test_a_callback_without_an_id_token_is_refused(sso_client, provider_browser, db,
                                                    monkeypatch):
    from authlib.integrations.flask_client.apps import FlaskOAuth2App
    fetch = FlaskOAuth2App.fetch_access_token

    def without_id_token(self, *args, **kwargs):
        token = fetch(self, *args, **kwargs)
        token.pop("id_token", None)  # a plain OAuth 2 answer: nobody's subject to trust
        return token

    monkeypatch.setattr(FlaskOAuth2App, "fetch_access_token", without_id_token)

    response = sign_in_through_provider(sso_client, provider_browser, "agent@marketline.example")

    assert response.headers["Location"] == "/sign-in"
    assert "Single sign-on did not complete" in sso_client.get("/sign-in").get_data(as_text=True)
    assert sso_client.get("/").status_code in (302, 303)
    assert [e.data["reason"] for e in sso_events(db, "agent.sso_refused")] == ["no_id_token"]


# --- single sign-on and two-step sign-in ---------------------------------------------------

def test_a_privileged_agent_without_provider_mfa_sets_up_two_step_sign_in(
        sso_settings, session_factory, provider_browser):
    from callcenter import create_app
    strict = dataclasses.replace(sso_settings, CONSOLE_REQUIRE_MFA="on")
    client = create_app(strict, session_factory=session_factory).test_client()

    response = sign_in_through_provider(client, provider_browser, "supervisor@marketline.example")

    assert response.headers["Location"] == "/sign-in/set-up"  # the provider sent no amr "mfa"
    assert client.get("/").status_code in (302, 303)


def test_an_enrolled_agent_gives_the_code_after_single_sign_on(
        sso_client, provider_browser, settings, db):
    import pyotp

    from core.agents import mfa
    from core.audit import Actor
    agent = db.scalar(select(Agent).where(Agent.email == "agent@marketline.example"))
    secret = pyotp.random_base32()
    mfa.enrol(db, agent, secret=secret, code=pyotp.TOTP(secret).now(),
              secret_key=settings.SECRET_KEY, actor=Actor.system("test"))
    db.commit()

    response = sign_in_through_provider(sso_client, provider_browser, "agent@marketline.example")

    assert response.headers["Location"] == "/sign-in/code"
    assert sso_client.get("/").status_code in (302, 303)
