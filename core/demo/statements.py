"""A statement of account already sent: last month's, to Acme Corp, by the monthly run's
service (the demo's e-mails are silenced), so the console's statement page lists it."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.billing import statements
from core.credit import statement_sends
from core.customers.models import Customer


def load_statements(session: Session) -> str:
    """Flushes; the caller commits."""
    acme = session.scalar(select(Customer).where(Customer.name == "Acme Corp"))
    period = statements.last_month()
    statement_sends.send_monthly_statement(session, acme, period)
    return f"Acme's statement of account for {period.label} was sent."
