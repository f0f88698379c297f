"""Sales analytics queries (core.reporting.analytics): the overview's totals and periods, the
breakdowns, and that they agree with each other and with the documents they come from.

Dates are in 2031 so the demo's own invoices stay out of the ranges."""
import datetime as dt
from decimal import Decimal as D

import pytest
from sqlalchemy import select, update

from core.agents.models import Agent
from core.billing import invoicing
from core.billing.models import Invoice, InvoiceLine
from core.catalog.models import Category, Channel, Product, Variant
from core.customers.models import Customer
from core.inventory.models import StockMovement
from core.orders.models import Order
from core.reporting import analytics
from core.reporting.analytics import Filters, breakdown, overview
from core.reporting.facts import add_to_days
from core.reporting.models import SalesDay, SalesFact
from tests.billing_support import CLERK, place, ship
from tests.helpers import QueryCounter

MON = dt.date(2031, 3, 3)  # a Monday


def day(n: int) -> dt.date:
    return MON + dt.timedelta(days=n)


@pytest.fixture
def acme(db):
    return db.scalar(select(Customer).where(Customer.name == "Acme Corp"))


def phone_agent(db) -> int:
    return db.scalar(select(Agent.id).order_by(Agent.id).limit(1))


def fact(db, when, revenue, cost="0", *, qty=1, channel="web-b2c", order=None, first=False,
         document="invoice", category_id=None, product_id=None, customer_id=None, group="retail",
         agent=False, sku=""):
    """A fact and its roll-up cell, written directly (the figures are what is under test).
    `order` picks the n-th order of the database; `agent` the first agent."""
    invoice_id = db.scalar(select(Invoice.id).order_by(Invoice.id).limit(1))
    line = InvoiceLine(invoice_id=invoice_id, description="analytics test", quantity=qty,
                       unit_price=D(0), net=D(0), tax_rate=D(0), tax=D(0), gross=D(0))
    db.add(line)
    db.flush()
    order_id = None if order is None else \
        db.scalars(select(Order.id).order_by(Order.id)).all()[order]
    agent_id = phone_agent(db) if agent else None
    f = SalesFact(invoice_id=invoice_id, invoice_line_id=line.id, document=document,
                  line_kind="goods", day=when, currency="EUR", channel_code=channel,
                  customer_id=customer_id, customer_group=group, agent_id=agent_id,
                  order_id=order_id, product_id=product_id, variant_id=None,
                  category_id=category_id, sku=sku, quantity=qty, revenue=D(revenue),
                  cost=D(cost), unit_cost=None, first_of_order=first)
    db.add(f)
    db.flush()
    add_to_days(db, [f])
    return f



def test_an_invoice_and_its_credit_note_give_revenue_net_of_vat_less_what_was_credited(db, acme):
    order = place(db, [("PAP-A4-80", 4)], key="an-cn", customer=acme, channel_code="web-b2b",
                  payment_method="on_account")
    invoice = invoicing.invoice_shipment(db, ship(db, order, {"PAP-A4-80": 4}), actor=CLERK,
                                         today=day(0))
    goods = next(l for l in invoice.lines if l.kind == "goods")
    note = invoicing.issue_credit_note(db, invoice, lines={goods.id: 1}, reason="damaged",
                                       actor=CLERK, today=day(9))
    f = Filters(start=day(0), end=day(13), currency=invoice.currency, grain="week")
    found = overview(db, f)
    assert found.totals.revenue == invoice.net_total - note.net_total
    assert found.totals.units == 3 and found.totals.orders == 1
    assert [p.start for p in found.periods] == [day(0), day(7)]
    assert [p.label for p in found.periods] == ["Week 10, 2031", "Week 11, 2031"]
    assert found.periods[0].totals.revenue == invoice.net_total
    assert found.periods[1].totals.revenue == -note.net_total
    assert found.totals.average_order_value == (found.totals.revenue).quantize(D("0.01"))
    by_channel = breakdown(db, f, "channel")
    assert [(r.key, r.totals.revenue, r.share) for r in by_channel] == [
        ("web-b2b", found.totals.revenue, D("100.0"))]
    channel = db.scalar(select(Channel).where(Channel.code == "web-b2b"))
    assert by_channel[0].label == channel.name
    by_customer = breakdown(db, f, "customer")
    assert by_customer[0].label == f"Acme Corp ({acme.number})"
    by_product = breakdown(db, f, "product")
    product = db.scalar(select(Product).join(Variant).where(Variant.sku == "PAP-A4-80"))
    labels = {r.label: r.totals for r in by_product}
    assert labels[f"PAP-A4-80 - {product.name}"].units == 3
    assert analytics.NO_PRODUCT in labels  # shipping


def test_empty_periods_are_filled_with_zero_totals_by_day_week_and_month(db):
    fact(db, day(1), "10.00")
    by_day = overview(db, Filters(start=day(0), end=day(3)))
    assert [p.label for p in by_day.periods] == ["2031-03-03", "2031-03-04", "2031-03-05",
                                                 "2031-03-06"]
    assert [p.totals.revenue for p in by_day.periods] == [0, D("10.00"), 0, 0]
    by_month = overview(db, Filters(start=dt.date(2031, 1, 15), end=dt.date(2031, 4, 2),
                                    grain="month"))
    assert [p.label for p in by_month.periods] == ["Jan 2031", "Feb 2031", "Mar 2031",
                                                   "Apr 2031"]
    assert [p.totals.revenue for p in by_month.periods] == [0, 0, D("10.00"), 0]
    assert by_month.totals.revenue == D("10.00")
    assert by_month.totals.margin_percent == D("100.0")
    across_new_year = overview(db, Filters(start=dt.date(2030, 12, 30), end=dt.date(2031, 1, 12),
                                           grain="week"))
    assert [p.label for p in across_new_year.periods] == ["Week 1, 2031", "Week 2, 2031"]


def test_week_and_month_buckets_add_the_days_of_each_period(db):
    fact(db, day(0), "1.00", "0.40", order=1, first=True)
    fact(db, day(6), "2.00", "0.50", order=2, first=True)   # Sunday: same week
    fact(db, day(7), "4.00", "1.00", order=3, first=True)   # next Monday
    fact(db, day(29), "8.00", "2.00", order=4, first=True)  # 1 April
    weeks = overview(db, Filters(start=day(0), end=day(29), grain="week"))
    assert [p.totals.revenue for p in weeks.periods[:2]] == [D("3.00"), D("4.00")]
    assert weeks.periods[-1].totals.revenue == D("8.00")
    months = overview(db, Filters(start=day(0), end=day(29), grain="month"))
    assert [(p.start, p.totals.revenue, p.totals.cost, p.totals.orders) for p in months.periods] \
        == [(dt.date(2031, 3, 1), D("7.00"), D("1.90"), 3), (dt.date(2031, 4, 1), D("8.00"),
                                                             D("2.00"), 1)]
    assert months.totals == weeks.totals
    assert months.totals.revenue == D("15.00") and months.totals.orders == 4
    assert months.totals.margin == D("11.10") and months.totals.margin_percent == D("74.0")
    assert months.totals.average_order_value == D("3.75")


def _mixed_history(db):
    cats = db.scalars(select(Category.id).order_by(Category.id).limit(2)).all()
    products = db.execute(select(Product.id, Product.category_id).order_by(Product.id)
                          .limit(2)).all()
    customers = db.scalars(select(Customer.id).order_by(Customer.id).limit(2)).all()
    fact(db, day(0), "100.00", "60.00", qty=2, channel="web-b2c", order=0, first=True,
         category_id=products[0][1], product_id=products[0][0], customer_id=customers[0])
    fact(db, day(0), "5.00", qty=0, channel="web-b2c", order=0,
         customer_id=customers[0])  # shipping
    fact(db, day(1), "40.00", "10.00", qty=1, channel="callcenter", order=5, first=True,
         category_id=products[1][1], product_id=products[1][0], customer_id=customers[1],
         group="business", agent=True)
    fact(db, day(1), "30.00", "10.00", qty=3, channel="callcenter", order=5,
         category_id=products[0][1], product_id=products[0][0], customer_id=customers[1],
         group="business", agent=True)
    fact(db, day(2), "-20.00", "-10.00", qty=-1, channel="callcenter", order=5,
         document="credit_note", category_id=products[1][1], product_id=products[1][0],
         customer_id=customers[1], group="business", agent=True)
    fact(db, day(3), "7.00", channel="", customer_id=customers[0])  # free-text invoice
    return cats, products, customers


@pytest.mark.parametrize("by", list(analytics.DIMENSIONS))
def test_the_rows_of_every_breakdown_add_up_to_the_overview_totals(db, by):
    _mixed_history(db)
    f = Filters(start=day(0), end=day(6))
    totals = overview(db, f).totals
    rows = breakdown(db, f, by)
    assert sum(r.totals.revenue for r in rows) == totals.revenue == D("162.00")
    assert sum(r.totals.cost for r in rows) == totals.cost == D("70.00")
    assert sum(r.totals.units for r in rows) == totals.units == 6
    if by not in ("category", "product"):
        assert sum(r.totals.orders for r in rows) == totals.orders == 2
    assert [r.totals.revenue for r in rows] == sorted((r.totals.revenue for r in rows),
                                                      reverse=True)
    assert sum(r.share for r in rows) == pytest.approx(D(100), abs=D("0.3"))
    assert all(r.label for r in rows)


def test_blanks_have_readable_labels(db):
    _mixed_history(db)
    f = Filters(start=day(0), end=day(6))
    assert analytics.NO_CHANNEL in [r.label for r in breakdown(db, f, "channel")]
    assert analytics.NO_AGENT in [r.label for r in breakdown(db, f, "agent")]
    assert analytics.NO_PRODUCT in [r.label for r in breakdown(db, f, "category")]
    groups = {r.label: r.totals.revenue for r in breakdown(db, f, "customer_group")}
    assert groups == {"business": D("50.00"), "retail": D("112.00")}


def test_filters_narrow_the_overview_and_count_orders_with_a_matching_line(db):
    _, products, customers = _mixed_history(db)
    f = Filters(start=day(0), end=day(6))
    phone = overview(db, Filters(start=f.start, end=f.end, channel="callcenter"))
    assert (phone.totals.revenue, phone.totals.units, phone.totals.orders) == (D("50.00"), 3, 1)
    assert overview(db, Filters(start=f.start, end=f.end, channel="")).totals.revenue == D("7.00")
    assert overview(db, Filters(start=f.start, end=f.end, agent_id=phone_agent(db))).totals == phone.totals
    assert overview(db, Filters(start=f.start, end=f.end,
                                customer_group="retail")).totals.revenue == D("112.00")
    # Both orders have a line of the first product, though order 12's first line is another.
    first_product = overview(db, Filters(start=f.start, end=f.end, product_id=products[0][0]))
    assert (first_product.totals.revenue, first_product.totals.orders) == (D("130.00"), 2)
    one_customer = overview(db, Filters(start=f.start, end=f.end, customer_id=customers[0]))
    assert one_customer.totals.revenue == D("112.00")
    category = overview(db, Filters(start=f.start, end=f.end, category_id=products[0][1]))
    assert category.totals.orders == 2
    by_product = breakdown(db, f, "product", limit=1)
    assert len(by_product) == 1 and by_product[0].key == str(products[0][0])
    assert by_product[0].share == D("80.2")  # 130 of 162


def test_a_category_filter_includes_its_subcategories(db):
    parent = Category(slug="an-parent", name="Parent", path="")
    db.add(parent)
    db.flush()
    parent.path = f"/{parent.id}/"
    child = Category(slug="an-child", name="Child", parent_id=parent.id, path="")
    db.add(child)
    db.flush()
    child.path = f"/{parent.id}/{child.id}/"
    db.flush()
    fact(db, day(0), "3.00", category_id=child.id)
    fact(db, day(0), "4.00", category_id=parent.id)
    f = Filters(start=day(0), end=day(0), category_id=parent.id)
    assert overview(db, f).totals.revenue == D("7.00")
    assert overview(db, Filters(start=day(0), end=day(0),
                                category_id=child.id)).totals.revenue == D("3.00")


def test_queries_are_a_fixed_number_whatever_the_range_and_history(db, connection):
    def count(f, by):
        with QueryCounter(connection) as q:
            overview(db, f)
            breakdown(db, f, by)
        return q.count
    _mixed_history(db)
    f = Filters(start=day(0), end=day(6))
    before = {by: count(f, by) for by in analytics.DIMENSIONS}
    for n in range(20):
        fact(db, day(n % 7), "1.00", order=n % 4, first=True, customer_id=None)
    longer = Filters(start=day(0), end=day(400), grain="month")
    assert {by: count(longer, by) for by in analytics.DIMENSIONS} == before
    assert max(before.values()) <= 3


def test_the_roll_up_and_the_facts_agree(db):
    _mixed_history(db)
    f = Filters(start=day(0), end=day(6))
    rolled = overview(db, f)
    direct = db.execute(select(SalesFact.revenue).where(SalesFact.day.between(day(0), day(6)),
                                                        SalesFact.currency == "EUR")).scalars()
    assert rolled.totals.revenue == sum(direct, D(0))
    assert db.scalar(select(SalesDay.id).where(SalesDay.day == day(0))) is not None


def test_bad_arguments_are_refused(db):
    with pytest.raises(ValueError):
        overview(db, Filters(start=day(1), end=day(0)))
    with pytest.raises(ValueError):
        breakdown(db, Filters(start=day(0), end=day(1)), "colour")
    with pytest.raises(ValueError):
        overview(db, Filters(start=day(0), end=day(1), grain="year"))


def test_by_category_an_order_counts_once_in_each_category_it_has_lines_in(db, acme):
    """From the roll-up (first_in_category), across two shipments' invoices of one order."""
    order = place(db, [("PAP-A4-80", 4), ("BEAN-LAV-CRE-1", 1)], key="an-cat", customer=acme,
                  channel_code="web-b2b", payment_method="on_account")
    invoicing.invoice_shipment(db, ship(db, order, {"PAP-A4-80": 2}), actor=CLERK, today=day(0))
    invoicing.invoice_shipment(db, ship(db, order, {"PAP-A4-80": 2, "BEAN-LAV-CRE-1": 1}),
                               actor=CLERK, today=day(1))
    flags = db.execute(select(SalesFact.category_id, SalesFact.first_in_category)
                       .where(SalesFact.order_id == order.id, SalesFact.category_id.is_not(None))
                       .order_by(SalesFact.id)).all()
    assert [flag for _, flag in flags] == [True, False, True]
    f = Filters(start=day(0), end=day(6), currency=order.currency)
    rows = {r.key: r.totals.orders for r in breakdown(db, f, "category")}
    paper, coffee = flags[0][0], flags[2][0]
    assert rows[str(paper)] == 1 and rows[str(coffee)] == 1
    assert overview(db, f).totals.orders == 1
    assert overview(db, Filters(start=day(1), end=day(1), currency=order.currency,
                                category_id=coffee)).totals.orders == 1


def test_revenue_of_goods_with_no_known_cost_is_told_apart(db, acme):
    """Its margin counts in full: the overview and the breakdown say how much it is."""
    paper = db.scalar(select(Variant).where(Variant.sku == "PAP-A4-80"))
    pens = db.scalar(select(Variant).where(Variant.sku == "PEN-G2-BLU"))
    # paper: no receipt cost and no cost price; pens: a cost price
    db.execute(update(StockMovement).where(StockMovement.variant_id == paper.id)
               .values(unit_cost=None))
    paper.cost_price, pens.cost_price = None, D("1.00")
    db.flush()
    order = place(db, [("PAP-A4-80", 2), ("PEN-G2-BLU", 1)], key="an-uncosted", customer=acme,
                  channel_code="web-b2b", payment_method="on_account")
    invoice = invoicing.invoice_shipment(db, ship(db, order, {"PAP-A4-80": 2, "PEN-G2-BLU": 1}),
                                         actor=CLERK, today=day(20))
    expected = next(l.net for l in invoice.lines if l.sku == "PAP-A4-80")
    f = Filters(start=day(20), end=day(20), currency=invoice.currency)
    assert expected > 0
    assert overview(db, f).totals.uncosted_revenue == expected
    assert sum((r.totals.uncosted_revenue for r in breakdown(db, f, "product")), D(0)) == expected
    assert sum((r.totals.uncosted_revenue for r in breakdown(db, f, "channel")), D(0)) == expected
