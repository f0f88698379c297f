"""Read side of customers: a customer by number, whether they can sign in, their addresses.

The Customer 360 page, which also reads orders, carts and payments, is
core.workflows.customer_360.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.customers.models import Customer, CustomerAddress, CustomerUser
from core.errors import NotFound


def customer_by_number(session: Session, number: str) -> Customer:
    """The customer with this number (any case); NotFound otherwise."""
    customer = session.scalar(select(Customer).where(Customer.number == number.strip().upper()))
    if customer is None:
        raise NotFound("We could not find that customer.")
    return customer


def can_sign_in(session: Session, customer_id: int | None) -> bool:
    """Whether the customer has an active login to the shop (links in e-mails go to the
    account then)."""
    if customer_id is None:
        return False
    return session.scalar(select(CustomerUser.id).where(
        CustomerUser.customer_id == customer_id, CustomerUser.active.is_(True)).limit(1)) is not None


def addresses(session: Session, customer_id: int) -> list[CustomerAddress]:
    return list(session.scalars(
        select(CustomerAddress).where(CustomerAddress.customer_id == customer_id)
        .order_by(CustomerAddress.default_shipping.desc(), CustomerAddress.id)))
