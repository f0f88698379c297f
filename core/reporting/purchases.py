"""What a company bought: the read side of the shop's Purchasing page for business buyers.

Spend by month (the company's invoices less its credit notes, net and gross, in the
company's currency), its top products (from the sales facts: spend net of VAT and units),
its open quotes, and a CSV of its order lines for the buyer's own purchasing system.

Who sees what follows core.customers.roles, as the invoice and order pages do: a company's
approver or admin sees the whole company; a plain buyer only the orders they placed (and
their invoices and quotes). Persons (consumers) have no Purchasing page: `offered_to`.
Each function is a fixed number of queries whatever the range holds.
"""
from __future__ import annotations

import itertools
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import and_, case, extract, func, not_, select
from sqlalchemy.orm import Session, aliased

from core import clock, spreadsheet
from core.billing.models import Invoice
from core.catalog.models import Product
from core.customers import roles
from core.customers.models import CustomerUser
from core.money import minor_units
from core.orders import states as order_states
from core.orders.models import Order, OrderLine
from core.orders.queries import CHECKOUT_ATTEMPT_REASONS
from core.quotes.models import Quote
from core.quotes.states import OPEN as OPEN_QUOTES, QuoteStatus
from core.reporting.models import NOT_SALES, SalesFact

ZERO = Decimal(0)
MONTHS_DEFAULT = 12
LONGEST_DAYS = 3 * 366  # a range is at most three years: the CSV stays bounded
EARLIEST = dt.date(2000, 1, 1)
TOP_PRODUCTS = 10
OPEN_QUOTES_SHOWN = 20
CSV_HEADER = ["Order number", "PO number", "Order date", "Buyer", "SKU", "Product",
              "Quantity", "Unit price", "Net", "Tax", "Gross", "Currency", "Status",
              "Quantity shipped", "Quantity invoiced"]
BY_OUR_TEAM = "Marketline sales team"  # orders an agent took on the phone


class RangeError(ValueError):
    """A date range the page refuses, with a message fit to show a person."""


@dataclass(frozen=True)
class Range:
    start: dt.date
    end: dt.date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def default_range(today: dt.date) -> Range:
    """The last twelve months: from the first of the month eleven months back to today."""
    year, month = today.year, today.month - (MONTHS_DEFAULT - 1)
    while month < 1:
        year, month = year - 1, month + 12
    return Range(dt.date(year, month, 1), today)


def checked_range(start: dt.date | None, end: dt.date | None, *, today: dt.date) -> Range:
    """The chosen range, defaults filled in; RangeError when it runs backwards or too long."""
    default = default_range(today)
    chosen = Range(start or default.start, end or default.end)
    latest = dt.date(today.year + 1, 12, 31)
    if not EARLIEST <= chosen.start <= latest or not EARLIEST <= chosen.end <= latest:
        raise RangeError(f"Choose dates from {EARLIEST.year} to {latest.year}.")
    if chosen.end < chosen.start:
        raise RangeError("The end date must not be before the start date.")
    if chosen.days > LONGEST_DAYS:
        raise RangeError("Choose a range of at most three years.")
    return chosen


def offered_to(user: CustomerUser | None) -> bool:
    """The Purchasing page is a company's: its logins (a person's account has none)."""
    return user is not None and roles.is_company(user) and user.active


@dataclass(frozen=True)
class MonthSpend:
    start: dt.date  # the first of the month
    label: str  # "Dec 2026"
    net: Decimal
    gross: Decimal

    @property
    def tax(self) -> Decimal:
        return self.gross - self.net


@dataclass(frozen=True)
class ProductSpend:
    product_id: int
    name: str
    units: int  # invoiced less credited
    spend: Decimal  # net of VAT, invoiced less credited


@dataclass(frozen=True)
class OpenQuote:
    number: str
    status: str  # draft (requested, being prepared) | sent
    asked_on: dt.date
    expires_on: dt.date | None
    gross: Decimal
    currency: str
    requested_by: str


@dataclass(frozen=True)
class Purchasing:
    range: Range
    currency: str
    whole_company: bool  # False: a buyer's own orders only
    months: list[MonthSpend] = field(default_factory=list)  # every month of the range
    products: list[ProductSpend] = field(default_factory=list)
    quotes: list[OpenQuote] = field(default_factory=list)

    @property
    def net(self) -> Decimal:
        return sum((m.net for m in self.months), ZERO)

    @property
    def gross(self) -> Decimal:
        return sum((m.gross for m in self.months), ZERO)

    @property
    def tax(self) -> Decimal:
        return self.gross - self.net


def _check(user: CustomerUser) -> None:
    if not isinstance(user, CustomerUser):
        raise TypeError("pass the signed-in CustomerUser: what it sees depends on its role")
    if not offered_to(user):
        raise PermissionError("Purchasing figures are for a company's buyers.")


def purchasing(session: Session, user: CustomerUser, chosen: Range, *,
               today: dt.date) -> Purchasing:
    """The Purchasing page's figures for this login over the range: three queries."""
    _check(user)
    currency = user.customer.currency
    return Purchasing(chosen, currency, roles.sees_all(user),
                      months=spend_by_month(session, user, chosen, currency),
                      products=top_products(session, user, chosen, currency),
                      quotes=open_quotes(session, user, today=today))


def _months(chosen: Range) -> list[dt.date]:
    found, day = [], chosen.start.replace(day=1)
    while day <= chosen.end:
        found.append(day)
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return found


def spend_by_month(session: Session, user: CustomerUser, chosen: Range,
                   currency: str) -> list[MonthSpend]:
    """Invoices less credit notes per month of issue (net, gross), every month of the range
    (empty ones too). One query."""
    year, month = extract("year", Invoice.issue_date), extract("month", Invoice.issue_date)
    sign = func.sum(_signed(Invoice.net_total)), func.sum(_signed(Invoice.gross_total))
    rows = session.execute(
        select(year, month, *sign).outerjoin(Order, Order.id == Invoice.order_id)
        .where(roles.owned_by(user, Invoice.customer_id, Order.placed_by_kind,
                              Order.placed_by_id),
               Invoice.currency == currency,
               Invoice.issue_date.between(chosen.start, chosen.end))
        .group_by(year, month))
    sums = {(int(y), int(m)): (Decimal(net or 0), Decimal(gross or 0))
            for y, m, net, gross in rows}
    return [MonthSpend(d, d.strftime("%b %Y"), *sums.get((d.year, d.month), (ZERO, ZERO)))
            for d in _months(chosen)]


def _signed(column):
    return case((Invoice.kind == "credit_note", -column), else_=column)


def top_products(session: Session, user: CustomerUser, chosen: Range, currency: str, *,
                 limit: int = TOP_PRODUCTS) -> list[ProductSpend]:
    """The products the login's company (or buyer) spent most on in the range, net of VAT,
    credit notes deducted, with the units. One query."""
    spend, units = func.sum(SalesFact.revenue), func.sum(SalesFact.quantity)
    rows = session.execute(
        select(Product.id, Product.name, units, spend)
        .join(Product, Product.id == SalesFact.product_id)
        .outerjoin(Order, Order.id == SalesFact.order_id)
        .where(roles.owned_by(user, SalesFact.customer_id, Order.placed_by_kind,
                              Order.placed_by_id),
               SalesFact.currency == currency, SalesFact.line_kind.not_in(NOT_SALES),
               SalesFact.day.between(chosen.start, chosen.end))
        .group_by(Product.id, Product.name)
        .order_by(spend.desc(), Product.name, Product.id)
        .limit(limit))
    return [ProductSpend(pid, name, int(u or 0), Decimal(s or 0)) for pid, name, u, s in rows]


def open_quotes(session: Session, user: CustomerUser, *, today: dt.date,
                limit: int = OPEN_QUOTES_SHOWN) -> list[OpenQuote]:
    """Quotes still open to the login: requested (being prepared) or sent and not yet past
    their date; those expiring first on top. One query."""
    buyer = aliased(CustomerUser)
    lapsed = and_(Quote.status == QuoteStatus.SENT, Quote.expires_on.is_not(None),
                  Quote.expires_on < today)
    rows = session.execute(
        select(Quote, buyer.full_name).outerjoin(buyer, buyer.id == Quote.requested_by_id)
        .where(roles.owned_by(user, Quote.customer_id, None, Quote.requested_by_id),
               Quote.status.in_([str(s) for s in OPEN_QUOTES]), not_(lapsed))
        .order_by(Quote.expires_on.is_(None), Quote.expires_on, Quote.created_at, Quote.id)
        .limit(limit))
    return [OpenQuote(q.number, q.status, clock.business_date(q.created_at), q.expires_on,
                      q.gross_total, q.currency, name or BY_OUR_TEAM) for q, name in rows]


# -- the CSV of order lines ------------------------------------------------------------------

def _order_lines(user: CustomerUser, chosen: Range):
    start, end = clock.day_start(chosen.start), clock.day_end(chosen.end)
    placer = aliased(CustomerUser)
    listed = not_(and_(Order.status == "cancelled",
                       Order.cancel_reason.in_(CHECKOUT_ATTEMPT_REASONS)))
    return (select(Order.number, Order.po_number, Order.placed_at, Order.placed_by_kind,
                   placer.full_name, OrderLine.sku, OrderLine.name, OrderLine.quantity,
                   OrderLine.unit_price, OrderLine.net, OrderLine.tax, OrderLine.gross,
                   Order.currency, Order.status, OrderLine.quantity_shipped,
                   OrderLine.quantity_invoiced)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .outerjoin(placer, and_(Order.placed_by_kind == "customer",
                                    placer.id == Order.placed_by_id))
            .where(roles.owned_by(user, Order.customer_id, Order.placed_by_kind,
                                  Order.placed_by_id), listed,
                   Order.placed_at >= start, Order.placed_at < end, Order.status != "draft")
            .order_by(Order.placed_at, Order.id, OrderLine.id))


def _plain(amount, currency: str) -> str:
    return f"{Decimal(amount or 0):.{minor_units(currency)}f}"


def order_line_rows(session: Session, user: CustomerUser, chosen: Range) -> Iterator[list[str]]:
    """The login's order lines placed in the range, oldest first, as text cells (CSV_HEADER
    order). One query, read in batches."""
    _check(user)
    result = session.execute(_order_lines(user, chosen).execution_options(yield_per=500))
    for (number, po, placed_at, by_kind, by_name, sku, name, qty, unit, net, tax, gross,
         currency, status, shipped, invoiced) in result:
        buyer = by_name or (BY_OUR_TEAM if by_kind == "agent" else "")
        yield [number, po, clock.business_date(placed_at).isoformat(), buyer,
               sku, name, str(qty), _plain(unit, currency), _plain(net, currency),
               _plain(tax, currency), _plain(gross, currency), currency,
               order_states.LABELS.get(status, status), str(shipped), str(invoiced)]


def export_csv(session: Session, user: CustomerUser, chosen: Range) -> Iterator[str]:
    """order_line_rows as CSV text, header first, a line at a time (for a streamed response);
    text a spreadsheet would run as a formula is prefixed with an apostrophe."""
    _check(user)
    yield from spreadsheet.csv_lines(itertools.chain([CSV_HEADER],
                                                     order_line_rows(session, user, chosen)))


def csv_filename(user: CustomerUser, chosen: Range) -> str:
    return f"order-lines-{user.customer.number}-{chosen.start.isoformat()}-{chosen.end.isoformat()}.csv"
