"""The customer account's lifecycle in core: registering without revealing who has an account,
confirming the address, password rules, resetting a password exactly once, changing it and
signing out everywhere."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from core.audit import AuditEvent
from core.auth import services as auth
from core.auth.models import LoginSession
from core.auth.passwords import WeakPassword, check_new_password
from core.customers import services
from core.customers.errors import (EmailNotConfirmed, InvalidConfirmationLink, InvalidResetLink,
                                   WrongPassword)
from core.customers.models import Customer, CustomerUser, EmailConfirmation

LIFETIME = dt.timedelta(hours=1)


def sessions_of(db, user) -> int:
    return db.scalar(select(func.count()).select_from(LoginSession).where(
        LoginSession.realm == "customer", LoginSession.user_id == user.id))


def open_sessions(db, user, n=2):
    for _ in range(n):
        auth.start_session(db, realm="customer", user_id=user.id, lifetime=LIFETIME)
    db.flush()


def events(db, action) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# -- registering --------------------------------------------------------------------------

def test_signing_up_makes_an_unconfirmed_login_and_a_confirmation_token(db):
    signed_up = services.sign_up(db, email="Nell.New@Example.com", full_name="Nell New",
                                 password="nell-pass-123")
    assert signed_up.is_new and signed_up.token
    assert signed_up.user.email == "nell.new@example.com"
    assert signed_up.user.email_confirmed_at is None


def test_signing_up_with_a_taken_address_creates_nothing_and_says_so_only_to_the_caller(db):
    customers_before = db.scalar(select(func.count()).select_from(Customer))
    signed_up = services.sign_up(db, email="SHOPPER@example.com", full_name="Mallory",
                                 password="quiet-pass-123")
    assert not signed_up.is_new and signed_up.token is None
    assert signed_up.user.email == "shopper@example.com"  # whom the notice is mailed to
    assert db.scalar(select(func.count()).select_from(Customer)) == customers_before
    assert events(db, "customer.registration_repeated")


def test_signing_up_checks_the_password_before_looking_at_the_address(db):
    # The same refusal for a taken address and a new one: it reveals nothing.
    for email in ("shopper@example.com", "nobody.yet@example.com"):
        with pytest.raises(WeakPassword):
            services.sign_up(db, email=email, full_name="Pat", password="password1")


def test_logins_made_by_staff_or_the_demo_count_as_confirmed(db):
    shopper = services.find_user_by_email(db, "shopper@example.com")
    assert shopper.email_confirmed_at is not None
    made = services.register_customer(db, email="desk@example.com", full_name="Desk Made",
                                      password="desk-pass-123")
    assert made.email_confirmed_at is not None


# -- confirming the address ---------------------------------------------------------------

def new_unconfirmed(db, email="ulla@example.com", password="ulla-pass-123"):
    return services.sign_up(db, email=email, full_name="Ulla Unconfirmed", password=password)


def test_an_unconfirmed_login_cannot_sign_in_and_gets_a_new_link_at_most_every_ten_minutes(db):
    signed_up = new_unconfirmed(db)
    with pytest.raises(EmailNotConfirmed) as err:
        services.authenticate(db, email="ulla@example.com", password="ulla-pass-123",
                              remote_addr=None, limit=10)
    assert err.value.token is None  # the registration's link is minutes old
    for row in db.scalars(select(EmailConfirmation)
                          .where(EmailConfirmation.user_id == signed_up.user.id)):
        row.created_at -= dt.timedelta(minutes=11)
    with pytest.raises(EmailNotConfirmed) as err:
        services.authenticate(db, email="ulla@example.com", password="ulla-pass-123",
                              remote_addr=None, limit=10)
    assert err.value.token and err.value.field == "email"


def test_a_wrong_password_for_an_unconfirmed_login_says_only_that_they_do_not_match(db):
    new_unconfirmed(db)
    with pytest.raises(auth.BadCredentials):
        services.authenticate(db, email="ulla@example.com", password="wrong-pass-1",
                              remote_addr=None, limit=10)


def test_the_link_confirms_only_with_the_password_chosen_and_only_once(db):
    signed_up = new_unconfirmed(db)
    with pytest.raises(WrongPassword) as err:
        services.confirm_email(db, token=signed_up.token, password="someone-elses-1",
                               remote_addr=None, limit=10)
    assert err.value.field == "password" and signed_up.user.email_confirmed_at is None
    user = services.confirm_email(db, token=signed_up.token, password="ulla-pass-123",
                                  remote_addr=None, limit=10)
    assert user.email_confirmed_at is not None and events(db, "customer.email_confirmed")
    assert services.authenticate(db, email="ulla@example.com", password="ulla-pass-123",
                                 remote_addr=None, limit=10) == user
    with pytest.raises(InvalidConfirmationLink):
        services.confirm_email(db, token=signed_up.token, password="ulla-pass-123",
                               remote_addr=None, limit=10)


def test_an_expired_confirmation_link_is_refused(db):
    signed_up = new_unconfirmed(db)
    for row in db.scalars(select(EmailConfirmation)):
        row.expires_at -= dt.timedelta(days=2)
    with pytest.raises(InvalidConfirmationLink):
        services.valid_confirmation(db, signed_up.token)


def test_a_password_reset_confirms_the_address_and_replaces_a_squatters_password(db):
    new_unconfirmed(db, email="owner@example.com", password="squatter-pass-1")
    user, token = services.request_password_reset(db, "owner@example.com")
    services.reset_password(db, token=token, new_password="owners-own-pass")
    assert user.email_confirmed_at is not None
    assert services.authenticate(db, email="owner@example.com", password="owners-own-pass",
                                 remote_addr=None, limit=10) == user


# -- password rules -----------------------------------------------------------------------

@pytest.mark.parametrize("password", ["password1", "Password123!", "football2024", "12345678",
                                      "iloveyou", "qwertyuiop"])
def test_common_passwords_are_refused(password):
    with pytest.raises(WeakPassword, match="most common passwords") as err:
        check_new_password(password)
    assert err.value.field == "password"


@pytest.mark.parametrize("password", ["nia@example.com", "nia@example.com!", "newcomer2025",
                                      "Marketline2025", "marketline-password", "acme-office1"])
def test_passwords_made_from_the_address_the_name_or_the_shop_are_refused(db, password):
    with pytest.raises(WeakPassword, match="e-mail address, your name or the shop's name"):
        services.sign_up(db, email="nia@example.com", full_name="Nia Newcomer", password=password,
                         shop_name="Acme Office GmbH")


@pytest.mark.parametrize("password", ["nia-pass-123", "correct horse battery", "Tr0ub4dor&3"])
def test_ordinary_passwords_pass(password):
    check_new_password(password, context=services.password_context(
        "nia@example.com", "Nia Newcomer", "Marketline Demo GmbH"))


def test_the_rules_hold_for_a_reset_too(db):
    _, token = services.request_password_reset(db, "shopper@example.com")
    with pytest.raises(WeakPassword):
        services.reset_password(db, token=token, new_password="shopper-1")  # the address
    # The link is not spent by a refused password.
    services.reset_password(db, token=token, new_password="brand-new-pass")


# -- reset links are spent exactly once -----------------------------------------------------

def test_two_requests_with_one_reset_link_cannot_both_set_a_password(db, monkeypatch):
    """The second request checked the link before the first one spent it."""
    _, token = services.request_password_reset(db, "shopper@example.com")
    checked = services.valid_reset

    def checked_then_overtaken(session, raw):
        reset = checked(session, raw)  # this request finds the link valid...
        monkeypatch.setattr(services, "valid_reset", checked)
        services.reset_password(session, token=raw, new_password="first-to-arrive")  # ...then
        return reset  # another request with the same link sets its password first

    monkeypatch.setattr(services, "valid_reset", checked_then_overtaken)
    with pytest.raises(InvalidResetLink):
        services.reset_password(db, token=token, new_password="second-to-arrive")
    assert services.authenticate(db, email="shopper@example.com", password="first-to-arrive",
                                 remote_addr=None, limit=10)


# -- the signed-in customer's security ------------------------------------------------------

def shopper(db) -> CustomerUser:
    return services.find_user_by_email(db, "shopper@example.com")


def test_changing_the_password_needs_the_current_one_and_ends_every_session(db):
    user = shopper(db)
    open_sessions(db, user)
    with pytest.raises(WrongPassword) as err:
        services.change_password(db, user, current_password="not-it-at-all", remote_addr=None,
                                 new_password="fresh-pass-789", limit=10)
    assert err.value.field == "current_password" and sessions_of(db, user) == 2
    with pytest.raises(WeakPassword):
        services.change_password(db, user, current_password="demo-pass-1", remote_addr=None,
                                 new_password="sunshine1", limit=10)
    services.change_password(db, user, current_password="demo-pass-1", remote_addr=None,
                             new_password="fresh-pass-789", limit=10)
    assert sessions_of(db, user) == 0
    assert services.authenticate(db, email=user.email, password="fresh-pass-789",
                                 remote_addr=None, limit=10) == user
    assert events(db, "customer.password_changed")


def test_guessing_the_current_password_is_throttled_like_signing_in(db):
    user = shopper(db)
    for _ in range(10):
        with pytest.raises(WrongPassword):
            services.change_password(db, user, current_password="guess-guess", limit=10,
                                     new_password="fresh-pass-789", remote_addr="10.9.9.9")
    with pytest.raises(auth.TooManyAttempts):
        services.change_password(db, user, current_password="demo-pass-1", limit=10,
                                 new_password="fresh-pass-789", remote_addr="10.9.9.9")


def test_signing_out_everywhere_ends_every_session_and_is_audited(db):
    user = shopper(db)
    open_sessions(db, user, 3)
    services.sign_out_everywhere(db, user)
    assert sessions_of(db, user) == 0
    [event] = events(db, "customer.signed_out_everywhere")
    assert event.actor_id == user.id


# -- forgot password ----------------------------------------------------------------------

def test_a_reset_asked_for_an_unknown_address_is_written_down_like_a_known_one(db):
    """Both requests write (and so commit at the same cost); only the known one has a link."""
    assert services.request_password_reset(db, "nobody@example.com") is None
    assert services.request_password_reset(db, "shopper@example.com") is not None
    asked = events(db, "customer.password_reset_requested")
    assert len(asked) == 2
    assert {e.data.get("account", True) for e in asked} == {False, True}
