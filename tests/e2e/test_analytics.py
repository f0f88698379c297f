"""Sales analytics end to end (issue 16): Mona Manager opens analytics, filters to one channel
and one month, sees the chart and the table, and downloads a CSV whose total equals the sum
of that month's invoices less credit notes (net of VAT, without dunning charges), computed
here from the documents in the server's database."""
from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import re
from collections import Counter
from decimal import Decimal as D
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.billing.models import Invoice, InvoiceLine
from core.db import make_engine
from core.orders.models import Order
from core.reporting.models import NOT_SALES
from tests.e2e.conftest import assert_accessible, serve_shop
from tests.e2e.test_approvals_credit import console_sign_in


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    with serve_shop(tmp_path_factory.mktemp("analytics"),
                    SECRET_KEY="e2e-analytics-key") as (base, settings):
        engine = make_engine(settings.DATABASE_URL)
        yield base, engine
        engine.dispose()


def busiest_channel_month(engine) -> tuple[str, dt.date]:
    """The channel and month (its first day) with the most invoices in the database."""
    with Session(engine) as s:
        seen = Counter((channel, day.replace(day=1)) for channel, day in s.execute(
            select(Order.channel_code, Invoice.issue_date)
            .join(Order, Order.id == Invoice.order_id)
            .where(Invoice.kind == "invoice", Invoice.currency == "EUR")))
    assert seen, "the demo database has no invoices"
    return seen.most_common(1)[0][0]


def invoiced_less_credited(engine, channel: str, start: dt.date, end: dt.date) -> D:
    """Net totals of the channel's invoices issued in the range less its credit notes, each
    without its dunning fee and interest lines."""
    with Session(engine) as s:
        docs = s.scalars(select(Invoice).join(Order, Order.id == Invoice.order_id)
                         .where(Order.channel_code == channel, Invoice.currency == "EUR",
                                Invoice.issue_date.between(start, end))).all()
        total = D(0)
        for doc in docs:
            charges = sum((l.net for l in s.scalars(select(InvoiceLine).where(
                InvoiceLine.invoice_id == doc.id, InvoiceLine.kind.in_(NOT_SALES)))), D(0))
            sign = 1 if doc.kind == "invoice" else -1
            total += sign * (doc.net_total - charges)
        return total


def test_a_manager_filters_to_one_channel_and_month_and_the_csv_total_is_the_documents(
        browser, shop):
    base, engine = shop
    channel, month = busiest_channel_month(engine)
    end = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    expected = invoiced_less_credited(engine, channel, month, end)

    mona, errors = console_sign_in(browser, base, "manager@marketline.example")
    # A CSP violation or a script error shows up as a console error: the page runs clean.
    mona.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    mona.get_by_role("link", name="Analytics", exact=True).click()
    expect(mona.get_by_role("heading", name="Sales overview", level=1)).to_be_visible()
    expect(mona.get_by_role("navigation", name="Analytics").get_by_role(
        "link", name="Sales overview")).to_have_attribute("aria-current", "page")
    assert_accessible(mona)

    filters = mona.get_by_role("search", name="Sales figures")
    filters.get_by_label("From", exact=True).fill(month.isoformat())
    filters.get_by_label("To", exact=True).fill(end.isoformat())
    filters.get_by_label("Show by").select_option("month")
    filters.get_by_label("Channel").select_option(channel)
    filters.get_by_role("button", name="Show").click()
    # htmx swapped the results in and put the filters in the address bar.
    expect(mona).to_have_url(re.compile(rf"channel={re.escape(channel)}"))
    expect(mona).to_have_url(re.compile(r"grain=month"))
    label = month.strftime("%b %Y")
    chart = mona.get_by_role("img", name="Revenue and margin by month in EUR")
    expect(chart).to_be_visible()
    table = mona.get_by_role("table", name="Revenue and margin by month")
    expect(table).to_be_visible()
    row = table.get_by_role("row", name=re.compile(label))
    expect(row).to_contain_text(f"{expected:,.2f} EUR")
    expect(mona.locator("#kpi-revenue")).to_have_text(f"{expected:,.2f} EUR")
    assert_accessible(mona)

    with mona.expect_download() as download:
        mona.get_by_role("link", name="Download CSV", exact=True).click()
    assert download.value.suggested_filename == f"sales-periods-{month}-to-{end}.csv"
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text("utf-8"))))
    assert rows[0][:2] == ["Period", "Revenue"]
    assert rows[1][0] == label and rows[-1][0] == "Total"
    assert D(rows[-1][1]) == expected
    assert errors == [], errors


def test_a_refused_filter_shows_its_message_at_the_field_through_htmx(browser, shop):
    base, _ = shop
    mona, errors = console_sign_in(browser, base, "manager@marketline.example")
    mona.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    mona.goto("/agent/analytics/")
    filters = mona.get_by_role("search", name="Sales figures")
    filters.get_by_label("From", exact=True).fill("2026-05-10")
    filters.get_by_label("To", exact=True).fill("2026-05-01")
    filters.get_by_role("button", name="Show").click()
    expect(mona.locator("#end-error")).to_have_text(re.compile("The end is before the start"))
    expect(mona.get_by_label("To", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(mona.locator("#kpi-revenue")).to_have_count(0)
    # The browser reports the 400 it was answered; nothing else went wrong.
    assert [e for e in errors if "400" not in e] == [], errors
