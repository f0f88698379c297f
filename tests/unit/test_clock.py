"""One business day (core.clock): a day begins at midnight in the business zone
(CONSOLE_TIMEZONE, Europe/Berlin by default), not at UTC midnight; typed days and stored
dates count the same day as the local times on screen."""
import datetime as dt
from decimal import Decimal as D

import pytest

from core import clock
from core.billing import ledger
from core.orders import holds
from core.orders.holds import HoldFilters
from tests.unit.test_holds import AGENT
from tests.unit.test_orders import place, vid

UTC = dt.timezone.utc


@pytest.fixture(autouse=True)
def berlin():
    clock.set_business_timezone("Europe/Berlin")
    yield
    clock.reset()
    clock.set_business_timezone(clock.DEFAULT_TIMEZONE)


def test_a_day_starts_at_local_midnight_across_both_dst_changes():
    assert clock.day_start(dt.date(2026, 12, 8)) == dt.datetime(2026, 12, 7, 23, tzinfo=UTC)
    # Spring forward (29 Mar 2026): the day begins in winter time and is 23 hours long.
    assert clock.day_start(dt.date(2026, 3, 29)) == dt.datetime(2026, 3, 28, 23, tzinfo=UTC)
    assert clock.day_start(dt.date(2026, 3, 30)) == dt.datetime(2026, 3, 29, 22, tzinfo=UTC)
    # Fall back (25 Oct 2026): the day begins in summer time and is 25 hours long.
    assert clock.day_start(dt.date(2026, 10, 25)) == dt.datetime(2026, 10, 24, 22, tzinfo=UTC)
    assert clock.day_end(dt.date(2026, 10, 25)) == dt.datetime(2026, 10, 25, 23, tzinfo=UTC)
    clock.set_business_timezone("America/New_York")
    assert clock.day_start(dt.date(2026, 12, 8)) == dt.datetime(2026, 12, 8, 5, tzinfo=UTC)


def test_today_and_the_business_date_of_an_instant():
    clock.travel_to(dt.datetime(2026, 12, 7, 23, 30, tzinfo=UTC))  # 00:30 on 8 Dec in Berlin
    assert clock.today() == dt.date(2026, 12, 8)
    clock.travel_to(dt.datetime(2026, 7, 7, 21, 59, tzinfo=UTC))  # 23:59 in summer time
    assert clock.today() == dt.date(2026, 7, 7)
    assert clock.business_date(dt.datetime(2026, 7, 7, 22, 0, tzinfo=UTC)) == dt.date(2026, 7, 8)
    naive = dt.datetime(2026, 12, 7, 23, 30)  # a naive timestamp is UTC (SQLite keeps no zone)
    assert clock.business_date(naive) == dt.date(2026, 12, 8)
    clock.travel(days=1)
    assert clock.today() == dt.date(2026, 7, 8)


def test_what_happened_after_local_midnight_counts_on_the_next_day_everywhere(db):
    """The worst case the UTC day had: an entry shown as posted on 8 Dec counted in the trial
    balance as of 7 Dec. 23:30 UTC on 7 Dec is 00:30 on 8 Dec in Berlin."""
    late = dt.datetime(2020, 12, 7, 23, 30, tzinfo=UTC)
    clock.travel_to(late)
    ledger.post(db, "manual", currency="EUR", reference="after midnight",
                postings=[ledger.dr(ledger.BANK, D("12.34")), ledger.cr(ledger.REVENUE, D("12.34"))])

    def bank(day):
        return sum((r.debit for r in ledger.trial_balance(db, as_of=day)
                    if r.code == ledger.BANK and r.currency == "EUR"), D(0))

    assert bank(dt.date(2020, 12, 8)) - bank(dt.date(2020, 12, 7)) == D("12.34")
    exported = [r for r in ledger.export_rows(db, date_from=dt.date(2020, 12, 8),
                                              date_to=dt.date(2020, 12, 8))]
    assert {r[3] for r in exported} == {"after midnight"}
    assert not list(ledger.export_rows(db, date_from=dt.date(2020, 12, 7),
                                       date_to=dt.date(2020, 12, 7)))

    # A hold placed then was placed on 8 Dec: not "placed before 8 Dec".
    order = place(db, [(vid(db, "PAP-A4-80"), 1)], key="clock-1")
    hold = holds.place_hold(db, order, kind="manual", reason_code="other", note="", actor=AGENT)
    hold.placed_at = late  # (holds are stamped by the real clock)
    db.flush()

    def held(before):
        found = holds.worklist(db, HoldFilters(placed_before=before))
        return [r.hold.id for r in found.items if r.hold.id == hold.id]

    assert held(dt.date(2020, 12, 8)) == []
    assert held(dt.date(2020, 12, 9)) == [hold.id]

    # A hold until 8 Dec is due at 00:30 on 8 Dec, Berlin time: it leads the worklist.
    hold.hold_until = dt.date(2020, 12, 8)
    db.flush()
    assert holds.is_due(hold)
    first = holds.worklist(db, HoldFilters()).items[0]
    assert first.hold.id == hold.id and first.due
