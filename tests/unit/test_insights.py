"""Sales insights (issue 16): the returns rate by product and reason from real returns, days
sales outstanding on a constructed history, and customer statistics worked out by hand."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from core import clock
from core.billing import invoicing, receivables
from core.billing.invoicing import FreeTextLine
from core.catalog.models import Variant
from core.db import utcnow
from core.reporting import insights
from core.returns import services as returns
from core.returns.models import ReturnAuthorisation, ReturnLine
from core.returns.services import Request, RequestLine
from tests.billing_support import CLERK, place, ship
from tests.factories import CustomerFactory
from tests.helpers import QueryCounter
from tests.unit.test_returns import SHOPPER


@pytest.fixture(autouse=True)
def real_clock():
    yield
    clock.reset()


def at(day: dt.date) -> None:
    """Move the clock so that today is `day`."""
    clock.reset()
    clock.travel(days=(day - clock.today()).days)


def invoiced_order(db, key, lines, *, customer=None):
    order = place(db, list(lines), key=key, customer=customer)
    shipment = ship(db, order, dict(lines))
    shipment.shipped_at = utcnow() - dt.timedelta(days=1)
    invoice = invoicing.invoice_shipment(db, shipment, actor=CLERK)
    order.status = "shipped"
    db.flush()
    return order, invoice


def product_of(db, sku: str) -> int:
    return db.scalar(select(Variant.product_id).where(Variant.sku == sku))


def by_product(report, product_id):
    return next((p for p in report.products if p.product_id == product_id),
                insights.ProductReturns(product_id, "", 0, 0))


def by_reason(report, code):
    return next(r for r in report.reasons if r.code == code).units


def hand_made_return(db, order, status: str, quantity: int, reason: str) -> None:
    """A return in a status the policy never reaches at once (waiting, or turned down)."""
    line = order.lines[0]
    db.add(ReturnAuthorisation(
        number=f"RMA-T{order.id}{status[:3]}", key=f"t-{order.id}-{status}", order_id=order.id,
        customer_id=order.customer_id, email=order.email, currency=order.currency,
        status=status, channel="shop", requested_by="test", requested_at=utcnow(),
        lines=[ReturnLine(order_line_id=line.id, variant_id=line.variant_id, sku=line.sku,
                          name=line.name, quantity=quantity, reason=reason,
                          unit_gross=D("1.00"))]))
    db.flush()


def test_returns_rate_counts_invoiced_units_and_approved_returns_only(db, settings):
    today = clock.today()
    product = product_of(db, "PAP-A4-80")
    before = insights.returns_rate(db, today, today)
    phone_before = insights.returns_rate(db, today, today, channel="callcenter")
    yesterday_before = insights.returns_rate(db, today - dt.timedelta(days=1),
                                             today - dt.timedelta(days=1))
    first, _ = invoiced_order(db, "ins-r1", [("PAP-A4-80", 3)])
    second, _ = invoiced_order(db, "ins-r2", [("PAP-A4-80", 2)])
    rma = returns.request_return(
        db, first, Request([RequestLine(first.lines[0].id, 2, "defective")]),
        actor=SHOPPER, channel="shop", key="ins-rma-1", settings=settings)
    assert rma.status not in ("requested", "rejected")  # the policy approved it
    hand_made_return(db, second, "requested", 1, "changed_mind")
    hand_made_return(db, second, "rejected", 1, "damaged")

    after = insights.returns_rate(db, today, today)
    was, now = by_product(before, product), by_product(after, product)
    assert now.sold - was.sold == 5
    assert now.returned - was.returned == 2  # waiting and rejected returns do not count
    assert by_reason(after, "defective") - by_reason(before, "defective") == 2
    assert by_reason(after, "changed_mind") == by_reason(before, "changed_mind")
    assert by_reason(after, "damaged") == by_reason(before, "damaged")
    assert after.returned - before.returned == 2
    # another channel, or another currency, sees none of it
    assert by_product(insights.returns_rate(db, today, today, channel="callcenter"),
                      product) == by_product(phone_before, product)
    assert by_product(insights.returns_rate(db, today, today, currency="CHF"), product).sold == 0
    # nor does a range that ends the day before
    yesterday = today - dt.timedelta(days=1)
    assert by_product(insights.returns_rate(db, yesterday, yesterday), product) == \
        by_product(yesterday_before, product)


def test_returns_rate_and_shares_are_worked_out_in_percent():
    row = insights.ProductReturns(1, "Paper", sold=8, returned=1)
    assert row.rate == D("12.5")
    assert insights.ProductReturns(1, "Paper", sold=0, returned=1).rate is None
    assert insights.percent(2, 3) == D("66.7")


def test_returns_rate_lists_every_reason_with_its_share(db, settings):
    report = insights.returns_rate(db, dt.date(1990, 1, 1), dt.date(1990, 12, 31))
    assert [r.code for r in report.reasons][:6] == ["damaged", "defective", "wrong_item",
                                                    "not_as_described", "changed_mind", "other"]
    assert all(r.units == 0 and r.share is None for r in report.reasons)
    assert report.products == [] and report.rate is None


def test_returns_rate_runs_three_queries(db, connection):
    insights.channels(db)  # the session's savepoint is not the report's
    with QueryCounter(connection) as counted:
        insights.returns_rate(db, dt.date(2020, 1, 1), dt.date(2030, 1, 1), channel="web-b2c")
    assert counted.count == 3


def chf(db, customer, amount: str):
    return invoicing.issue_free_text(db, customer=customer, actor=CLERK, terms="net30",
                                     currency="CHF",
                                     lines=[FreeTextLine("Consulting", 1, D(amount), D(0))])


def test_dso_divides_month_end_receivables_by_ninety_days_of_revenue(db):
    """In CHF, which nothing else in the demo uses: 900 invoiced on 10 Oct, 300 of it paid
    on 5 Nov, 300 more invoiced on 20 Nov, and 100 invoiced and credited in December."""
    customer = CustomerFactory(kind="company", currency="CHF", on_account_allowed=True,
                               payment_terms="net30")
    db.flush()
    at(dt.date(2031, 10, 10))
    big = chf(db, customer, "900.00")
    at(dt.date(2031, 11, 5))
    receivables.record_payment(db, customer_id=customer.id, method="bank_transfer",
                               amount=D("300.00"), currency="CHF", received_on=clock.today(),
                               reference="CHF 1", actor=CLERK, allocations=[(big.id, D("300.00"))])
    at(dt.date(2031, 11, 20))
    chf(db, customer, "300.00")
    at(dt.date(2031, 12, 2))
    small = chf(db, customer, "100.00")
    invoicing.issue_credit_note(db, small, lines=None, reason="Wrong hours", actor=CLERK)
    at(dt.date(2031, 12, 6))

    points = insights.dso_series(db, months=4, currency="CHF")
    assert [p.day for p in points] == [dt.date(2031, 9, 30), dt.date(2031, 10, 31),
                                       dt.date(2031, 11, 30), dt.date(2031, 12, 6)]
    assert [p.receivables for p in points] == [D(0), D("900.00"), D("900.00"), D("900.00")]
    assert [p.revenue for p in points] == [D(0), D("900.00"), D("1200.00"), D("1200.00")]
    assert [p.dso for p in points] == [None, D("90.0"), D("67.5"), D("67.5")]
    assert points[-1].label == "Dec 2031"
    # 90 days after 10 Oct the first invoice has left the window: 300 of revenue, 900 open
    at(dt.date(2032, 1, 31))
    assert insights.dso_series(db, months=1, currency="CHF")[0].dso == D("270.0")


def test_dso_runs_two_queries_for_any_number_of_months(db, connection):
    insights.channels(db)
    for months in (1, 24):
        with QueryCounter(connection) as counted:
            assert len(insights.dso_series(db, months=months)) == months
        assert counted.count == 2


def test_month_ends_end_with_today():
    assert insights.month_ends(3, dt.date(2026, 3, 15)) == [
        dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 15)]


def test_customer_statistics_by_hand(db):
    """Turnover this year and last, the last order, open and overdue amounts and the days
    it took to pay, for one customer, on a history built day by day."""
    who = CustomerFactory(kind="company", name="Quillon Statistic GmbH", currency="EUR",
                          on_account_allowed=True, payment_terms="net30")
    db.flush()

    def free_text(amount):
        return invoicing.issue_free_text(db, customer=who, actor=CLERK, terms="net30",
                                         lines=[FreeTextLine("Service", 1, D(amount), D(0))])

    at(dt.date(2030, 6, 1))
    free_text("250.00")  # last year, never paid: open and overdue
    at(dt.date(2031, 2, 1))
    paid = free_text("400.00")
    at(dt.date(2031, 2, 13))
    receivables.record_payment(db, customer_id=who.id, method="bank_transfer",
                               amount=D("400.00"), currency="EUR", received_on=clock.today(),
                               reference="Q 1", actor=CLERK, allocations=[(paid.id, D("400.00"))])
    at(dt.date(2031, 11, 20))
    free_text("100.00")  # this year, not yet due on 6 Dec
    order = place(db, [("PAP-A4-80", 1)], key="ins-stats-order", customer=who)
    order.placed_at = dt.datetime(2031, 11, 21, 9, 30, tzinfo=dt.timezone.utc)
    db.flush()
    at(dt.date(2031, 12, 6))

    found = insights.customer_statistics(db, page=1, search="Quillon Statistic")
    assert found.rows.total == 1
    row = found.rows.items[0]
    assert (row.number, row.name, row.currency) == (who.number, "Quillon Statistic GmbH", "EUR")
    assert row.turnover_this_year == D("500.00")
    assert row.turnover_last_year == D("250.00")
    assert row.last_order == dt.date(2031, 11, 21)
    assert row.open_amount == D("350.00")
    assert row.overdue_amount == D("250.00")
    assert row.days_to_pay == D("12.0")


def test_customer_statistics_page_costs_the_same_queries_at_any_size(db, connection):
    counts = []
    insights.channels(db)
    for per_page in (3, 30):
        with QueryCounter(connection) as counted:
            found = insights.customer_statistics(db, page=1, per_page=per_page)
        assert len(found.rows.items) == min(per_page, found.rows.total)
        counts.append(counted.count)
    assert counts[0] == counts[1] == 4


def test_customer_statistics_sorts(db):
    for sort in insights.SORTS:
        assert insights.customer_statistics(db, page=1, per_page=5, sort=sort).sort == sort
    assert insights.customer_statistics(db, page=1, sort="nonsense").sort == "turnover"


def test_top_customers_and_products_from_invoices_less_credit_notes(db):
    """On a day of its own (3 Mar 2032): two orders of one customer, one of another, and a
    credit note for one unit; the figures are the invoice lines' own."""
    day = dt.date(2032, 3, 3)
    big = CustomerFactory(kind="company", name="Topper Big", on_account_allowed=True)
    small = CustomerFactory(kind="company", name="Topper Small", on_account_allowed=True)
    db.flush()
    at(day)
    _, first = invoiced_order(db, "ins-top-1", [("PAP-A4-80", 3)], customer=big)
    _, second = invoiced_order(db, "ins-top-2", [("PAP-A4-80", 1)], customer=big)
    _, third = invoiced_order(db, "ins-top-3", [("PAP-A4-80", 1)], customer=small)
    paper = [l for l in first.lines if l.kind == "goods"][0]
    note = invoicing.issue_credit_note(db, first, lines={paper.id: 1}, reason="One ream torn",
                                       actor=CLERK)

    def net(invoice, kind=None):
        return sum((l.net for l in invoice.lines if kind in (None, l.kind)), D(0))

    unit = net(note)  # the credited unit, net (a credit note's lines are positive)
    customers = insights.top_customers(db, day, day, "EUR")
    assert [r.label for r in customers] == ["Topper Big", "Topper Small"]
    top = customers[0]
    assert top.revenue == net(first) + net(second) - unit
    assert (top.units, top.orders) == (3, 2)
    assert top.margin == top.revenue - top.cost
    assert (customers[1].revenue, customers[1].units, customers[1].orders) == (net(third), 1, 1)
    assert insights.top_customers(db, day, day, "EUR", limit=1) == customers[:1]

    products = insights.top_products(db, day, day, "EUR")
    assert [(p.number, p.units, p.orders) for p in products] == [("PAP-A4-80", 4, 3)]
    goods = net(first, "goods") + net(second, "goods") + net(third, "goods") - unit
    assert products[0].revenue == goods
    assert insights.top_products(db, day, day, "EUR", channel="callcenter") == []
    assert insights.top_customers(db, day - dt.timedelta(days=1), day - dt.timedelta(days=1),
                                  "EUR") == []


def test_statistics_spreadsheet_pages_through_every_customer(db):
    whole = list(insights.statistics_rows(db, sort="name"))
    assert list(insights.statistics_rows(db, sort="name", chunk=2)) == whole
    assert len(whole) == 1 + insights.customer_statistics(db, page=1).rows.total
    assert whole[0][:3] == ["customer", "name", "currency"]
