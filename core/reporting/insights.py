"""Sales insights beside the analytics overview: the returns rate by product and reason, the
top customers and products, customer statistics and days sales outstanding. Read from the
sales facts (core.reporting.models), the returns, the orders and the ledger; every function
runs a fixed number of queries whatever the size of the data or of the page.

No conversion between currencies: each figure is in one currency (a customer's statistics
in the customer's own currency).
"""
from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from core import clock
from core.billing import ledger
from core.billing.ageing import end_of
from core.billing.models import Invoice, JournalEntry, JournalLine
from core.catalog.models import Channel, Product, Variant
from core.credit import behaviour
from core.customers.models import Customer
from core.money import minor_units
from core.orders.models import Order
from core.paging import Page, paginate
from core.reporting.charts import Chart, bar_chart, line_chart
from core.reporting.models import SalesFact
from core.returns.models import ReturnAuthorisation, ReturnLine
from core.returns.policy import REASONS
from core.returns.states import ReturnStatus

ZERO = Decimal(0)
ONE_PLACE = Decimal("0.1")
# A return counts once it is approved (or anything after it); these never count.
NOT_RETURNED = (ReturnStatus.REQUESTED, ReturnStatus.REJECTED)
DSO_DAYS = 90


def percent(part, whole) -> Decimal | None:
    """part / whole in percent, one decimal place (half up); None when whole is 0."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(ONE_PLACE, ROUND_HALF_UP)


def channels(session: Session) -> list[tuple[str, str, str]]:
    """(code, name, currency) of every channel, by name: the filter forms' choices."""
    return [tuple(r) for r in session.execute(
        select(Channel.code, Channel.name, Channel.currency).order_by(Channel.name))]


# -- returns rate -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ProductReturns:
    product_id: int
    label: str  # "product name"
    sold: int
    returned: int

    @property
    def rate(self) -> Decimal | None:
        """Returned units in percent of the units sold in the range; None: none sold."""
        return percent(self.returned, self.sold)


@dataclass(frozen=True)
class ReasonReturns:
    code: str
    label: str
    units: int
    share: Decimal | None  # of all units returned in the range, percent


@dataclass(frozen=True)
class ReturnsRate:
    start: dt.date
    end: dt.date
    currency: str
    channel: str | None
    products: list[ProductReturns]
    reasons: list[ReasonReturns]

    @property
    def sold(self) -> int:
        return sum(p.sold for p in self.products)

    @property
    def returned(self) -> int:
        return sum(p.returned for p in self.products)

    @property
    def rate(self) -> Decimal | None:
        return percent(self.returned, self.sold)


def returns_rate(session: Session, start: dt.date, end: dt.date, currency: str = "EUR",
                 channel: str | None = None) -> ReturnsRate:
    """The returns rate per product and the returned units per reason, from `start` to
    `end` (both included). Three queries.

    Definition (a property test holds the report to it):
    - units sold of a product: the sum of SalesFact.quantity over the facts with
      document == "invoice" and quantity > 0 of that product (SalesFact.product_id), whose
      day (the invoice's issue date) falls in the range, in `currency`, and (when given) whose
      channel_code is `channel`; credit notes do not reduce it;
    - units returned of a product: the sum of ReturnLine.quantity of the return
      authorisations whose requested_at (UTC) date falls in the range, whose status is
      neither "requested" nor "rejected" (approved, or anything after it), whose currency is
      `currency` and (when given) whose order's channel_code is `channel`; a line's product is
      ReturnLine.variant_id -> Variant.product_id;
    - rate = returned / sold x 100, one decimal place (half up); none when nothing was sold;
    - per reason (core.returns.policy.REASONS, every reason listed): the units returned with
      that reason and their share of all units returned, in percent.
    Products appear when they sold or were returned in the range; most returned first.
    """
    sold_rows = session.execute(
        _channel(select(SalesFact.product_id, func.sum(SalesFact.quantity))
                 .where(SalesFact.document == "invoice", SalesFact.quantity > 0,
                        SalesFact.product_id.is_not(None), SalesFact.day >= start,
                        SalesFact.day <= end, SalesFact.currency == currency),
                 SalesFact.channel_code, channel)
        .group_by(SalesFact.product_id)).all()
    returned_stmt = (select(Variant.product_id, ReturnLine.reason, func.sum(ReturnLine.quantity))
                     .join(ReturnAuthorisation, ReturnAuthorisation.id == ReturnLine.return_id)
                     .join(Variant, Variant.id == ReturnLine.variant_id)
                     .where(ReturnAuthorisation.requested_at >= clock.day_start(start),
                            ReturnAuthorisation.requested_at < end_of(end),
                            ReturnAuthorisation.status.not_in([str(s) for s in NOT_RETURNED]),
                            ReturnAuthorisation.currency == currency)
                     .group_by(Variant.product_id, ReturnLine.reason))
    if channel is not None:
        returned_stmt = returned_stmt.join(Order, Order.id == ReturnAuthorisation.order_id) \
            .where(Order.channel_code == channel)
    returned_rows = session.execute(returned_stmt).all()
    sold = {pid: int(q or 0) for pid, q in sold_rows}
    returned: dict[int, int] = {}
    by_reason: dict[str, int] = {}
    for pid, reason, q in returned_rows:
        returned[pid] = returned.get(pid, 0) + int(q or 0)
        by_reason[reason] = by_reason.get(reason, 0) + int(q or 0)
    names = _product_names(session, sold.keys() | returned.keys())
    products = sorted(
        (ProductReturns(pid, names.get(pid, f"Product {pid}"), sold.get(pid, 0),
                        returned.get(pid, 0)) for pid in sold.keys() | returned.keys()),
        key=lambda p: (-p.returned, -(p.rate or ZERO), p.label))
    total = sum(by_reason.values())
    codes = list(REASONS) + sorted(set(by_reason) - set(REASONS))
    reasons = [ReasonReturns(code, REASONS[code].label if code in REASONS else code,
                             by_reason.get(code, 0), percent(by_reason.get(code, 0), total))
               for code in codes]
    return ReturnsRate(start, end, currency, channel, products, reasons)


def _channel(stmt, column, channel: str | None):
    return stmt if channel is None else stmt.where(column == channel)


def _product_names(session: Session, ids) -> dict[int, str]:
    """Always one query (an empty IN too), so the count never depends on the data."""
    return dict(session.execute(select(Product.id, Product.name)
                                .where(Product.id.in_(sorted(ids)))).all())


# -- top customers and products ---------------------------------------------------------------

@dataclass(frozen=True)
class TopRow:
    key: int | None  # customer or product id; None: guests (no account)
    label: str
    number: str  # the customer number or the product's first SKU sold ("" for none)
    revenue: Decimal
    cost: Decimal
    units: int
    orders: int

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.cost

    @property
    def margin_percent(self) -> Decimal | None:
        return percent(self.margin, self.revenue) if self.revenue else None


def _top(session: Session, key, start, end, currency, channel, limit, orders):
    stmt = (select(key, func.sum(SalesFact.revenue).label("revenue"),
                   func.sum(SalesFact.cost).label("cost"),
                   func.sum(SalesFact.quantity).label("units"), orders.label("orders"),
                   func.max(SalesFact.sku).label("sku"))
            .where(SalesFact.day >= start, SalesFact.day <= end, SalesFact.currency == currency)
            .group_by(key).order_by(func.sum(SalesFact.revenue).desc(), key).limit(limit))
    return session.execute(_channel(stmt, SalesFact.channel_code, channel)).all()


def top_customers(session: Session, start: dt.date, end: dt.date, currency: str = "EUR",
                  limit: int = 10, channel: str | None = None) -> list[TopRow]:
    """The customers with the most revenue (net, invoices less credit notes) in the range:
    revenue, cost, units and orders (orders whose first invoice falls in the range), as the
    analytics overview defines them. Two queries."""
    rows = _top(session, SalesFact.customer_id, start, end, currency, channel, limit,
                func.sum(case((SalesFact.first_of_order, 1), else_=0)))
    ids = [r[0] for r in rows if r[0] is not None]
    names = {cid: (name, number) for cid, name, number in session.execute(
        select(Customer.id, Customer.name, Customer.number).where(Customer.id.in_(ids)))}
    return [TopRow(r[0], *names.get(r[0], ("Guest orders (no account)", "")),
                   Decimal(r.revenue or 0), Decimal(r.cost or 0), int(r.units or 0),
                   int(r.orders or 0)) for r in rows]


def top_products(session: Session, start: dt.date, end: dt.date, currency: str = "EUR",
                 limit: int = 10, channel: str | None = None) -> list[TopRow]:
    """The products with the most revenue in the range: revenue, cost, units, and orders
    (the distinct orders with such a line invoiced in the range). Lines without a product
    (shipping, free text) are left out. Two queries."""
    orders = func.count(func.distinct(case((SalesFact.document == "invoice",
                                            SalesFact.order_id))))
    rows = [r for r in _top(session, SalesFact.product_id, start, end, currency, channel,
                            limit + 1, orders) if r[0] is not None][:limit]
    names = _product_names(session, [r[0] for r in rows])
    return [TopRow(r[0], names.get(r[0], f"Product {r[0]}"), r.sku or "",
                   Decimal(r.revenue or 0), Decimal(r.cost or 0), int(r.units or 0),
                   int(r.orders or 0)) for r in rows]


# -- customer statistics ----------------------------------------------------------------------

SORTS = {"turnover": "Turnover this year", "last_year": "Turnover last year",
         "open": "Open amount", "overdue": "Overdue amount", "last_order": "Last order",
         "name": "Name"}


@dataclass(frozen=True)
class CustomerStats:
    customer_id: int
    number: str
    name: str
    currency: str
    turnover_this_year: Decimal
    turnover_last_year: Decimal
    last_order: dt.date | None
    open_amount: Decimal
    overdue_amount: Decimal
    days_to_pay: Decimal | None  # average over invoices paid in the last 12 months


@dataclass(frozen=True)
class CustomerStatistics:
    today: dt.date
    rows: Page[CustomerStats]
    search: str = ""
    sort: str = "turnover"

    @property
    def this_year(self) -> int:
        return self.today.year


def _as_date(value) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite's max() over a datetime kept as text (UTC)
        value = dt.datetime.fromisoformat(value)
    return clock.business_date(value) if isinstance(value, dt.datetime) else value


def customer_statistics(session: Session, *, page: int = 1, per_page: int = 50,
                        search: str | None = None, sort: str = "turnover",
                        today: dt.date | None = None) -> CustomerStatistics:
    """Per customer, in the customer's own currency: turnover (net revenue from the sales
    facts, invoices less credit notes) this calendar year up to today and all of last year;
    the day of the last order placed (drafts do not count); what is open on the customer's
    invoices now, and of it what is past its due date (due before today); the average days
    to pay of the invoices paid in the last 12 months (core.credit.behaviour). Customers
    without any of it are listed too. Four queries per page whatever its size (count, the
    page's rows, and core.credit.behaviour's two)."""
    today = today or clock.today()
    sort = sort if sort in SORTS else "turnover"
    search = " ".join((search or "").split())[:100]
    stmt, count = _statistics_query(today, search, sort)
    rows = paginate(session, stmt, page=page, per_page=per_page, count=count)
    return CustomerStatistics(today, rows.map(_stats_maker(session, rows.items, today)),
                              search, sort)


def _stats_maker(session: Session, rows, today: dt.date):
    """A function making the CustomerStats of each of `rows`, their payment behaviour read
    in core.credit.behaviour's two queries."""
    paid = behaviour.payment_behaviour(session, [r.id for r in rows] or [0], today=today)
    return lambda r: CustomerStats(
        r.id, r.number, r.name, r.currency, Decimal(r.this_year or 0),
        Decimal(r.last_year or 0), _as_date(r.placed_at), Decimal(r.open or 0),
        Decimal(r.overdue or 0), paid[r.id].days_to_pay if r.id in paid else None)


def _statistics_query(today: dt.date, search: str, sort: str):
    """The statement of every customer's figures, searched and sorted, and its count."""
    this_jan = dt.date(today.year, 1, 1)
    last_jan = dt.date(today.year - 1, 1, 1)
    turnover = (select(SalesFact.customer_id.label("customer_id"),
                       SalesFact.currency.label("currency"),
                       func.sum(case((SalesFact.day >= this_jan, SalesFact.revenue), else_=0))
                       .label("this_year"),
                       func.sum(case((SalesFact.day < this_jan, SalesFact.revenue), else_=0))
                       .label("last_year"))
                .where(SalesFact.customer_id.is_not(None), SalesFact.day >= last_jan,
                       SalesFact.day <= today)
                .group_by(SalesFact.customer_id, SalesFact.currency).subquery("turnover"))
    last_order = (select(Order.customer_id.label("customer_id"),
                         func.max(Order.placed_at).label("placed_at"))
                  .where(Order.customer_id.is_not(None), Order.status != "draft")
                  .group_by(Order.customer_id).subquery("last_order"))
    open_items = (select(Invoice.customer_id.label("customer_id"),
                         Invoice.currency.label("currency"),
                         func.sum(Invoice.amount_open).label("open"),
                         func.sum(case((Invoice.due_date < today, Invoice.amount_open), else_=0))
                         .label("overdue"))
                  .where(Invoice.kind == "invoice", Invoice.amount_open > 0,
                         Invoice.customer_id.is_not(None))
                  .group_by(Invoice.customer_id, Invoice.currency).subquery("open_items"))
    this_year = func.coalesce(turnover.c.this_year, 0)
    open_amount = func.coalesce(open_items.c.open, 0)
    overdue = func.coalesce(open_items.c.overdue, 0)
    stmt = (select(Customer.id, Customer.number, Customer.name, Customer.currency,
                   this_year.label("this_year"),
                   func.coalesce(turnover.c.last_year, 0).label("last_year"),
                   last_order.c.placed_at, open_amount.label("open"), overdue.label("overdue"))
            .outerjoin(turnover, and_(turnover.c.customer_id == Customer.id,
                                      turnover.c.currency == Customer.currency))
            .outerjoin(last_order, last_order.c.customer_id == Customer.id)
            .outerjoin(open_items, and_(open_items.c.customer_id == Customer.id,
                                        open_items.c.currency == Customer.currency)))
    count = select(func.count()).select_from(Customer)
    if search:
        like = f"%{search.replace('%', '').replace('_', '').lower()}%"
        # lower(name): the expression the customers' trigram index is on (PostgreSQL)
        found = or_(func.lower(Customer.name).like(like), Customer.number.ilike(like))
        stmt, count = stmt.where(found), count.where(found)
    order = {"turnover": [this_year.desc()], "last_year": [turnover.c.last_year.desc()],
             "open": [open_amount.desc()], "overdue": [overdue.desc()],
             "last_order": [last_order.c.placed_at.is_(None), last_order.c.placed_at.desc()],
             "name": []}[sort]
    return stmt.order_by(*order, Customer.name, Customer.id), count


# -- days sales outstanding -------------------------------------------------------------------

@dataclass(frozen=True)
class DsoPoint:
    day: dt.date  # a month end (today for the month under way)
    receivables: Decimal  # the receivables account (1200) at the end of the day
    revenue: Decimal  # gross invoiced less credited in the 90 days up to the day

    @property
    def label(self) -> str:
        return self.day.strftime("%b %Y")

    @property
    def dso(self) -> Decimal | None:
        """receivables / revenue x 90, one decimal place; None without revenue."""
        if self.revenue <= 0:
            return None
        return (self.receivables / self.revenue * DSO_DAYS).quantize(ONE_PLACE, ROUND_HALF_UP)


def month_ends(months: int, today: dt.date) -> list[dt.date]:
    """The last day of each of the `months` months up to today's, oldest first; today stands
    for the end of the month under way."""
    days = []
    year, month = today.year, today.month
    for _ in range(months):
        last = dt.date(year, month, calendar.monthrange(year, month)[1])
        days.append(min(last, today))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return days[::-1]


def dso_series(session: Session, months: int = 12, currency: str = "EUR", *,
               today: dt.date | None = None) -> list[DsoPoint]:
    """Days sales outstanding at each month end (`month_ends`):

        DSO = receivables open at the end of the day / gross revenue of the 90 days up to
              and including it x 90

    Receivables: the balance of the receivables control account (1200) in `currency`, from
    the journal entries posted on or before the day (it ties to the open invoices, see
    core.billing.ageing). Revenue: the gross totals (VAT included, as receivables are) of the
    invoices less those of the credit notes issued in those 90 days. Two queries."""
    today = today or clock.today()
    days = month_ends(max(1, min(months, 60)), today)
    balance = JournalLine.debit - JournalLine.credit
    receivables = session.execute(
        select(*(func.sum(case((JournalEntry.posted_at < end_of(d), balance), else_=0))
                 for d in days))
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalLine.account_code == ledger.RECEIVABLES,
               JournalEntry.currency == currency,
               JournalEntry.posted_at < end_of(days[-1]))).one()
    signed = case((Invoice.kind == "credit_note", -Invoice.gross_total),
                  else_=Invoice.gross_total)
    first = days[0] - dt.timedelta(days=DSO_DAYS - 1)
    revenue = session.execute(
        select(*(func.sum(case((and_(Invoice.issue_date > d - dt.timedelta(days=DSO_DAYS),
                                     Invoice.issue_date <= d), signed), else_=0))
                 for d in days))
        .where(Invoice.currency == currency, Invoice.entry_id.is_not(None),
               Invoice.issue_date >= first, Invoice.issue_date <= days[-1])).one()
    return [DsoPoint(d, Decimal(r or 0), Decimal(v or 0))
            for d, r, v in zip(days, receivables, revenue)]


# -- charts and spreadsheets ------------------------------------------------------------------

CHART_BARS = 15


def short(label: str, most: int = 14) -> str:
    """A label short enough to sit under a bar (the table under the chart has it whole)."""
    return label if len(label) <= most else label[:most - 1] + "…"


def returns_chart(report: ReturnsRate) -> Chart:
    """The returns rate of the products with the most units returned (at most 15)."""
    shown = [p for p in report.products if p.returned][:CHART_BARS]
    return bar_chart([short(p.label) for p in shown],
                     {"Returns rate (%)": [p.rate or ZERO for p in shown]})


def reasons_chart(report: ReturnsRate) -> Chart:
    return bar_chart([short(r.label) for r in report.reasons],
                     {"Units returned": [Decimal(r.units) for r in report.reasons]})


def top_chart(rows: list[TopRow]) -> Chart:
    return bar_chart([short(r.label) for r in rows],
                     {"Revenue": [r.revenue for r in rows], "Margin": [r.margin for r in rows]})


def statistics_chart(stats: CustomerStatistics) -> Chart:
    """Turnover this year beside last year's, for the first 15 customers of the page."""
    shown = stats.rows.items[:CHART_BARS]
    return bar_chart([short(r.name) for r in shown],
                     {str(stats.this_year): [r.turnover_this_year for r in shown],
                      str(stats.this_year - 1): [r.turnover_last_year for r in shown]})


def dso_chart(points: list[DsoPoint]) -> Chart:
    return line_chart([p.label for p in points],
                      {"Days sales outstanding": [p.dso or ZERO for p in points]})


def _text(value) -> str:
    return "" if value is None else str(value)


def _amount(value: Decimal, currency: str) -> str:
    """An amount to the currency's minor unit, as a spreadsheet reads it: 716.10."""
    return str(value.quantize(Decimal(1).scaleb(-minor_units(currency)), ROUND_HALF_UP))


def returns_rows(report: ReturnsRate) -> Iterator[list[str]]:
    """The returns tables for a spreadsheet: a row per product, then one per reason."""
    yield ["kind", "product or reason", "units sold", "units returned", "returns rate %",
           "share of returns %"]
    for p in report.products:
        yield ["product", p.label, str(p.sold), str(p.returned), _text(p.rate), ""]
    for r in report.reasons:
        yield ["reason", r.label, "", str(r.units), "", _text(r.share)]


def top_rows(customers: list[TopRow], products: list[TopRow], currency: str
             ) -> Iterator[list[str]]:
    yield ["list", "rank", "number or SKU", "name", "currency", "revenue", "cost", "margin",
           "margin %", "units", "orders"]
    for kind, rows in (("customers", customers), ("products", products)):
        for rank, r in enumerate(rows, 1):
            yield [kind, str(rank), r.number, r.label, currency, _amount(r.revenue, currency),
                   _amount(r.cost, currency), _amount(r.margin, currency),
                   _text(r.margin_percent), str(r.units), str(r.orders)]


def statistics_rows(session: Session, *, search: str | None = None, sort: str = "turnover",
                    chunk: int = 500) -> Iterator[list[str]]:
    """Every customer's statistics (searched and sorted as the page is): the figures in one
    query, the payment behaviour in two more per `chunk` customers."""
    today = clock.today()
    sort = sort if sort in SORTS else "turnover"
    search = " ".join((search or "").split())[:100]
    stmt, _count = _statistics_query(today, search, sort)
    yield ["customer", "name", "currency", f"turnover {today.year}",
           f"turnover {today.year - 1}", "last order", "open", "overdue", "average days to pay"]
    found = session.execute(stmt).all()
    for start in range(0, len(found), chunk):
        rows = found[start:start + chunk]
        make = _stats_maker(session, rows, today)
        for r in map(make, rows):
            yield [r.number, r.name, r.currency, _amount(r.turnover_this_year, r.currency),
                   _amount(r.turnover_last_year, r.currency),
                   _text(r.last_order and r.last_order.isoformat()),
                   _amount(r.open_amount, r.currency), _amount(r.overdue_amount, r.currency),
                   _text(r.days_to_pay)]


def dso_rows(points: list[DsoPoint], currency: str) -> Iterator[list[str]]:
    yield ["month end", "currency", "receivables (1200)", "gross revenue, 90 days", "DSO days"]
    for p in points:
        yield [p.day.isoformat(), currency, _amount(p.receivables, currency),
               _amount(p.revenue, currency), _text(p.dso)]


__all__ = ["CustomerStatistics", "CustomerStats", "DsoPoint", "ProductReturns",
           "ReasonReturns", "ReturnsRate", "SORTS", "TopRow", "channels",
           "customer_statistics", "dso_chart", "dso_rows", "dso_series", "month_ends",
           "percent", "reasons_chart", "returns_chart", "returns_rate", "returns_rows",
           "statistics_chart", "statistics_rows", "top_chart", "top_customers",
           "top_products", "top_rows"]
