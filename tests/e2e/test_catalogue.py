"""Browsing as a shopper and as a business buyer, in Chromium."""
import re

from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible
from tests.e2e.test_checkout import view_cart_after_adding


def test_browse_filter_open_change_variant_and_find_by_sku(page):
    page.goto("/")
    page.get_by_role("navigation", name="Categories").get_by_role("link", name="Paper & Notebooks").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Paper & Notebooks")
    assert_accessible(page)

    # Filter by colour: htmx swaps the results and keeps the URL shareable.
    page.get_by_label("Navy (1)").check()
    expect(page).to_have_url(re.compile(r"attr\.Colour=Navy"))
    results = page.get_by_role("region", name="Products")
    expect(results.get_by_role("link", name="Hardcover Notebook A5 Ruled")).to_be_visible()
    expect(results.get_by_role("link", name="Everyday Copy Paper A4 80 g")).to_have_count(0)
    assert_accessible(page)

    results.get_by_role("link", name="Hardcover Notebook A5 Ruled").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hardcover Notebook A5 Ruled")
    assert_accessible(page)
    offer = page.locator("#offer")
    expect(offer).to_contain_text("NTB-A5-RUL-BLK")

    # Change the variant and the quantity: the offer updates without a page load.
    page.evaluate("window.__marker = 'same page'")
    page.get_by_label(re.compile(r"^Red")).check()
    expect(offer).to_contain_text("NTB-A5-RUL-RED")
    expect(offer).to_contain_text("In stock (3 available)")
    page.get_by_label("Quantity").fill("4")
    expect(offer).to_contain_text("Only 3 in stock")
    expect(offer).to_contain_text("Notebooks: buy 3, get 1 free")
    # 4 x 18.95 = 75.80, one free: 56.85
    expect(offer).to_contain_text("56.85 EUR")
    assert page.evaluate("window.__marker") == "same page"
    assert_accessible(page)

    page.get_by_label("Search").fill("TON-415A-C")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Toner Cartridges 415A").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Toner Cartridges 415A")


def test_a_business_buyer_sees_the_contract_price(page):
    page.goto("/p/navigator-everyday-copy-paper-a4-80-g")
    offer = page.locator("#offer")
    expect(offer).to_contain_text("5.49 EUR")
    expect(offer).to_contain_text("incl. VAT")
    public = offer.inner_text()

    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Email").fill("buyer@acme.example")
    page.get_by_label("Password").fill("demo-pass-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()

    page.goto("/p/navigator-everyday-copy-paper-a4-80-g")
    expect(offer).to_contain_text("3.92 EUR")
    expect(offer).to_contain_text("excl. VAT")
    assert offer.inner_text() != public
    assert_accessible(page)


def test_a_shopper_adds_to_cart_and_changes_the_quantity(page):
    page.goto("/p/navigator-everyday-copy-paper-a4-80-g")
    page.get_by_role("button", name="Add to cart").click()
    view_cart_after_adding(page, 1, typed=False)
    assert_accessible(page)
    page.get_by_label(re.compile("Quantity of Everyday Copy Paper")).fill("10")
    page.get_by_label(re.compile("Quantity of Everyday Copy Paper")).press("Tab")
    expect(page.locator("#cart")).to_contain_text("52.20 EUR")
    expect(page.get_by_role("link", name=re.compile("Cart"))).to_be_visible()
