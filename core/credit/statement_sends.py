"""Statements of account sent by e-mail: on demand from the console, and each month on
STATEMENT_DAY for the month before to every customer with open items or activity. The mail
goes after commit (core.events.StatementEmailRequested -> core.notifications), the PDF of
the StatementSend row's own period attached.

- Monthly: the row's `key` is "monthly:<customer id>:<period end>" (unique), so a month is
  sent to a customer once, however often (or however concurrently) the run goes: a second
  insert of the key fails in its savepoint and sends nothing.
- On demand: a new row each time (kind "on_demand", no key), for exactly the period asked
  for; the same customer and period asked for again within DOUBLE_SUBMIT (a double click, a
  resubmitted form) sends nothing more.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from sqlalchemy import and_, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit, clock, events
from core.billing import ageing, statements
from core.billing.errors import BillingError
from core.billing.models import JournalEntry, JournalLine
from core.credit.models import StatementSend
from core.customers.models import Customer

SYSTEM = audit.Actor.system("monthly statements")
MONTHLY, ON_DEMAND = "monthly", "on_demand"
DOUBLE_SUBMIT = dt.timedelta(seconds=60)
BATCH = 200  # the monthly run: customers loaded, and sends committed, this many at a time


def monthly_key(customer_id: int, period: statements.Period) -> str:
    return f"{MONTHLY}:{customer_id}:{period.end.isoformat()}"


def sent_for(session: Session, customer_id: int, period: statements.Period
             ) -> StatementSend | None:
    """The monthly statement sent to the customer for the period, if any. One query."""
    return session.scalar(select(StatementSend).where(
        StatementSend.key == monthly_key(customer_id, period)))


def recent_sends(session: Session, customer_id: int, *, limit: int = 12) -> list[StatementSend]:
    """The customer's statements sent, latest period first. One query."""
    return list(session.scalars(select(StatementSend).where(
        StatementSend.customer_id == customer_id)
        .order_by(StatementSend.period_end.desc(), StatementSend.id.desc()).limit(limit)))


def _queue(session: Session, send: StatementSend, customer: Customer, *,
           actor: audit.Actor) -> StatementSend:
    audit.record(session, "statement.emailed", actor=actor, channel="backoffice",
                 subject=customer, data={"kind": send.kind,
                                         "period_start": send.period_start.isoformat(),
                                         "period_end": send.period_end.isoformat(),
                                         "to": send.email})
    events.record(session, events.StatementEmailRequested(send.id))
    session.flush()
    return send


def email_statement(session: Session, customer: Customer, period: statements.Period, *,
                    actor: audit.Actor) -> StatementSend:
    """E-mail the customer's statement for exactly this period once this commits (a
    controller's button): a new StatementSend each time. The same customer and period asked
    for on demand within DOUBLE_SUBMIT sends nothing more and answers the send already made
    (the customer's row is locked first, so two such requests at once are told apart).
    Flushes."""
    if not customer.email:
        raise BillingError(f"{customer.name} has no e-mail address for the statement.")
    session.scalar(select(Customer.id).where(Customer.id == customer.id).with_for_update())
    now = clock.now()
    just_sent = session.scalar(select(StatementSend).where(
        StatementSend.customer_id == customer.id, StatementSend.kind == ON_DEMAND,
        StatementSend.period_start == period.start, StatementSend.period_end == period.end,
        StatementSend.sent_at > now - DOUBLE_SUBMIT)
        .order_by(StatementSend.id.desc()).limit(1))
    if just_sent is not None:
        return just_sent
    send = StatementSend(customer_id=customer.id, kind=ON_DEMAND, key=None,
                         period_start=period.start, period_end=period.end,
                         email=customer.email, sent_at=now)
    session.add(send)
    session.flush()
    return _queue(session, send, customer, actor=actor)


def send_monthly_statement(session: Session, customer: Customer, period: statements.Period,
                           *, actor: audit.Actor = SYSTEM) -> StatementSend | None:
    """The monthly statement for the period, once per customer and period (its key): None
    when it was sent before, by this run or another at the same time. Flushes."""
    if not customer.email:
        return None
    try:
        with session.begin_nested():
            send = StatementSend(customer_id=customer.id, kind=MONTHLY,
                                 key=monthly_key(customer.id, period),
                                 period_start=period.start, period_end=period.end,
                                 email=customer.email, sent_at=clock.now())
            session.add(send)
    except IntegrityError:  # the key is taken: sent already
        return None
    return _queue(session, send, customer, actor=actor)


def customers_to_tell(session: Session, period: statements.Period) -> list[int]:
    """Customers with a balance at the end of the period or entries in it (on receivables
    or customer credit), an e-mail address, and no monthly statement for it yet. One
    query."""
    start = clock.day_start(period.start)
    sent = select(StatementSend.customer_id).where(StatementSend.kind == MONTHLY,
                                                   StatementSend.period_end == period.end)
    rows = session.execute(
        select(JournalLine.customer_id)
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .join(Customer, and_(Customer.id == JournalLine.customer_id,
                             JournalEntry.currency == Customer.currency))
        .where(JournalLine.account_code.in_(statements.ACCOUNTS),
               JournalEntry.posted_at < ageing.end_of(period.end), Customer.email != "",
               JournalLine.customer_id.not_in(sent))
        .group_by(JournalLine.customer_id)
        .having((func.sum(JournalLine.debit - JournalLine.credit) != 0)
                | (func.count(case((JournalEntry.posted_at >= start, 1))) > 0))
        .order_by(JournalLine.customer_id))
    return [cid for (cid,) in rows]


def _batches(ids: list[int], size: int) -> Iterator[list[int]]:
    for at in range(0, len(ids), size):
        yield ids[at:at + size]


def send_monthly(session: Session, *, statement_day: int, today: dt.date | None = None,
                 force: bool = False, batch: int = BATCH) -> int:
    """On `statement_day` (or `force`), last month's statement to every customer who has
    one coming; each customer and period once, however often this runs. The customers are
    loaded `batch` at a time (a query per batch) and each batch's sends are committed
    (their mails go then), so a run stopped half-way keeps what it sent and the next run
    sends only the rest. Returns how many were queued."""
    today = today or clock.today()
    if today.day != statement_day and not force:
        return 0
    period = statements.last_month(today)
    sent = 0
    for ids in _batches(customers_to_tell(session, period), batch):
        customers = session.scalars(select(Customer).where(Customer.id.in_(ids))
                                    .order_by(Customer.id))
        for customer in customers:
            if send_monthly_statement(session, customer, period) is not None:
                sent += 1
        session.commit()
    return sent
