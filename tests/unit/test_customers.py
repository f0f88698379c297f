import datetime as dt

import pytest

from core.auth.services import BadCredentials, TooManyAttempts
from core.customers import services
from core.customers.errors import EmailTaken, InvalidInput, InvalidResetLink
from core.customers.models import PasswordReset


def test_registering_creates_a_person_customer_with_a_number_and_a_login(db):
    user = services.register_customer(db, email=" New.Person@Example.com ", full_name="New Person",
                                      password="long-enough-1", phone="+49 (30) 123-45")
    assert user.email == "new.person@example.com"
    assert user.customer.kind == "person"
    assert user.customer.number.startswith("C-")
    assert user.customer.phone_digits == "493012345"
    assert user.password_hash.startswith("$argon2id$")


def test_an_email_registers_once(db):
    with pytest.raises(EmailTaken) as err:
        services.register_customer(db, email="shopper@example.com", full_name="Again",
                                   password="long-enough-1")
    assert err.value.field == "email"


def test_a_bad_email_is_reported_at_the_email_field(db):
    with pytest.raises(InvalidInput) as err:
        services.register_customer(db, email="not-an-email", full_name="X", password="long-enough-1")
    assert err.value.field == "email"


def test_authenticate_accepts_the_right_password_only(db):
    user = services.authenticate(db, email="shopper@example.com", password="demo-pass-1",
                                 remote_addr="10.0.0.1", limit=10)
    assert user.email == "shopper@example.com"
    with pytest.raises(BadCredentials):
        services.authenticate(db, email="shopper@example.com", password="wrong",
                              remote_addr="10.0.0.1", limit=10)


def test_the_eleventh_attempt_in_a_minute_is_refused_before_the_password_is_checked(db):
    for _ in range(10):
        with pytest.raises(BadCredentials):
            services.authenticate(db, email="shopper@example.com", password="wrong",
                                  remote_addr="10.0.0.2", limit=10)
    with pytest.raises(TooManyAttempts):
        services.authenticate(db, email="shopper@example.com", password="demo-pass-1",
                              remote_addr="10.0.0.2", limit=10)


def test_a_reset_link_changes_the_password_once(db):
    user, token = services.request_password_reset(db, "shopper@example.com")
    services.reset_password(db, token=token, new_password="brand-new-pass")
    assert services.authenticate(db, email=user.email, password="brand-new-pass",
                                 remote_addr=None, limit=10) == user
    with pytest.raises(InvalidResetLink):
        services.reset_password(db, token=token, new_password="another-pass-1")


def test_an_expired_reset_link_is_refused(db):
    _, token = services.request_password_reset(db, "shopper@example.com")
    for reset in db.query(PasswordReset):
        reset.expires_at = reset.expires_at - dt.timedelta(hours=2)
    with pytest.raises(InvalidResetLink):
        services.reset_password(db, token=token, new_password="brand-new-pass")


def test_asking_a_reset_for_an_unknown_email_reveals_nothing(db):
    assert services.request_password_reset(db, "nobody@example.com") is None
