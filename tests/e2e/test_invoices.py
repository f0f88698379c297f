"""A signed-in customer finds an open invoice in the account, reads it, opens its PDF and
pays it by card (localstripe)."""
from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal as D

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.audit import Actor
from core.billing import invoicing
from core.billing.invoicing import FreeTextLine
from core.billing.models import Invoice
from core.customers.models import Customer, CustomerUser
from core.db import make_engine
from tests.e2e.conftest import assert_accessible, serve_shop

SHOPPER, PASSWORD = "shopper@example.com", "demo-pass-1"
SHOTS = os.environ.get("E2E_SCREENSHOTS")  # a folder: keep screenshots to look at


@pytest.fixture(scope="module")
def shop(tmp_path_factory, localstripe):
    with serve_shop(tmp_path_factory.mktemp("invoices"), SECRET_KEY="e2e-invoices-key",
                    STRIPE_API_BASE=localstripe,
                    STRIPE_JS_URL=f"{localstripe}/js.stripe.com/v3/") as (base, settings):
        engine = make_engine(settings.DATABASE_URL)
        yield base, engine
        engine.dispose()


def issue_invoice(engine, *, overdue: bool) -> tuple[str, str]:
    """A net-30 service invoice for the demo shopper: 2 x 45.00 + 19 % VAT = 107.10 EUR.
    Returns its number and what is open on it (credit the shopper holds is used first)."""
    with Session(engine) as session:
        customer = session.scalar(select(Customer).join(CustomerUser).where(
            CustomerUser.email == SHOPPER))
        issued = clock.today() - dt.timedelta(days=45 if overdue else 0)
        invoice = invoicing.issue_free_text(
            session, customer=customer, actor=Actor("agent", None, "e2e"), today=issued,
            terms="net30", lines=[FreeTextLine("Descaling service", 2, D("45.00"), D("0.19"))])
        session.commit()
        return invoice.number, f"{invoice.amount_open:,.2f} EUR"


def shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def sign_in(page, email: str = SHOPPER) -> None:
    page.goto("/account/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()


def test_customer_reads_an_overdue_invoice_and_opens_its_pdf(browser, shop):
    base, engine = shop
    number, open_amount = issue_invoice(engine, overdue=True)
    context = browser.new_context(base_url=base)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page)
        page.get_by_role("link", name="Invoices and balance").click()
        expect(page.get_by_role("heading", name="Your invoices")).to_be_visible()
        balance = page.get_by_role("region", name="Balance")
        expect(balance).to_contain_text(f"Overdue{open_amount}")
        row = page.get_by_role("row").filter(has_text=number)
        expect(row).to_contain_text("Overdue")
        assert_accessible(page)
        shot(page, "invoices-list")

        row.get_by_role("link", name=number, exact=True).click()
        expect(page.get_by_role("heading", name=f"Invoice {number}")).to_be_visible()
        expect(page.get_by_role("row").filter(has_text="Descaling service")).to_contain_text(
            "107.10 EUR")
        assert_accessible(page)
        shot(page, "invoice-detail")

        pdf = page.request.get(page.get_by_role("link", name="Download PDF").get_attribute("href"))
        assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.body().startswith(b"%PDF")
    finally:
        context.close()


def on_account_invoice(engine, email: str) -> tuple[str, str]:
    """A new customer buying on account (net 30) with one shipped, invoiced order."""
    from core.customers.services import register_customer
    from tests.billing_support import CLERK, place, ship
    with Session(engine) as session:
        customer = register_customer(session, email=email, full_name="Pat Payer",
                                     password=PASSWORD).customer
        customer.payment_terms, customer.on_account_allowed = "net30", True
        order = place(session, [("PAP-A4-80", 4)], key=f"e2e-{email}", customer=customer,
                      payment_method="on_account")
        invoice = invoicing.invoice_shipment(session, ship(session, order, {"PAP-A4-80": 4}),
                                             actor=CLERK)
        session.commit()
        return invoice.number, f"{invoice.amount_open:,.2f} EUR"


@pytest.mark.parametrize("card", ["4242424242424242", "4000002500003155"])
def test_customer_pays_an_open_invoice_by_card(browser, shop, card):
    base, engine = shop
    email = f"payer-{card[-4:]}@example.com"
    number, open_amount = on_account_invoice(engine, email)
    context = browser.new_context(base_url=base)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        sign_in(page, email)
        page.goto("/account/invoices")
        page.get_by_role("row").filter(has_text=number).get_by_role(
            "link", name=f"Pay {number}").click()
        expect(page.get_by_role("heading", name=f"Pay invoice {number}")).to_be_visible()
        assert_accessible(page, exclude=["#card-element"])
        box = page.locator("#card-element")
        box.get_by_placeholder("number").fill(card)
        box.get_by_placeholder("exp_month").fill("12")
        box.get_by_placeholder("exp_year").fill("30")
        box.get_by_placeholder("cvc").fill("123")
        box.get_by_placeholder("postal_code").fill("10115")
        shot(page, "invoice-pay")
        page.get_by_role("button", name=f"Pay {open_amount}").click()
        thanks = page.get_by_text(f"Thank you: {number} is paid.")
        if card == "4000002500003155":  # once for the card set-up, once for the payment
            for _ in range(2):
                page.get_by_role("button", name="Complete authentication").click()
                try:
                    thanks.wait_for(timeout=3000)
                    break
                except Exception:  # noqa: BLE001 - a second challenge follows
                    continue
        expect(thanks).to_be_visible()
        expect(page.get_by_text("Amount open")).to_be_visible()
        with Session(engine) as session:
            invoice = session.scalar(select(Invoice).where(Invoice.number == number))
            assert (invoice.status, invoice.amount_open) == ("paid", D("0"))
        assert errors == []
    finally:
        context.close()
