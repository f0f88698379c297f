"""The credit controller's pages, read side: a customer's credit page and the credit home.

Every function runs a fixed number of queries whatever the number of customers, documents
and postings; Decimal throughout; today comes from core.clock.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from core import clock
from core.billing import ledger
from core.billing.models import Invoice, JournalEntry, JournalLine
from core.credit import checks
from core.credit.behaviour import Behaviour, payment_behaviour
from core.credit.exposure import OPEN_STATUSES, Exposure, exposure
from core.credit.limits import history
from core.credit.models import CreditLimitChange
from core.customers.models import Customer
from core.errors import NotFound
from core.orders import holds
from core.orders.models import Order, OrderHold
from core.paging import Page, paginate

ZERO = Decimal(0)
REVIEW_AHEAD_DAYS = 14
HISTORY_MONTHS = 12


# -- exposure over time ----------------------------------------------------------------------

@dataclass(frozen=True)
class Point:
    on: dt.date  # a month's last day, or today
    balance: Decimal  # receivables (account 1200) for the customer at the end of the day
    limit: Decimal | None  # the credit limit in force then

    @property
    def over(self) -> bool:
        return self.limit is not None and self.balance > self.limit


def month_ends(today: dt.date, months: int = HISTORY_MONTHS) -> list[dt.date]:
    """The last days of the `months` months before today's, oldest first, then today."""
    first = today.replace(day=1)
    ends = []
    for _ in range(months):
        last = first - dt.timedelta(days=1)
        ends.append(last)
        first = last.replace(day=1)
    return [*reversed(ends), today]


def _end_of(day: dt.date) -> dt.datetime:
    return clock.day_end(day)


def exposure_over_time(session: Session, customer: Customer, *,
                       today: dt.date | None = None) -> list[Point]:
    """Month-end receivables of the customer (the ledger's account 1200, in their currency,
    posted up to each day's end) with the limit in force then: two queries."""
    days = month_ends(today or clock.today())
    sums = [func.sum(case((JournalEntry.posted_at < _end_of(day),
                           JournalLine.debit - JournalLine.credit), else_=None))
            for day in days]
    row = session.execute(
        select(*sums).join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalLine.account_code == ledger.RECEIVABLES,
               JournalLine.customer_id == customer.id,
               JournalEntry.currency == customer.currency)).one()
    changes = list(session.execute(
        select(CreditLimitChange.changed_at, CreditLimitChange.limit_before,
               CreditLimitChange.limit_after)
        .where(CreditLimitChange.customer_id == customer.id)
        .order_by(CreditLimitChange.changed_at, CreditLimitChange.id)))
    points = []
    for day, balance in zip(days, row):
        points.append(Point(day, Decimal(balance or 0), _limit_on(changes, day, customer)))
    return points


def _limit_on(changes, day: dt.date, customer: Customer) -> Decimal | None:
    if not changes:
        return customer.credit_limit
    end = _end_of(day)
    limit = changes[0].limit_before
    for changed_at, _, after in changes:
        if changed_at.tzinfo is None:
            changed_at = changed_at.replace(tzinfo=dt.timezone.utc)
        if changed_at >= end:
            break
        limit = after
    return limit


# -- the credit page ------------------------------------------------------------------------

@dataclass(frozen=True)
class HeldOrder:
    hold_id: int
    order_number: str
    placed_at: dt.datetime
    gross_total: Decimal
    currency: str
    reason_code: str
    note: str
    held_since: dt.datetime
    customer_number: str = ""
    customer_name: str = ""

    @property
    def reason(self) -> str:
        return holds.reason_label("credit", self.reason_code)


@dataclass(frozen=True)
class CreditPage:
    customer: Customer
    today: dt.date
    exposure: Exposure
    blocks: list[checks.Block]
    holds: list[HeldOrder]
    points: list[Point]
    behaviour: Behaviour
    changes: list[CreditLimitChange]

    @property
    def review_overdue(self) -> bool:
        return checks.review_due(self.customer, self.today)

    @property
    def review_soon(self) -> bool:
        on = self.customer.credit_review_on
        return on is not None and self.today <= on <= self.today + dt.timedelta(
            days=REVIEW_AHEAD_DAYS)


def _held(rows) -> list[HeldOrder]:
    return [HeldOrder(hold_id, number, placed_at, Decimal(gross), currency, reason, note, since,
                      customer_number or "", customer_name or "")
            for hold_id, number, placed_at, gross, currency, reason, note, since,
            customer_number, customer_name in rows]


def _held_select():
    return (select(OrderHold.id, Order.number, Order.placed_at, Order.gross_total,
                   Order.currency, OrderHold.reason_code, OrderHold.note, OrderHold.placed_at,
                   Customer.number, Customer.name)
            .join(Order, Order.id == OrderHold.order_id)
            .outerjoin(Customer, Customer.id == Order.customer_id)
            .where(OrderHold.kind == "credit", OrderHold.released_at.is_(None)))


def credit_page(session: Session, number: str, *, overdue_days: int,
                today: dt.date | None = None) -> CreditPage:
    """Everything on a customer's credit page, in a fixed number of queries (customer 1,
    exposure 2, holds 1, over time 2, behaviour 2, history 1). NotFound if none."""
    customer = session.scalar(select(Customer).where(Customer.number == number))
    if customer is None:
        raise NotFound("We could not find that customer.")
    today = today or clock.today()
    found = exposure(session, customer, overdue_days=overdue_days, today=today)
    held = _held(session.execute(_held_select().where(Order.customer_id == customer.id)
                                 .order_by(OrderHold.placed_at, OrderHold.id)))
    return CreditPage(
        customer=customer, today=today, exposure=found,
        blocks=checks.blocking(found, customer, today=today), holds=held,
        points=exposure_over_time(session, customer, today=today),
        behaviour=payment_behaviour(session, [customer.id], today=today)[customer.id],
        changes=history(session, customer.id))


# -- the credit home ------------------------------------------------------------------------

@dataclass(frozen=True)
class ReviewRow:
    number: str
    name: str
    review_on: dt.date
    limit: Decimal | None
    currency: str
    overdue: bool


@dataclass(frozen=True)
class OverLimitRow:
    number: str
    name: str
    currency: str
    limit: Decimal
    receivables: Decimal
    uninvoiced: Decimal

    @property
    def exposure(self) -> Decimal:
        return self.receivables + self.uninvoiced

    @property
    def over_by(self) -> Decimal:
        return self.exposure - self.limit


def reviews_due(session: Session, *, page: int, per_page: int,
                today: dt.date | None = None) -> Page[ReviewRow]:
    """Customers whose credit review is past due or within REVIEW_AHEAD_DAYS, soonest
    first: two queries."""
    today = today or clock.today()
    stmt = (select(Customer.number, Customer.name, Customer.credit_review_on,
                   Customer.credit_limit, Customer.currency)
            .where(Customer.credit_review_on <= today + dt.timedelta(days=REVIEW_AHEAD_DAYS))
            .order_by(Customer.credit_review_on, Customer.number))
    return paginate(session, stmt, page=page, per_page=per_page).map(
        lambda r: ReviewRow(r[0], r[1], r[2], r[3], r[4], r[2] < today))


def credit_holds(session: Session, *, page: int, per_page: int) -> Page[HeldOrder]:
    """Orders waiting on an active credit hold, oldest hold first: two queries."""
    stmt = _held_select().order_by(OrderHold.placed_at, OrderHold.id)
    found = paginate(session, stmt, page=page, per_page=per_page)
    return Page(_held(found.items), found.page, found.per_page, found.total)


def over_limit(session: Session, *, page: int, per_page: int) -> Page[OverLimitRow]:
    """Customers whose exposure (open invoices plus what orders on account owe beyond their
    invoices, in the customer's currency) is over their limit, most over first: two
    queries (the count and the page)."""
    receivables = (select(Invoice.customer_id.label("cid"),
                          func.sum(Invoice.amount_open).label("open"))
                   .join(Customer, Customer.id == Invoice.customer_id)
                   .where(Invoice.kind == "invoice", Invoice.amount_open > 0,
                          Invoice.currency == Customer.currency)
                   .group_by(Invoice.customer_id).subquery())
    invoiced = (select(Invoice.order_id.label("oid"), func.sum(Invoice.gross_total).label("g"))
                .where(Invoice.kind == "invoice", Invoice.order_id.is_not(None))
                .group_by(Invoice.order_id).subquery())
    left = Order.gross_total - func.coalesce(invoiced.c.g, literal(0, Order.gross_total.type))
    uninvoiced = (select(Order.customer_id.label("cid"),
                         func.sum(case((left > 0, left), else_=None)).label("left"))
                  .join(Customer, Customer.id == Order.customer_id)
                  .outerjoin(invoiced, invoiced.c.oid == Order.id)
                  .where(Order.payment_method == "on_account",
                         Order.currency == Customer.currency,
                         Order.status.in_(OPEN_STATUSES))
                  .group_by(Order.customer_id).subquery())
    zero = literal(0, Customer.credit_limit.type)
    open_ = func.coalesce(receivables.c.open, zero)
    waiting = func.coalesce(uninvoiced.c.left, zero)
    total = open_ + waiting
    stmt = (select(Customer.number, Customer.name, Customer.currency, Customer.credit_limit,
                   open_, waiting)
            .outerjoin(receivables, receivables.c.cid == Customer.id)
            .outerjoin(uninvoiced, uninvoiced.c.cid == Customer.id)
            .where(Customer.credit_limit.is_not(None), total > Customer.credit_limit)
            .order_by((total - Customer.credit_limit).desc(), Customer.number))
    found = paginate(session, stmt, page=page, per_page=per_page)
    return found.map(lambda r: OverLimitRow(r[0], r[1], r[2], Decimal(r[3]), Decimal(r[4] or 0),
                                            Decimal(r[5] or 0)))


# -- the chart's geometry (the template draws it) --------------------------------------------

@dataclass(frozen=True)
class Bar:
    point: Point
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    top: Decimal  # the value at the top of the plot
    bars: list[Bar]
    limit_path: str  # SVG polyline points of the limit in force (a step line); "" if none
    baseline: int


def chart(points: list[Point], *, width: int = 640, height: int = 200) -> Chart:
    """Bars for the month-end balances and a step line for the limit, scaled to the
    largest of them (negative balances, customer credit, are drawn as empty bars)."""
    pad, plot_h = 4, height - 24
    top = max([p.balance for p in points] + [p.limit for p in points if p.limit is not None]
              + [Decimal(1)])
    slot = (width - 2 * pad) // max(1, len(points))

    def y(value: Decimal) -> int:
        return pad + int((plot_h - pad) * (1 - max(value, ZERO) / top))

    base = y(ZERO)
    bars = [Bar(p, pad + i * slot + slot // 6, y(p.balance), slot * 2 // 3,
                max(0, base - y(p.balance))) for i, p in enumerate(points)]
    steps = []
    for i, p in enumerate(points):
        if p.limit is None:
            continue
        ly = y(p.limit)
        steps.append(f"{pad + i * slot},{ly} {pad + (i + 1) * slot},{ly}")
    return Chart(width, height, top, bars, " ".join(steps), base)
