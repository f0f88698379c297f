"""How customers pay: the figures behind a credit decision and a collector's risk score.

**Paid, and the day it was paid** (one definition, here, for both the credit page's payment
behaviour and the collections risk score's payment history, core.credit.risk, through
`settled_by_payment`): an invoice counts as paid when nothing is open on it any more and
money settled it, i.e. at least one allocation of kind "payment" (money received, or
customer credit out of an earlier payment). The day it was paid is the latest day received
(Payment.received_on) of those payments: the day the money arrived, not the day it was
keyed in. What credit notes, write-offs and cash discounts settled counts for nothing: an
invoice settled only by them was not paid, and their later date never makes a payment late.

Per customer, over the invoices paid in the last 12 months (paid on a day in the window):

* average days to pay: issue date -> day paid;
* average days beyond terms: due date -> day paid, where paying early or on time counts
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
from core.billing.models import Allocation, Invoice, Payment
from core.credit.sql import as_date

ZERO = Decimal(0)
ONE_PLACE = Decimal("0.1")
WINDOW_MONTHS = 12
PAID_BY = "payment"  # the only allocations that make an invoice paid, and date it


def settled_by_payment():
    """A select of the invoices paid (see the module's docstring), one row each:
    invoice_id, customer_id, issue_date, due_date and settled_on (the latest day received
    of the payments allocated to it). Narrow it with .where(Invoice...) before use."""
    # received_on is the payment's; an allocation of kind payment has one, else (never in
    # practice) the day it was recorded stands in.
    settled_on = func.max(func.coalesce(Payment.received_on, as_date(Allocation.at)))
    return (select(Invoice.id.label("invoice_id"), Invoice.customer_id.label("customer_id"),
                   Invoice.issue_date.label("issue_date"), Invoice.due_date.label("due_date"),
                   settled_on.label("settled_on"))
            .join(Allocation, (Allocation.invoice_id == Invoice.id)
                  & (Allocation.kind == PAID_BY))
            .outerjoin(Payment, Payment.id == Allocation.payment_id)
            .where(Invoice.kind == "invoice", Invoice.amount_open == 0)
            .group_by(Invoice.id, Invoice.customer_id, Invoice.issue_date, Invoice.due_date))


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
        return (Decimal(self.paid_on_time_count) / self.paid_count).quantize(
            Decimal("0.01"), ROUND_HALF_UP)

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
    if isinstance(value, str):  # SQLite's max() over dates kept as text
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
    paid: dict[int, list[tuple[int, int]]] = {i: [] for i in ids}
    found = settled_by_payment().where(Invoice.customer_id.in_(ids)).subquery()
    for customer_id, issued, due, settled_on in session.execute(
            select(found.c.customer_id, found.c.issue_date, found.c.due_date,
                   found.c.settled_on)
            .where(found.c.settled_on > since, found.c.settled_on <= today)):
        on = _as_date(settled_on)
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
