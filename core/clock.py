"""Today and now, as the business sees them: one business day, in one zone.

Everything that ages a debt (days overdue, a promise to pay that passed unpaid, the level of a
dunning letter, interest per day) asks this module rather than the system clock, so that a
test can move time forward (`travel`) and watch what happens the day after. Production never
moves it: the offset is zero unless a test (or the demo's `flask clock` command in a
throwaway database) sets it.

A day is a business day: it begins at local midnight in the business zone (CONSOLE_TIMEZONE,
the back office's day, set at start-up by `set_business_timezone`), not at UTC midnight.
`today()` is the business date of now, `day_start(day)` the instant (aware, UTC) a business day
begins and `business_date(ts)` the business day of an instant. A typed day becomes an instant
only through `day_start`; a stored timestamp becomes a day only through `business_date`.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Europe/Berlin"

_offset = dt.timedelta(0)
_zone = ZoneInfo(DEFAULT_TIMEZONE)


def set_business_timezone(name: str | None) -> None:
    """The zone whose midnight begins a business day (CONSOLE_TIMEZONE, set at start-up)."""
    global _zone
    _zone = ZoneInfo(name or DEFAULT_TIMEZONE)


def business_timezone() -> ZoneInfo:
    return _zone


def now() -> dt.datetime:
    """Now, timezone-aware, in UTC, moved by the test offset."""
    return dt.datetime.now(dt.timezone.utc) + _offset


def today() -> dt.date:
    """The business date of now (moved by the test offset)."""
    return business_date(now())


def business_date(ts: dt.datetime) -> dt.date:
    """The business day an instant falls on; a naive timestamp is UTC (SQLite keeps no zone)."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=dt.timezone.utc)
    return ts.astimezone(_zone).date()


def day_start(day: dt.date) -> dt.datetime:
    """The instant (aware, in UTC) the business day `day` begins: local midnight, DST-correct.

    The end of a day is the start of the next: `ts < day_start(day + 1 day)` is "on or before
    `day`"."""
    return dt.datetime.combine(day, dt.time(), tzinfo=_zone).astimezone(dt.timezone.utc)


def day_end(day: dt.date) -> dt.datetime:
    """The instant the business day after `day` begins (an exclusive upper bound)."""
    return day_start(day + dt.timedelta(days=1))


def travel(*, days: int = 0, hours: int = 0, minutes: int = 0) -> None:
    """Move the clock forward (negative: back) from where it is."""
    global _offset
    _offset += dt.timedelta(days=days, hours=hours, minutes=minutes)


def travel_to(at: dt.datetime) -> None:
    """Move the clock so that now() is `at` (aware) as this call returns: for tests of a
    boundary, e.g. 23:30 UTC, which is the next day in Berlin."""
    global _offset
    _offset = at - dt.datetime.now(dt.timezone.utc)


def reset() -> None:
    global _offset
    _offset = dt.timedelta(0)


def offset_days() -> int:
    return _offset.days
