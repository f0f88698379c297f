"""The account's lifecycle through the shop: registering reveals nobody, the address is
confirmed by e-mail, weak passwords are refused at the field, a password is changed with
the current one, sessions elsewhere are ended, forgot-password answers alike."""
import re

import pytest
from sqlalchemy import func, select

from core.audit import AuditEvent
from core.auth.models import LoginSession
from core.customers.models import CustomerUser, EmailConfirmation, PasswordReset
from tests.conftest import CSRF_META, csrf_token, sign_in
from tests.web.conftest import text_of


def register(client, **fields):
    data = {"full_name": "Nia Newcomer", "email": "nia@example.com", "password": "nia-pass-123"}
    data.update(fields)
    data["csrf_token"] = csrf_token(client, "/account/register")
    return client.post("/account/register", data=data)


def link_path(message, path: str) -> str:
    return re.search(rf"https?://[^/\s]+({path}/[\w-]+)", text_of(message)).group(1)


def html(response) -> str:
    return response.get_data(as_text=True)


# -- registering --------------------------------------------------------------------------

def test_registering_a_new_and_a_taken_address_gets_the_same_answer(shop_app, smtp_sink):
    answers = []
    for email in ("fresh.face@example.com", "shopper@example.com"):
        client = shop_app.test_client()
        response = register(client, email=email)
        page = client.get(response.headers["Location"])
        answers.append((response.status_code, response.headers["Location"],
                        CSRF_META.sub("", html(page).replace(email, "EMAIL"))))
    assert answers[0] == answers[1]
    # Each address got one e-mail: the new one a confirmation link, the taken one a notice.
    new, taken = (smtp_sink.wait_for("fresh.face@example.com"),
                  smtp_sink.wait_for("shopper@example.com"))
    assert new["Subject"] == "Confirm your e-mail address for Marketline"
    assert taken["Subject"] == "You already have a Marketline account"


def test_an_htmx_registration_is_redirected_to_check_your_email(client, smtp_sink):
    token = csrf_token(client, "/account/register")
    response = client.post("/account/register", headers={"HX-Request": "true", "X-CSRFToken": token},
                           data={"full_name": "Hana Htmx", "email": "hana@example.com",
                                 "password": "hana-pass-123"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].endswith("/account/check-your-email")


def test_the_emailed_links_use_the_shop_url_not_the_requests_host(shop_app, settings,
                                                                   smtp_sink):
    client = shop_app.test_client()
    register(client, email="hostile.host@example.com")
    register(shop_app.test_client(), email="shopper@example.com")
    for to in ("hostile.host@example.com", "shopper@example.com"):
        text = text_of(smtp_sink.wait_for(to))
        links = re.findall(r"https?://\S+", text)
        assert links and all(link.startswith(settings.SHOP_URL + "/account/") for link in links)


def test_an_unconfirmed_account_cannot_sign_in_and_is_sent_a_link(client, db, smtp_sink):
    register(client)
    smtp_sink.wait_for("nia@example.com")
    for row in db.scalars(select(EmailConfirmation)):  # the first link is old by now
        row.created_at = row.created_at.replace(year=row.created_at.year - 1)
    db.commit()
    smtp_sink.messages.clear()
    response = sign_in(client, "nia@example.com", "nia-pass-123")
    assert response.status_code == 200
    assert "Confirm your e-mail address first" in html(response)
    assert client.get("/account/").status_code == 302
    message = smtp_sink.wait_for("nia@example.com")
    assert message["Subject"] == "Confirm your e-mail address for Marketline"
    # A wrong password hears nothing about confirmation: no account is revealed.
    assert "do not match" in html(sign_in(client, "nia@example.com", "wrong-pass-1"))


def test_a_confirmation_link_needs_the_password_chosen(client, smtp_sink):
    register(client)
    link = link_path(smtp_sink.wait_for("nia@example.com"), "/account/confirm")
    page = client.get(link)
    assert page.status_code == 200 and "nia@example.com" in html(page)
    assert 'for="password"' in html(page)
    response = client.post(link, data={"password": "guessing-123",
                                       "csrf_token": csrf_token(client, link)})
    assert response.status_code == 200
    assert "not the password you chose" in html(response) and 'aria-invalid="true"' in html(response)
    assert client.get("/account/").status_code == 302
    response = client.post(link, data={"password": "nia-pass-123",
                                       "csrf_token": csrf_token(client, link)})
    assert response.status_code == 303
    assert client.get("/account/").status_code == 200
    assert client.get(link).status_code == 400  # spent


def test_a_made_up_confirmation_link_gets_a_clear_page(client):
    response = client.get("/account/confirm/not-a-real-token")
    assert response.status_code == 400 and "This link cannot be used" in html(response)


# -- password rules at the field ----------------------------------------------------------

def test_a_common_password_is_refused_at_the_field_and_keeps_what_was_typed(client):
    response = register(client, password="iloveyou1", full_name="Typed Name")
    page = html(response)
    assert response.status_code == 200
    assert 'id="password-error"' in page and "most common passwords" in page
    assert 'value="Typed Name"' in page


def test_a_password_made_of_the_email_is_refused_at_the_field(client):
    page = html(register(client, email="robin.rule@example.com", password="robin.rule2025"))
    assert "not build your password from your e-mail address" in page


def test_a_reset_refuses_a_common_password(client, smtp_sink):
    token = csrf_token(client, "/account/forgot-password")
    client.post("/account/forgot-password", data={"email": "shopper@example.com",
                                                  "csrf_token": token})
    link = link_path(smtp_sink.wait_for("shopper@example.com"), "/account/reset-password")
    response = client.post(link, data={"password": "password123", "confirm": "password123",
                                       "csrf_token": csrf_token(client, link)})
    assert response.status_code == 200 and "most common passwords" in html(response)
    assert client.get(link).status_code == 200  # the link is not spent


# -- change password, sign out everywhere -----------------------------------------------------

@pytest.fixture
def elsewhere(shop_app):
    """The demo shopper signed in on another device."""
    other = shop_app.test_client()
    assert sign_in(other, "shopper@example.com", "demo-pass-1").status_code == 303
    assert other.get("/account/").status_code == 200
    return other


def change(client, **fields):
    data = {"current_password": "demo-pass-1", "password": "fresh-pass-789",
            "confirm": "fresh-pass-789", **fields}
    data["csrf_token"] = csrf_token(client, "/account/password")
    return client.post("/account/password", data=data)


def test_the_account_page_offers_change_password_and_sign_out_everywhere(customer_client):
    page = html(customer_client.get("/account/"))
    assert 'href="/account/password"' in page
    assert 'action="/account/sign-out-everywhere"' in page and "Sign out everywhere else" in page
    form = html(customer_client.get("/account/password"))
    for label in ("Current password", "New password", "Repeat new password"):
        assert f">{label}</label>" in form


def test_changing_the_password_needs_the_current_one(customer_client):
    response = change(customer_client, current_password="not-my-password")
    assert response.status_code == 200
    assert 'id="current_password-error"' in html(response) and "not your current password" in html(response)


def test_changing_the_password_ends_the_other_sessions_and_keeps_this_one(customer_client, elsewhere,
                                                                         db):
    response = change(customer_client)
    assert response.status_code == 303
    assert customer_client.get("/account/").status_code == 200
    assert elsewhere.get("/account/").status_code == 302
    assert db.scalar(select(func.count()).select_from(AuditEvent)
                     .where(AuditEvent.action == "customer.password_changed")) == 1
    customer_client.post("/account/sign-out", data={"csrf_token": csrf_token(customer_client, "/")})
    assert sign_in(customer_client, "shopper@example.com", "fresh-pass-789").status_code == 303


def test_a_new_password_is_checked_like_at_registration(customer_client):
    response = change(customer_client, password="sam-shopper-1", confirm="sam-shopper-1")
    assert "not build your password from your e-mail address" in html(response)


def test_signing_out_everywhere_ends_the_other_sessions_and_keeps_this_one(customer_client,
                                                                           elsewhere, db):
    token = csrf_token(customer_client, "/account/")
    response = customer_client.post("/account/sign-out-everywhere", data={"csrf_token": token})
    assert response.status_code == 303
    assert customer_client.get("/account/").status_code == 200
    assert elsewhere.get("/account/").status_code == 302
    user = db.scalar(select(CustomerUser).where(CustomerUser.email == "shopper@example.com"))
    assert db.scalar(select(func.count()).select_from(LoginSession).where(
        LoginSession.realm == "customer", LoginSession.user_id == user.id)) == 1
    assert db.scalar(select(func.count()).select_from(AuditEvent)
                     .where(AuditEvent.action == "customer.signed_out_everywhere")) == 1


def test_the_security_actions_need_the_csrf_token_and_a_signed_in_customer(customer_client,
                                                                          elsewhere, client):
    assert customer_client.post("/account/sign-out-everywhere").status_code == 400
    assert customer_client.post("/account/password", data={
        "current_password": "demo-pass-1", "password": "fresh-pass-789",
        "confirm": "fresh-pass-789"}).status_code == 400
    assert elsewhere.get("/account/").status_code == 200  # nothing happened
    anonymous = client.application.test_client()
    assert anonymous.get("/account/password").status_code == 302


# -- forgot password ----------------------------------------------------------------------

def test_forgot_password_answers_alike_and_queues_only_the_address(shop_app, db, monkeypatch):
    queued = []
    monkeypatch.setattr("core.notifications.send_password_reset.delay",
                        lambda *args: queued.append(args))
    answers = []
    for email in ("nobody@example.com", "shopper@example.com"):
        client = shop_app.test_client()
        token = csrf_token(client, "/account/forgot-password")
        response = client.post("/account/forgot-password",
                               data={"email": email, "csrf_token": token})
        # The page's CSRF token is signed with the second it was made: equal pages may
        # differ there when a second passes between the two requests.
        page = CSRF_META.sub('<meta name="csrf-token" content="TOKEN">', html(response))
        answers.append((response.status_code, page.replace(email, "EMAIL")))
    assert answers[0] == answers[1]
    # The same work queued whether or not there is an account: the address, no token.
    assert queued == [("nobody@example.com",), ("shopper@example.com",)]
    assert db.scalar(select(func.count()).select_from(PasswordReset)) == 0


def test_the_reset_link_is_made_where_it_is_mailed_and_never_queued(shop_app, db, smtp_sink,
                                                                      monkeypatch):
    from core.notifications import send_password_reset
    handed = []
    real = send_password_reset.delay
    monkeypatch.setattr("core.notifications.send_password_reset.delay",
                        lambda *args: (handed.append(args), real(*args)))
    client = shop_app.test_client()
    client.post("/account/forgot-password", data={
        "email": "shopper@example.com", "csrf_token": csrf_token(client, "/account/forgot-password")})
    body = text_of(smtp_sink.wait_for("shopper@example.com"))
    link = re.search(r"http://localhost/account/reset-password/(\S+)", body).group(1)
    assert not any(link in str(args) for args in handed)
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "customer.password_reset_requested")) == 1
