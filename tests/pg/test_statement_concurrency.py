"""Statements of account under real concurrency (PostgreSQL, READ COMMITTED):

* monthly runs at the same time: each customer is sent last month's statement once (the
  loser of the race on the row's unique key sends nothing), whatever the batches;
* "E-mail statement" pressed twice at once for one customer and period: one e-mail (the
  customer's row lock orders the two; the second sees the first's send).

Committed data (threads need their own connections); the sends and their audit rows are
removed afterwards. Nothing is e-mailed (the sessions are silenced).
"""
from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core import events
from core.audit import Actor, AuditEvent
from core.credit import statement_sends
from core.credit.models import StatementSend
from core.customers.models import Customer
from tests.helpers import run_threads

CLERK = Actor.system("statement race")


@pytest.fixture
def cleanup(engine):
    with Session(engine) as s:
        sends = s.scalar(select(func.max(StatementSend.id))) or 0
        audits = s.scalar(select(func.max(AuditEvent.id))) or 0
    yield
    with Session(engine) as s:
        s.execute(delete(StatementSend).where(StatementSend.id > sends))
        s.execute(delete(AuditEvent).where(AuditEvent.id > audits,
                                           AuditEvent.action == "statement.emailed"))
        s.commit()


def test_monthly_runs_at_once_send_each_customer_once(engine, cleanup):
    period = statement_sends.statements.last_month()
    with Session(engine) as s:
        due = statement_sends.customers_to_tell(s, period)
    assert due, "the demo has customers with a balance"

    def run(_):
        with Session(engine) as session:
            events.silence(session)
            return statement_sends.send_monthly(session, statement_day=1, force=True, batch=2)

    sent = run_threads(4, run)
    with Session(engine) as s:
        rows = s.execute(select(StatementSend.customer_id, func.count())
                         .where(StatementSend.kind == "monthly",
                                StatementSend.period_end == period.end)
                         .group_by(StatementSend.customer_id)).all()
        assert statement_sends.customers_to_tell(s, period) == []
    counts = dict(rows)
    assert set(due) <= set(counts) and set(counts.values()) == {1}
    assert sum(sent) == len(due)


def test_email_statement_pressed_twice_at_once_sends_once(engine, cleanup):
    period = statement_sends.statements.last_month()
    with Session(engine) as s:
        acme = s.scalar(select(Customer.id).where(Customer.name == "Acme Corp"))

    def press(_):
        with Session(engine) as session:
            events.silence(session)
            customer = session.get(Customer, acme)
            send = statement_sends.email_statement(session, customer, period, actor=CLERK)
            session.commit()
            return send.id

    ids = run_threads(2, press)
    assert ids[0] == ids[1]
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(StatementSend).where(
            StatementSend.customer_id == acme, StatementSend.kind == "on_demand")) == 1
