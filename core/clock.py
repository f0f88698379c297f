"""Today and now, as the credit and collections rules see them.

Everything that ages a debt (days overdue, a promise to pay that passed unpaid, the level of a
dunning letter, interest per day) asks this module rather than the system clock, so that a
test can move time forward (`travel`) and watch what happens the day after. Production never
moves it: the offset is zero unless a test (or the demo's `flask clock` command in a
throwaway database) sets it.
"""
from __future__ import annotations

import datetime as dt

_offset = dt.timedelta(0)


def now() -> dt.datetime:
    """Now, timezone-aware, in UTC, moved by the test offset."""
    return dt.datetime.now(dt.timezone.utc) + _offset


def today() -> dt.date:
    return now().date()


def travel(*, days: int = 0) -> None:
    """Move the clock `days` forward (negative: back) from where it is."""
    global _offset
    _offset += dt.timedelta(days=days)


def reset() -> None:
    global _offset
    _offset = dt.timedelta(0)


def offset_days() -> int:
    return _offset.days
