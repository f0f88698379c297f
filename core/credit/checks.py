"""The credit check of an order on account (review finding M8, issue 15).

Policy, for orders paid on account only (a card order is the bank's risk, not ours: it is
never checked). The blocking rules, each a "credit" hold with its reason:

* invoices overdue more than CREDIT_OVERDUE_DAYS: reason `overdue_items`, whatever the
  limit (or none);
* the customer's exposure with this order in it exceeds their credit limit: reason
  `over_limit`. No limit set means no limit check;
* the customer's credit review date has passed: reason `review_due`, the note says since
  when (a customer with no review date set is not held for it).

An order holds for the first rule that bites, in that order; the credit page
(`blocking`) lists every rule that bites now. The hold's note gives the reason and the
figures, so the credit team decides from the worklist. The check never raises for a
failed check: the order is kept, on hold, and only an agent with the credit role or a
supervisor (or admin) releases it (core.orders.holds.RELEASE_ROLES).

When the check runs (as SAP's and Odoo's credit management do):

* at placement and when an order grows (`check_order`: phone, shop, quotes, approvals,
  order maintenance);
* at release to the warehouse (`check_at_release`, through core.workflows.credit_gates):
  a failed check places the hold and the order is not released; the warehouse is told
  why (the hold's note);
* at invoicing (`check_at_invoicing`, right after a shipment is invoiced, in the same
  transaction): the goods have left, so the shipment's invoice IS issued (it is what the
  customer owes; withholding it would only delay their paying it); a failed check places
  the hold on the order, so nothing more of it ships until the credit team decides. A
  fully shipped order has nothing left to stop and gets no hold.

A credit decision stands: an order whose credit hold the credit team released is not
checked again at release or invoicing (it was their call to let it go, knowing the
figures); it is checked again only if it grows (order maintenance).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, clock
from core.credit.exposure import Exposure, exposure
from core.customers.models import Customer
from core.money import Money
from core.orders import holds
from core.orders.models import Order, OrderHold

NOTE_LIMIT = 1000  # the hold's note column
# The automatic checks at release and invoicing place their holds as the system.
SYSTEM = audit.Actor.system("credit check")


@dataclass(frozen=True)
class Block:
    """A blocking rule that bites: its hold reason code, label and the figures."""

    reason: str
    label: str
    note: str


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


def review_note(customer: Customer, today: dt.date) -> str:
    days = (today - customer.credit_review_on).days
    return (f"The credit review of {customer.name} is past due since "
            f"{customer.credit_review_on.isoformat()} ({days} day{'' if days == 1 else 's'}): "
            "review the limit (or mark it reviewed) before more goes out on account.")


def review_due(customer: Customer, today: dt.date) -> bool:
    return customer.credit_review_on is not None and customer.credit_review_on < today


def blocking(found: Exposure, customer: Customer, *, today: dt.date | None = None
             ) -> list[Block]:
    """Every blocking rule that bites for the customer now (no order in particular)."""
    today = today or clock.today()
    found_blocks = []
    if found.overdue:
        found_blocks.append(Block("overdue_items", holds.reason_label("credit", "overdue_items"),
                                  overdue_note(found)))
    if found.over_limit:
        c = found.currency
        found_blocks.append(Block(
            "over_limit", holds.reason_label("credit", "over_limit"),
            f"Exposure {_m(found.total, c)} is over the credit limit {_m(found.limit, c)} "
            f"by {_m(-found.headroom, c)}."))
    if review_due(customer, today):
        found_blocks.append(Block("review_due", holds.reason_label("credit", "review_due"),
                                  review_note(customer, today)))
    return found_blocks


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
                overdue_days: int, after_shipment: bool = False) -> OrderHold | None:
    """Put an order on account on a credit hold when a blocking rule bites (see the
    module's docstring: overdue invoices, over the limit with it, review past due), or
    when the order is in another currency than the customer's (it cannot be checked:
    reason `credit_check`); the hold (an active credit hold the order already had, if
    any), or None when it passes. `overdue_days` is the CREDIT_OVERDUE_DAYS setting: every
    caller passes it. With `after_shipment`, a partly shipped order is checked too (at
    invoicing). The customer's row is locked first, so concurrent checks of one customer
    queue. Flushes; never raises for the check itself."""
    if order.payment_method != "on_account" or order.customer_id is None:
        return None
    if order.status in holds.CLOSED_STATUSES and not (
            after_shipment and order.status == "partially_shipped"):
        return None
    if existing := next((h for h in order.active_holds if h.kind == "credit"), None):
        return existing
    customer = lock_customer(session, order.customer_id)
    today = clock.today()
    found = exposure(session, customer, overdue_days=overdue_days, today=today)
    if order.currency != customer.currency:
        reason, note = "credit_check", other_currency_note(order, customer)
    elif found.overdue:
        reason, note = "overdue_items", overdue_note(found)
    elif found.over_limit:
        reason, note = "over_limit", over_limit_note(found, order)
    elif review_due(customer, today):
        reason, note = "review_due", review_note(customer, today)
    else:
        return None
    return holds.place_hold(session, order, kind="credit", reason_code=reason,
                            note=note[:NOTE_LIMIT], actor=actor,
                            channel=order.channel_code)


def decided(order: Order) -> bool:
    """The credit team released a credit hold of this order: their decision stands."""
    return any(h.kind == "credit" and h.released_at is not None for h in order.holds)


def check_at_release(session: Session, order: Order, *, overdue_days: int,
                     actor: audit.Actor = SYSTEM) -> OrderHold | None:
    """The check before a confirmed order goes to the warehouse: the credit hold that
    stops it (placed now, or already there), or None when it may go. Flushes."""
    if order.status != "confirmed" or decided(order):
        return None
    return check_order(session, order, actor=actor, overdue_days=overdue_days)


def check_at_invoicing(session: Session, order: Order, *, overdue_days: int,
                       actor: audit.Actor = SYSTEM) -> OrderHold | None:
    """The check once a shipment of the order is invoiced: a credit hold placed on what is
    left of the order (the invoice stands), or None. Flushes."""
    if order.status != "partially_shipped" or decided(order):
        return None
    return check_order(session, order, actor=actor, overdue_days=overdue_days,
                       after_shipment=True)
