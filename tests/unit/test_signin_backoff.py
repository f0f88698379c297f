"""Sign-in throttling backs off instead of locking an account (review M4): the e-mail from
one address waits ever longer, the address has a wider budget, the e-mail from anywhere a
budget that delays new addresses only; a refused attempt costs no hash."""
import datetime as dt

import pytest

from core.agents import services as agents
from core.auth import services as auth
from core.auth.services import BadCredentials, TooManyAttempts
from core.customers import services as customers

AGENT = "agent@marketline.example"
SHOPPER = "shopper@example.com"
RIGHT = "demo-pass-1"
T0 = dt.datetime(2026, 12, 4, 9, 0, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def hashes(monkeypatch):
    """Stands in for argon2 (slow on purpose) and counts the passwords it was asked about."""
    checked = []

    def verify(password_hash, password):
        checked.append(password)
        return password_hash is not None and password == RIGHT

    monkeypatch.setattr("core.auth.passwords.verify_password", verify)
    return checked


def sign_in(db, email, password, address, at=T0):
    """core.auth.services.sign_in as both realms call it, at a given time."""
    agent = email.endswith("@marketline.example")
    user = (agents.find_agent_by_email(db, email) if agent
            else customers.find_user_by_email(db, email))
    return auth.sign_in(db, realm="agent" if agent else "customer", user=user, email=email,
                        password=password, remote_addr=address, limit=10, now=at)


def wrong(db, email, address, at=T0, times=1):
    for _ in range(times):
        with pytest.raises(BadCredentials):
            sign_in(db, email, "wrong-guess", address, at)


def test_ten_wrong_passwords_from_one_address_do_not_stop_the_right_one_from_another(db, hashes):
    wrong(db, AGENT, "198.51.100.1", T0, times=10)
    with pytest.raises(TooManyAttempts):
        sign_in(db, AGENT, RIGHT, "198.51.100.1", T0)
    assert sign_in(db, AGENT, RIGHT, "203.0.113.9", T0).email == AGENT


def test_the_refusal_says_how_long_to_wait_and_costs_no_hash(db, hashes):
    wrong(db, SHOPPER, "198.51.100.1", T0, times=10)
    with pytest.raises(TooManyAttempts) as refused:
        sign_in(db, SHOPPER, RIGHT, "198.51.100.1",
                 T0 + dt.timedelta(seconds=20))
    assert str(refused.value) == ("Too many sign-in attempts. Try again in 40 seconds, "
                                  "or reset your password.")
    assert refused.value.retry_after == 40
    assert len(hashes) == 10


def test_the_wait_grows_for_an_email_guessed_from_one_address(db, hashes):
    def at(seconds):
        return T0 + dt.timedelta(seconds=seconds)

    wrong(db, AGENT, "198.51.100.1", at(0), times=10)
    with pytest.raises(TooManyAttempts) as refused:  # 10 in a minute: up to a minute
        sign_in(db, AGENT, "wrong-guess", "198.51.100.1", at(1))
    assert refused.value.retry_after == 59
    wrong(db, AGENT, "198.51.100.1", at(61), times=10)
    with pytest.raises(TooManyAttempts) as refused:  # 20 in 15 minutes: up to 15 minutes
        sign_in(db, AGENT, "wrong-guess", "198.51.100.1", at(122))
    assert refused.value.retry_after == 900 - 122
    wrong(db, AGENT, "198.51.100.1", at(900), times=10)
    with pytest.raises(TooManyAttempts) as refused:  # 30 in an hour: up to an hour
        sign_in(db, AGENT, "wrong-guess", "198.51.100.1", at(1000))
    assert refused.value.retry_after == 3600 - 1000
    assert sign_in(db, AGENT, RIGHT, "198.51.100.1", at(3600)).email == AGENT


def test_a_right_password_gives_its_attempts_back(db, hashes):
    wrong(db, AGENT, "198.51.100.1", T0, times=9)
    sign_in(db, AGENT, RIGHT, "198.51.100.1", T0)
    wrong(db, AGENT, "198.51.100.1", T0, times=10)  # a fresh start for the pair


def test_guesses_from_many_addresses_delay_new_addresses_but_never_a_known_one(db, hashes):
    sign_in(db, AGENT, RIGHT, "203.0.113.9", T0)  # the agent's office
    for i in range(20):  # a botnet: one guess per address
        wrong(db, AGENT, f"198.51.100.{i}", T0)
    with pytest.raises(TooManyAttempts) as refused:
        sign_in(db, AGENT, RIGHT, "192.0.2.50", T0)
    assert refused.value.retry_after == 600  # a delay: the budget refills in 10 minutes
    assert len(hashes) == 21
    assert sign_in(db, AGENT, RIGHT, "203.0.113.9", T0).email == AGENT
    later = T0 + dt.timedelta(minutes=10)
    assert sign_in(db, AGENT, RIGHT, "192.0.2.50", later).email == AGENT


def test_one_address_guessing_many_emails_is_slowed_too(db, hashes):
    for i in range(50):
        with pytest.raises(BadCredentials):
            sign_in(db, f"nobody{i}@example.com", "x", "198.51.100.7")
    with pytest.raises(TooManyAttempts):
        sign_in(db, SHOPPER, RIGHT, "198.51.100.7", T0)
    assert sign_in(db, SHOPPER, RIGHT, "203.0.113.1", T0)
