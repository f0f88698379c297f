"""B2B approvals and credit end to end: (a) Bea Buyer checks out on account over her 500 EUR
order limit, the order waits "Awaiting approval", Abe Approver approves it on the Approvals
page, and the warehouse releases it to fulfilment in the console; (b) Gina Globex orders on
account over Globex's 1,000 EUR credit limit, the order goes on credit hold, and billing@
(credit role) releases it in the console."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import make_engine
from core.orders.models import Order
from tests.e2e.conftest import assert_accessible, serve_shop
from tests.e2e.test_checkout import view_cart_after_adding


@pytest.fixture(scope="module")
def shop(tmp_path_factory, mail):
    with serve_shop(tmp_path_factory.mktemp("b2b"), SECRET_KEY="e2e-b2b-key",
                    SMTP_URL=mail[1]) as (base, settings):
        engine = make_engine(settings.DATABASE_URL)
        yield base, engine
        engine.dispose()


def new_page(browser, base):
    page = browser.new_context(base_url=base).new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


def shop_sign_in(browser, base, email):
    page, errors = new_page(browser, base)
    page.goto("/account/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("demo-pass-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="My account")).to_be_visible()
    return page, errors


def console_sign_in(browser, base, email):
    page, errors = new_page(browser, base)
    page.goto("/agent/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("demo-pass-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return page, errors


def check_out_on_account(page, product_path, quantity) -> str:
    """Add to the cart, check out on account to the default address; the order number."""
    page.goto(product_path)
    page.get_by_label("Quantity").fill(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
    view_cart_after_adding(page, quantity)
    page.get_by_role("button", name="Checkout").click()
    expect(page.get_by_role("heading", name="Checkout")).to_be_visible()
    expect(page.get_by_label("On account (net 30)")).to_be_checked()
    expect(page.locator("#card-box")).to_be_hidden()  # no card on account
    expect(page.get_by_label(re.compile("default"))).to_be_checked()  # the default ship-to
    expect(page.get_by_label("Address", exact=True)).to_be_hidden()
    assert_accessible(page, exclude=["#card-element"])
    page.get_by_label("Purchase order number (optional)").fill("PO-E2E")
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", name=re.compile(r"Thank you! Order SO-\d+"))).to_be_visible()
    return re.search(r"SO-\d+", page.get_by_role("heading", level=1).inner_text()).group(0)


def order_by_number(engine, number) -> Order:
    with Session(engine) as s:
        order = s.scalar(select(Order).where(Order.number == number))
        order.active_holds  # loaded before the session closes
        return order


def test_bea_over_her_limit_waits_abe_approves_the_warehouse_releases(browser, shop, mail):
    base, engine = shop
    bea, bea_errors = shop_sign_in(browser, base, "buyer@acme.example")
    expect(bea.get_by_role("link", name="Approvals")).to_have_count(0)
    number = check_out_on_account(bea, "/p/bisley-filing-cabinet-4-drawers", 3)
    placed = order_by_number(engine, number)
    assert placed.gross_total > 500, placed.gross_total
    expect(bea.get_by_role("heading", level=1)).to_contain_text("awaits approval")
    expect(bea.get_by_role("status")).to_contain_text("Awaiting approval")
    bea.goto("/account/orders")
    expect(bea.get_by_role("row", name=re.compile(number))).to_contain_text("Awaiting approval")
    mail[0].wait_for("approver@acme.example", subject=number)

    abe, abe_errors = shop_sign_in(browser, base, "approver@acme.example")
    abe.get_by_role("link", name="Approvals").click()
    expect(abe.get_by_role("heading", name="Approvals")).to_be_visible()
    section = abe.get_by_role("region", name=re.compile(f"Order {number}"))
    expect(section).to_contain_text("Bea Buyer")
    expect(section).to_contain_text("order limit 500.00")
    assert_accessible(abe)
    section.get_by_label("Comment for the buyer (optional)").fill("Needed for the new office")
    section.get_by_role("button", name=f"Approve {number}").click()
    expect(abe.get_by_text(f"Order {number} is approved")).to_be_visible()
    assert not order_by_number(engine, number).on_hold
    mail[0].wait_for("buyer@acme.example", subject="approved")

    warehouse, warehouse_errors = console_sign_in(browser, base, "warehouse@marketline.example")
    warehouse.goto("/agent/fulfilment/release")
    warehouse.get_by_label(f"Release {number}").check()
    warehouse.get_by_role("button", name="Release selected orders").click()
    expect(warehouse.get_by_role("main")).not_to_contain_text(f"Release {number}")
    assert order_by_number(engine, number).status == "in_fulfilment"
    assert bea_errors == abe_errors == warehouse_errors == []


def test_gina_over_the_credit_limit_goes_on_hold_billing_releases_it(browser, shop):
    base, engine = shop
    gina, gina_errors = shop_sign_in(browser, base, "gina@globex.example")
    number = check_out_on_account(gina, "/p/baratza-coffee-grinder-flat-burrs", 3)
    [hold] = order_by_number(engine, number).active_holds
    assert (hold.kind, hold.reason_code) == ("credit", "over_limit")

    billing, billing_errors = console_sign_in(browser, base, "billing@marketline.example")
    billing.goto(f"/agent/orders/{number}")
    panel = billing.locator(f"#hold-{hold.id}")
    expect(panel).to_contain_text("Credit: Over the credit limit")
    expect(panel).to_contain_text("credit limit 1,000.00")
    panel.get_by_label("Why it can be released").fill("Globex paid its open invoice by transfer")
    panel.get_by_role("button", name="Release hold").click()
    expect(billing.locator(f"#hold-{hold.id}")).to_have_count(0)
    assert not order_by_number(engine, number).on_hold
    assert gina_errors == billing_errors == []
