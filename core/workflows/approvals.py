"""Spending-limit approvals: a company buyer's order above their limits waits for an approver.

Policy (issue 13, Shopify B2B / Dynamics 365 purchase approvals):

* When a company login places an order in the shop (card or on account) whose gross total
  is over their `order_limit`, or which takes their orders of this calendar month (not
  cancelled) over their `monthly_limit`, the order gets an "approval" hold with reason
  `spending_limit`, the figures in its note. It is placed and its stock reserved (the
  buyer's prices and stock are kept while it waits); the hold keeps it from the warehouse.
  Every active approver and admin of the company but the buyer is e-mailed (ApprovalRequested).
* An approver or admin of the same company approves or rejects it on the shop's Approvals
  page; nobody approves or rejects an order they placed themselves (refused here, not only
  hidden). Approve releases the hold; Reject cancels the order through the cancellation
  workflow (stock released, a card authorisation voided) with the comment as the reason.
  The buyer is e-mailed either way (ApprovalDecided).
* Prices: an order approved within APPROVAL_PRICE_DAYS of its placement keeps the prices it
  was submitted at. Later, an order on account is re-priced at the day's prices before the
  hold is released; the Approvals page shows the approver the new total first, and the
  approval is refused if the prices changed again after the page was shown. A card order
  is not re-priced: its card was authorised for the old amount, and changing it would need
  the buyer's card again, so the approval is refused with a message to reject it and have
  the buyer order again.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, selectinload

from core import audit, clock, events
from core.audit import AuditEvent
from core.config import Settings
from core.credit import checks as credit_checks
from core.credit.exposure import OVERDUE_DAYS
from core.customers import roles
from core.customers.models import CustomerUser
from core.db import utcnow
from core.errors import DomainError, NotFound
from core.money import Money
from core.orders import holds
from core.orders import services as orders
from core.orders.models import Order, OrderHold
from core.workflows import order_maintenance
from core.workflows.order_page import awaiting_approval
from core.workflows.cancellation import VoidingGateway, cancel_and_void

PRICE_DAYS = Settings.APPROVAL_PRICE_DAYS  # the setting's default; callers pass theirs
CHANNEL = "web"


class ApprovalError(DomainError):
    code = "approval"


class AlreadyDecided(ApprovalError):
    """The order waited for approval, and somebody approved or rejected it meanwhile."""

    code = "approval_decided"


# -- at placement ---------------------------------------------------------------------------


def _month_start(at: dt.datetime) -> dt.datetime:
    """The instant the business month of `at` began (core.clock's day)."""
    return clock.day_start(clock.business_date(at).replace(day=1))


def month_spent(session: Session, user: CustomerUser, *, at: dt.datetime,
                excluding: int | None = None) -> Decimal:
    """What the login ordered this calendar month (its business days, core.clock), cancelled
    orders not counted."""
    conditions = [Order.customer_id == user.customer_id, Order.placed_by_kind == "customer",
                  Order.placed_by_id == user.id, Order.status != "cancelled",
                  Order.placed_at >= _month_start(at)]
    if excluding is not None:
        conditions.append(Order.id != excluding)
    total = session.scalar(select(func.coalesce(func.sum(Order.gross_total), 0))
                           .where(*conditions))
    return Decimal(total or 0)


def over_limits(session: Session, order: Order, user: CustomerUser) -> list[str]:
    """What of the login's spending limits the order exceeds, in words with the figures."""
    found = []
    money = order.money
    if user.order_limit is not None and order.gross_total > user.order_limit:
        found.append(f"The order's total {money(order.gross_total).format()} is over "
                     f"{user.full_name}'s order limit {money(user.order_limit).format()}.")
    if user.monthly_limit is not None:
        spent = month_spent(session, user, at=order.placed_at, excluding=order.id)
        if spent + order.gross_total > user.monthly_limit:
            found.append(f"With it, {user.full_name}'s orders this month come to "
                         f"{money(spent + order.gross_total).format()} "
                         f"({money(spent).format()} before), over the monthly limit "
                         f"{money(user.monthly_limit).format()}.")
    return found


def buyer_of(session: Session, order: Order) -> CustomerUser | None:
    """The shop login that placed the order, if one did."""
    if order.placed_by_kind != "customer" or order.placed_by_id is None:
        return None
    return session.get(CustomerUser, order.placed_by_id)


def spending_check(session: Session, order: Order, *, actor: audit.Actor) -> OrderHold | None:
    """Hold the order for approval when it is over its buyer's spending limits (see the
    module's docstring), in the transaction that places it. Checked once per order: an
    order already held or approved for it is not held again. Flushes; the hold or None.
    The approvers are told once the order is confirmed (`announce`)."""
    buyer = buyer_of(session, order)
    if buyer is None or not roles.is_company(buyer) or order.status == "cancelled":
        return None
    if any(holds.company_approval(h) for h in order.holds):
        return None
    if buyer.monthly_limit is not None:
        # The customer's row lock (as the credit check takes it) queues the checks of
        # orders placed at once: each sees the other's total in the month's spend.
        credit_checks.lock_customer(session, order.customer_id)
    exceeded = over_limits(session, order, buyer)
    if not exceeded:
        return None
    return holds.place_hold(session, order, kind="approval", reason_code="spending_limit",
                            note=" ".join(exceeded), actor=actor, channel=order.channel_code)


def announce(session: Session, order: Order, *, actor: audit.Actor) -> bool:
    """Once the order waiting for approval is confirmed (on account at once, a card once
    authorised), tell the company's approvers, once: an audit event marks it. True when
    they are told now."""
    if order.status in ("pending_payment", "cancelled") or not awaiting_approval(order):
        return False
    told = session.scalar(select(AuditEvent.id).where(
        AuditEvent.subject_type == Order.__tablename__, AuditEvent.subject_id == str(order.id),
        AuditEvent.action == "order.approval_requested").limit(1))
    if told:
        return False
    audit.record(session, "order.approval_requested", actor=actor, channel=order.channel_code,
                 subject=order, data={"number": order.number, "total": str(order.gross_total)})
    events.record(session, events.ApprovalRequested(order.id))
    session.flush()
    return True


# -- the Approvals page ---------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    """An order waiting for the company's approval, as the Approvals page shows it."""

    order: Order
    hold: OrderHold
    buyer: CustomerUser | None
    own: bool  # placed by the viewer: they may not decide it
    stale: bool  # older than the price days: approving re-prices it (or is refused: card)

    @property
    def buyer_name(self) -> str:
        return self.buyer.full_name if self.buyer else "—"

    def limit(self, value: Decimal | None) -> str:
        return "none" if value is None else self.order.money(value).format()


def _stale(order: Order, now: dt.datetime, price_days: int) -> bool:
    return order.placed_at < now - dt.timedelta(days=price_days)


def _waiting_query(user: CustomerUser):
    buyer = and_(Order.placed_by_kind == "customer", CustomerUser.id == Order.placed_by_id)
    return (select(Order, OrderHold, CustomerUser)
            .join(OrderHold, OrderHold.order_id == Order.id)
            .outerjoin(CustomerUser, buyer)
            .where(Order.customer_id == user.customer_id,
                   Order.status.not_in(["cancelled", "pending_payment"]),
                   OrderHold.released_at.is_(None), OrderHold.kind == "approval",
                   OrderHold.reason_code == "spending_limit"))


def waiting(session: Session, user: CustomerUser, *, price_days: int = PRICE_DAYS,
            now: dt.datetime | None = None) -> list[Waiting]:
    """The company's orders waiting for approval, oldest first, with their lines and
    buyers: two queries, whatever their number."""
    now = now or utcnow()
    rows = session.execute(_waiting_query(user).options(selectinload(Order.lines))
                           .order_by(Order.placed_at, Order.id)).all()
    return [Waiting(order, hold, buyer, order.placed_by_kind == "customer"
                    and order.placed_by_id == user.id, _stale(order, now, price_days))
            for order, hold, buyer in rows]


def find_waiting(session: Session, user: CustomerUser, number: str, *,
                 price_days: int = PRICE_DAYS, lock: bool = False) -> Waiting:
    """One order of the viewer's company waiting for approval; AlreadyDecided for one of
    its orders that waited and was approved or rejected since, NotFound for any other
    (another company's, unknown, never waiting).

    `lock`: the order's row is locked first, then the order and its hold are read again
    in a statement of their own. Under READ COMMITTED a locking statement that waited
    sees the joined hold as it was when it started, so a second approver who waited for
    the first would still find the hold active and decide the order again."""
    if not roles.can_approve(user):
        raise NotFound("We could not find that order.")
    number = number.strip().upper()
    if lock:
        session.execute(select(Order.id).where(Order.customer_id == user.customer_id,
                                               Order.number == number).with_for_update())
    stmt = _waiting_query(user).where(Order.number == number)
    if lock:
        stmt = stmt.execution_options(populate_existing=True)
    row = session.execute(stmt).first()
    if row is None:
        if _was_waiting(session, user, number):
            raise AlreadyDecided(f"Order {number} was already decided.")
        raise NotFound("We could not find that order among those waiting for approval.")
    order, hold, buyer = row
    return Waiting(order, hold, buyer, order.placed_by_kind == "customer"
                   and order.placed_by_id == user.id, _stale(order, utcnow(), price_days))


def _was_waiting(session: Session, user: CustomerUser, number: str) -> bool:
    """Whether the company's order once waited for its approval."""
    return session.scalar(
        select(OrderHold.id).join(Order, OrderHold.order_id == Order.id)
        .where(Order.customer_id == user.customer_id, Order.number == number,
               OrderHold.kind == "approval", OrderHold.reason_code == "spending_limit")
        .limit(1)) is not None


@dataclass(frozen=True)
class PriceChange:
    """What approving a stale order would do to its total."""

    before: Money
    after: Money

    @property
    def difference(self) -> Money:
        return Money(self.after.amount - self.before.amount, self.after.currency)


def price_change(session: Session, found: Waiting) -> PriceChange | None:
    """For an order on account past the price days: its total at today's prices (nothing
    changes). None when it keeps its prices or is a card order (which is not re-priced)."""
    order = found.order
    if not found.stale or order.payment_method != "on_account":
        return None
    priced = order_maintenance.price_again(session, order, at=utcnow())
    return PriceChange(order.money(order.gross_total),
                       order.money(priced.gross_total.amount + order.shipping_amount))


# -- deciding -------------------------------------------------------------------------------


def _refuse_unless_allowed(found: Waiting, user: CustomerUser) -> None:
    if problem := holds.approver_refusal(found.hold, user):
        raise holds.HoldNotAllowed(problem)


def approve(session: Session, user: CustomerUser, number: str, *, comment: str = "",
            expected_total: Decimal | None = None, price_days: int = PRICE_DAYS,
            overdue_days: int = OVERDUE_DAYS) -> Order:
    """Approve the order: re-price it first when it waited longer than `price_days` (an
    order on account; a card order is refused), then release the hold as `user`. A
    re-priced order needs `expected_total`, the new total the approver was shown (refused
    without it, or when the prices moved again). Flushes; the caller commits."""
    found = find_waiting(session, user, number, price_days=price_days, lock=True)
    _refuse_unless_allowed(found, user)
    order, actor = found.order, audit.Actor("customer", user.id, user.email)
    comment = (comment or "").strip()[:500]
    if found.stale:
        _reprice(session, order, actor=actor, expected_total=expected_total,
                 price_days=price_days)
    holds.release_hold(session, found.hold, actor=actor, approver=user, channel=CHANNEL,
                       note=f"Approved by {user.full_name}" + (f": {comment}" if comment else ""))
    audit.record(session, "order.approved", actor=actor, channel=CHANNEL, subject=order,
                 data={"number": order.number, "total": str(order.gross_total),
                       "comment": comment, "repriced": found.stale})
    if found.stale:  # a larger total may take the customer over its credit limit
        credit_checks.check_order(session, order, actor=actor, overdue_days=overdue_days)
    events.record(session, events.ApprovalDecided(order.id, True, comment))
    session.flush()
    return order


def _reprice(session: Session, order: Order, *, actor: audit.Actor,
             expected_total: Decimal | None, price_days: int) -> None:
    placed = f"{clock.business_date(order.placed_at):%d %b %Y}"
    if order.payment_method != "on_account":
        raise ApprovalError(
            f"Order {order.number} was submitted on {placed}, more than {price_days} days "
            "ago, and its card was authorised at the prices of that day. It cannot be "
            "re-priced without the buyer's card: reject it and ask the buyer to order again.")
    if expected_total is None:  # the approver must have seen the new total
        raise ApprovalError(
            f"Order {order.number} was submitted more than {price_days} days ago and is "
            "re-priced at today's prices when approved: check its new total first.")
    before, after = order_maintenance.reprice(session, order, at=utcnow(), actor=actor,
                                              channel=CHANNEL)
    if after != expected_total:
        raise ApprovalError(
            f"The prices of order {order.number} changed again while you looked: its total "
            f"is now {order.money(after).format()}. Check it and approve again.")


def reject(session: Session, user: CustomerUser, number: str, *, comment: str,
           gateway: VoidingGateway, commit=None) -> Order:
    """Reject the order: the hold is released as decided and the order cancelled with the
    comment as its reason (stock released, a card authorisation voided). `commit` as
    cancel_and_void takes it. Flushes; the caller commits."""
    comment = (comment or "").strip()
    if not comment:
        raise ApprovalError("Say why you reject the order; the buyer reads it.",
                            field="comment")
    found = find_waiting(session, user, number, lock=True)
    _refuse_unless_allowed(found, user)
    order, actor = found.order, audit.Actor("customer", user.id, user.email)
    holds.release_hold(session, found.hold, actor=actor, approver=user, channel=CHANNEL,
                       note=f"Rejected by {user.full_name}: {comment}"[:1000])
    audit.record(session, "order.rejected", actor=actor, channel=CHANNEL, subject=order,
                 data={"number": order.number, "comment": comment[:500]})
    events.record(session, events.ApprovalDecided(order.id, False, comment[:500]))
    try:
        cancel_and_void(session, order, gateway=gateway, actor=actor,
                        reason=f"Rejected by {user.full_name}: {comment}"[:200], commit=commit)
    except orders.OrderError as err:
        raise ApprovalError(str(err)) from None
    return order
