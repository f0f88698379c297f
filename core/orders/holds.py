"""Holds on sales orders: placed and released with a reason code, never deleted.

A hold is orthogonal to the order's status (DESIGN.md, "States"): while any hold is
active the order cannot be released to fulfilment (`assert_releasable`).

Who may release which hold (admin may release every kind):

    manual          any console agent (agent, supervisor, credit), whoever placed it
    approval        supervisor
    payment_review  supervisor
    credit          credit, supervisor

A credit hold is released by the credit role or a supervisor (and admin), as issue 13
says: M8 is about who may let a customer owe more, the credit team's decision, which a
supervisor may take for them (Dynamics 365 lets credit managers and their escalation
release credit holds). A plain agent never releases one.

An approval for a company buyer's spending limit (reason `spending_limit`) is the
company's own decision: an approver or admin of the order's customer releases it
(`approver_refusal`, `release_hold(..., approver=...)`), never the buyer who placed the
order. A console supervisor may still release it, as any approval hold, when the
company's approver asks on the phone (the release note says who asked).

Anyone who may work on orders may place a hold of any kind: holding too much is safe,
releasing too easily is not. The system (automatic credit checks) may release any hold.

A hold may name a day until which it holds (`hold_until`, "deliver after the 15th"). A
manual hold, whose reason is the customer's or our own wish to wait, releases itself on
that day (`release_due_holds`, hourly on Celery beat and `flask release-due-holds`), as
"hold until" does in ERPNext and Odoo. Payment review, approval and credit holds wait for
something other than a day (a card, a supervisor, the credit team): their day only marks
them due on the worklist, and a person releases them.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, contains_eager

from core import audit, clock
from core.customers import roles as customer_roles
from core.customers.models import Customer, CustomerUser
from core.db import utcnow
from core.errors import DomainError, NotFound
from core.orders.models import HOLD_KINDS, Order, OrderHold
from core.paging import Page, paginate
from core.statemachine import Machine

CHANNEL = "console"

KIND_LABELS = {"manual": "Manual", "payment_review": "Payment review",
               "approval": "Approval", "credit": "Credit"}

# Manual first: it is what an agent places by hand (the order of the console's reason list,
# whose first reason is the default).
REASON_CODES: dict[str, dict[str, str]] = {
    "manual": {
        "customer_request": "Customer asked us to wait",
        "address_check": "Address to be checked",
        "stock_check": "Stock to be checked",
        "other": "Other",
    },
    "payment_review": {
        "reauthorisation_needed": "Card to be authorised again",
        "capture_failed": "Card payment for a shipment failed",  # core.payments.capture
        "fraud_check": "Fraud check",
        "address_mismatch": "Billing and delivery addresses differ",
        "high_value": "High-value order",
    },
    "approval": {
        "spending_limit": "Above the buyer's spending limit",
        "discount_over_limit": "Discount above the agent's limit",  # core.orders.discounts
        "price_override": "Price override to approve",
        "large_order": "Large order",
    },
    "credit": {
        "over_limit": "Over the credit limit",
        "overdue_items": "Overdue invoices",
        "credit_check": "Credit check",
        "review_due": "Credit review past due",  # core.credit.checks
    },
}
assert set(REASON_CODES) == set(HOLD_KINDS)
# Each reason belongs to one kind, so the reason an agent picks decides the kind (kind_of).
KIND_OF_REASON: dict[str, str] = {code: kind for kind, codes in REASON_CODES.items()
                                  for code in codes}
assert len(KIND_OF_REASON) == sum(len(codes) for codes in REASON_CODES.values())

RELEASE_ROLES: dict[str, frozenset[str]] = {
    "manual": frozenset({"agent", "supervisor", "credit"}),
    "approval": frozenset({"supervisor"}),
    "payment_review": frozenset({"supervisor"}),
    "credit": frozenset({"credit", "supervisor"}),
}
# The kinds of hold whose until-day releases them (release_due_holds): only the manual
# ones, held because someone asked to wait. The others are held for a reason a day does
# not settle, whatever day an agent typed.
RELEASED_BY_TIME = frozenset({"manual"})
UNTIL_DAY = audit.Actor.system("its hold-until date")
UNTIL_DAY_NOTE = "Automatic: the day it was held until came."
# Holds make no sense once goods have left or the order is gone, except a failed card
# payment for a shipment: it is found only after the goods left, and the hold keeps the
# rest of the order in the warehouse (and on the worklist) until the money is in.
CLOSED_STATUSES = ("partially_shipped", "shipped", "completed", "cancelled")
AFTER_SHIPMENT = {("payment_review", "capture_failed"): ("partially_shipped", "shipped")}
# The credit check at invoicing (core.credit.checks) holds the rest of a partly shipped order.
AFTER_SHIPMENT.update({("credit", reason): ("partially_shipped",) for reason in
                       ("over_limit", "overdue_items", "credit_check", "review_due")})


class HoldError(DomainError):
    code = "hold"


class HoldNotAllowed(HoldError):
    """The agent lacks the role this hold needs; views answer 403 with the message."""

    code = "hold_not_allowed"


class HoldState(StrEnum):
    ACTIVE = "active"
    RELEASED = "released"


HOLD = Machine("hold", HoldState, {HoldState.ACTIVE: {HoldState.RELEASED},
                                   HoldState.RELEASED: set()},
               labels={HoldState.ACTIVE: "Active", HoldState.RELEASED: "Released"},
               error=HoldError, noun="A hold",
               doc="""A hold is placed active and released once, never deleted: active ->
released. Its state is not a column but `released_at` (set: released), which release_hold,
the one transition, sets after checking this table.""")


def hold_state(hold: OrderHold) -> HoldState:
    return HoldState.ACTIVE if hold.released_at is None else HoldState.RELEASED


class OrderOnHold(DomainError):
    code = "order_on_hold"


def kind_of(reason_code: str) -> str:
    """The kind of hold a reason belongs to; raises HoldError for an unknown reason."""
    try:
        return KIND_OF_REASON[reason_code]
    except KeyError:
        raise HoldError("Choose a reason from the list.", field="reason_code") from None


def is_due(hold: OrderHold, today: dt.date | None = None) -> bool:
    """The hold's until-day has come: it is time to look at it again and release it."""
    return hold.hold_until is not None and hold.hold_until <= (today or clock.today())


def releases_itself(hold: OrderHold) -> bool:
    """The hold has an until-day and is of a kind that day releases (RELEASED_BY_TIME)."""
    return hold.hold_until is not None and hold.kind in RELEASED_BY_TIME


def reason_label(kind: str, reason_code: str) -> str:
    return REASON_CODES.get(kind, {}).get(reason_code, reason_code.replace("_", " "))


def describe(hold: OrderHold) -> str:
    """'Approval: Above the buyer's spending limit'."""
    return f"{KIND_LABELS.get(hold.kind, hold.kind)}: {reason_label(hold.kind, hold.reason_code)}"


def assert_releasable(order: Order) -> None:
    """Raise OrderOnHold naming every active hold; fulfilment calls this before release."""
    active = order.active_holds
    if active:
        names = "; ".join(describe(h) for h in active)
        raise OrderOnHold(f"Order {order.number} is on hold ({names}). "
                          "Release the holds before sending it to the warehouse.")


def release_refusal(kind: str, roles: Collection[str]) -> str | None:
    """Why an agent with `roles` may not release a hold of `kind`; None when they may."""
    allowed = RELEASE_ROLES.get(kind, frozenset())
    if "admin" in roles or allowed.intersection(roles):
        return None
    needed = " or ".join(sorted(allowed))
    label = KIND_LABELS.get(kind, kind).lower()
    article = "an" if label[:1] in "aeiou" else "a"
    return (f"Only an agent with the {needed} role can release {article} {label} hold. "
            "Ask a colleague who has it.")


def company_approval(hold: OrderHold) -> bool:
    """The hold waits for the company's own approver (a buyer's spending limit)."""
    return hold.kind == "approval" and hold.reason_code == "spending_limit"


def approver_refusal(hold: OrderHold, user: CustomerUser) -> str | None:
    """Why the company login `user` may not release `hold`; None when they may: an active
    approver or admin of the order's customer, on a spending-limit approval, for an order
    someone else placed."""
    order = hold.order
    if not company_approval(hold):
        return "Only Marketline staff can release this hold."
    if order.customer_id != user.customer_id or not customer_roles.can_approve(user):
        return "Only an approver or admin of the company can approve this order."
    if order.placed_by_kind == "customer" and order.placed_by_id == user.id:
        return "You placed this order; another approver of your company approves it."
    return None


def refusal_for(hold: OrderHold, *, label: str, roles: Collection[str]) -> str | None:
    """Why the agent `label` with `roles` may not release `hold`; None when they may. An
    approval is never given by the agent who asked for it (admin excepted)."""
    if problem := release_refusal(hold.kind, roles):
        return problem
    if hold.kind == "approval" and hold.placed_by == label and "admin" not in roles:
        return "You placed this hold; another supervisor approves it."
    return None


def place_hold(session: Session, order: Order, *, kind: str, reason_code: str, note: str,
               actor: audit.Actor, channel: str = CHANNEL, per_placer: bool = False,
               until: dt.date | None = None) -> OrderHold:
    """Put the order on hold for `reason_code`, optionally `until` a day (today or later).
    Flushes; the caller commits.

    An order holds once per reason; with `per_placer`, once per reason and agent who places
    it (an approval must come from someone other than each agent who asked for it).
    """
    if until is not None and until < clock.today():
        raise HoldError("Choose a day from today on, or leave it empty.", field="until")
    if kind not in REASON_CODES:
        raise HoldError("Choose what kind of hold this is.", field="kind")
    if reason_code not in REASON_CODES[kind]:
        raise HoldError(f"Choose a reason that fits a {KIND_LABELS[kind].lower()} hold.",
                        field="reason_code")
    if (order.status in CLOSED_STATUSES
            and order.status not in AFTER_SHIPMENT.get((kind, reason_code), ())):
        raise HoldError(f"Order {order.number} is {order.status.replace('_', ' ')}; "
                        "it can no longer be held.")
    if any(h.kind == kind and h.reason_code == reason_code
           and (not per_placer or h.placed_by == actor.label) for h in order.active_holds):
        raise HoldError(f"Order {order.number} is already on hold for "
                        f"{reason_label(kind, reason_code).lower()}.", field="reason_code")
    note = (note or "").strip()[:1000]
    hold = OrderHold(kind=kind, reason_code=reason_code, note=note, placed_by=actor.label,
                     placed_at=utcnow(), hold_until=until)
    order.holds.append(hold)
    session.flush()
    audit.record(session, "order.hold_placed", actor=actor, channel=channel, subject=order,
                 data={"hold": hold.id, "kind": kind, "reason": reason_code, "note": note,
                       **({"until": until.isoformat()} if until else {})})
    return hold


def release_hold(session: Session, hold: OrderHold, *, actor: audit.Actor, note: str,
                 roles: Collection[str] = (), approver: CustomerUser | None = None,
                 channel: str = CHANNEL) -> OrderHold:
    """Release the hold if the agent's `roles` allow it (the system always may), or, with
    `approver`, if that company login may (`approver_refusal`; `actor` is theirs).

    Raises HoldNotAllowed for a missing role, HoldError when it is already released.
    Flushes; the caller commits.
    """
    if not HOLD.allows(hold_state(hold), HoldState.RELEASED):
        raise HoldError(f"This hold was already released by {hold.released_by}.")
    if approver is not None:
        problem = approver_refusal(hold, approver)
    elif actor.kind == "system":
        problem = None
    else:
        problem = refusal_for(hold, label=actor.label, roles=roles)
    if problem:
        raise HoldNotAllowed(problem)
    note = (note or "").strip()[:1000]
    hold.released_at = utcnow()
    hold.released_by = actor.label
    hold.release_note = note
    audit.record(session, "order.hold_released", actor=actor, channel=channel,
                 subject=hold.order,
                 data={"hold": hold.id, "kind": hold.kind, "reason": hold.reason_code,
                       "note": note})
    session.flush()
    return hold


def release_due_holds(session: Session, *, today: dt.date | None = None,
                      batch: int = 500) -> int:
    """Release the manual holds whose until-day has come, as the system (the periodic
    task); the number released. One query finds them, locked and read afresh: a hold a
    person released meanwhile is no longer found, and a second run releases nothing more.
    Flushes; the caller commits."""
    due = session.scalars(
        select(OrderHold).join(OrderHold.order).options(contains_eager(OrderHold.order))
        .where(OrderHold.released_at.is_(None), OrderHold.kind.in_(RELEASED_BY_TIME),
               OrderHold.hold_until <= (today or clock.today()))
        .order_by(OrderHold.order_id, OrderHold.id).limit(batch)
        .with_for_update().execution_options(populate_existing=True)).all()
    for hold in due:
        release_hold(session, hold, actor=UNTIL_DAY, note=UNTIL_DAY_NOTE)
    return len(due)


def get_hold(session: Session, order: Order, hold_id: int) -> OrderHold:
    hold = next((h for h in order.holds if h.id == hold_id), None)
    if hold is None:
        raise NotFound("We could not find that hold on this order.")
    return hold


# -- the worklist ------------------------------------------------------------------------


@dataclass(frozen=True)
class HoldFilters:
    kind: str = ""
    reason: str = ""
    placed_before: dt.date | None = None
    placed_by: str = ""


@dataclass(frozen=True)
class HoldRow:
    hold: OrderHold
    order: Order
    customer_name: str
    customer_number: str = ""  # "" for a guest: the worklist links the customer by it

    @property
    def label(self) -> str:
        return describe(self.hold)

    @property
    def due(self) -> bool:
        return is_due(self.hold)

    @property
    def releases_itself(self) -> bool:
        return releases_itself(self.hold)


def worklist(session: Session, filters: HoldFilters, *, page: int = 1,
             per_page: int = 50) -> Page[HoldRow]:
    """Active holds, filtered: those whose until-day has come first (earliest day first), then
    the oldest. Two queries, whatever the number of holds."""
    conditions = [OrderHold.released_at.is_(None)]
    if filters.kind:
        conditions.append(OrderHold.kind == filters.kind)
    if filters.reason:
        conditions.append(OrderHold.reason_code == filters.reason)
    if filters.placed_before:
        conditions.append(OrderHold.placed_at < clock.day_start(filters.placed_before))
    if filters.placed_by:
        conditions.append(OrderHold.placed_by == filters.placed_by)
    due = OrderHold.hold_until <= clock.today()
    found = paginate(session, select(OrderHold, Customer.name, Customer.number)
                     .join(OrderHold.order).outerjoin(Customer, Customer.id == Order.customer_id)
                     .options(contains_eager(OrderHold.order))
                     .where(*conditions)
                     .order_by(case((due, 0), else_=1), case((due, OrderHold.hold_until)),
                               OrderHold.placed_at, OrderHold.id),
                     page=page, per_page=per_page,
                     count=select(func.count()).select_from(OrderHold).where(*conditions))
    return found.map(lambda row: HoldRow(row[0], row[0].order, row[1] or "Guest", row[2] or ""))


def hold_placers(session: Session) -> list[str]:
    """Who placed the active holds, for the worklist's filter. One query."""
    return list(session.scalars(select(OrderHold.placed_by).distinct()
                                .where(OrderHold.released_at.is_(None))
                                .order_by(OrderHold.placed_by)))
