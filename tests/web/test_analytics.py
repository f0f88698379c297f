"""The console's sales analytics page (/agent/analytics/): who may open it, the filters (page
and htmx fragment), the refusals at the field, the CSV files, and the same number of queries
whatever the history holds."""
import csv
import datetime as dt
import io
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from core import clock
from core.billing.models import Invoice, InvoiceLine
from core.customers.models import Customer
from core.reporting.facts import add_to_days
from core.reporting.models import NOT_SALES, SalesFact
from core.catalog.models import Product
from tests.conftest import agent_client_for
from tests.helpers import QueryCounter

PAGE = "/analytics/"
CSV = "/analytics/export.csv"


@pytest.fixture
def manager(console_app):
    return agent_client_for(console_app, "manager@marketline.example")


def text(response) -> str:
    return " ".join(response.get_data(as_text=True).split())


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def last_invoice_day(db) -> dt.date:
    return db.scalar(select(func.max(SalesFact.day)))


def invoiced_less_credited(db, start, end, channel=None) -> D:
    """Net of VAT, from the documents themselves: invoices less credit notes, no dunning
    charges."""
    from core.orders.models import Order
    sign = {"invoice": 1, "credit_note": -1}
    stmt = (select(Invoice.kind, InvoiceLine.net).join(InvoiceLine.invoice)
            .where(Invoice.issue_date.between(start, end), Invoice.currency == "EUR",
                   InvoiceLine.kind.not_in(NOT_SALES)))
    if channel is not None:
        stmt = stmt.join(Order, Order.id == Invoice.order_id).where(Order.channel_code == channel)
    return sum((sign[k] * net for k, net in db.execute(stmt)), D(0))


@pytest.mark.parametrize("path", [PAGE, CSV])
def test_an_agent_without_the_manager_or_supervisor_role_is_refused(agent_client, path):
    assert agent_client.get(path).status_code == 403


def test_managers_and_supervisors_see_the_page_and_its_nav_link(manager, supervisor_client):
    for client in (manager, supervisor_client):
        page = text(client.get(PAGE))
        assert '<nav aria-label="Analytics"' in page and 'aria-current="page">Sales overview' in page
        assert '<a href="/analytics/">Analytics</a>' in page
    assert "<h1>Sales overview</h1>" in page


def test_agents_do_not_get_the_nav_link(agent_client):
    assert ">Analytics</a>" not in text(agent_client.get("/"))


def test_the_page_defaults_to_the_last_30_days_and_shows_tiles_chart_and_tables(manager, db):
    today = clock.today()
    page = text(manager.get(PAGE))
    start = today - dt.timedelta(days=29)
    assert f'value="{start.isoformat()}"' in page and f'value="{today.isoformat()}"' in page
    expected = invoiced_less_credited(db, start, today)
    assert f'<p id="kpi-revenue">{expected:,.2f} EUR</p>' in page
    for heading in ("Revenue", "Cost", "Gross margin", "Units", "Orders", "Average order value"):
        assert f"<h3>{heading}</h3>" in page
    assert "Revenue and margin by day" in page and "<polyline" in page  # a line by day
    assert page.count("<tr><th scope=\"row\">") >= 30 + 1  # a row per day, and the total
    assert "By channel" in page
    # The CSV link carries the filters in force, defaults included.
    assert (f'<a href="/analytics/export.csv?what=periods&amp;start={start}&amp;end={today}'
            f'&amp;grain=day&amp;currency=EUR&amp;by=channel" download>Download CSV</a>') in page


def test_filters_through_htmx_answer_the_fragment_with_bars_by_month(manager, db):
    day = last_invoice_day(db)
    start = day.replace(day=1)
    response = manager.get(f"{PAGE}?start={start}&end={day}&grain=month&channel=callcenter"
                           f"&by=product", headers={"HX-Request": "true"})
    body = text(response)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert body.startswith('<div id="analytics"') and "<h1>" not in body and "<nav" not in body
    assert "Revenue and margin by month" in body and "<rect" in body and "<polyline" not in body
    assert "By product" in body and ' - ' in body  # "SKU - product name"
    assert f"{invoiced_less_credited(db, start, day, 'callcenter'):.2f}" in body.replace(",", "")
    # The CSV links keep the filters.
    assert "channel=callcenter" in body and "grain=month" in body and "what=periods" in body


@pytest.mark.parametrize("query, field, message", [
    ("start=2026-05-10&end=2026-05-01", "end", "The end is before the start"),
    ("start=2020-01-01&end=2026-01-01", "end", "longer than 3 years"),
    ("channel=nowhere", "channel", "There is no such channel"),
    ("start=2026-02-31", "start", "Not a valid date"),
    ("agent=999999", "agent", "There is no such agent"),
    ("by=colour", "by", "Choose what to break the figures down by"),
])
def test_bad_filters_get_a_message_at_the_field_and_a_400(manager, query, field, message):
    for headers in ({}, {"HX-Request": "true"}):
        response = manager.get(f"{PAGE}?{query}", headers=headers)
        body = text(response)
        assert response.status_code == 400
        assert f'<p class="error" id="{field}-error">' in body and message in body
        assert 'aria-invalid="true"' in body and 'id="kpi-revenue"' not in body
    assert manager.get(f"{CSV}?{query}").status_code == 400


def test_the_periods_csv_has_a_row_per_period_a_total_and_plain_amounts(manager, db):
    day = last_invoice_day(db)
    start = day - dt.timedelta(days=13)
    response = manager.get(f"{CSV}?what=periods&start={start}&end={day}&grain=week")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="sales-periods-{start}-to-{day}.csv"'
    rows = rows_of(response)
    assert rows[0] == ["Period", "Revenue", "Cost", "Margin", "Margin %", "Units", "Orders",
                       "Average order value", "Revenue without a known cost"]
    assert rows[-1][0] == "Total" and 2 <= len(rows) - 2 <= 3  # two or three ISO weeks
    total = D(rows[-1][1])
    assert total == sum(D(r[1]) for r in rows[1:-1]) == invoiced_less_credited(db, start, day)
    assert all(r[1] == f"{D(r[1]):.2f}" and "," not in r[1] for r in rows[1:])
    assert D(rows[-1][3]) == D(rows[-1][1]) - D(rows[-1][2])


def test_the_breakdown_csv_adds_up_to_its_total(manager, db):
    day = last_invoice_day(db)
    start = day - dt.timedelta(days=60)
    response = manager.get(f"{CSV}?what=breakdown&by=customer&start={start}&end={day}")
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="sales-by-customer-{start}-to-{day}.csv"'
    rows = rows_of(response)
    assert rows[0][0] == "Customer" and rows[0][-1] == "Share %" and rows[-1][0] == "Total"
    assert len(rows) > 3
    assert sum(D(r[1]) for r in rows[1:-1]) == D(rows[-1][1])
    assert sum(int(r[5]) for r in rows[1:-1]) == int(rows[-1][5])
    number = db.scalar(select(Customer.number).where(Customer.id == db.scalar(
        select(SalesFact.customer_id).where(SalesFact.day == day).limit(1))))
    assert any(r[0].endswith(f"({number})") for r in rows)


def test_an_unknown_export_is_refused(manager):
    assert manager.get(f"{CSV}?what=secrets").status_code == 400


def _more_history(db, day, n):
    """n facts of new customers and products in the range, straight into facts and roll-up."""
    invoice_id = db.scalar(select(Invoice.id).limit(1))
    products = db.scalars(select(Product.id).limit(n)).all()
    customers = db.scalars(select(Customer.id).limit(n)).all()
    facts = []
    for i in range(n):
        line = InvoiceLine(invoice_id=invoice_id, description="more", quantity=1,
                           unit_price=D(0), net=D(0), tax_rate=D(0), tax=D(0), gross=D(0))
        db.add(line)
        db.flush()
        facts.append(SalesFact(invoice_id=invoice_id, invoice_line_id=line.id,
                               document="invoice", line_kind="goods", day=day - dt.timedelta(i),
                               currency="EUR", channel_code="web-b2c",
                               customer_id=customers[i % len(customers)], customer_group="vip",
                               product_id=products[i % len(products)], sku=f"MORE-{i}",
                               quantity=1, revenue=D(i + 1), cost=D(0)))
    db.add_all(facts)
    db.flush()
    add_to_days(db, facts)
    db.commit()


@pytest.mark.parametrize("by", ["channel", "product", "customer", "agent"])
def test_the_page_takes_the_same_number_of_queries_whatever_the_history(manager, db,
                                                                         connection, by):
    day = clock.today()
    path = f"{PAGE}?by={by}&start={day - dt.timedelta(days=89)}&end={day}"
    manager.get(path)
    with QueryCounter(connection) as few:
        assert manager.get(path).status_code == 200
    _more_history(db, day, 40)
    with QueryCounter(connection) as more:
        page = text(manager.get(path))
    assert more.count == few.count
    assert few.count <= 14
    if by == "product":
        assert "MORE-" in page
