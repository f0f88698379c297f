"""Two-step sign-in in the console: enrolling an authenticator app (pyotp plays the phone),
the code after the password, replay and throttling, recovery codes, the role requirement
and the administrator's reset."""
import dataclasses
import re
import time

import pyotp
import pytest
from sqlalchemy import select

from core.agents import mfa
from core.agents.models import Agent, RecoveryCode
from core.audit import Actor, AuditEvent
from tests.conftest import csrf_token, sign_in

CODE_PAGE = "/sign-in/code"


def agent_named(db, email: str) -> Agent:
    db.expire_all()
    return db.scalar(select(Agent).where(Agent.email == email))


def events(db, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)
                           .order_by(AuditEvent.id)))


def enrolled(db, settings, email: str = "agent@marketline.example") -> tuple[str, list[str]]:
    """Enrol `email` with a fresh authenticator; return its secret and recovery codes."""
    secret = pyotp.random_base32()
    done = mfa.enrol(db, agent_named(db, email), secret=secret, code=pyotp.TOTP(secret).now(),
                     secret_key=settings.SECRET_KEY, actor=Actor.system("test"))
    db.commit()
    return secret, done.recovery_codes


def next_code(secret: str) -> str:
    """The code of the next time step: later than any code already accepted, and still
    within the one step of clock drift the console allows."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def enter_code(client, code: str):
    return client.post(CODE_PAGE, data={"code": code, "csrf_token": csrf_token(client, CODE_PAGE)})


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def page_text(response) -> str:
    return response.get_data(as_text=True)


# --- enrolment from the account page -----------------------------------------------------

def test_an_agent_enrols_an_authenticator_from_the_account_page(agent_client, db, settings):
    account = page_text(agent_client.get("/account"))
    assert "Two-step sign-in" in account and "Off." in account
    page = page_text(agent_client.get("/account/two-step"))
    secret = re.search(r'<code id="totp-key">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    assert f"otpauth://totp/Marketline%20Console:agent%40marketline.example?secret={secret}" in page
    assert "<svg" in page  # the QR code, drawn on the server
    assert page_text(agent_client.get("/account/two-step")).count(secret[:4]) >= 1  # same key

    response = agent_client.post("/account/two-step", data={
        "code": pyotp.TOTP(secret).now(), "csrf_token": csrf_token(agent_client, "/account")})

    assert response.status_code == 303
    assert response.headers["Location"] == "/account/recovery-codes"
    codes_page = agent_client.get("/account/recovery-codes")
    codes = re.findall(r"<code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code>",
                       page_text(codes_page))
    assert len(codes) == 10
    assert codes_page.headers["Cache-Control"] == "no-store"
    assert agent_client.get("/account/recovery-codes").status_code == 303  # shown only once
    agent = agent_named(db, "agent@marketline.example")
    assert agent.totp_enabled and secret not in agent.totp_secret  # stored encrypted
    assert mfa.unseal(agent.totp_secret, "another-secret-key") is None
    assert [e.subject_id for e in events(db, "agent.mfa_enrolled")] == [str(agent.id)]
    hashes = db.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.agent_id == agent.id))
    assert not {c.replace("-", "") for c in codes} & set(hashes)  # only hashes are kept


def test_a_wrong_first_code_enrols_nothing_and_says_so_at_the_field(agent_client, db):
    agent_client.get("/account/two-step")

    response = agent_client.post("/account/two-step", data={
        "code": "000000", "csrf_token": csrf_token(agent_client, "/account")})

    assert response.status_code == 200
    assert "That code does not match" in page_text(response)
    assert 'aria-invalid="true"' in page_text(response)
    assert not agent_named(db, "agent@marketline.example").totp_enabled


def test_moving_to_a_new_phone_needs_a_code_of_the_current_one(agent_client, db, settings):
    old_secret, _ = enrolled(db, settings)
    page = page_text(agent_client.get("/account/two-step"))
    new_secret = re.search(r'<code id="totp-key">([A-Z2-7 ]+)</code>', page).group(1)
    new_secret = new_secret.replace(" ", "")
    assert "Code from your current authenticator app" in page

    refused = agent_client.post("/account/two-step", data={
        "code": pyotp.TOTP(new_secret).now(), "current_code": "",
        "csrf_token": csrf_token(agent_client, "/account")})
    assert "Enter a code from your current authenticator app" in page_text(refused)

    response = agent_client.post("/account/two-step", data={
        "code": pyotp.TOTP(new_secret).now(), "current_code": next_code(old_secret),
        "csrf_token": csrf_token(agent_client, "/account")})
    assert response.status_code == 303
    agent = agent_named(db, "agent@marketline.example")
    assert mfa.unseal(agent.totp_secret, settings.SECRET_KEY) == new_secret
    assert len(events(db, "agent.mfa_replaced")) == 1


# --- the second step ---------------------------------------------------------------------

def test_an_enrolled_agent_signs_in_with_password_then_code(console_client, db, settings):
    secret, _ = enrolled(db, settings)

    response = sign_in(console_client, "agent@marketline.example", "demo-pass-1", path="/sign-in")

    assert response.status_code == 303 and response.headers["Location"] == CODE_PAGE
    assert not signed_in(console_client)  # nothing but the code page until the code is right
    assert console_client.get("/account").status_code == 302
    page = page_text(console_client.get(CODE_PAGE))
    assert "Two-step sign-in" in page and 'autocomplete="one-time-code"' in page

    response = enter_code(console_client, next_code(secret))

    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert signed_in(console_client)


def test_the_second_step_answers_htmx_with_a_full_page_redirect(console_client, db, settings):
    secret, _ = enrolled(db, settings)
    sign_in(console_client, "agent@marketline.example", "demo-pass-1", path="/sign-in")

    response = console_client.post(CODE_PAGE, headers={"HX-Request": "true"}, data={
        "code": next_code(secret), "csrf_token": csrf_token(console_client, CODE_PAGE)})

    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/"


def test_a_wrong_code_is_refused_at_the_field_and_audited(console_client, db, settings):
    enrolled(db, settings)
    sign_in(console_client, "agent@marketline.example", "demo-pass-1", path="/sign-in")

    response = enter_code(console_client, "123456")

    assert response.status_code == 200
    assert "That code is not right" in page_text(response)
    assert not signed_in(console_client)
    [failure] = events(db, "agent.mfa_failed")
    assert failure.data == {"reason": "wrong_code", "method": "totp"}
    assert failure.actor_label == "agent@marketline.example"


def test_a_code_is_never_accepted_twice(console_client, console_app, db, settings):
    secret, _ = enrolled(db, settings)
    code = next_code(secret)
    sign_in(console_client, "agent@marketline.example", "demo-pass-1", path="/sign-in")
    assert enter_code(console_client, code).status_code == 303

    other = console_app.test_client()  # someone who saw the code over the agent's shoulder
    sign_in(other, "agent@marketline.example", "demo-pass-1", path="/sign-in")
    response = enter_code(other, code)

    assert "That code is not right" in page_text(response)
    assert not signed_in(other)


def test_wrong_codes_are_throttled_after_five_in_a_row(console_client, db, settings):
    secret, _ = enrolled(db, settings)
    sign_in(console_client, "agent@marketline.example", "demo-pass-1", path="/sign-in")
    for guess in ("111111", "222222", "333333", "444444", "555555"):
        assert "That code is not right" in page_text(enter_code(console_client, guess))

    response = enter_code(console_client, next_code(secret))

    assert "Too many wrong codes" in page_text(response)
    assert not signed_in(console_client)
    assert events(db, "agent.mfa_failed")[-1].data == {"reason": "throttled"}


def test_a_recovery_code_signs_in_once(console_client, console_app, db, settings):
    _, codes = enrolled(db, settings)
    sign_in(console_client, "agent@marketline.example", "demo-pass-1", path="/sign-in")

    response = enter_code(console_client, codes[0].upper().replace("-", " "))

    assert response.status_code == 303
    home = console_client.get("/")
    assert home.status_code == 200 and "9 are left" in page_text(home)
    [used] = events(db, "agent.mfa_recovery_code_used")
    assert used.data == {"left": 9}
    other = console_app.test_client()
    sign_in(other, "agent@marketline.example", "demo-pass-1", path="/sign-in")
    assert "That code is not right" in page_text(enter_code(other, codes[0]))


def test_new_recovery_codes_need_a_code_and_replace_the_old_ones(agent_client, db, settings):
    secret, old_codes = enrolled(db, settings)
    refused = agent_client.post("/account/recovery-codes", data={
        "code": "000000", "csrf_token": csrf_token(agent_client, "/account")})
    assert "That code is not right" in page_text(refused)

    response = agent_client.post("/account/recovery-codes", data={
        "code": next_code(secret), "csrf_token": csrf_token(agent_client, "/account")})

    assert response.status_code == 303
    new_codes = re.findall(r"<code>([a-z2-9-]{19})</code>",
                           page_text(agent_client.get("/account/recovery-codes")))
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    agent = agent_named(db, "agent@marketline.example")
    assert mfa.recovery_codes_left(db, agent) == 10


def test_a_held_sign_in_expires_after_ten_minutes(console_client, db, settings, monkeypatch):
    secret, _ = enrolled(db, settings)
    sign_in(console_client, "agent@marketline.example", "demo-pass-1", path="/sign-in")
    later = time.time() + 11 * 60
    monkeypatch.setattr("core.web.auth.time.time", lambda: later)

    response = console_client.get(CODE_PAGE)

    assert response.status_code == 303 and response.headers["Location"] == "/sign-in"
    assert "Your sign-in timed out" in page_text(console_client.get("/sign-in"))


# --- a SECRET_KEY rotation ----------------------------------------------------------------

NEW_KEY = "rotated-secret-key-for-the-console-tests"


@pytest.fixture
def rotated_console(settings, session_factory):
    """The console after SECRET_KEY was rotated as README says: the old key is a fallback."""
    from callcenter import create_app
    app = create_app(dataclasses.replace(settings, SECRET_KEY=NEW_KEY,
                                         SECRET_KEY_FALLBACKS=settings.SECRET_KEY),
                     session_factory=session_factory)
    app.config.update(TESTING=True)
    return app


def test_after_a_key_rotation_the_authenticator_still_signs_in_and_is_sealed_anew(
        rotated_console, db, settings):
    secret, _ = enrolled(db, settings)  # sealed under the key that is now the fallback
    client = rotated_console.test_client()
    sign_in(client, "agent@marketline.example", "demo-pass-1", path="/sign-in")

    response = enter_code(client, next_code(secret))

    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert signed_in(client)
    agent = agent_named(db, "agent@marketline.example")
    assert mfa.unseal(agent.totp_secret, NEW_KEY) == secret  # the fallback can now go
    assert mfa.unseal(agent.totp_secret, settings.SECRET_KEY) is None
    [resealed] = events(db, "agent.mfa_secret_resealed")
    assert resealed.subject_id == str(agent.id)
    assert resealed.data == {"reason": "secret_key_rotated"}


def test_an_authenticator_sealed_under_the_current_key_is_not_sealed_again(
        console_client, db, settings):
    secret, _ = enrolled(db, settings)
    sealed = agent_named(db, "agent@marketline.example").totp_secret
    sign_in(console_client, "agent@marketline.example", "demo-pass-1", path="/sign-in")

    assert enter_code(console_client, next_code(secret)).status_code == 303

    assert agent_named(db, "agent@marketline.example").totp_secret == sealed
    assert events(db, "agent.mfa_secret_resealed") == []


def test_without_the_old_key_as_fallback_the_code_page_says_the_key_changed(
        settings, session_factory, db):
    from callcenter import create_app
    secret, _ = enrolled(db, settings)
    app = create_app(dataclasses.replace(settings, SECRET_KEY=NEW_KEY),
                     session_factory=session_factory)
    app.config.update(TESTING=True)
    client = app.test_client()
    sign_in(client, "agent@marketline.example", "demo-pass-1", path="/sign-in")

    response = enter_code(client, next_code(secret))

    assert "key changed" in page_text(response)
    assert not signed_in(client)


def key_on(response) -> str:
    page = page_text(response)
    return re.search(r'<code id="totp-key">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")


def test_an_enrolment_begun_before_a_key_rotation_finishes_after_it(
        agent_client, rotated_console, db, settings):
    secret = key_on(agent_client.get("/account/two-step"))
    client = rotated_console.test_client()  # the same browser, served by the rotated console
    client.set_cookie("ml_console", agent_client.get_cookie("ml_console").value)

    assert key_on(client.get("/account/two-step")) == secret  # not a new key to scan
    response = client.post("/account/two-step", data={
        "code": pyotp.TOTP(secret).now(), "csrf_token": csrf_token(client, "/account")})

    assert response.status_code == 303
    assert len(re.findall(r"<code>[a-z2-9-]{19}</code>",
                          page_text(client.get("/account/recovery-codes")))) == 10
    agent = agent_named(db, "agent@marketline.example")
    assert mfa.unseal(agent.totp_secret, NEW_KEY) == secret


# --- required for privileged roles --------------------------------------------------------

@pytest.fixture
def strict_console(settings, session_factory):
    from callcenter import create_app
    app = create_app(dataclasses.replace(settings, CONSOLE_REQUIRE_MFA="on"),
                     session_factory=session_factory)
    app.config.update(TESTING=True)
    return app


def test_a_supervisor_is_taken_to_enrolment_and_can_do_nothing_else(strict_console, db):
    client = strict_console.test_client()

    response = sign_in(client, "supervisor@marketline.example", "demo-pass-1", path="/sign-in")

    assert response.status_code == 303 and response.headers["Location"] == "/sign-in/set-up"
    for path in ("/", "/customers/", "/account", "/account/two-step"):
        assert client.get(path).status_code == 302, path
    page = page_text(client.get("/sign-in/set-up"))
    assert "Your role in the console needs two-step sign-in" in page
    secret = re.search(r'<code id="totp-key">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")

    response = client.post("/sign-in/set-up", data={
        "code": pyotp.TOTP(secret).now(), "csrf_token": csrf_token(client, "/sign-in/set-up")})

    assert response.status_code == 303
    assert response.headers["Location"] == "/account/recovery-codes"
    assert "Your recovery codes" in page_text(client.get("/account/recovery-codes"))
    assert signed_in(client)
    assert agent_named(db, "supervisor@marketline.example").totp_enabled


@pytest.mark.parametrize("email", ["billing@marketline.example", "supervisor@marketline.example"])
def test_privileged_roles_need_two_step_sign_in_when_required(strict_console, email):
    client = strict_console.test_client()
    response = sign_in(client, email, "demo-pass-1", path="/sign-in")
    assert response.headers["Location"] == "/sign-in/set-up"


@pytest.mark.parametrize("email", ["agent@marketline.example", "warehouse@marketline.example",
                                   "catalog@marketline.example"])
def test_other_roles_sign_in_with_the_password_alone_when_not_enrolled(strict_console, email):
    client = strict_console.test_client()
    response = sign_in(client, email, "demo-pass-1", path="/sign-in")
    assert response.headers["Location"] == "/"
    assert signed_in(client)


def test_an_administrator_resets_a_lost_phone_by_cli(console_app, console_client, db, settings):
    enrolled(db, settings)
    runner = console_app.test_cli_runner()

    result = runner.invoke(args=["agents", "reset-mfa", "--email", "agent@marketline.example"])

    assert result.exit_code == 0, result.output
    agent = agent_named(db, "agent@marketline.example")
    assert not agent.totp_enabled and mfa.recovery_codes_left(db, agent) == 0
    assert [e.actor_label for e in events(db, "agent.mfa_reset")] == ["cli"]
    response = sign_in(console_client, "agent@marketline.example", "demo-pass-1", path="/sign-in")
    assert response.headers["Location"] == "/"


def test_resetting_an_unknown_agent_says_so(console_app):
    result = console_app.test_cli_runner().invoke(
        args=["agents", "reset-mfa", "--email", "nobody@marketline.example"])
    assert result.exit_code != 0 and "No agent has the e-mail" in result.output


@pytest.mark.parametrize("path", [CODE_PAGE, "/sign-in/set-up"])
def test_the_second_step_pages_send_anyone_without_a_password_to_sign_in(console_client,
                                                                          agent_client, path):
    for client in (console_client, agent_client):  # signed in already: no held sign-in either
        for response in (client.get(path), client.post(path, data={
                "code": "123456", "csrf_token": csrf_token(client, "/sign-in")})):
            assert response.status_code == 303 and response.headers["Location"] == "/sign-in"
