"""Sales analytics: revenue, cost, margin, units, orders and average order value over a date
range, by day, week or month, filtered and broken down by channel, category, product,
customer, customer group and agent. Read from the sales facts (core.reporting.models) and
their daily roll-up; never from the live documents, so the figures are the ones at issue.

Definitions (the agreement property test holds the reports to them):
- revenue: net of VAT, invoices less credit notes (restocking fees kept on a credit note
  count as revenue kept); dunning fees and interest are not sales (models.NOT_SALES);
- cost: units x the unit cost at invoicing (core.reporting.facts), credit notes take it back;
- margin = revenue - cost; margin % = margin / revenue;
- units: goods invoiced less goods credited;
- orders: orders whose first invoice falls in the range (SalesFact.first_of_order);
  with a category or product filter, the distinct orders with such a line invoiced in it
  (a breakdown under a category filter counts an order once per category it has lines in);
- average order value = revenue / orders.
Every figure is in one currency (Filters.currency); nothing is converted.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from core.agents.models import Agent
from core.catalog.models import Category, Channel, Product
from core.customers.models import Customer
from core.customers.services import price_groups
from core.pricing.models import PriceList
from core.reporting.models import SalesDay, SalesFact

ZERO = Decimal(0)
CENT = Decimal("0.01")
GRAINS = ("day", "week", "month")
# What a breakdown can be by, with the heading people read.
DIMENSIONS = {"channel": "Channel", "category": "Category", "product": "Product",
              "customer": "Customer", "customer_group": "Customer group", "agent": "Agent"}


@dataclass(frozen=True)
class Filters:
    start: dt.date
    end: dt.date  # inclusive
    currency: str = "EUR"
    grain: str = "day"
    channel: str | None = None  # Channel.code; "" : documents without an order
    category_id: int | None = None
    customer_group: str | None = None
    agent_id: int | None = None
    product_id: int | None = None
    customer_id: int | None = None


@dataclass(frozen=True)
class Totals:
    revenue: Decimal = ZERO
    cost: Decimal = ZERO
    units: int = 0
    orders: int = 0
    # Revenue of goods sold with no known cost (no receipt cost, no standard cost, or not in
    # EUR): its margin counts in full, so the page says how much of the margin it is.
    uncosted_revenue: Decimal = ZERO

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.cost

    @property
    def margin_percent(self) -> Decimal | None:
        """One decimal place; None without revenue."""
        if not self.revenue:
            return None
        return (self.margin * 100 / self.revenue).quantize(Decimal("0.1"), ROUND_HALF_UP)

    @property
    def average_order_value(self) -> Decimal | None:
        """Rounded to cents; None without orders."""
        if not self.orders:
            return None
        return (self.revenue / self.orders).quantize(Decimal("0.01"), ROUND_HALF_UP)


@dataclass(frozen=True)
class Period:
    start: dt.date  # the first day of the day, ISO week (Monday) or month
    label: str  # "2026-12-04", "Week 49, 2026", "Dec 2026"
    totals: Totals


@dataclass(frozen=True)
class Overview:
    filters: Filters
    totals: Totals
    periods: list[Period] = field(default_factory=list)  # every period of the range, empty ones too


@dataclass(frozen=True)
class BreakdownRow:
    key: str  # the channel code, category/product/customer/agent id, group code, as text
    label: str  # what people read: channel name, "SKU - product name", customer name (number)
    totals: Totals
    share: Decimal | None  # of the filtered revenue, in percent, one decimal place


# Labels of the blanks a breakdown meets.
NO_CHANNEL = "No channel (back office)"
NO_AGENT = "Not taken by phone"
NO_PRODUCT = "No product (shipping, fees)"
NO_CUSTOMER = "No customer"
NO_GROUP = "No group"


# -- periods ----------------------------------------------------------------------------------

def period_start(day: dt.date, grain: str) -> dt.date:
    """The first day of the day, ISO week (Monday) or month holding `day`."""
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def period_label(start: dt.date, grain: str) -> str:
    if grain == "week":
        year, week, _ = start.isocalendar()
        return f"Week {week}, {year}"
    if grain == "month":
        return start.strftime("%b %Y")
    return start.isoformat()


def _next_period(start: dt.date, grain: str) -> dt.date:
    if grain == "week":
        return start + dt.timedelta(days=7)
    if grain == "month":
        return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return start + dt.timedelta(days=1)


def period_starts(f: Filters) -> list[dt.date]:
    """Every period of the range, in order (the first and last may reach outside it)."""
    out, start = [], period_start(f.start, f.grain)
    while start <= f.end:
        out.append(start)
        start = _next_period(start, f.grain)
    return out


# -- the source: the roll-up, or the facts when a filter needs them -----------------------------

def _uses_facts(f: Filters) -> bool:
    return f.product_id is not None or f.customer_id is not None


def _subtree(category_id: int):
    """The category and every category under it (one LIKE on the materialised path)."""
    path = select(Category.path).where(Category.id == category_id).scalar_subquery()
    return select(Category.id).where(Category.path.like(path.concat("%")))


def _where(src, f: Filters) -> list:
    """The filters as conditions on SalesDay or SalesFact (`src`)."""
    conds = [src.currency == f.currency, src.day >= f.start, src.day <= f.end]
    if f.channel is not None:
        conds.append(src.channel_code == f.channel)
    if f.category_id is not None:
        conds.append(or_(src.category_id == f.category_id,
                         src.category_id.in_(_subtree(f.category_id))))
    if f.customer_group is not None:
        conds.append(src.customer_group == f.customer_group)
    if f.agent_id is not None:
        conds.append(src.agent_id == f.agent_id)
    if f.product_id is not None:
        conds.append(src.product_id == f.product_id)
    if f.customer_id is not None:
        conds.append(src.customer_id == f.customer_id)
    return conds


def _sums(src):
    """revenue, cost, units, orders (the first-of-order count) and revenue without a cost of
    `src`, summed in SQL through the Amount type so they come back as Decimal on SQLite and
    PostgreSQL."""
    zero = literal(ZERO, type_=src.revenue.type)
    if src is SalesDay:
        units, orders, uncosted = src.units, src.orders, src.uncosted_revenue
    else:
        units, orders = src.quantity, case((src.first_of_order, 1), else_=0)
        uncosted = case((and_(src.line_kind == "goods", src.unit_cost.is_(None)), src.revenue),
                        else_=zero)
    return (func.coalesce(func.sum(src.revenue), zero),
            func.coalesce(func.sum(src.cost), literal(ZERO, type_=src.cost.type)),
            func.coalesce(func.sum(units), 0), func.coalesce(func.sum(orders), 0),
            func.coalesce(func.sum(uncosted), zero))


def _distinct_orders(f: Filters) -> bool:
    """Whether orders are counted as distinct orders with a matching line (a category or
    product filter: the first-of-order flag sits on one line, maybe of another category)."""
    return f.category_id is not None or f.product_id is not None


def _orders_by_day(session: Session, f: Filters) -> dict[dt.date, int]:
    """Orders with a matching invoice line in the range, each counted on the first day it
    has one (so periods add up to the range's total)."""
    first = (select(func.min(SalesFact.day).label("day"))
             .where(*_where(SalesFact, f), SalesFact.document == "invoice",
                    SalesFact.order_id.is_not(None))
             .group_by(SalesFact.order_id).subquery())
    return dict(session.execute(select(first.c.day, func.count()).group_by(first.c.day)).all())


def _totals(revenue, cost, units, orders, uncosted=ZERO) -> Totals:
    return Totals(revenue=revenue if revenue is not None else ZERO,
                  cost=cost if cost is not None else ZERO,
                  units=int(units or 0), orders=int(orders or 0),
                  uncosted_revenue=uncosted if uncosted is not None else ZERO)


def _check(f: Filters) -> None:
    if f.grain not in GRAINS:
        raise ValueError(f"unknown grain {f.grain!r}")
    if f.end < f.start:
        raise ValueError("the range ends before it starts")


def overview(session: Session, f: Filters) -> Overview:
    """Totals and one Period per day/week/month of the range (Filters.grain). A fixed number
    of queries whatever the range; from the roll-up unless a product or customer filter
    needs the facts."""
    _check(f)
    src = SalesFact if _uses_facts(f) else SalesDay
    rows = session.execute(select(src.day, *_sums(src)).where(*_where(src, f))
                           .group_by(src.day)).all()
    orders_on = _orders_by_day(session, f) if _distinct_orders(f) else None
    sums: dict[dt.date, list] = defaultdict(lambda: [ZERO, ZERO, 0, 0, ZERO])
    for day, revenue, cost, units, orders, uncosted in rows:
        s = sums[period_start(day, f.grain)]
        s[0] += revenue
        s[1] += cost
        s[2] += int(units)
        s[3] += int(orders) if orders_on is None else 0
        s[4] += uncosted
    for day, count in (orders_on or {}).items():
        sums[period_start(day, f.grain)][3] += count
    periods = [Period(start, period_label(start, f.grain), _totals(*sums.get(start, (ZERO, ZERO, 0, 0, ZERO))))
               for start in period_starts(f)]
    total = _totals(sum((p.totals.revenue for p in periods), ZERO),
                    sum((p.totals.cost for p in periods), ZERO),
                    sum(p.totals.units for p in periods), sum(p.totals.orders for p in periods),
                    sum((p.totals.uncosted_revenue for p in periods), ZERO))
    return Overview(filters=f, totals=total, periods=periods)


# -- breakdowns -------------------------------------------------------------------------------

def _key_column(src, by: str):
    if by == "channel":
        return src.channel_code
    if by == "customer_group":
        return src.customer_group
    if by == "category":
        return src.category_id if src is SalesDay else func.coalesce(src.category_id, 0)
    if by == "agent":
        return src.agent_id if src is SalesDay else func.coalesce(src.agent_id, 0)
    if by == "product":
        return func.coalesce(src.product_id, 0)
    return func.coalesce(src.customer_id, 0)  # customer


def breakdown(session: Session, f: Filters, by: str, *,
              limit: int | None = None) -> list[BreakdownRow]:
    """Totals per value of `by` (a DIMENSIONS key) under the filters, largest revenue first;
    `limit` keeps the top rows. One query plus one for the labels.

    Revenue, cost and units of the rows add up to the overview's totals. Orders do too by
    channel, customer group, agent and customer; by category or product an order counts once
    under each category or product it has a line of (so those rows may add up to more)."""
    if by not in DIMENSIONS:
        raise ValueError(f"unknown breakdown {by!r}")
    _check(f)
    # By category the roll-up suffices: its category_orders counts each order once per
    # category it has a line in (SalesFact.first_in_category), unless a product filter
    # needs the facts.
    facts = _uses_facts(f) or by in ("product", "customer")
    src = SalesFact if facts else SalesDay
    key = _key_column(src, by).label("key")
    revenue, cost, units, orders, uncosted = _sums(src)
    if not facts and (by == "category" or f.category_id is not None):
        orders = func.coalesce(func.sum(SalesDay.category_orders), 0)
    if facts and (by in ("category", "product") or _distinct_orders(f)):
        orders = func.count(func.distinct(case((src.document == "invoice", src.order_id))))
    extra = [func.min(src.sku)] if by == "product" else [literal("")]
    total = func.sum(func.sum(src.revenue)).over()
    stmt = (select(key, revenue, cost, units, orders, total, *extra, uncosted)
            .where(*_where(src, f))
            .group_by(key).order_by(func.sum(src.revenue).desc(), key))
    if limit is not None:
        stmt = stmt.limit(limit)
    found = session.execute(stmt).all()
    labels = _labels(session, by, [(r[0], r[6]) for r in found])
    rows = []
    for k, rev, cst, n, o, whole, _sku, unc in found:
        share = (rev * 100 / whole).quantize(Decimal("0.1"), ROUND_HALF_UP) if whole else None
        rows.append(BreakdownRow(key=str(k if k is not None else ""),
                                 label=labels.get(k, str(k)), totals=_totals(rev, cst, n, o, unc),
                                 share=share))
    return rows


def _labels(session: Session, by: str, keys: list[tuple]) -> dict:
    """Key -> what people read, in one query (none for customer groups)."""
    if by == "customer_group":
        return {k: k or NO_GROUP for k, _ in keys}
    if by == "channel":
        names = dict(session.execute(select(Channel.code, Channel.name)).all())
        return {k: names.get(k, k) if k else NO_CHANNEL for k, _ in keys}
    ids = [k for k, _ in keys if k]
    if by == "category":
        names = dict(session.execute(select(Category.id, Category.name)
                                     .where(Category.id.in_(ids))).all()) if ids else {}
        return {k: names.get(k, f"Category {k}") if k else NO_PRODUCT for k, _ in keys}
    if by == "agent":
        names = dict(session.execute(select(Agent.id, Agent.full_name)
                                     .where(Agent.id.in_(ids))).all()) if ids else {}
        return {k: names.get(k, f"Agent {k}") if k else NO_AGENT for k, _ in keys}
    if by == "product":
        names = dict(session.execute(select(Product.id, Product.name)
                                     .where(Product.id.in_(ids))).all()) if ids else {}
        return {k: (f"{sku} - {names.get(k, '')}" if sku else names.get(k, f"Product {k}"))
                if k else NO_PRODUCT for k, sku in keys}
    names = {i: f"{name} ({number})" for i, name, number in session.execute(
        select(Customer.id, Customer.name, Customer.number).where(Customer.id.in_(ids)))} \
        if ids else {}
    return {k: names.get(k, f"Customer {k}") if k else NO_CUSTOMER for k, _ in keys}


# -- what the filters offer ---------------------------------------------------------------------

@dataclass(frozen=True)
class Choices:
    """The values an analytics filter form offers, read in five queries."""

    channels: list[tuple[str, str, str]]  # code, name, currency
    categories: list[tuple[int, str]]  # id, name indented by depth, in tree order
    groups: list[str]
    agents: list[tuple[int, str]]
    # Price lists' currencies: a customer may be sold to in another currency than the
    # channel's (a contract in CHF), and its invoices are in that currency.
    priced_in: tuple[str, ...] = ()

    @property
    def currencies(self) -> list[str]:
        return sorted({c for _, _, c in self.channels} | set(self.priced_in)) or ["EUR"]


def filter_choices(session: Session) -> Choices:
    channels = [tuple(r) for r in session.execute(
        select(Channel.code, Channel.name, Channel.currency).order_by(Channel.name))]
    categories = [(cid, "\u2014 " * max(path.strip("/").count("/"), 0) + name)
                  for cid, name, path in session.execute(
                      select(Category.id, Category.name, Category.path)
                      .order_by(Category.path, Category.position, Category.name))]
    agents = [tuple(r) for r in session.execute(select(Agent.id, Agent.full_name)
                                                .order_by(Agent.full_name, Agent.id))]
    priced_in = tuple(session.scalars(select(PriceList.currency).distinct()))
    return Choices(channels, categories, price_groups(session), agents,
                   priced_in)
