"""Statements of account sent by e-mail: on demand from the console, and each month on
STATEMENT_DAY for the month before to every customer with open items or activity (once:
a StatementSend row per customer and period, so a second run sends nothing). The mail goes
after commit (core.events.StatementEmailRequested -> core.notifications), the PDF attached.
"""
from __future__ import annotations

import datetime as dt

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


def sent_for(session: Session, customer_id: int, period: statements.Period
             ) -> StatementSend | None:
    return session.scalar(select(StatementSend).where(StatementSend.customer_id == customer_id,
                                                      StatementSend.period_end == period.end))


def recent_sends(session: Session, customer_id: int, *, limit: int = 12) -> list[StatementSend]:
    """The customer's statements sent, latest period first. One query."""
    return list(session.scalars(select(StatementSend).where(
        StatementSend.customer_id == customer_id)
        .order_by(StatementSend.period_end.desc(), StatementSend.id.desc()).limit(limit)))


def email_statement(session: Session, customer: Customer, period: statements.Period, *,
                    actor: audit.Actor, again: bool = True) -> StatementSend | None:
    """E-mail the customer's statement for the period once this commits. With `again`
    (a controller's button) it goes even when that period was sent before; without it (the
    monthly run) a period already sent sends nothing and None comes back. Flushes."""
    if not customer.email:
        raise BillingError(f"{customer.name} has no e-mail address for the statement.")
    existing = sent_for(session, customer.id, period)
    if existing is not None and not again:
        return None
    if existing is None:
        try:
            with session.begin_nested():
                existing = StatementSend(customer_id=customer.id, period_start=period.start,
                                         period_end=period.end, email=customer.email,
                                         sent_at=clock.now())
                session.add(existing)
        except IntegrityError:  # another run got there first
            if not again:
                return None
            existing = sent_for(session, customer.id, period)
    else:
        existing.email, existing.sent_at = customer.email, clock.now()
    audit.record(session, "statement.emailed", actor=actor, channel="backoffice",
                 subject=customer, data={"period_start": period.start.isoformat(),
                                         "period_end": period.end.isoformat(),
                                         "to": customer.email})
    events.record(session, events.StatementEmailRequested(existing.id))
    session.flush()
    return existing


def customers_to_tell(session: Session, period: statements.Period) -> list[int]:
    """Customers with a balance at the end of the period or entries in it (on receivables
    or customer credit), an e-mail address, and no statement for it yet. One query."""
    start = dt.datetime.combine(period.start, dt.time(), tzinfo=dt.timezone.utc)
    sent = select(StatementSend.customer_id).where(StatementSend.period_end == period.end)
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


def send_monthly(session: Session, *, statement_day: int, today: dt.date | None = None,
                 force: bool = False) -> int:
    """On `statement_day` (or `force`), last month's statement to every customer who has
    one coming; each customer and period once, however often this runs. Returns how many
    were queued. Flushes; the caller commits (the mails go then)."""
    today = today or clock.today()
    if today.day != statement_day and not force:
        return 0
    period = statements.last_month(today)
    sent = 0
    for customer_id in customers_to_tell(session, period):
        customer = session.get(Customer, customer_id)
        if email_statement(session, customer, period, actor=SYSTEM, again=False):
            sent += 1
    return sent
