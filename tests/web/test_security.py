"""CSRF, headers, error pages, cookies: the protections every page gets."""
import pytest

from tests.conftest import csrf_token


def test_a_form_posted_without_its_csrf_token_gets_a_friendly_400(client):
    response = client.post("/account/sign-in", data={"email": "shopper@example.com",
                                                     "password": "demo-pass-1"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Reload the page and try again" in html and "<h1>" in html
    assert client.get("/account/").status_code == 302  # not signed in


def test_an_htmx_post_without_the_csrf_header_is_refused(client):
    response = client.post("/account/sign-in", headers={"HX-Request": "true"},
                           data={"email": "shopper@example.com", "password": "demo-pass-1"})
    assert response.status_code == 400


def test_an_htmx_post_with_the_csrf_header_is_accepted(client):
    token = csrf_token(client, "/account/sign-in")
    response = client.post("/account/sign-in", headers={"HX-Request": "true", "X-CSRFToken": token},
                           data={"email": "shopper@example.com", "password": "demo-pass-1"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].endswith("/account/")


def test_a_token_from_another_session_is_refused(shop_app):
    alice, mallory = shop_app.test_client(), shop_app.test_client()
    token = csrf_token(mallory, "/account/sign-in")
    csrf_token(alice, "/account/sign-in")
    response = alice.post("/account/sign-in", data={"email": "shopper@example.com",
                                                    "password": "demo-pass-1", "csrf_token": token})
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/", "/account/sign-in", "/does-not-exist"])
def test_every_page_has_strict_security_headers(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_pages_carry_no_inline_script_or_style(client):
    html = client.get("/").get_data(as_text=True)
    assert "<script>" not in html and "<style" not in html and " style=" not in html
    assert 'onclick=' not in html


def test_session_cookie_is_http_only_and_same_site(client):
    client.get("/account/sign-in")
    cookie = client.get_cookie("ml_shop")
    assert cookie.http_only and cookie.same_site == "Lax"


def test_production_cookies_are_secure(settings, session_factory):
    from dataclasses import replace

    from storefront import create_app
    # Production answers only its own host (SHOP_URL), so the request goes there.
    app = create_app(replace(settings, MARKETLINE_ENV="production",
                             SHOP_URL="https://shop.example"), session_factory=session_factory)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    response = app.test_client().get("/", base_url="https://shop.example")
    assert "Strict-Transport-Security" in response.headers


def test_unknown_page_gets_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Page not found" in html and "Go to the start page" in html


def test_api_clients_get_a_problem_document(client):
    response = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 404


def test_an_unexpected_error_gets_a_friendly_500(shop_app):
    @shop_app.get("/boom")
    def boom():
        raise RuntimeError("kaboom")

    shop_app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    response = shop_app.test_client().get("/boom")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong on our side" in html and "kaboom" not in html


def test_forbidden_pages_get_a_friendly_403(console_app, db):
    from tests.conftest import agent_client_for
    from tests.factories import AgentFactory
    from core.auth.passwords import hash_password
    AgentFactory(email="warehouse-only@test.example", roles_text="credit",
                 password_hash=hash_password("demo-pass-1"))
    db.commit()
    from flask import Blueprint
    from callcenter.access import requires_role
    bp = Blueprint("only_supervisors", __name__)

    @bp.get("/supervisors-only")
    @requires_role("supervisor")
    def only():
        return "secret"

    console_app.register_blueprint(bp)
    client = agent_client_for(console_app, "warehouse-only@test.example")
    response = client.get("/supervisors-only")
    assert response.status_code == 403
    assert "cannot open this page" in response.get_data(as_text=True)


def test_a_view_that_does_not_commit_leaves_nothing_behind(shop_app, db):
    from sqlalchemy import func, select

    from core.audit import Actor, AuditEvent, record
    from core.web.db import db_session

    @shop_app.get("/write-without-commit")
    def write():
        record(db_session, "test.uncommitted", actor=Actor.system(), channel="test")
        db_session.flush()
        return "done"

    assert shop_app.test_client().get("/write-without-commit").status_code == 200
    assert db.scalar(select(func.count()).select_from(AuditEvent)
                     .where(AuditEvent.action == "test.uncommitted")) == 0


def test_behind_a_trusted_proxy_throttling_sees_the_clients_address(settings, session_factory):
    from dataclasses import replace

    from storefront import create_app
    seen = []
    app = create_app(replace(settings, TRUSTED_PROXIES=1), session_factory=session_factory)

    @app.get("/whoami")
    def whoami():
        from flask import request
        seen.append(request.remote_addr)
        return "ok"

    app.test_client().get("/whoami", headers={"X-Forwarded-For": "203.0.113.9"})
    assert seen == ["203.0.113.9"]


def test_without_trusted_proxies_forwarded_headers_are_ignored(shop_app):
    seen = []

    @shop_app.get("/whoami")
    def whoami():
        from flask import request
        seen.append(request.remote_addr)
        return "ok"

    shop_app.test_client().get("/whoami", headers={"X-Forwarded-For": "203.0.113.9"})
    assert seen == ["127.0.0.1"]


def test_a_domain_rule_the_view_did_not_expect_gets_a_friendly_400(shop_app):
    from core.errors import DomainError

    @shop_app.get("/rule")
    def rule():
        raise DomainError("That cannot be done now.")

    response = shop_app.test_client().get("/rule")
    assert response.status_code == 400 and "That cannot be done now." in response.get_data(as_text=True)


# -- the Content-Security-Policy with Stripe, and its reports (M11, M12) -------------------------

def directive(policy: str, name: str) -> list[str]:
    for part in policy.split(";"):
        words = part.split()
        if words and words[0] == name:
            return words[1:]
    return []


def test_with_stripe_js_the_policy_allows_what_3d_secure_needs(settings):
    from dataclasses import replace

    from core.web.security import content_security_policy
    policy = content_security_policy(replace(settings, STRIPE_JS_URL="https://js.stripe.com/v3/",
                                             STRIPE_API_BASE="https://api.stripe.com"))
    assert "https://hooks.stripe.com" in directive(policy, "frame-src")
    assert {"https://js.stripe.com", "https://*.js.stripe.com"} <= set(
        directive(policy, "frame-src"))
    assert {"'self'", "https://js.stripe.com", "https://*.js.stripe.com"} == set(
        directive(policy, "script-src"))
    assert "https://api.stripe.com" in directive(policy, "connect-src")
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy


def test_with_localstripe_the_policy_allows_only_localstripe(settings):
    from core.web.security import content_security_policy
    policy = content_security_policy(settings)  # STRIPE_JS_URL on 127.0.0.1:8420
    assert directive(policy, "script-src") == ["'self'", "http://127.0.0.1:8420"]
    assert directive(policy, "frame-src") == ["'self'", "http://127.0.0.1:8420"]
    assert "stripe.com" not in policy


def test_violations_are_reported_to_our_own_endpoint(client):
    headers = client.get("/").headers
    policy = headers["Content-Security-Policy"]
    assert directive(policy, "report-uri") == ["/csp-report"]
    assert directive(policy, "report-to") == ["csp"]
    assert headers["Reporting-Endpoints"] == 'csp="/csp-report"'


def test_a_csp_report_is_logged_without_a_csrf_token(client, caplog):
    import json
    report = {"csp-report": {
        "document-uri": "http://localhost/pay/12.1900000000.c2lnbmF0dXJlLW9mLWEtcGF5LWxpbms?x=1",
        "violated-directive": "script-src-elem", "effective-directive": "script-src-elem",
        "blocked-uri": "https://evil.example/skimmer.js"}}
    with caplog.at_level("WARNING", logger="marketline.csp"):
        response = client.post("/csp-report", data=json.dumps(report),
                               content_type="application/csp-report")
    assert response.status_code == 204
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "script-src-elem" in logged and "https://evil.example/skimmer.js" in logged
    assert "c2lnbmF0dXJl" not in logged  # the pay-link token stays out of the log
    batch = [{"type": "csp-violation", "body": {
        "documentURL": "http://localhost/checkout", "effectiveDirective": "frame-src",
        "blockedURL": "https://hooks.stripe.com/3d_secure"}}]
    assert client.post("/csp-report", data=json.dumps(batch),
                       content_type="application/reports+json").status_code == 204


def test_a_csp_report_cannot_forge_a_line_in_the_log(client, caplog):
    import json
    report = {"csp-report": {"document-uri": "nowhere\nWARNING marketline.auth admin signed in",
                             "effective-directive": "script-src\r\nforged",
                             "blocked-uri": "inline"}}
    with caplog.at_level("WARNING", logger="marketline.csp"):
        client.post("/csp-report", data=json.dumps(report), content_type="application/csp-report")
    logged = [r.getMessage() for r in caplog.records if r.name == "marketline.csp"]
    assert logged and not any("\n" in line or "\r" in line for line in logged)


def test_a_csp_report_is_size_capped_and_junk_is_refused(console_client):
    assert console_client.post("/csp-report", data="x" * 9000,
                               content_type="application/csp-report").status_code == 413
    assert console_client.post("/csp-report", data="{not json",
                               content_type="application/csp-report").status_code == 400
    assert console_client.post("/csp-report", data="[" * 8000,
                               content_type="application/csp-report").status_code == 400


def test_pages_with_a_token_in_their_address_send_no_referrer(client):
    assert client.get("/pay/1.2.x").headers["Referrer-Policy"] == "no-referrer"
    assert client.get("/account/reset-password/abc").headers["Referrer-Policy"] == "no-referrer"
    assert client.get("/").headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


# -- key rotation (L4) ----------------------------------------------------------------------------

def test_a_new_secret_key_keeps_sessions_and_pay_links_signed_with_the_old_one(
        settings, session_factory, db):
    from dataclasses import replace

    from core.payments import links
    from storefront import create_app
    from tests.conftest import sign_in
    old = replace(settings, SECRET_KEY="the-old-secret-key-" + "o" * 20)
    before = create_app(old, session_factory=session_factory).test_client()
    assert sign_in(before, "shopper@example.com", "demo-pass-1").status_code == 303
    order_token = links.make_token(old.SECRET_KEY, 4242)

    rotated = replace(settings, SECRET_KEY="the-new-secret-key-" + "n" * 20,
                      SECRET_KEY_FALLBACKS=old.SECRET_KEY)
    after = create_app(rotated, session_factory=session_factory)
    client = after.test_client()
    client.set_cookie("ml_shop", before.get_cookie("ml_shop").value)
    assert client.get("/account/").status_code == 200  # still signed in
    assert links.read_token(links.secrets(rotated), order_token) == 4242

    retired = replace(settings, SECRET_KEY=rotated.SECRET_KEY)  # the old key dropped
    gone = create_app(retired, session_factory=session_factory).test_client()
    gone.set_cookie("ml_shop", before.get_cookie("ml_shop").value)
    assert gone.get("/account/").status_code == 302
    with pytest.raises(links.InvalidLink):
        links.read_token(links.secrets(retired), order_token)


def test_a_request_through_an_unconfigured_proxy_is_said_in_the_log(client, caplog):
    with caplog.at_level("WARNING"):
        client.get("/", headers={"X-Forwarded-For": "203.0.113.9"})
        client.get("/", headers={"X-Forwarded-For": "203.0.113.10"})
    said = [r for r in caplog.records if "TRUSTED_PROXIES is 0" in r.getMessage()]
    assert len(said) == 1  # once per process, not per request
