"""Customers register, sign in and out, reset a password; the rules around sessions."""
import re

from sqlalchemy import select

from core.auth.models import LoginSession
from core.customers.models import CustomerUser
from tests.conftest import csrf_token, sign_in
from tests.web.conftest import text_of


def register(client, **fields):
    data = {"full_name": "Nia Newcomer", "email": "nia@example.com", "password": "nia-pass-123"}
    data.update(fields)
    data["csrf_token"] = csrf_token(client, "/account/register")
    return client.post("/account/register", data=data)


def confirmation_path(message) -> str:
    return re.search(r"https?://[^/\s]+(/account/confirm/[\w-]+)", text_of(message)).group(1)


def test_registering_mails_a_link_that_confirms_the_address_and_signs_in(client, db, smtp_sink):
    # Registering used to sign the new customer in at once, with an address nobody had
    # confirmed (security review L3): now the e-mailed link and the password do.
    response = register(client)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/account/check-your-email")
    assert "nia@example.com" in client.get("/account/check-your-email").get_data(as_text=True)
    user = db.scalar(select(CustomerUser).where(CustomerUser.email == "nia@example.com"))
    assert user is not None and user.email_confirmed_at is None
    assert client.get("/account/").status_code == 302  # not signed in
    link = confirmation_path(smtp_sink.wait_for("nia@example.com"))
    response = client.post(link, data={"password": "nia-pass-123",
                                       "csrf_token": csrf_token(client, link)})
    assert response.status_code == 303
    page = client.get("/account/").get_data(as_text=True)
    assert "nia@example.com" in page and "C-" in page


def test_a_taken_email_gets_the_same_answer_and_its_owner_an_email(client, db, smtp_sink):
    # It used to say "already exists" at the field: anyone could test who has an account.
    response = register(client, email="Shopper@Example.com", full_name="Typed Name")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/account/check-your-email")
    message = smtp_sink.wait_for("shopper@example.com")
    assert message["Subject"] == "You already have a Marketline account"
    assert "/account/forgot-password" in text_of(message)
    assert db.scalar(select(CustomerUser).where(CustomerUser.full_name == "Typed Name")) is None


def test_sign_in_and_sign_out(client):
    assert sign_in(client, "shopper@example.com", "demo-pass-1").status_code == 303
    assert client.get("/account/").status_code == 200
    token = csrf_token(client, "/account/")
    assert client.post("/account/sign-out", data={"csrf_token": token}).status_code == 303
    assert client.get("/account/").status_code == 302


def test_wrong_password_gets_a_message_and_no_session(client):
    response = sign_in(client, "shopper@example.com", "nope-nope")
    assert response.status_code == 200
    assert "do not match" in response.get_data(as_text=True)
    assert client.get("/account/").status_code == 302


def test_the_eleventh_wrong_password_in_a_minute_gets_a_rate_limit_message(client):
    for _ in range(10):
        assert "do not match" in sign_in(client, "shopper@example.com", "wrong-1").get_data(as_text=True)
    response = sign_in(client, "shopper@example.com", "demo-pass-1")  # even the right one
    assert response.status_code == 200
    assert "Too many sign-in attempts" in response.get_data(as_text=True)
    assert client.get("/account/").status_code == 302


def test_the_session_is_renewed_at_sign_in(client, db):
    before = csrf_token(client, "/account/sign-in")
    sign_in(client, "shopper@example.com", "demo-pass-1")
    after = csrf_token(client, "/account/")
    assert before != after  # the pre-sign-in session (and its token) is gone
    sessions = db.scalars(select(LoginSession).where(LoginSession.realm == "customer")).all()
    assert len(sessions) == 1


def test_a_signed_out_cookie_cannot_be_replayed(client):
    sign_in(client, "shopper@example.com", "demo-pass-1")
    stolen = client.get_cookie("ml_shop").value
    client.post("/account/sign-out", data={"csrf_token": csrf_token(client, "/account/")})
    client.set_cookie("ml_shop", stolen)
    assert client.get("/account/").status_code == 302


def test_an_expired_session_is_signed_out(client, db):
    import datetime as dt
    sign_in(client, "shopper@example.com", "demo-pass-1")
    for login in db.scalars(select(LoginSession)):
        login.expires_at = login.expires_at - dt.timedelta(days=30)
    db.commit()
    assert client.get("/account/").status_code == 302


def test_sign_in_redirects_only_within_the_site(client):
    token = csrf_token(client, "/account/sign-in")
    response = client.post("/account/sign-in?next=//evil.example/x",
                           data={"email": "shopper@example.com", "password": "demo-pass-1",
                                 "csrf_token": token})
    assert response.headers["Location"].endswith("/account/")


def test_password_reset_by_emailed_link(client, smtp_sink):
    token = csrf_token(client, "/account/forgot-password")
    response = client.post("/account/forgot-password",
                           data={"email": "shopper@example.com", "csrf_token": token})
    assert "Check your e-mail" in response.get_data(as_text=True)
    message = smtp_sink.wait_for("shopper@example.com")
    assert message["Subject"] == "Reset your Marketline password"
    assert message.get_body(("html",)) is not None
    link = re.search(r"http://localhost(/account/reset-password/[\w-]+)", text_of(message)).group(1)
    form_token = csrf_token(client, link)
    response = client.post(link, data={"password": "new-pass-456", "confirm": "new-pass-456",
                                       "csrf_token": form_token})
    assert response.status_code == 303
    client.post("/account/sign-out", data={"csrf_token": csrf_token(client, "/account/")})
    assert sign_in(client, "shopper@example.com", "new-pass-456").status_code == 303
    # The link is spent.
    assert client.get(link).status_code == 400


def test_forgot_password_says_the_same_for_unknown_emails(client, smtp_sink):
    token = csrf_token(client, "/account/forgot-password")
    response = client.post("/account/forgot-password",
                           data={"email": "nobody@example.com", "csrf_token": token})
    assert "Check your e-mail" in response.get_data(as_text=True)
    assert smtp_sink.messages == []


def test_an_htmx_sign_in_with_a_wrong_password_gets_the_form_back_with_the_message(client):
    token = csrf_token(client, "/account/sign-in")
    response = client.post("/account/sign-in", headers={"HX-Request": "true", "X-CSRFToken": token},
                           data={"email": "shopper@example.com", "password": "wrong-pass"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith("<form") and "do not match" in html


def test_an_htmx_registration_with_errors_gets_the_form_back(client):
    token = csrf_token(client, "/account/register")
    response = client.post("/account/register", headers={"HX-Request": "true", "X-CSRFToken": token},
                           data={"full_name": "", "email": "bad", "password": "x"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith("<form")
    assert "Enter your name." in html and "Use at least 8 characters." in html


def test_sign_in_never_redirects_off_site_through_control_characters(client):
    for trick in ["/%09/evil.example/x", "/%0a/evil.example", "/%0d/evil.example", "/\\evil.example",
                  "https://evil.example/", "/%20/evil.example"]:
        client.post("/account/sign-out", data={"csrf_token": csrf_token(client, "/")})
        token = csrf_token(client, "/account/sign-in")
        response = client.post(f"/account/sign-in?next={trick}",
                               data={"email": "shopper@example.com", "password": "demo-pass-1",
                                     "csrf_token": token})
        assert response.status_code == 303, trick
        assert response.headers["Location"].endswith("/account/"), trick
