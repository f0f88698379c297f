"""The ageing buckets have one definition: the due dates a bucket holds on a day (the
invoice list's age filter and the report's sums) agree with bucket_for (statements)."""
import datetime as dt

from core.billing import ageing


def test_every_due_date_falls_in_the_bucket_its_days_overdue_name():
    day = dt.date(2026, 12, 6)
    bounds = ageing.due_dates(day)
    assert list(bounds) == list(ageing.BUCKETS)
    for days in range(-40, 400):
        due = day - dt.timedelta(days=days)
        holding = [key for key, (earliest, latest) in bounds.items()
                   if (earliest is None or due >= earliest) and (latest is None or due <= latest)]
        assert holding == [ageing.bucket_for(days)], days


def test_the_buckets_edges_are_30_60_and_90_days_overdue():
    day = dt.date(2026, 3, 1)
    assert ageing.due_dates(day)["d1_30"] == (dt.date(2026, 1, 30), dt.date(2026, 2, 28))
    assert ageing.due_dates(day)["current"] == (day, None)
    assert ageing.due_dates(day)["over_90"] == (None, day - dt.timedelta(days=91))
