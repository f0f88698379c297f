"""Order to cash in a browser: a customer orders 5 reams with a card; the warehouse
releases the order and ships 3, then 2; each shipment is invoiced and its amount taken
from the card (a partial capture of the authorisation, then a charge of the saved card);
the customer sees both invoices, opens the PDF, and follows the tracking."""
import re

import pytest
import stripe
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.billing.models import Invoice, Payment
from core.db import make_engine
from core.orders.models import Order
from core.payments.models import PaymentAttempt
from tests.e2e.conftest import assert_accessible, serve_shop
from tests.e2e.test_checkout import add_to_cart, fill_checkout


@pytest.fixture(scope="module")
def shop(tmp_path_factory, localstripe, mail):
    with serve_shop(tmp_path_factory.mktemp("o2c"), SECRET_KEY="e2e-o2c-key",
                    STRIPE_API_BASE=localstripe, STRIPE_JS_URL=f"{localstripe}/js.stripe.com/v3/",
                    SMTP_URL=mail[1]) as (base, settings):
        engine = make_engine(settings.DATABASE_URL)
        yield base, engine
        engine.dispose()


def new_page(browser, base):
    page = browser.new_context(base_url=base).new_page()
    page.set_default_timeout(15_000)
    return page


def ship(page, number, units, tracking):
    page.get_by_role("link", name="Warehouse", exact=True).click()
    page.get_by_role("link", name="To ship").click()
    page.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Ship order {number}")
    page.get_by_label("Units of PAP-A4-80 to ship").fill(str(units))
    page.get_by_label("Carrier").select_option(label="DHL")
    page.get_by_label("Tracking number").fill(tracking)
    page.get_by_role("button", name="Ship").click()
    expect(page.get_by_role("link", name=re.compile(tracking)).first).to_be_visible()


def test_five_units_shipped_three_then_two_give_two_invoices_and_two_card_payments(
        browser, shop, mail, localstripe):
    base, engine = shop
    customer = new_page(browser, base)
    customer.goto("/account/sign-in")
    customer.get_by_label("Email").fill("shopper@example.com")
    customer.get_by_label("Password").fill("demo-pass-1")
    customer.get_by_role("button", name="Sign in").click()
    expect(customer.get_by_role("heading", name="My account")).to_be_visible()
    add_to_cart(customer, "/p/navigator-everyday-copy-paper-a4-80-g", 5)
    fill_checkout(customer, "shopper@example.com", "4242424242424242")
    heading = customer.get_by_role("heading", level=1)
    expect(heading).to_contain_text(re.compile(r"SO-\d{6}"))
    number = re.search(r"SO-\d{6}", heading.inner_text()).group(0)

    warehouse = new_page(browser, base)
    warehouse.goto("/agent/sign-in")
    warehouse.get_by_label("Email").fill("warehouse@marketline.example")
    warehouse.get_by_label("Password").fill("demo-pass-1")
    warehouse.get_by_role("button", name="Sign in").click()
    warehouse.get_by_role("link", name="Warehouse", exact=True).click()
    warehouse.get_by_role("link", name="To release").click()
    warehouse.get_by_label(f"Release {number}").check()
    assert_accessible(warehouse)
    warehouse.get_by_role("button", name="Release selected orders").click()
    expect(warehouse.get_by_text(re.compile("released", re.I)).first).to_be_visible()

    ship(warehouse, number, 3, "00340434161094000001")
    assert_accessible(warehouse)
    ship(warehouse, number, 2, "00340434161094000002")

    with Session(engine) as session:
        order = session.scalar(select(Order).where(Order.number == number))
        invoices = list(session.scalars(select(Invoice).where(Invoice.order_id == order.id)
                                        .order_by(Invoice.id)))
        payments = list(session.scalars(select(Payment).where(Payment.order_id == order.id)
                                        .order_by(Payment.id)))
        attempts = list(session.scalars(select(PaymentAttempt)
                                        .where(PaymentAttempt.order_id == order.id)
                                        .order_by(PaymentAttempt.id)))
        assert (order.status, order.payment_state) == ("shipped", "captured")
        assert [i.status for i in invoices] == ["paid", "paid"]
        assert sum(i.gross_total for i in invoices) == order.gross_total
        assert [p.amount for p in payments] == [i.gross_total for i in invoices]
        assert all(p.method == "card" for p in payments)
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": localstripe})
    intents = {p.stripe_id for p in payments}
    assert len(intents) == 2  # the authorisation captured in part, then the saved card charged
    assert {client.v1.payment_intents.retrieve(i).status for i in intents} == {"succeeded"}
    assert attempts[0].stripe_id in intents

    notices = [m for m in mail[0].messages
               if m["To"] == "shopper@example.com" and "has shipped" in m["Subject"]]
    assert len(notices) == 2
    assert "00340434161094000001" in notices[0].get_body(("plain",)).get_content()
    for invoice in invoices:  # each invoice is e-mailed with its PDF
        sent = next(m for m in mail[0].messages if invoice.number in (m["Subject"] or ""))
        attachment = next(sent.iter_attachments())
        assert attachment.get_content_type() == "application/pdf"
        assert attachment.get_content().startswith(b"%PDF")

    customer.goto("/account/")
    customer.get_by_role("link", name="Invoices and balance").click()
    expect(customer.get_by_role("heading", name="Your invoices")).to_be_visible()
    for invoice in invoices:
        expect(customer.get_by_role("link", name=invoice.number, exact=True)).to_be_visible()
    assert_accessible(customer)
    pdf_link = customer.get_by_role("link", name=f"PDF of {invoices[0].number}")
    response = customer.request.get(base + pdf_link.get_attribute("href"))
    assert response.ok and response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")

    customer.goto("/account/")
    customer.get_by_role("link", name=number).first.click()
    expect(customer.get_by_role("heading", level=1)).to_contain_text(number)
    for tracking in ("00340434161094000001", "00340434161094000002"):
        link = customer.get_by_role("link", name=re.compile(tracking))
        expect(link).to_be_visible()
        assert tracking in link.get_attribute("href")
    assert_accessible(customer)
