"""Logging a contact with a customer: the order it was about must be one of theirs."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.customers import services as customers
from core.customers.errors import InvalidInput
from core.customers.models import Customer, Interaction
from core.orders.models import Order


def log_interaction(session: Session, customer: Customer, *, actor: audit.Actor,
                    reason: str, outcome: str, channel: str = "phone", note: str = "",
                    order_number: str = "") -> Interaction:
    """Record one contact with the customer: why they called and how it ended, and the
    order it was about, which must be one of theirs."""
    customers.check_interaction(reason=reason, outcome=outcome, channel=channel, note=note)
    order_number = order_number.strip().upper()
    if order_number and session.scalar(select(Order.id).where(
            Order.number == order_number, Order.customer_id == customer.id)) is None:
        raise InvalidInput(f"{order_number} is not an order of this customer.",
                           field="order_number")
    return customers.log_interaction(session, customer, actor=actor, reason=reason,
                                     outcome=outcome, channel=channel, note=note,
                                     order_number=order_number)
