"""A company's admin signs in, opens Purchasing from the account, sees the spend chart and
the table under it agree with the company's invoices, narrows the range (htmx), and
downloads the CSV of the company's order lines."""
from __future__ import annotations

import csv
import io
from decimal import Decimal as D

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.billing import invoicing
from core.billing.models import Invoice
from core.customers.models import CustomerUser
from core.db import make_engine, utcnow
from tests.billing_support import CLERK, place, ship
from tests.e2e.conftest import assert_accessible, serve_shop

ADA, PASSWORD = "admin@acme.example", "demo-pass-1"


@pytest.fixture(scope="module")
def shop(tmp_path_factory, localstripe):
    with serve_shop(tmp_path_factory.mktemp("purchasing"), SECRET_KEY="e2e-purchasing-key",
                    STRIPE_API_BASE=localstripe,
                    STRIPE_JS_URL=f"{localstripe}/js.stripe.com/v3/") as (base, settings):
        engine = make_engine(settings.DATABASE_URL)
        yield base, engine
        engine.dispose()


def invoiced_order(engine) -> tuple[str, D]:
    """An order of Ada's, shipped and invoiced today; (its number, Acme's net spend this
    month from the invoices less credit notes)."""
    with Session(engine) as session:
        ada = session.scalar(select(CustomerUser).where(CustomerUser.email == ADA))
        order = place(session, [("PAP-A4-80", 7)], key="e2e-purchasing", customer=ada.customer,
                      channel_code="web-b2b", payment_method="on_account")
        order.placed_by_kind, order.placed_by_id, order.po_number = "customer", ada.id, "PO-77"
        shipment = ship(session, order, {"PAP-A4-80": 7})
        shipment.shipped_at = utcnow()
        invoicing.invoice_shipment(session, shipment, actor=CLERK)
        order.status = "shipped"
        session.commit()
        first = clock.today().replace(day=1)
        net = sum(((-1 if i.kind == "credit_note" else 1) * i.net_total for i in session.scalars(
            select(Invoice).where(Invoice.customer_id == ada.customer_id,
                                  Invoice.issue_date >= first))), D(0))
        return order.number, net


def test_a_company_admin_reads_the_spend_and_downloads_the_order_lines(shop, browser):
    base, engine = shop
    number, month_net = invoiced_order(engine)
    context = browser.new_context(base_url=base, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto("/account/sign-in")
    page.get_by_label("Email").fill(ADA)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    page.get_by_role("link", name="Purchasing").click()
    expect(page.get_by_role("heading", level=1, name="Purchasing")).to_be_visible()
    expect(page.get_by_role("img", name="Spend by month")).to_be_visible()
    table = page.locator("#spend-table")
    month = clock.today().strftime("%b %Y")
    row = table.get_by_role("row", name=month)
    expect(row.get_by_role("cell").first).to_have_text(f"{month_net:,.2f} EUR")
    assert_accessible(page)

    # Only this month: the summary is this month's spend, and the page stays (htmx).
    first = clock.today().replace(day=1).isoformat()
    page.get_by_label("From", exact=True).fill(first)
    page.get_by_label("To", exact=True).fill(clock.today().isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(f"{base}/account/purchasing?start={first}&end={clock.today().isoformat()}")
    expect(page.locator("#spend-net")).to_have_text(f"{month_net:,.2f} EUR")
    expect(table.get_by_role("row")).to_have_count(3)  # head, this month, total

    with page.expect_download() as info:
        page.get_by_role("link", name="Download order lines as CSV").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(open(download.path(), encoding="utf-8").read())))
    mine = [r for r in rows if r["Order number"] == number]
    assert len(mine) == 1 and mine[0]["SKU"] == "PAP-A4-80" and mine[0]["Quantity"] == "7"
    assert mine[0]["PO number"] == "PO-77" and mine[0]["Buyer"] == "Ada Admin"
    assert mine[0]["Quantity invoiced"] == "7"
    context.close()
    assert errors == [], errors
