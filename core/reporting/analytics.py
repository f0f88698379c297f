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
  with a category or product filter, the distinct orders with such a line invoiced in it;
- average order value = revenue / orders.
Every figure is in one currency (Filters.currency); nothing is converted.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)
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

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.cost

    @property
    def margin_percent(self) -> Decimal | None:
        """One decimal place; None without revenue."""
        if not self.revenue:
            return None
        return (self.margin * 100 / self.revenue).quantize(Decimal("0.1"))

    @property
    def average_order_value(self) -> Decimal | None:
        """Rounded to cents; None without orders."""
        if not self.orders:
            return None
        return (self.revenue / self.orders).quantize(Decimal("0.01"))


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


def overview(session, f: Filters) -> Overview:
    """Totals and one Period per day/week/month of the range (Filters.grain). A fixed number
    of queries whatever the range; from the roll-up unless a product or customer filter
    needs the facts."""
    raise NotImplementedError  # core.reporting analytics helper implements this


def breakdown(session, f: Filters, by: str, *, limit: int | None = None) -> list[BreakdownRow]:
    """Totals per value of `by` (a DIMENSIONS key) under the filters, largest revenue first;
    `limit` keeps the top rows. One query plus one for the labels."""
    raise NotImplementedError  # core.reporting analytics helper implements this
