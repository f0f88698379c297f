"""The risk score of an overdue account: 0 to 100, and the reasons it is what it is.

Four parts, each with a ceiling, added and capped at 100:

* **Days overdue** of the oldest overdue item: a point per 3 days, at most 40 (120 days).
* **Amount overdue**, on a rough log scale: 5 points from 100, 10 from 300, 15 from 1,000,
  20 from 3,000, 25 from 10,000 (in the customer's currency).
* **Payment history**: the average days late of the invoices they have paid (days from the
  due date to the day paid; 0 when on time), a point per 2 days, at most 20. "Paid" and
  "the day paid" are core.credit.behaviour's, the same as the credit page's payment
  behaviour: settled by payments only (not credit notes or write-offs), on the last
  payment's day received.
* **Broken promises** to pay in the last 12 months (promised for a day in them): 10 each,
  at most 20. A promise still "open" whose day has passed short counts as broken already.

Open disputes add nothing (the customer may be right) but are shown among the reasons.

Integers and Decimals only, so the score is the same in Python (`explain`, which the pages
show) and in SQL (`score_sql`, which the worklist ranks all accounts by): both read the
constants below, and tests/unit/test_collections.py checks they agree.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import case, literal

from core.db import Amount

MAX_SCORE = 100
DAYS_PER_POINT, DAYS_CAP = 3, 40
AMOUNT_BANDS: tuple[tuple[Decimal, int], ...] = (  # from this amount on, these points
    (Decimal(10000), 25), (Decimal(3000), 20), (Decimal(1000), 15), (Decimal(300), 10),
    (Decimal(100), 5))
LATE_DAYS_PER_POINT, HISTORY_CAP = 2, 20
BROKEN_POINTS, BROKEN_CAP = 10, 20
BROKEN_WINDOW_DAYS = 365


@dataclass(frozen=True)
class Part:
    points: int
    reason: str


@dataclass(frozen=True)
class Risk:
    parts: list[Part] = field(default_factory=list)

    @property
    def score(self) -> int:
        return min(MAX_SCORE, sum(p.points for p in self.parts))


def days_points(days: int) -> int:
    return min(DAYS_CAP, max(0, days) // DAYS_PER_POINT)


def amount_points(amount: Decimal) -> int:
    return next((points for floor, points in AMOUNT_BANDS if amount >= floor), 0)


def history_points(late_days: int, paid: int) -> int:
    if paid <= 0:
        return 0
    return min(HISTORY_CAP, (late_days // paid) // LATE_DAYS_PER_POINT)


def broken_points(broken: int) -> int:
    return min(BROKEN_CAP, BROKEN_POINTS * broken)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def explain(*, days: int, amount: Decimal, currency: str, late_days: int, paid: int,
            broken: int, disputes: int = 0) -> Risk:
    """The score's parts for an account whose oldest overdue item is `days` overdue, with
    `amount` overdue, `paid` invoices paid `late_days` late in all, `broken` promises in
    the last 12 months and `disputes` open."""
    parts = [
        Part(days_points(days), f"Oldest item {_plural(days, 'day')} overdue"),
        Part(amount_points(amount), f"{amount:,.2f} {currency} overdue"),
        Part(history_points(late_days, paid),
             f"Pays {_plural(late_days // paid, 'day')} late on average "
             f"({_plural(paid, 'invoice')} paid)" if paid else "No paid invoices yet"),
        Part(broken_points(broken),
             f"{_plural(broken, 'broken promise')} to pay in 12 months"),
    ]
    if disputes:
        parts.append(Part(0, f"{_plural(disputes, 'open dispute')} (no points)"))
    return Risk(parts)


def _least(expr, cap: int):
    return case((expr > cap, cap), else_=expr)


def score_sql(*, days, amount, late_days, paid, broken):
    """The score as a SQL expression of the same inputs (integer columns; `amount` an
    Amount column): what the worklist orders by. `//` is integer division on both
    databases, as in `explain`."""
    days_part = _least(case((days > 0, days), else_=0) // DAYS_PER_POINT, DAYS_CAP)
    amount_part = case(*[(amount >= literal(floor, Amount()), points)
                         for floor, points in AMOUNT_BANDS], else_=0)
    history_part = case((paid > 0, _least((late_days // paid) // LATE_DAYS_PER_POINT,
                                          HISTORY_CAP)), else_=0)
    broken_part = _least(broken * BROKEN_POINTS, BROKEN_CAP)
    total = days_part + amount_part + history_part + broken_part
    return _least(total, MAX_SCORE)
