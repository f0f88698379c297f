"""How customers pay: the figures behind a credit decision and a collector's risk score.

Per customer, over the invoices fully settled in the last 12 months (settled: nothing open
any more; the settling date is that of the invoice's last allocation, whatever settled it):

* average days to pay: issue date -> settling date;
* average days beyond terms: due date -> settling date, where paying early or on time counts
  as 0 days (and is counted apart, in `on_time_share`);
* how many were paid, and how many of them late;
* and, today, how many invoices are overdue (open past their due date).

Two queries whatever the number of customers and invoices; Decimal averages (rounded to one
decimal place). Today comes from core.clock unless given.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import clock
from core.billing.models import Allocation, Invoice

ZERO = Decimal(0)
ONE_PLACE = Decimal("0.1")
WINDOW_MONTHS = 12


@dataclass(frozen=True)
class Behaviour:
    customer_id: int
    paid_count: int = 0
    paid_late_count: int = 0
    days_to_pay: Decimal | None = None  # average; None: nothing paid in the window
    days_beyond_terms: Decimal | None = None  # average, early/on time counting 0
    overdue_count: int = 0  # open invoices past their due date today

    @property
    def paid_on_time_count(self) -> int:
        return self.paid_count - self.paid_late_count

    @property
    def on_time_share(self) -> Decimal | None:
        """The share (0..1) of paid invoices settled by their due date; None: none paid."""
        if not self.paid_count:
            return None
        return (Decimal(self.paid_on_time_count) / self.paid_count).quantize(Decimal("0.01"))

    @property
    def on_time_percent(self) -> int | None:
        share = self.on_time_share
        return None if share is None else int((share * 100).to_integral_value(ROUND_HALF_UP))


def window_start(today: dt.date) -> dt.date:
    """The first day of the window: the same day a year ago (28 Feb for 29 Feb)."""
    try:
        return today.replace(year=today.year - 1)
    except ValueError:
        return today.replace(year=today.year - 1, day=28)


def _average(values: list[int]) -> Decimal | None:
    if not values:
        return None
    return (Decimal(sum(values)) / len(values)).quantize(ONE_PLACE, ROUND_HALF_UP)


def _as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):  # SQLite's max() over a datetime column
        return dt.date.fromisoformat(value[:10])
    return value


def payment_behaviour(session: Session, customer_ids: Iterable[int], *,
                      today: dt.date | None = None) -> dict[int, Behaviour]:
    """Each customer's payment behaviour (a Behaviour for every id asked, empty when
    nothing is known): two queries."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    today = today or clock.today()
    since = window_start(today)
    settled = func.max(Allocation.at).label("settled_at")
    paid: dict[int, list[tuple[int, int]]] = {i: [] for i in ids}
    for customer_id, issued, due, settled_at in session.execute(
            select(Invoice.customer_id, Invoice.issue_date, Invoice.due_date, settled)
            .join(Allocation, Allocation.invoice_id == Invoice.id)
            .where(Invoice.customer_id.in_(ids), Invoice.kind == "invoice",
                   Invoice.amount_open == 0)
            .group_by(Invoice.id, Invoice.customer_id, Invoice.issue_date, Invoice.due_date)
            .having(settled >= dt.datetime.combine(since, dt.time(), dt.timezone.utc))):
        on = _as_date(settled_at)
        if since < on <= today:
            paid[customer_id].append(((on - issued).days, (on - due).days))
    overdue = dict(session.execute(
        select(Invoice.customer_id, func.count(Invoice.id))
        .where(Invoice.customer_id.in_(ids), Invoice.kind == "invoice",
               Invoice.amount_open > 0, Invoice.due_date < today)
        .group_by(Invoice.customer_id)).all())
    result = {}
    for customer_id in ids:
        rows = paid[customer_id]
        result[customer_id] = Behaviour(
            customer_id=customer_id,
            paid_count=len(rows),
            paid_late_count=sum(1 for _, late in rows if late > 0),
            days_to_pay=_average([max(0, to_pay) for to_pay, _ in rows]),
            days_beyond_terms=_average([max(0, late) for _, late in rows]),
            overdue_count=int(overdue.get(customer_id, 0)))
    return result
