"""Demo data of company accounts, made through core.customers.company as an admin would:
Ada Admin has invited a new Acme buyer who has not set up the login yet, and Acme ships to
a second address (its Hamburg warehouse) besides the head office."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.customers import company
from core.customers.models import Customer, CustomerUser

INVITEE = dict(email="ivan@acme.example", full_name="Ivan Invitee")
WAREHOUSE = dict(full_name="Acme Corp Warehouse", company="Acme Corp",
                 line1="Am Sandtorkai 40", city="Hamburg", postal_code="20457",
                 country="DE", region="HH", phone="+49 40 555 0170")


def load_company(session: Session) -> str:
    """Flushes; the caller commits. The demo's events are silenced, so the invitation is not
    mailed: Ada's Resend invitation on the Company page mails a fresh link."""
    acme = session.scalar(select(Customer).where(Customer.name == "Acme Corp"))
    ada = session.scalar(select(CustomerUser).where(CustomerUser.email == "admin@acme.example"))
    company.invite_buyer(session, acme, email=INVITEE["email"], full_name=INVITEE["full_name"],
                         role="buyer", order_limit=Decimal("300.00"), monthly_limit=None,
                         actor=ada)
    company.add_address(session, acme, WAREHOUSE, label="Hamburg warehouse", actor=ada)
    return (f"Acme has an invitation pending for {INVITEE['full_name']} and ships to its "
            "Hamburg warehouse too.")
