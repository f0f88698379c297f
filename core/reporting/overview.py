"""The console's start page: the work waiting for the agent today, and what just happened.

Each block is read only when the caller asks for it (the console asks for the blocks the
agent's roles may act on), with two queries each (a count and the first few, oldest
first); the recent activity takes two (core.reporting.activity). So the page is
a fixed handful of queries whatever the size of the data:

    orders taken today (by this agent, and in total)       2
    holds waiting, oldest first                            2
    returns to approve (requested), oldest first           2
    quotes to send (drafts), oldest first                  2
    follow-ups due (collection tasks due today or earlier,
      assigned to this agent or to nobody), oldest first   2
    low stock                                              1
    to release (ready for the warehouse), oldest first     2
    to ship (released, units outstanding; how many late),
      the earliest promised first                          2
    recent activity (the events, then their subjects)     2
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Collection

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core import clock
from core.credit.models import CollectionTask
from core.customers.models import Customer
from core.fulfilment import queries as fulfilment_queries
from core.fulfilment.states import RELEASED_ORDER_STATUSES
from core.inventory import queries as stock_queries
from core.money import Money
from core.orders.holds import KIND_LABELS as HOLD_KINDS, reason_label
from core.orders.models import Order, OrderHold
from core.orders.promises import day as ship_day
from core.quotes.models import Quote
from core.reporting.activity import Activity, recent_activity
from core.returns.models import ReturnAuthorisation

BLOCKS = ("orders", "holds", "returns", "quotes", "follow_ups", "to_release", "to_ship",
          "low_stock", "activity")
FIRST = 5  # items listed per block; the count says how many there are in all


def age(since: dt.datetime | dt.date, now: dt.datetime) -> str:
    """How long something has waited, in the words an agent says: '3 days', '5 hours'."""
    if not isinstance(since, dt.datetime):
        days = (clock.business_date(now) - since).days
        return "today" if days <= 0 else f"{days} day{'' if days == 1 else 's'}"
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.timezone.utc)
    seconds = max(0, int((now - since).total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return "just now"


@dataclass(frozen=True)
class Item:
    """One line of a block: a document (kind, number) and what to say about it."""

    kind: str  # the link kind: order | return | quote | account (the customer's collections)
    #            | shipping (the order's page in the warehouse)
    number: str
    party: str
    detail: str = ""
    amount: Money | None = None
    waited: str = ""  # age, or how long overdue
    at: Any = None  # datetime or date the age counts from


@dataclass(frozen=True)
class Block:
    count: int
    items: list[Item]
    mine: int | None = None  # orders: how many of today's this agent took
    late: int | None = None  # to ship: how many are past their promised day


@dataclass
class StartPage:
    blocks: dict[str, Block] = field(default_factory=dict)
    low_stock: list[tuple[str, str, int]] | None = None  # (sku, product name, available)
    activity: list[Activity] | None = None


def _party():
    return func.coalesce(Customer.name, "")


def _orders_today(session: Session, agent_id: int | None, now: dt.datetime) -> Block:
    start = clock.day_start(clock.business_date(now))
    mine = (Order.placed_by_kind == "agent") & (Order.placed_by_id == agent_id)
    total, own = session.execute(select(func.count(), func.count().filter(mine))
                                 .where(Order.placed_at >= start)).one()
    rows = session.execute(
        select(Order.number, _party(), Order.email, Order.gross_total, Order.currency,
               Order.placed_at)
        .outerjoin(Customer, Customer.id == Order.customer_id)
        .where(Order.placed_at >= start, mine).order_by(Order.placed_at.desc(), Order.id.desc())
        .limit(FIRST))
    return Block(total or 0, [Item("order", n, p or e, amount=Money(g, c), at=at,
                                   waited=age(at, now)) for n, p, e, g, c, at in rows], own or 0)


def _holds(session: Session, now: dt.datetime) -> Block:
    waiting = OrderHold.released_at.is_(None)
    count = session.scalar(select(func.count()).select_from(OrderHold).where(waiting))
    rows = session.execute(
        select(Order.number, _party(), Order.email, OrderHold.kind, OrderHold.reason_code,
               OrderHold.placed_at)
        .join(Order, Order.id == OrderHold.order_id)
        .outerjoin(Customer, Customer.id == Order.customer_id)
        .where(waiting).order_by(OrderHold.placed_at, OrderHold.id).limit(FIRST))
    return Block(count or 0, [
        Item("order", n, p or e, detail=f"{HOLD_KINDS.get(k, k)}: {reason_label(k, r)}",
             at=at, waited=age(at, now)) for n, p, e, k, r, at in rows])


def _returns(session: Session, now: dt.datetime) -> Block:
    R = ReturnAuthorisation
    requested = R.status == "requested"
    count = session.scalar(select(func.count()).select_from(R).where(requested))
    rows = session.execute(
        select(R.number, _party(), R.email, R.value, R.currency, R.requested_at,
               R.needs_supervisor)
        .outerjoin(Customer, Customer.id == R.customer_id)
        .where(requested).order_by(R.requested_at, R.id).limit(FIRST))
    return Block(count or 0, [
        Item("return", n, p or e, detail="needs a supervisor" if sup else "",
             amount=Money(v, c), at=at, waited=age(at, now))
        for n, p, e, v, c, at, sup in rows])


def _quotes(session: Session, now: dt.datetime) -> Block:
    draft = Quote.status == "draft"
    count = session.scalar(select(func.count()).select_from(Quote).where(draft))
    rows = session.execute(
        select(Quote.number, Customer.name, Quote.requested_by_id, Quote.created_at)
        .join(Customer, Customer.id == Quote.customer_id)
        .where(draft).order_by(Quote.created_at, Quote.id).limit(FIRST))
    return Block(count or 0, [
        Item("quote", n, p, detail="asked for by the buyer" if by else "started by an agent",
             at=at, waited=age(at, now)) for n, p, by, at in rows])


def _follow_ups(session: Session, agent_id: int | None, now: dt.datetime) -> Block:
    T = CollectionTask
    today = clock.business_date(now)
    due = ((T.status == "open") & (T.due_on <= today)
           & or_(T.agent_id.is_(None), T.agent_id == agent_id))
    count = session.scalar(select(func.count()).select_from(T).where(due))
    rows = session.execute(
        select(Customer.number, Customer.name, T.note, T.due_on, T.agent_id)
        .join(Customer, Customer.id == T.customer_id)
        .where(due).order_by(T.due_on, T.id).limit(FIRST))
    return Block(count or 0, [
        Item("account", n, p, detail=note if mine is not None else f"{note} (unassigned)",
             at=on, waited="due today" if on >= today else f"{age(on, now)} overdue")
        for n, p, note, on, mine in rows])


def _to_release(session: Session, now: dt.datetime) -> Block:
    ready = fulfilment_queries.releasable_condition()
    count = session.scalar(select(func.count()).select_from(Order).where(ready))
    rows = session.execute(
        select(Order.number, _party(), Order.email, Order.promised_date, Order.placed_at)
        .outerjoin(Customer, Customer.id == Order.customer_id)
        .where(ready).order_by(Order.placed_at, Order.id).limit(FIRST))
    return Block(count or 0, [
        Item("shipping", n, p or e, detail=f"promised {ship_day(d)}" if d else "",
             at=at, waited=age(at, now)) for n, p, e, d, at in rows])


def _to_ship(session: Session, now: dt.datetime) -> Block:
    """Released orders with units still to ship (every released order has some: shipping
    the last unit completes it), the earliest promised first; late: past their day."""
    today = clock.business_date(now)
    released = Order.status.in_(RELEASED_ORDER_STATUSES)
    late = Order.promised_date < today
    count, overdue = session.execute(select(func.count(), func.count().filter(late))
                                     .select_from(Order).where(released)).one()
    rows = session.execute(
        select(Order.number, _party(), Order.email, Order.promised_date, Order.released_at)
        .outerjoin(Customer, Customer.id == Order.customer_id)
        .where(released)
        .order_by(Order.promised_date.is_(None), Order.promised_date, Order.released_at,
                  Order.id).limit(FIRST))
    return Block(count or 0, [
        Item("shipping", n, p or e, detail=f"promised {ship_day(d)}" if d else "",
             at=d, waited=(f"{age(d, now)} late" if d and d < today else ""))
        for n, p, e, d, at in rows], late=overdue or 0)


def operations_overview(session: Session, *, agent_id: int | None = None,
                        show: Collection[str] = BLOCKS, now: dt.datetime | None = None,
                        activity: int = 10, low_stock: int = 10) -> StartPage:
    """The start page of the agent `agent_id`, with the blocks in `show` only."""
    now = now or clock.now()
    page = StartPage()
    readers = {"orders": lambda: _orders_today(session, agent_id, now),
               "holds": lambda: _holds(session, now),
               "returns": lambda: _returns(session, now),
               "quotes": lambda: _quotes(session, now),
               "follow_ups": lambda: _follow_ups(session, agent_id, now),
               "to_release": lambda: _to_release(session, now),
               "to_ship": lambda: _to_ship(session, now)}
    for name, read in readers.items():
        if name in show:
            page.blocks[name] = read()
    if "low_stock" in show:
        # At or below each level's reorder point, summed over the warehouses.
        page.low_stock = stock_queries.low_stock(session, limit=low_stock)
    if "activity" in show:
        page.activity = recent_activity(session, limit=activity)
    return page
