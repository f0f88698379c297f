"""Demo credit management (issue 15), through the real services (core.credit.limits, the
phone order service and its credit check); only dates are moved into the past:

* Acme Corp's credit limit has a history of two changes (cut to 20,000 while invoices were
  late, back to 25,000 once they were paid) and its next review is next month;
* Hartmann Bürobedarf's review is past due, so its newest order on account waits on a
  credit hold, reason "Credit review past due";
* a console login for a credit controller: credit@marketline.example (Carla Credit, the
  credit role only).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, clock
from core.agents.models import Agent
from core.agents.services import create_agent
from core.config import Settings
from core.credit import limits
from core.credit.models import CreditLimitChange
from core.customers.models import Customer, CustomerAddress
from core.numbering import next_number

CREDIT_AGENT = ("credit@marketline.example", "Carla Credit", ["credit"])
DEMO_PASSWORD = "demo-pass-1"  # as core.demo's accounts
HARTMANN = dict(name="Hartmann Bürobedarf KG", email="einkauf@hartmann-buero.example",
                phone="+49 221 555 0163")
HARTMANN_ADDRESS = dict(full_name="Hartmann Wareneingang", company="Hartmann Bürobedarf KG",
                        line1="Hohe Straße 41", city="Köln", postal_code="50667", region="NW",
                        country="DE", phone="+49 221 555 0163")
REVIEW_PAST_DUE_DAYS = 12


def _backdate(change: CreditLimitChange, days_ago: int) -> None:
    change.changed_at = clock.now() - dt.timedelta(days=days_ago)


def load_credit(session: Session) -> str:
    """Flushes; the caller commits."""
    from core.demo.orders import take_phone_order  # the demo's phone orders, on account
    settings = Settings()
    carla = create_agent(session, email=CREDIT_AGENT[0], full_name=CREDIT_AGENT[1],
                         password=DEMO_PASSWORD, roles=CREDIT_AGENT[2],
                         actor=audit.Actor.system("demo"))
    session.flush()
    actor = audit.Actor("agent", carla.id, CREDIT_AGENT[0])
    roles = CREDIT_AGENT[2]
    today = clock.today()

    acme = session.scalar(select(Customer).where(Customer.name == "Acme Corp"))
    cut = limits.set_credit_limit(
        session, acme, Decimal("20000.00"), review_on=today + dt.timedelta(days=30),
        note="Cut while three invoices ran over 30 days late.", actor=actor, roles=roles,
        settings=settings)
    _backdate(cut, 150)
    back = limits.set_credit_limit(
        session, acme, Decimal("25000.00"), review_on=limits.add_months(today, 1),
        note="Back to 25,000: the late invoices are paid, bank reference checked.",
        actor=actor, roles=roles, settings=settings)
    _backdate(back, 60)

    hartmann = _hartmann(session)
    change = limits.set_credit_limit(
        session, hartmann, Decimal("8000.00"), review_on=today,
        note="Opening limit on trade references.", actor=actor, roles=roles,
        settings=settings)
    # A year has passed since: the review it set is past due.
    past = today - dt.timedelta(days=REVIEW_PAST_DUE_DAYS)
    _backdate(change, 365 + REVIEW_PAST_DUE_DAYS)
    change.review_after = hartmann.credit_review_on = past
    session.flush()
    agent = session.scalar(select(Agent).where(Agent.email == "agent@marketline.example"))
    held = take_phone_order(session, hartmann, agent, [("PAP-A4-80-BOX", 5),
                                                       ("TON-TN3430", 1)], 0,
                            key="demo-credit-review", po="HB-2231")
    [hold] = held.active_holds
    session.flush()
    return (f"Credit: {acme.name}'s limit has two changes and is reviewed on "
            f"{acme.credit_review_on.isoformat()}; {hartmann.name}'s review is past due, so "
            f"order {held.number} waits on a credit hold ({hold.reason_code}); "
            f"{CREDIT_AGENT[0]} is the credit controller.")


def _hartmann(session: Session) -> Customer:
    """A stationery wholesaler on account (its own customer, so the other demo customers'
    balances stay as they were)."""
    who = Customer(number=next_number(session, "customer"), kind="company",
                   name=HARTMANN["name"], email=HARTMANN["email"], phone=HARTMANN["phone"],
                   phone_digits="".join(ch for ch in HARTMANN["phone"] if ch.isdigit()),
                   price_group="business", payment_terms="net30", on_account_allowed=True,
                   postal_code=HARTMANN_ADDRESS["postal_code"])
    session.add(who)
    session.add(CustomerAddress(customer=who, label="Office", default_shipping=True,
                                default_billing=True, **HARTMANN_ADDRESS))
    session.flush()
    return who
