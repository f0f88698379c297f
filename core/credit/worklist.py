"""The collections worklist and the account page's read side.

The worklist is every overdue account (a customer with an invoice open past its due date on
core.clock's today), ranked by its risk score (core.credit.risk), highest first. The score's
inputs are SQL aggregates grouped by customer, and the score is a SQL expression of them
(risk.score_sql), so the ORDER BY ranks all accounts, not one page: page 2 starts where
page 1 ended. A page costs a fixed number of queries whatever the number of customers:
the count, the ranked rows, and four look-ups for the page's accounts (last contact,
promises, open disputes, next follow-up).

Amounts overdue are the customer's own currency only (Invoice.currency ==
Customer.currency), as core.credit.exposure counts them: a sum never mixes currencies, and
an invoice in another currency counts neither in the amount, the days nor the items (the
account page still lists it among the open items, with its currency). The payment
history is core.credit.behaviour's definition of paid (settled_by_payment).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Date, Integer, and_, case, func, literal, or_, select, type_coerce
from sqlalchemy.orm import Session, selectinload

from core import clock
from core.agents.models import Agent
from core.billing.models import Invoice
from core.credit import risk
from core.credit.behaviour import settled_by_payment
from core.credit.collections import paid_towards, paid_towards_sql, promise_state
from core.credit.models import CollectionContact, CollectionTask, Dispute, PromiseToPay
from core.credit.sql import days_between
from core.credit.states import DisputeStatus, PromiseStatus, TaskStatus
from core.customers.models import Customer
from core.paging import Page, paginate

ZERO = Decimal(0)


@dataclass(frozen=True)
class Filters:
    mine: int | None = None  # an agent id: accounts with their open follow-ups
    min_days: int = 0  # the oldest item at least this many days overdue
    query: str = ""  # name (part) or customer number


@dataclass
class Row:
    """One overdue account of the worklist."""

    rank: int
    customer_id: int
    number: str
    name: str
    currency: str
    overdue: Decimal
    days: int
    items: int
    risk: risk.Risk
    last_contact: CollectionContact | None = None
    open_promise: PromiseToPay | None = None
    broken_promises: int = 0
    disputes: int = 0
    next_task: dt.date | None = None
    sql_score: int = 0  # what the query ranked it by: equal to `score` (tested)

    @property
    def score(self) -> int:
        return self.risk.score


def _overdue(today: dt.date):
    """Per customer: what is overdue in their own currency (a sum of one currency only)."""
    return (select(Invoice.customer_id.label("customer_id"),
                   func.sum(Invoice.amount_open).label("overdue"),
                   func.min(Invoice.due_date).label("oldest_due"),
                   func.count().label("overdue_items"))
            .join(Customer, Customer.id == Invoice.customer_id)
            .where(Invoice.kind == "invoice", Invoice.amount_open > 0,
                   Invoice.due_date < today, Invoice.currency == Customer.currency)
            .group_by(Invoice.customer_id).subquery("overdue"))


def _history(overdue):
    """Per overdue customer: invoices paid, and the days late they were paid in all (paid
    and its day as core.credit.behaviour defines them: settled, by payments, on the last
    payment's day received)."""
    paid = (settled_by_payment()
            .where(Invoice.customer_id.in_(select(overdue.c.customer_id))).subquery("paid"))
    late = days_between(paid.c.due_date, paid.c.settled_on)
    late = type_coerce(func.sum(case((late > 0, late), else_=0)), Integer)
    return (select(paid.c.customer_id, late.label("late_days"),
                   type_coerce(func.count(), Integer).label("paid"))
            .group_by(paid.c.customer_id).subquery("history"))


def _broken(overdue, today: dt.date):
    """Per overdue customer: promises broken in the last 12 months, counting an open one
    whose day passed short (promise_state's rule, in SQL)."""
    since = today - dt.timedelta(days=risk.BROKEN_WINDOW_DAYS)
    broken = or_(PromiseToPay.status == PromiseStatus.BROKEN,
                 and_(PromiseToPay.status == PromiseStatus.OPEN,
                      PromiseToPay.promised_for < today,
                      paid_towards_sql() < PromiseToPay.amount))
    return (select(PromiseToPay.customer_id.label("customer_id"),
                   type_coerce(func.count(), Integer).label("broken"))
            .where(broken, PromiseToPay.promised_for >= since,
                   PromiseToPay.customer_id.in_(select(overdue.c.customer_id)))
            .group_by(PromiseToPay.customer_id).subquery("broken"))


def _filtered(stmt, overdue, filters: Filters, today: dt.date):
    if filters.mine:
        stmt = stmt.where(Customer.id.in_(select(CollectionTask.customer_id).where(
            CollectionTask.agent_id == filters.mine,
            CollectionTask.status == TaskStatus.OPEN)))
    if filters.min_days > 0:
        stmt = stmt.where(overdue.c.oldest_due <= today - dt.timedelta(days=filters.min_days))
    if query := filters.query.strip()[:100]:
        stmt = stmt.where(or_(Customer.name.ilike(f"%{query}%"),
                              Customer.number == query.upper()))
    return stmt


def ranked(today: dt.date, filters: Filters = Filters()):
    """The statement of the ranked worklist (all accounts), and its count."""
    overdue = _overdue(today)
    history, broken = _history(overdue), _broken(overdue, today)
    days = days_between(overdue.c.oldest_due, literal(today, Date))
    late_days = func.coalesce(history.c.late_days, 0)
    paid = func.coalesce(history.c.paid, 0)
    broken_count = func.coalesce(broken.c.broken, 0)
    score = risk.score_sql(days=days, amount=overdue.c.overdue, late_days=late_days,
                           paid=paid, broken=broken_count)
    stmt = (select(Customer.id, Customer.number, Customer.name, Customer.currency,
                   overdue.c.overdue, days.label("days"), overdue.c.overdue_items,
                   late_days.label("late_days"), paid.label("paid"),
                   broken_count.label("broken"), score.label("score"))
            .join(overdue, overdue.c.customer_id == Customer.id)
            .outerjoin(history, history.c.customer_id == Customer.id)
            .outerjoin(broken, broken.c.customer_id == Customer.id)
            .order_by(score.desc(), overdue.c.overdue.desc(), Customer.id))
    count = select(func.count()).select_from(Customer).join(
        overdue, overdue.c.customer_id == Customer.id)
    return _filtered(stmt, overdue, filters, today), _filtered(count, overdue, filters, today)


def worklist(session: Session, filters: Filters = Filters(), *, page: int = 1,
             per_page: int = 25, today: dt.date | None = None) -> Page[Row]:
    today = today or clock.today()
    stmt, count = ranked(today, filters)
    found = paginate(session, stmt, page=page, per_page=per_page, count=count)
    first = (found.page - 1) * found.per_page
    rows = [_row(first + i + 1, r) for i, r in enumerate(found.items)]
    _details(session, rows, today)
    return Page(rows, found.page, found.per_page, found.total)


def _row(rank: int, r) -> Row:
    overdue = Decimal(r.overdue)
    row = Row(rank=rank, customer_id=r.id, number=r.number, name=r.name, currency=r.currency,
              overdue=overdue, days=int(r.days), items=int(r.overdue_items),
              risk=risk.explain(days=int(r.days), amount=overdue, currency=r.currency,
                                late_days=int(r.late_days), paid=int(r.paid),
                                broken=int(r.broken)))
    row.sql_score = int(r.score)
    return row


def _details(session: Session, rows: list[Row], today: dt.date) -> None:
    """Fill the page's rows with what the list shows beside the score: four queries."""
    if not rows:
        return
    ids = [r.customer_id for r in rows]
    by_id = {r.customer_id: r for r in rows}
    latest = (select(CollectionContact.customer_id, func.max(CollectionContact.id).label("id"))
              .where(CollectionContact.customer_id.in_(ids))
              .group_by(CollectionContact.customer_id).subquery())
    for contact in session.scalars(select(CollectionContact).join(
            latest, latest.c.id == CollectionContact.id)):
        by_id[contact.customer_id].last_contact = contact
    since = today - dt.timedelta(days=risk.BROKEN_WINDOW_DAYS)
    promises = session.execute(
        select(PromiseToPay, paid_towards_sql().label("paid"))
        .where(PromiseToPay.customer_id.in_(ids),
               PromiseToPay.status.in_([PromiseStatus.OPEN, PromiseStatus.BROKEN]),
               PromiseToPay.promised_for >= since)
        .order_by(PromiseToPay.promised_for, PromiseToPay.id)).all()
    for promise, paid in promises:
        row = by_id[promise.customer_id]
        state = promise_state(promise, Decimal(paid or 0), today)
        if state == PromiseStatus.BROKEN:
            row.broken_promises += 1
        elif state == PromiseStatus.OPEN and row.open_promise is None:
            row.open_promise = promise
    for customer_id, n in session.execute(
            select(Dispute.customer_id, func.count()).where(
                Dispute.customer_id.in_(ids), Dispute.status == DisputeStatus.OPEN)
            .group_by(Dispute.customer_id)):
        by_id[customer_id].disputes = n
        by_id[customer_id].risk = _with_disputes(by_id[customer_id].risk, n)
    for customer_id, due in session.execute(
            select(CollectionTask.customer_id, func.min(CollectionTask.due_on)).where(
                CollectionTask.customer_id.in_(ids), CollectionTask.status == TaskStatus.OPEN)
            .group_by(CollectionTask.customer_id)):
        by_id[customer_id].next_task = due


def _with_disputes(found: risk.Risk, disputes: int) -> risk.Risk:
    return risk.Risk([*found.parts, risk.Part(
        0, f"{disputes} open dispute{'' if disputes == 1 else 's'} (no points)")])


# --- one account --------------------------------------------------------------------------

@dataclass
class PromiseView:
    promise: PromiseToPay
    paid: Decimal
    state: PromiseStatus


@dataclass
class Item:
    invoice: Invoice
    days: int  # overdue (0: not yet due)
    dispute: Dispute | None = None
    promise: PromiseToPay | None = None  # an open promise covering it


@dataclass
class Account:
    customer: Customer
    today: dt.date
    row: Row | None  # its worklist row (None: nothing overdue)
    items: list[Item] = field(default_factory=list)
    promises: list[PromiseView] = field(default_factory=list)
    contacts: list[CollectionContact] = field(default_factory=list)
    disputes: list[Dispute] = field(default_factory=list)
    tasks: list[CollectionTask] = field(default_factory=list)
    agents: dict[int, Agent] = field(default_factory=dict)

    @property
    def overdue_ids(self) -> list[int]:
        return [i.invoice.id for i in self.items if i.days > 0]

    @property
    def broken(self) -> list[PromiseView]:
        return [p for p in self.promises if p.state == PromiseStatus.BROKEN]


def account(session: Session, customer: Customer, *, today: dt.date | None = None,
            history: int = 50) -> Account:
    """Everything the account page shows: open items with their dispute and promise
    markers, the score, promises (with their state today), calls, disputes, tasks."""
    today = today or clock.today()
    stmt, _ = ranked(today)
    found = session.execute(stmt.where(Customer.id == customer.id)).first()
    row = _row(0, found) if found else None
    if row:
        _details(session, [row], today)
    invoices = list(session.scalars(
        select(Invoice).where(Invoice.customer_id == customer.id, Invoice.kind == "invoice",
                              Invoice.amount_open > 0).order_by(Invoice.due_date, Invoice.id)))
    promises = list(session.scalars(
        select(PromiseToPay).where(PromiseToPay.customer_id == customer.id)
        .options(selectinload(PromiseToPay.invoices))
        .order_by(PromiseToPay.made_at.desc(), PromiseToPay.id.desc()).limit(history)))
    paid = paid_towards(session, [p.id for p in promises])
    views = [PromiseView(p, paid[p.id], promise_state(p, paid[p.id], today)) for p in promises]
    disputes = list(session.scalars(
        select(Dispute).where(Dispute.customer_id == customer.id)
        .options(selectinload(Dispute.invoice))
        .order_by(Dispute.status, Dispute.opened_at.desc()).limit(history)))
    open_disputes = {d.invoice_id: d for d in disputes if d.status == DisputeStatus.OPEN}
    covered: dict[int, PromiseToPay] = {}
    for view in views:
        if view.state == PromiseStatus.OPEN:
            for invoice in view.promise.invoices:
                covered.setdefault(invoice.id, view.promise)
    items = [Item(i, max(0, (today - i.due_date).days), open_disputes.get(i.id),
                  covered.get(i.id)) for i in invoices]
    contacts = list(session.scalars(
        select(CollectionContact).where(CollectionContact.customer_id == customer.id)
        .order_by(CollectionContact.at.desc(), CollectionContact.id.desc()).limit(history)))
    tasks = list(session.scalars(
        select(CollectionTask).where(CollectionTask.customer_id == customer.id)
        .order_by(CollectionTask.status, CollectionTask.due_on, CollectionTask.id)
        .limit(history)))
    agent_ids = {t.agent_id for t in tasks} | {d.assigned_to_id for d in disputes}
    agent_ids.discard(None)
    agents = {a.id: a for a in session.scalars(select(Agent).where(Agent.id.in_(agent_ids)))
              } if agent_ids else {}
    return Account(customer, today, row, items, views, contacts, disputes, tasks, agents)


# --- my follow-ups ------------------------------------------------------------------------

def my_tasks(session: Session, agent_id: int, *, page: int = 1, per_page: int = 50,
             include_done: bool = False) -> Page:
    """The agent's follow-ups, the earliest due first: (task, customer) rows."""
    stmt = (select(CollectionTask, Customer)
            .join(Customer, Customer.id == CollectionTask.customer_id)
            .where(CollectionTask.agent_id == agent_id)
            .order_by(CollectionTask.due_on, CollectionTask.id))
    if not include_done:
        stmt = stmt.where(CollectionTask.status == TaskStatus.OPEN)
    return paginate(session, stmt, page=page, per_page=per_page)
