"""core.ratelimit: budgets counted in the database, one atomic upsert per key."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from core import ratelimit
from core.config import Settings
from core.ratelimit import RateCounter, RateLimited, Rule

T0 = dt.datetime(2026, 12, 4, 9, 0, 0, tzinfo=dt.timezone.utc)


def later(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def hit(db, key="test:address:x", rule=Rule(3, 60), at=T0):
    return ratelimit.consume(db, [(key, rule)], now=at)


def test_a_rule_allows_its_limit_then_refuses_until_its_window_closes(db):
    assert [hit(db, at=later(i)) for i in range(3)] == [None, None, None]
    refusal = hit(db, at=later(10))
    assert refusal is not None and refusal.retry_after == 50  # the window opened at T0
    assert hit(db, at=later(59.5)) is not None
    assert hit(db, at=later(60)) is None  # a new window opens with this hit


def test_a_refused_hit_counts_nothing(db):
    for i in range(3):
        hit(db, at=later(i))
    for i in range(20):
        assert hit(db, at=later(30 + i)) is not None
    assert db.scalar(select(RateCounter.count).where(RateCounter.key == "test:address:x")) == 3
    assert [hit(db, at=later(61 + i)) for i in range(3)] == [None, None, None]


def test_keys_are_counted_all_or_none(db):
    wide, narrow = ("test:address:a", Rule(10, 60)), ("test:email:b", Rule(1, 60))
    assert ratelimit.consume(db, [wide, narrow], now=T0) is None
    refusal = ratelimit.consume(db, [wide, narrow], now=later(1))
    assert refusal.key == "test:email:b"
    assert db.scalar(select(RateCounter.count).where(RateCounter.key == "test:address:a")) == 1


def test_a_limit_of_zero_is_off(db):
    for _ in range(50):
        assert hit(db, rule=Rule(0, 60)) is None
    assert db.scalar(select(func.count()).select_from(RateCounter)) == 0


def test_named_limits_hash_what_they_count_and_say_how_long_to_wait(db):
    limits = ratelimit.limits_for(Settings(DATABASE_URL="", RATE_LIMIT_ACCOUNT_MAILS_PER_HOUR=3))
    limits.hit(db, "password_reset", address="10.0.0.1", email="Victim@Example.com", now=T0)
    with pytest.raises(RateLimited) as refused:
        for i in range(5):  # one e-mail, from ever new addresses: a third of the budget
            limits.hit(db, "password_reset", address=f"10.0.1.{i}", email="victim@example.com",
                       now=later(60))
    assert refused.value.retry_after == 3540 and refused.value.field == "email"
    assert str(refused.value) == ("Too many password reset requests in a short time. "
                                  "Try again in 59 minutes.")
    keys = " ".join(db.scalars(select(RateCounter.key)))
    assert "victim" not in keys.lower() and "10.0.0.1" not in keys


def test_ipv6_clients_count_per_64_network_and_ipv4_mapped_as_ipv4():
    assert ratelimit.client_address("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert ratelimit.client_address("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert ratelimit.client_address("::ffff:192.0.2.7") == "192.0.2.7"
    assert ratelimit.client_address(None) == "unknown"


def test_cleaning_deletes_only_closed_windows(db):
    hit(db, key="test:old", rule=Rule(3, 60), at=T0)
    hit(db, key="test:new", rule=Rule(3, 3600), at=T0)
    assert ratelimit.clean(db, now=later(61)) == 1
    assert list(db.scalars(select(RateCounter.key))) == ["test:new"]


def test_waits_read_as_people_say_them():
    assert ratelimit.wait_text(1) == "1 second"
    assert ratelimit.wait_text(45) == "45 seconds"
    assert ratelimit.wait_text(600) == "10 minutes"
    assert ratelimit.wait_text(3 * 3600) == "3 hours"
