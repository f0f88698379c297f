"""Demo for the daily-use work of the console: a phone order waiting for its customer to pay
by the link the agent e-mailed (the Awaiting payment worklist, with Take card payment and
Send the link again on its page), and an order on a manual hold until a day the customer
asked for (the Holds worklist's Until column). Through the real services: phone order entry
(core.workflows.phone_orders) and holds (core.orders.holds). Loaded last, so the orders
before it keep their numbers.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.agents.models import Agent
from core.customers.models import Customer, CustomerAddress
from core.demo.orders import LIMITS, OVERDUE_DAYS, _backdate, _variants
from core.orders import holds
from core.orders.models import Order
from core.workflows import phone_orders as phone

CONSUMER_EMAIL = "gabi@example.com"  # Gabi Gift; the tests sign in as Sam Shopper
BIRCH_EMAIL = "accounts@birch.example"
WAIT_DAYS = 9


def _order(session: Session, customer: Customer, agent: Agent, lines: list[tuple[str, int]],
           *, payment_method: str, key: str, address: dict) -> Order:
    sku = _variants(session)
    return phone.place_phone_order(
        session, customer=customer, agent=agent, lines=[(sku[s], q) for s, q in lines],
        overrides={}, coupon_codes=[], shipping_address=address, shipping_method="standard",
        payment_method=payment_method, settings_limits=LIMITS, idempotency_key=key,
        overdue_days=OVERDUE_DAYS)


def _address(session: Session, customer: Customer) -> dict:
    found = session.scalar(select(CustomerAddress).where(
        CustomerAddress.customer_id == customer.id, CustomerAddress.default_shipping))
    if found is not None:
        return found.as_dict()
    return dict(full_name=customer.name, line1="Torstraße 12", city="Berlin",
                postal_code="10119", country="DE", phone=customer.phone or "")


def load_daily_use(session: Session) -> str:
    """Runs once (a second call changes nothing). Flushes."""
    if session.scalar(select(Order.id).where(Order.idempotency_key == "demo-daily-paylink")):
        return ""
    agent = session.scalar(select(Agent).where(Agent.email == "agent@marketline.example"))
    gabi = session.scalar(select(Customer).where(Customer.email == CONSUMER_EMAIL))
    birch = session.scalar(select(Customer).where(Customer.email == BIRCH_EMAIL))
    if agent is None or gabi is None or birch is None:
        return ""
    waiting = _order(session, gabi, agent, [("PEN-G2-BLU", 3)], payment_method="pay_link",
                     key="demo-daily-paylink", address=_address(session, gabi))
    _backdate(session, waiting, 1)
    later = _order(session, birch, agent, [("STN-76-YEL", 6)], payment_method="on_account",
                   key="demo-daily-hold", address=_address(session, birch))
    holds.place_hold(session, later, kind="manual", reason_code="customer_request",
                     note="Deliver after the 15th: the office is closed until then.",
                     actor=phone._actor(agent), until=clock.today() + dt.timedelta(days=WAIT_DAYS))
    session.flush()
    return (f"Phone order {waiting.number} awaits payment by link; {later.number} is on hold "
            f"until the customer's day.")
