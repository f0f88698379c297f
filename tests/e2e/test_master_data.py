"""A shop that runs itself: a catalogue manager sets up a category and a product with a
variant, a price and an uploaded picture; the warehouse receives 10 units on the console's
Receive stock page; a shopper buys the product in the shop with a card (localstripe)."""
import io
import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, serve_shop
from tests.e2e.test_checkout import add_to_cart, fill_checkout


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, localstripe):
    """A server of this module's own: its new warehouse, channel order and categories stay
    out of the other modules' shop."""
    with serve_shop(tmp_path_factory.mktemp("setup"), SECRET_KEY="e2e-setup-key",
                    STRIPE_API_BASE=localstripe,
                    STRIPE_JS_URL=f"{localstripe}/js.stripe.com/v3/") as (base, _):
        yield base


def console_signs_in(page, email):
    page.goto("/agent/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("demo-pass-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def png(path: Path) -> Path:
    out = io.BytesIO()
    image = Image.new("RGB", (1600, 1000), (30, 90, 160))
    for x in range(200, 600):
        for y in range(300, 500):
            image.putpixel((x, y), (250, 200, 40))
    image.save(out, "PNG")
    path.write_bytes(out.getvalue())
    return path


def catalogue_manager_sets_up(page, tmp_path, *, category: str, product: str, sku: str) -> str:
    """Category, product, variant, price and picture through the console; the product's
    console path."""
    console_signs_in(page, "catalog@marketline.example")
    page.get_by_role("link", name="Setup").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Setup")
    assert_accessible(page)
    page.get_by_role("navigation", name="Setup sections").get_by_role(
        "link", name="Categories").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Categories")
    new = page.get_by_role("form", name="New category")
    new.get_by_label("Name", exact=True).fill(category)
    new.get_by_label("Return window (days)").fill("30")
    new.get_by_role("button", name="Create category").click()
    expect(page.get_by_role("link", name=category)).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Catalogue").click()
    page.get_by_role("link", name="New product").click()
    page.get_by_label("Name", exact=True).fill(product)
    page.get_by_label("Brand").fill("Kestrel")
    page.get_by_label("Category", exact=True).select_option(label=category)
    page.get_by_label("Tax category").select_option(label="Standard rate")
    page.get_by_label("Description").fill("A quiet desk lamp with a warm light.")
    page.get_by_role("button", name="Create product").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(product)
    product_path = page.url

    variants = page.get_by_role("form", name="Add a variant")
    variants.get_by_label("SKU", exact=True).fill(sku)
    variants.get_by_label("Variant name").fill("Warm white")
    variants.get_by_label("Weight in grams").fill("900")
    variants.get_by_role("button", name="Add variant").click()
    prices = page.get_by_role("form", name="Set a price")
    expect(prices.get_by_label("Price list")).to_have_value(  # the base list comes first
        prices.get_by_role("option", name="Retail EUR — everyone").get_attribute("value"))
    prices.get_by_label("Unit price").fill("39.90")
    prices.get_by_role("button", name="Set price").click()
    expect(page.get_by_text("39.90 EUR").first).to_be_visible()

    page.goto(product_path)
    expect(page.get_by_text("Draft — ready to publish")).to_be_visible()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("link", name="View in shop")).to_be_visible()
    upload = page.get_by_role("form", name="Upload a picture")
    upload.get_by_label("Picture (JPEG, PNG, GIF or WebP)").set_input_files(
        str(png(tmp_path / "lamp.png")))
    upload.get_by_label("Alt text (what the picture shows)").fill("The lamp, switched on")
    upload.get_by_role("button", name="Upload picture").click()
    expect(page.get_by_role("img", name="The lamp, switched on")).to_be_visible()
    expect(page.get_by_text("1200 × 750 px")).to_be_visible()
    assert_accessible(page)
    return product_path


def test_a_catalogue_manager_sets_up_a_product_with_a_picture_the_shop_shows(
        browser, live_server, tmp_path):
    console = browser.new_context(base_url=live_server).new_page()
    console.set_default_timeout(15_000)
    catalogue_manager_sets_up(console, tmp_path, category="Desk Lamps",
                              product="Kestrel Desk Lamp", sku="LMP-KES-1")

    shop = browser.new_context(base_url=live_server).new_page()
    shop.goto("/")
    shop.get_by_role("navigation", name="Categories").get_by_role(
        "link", name="Desk Lamps").click()
    shop.get_by_role("link", name="Kestrel Desk Lamp").first.click()
    expect(shop.get_by_role("heading", level=1)).to_have_text("Kestrel Desk Lamp")
    picture = shop.get_by_role("img", name="The lamp, switched on")
    expect(picture).to_be_visible()
    assert shop.evaluate("(img) => img.naturalWidth", picture.element_handle()) == 1200
    expect(shop.locator("#offer")).to_contain_text("39.90 EUR")


def shopper_buys(browser, live_server, query: str, name: str, email: str) -> None:
    shop = browser.new_context(base_url=live_server).new_page()
    shop.set_default_timeout(15_000)
    shop.goto(f"/search?q={query}")
    shop.get_by_role("link", name=name).first.click()
    expect(shop.get_by_role("img", name="The lamp, switched on")).to_be_visible()
    expect(shop.locator("#offer")).to_contain_text(re.compile(r"In stock"))
    add_to_cart(shop, shop.url)
    fill_checkout(shop, email, "4242424242424242")
    expect(shop.get_by_role("heading", level=1)).to_contain_text(re.compile(r"SO-\d{6}"))
    expect(shop.get_by_text(name).first).to_be_visible()


def test_stock_from_the_products_file_lets_a_shopper_buy_the_new_product(
        browser, live_server, tmp_path):
    console = browser.new_context(base_url=live_server).new_page()
    console.set_default_timeout(15_000)
    catalogue_manager_sets_up(console, tmp_path, category="Garden Lights",
                              product="Wren Garden Light", sku="LMP-WRN-1")
    slug = console.locator("main code").first.inner_text()
    csv = tmp_path / "stock.csv"
    csv.write_text("product_slug,product_name,category,tax_category,sku,stock:MAIN\n"
                   f"{slug},Wren Garden Light,garden-lights,standard,LMP-WRN-1,10\n")
    console.get_by_role("link", name="Catalogue").click()
    console.get_by_role("link", name="Import and export").click()
    form = console.get_by_role("form", name="Products", exact=True)
    form.get_by_label("Products file (CSV)").set_input_files(str(csv))
    form.get_by_label("Base prices go into").select_option(label="— no prices —")
    form.get_by_role("button", name="Import products").click()
    expect(console.get_by_text(re.compile(r"stock counts: 1"))).to_be_visible()

    shopper_buys(browser, live_server, "wren", "Wren Garden Light", "wren.buyer@example.com")


def test_a_product_set_up_in_the_console_is_received_and_bought_in_the_shop(
        browser, live_server, tmp_path):
    console = browser.new_context(base_url=live_server).new_page()
    console.set_default_timeout(15_000)
    catalogue_manager_sets_up(console, tmp_path, category="Reading Lights",
                              product="Heron Reading Light", sku="LMP-HER-1")

    warehouse = browser.new_context(base_url=live_server).new_page()
    warehouse.set_default_timeout(15_000)
    console_signs_in(warehouse, "warehouse@marketline.example")
    warehouse.goto("/agent/stock/receive")
    expect(warehouse.get_by_role("heading", name="Receive stock")).to_be_visible()
    warehouse.get_by_label("SKU", exact=True).fill("LMP-HER-1")
    warehouse.get_by_label("Quantity").fill("10")
    warehouse.get_by_label("Warehouse").select_option("MAIN")
    warehouse.get_by_label("Reference").fill("DN-4711")
    warehouse.get_by_role("button", name="Receive stock").click()
    expect(warehouse.get_by_text("Received 10 × LMP-HER-1 into MAIN")).to_be_visible()

    shopper_buys(browser, live_server, "heron", "Heron Reading Light", "lamp.buyer@example.com")

def test_an_administrator_adds_a_warehouse_and_makes_a_channel_prefer_it(browser, live_server):
    page = browser.new_context(base_url=live_server).new_page()
    page.set_default_timeout(15_000)
    console_signs_in(page, "admin@marketline.example")
    page.get_by_role("link", name="Setup").click()
    sections = page.get_by_role("navigation", name="Setup sections")
    for name in ("Categories", "Channels", "Warehouses", "Suppliers", "Tax rates",
                 "Shipping methods", "Console users"):
        sections.get_by_role("link", name=name).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(name)
        assert_accessible(page)

    sections.get_by_role("link", name="Warehouses").click()
    page.get_by_role("link", name="New warehouse").click()
    page.get_by_label("Code", exact=True).fill("HBG")
    page.get_by_label("Name", exact=True).fill("Hamburg harbour")
    page.get_by_label("City").fill("Hamburg")
    page.get_by_label("Country (two letters)").fill("DE")
    assert_accessible(page)
    page.get_by_role("button", name="Save warehouse").click()
    expect(page.get_by_role("link", name="Hamburg harbour")).to_be_visible()

    sections.get_by_role("link", name="Channels").click()
    page.get_by_role("link", name="Web shop (consumers)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Channel Web shop (consumers)")
    adding = page.get_by_role("form", name="Add a warehouse")
    region = page.get_by_role("region", name="Warehouses")
    for name, label in (("Main warehouse", "MAIN – Main warehouse"),
                        ("Hamburg harbour", "HBG – Hamburg harbour")):
        if region.get_by_text(name, exact=True).count():
            continue
        adding.get_by_label("Warehouse").select_option(label=label)
        adding.get_by_role("button", name="Add warehouse").click()
        expect(region.get_by_text(name, exact=True)).to_be_visible()
    preferred = region.get_by_role("listitem")
    before = [item.locator("strong").inner_text() for item in preferred.all()]
    assert before[-1] == "Hamburg harbour"
    page.get_by_role("button", name="Prefer Hamburg harbour earlier").click()
    expect(preferred.nth(len(before) - 2)).to_contain_text("Hamburg harbour")
    expect(preferred.last).to_contain_text(before[-2])
    assert_accessible(page)
