"""A signed-in Acme buyer orders a past order again and finds its lines in the cart, saves
the cart as a list, and adds a saved list to the cart; quick order rows show the name,
price and stock of a SKU as it is typed (htmx), and a pasted line that is unknown is
reported by its number while the others are added."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import make_engine
from core.orders.models import Order
from tests.e2e.conftest import assert_accessible, serve_shop

ADMIN, PASSWORD = "admin@acme.example", "demo-pass-1"


@pytest.fixture(scope="module")
def shop(tmp_path_factory, localstripe):
    with serve_shop(tmp_path_factory.mktemp("lists"), SECRET_KEY="e2e-lists-key",
                    STRIPE_API_BASE=localstripe,
                    STRIPE_JS_URL=f"{localstripe}/js.stripe.com/v3/") as (base, settings):
        engine = make_engine(settings.DATABASE_URL)
        yield base, engine
        engine.dispose()


@pytest.fixture
def buyer(browser, shop):
    """Ada, Acme's admin (she sees every order of the company), signed in."""
    context = browser.new_context(base_url=shop[0])
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("/account/sign-in")
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    yield page
    context.close()
    assert errors == [], errors


def empty_cart(page) -> None:
    page.goto("/cart/")
    remove = page.get_by_role("button", name=re.compile(r"^Remove "))
    while (left := remove.count()):
        remove.first.click()
        expect(remove).to_have_count(left - 1)
    expect(page.get_by_text("Your cart is empty")).to_be_visible()


def test_order_again_then_save_as_list_then_add_a_saved_list(buyer, shop):
    page = buyer
    empty_cart(page)
    with Session(shop[1]) as session:
        number = session.scalar(select(Order.number).where(Order.po_number == "PO-7779"))
    page.get_by_role("link", name="My account").click()
    page.get_by_role("link", name="All your orders").click()
    page.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", name=f"Order {number}")).to_be_visible()
    page.get_by_role("button", name="Order again").click()

    expect(page.get_by_role("heading", name="Your cart")).to_be_visible()
    expect(page.get_by_text(f"The items of order {number} are in your cart")).to_be_visible()
    expect(page.get_by_label(re.compile(r"Quantity of Gel Pens"))).to_have_value("20")
    expect(page.get_by_label(re.compile(r"Quantity of Sticky Notes"))).to_have_value("12")

    page.get_by_label("List name").fill("Pens and notes")
    page.get_by_role("button", name="Save as list").click()
    expect(page.get_by_role("heading", name="Pens and notes")).to_be_visible()
    expect(page.get_by_text("Your cart is saved as the list")).to_be_visible()
    assert_accessible(page)

    empty_cart(page)
    page.get_by_role("link", name="Lists", exact=True).click()
    expect(page.get_by_role("heading", name="Lists")).to_be_visible()
    page.get_by_role("link", name="Break room").click()
    expect(page.get_by_role("heading", name="Break room")).to_be_visible()
    page.get_by_label(re.compile(r"Choose Espresso Beans Crema")).check()
    page.get_by_label(re.compile(r"Quantity of Espresso Beans Crema")).fill("2")
    page.get_by_role("button", name="Add chosen to cart").click()
    expect(page.get_by_role("heading", name="Your cart")).to_be_visible()
    expect(page.get_by_label(re.compile(r"Quantity of Espresso Beans Crema"))).to_have_value("2")
    expect(page.get_by_label(re.compile(r"Quantity of "))).to_have_count(1)


def test_quick_order_rows_look_up_as_you_type_and_pasted_lines_are_reported(buyer):
    page = buyer
    empty_cart(page)
    page.get_by_role("link", name="Quick order").click()
    expect(page.get_by_role("heading", name="Quick order")).to_be_visible()
    page.get_by_label("SKU, row 1").fill("pap-a4-80")
    row = page.get_by_role("group", name="Row 1")
    found = re.compile(r"Everyday Copy Paper.*EUR excl\. VAT.*in stock")
    expect(row.get_by_text(found)).to_be_visible()
    page.get_by_label("Quantity, row 1").fill("2")
    page.get_by_role("button", name="Add row").click()
    expect(page.get_by_label("SKU, row 6")).to_be_visible()
    expect(page.get_by_label("SKU, row 1")).to_have_value("pap-a4-80")
    page.get_by_label("SKU and quantity").fill(
        "PEN-G2-BLU\t3\nSTN-76-YEL,2\nNOPE-404 1\nTON-TN3430;1\nMRK-WB-4 5")
    assert_accessible(page)
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_text("Added 5 lines (13 units) to your cart.")).to_be_visible()
    refused = page.get_by_role("table", name=re.compile("Not added"))
    unknown = re.compile(r"Line 3 NOPE-404 1 Unknown SKU")
    expect(refused.get_by_role("row", name=unknown)).to_be_visible()
    expect(page.get_by_label("SKU and quantity")).to_have_value("NOPE-404 1")
    page.get_by_role("link", name="Go to the cart").click()
    expect(page.get_by_label(re.compile(r"Quantity of "))).to_have_count(5)
