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

from sqlalchemy.orm import Session

from core import audit
from core.credit.exposure import OVERDUE_DAYS, Exposure, exposure
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


def check_order(session: Session, order: Order, *, actor: audit.Actor,
                overdue_days: int = OVERDUE_DAYS) -> OrderHold | None:
    """Put an order on account on a credit hold when its customer has invoices overdue
    more than `overdue_days` or is over their credit limit with it; the hold (an active
    credit hold the order already had, if any), or None when it passes. Flushes; never
    raises for the check itself."""
    if order.payment_method != "on_account" or order.customer_id is None:
        return None
    if order.status in holds.CLOSED_STATUSES:
        return None
    if existing := next((h for h in order.active_holds if h.kind == "credit"), None):
        return existing
    customer = session.get(Customer, order.customer_id)
    found = exposure(session, customer, overdue_days=overdue_days)
    if found.overdue:
        reason, note = "overdue_items", overdue_note(found)
    elif found.over_limit:
        reason, note = "over_limit", over_limit_note(found, order)
    else:
        return None
    return holds.place_hold(session, order, kind="credit", reason_code=reason,
                            note=note[:NOTE_LIMIT], actor=actor,
                            channel=order.channel_code)
