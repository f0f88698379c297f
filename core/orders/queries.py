"""Read side of sales orders for the people who placed them: the order history, the
status timeline, and the guest look-up by number, e-mail and postcode. The detail page,
which also shows the order's shipments, is core.workflows.order_page.

Every function here is scoped: a signed-in login reaches only orders of its customer, and
of those what core.customers.roles lets it see (a person and a company's approvers and
admins every one, a company buyer those they placed themselves); a guest only a guest
order (no customer) whose number, e-mail and postcode all match. Anything else is
NotFound, never "forbidden", so a URL says nothing about orders that are not the asker's.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import and_, func, not_, select
from sqlalchemy.orm import Session, selectinload

from core.audit import AuditEvent
from core.customers import roles
from core.customers.models import Customer, CustomerUser
from core.errors import NotFound
from core.orders.models import Order
from core.paging import Page, paginate
from core.ratelimit import Limits, default_limits

PER_PAGE = 20
NOT_FOUND = "We could not find a guest order with that number, e-mail and postcode."

# A checkout whose payment never went through is cancelled by core.payments with one of
# these reasons while still awaiting payment. To the shopper it was an attempt, not an
# order, so it stays out of lists (the number still opens, for whoever holds it).
CHECKOUT_ATTEMPT_REASONS = ("Payment declined", "Payment failed", "Card authentication failed")

PAYMENT_LABELS = {
    "unpaid": "Not paid",
    "authorised": "Card authorised; charged when the order ships",
    "partially_captured": "Partly charged",
    "captured": "Paid",
    "partially_refunded": "Partly refunded",
    "refunded": "Refunded",
    "on_account": "On account (invoice)",
}

# What the shopper sees of the audit trail. Events not listed (staff notes, a failed
# void that staff retry) are internal and left out of the timeline.
TIMELINE_LABELS = {
    "order.placed": "Order placed",
    "order.payment_authorised": "Payment authorised",
    "order.payment_voided": "Card authorisation released",
    "order.released": "Sent to the warehouse",
    "order.partially_shipped": "Partly shipped",
    "order.shipped": "Shipped",
    "order.shipment_delivered": "Delivered",
    "order.completed": "Completed",
    "order.cancelled": "Cancelled",
}


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    label: str
    detail: str = ""


def _listed():
    """Orders that count as orders to their buyer: not failed checkout attempts."""
    return not_(and_(Order.status == "cancelled",
                     Order.cancel_reason.in_(CHECKOUT_ATTEMPT_REASONS)))


def lock_order(session: Session, order_id: int) -> Order:
    """The order under its row lock, read afresh with its lines and holds: a copy loaded
    earlier in the session (objects outlive commits here) would otherwise hide what changed
    before the lock was taken. NotFound if there is none."""
    order = session.scalar(select(Order).where(Order.id == order_id)
                           .options(selectinload(Order.lines), selectinload(Order.holds))
                           .with_for_update().execution_options(populate_existing=True))
    if order is None:
        raise NotFound("We could not find that order.")
    return order


def by_number(session: Session, number: str, *, channel: str | None = None) -> Order | None:
    """The order with this number (and from this channel, when given), or None."""
    stmt = select(Order).where(Order.number == number)
    if channel is not None:
        stmt = stmt.where(Order.channel_code == channel)
    return session.scalar(stmt)


def _seen_by(viewer: CustomerUser):
    """The orders `viewer` may see (core.customers.roles)."""
    if not isinstance(viewer, CustomerUser):
        raise TypeError("pass the signed-in CustomerUser: what it sees depends on its role "
                        "(core.customers.roles)")
    return roles.owned_by(viewer, Order.customer_id, Order.placed_by_kind, Order.placed_by_id)


def order_history(session: Session, viewer: CustomerUser, *, page: int = 1,
                  per_page: int = PER_PAGE) -> Page[Order]:
    """One page of the orders the login sees, newest first. Two queries, whatever the count."""
    scope = and_(_seen_by(viewer), _listed())
    return paginate(session, select(Order).where(scope)
                    .order_by(Order.placed_at.desc(), Order.id.desc()),
                    page=page, per_page=per_page,
                    count=select(func.count()).select_from(Order).where(scope))


def latest_orders(session: Session, viewer: CustomerUser, *, limit: int = 5) -> list[Order]:
    """The most recent orders the login sees, for the account overview."""
    return list(session.scalars(select(Order).where(_seen_by(viewer), _listed())
                                .order_by(Order.placed_at.desc(), Order.id.desc())
                                .limit(limit)))


def customer_order(session: Session, viewer: CustomerUser, number: str, *,
                   lock: bool = False) -> Order:
    """An order the login sees, by number; NotFound when it is someone else's (or, for a
    company buyer, a colleague's) or unknown."""
    stmt = (select(Order).where(Order.number == number.strip().upper(), _seen_by(viewer))
            .options(selectinload(Order.lines)))
    # Locked, it is read afresh: a copy loaded earlier in the session must not hide a change.
    order = session.scalar(stmt.with_for_update().execution_options(populate_existing=True)
                           if lock else stmt)
    if order is None:
        raise NotFound("We could not find that order.")
    return order


def timeline(session: Session, order: Order) -> list[TimelineEntry]:
    """What happened to the order, oldest first, from its audit events."""
    events = session.scalars(select(AuditEvent).where(
        AuditEvent.subject_type == Order.__tablename__, AuditEvent.subject_id == str(order.id),
        AuditEvent.action.in_(TIMELINE_LABELS)).order_by(AuditEvent.at, AuditEvent.id))
    return [TimelineEntry(e.at, TIMELINE_LABELS[e.action], _detail(e)) for e in events]


def _detail(event: AuditEvent) -> str:
    if event.action == "order.cancelled":
        return (event.data or {}).get("reason", "")
    return ""


def _postcode(value: object) -> str:
    """A postcode as compared: letters and digits only, any case ('sw1a 1aa' = 'SW1A1AA')."""
    return re.sub(r"[\W_]+", "", str(value or "")).upper()


def lookup_guest_order(session: Session, *, number: str, email: str, postcode: str,
                       remote_addr: str | None, limits: Limits | None = None) -> Order:
    """The guest order (placed without an account) whose number, e-mail (any case) and
    delivery or billing postcode all match. A customer's order is never found here: its
    buyers sign in.

    Every look-up counts, found or not, against the address and against the pair of order
    number and e-mail (core.ratelimit "lookup"), so postcodes cannot be tried one after
    another even from many addresses; the caller commits so the count is kept. The pair,
    not the number or the e-mail alone: order numbers are sequential and e-mails are often
    known, and a stranger trying them must not lock a guest out of their own order. Raises
    RateLimited, or NotFound with one message that does not say which part was wrong.
    """
    number = number.strip().upper()
    (limits or default_limits()).hit(session, "lookup", address=remote_addr,
                                     order=f"{number} {email.strip().lower()}")
    order = session.scalar(select(Order).where(
        Order.number == number, Order.customer_id.is_(None),
        func.lower(Order.email) == email.strip().lower()).options(selectinload(Order.lines)))
    wanted = _postcode(postcode)
    if order is None or not wanted or wanted not in {
            _postcode((order.shipping_address or {}).get("postal_code")),
            _postcode((order.billing_address or {}).get("postal_code"))}:
        raise NotFound(NOT_FOUND)
    return order


# -- the console's worklist of orders awaiting payment ---------------------------------------


@dataclass(frozen=True)
class AwaitingPaymentRow:
    order: Order
    customer_name: str  # "Guest" when there is no customer
    customer_number: str  # "" for a guest


def awaiting_payment(session: Session, *, channel: str, page: int = 1,
                     per_page: int = 50) -> Page[AwaitingPaymentRow]:
    """Orders of `channel` still awaiting payment (a card not yet taken, or a payment link
    not yet paid), oldest first, with their customer. Two queries, whatever their number."""
    conditions = (Order.status == "pending_payment", Order.channel_code == channel)
    found = paginate(session, select(Order, Customer.name, Customer.number)
                     .outerjoin(Customer, Customer.id == Order.customer_id)
                     .where(*conditions).order_by(Order.placed_at, Order.id),
                     page=page, per_page=per_page,
                     count=select(func.count()).select_from(Order).where(*conditions))
    return found.map(lambda row: AwaitingPaymentRow(row[0], row[1] or "Guest", row[2] or ""))
