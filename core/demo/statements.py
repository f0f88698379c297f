"""A statement of account already sent: last month's, to Acme Corp, through the real service
(the demo's e-mails are silenced), so the console's statement page lists it."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.agents.models import Agent
from core.agents.services import actor_for
from core.billing import statements
from core.credit import statement_sends
from core.customers.models import Customer


def load_statements(session: Session) -> str:
    """Flushes; the caller commits."""
    acme = session.scalar(select(Customer).where(Customer.name == "Acme Corp"))
    billing = session.scalar(select(Agent).where(Agent.email == "billing@marketline.example"))
    period = statements.last_month()
    statement_sends.email_statement(session, acme, period, actor=actor_for(billing))
    return f"Acme's statement of account for {period.label} was sent."
