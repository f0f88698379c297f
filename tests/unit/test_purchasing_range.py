"""The Purchasing page's date range (core.reporting.purchases): the last twelve months by
default, never backwards, at most three years; a month per bar, empty months too."""
from __future__ import annotations

import datetime as dt

import pytest

from core.reporting import purchases
from core.reporting.purchases import Range, RangeError, checked_range, default_range

TODAY = dt.date(2026, 12, 6)


def test_the_default_is_the_last_twelve_months_to_today():
    assert default_range(TODAY) == Range(dt.date(2026, 1, 1), TODAY)
    assert default_range(dt.date(2026, 3, 31)) == Range(dt.date(2025, 4, 1), dt.date(2026, 3, 31))


def test_an_empty_end_or_start_takes_the_default():
    assert checked_range(dt.date(2026, 6, 1), None, today=TODAY) == Range(dt.date(2026, 6, 1), TODAY)
    assert checked_range(None, dt.date(2026, 6, 30), today=TODAY) == \
        Range(dt.date(2026, 1, 1), dt.date(2026, 6, 30))


def test_a_backwards_or_too_long_range_is_refused():
    with pytest.raises(RangeError, match="end date"):
        checked_range(dt.date(2026, 5, 2), dt.date(2026, 5, 1), today=TODAY)
    with pytest.raises(RangeError, match="three years"):
        checked_range(dt.date(2020, 1, 1), TODAY, today=TODAY)


def test_every_month_of_the_range_gets_a_bar():
    months = purchases._months(Range(dt.date(2025, 11, 15), dt.date(2026, 2, 1)))
    assert months == [dt.date(2025, 11, 1), dt.date(2025, 12, 1), dt.date(2026, 1, 1),
                      dt.date(2026, 2, 1)]


@pytest.mark.parametrize("start, end", [(dt.date(1, 1, 1), dt.date(1, 1, 31)),
                                        (dt.date(9999, 12, 1), dt.date(9999, 12, 31)),
                                        (dt.date(1999, 12, 31), None)])
def test_dates_far_in_the_past_or_future_are_refused(start, end):
    with pytest.raises(RangeError, match="Choose dates from 2000 to 2027"):
        checked_range(start, end, today=TODAY)
