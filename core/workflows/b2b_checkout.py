"""Checkout for companies: ship-to from the address book, a requested delivery date, payment
on account, and the checks that follow placement (credit, spending limits).

Who gets what: a signed-in login of a customer with an address book chooses the ship-to
from it (the default shipping address preselected) or enters a new one, saved to the book
when they ask and may keep the book (a person, or a company admin: core.customers.roles).
Payment on account is offered to customers allowed it (`on_account_allowed`): the order
needs no card and is confirmed at once, then credit-checked (core.credit.checks) and
spending-checked (core.workflows.approvals). Guests and consumers without a book keep the
plain checkout.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from core import audit
from core.credit import checks as credit_checks
from core.credit.exposure import OVERDUE_DAYS
from core.customers import roles
from core.customers.addresses import validate_address
from core.customers.models import CustomerAddress, CustomerUser
from core.customers.queries import addresses
from core.errors import DomainError
from core.orders import services as orders
from core.orders.models import Order, OrderHold
from core.workflows import approvals

PAYMENT_CHOICES = {"on_account": "On account (net 30)", "card": "Card"}
NEW = "new"


class CheckoutError(DomainError):
    code = "checkout"


def address_book(session: Session, user: CustomerUser | None) -> list[CustomerAddress]:
    """The ship-to addresses the login chooses from (none for a guest). One query."""
    return addresses(session, user.customer_id) if user is not None else []


def default_ship_to(book: list[CustomerAddress]) -> str:
    chosen = next((a for a in book if a.default_shipping), book[0] if book else None)
    return str(chosen.id) if chosen else NEW


def may_save_address(user: CustomerUser | None) -> bool:
    """Whether the login may add to the customer's address book."""
    return user is not None and (not roles.is_company(user) or roles.can_manage_company(user))


def offers_on_account(user: CustomerUser | None) -> bool:
    return user is not None and user.customer.on_account_allowed


def payment_label(user: CustomerUser) -> str:
    terms = user.customer.payment_terms
    return f"On account ({terms.replace('net', 'net ')})" if terms.startswith("net") else \
        "On account"


def ship_to(book: list[CustomerAddress], choice: str) -> dict[str, str] | None:
    """The book's address chosen (`choice` is its id), None for a new address; CheckoutError
    for an id that is not in the book (another customer's, or gone)."""
    if not choice or choice == NEW:
        return None
    found = next((a for a in book if str(a.id) == choice), None)
    if found is None:
        raise CheckoutError("Choose one of your addresses, or enter a new one.",
                            field="ship_to")
    return validate_address(found.as_dict())


def save_address(session: Session, user: CustomerUser, address: dict[str, str], *,
                 actor: audit.Actor) -> CustomerAddress:
    """Add a checked address to the login's customer's book (if they may). Flushes."""
    if not may_save_address(user):
        raise CheckoutError("Only your company's admin can add addresses to the book.",
                            field="save_address")
    saved = CustomerAddress(customer_id=user.customer_id, label="Added at checkout",
                            **validate_address(address))
    session.add(saved)
    session.flush()
    audit.record(session, "customer.address_added", actor=actor, channel="web",
                 subject=user.customer, data={"address": saved.id, "at": "checkout"})
    return saved


def set_requested_date(order: Order, requested: dt.date | None) -> None:
    """The delivery day the buyer asked for: never before the promised date."""
    if requested is None:
        return
    if order.promised_date and requested < order.promised_date:
        raise CheckoutError(
            f"The earliest we can deliver with this shipping method is "
            f"{order.promised_date.strftime('%a %d %b %Y')}; choose that day or a later one.",
            field="requested_date")
    order.requested_date = requested


def confirm_on_account(session: Session, order: Order, user: CustomerUser, *,
                       actor: audit.Actor, overdue_days: int = OVERDUE_DAYS
                       ) -> OrderHold | None:
    """Pay the new order on account: confirmed at once (no card), then credit-checked and
    spending-checked in the same transaction. The credit hold, if any. Flushes."""
    if not offers_on_account(user) or user.customer_id != order.customer_id:
        raise CheckoutError("Your account cannot order on account; pay by card.",
                            field="payment")
    orders.confirm_on_account(session, order, actor=actor)
    credit = credit_checks.check_order(session, order, actor=actor, overdue_days=overdue_days)
    approvals.spending_check(session, order, actor=actor)
    approvals.announce(session, order, actor=actor)
    return credit


def after_placement(session: Session, order: Order, *, actor: audit.Actor) -> None:
    """A card order just placed: held for approval if over the buyer's limits (the
    approvers are told once the card is authorised: `after_confirmation`). Flushes."""
    approvals.spending_check(session, order, actor=actor)


def after_confirmation(session: Session, order: Order, *, actor: audit.Actor) -> bool:
    """A shop order confirmed: tell the approvers if it waits for them (once)."""
    if order.customer_id is None or order.placed_by_kind != "customer":
        return False
    return approvals.announce(session, order, actor=actor)
