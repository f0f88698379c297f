"""Drop shipment in a browser: a guest buys a desk divider its supplier ships (card
authorised); the warehouse releases the order, and its purchase order appears under
Purchase orders with its PDF and goes to the supplier by e-mail; the warehouse records the
supplier's carrier and tracking number; the order is shipped, invoiced and the card
captured, as a supervisor sees on the console order page."""
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.billing.models import Invoice
from core.db import make_engine
from core.orders.models import Order
from tests.e2e.conftest import assert_accessible, serve_shop
from tests.e2e.test_checkout import add_to_cart, fill_checkout

GUEST = "drop@example.com"
SUPPLIER = "orders@nordic-furniture.example"  # core.demo.drop_ship
TRACKING = "00340434169900000001"


@pytest.fixture(scope="module")
def shop(tmp_path_factory, localstripe, mail):
    with serve_shop(tmp_path_factory.mktemp("drop"), SECRET_KEY="e2e-drop-key",
                    STRIPE_API_BASE=localstripe, STRIPE_JS_URL=f"{localstripe}/js.stripe.com/v3/",
                    SMTP_URL=mail[1]) as (base, settings):
        engine = make_engine(settings.DATABASE_URL)
        yield base, engine
        engine.dispose()


def new_page(browser, base):
    page = browser.new_context(base_url=base).new_page()
    page.set_default_timeout(15_000)
    return page


def sign_in_console(page, email):
    page.goto("/agent/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("demo-pass-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/sign-in"))


def test_a_drop_shipped_line_is_ordered_from_the_supplier_and_its_tracking_captures_the_card(
        browser, shop, mail):
    base, engine = shop
    customer = new_page(browser, base)
    add_to_cart(customer, "/p/buzzispace-acoustic-desk-divider")
    fill_checkout(customer, GUEST, "4242424242424242")
    heading = customer.get_by_role("heading", level=1)
    expect(heading).to_contain_text(re.compile(r"SO-\d{6}"))
    number = re.search(r"SO-\d{6}", heading.inner_text()).group(0)

    warehouse = new_page(browser, base)
    sign_in_console(warehouse, "warehouse@marketline.example")
    warehouse.get_by_role("link", name="Warehouse", exact=True).click()
    warehouse.get_by_role("link", name="To release").click()
    warehouse.get_by_label(f"Release {number}").check()
    warehouse.get_by_role("button", name="Release selected orders").click()
    expect(warehouse.get_by_text(re.compile("sent to the warehouse")).first).to_be_visible()

    warehouse.get_by_role("link", name="Purchase orders").click()
    expect(warehouse.get_by_role("heading", name="Purchase orders", level=1)).to_be_visible()
    row = warehouse.get_by_role("row").filter(has_text=number)
    expect(row).to_contain_text("Nordic Furniture Direct")
    expect(row).to_contain_text("Sent to supplier")
    assert_accessible(warehouse)
    row.get_by_role("link", name=re.compile(r"PO-\d{6}")).click()
    expect(warehouse.get_by_role("heading", level=1)).to_contain_text("Purchase order PO-")
    po_number = re.search(r"PO-\d{6}",
                          warehouse.get_by_role("heading", level=1).inner_text()).group(0)
    pdf = warehouse.request.get(
        base + warehouse.get_by_role("link", name="Purchase order PDF").get_attribute("href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
    to_supplier = mail[0].wait_for(SUPPLIER, subject=po_number)
    assert number in to_supplier["Subject"]
    assert next(to_supplier.iter_attachments()).get_filename() == f"{po_number}.pdf"

    assert_accessible(warehouse)
    warehouse.get_by_label("Units of ACO-DIV-160 the supplier shipped").fill("1")
    warehouse.get_by_label("Carrier").select_option(label="DHL")
    warehouse.get_by_label("Tracking number").fill(TRACKING)
    warehouse.get_by_role("button", name="Record supplier shipment").click()
    expect(warehouse.get_by_text(re.compile(r"is recorded; invoice INV-\d{6} is issued"))
           ).to_be_visible()
    expect(warehouse.get_by_role("link", name=re.compile(TRACKING))).to_be_visible()
    expect(warehouse.locator(".badge").first).to_have_text("Shipped by supplier")

    supervisor = new_page(browser, base)
    sign_in_console(supervisor, "supervisor@marketline.example")
    supervisor.goto(f"/agent/orders/{number}")
    summary = supervisor.get_by_label("Summary")
    expect(summary).to_contain_text("Shipped")
    expect(summary).to_contain_text("Paid")  # the payment state "captured", as staff read it
    purchase_orders = supervisor.get_by_role("region", name="Purchase orders")
    expect(purchase_orders.get_by_role("link", name=po_number)).to_be_visible()
    expect(purchase_orders).to_contain_text("Shipped by supplier")
    expect(supervisor.get_by_role("region", name="Shipments")).to_contain_text(TRACKING)
    assert_accessible(supervisor)

    with Session(engine) as session:
        order = session.scalar(select(Order).where(Order.number == number))
        [invoice] = session.scalars(select(Invoice).where(Invoice.order_id == order.id))
        assert (order.status, order.payment_state) == ("shipped", "captured")
        assert invoice.status == "paid" and invoice.gross_total == order.gross_total
    shipped = mail[0].wait_for(GUEST, subject="has shipped")
    assert TRACKING in shipped.get_body(("plain",)).get_content()
