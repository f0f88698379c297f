"""Every analytics figure is reproducible from the documents (Hypothesis): a random history of
orders on different channels over a few days, stock receipts with unit costs before some of
them, partial credit notes with and without a restocking fee, and returns, lived on
core.clock. Then revenue, cost, margin, units and orders are computed DIRECTLY from the
invoices, credit notes and stock movements (the cost rule of core.reporting.facts: the
latest receipt that carried a cost when the invoice was issued, else the variant's
cost_price; a credit note takes back its invoice line's cost) and compared with
- the sales facts, per day, channel and product (they are written by the issuing
  transaction, so they must be exactly this);
- the daily roll-up, cell by cell, with the sum of its facts;
- core.reporting.analytics.overview and breakdown (definitions in that module's docstring);
- core.reporting.insights.returns_rate, with a direct count of invoiced and returned units.

The history lies years back (nothing else was sold on those days), so the reports' figures
over its days are the history's alone.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings as run_settings, strategies as st
from sqlalchemy import func, literal_column, select

from core import clock
from core.billing import invoicing
from core.billing.models import Invoice, InvoiceLine
from core.catalog.models import Product, Variant
from core.customers.models import Customer
from core.db import utcnow
from core.inventory.models import StockMovement
from core.orders.models import Order, OrderLine
from core.reporting import analytics
from core.reporting.models import NOT_SALES, SalesDay, SalesFact
from core.returns import services as returns
from core.returns.models import ReturnAuthorisation, ReturnLine
from core.returns.services import Request, RequestLine
from core.workflows import stock_receipts
from tests.billing_support import CLERK, place, ship
from tests.unit.test_returns import SHOPPER

START_AGO = 3000  # days back: years before any demo document
SKUS = ["PAP-A4-80", "PEN-G2-BLU", "TON-TN3430"]
CHANNELS = ["web-b2c", "web-b2b", "callcenter"]
ZERO = D(0)

steps = st.lists(st.fixed_dictionaries({
    "wait": st.integers(0, 3),  # days that pass first
    "channel": st.sampled_from(CHANNELS),
    "lines": st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 4)), min_size=1,
                      max_size=2, unique_by=lambda t: t[0]),
    "receipt": st.none() | st.decimals(D("0.50"), D("40.00"), places=2),  # unit cost
    "credit": st.none() | st.integers(1, 4),  # units of the first line credited
    "fee": st.booleans(),  # a 10 % restocking fee kept on the credit note
    "credit_after": st.integers(0, 2),  # days after the invoice
    "returned": st.booleans(),  # a return of one unit, approved
}), min_size=1, max_size=5)


@pytest.fixture(autouse=True)
def real_clock():
    yield
    clock.reset()


@dataclasses.dataclass
class Figures:
    revenue: D = ZERO
    cost: D = ZERO
    units: int = 0
    orders: set = dataclasses.field(default_factory=set)

    def add(self, revenue: D, cost: D, units: int, order_id: int | None = None) -> None:
        self.revenue += revenue
        self.cost += cost
        self.units += units
        if order_id is not None:
            self.orders.add(order_id)

    def as_tuple(self) -> tuple:
        return (self.revenue, self.cost, self.units)


def _unit_cost_now(db, variant_id: int) -> D | None:
    """The cost rule, straight from the stock movements and the variant."""
    received = db.scalar(select(StockMovement.unit_cost)
                         .where(StockMovement.variant_id == variant_id,
                                StockMovement.unit_cost.is_not(None))
                         .order_by(StockMovement.id.desc()).limit(1))
    if received is not None:
        return received
    return db.scalar(select(Variant.cost_price).where(Variant.id == variant_id))


def _live(db, history, settings):
    """Live the history; returns (document ids, unit cost per invoice line id, days)."""
    acme = db.scalar(select(Customer).where(Customer.name == "Acme Corp"))
    lenient = dataclasses.replace(settings, RETURN_AUTO_APPROVE_LIMIT=10 ** 6,
                                  RETURN_APPROVAL_LIMIT=10 ** 6, RETURN_KEEP_LIMIT=0)
    docs, costs, days, returned = [], {}, set(), []
    clock.travel(days=-START_AGO)
    for n, step in enumerate(history):
        clock.travel(days=step["wait"])
        sku = step["lines"][0][0]
        if step["receipt"] is not None:
            stock_receipts.receive(db, sku=sku, warehouse="MAIN", quantity=10,
                                   reference=f"REC-{n}", actor=CLERK, unit_cost=step["receipt"])
        key = f"agree-{n}-{utcnow().timestamp()}"
        if step["channel"] == "web-b2b":
            order = place(db, step["lines"], key=key, customer=acme, channel_code="web-b2b",
                          payment_method="on_account")
        else:
            order = place(db, step["lines"], key=key, channel_code=step["channel"])
        shipment = ship(db, order, dict(step["lines"]))
        shipment.shipped_at = utcnow() - dt.timedelta(days=1)
        by_line = {l.id: l.variant_id for l in order.lines}
        for line_id, variant in by_line.items():  # what the rule says before invoicing
            costs[("order_line", line_id)] = _unit_cost_now(db, variant)
        invoice = invoicing.invoice_shipment(db, shipment, actor=CLERK)
        docs.append(invoice.id)
        days.add(invoice.issue_date)
        goods = [l for l in invoice.lines if l.kind == "goods"]
        if step["credit"] is not None:
            first = goods[0]
            units = min(step["credit"], first.quantity)
            clock.travel(days=step["credit_after"])
            note = invoicing.issue_credit_note(
                db, invoice, lines={first.id: units}, reason="Agreement test", actor=CLERK,
                fees={first.id: D(10)} if step["fee"] else None)
            docs.append(note.id)
            days.add(note.issue_date)
        if step["returned"]:
            line = order.lines[0]
            rma = returns.request_return(
                db, order, Request([RequestLine(line.id, 1, "defective")]), actor=SHOPPER,
                channel="shop", key=f"r-{key}", settings=lenient)
            rma.requested_at = clock.now()  # the service stamps real time; date it in the history
            returned.append(rma.id)
    db.flush()
    return docs, costs, days


def _from_documents(db, docs, costs):
    """Per (day, channel, product id or None) and per order: figures from the documents."""
    cells: dict[tuple, Figures] = defaultdict(Figures)
    invoice_cost: dict[int, D | None] = {}
    for doc in db.scalars(select(Invoice).where(Invoice.id.in_(docs)).order_by(Invoice.id)):
        order = db.get(Order, doc.order_id)
        sign = 1 if doc.kind == "invoice" else -1
        for line in doc.lines:
            if line.kind in NOT_SALES:
                continue
            product = None
            if line.order_line_id:
                variant = db.scalar(select(OrderLine.variant_id)
                                    .where(OrderLine.id == line.order_line_id))
                product = db.scalar(select(Variant.product_id).where(Variant.id == variant))
            units = sign * line.quantity if line.kind == "goods" else 0
            unit_cost = None
            if line.kind == "goods" and doc.kind == "invoice":
                unit_cost = costs[("order_line", line.order_line_id)]
                invoice_cost[line.id] = unit_cost
            elif line.kind == "goods":
                unit_cost = invoice_cost.get(line.credited_line_id)
            cost = units * unit_cost if unit_cost is not None else ZERO
            cells[(doc.issue_date, order.channel_code, product)].add(
                sign * line.net, cost, units,
                order.id if doc.kind == "invoice" else None)
    return cells


def _facts_by_cell(db, docs):
    cells: dict[tuple, tuple] = defaultdict(lambda: (ZERO, ZERO, 0))
    for f in db.scalars(select(SalesFact).where(SalesFact.invoice_id.in_(docs))):
        r, c, u = cells[(f.day, f.channel_code, f.product_id)]
        cells[(f.day, f.channel_code, f.product_id)] = (r + f.revenue, c + f.cost, u + f.quantity)
    return dict(cells)


def _roll_up_equals_facts(db, days):
    f = SalesFact
    # the zeros written into the SQL: bound, PostgreSQL would not see the select's
    # coalesce and the group by's as one expression
    category = func.coalesce(f.category_id, literal_column("0"))
    agent = func.coalesce(f.agent_id, literal_column("0"))
    facts = {tuple(row[:6]): tuple(row[6:]) for row in db.execute(
        select(f.day, f.currency, f.channel_code, category, f.customer_group, agent,
               func.sum(f.revenue), func.sum(f.cost), func.sum(f.quantity),
               func.count().filter(f.first_of_order), func.count())
        .where(f.day.in_(days))
        .group_by(f.day, f.currency, f.channel_code, category, f.customer_group, agent))}
    d = SalesDay
    rolled = {tuple(row[:6]): tuple(row[6:]) for row in db.execute(
        select(d.day, d.currency, d.channel_code, d.category_id, d.customer_group, d.agent_id,
               d.revenue, d.cost, d.units, d.orders, d.lines).where(d.day.in_(days)))}
    assert rolled == facts


def _history_test(db, settings, history, check):
    savepoint = db.begin_nested()
    try:
        docs, costs, days = _live(db, history, settings)
        clock.reset()
        check(db, docs, costs, days)
    finally:
        clock.reset()
        savepoint.rollback()
        db.expire_all()


SETTINGS = dict(max_examples=15, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@run_settings(**SETTINGS)
@given(history=steps)
def test_sales_facts_and_the_roll_up_agree_with_invoices_credit_notes_and_receipts(
        db, settings, history):
    def check(db, docs, costs, days):
        direct = {k: v.as_tuple() for k, v in _from_documents(db, docs, costs).items()}
        assert _facts_by_cell(db, docs) == direct
        _roll_up_equals_facts(db, days)
        # Orders: exactly one first_of_order fact per order invoiced.
        orders = db.scalar(select(func.count()).select_from(SalesFact).where(
            SalesFact.invoice_id.in_(docs), SalesFact.first_of_order))
        assert orders == sum(1 for step in history)

    _history_test(db, settings, history, check)


def _report_or_skip(call):
    try:
        return call()
    except NotImplementedError:
        pytest.skip("core.reporting.analytics is not implemented in this build")


@run_settings(**SETTINGS)
@given(history=steps, grain=st.sampled_from(analytics.GRAINS),
       by=st.sampled_from(["channel", "product"]))
def test_overview_and_breakdowns_agree_with_the_documents(db, settings, history, grain, by):
    def check(db, docs, costs, days):
        cells = _from_documents(db, docs, costs)
        start, end = min(days), max(days)
        f = analytics.Filters(start=start, end=end, grain=grain)
        report = _report_or_skip(lambda: analytics.overview(db, f))
        total = Figures()
        per_day: dict[dt.date, Figures] = defaultdict(Figures)
        for (day, _channel, _product), fig in cells.items():
            total.add(fig.revenue, fig.cost, fig.units)
            total.orders |= fig.orders
            per_day[day].add(fig.revenue, fig.cost, fig.units)
            per_day[day].orders |= fig.orders
        t = report.totals
        assert (t.revenue, t.cost, t.units, t.orders) == (
            total.revenue, total.cost, total.units, len(total.orders))
        assert t.margin == total.revenue - total.cost
        # The periods add up to the totals, and a day's period is that day's documents.
        assert sum((p.totals.revenue for p in report.periods), ZERO) == total.revenue
        assert sum(p.totals.units for p in report.periods) == total.units
        if grain == "day":
            for p in report.periods:
                fig = per_day.get(p.start, Figures())
                assert (p.totals.revenue, p.totals.cost, p.totals.units) == fig.as_tuple()
        rows = _report_or_skip(lambda: analytics.breakdown(db, f, by))
        expected: dict[str, Figures] = defaultdict(Figures)
        for (_day, channel, product), fig in cells.items():
            key = channel if by == "channel" else ("" if product is None else str(product))
            expected[key].add(fig.revenue, fig.cost, fig.units)
        got = {r.key: (r.totals.revenue, r.totals.cost, r.totals.units) for r in rows}
        want = {k: v.as_tuple() for k, v in expected.items()}
        if by == "product":  # shipping has no product: a row "" or "0", or none at all
            for none in ("", "0"):
                got.pop(none, None)
                want.pop(none, None)
        assert got == want
        revenues = [r.totals.revenue for r in rows]
        assert revenues == sorted(revenues, reverse=True)  # largest first

    _history_test(db, settings, history, check)


@run_settings(**SETTINGS)
@given(history=steps)
def test_returns_rate_agrees_with_a_direct_count(db, settings, history):
    try:
        from core.reporting import insights
    except ImportError:
        pytest.skip("core.reporting.insights is not in this build")

    def check(db, docs, costs, days):
        start, end = min(days), max(days)
        report = _report_or_skip(lambda: insights.returns_rate(db, start, end))
        sold: dict[int, int] = defaultdict(int)
        for product, quantity in db.execute(
                select(Variant.product_id, InvoiceLine.quantity)
                .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
                .join(OrderLine, OrderLine.id == InvoiceLine.order_line_id)
                .join(Variant, Variant.id == OrderLine.variant_id)
                .where(Invoice.kind == "invoice", InvoiceLine.kind == "goods",
                       Invoice.currency == "EUR",
                       Invoice.issue_date >= start, Invoice.issue_date <= end)):
            sold[product] += quantity
        back: dict[int, int] = defaultdict(int)
        for rma in db.scalars(select(ReturnAuthorisation).where(
                ReturnAuthorisation.status.not_in(("requested", "rejected")))):
            if not (start <= clock.business_date(rma.requested_at) <= end):
                continue
            for line in db.scalars(select(ReturnLine).where(ReturnLine.return_id == rma.id)):
                back[db.scalar(select(Variant.product_id)
                               .where(Variant.id == line.variant_id))] += line.quantity
        got = {p.product_id: (p.sold, p.returned) for p in report.products}
        want = {p: (sold.get(p, 0), back.get(p, 0)) for p in set(sold) | set(back)}
        assert got == want
        assert report.returned == sum(back.values())

    _history_test(db, settings, history, check)


def test_the_history_lies_before_every_demo_document(db):
    """The reports' figures over the history's days are the history's alone."""
    first = db.scalar(select(func.min(Invoice.issue_date)))
    assert first is None or first > clock.today() - dt.timedelta(days=START_AGO - 20)
    assert db.scalar(select(Product.id).join(Variant).where(Variant.sku.in_(SKUS))) is not None
