"""The credit check of an order on account (review finding M8).

Policy, for orders paid on account only (a card order is the bank's risk, not ours):

* invoices overdue more than CREDIT_OVERDUE_DAYS: a "credit" hold, reason `overdue_items`,
  whatever the limit (or none);
* else, when the customer's exposure with this order in it exceeds their credit limit: a
  "credit" hold, reason `over_limit`. No limit set means no limit check.

The hold's note gives the reason and the figures, so the credit team decides from the
worklist. The check never raises for a failed check: the order is kept, on hold, and only
an agent with the credit role (or admin) releases it (core.orders.holds.RELEASE_ROLES).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.credit.exposure import Exposure, exposure
from core.customers.models import Customer
from core.money import Money
from core.orders import holds
from core.orders.models import Order, OrderHold

NOTE_LIMIT = 1000  # the hold's note column


def _m(value, currency: str) -> str:
    return Money(value, currency).format()


def overdue_note(found: Exposure) -> str:
    listed = ", ".join(f"{i.number} ({_m(i.amount_open, found.currency)}, "
                       f"{i.days_overdue} days overdue)" for i in found.overdue[:10])
    more = f" and {len(found.overdue) - 10} more" if len(found.overdue) > 10 else ""
    return (f"{len(found.overdue)} invoice(s) overdue more than {found.overdue_days} days, "
            f"{_m(found.overdue_total, found.currency)} in all: {listed}{more}.")


def over_limit_note(found: Exposure, order: Order) -> str:
    c = found.currency
    return (f"Exposure {_m(found.total, c)} with order {order.number} "
            f"({_m(order.gross_total, c)}) is over the credit limit {_m(found.limit, c)} by "
            f"{_m(-found.headroom, c)}: open invoices {_m(found.open_receivables, c)}, "
            f"orders on account not yet invoiced {_m(found.uninvoiced_orders, c)}.")


def lock_customer(session: Session, customer_id: int) -> Customer:
    """The customer under its row lock (SELECT ... FOR UPDATE; nothing on SQLite), read
    afresh: checks of one customer's orders run one after the other, so two orders placed
    at once cannot together pass a limit each passes alone."""
    return session.scalar(select(Customer).where(Customer.id == customer_id)
                          .with_for_update().execution_options(populate_existing=True))


def other_currency_note(order: Order, customer: Customer) -> str:
    return (f"Order {order.number} is in {order.currency}, the customer's credit limit and "
            f"exposure are in {customer.currency}: it cannot be checked against them. "
            "Check the customer's credit by hand.")


def check_order(session: Session, order: Order, *, actor: audit.Actor,
                overdue_days: int) -> OrderHold | None:
    """Put an order on account on a credit hold when its customer has invoices overdue
    more than `overdue_days` (the CREDIT_OVERDUE_DAYS setting: every caller passes it)
    or is over their credit limit with it, or when the order is in another currency than
    the customer's (it cannot be checked: reason `credit_check`); the hold (an active
    credit hold the order already had, if any), or None when it passes. The customer's
    row is locked first, so concurrent checks of one customer queue. Flushes; never
    raises for the check itself."""
    if order.payment_method != "on_account" or order.customer_id is None:
        return None
    if order.status in holds.CLOSED_STATUSES:
        return None
    if existing := next((h for h in order.active_holds if h.kind == "credit"), None):
        return existing
    customer = lock_customer(session, order.customer_id)
    found = exposure(session, customer, overdue_days=overdue_days)
    if order.currency != customer.currency:
        reason, note = "credit_check", other_currency_note(order, customer)
    elif found.overdue:
        reason, note = "overdue_items", overdue_note(found)
    elif found.over_limit:
        reason, note = "over_limit", over_limit_note(found, order)
    else:
        return None
    return holds.place_hold(session, order, kind="credit", reason_code=reason,
                            note=note[:NOTE_LIMIT], actor=actor,
                            channel=order.channel_code)
