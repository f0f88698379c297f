"""Demo collections: Birch & Co's overdue account has a call logged today with a promise to
pay next week; Acme broke a promise ten days ago, and its overdue invoice is now under
dispute, assigned to the billing agent; Bill Billing has a follow-up due tomorrow.

Through the collections services; the broken promise is made with core.clock moved back ten
days and settled by the daily review, as it would have been."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.agents.models import Agent
from core.agents.services import actor_for
from core.billing.models import Invoice
from core.credit import collections
from core.customers.models import Customer

AGO = 10  # days since Acme's broken promise was made


def _overdue(session: Session, customer: Customer) -> list[Invoice]:
    return [i for i in collections.open_invoices(session, customer)
            if i.due_date < clock.today()]


def _broken_promise(session: Session, acme: Customer, actor) -> None:
    """Ten days ago Acme promised to pay within three days, and did not. The clock goes
    back ten days and forward again by as much (never reset: an offset it had before, e.g.
    `flask clock` or a test's, stays)."""
    clock.travel(days=-AGO)
    try:
        due = _overdue(session, acme)
        if due:
            collections.promise_to_pay(  # made_at: core.clock's now, ten days ago
                session, acme, amount=Decimal("50.00"), invoices=[due[0].id],
                promised_for=clock.today() + dt.timedelta(days=3),
                note="Accounts payable will pay part this week.", actor=actor, log_call=True)
    finally:
        clock.travel(days=AGO)
    collections.review_promises(session)


def load_collections(session: Session) -> str:
    """Flushes; the caller commits."""
    billing = session.scalar(select(Agent).where(Agent.email == "billing@marketline.example"))
    actor = actor_for(billing)
    birch = session.scalar(select(Customer).where(Customer.name.like("Birch%")))
    acme = session.scalar(select(Customer).where(Customer.name == "Acme Corp"))
    _broken_promise(session, acme, actor)
    due = _overdue(session, birch)
    next_week = clock.today() + dt.timedelta(days=7)
    promise = collections.promise_to_pay(
        session, birch, amount=sum((i.amount_open for i in due), Decimal(0)),
        promised_for=next_week, invoices=[i.id for i in due], actor=actor, log_call=True,
        note="Ms Birch confirms the transfer goes out next week.")
    disputed = _overdue(session, acme)[0]
    collections.open_dispute(
        session, disputed, reason="Acme says two boxes of paper never arrived.",
        amount=None, assign_to=billing.id, actor=actor)
    collections.add_task(session, birch, agent_id=billing.id,
                         due_on=clock.today() + dt.timedelta(days=1),
                         note="Check Birch's remittance advice arrived.", actor=actor)
    session.flush()
    return (f"Collections: Birch promised {promise.amount:,.2f} EUR by "
            f"{next_week.isoformat()}; Acme broke a promise and disputes {disputed.number}, "
            "assigned to Bill Billing, who has a follow-up due tomorrow.")
