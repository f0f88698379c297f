"""Issue 18, catalogue forms in Chromium: a draft made from option axes, its variant grid,
a price in the base list, remove price asks once (the confirm dialog), publish and the
shop's page; axe scans every page."""
import re

from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible
from tests.e2e.test_master_data import console_signs_in


def test_a_catalogue_manager_makes_a_variant_grid_prices_it_and_publishes(browser, live_server):
    page = browser.new_context(base_url=live_server).new_page()
    page.set_default_timeout(15_000)
    console_signs_in(page, "catalog@marketline.example")
    page.goto("/agent/catalog/products/new")
    page.get_by_label("Name", exact=True).fill("Grid Tee")
    page.get_by_label("Category", exact=True).select_option(index=1)
    page.get_by_label("Tax category").select_option(label="Standard rate")
    page.get_by_role("button", name="Create product").click()
    expect(page.get_by_text("Draft — needs a price")).to_be_visible()
    assert_accessible(page)

    axes = page.get_by_role("form", name="Options and variant grid")
    axes.get_by_label("Name of option 1").fill("Size")
    axes.get_by_label("Values of option 1").fill("S, M")
    axes.get_by_label("Name of option 2").fill("Colour")
    axes.get_by_label("Values of option 2").fill("Red, Blue")
    axes.get_by_label("SKUs start with").fill("GRIDTEE")
    axes.get_by_role("button", name="Make variants").click()
    expect(page.get_by_text("4 variants of Grid Tee added")).to_be_visible()
    grid = page.get_by_role("table", name="Variant grid")
    expect(grid.get_by_role("row")).to_have_count(5)
    # The Active checkbox sits next to its label, not in the middle of the column.
    box = page.get_by_role("form", name="Add a variant").get_by_label("Active (sold)")
    label = page.locator('label[for="variant-active"]')
    assert abs(box.bounding_box()["y"] - label.bounding_box()["y"]) < 20
    assert box.bounding_box()["x"] < label.bounding_box()["x"]
    assert_accessible(page)

    grid.get_by_role("link", name="GRIDTEE-S-RED").click()
    prices = page.get_by_role("form", name="Set a price")
    expect(prices.get_by_label("Price list").locator("option:checked")).to_have_text(
        "Retail EUR — everyone")
    prices.get_by_label("Unit price").fill("12.90")
    prices.get_by_role("button", name="Set price").click()
    expect(page.get_by_text("Price of Grid Tee (GRIDTEE-S-RED) in Retail EUR saved.")).to_be_visible()
    prices.get_by_label("From quantity").fill("10")
    prices.get_by_label("Unit price").fill("11.90")
    prices.get_by_role("button", name="Set price").click()
    remove = page.get_by_role("button", name=re.compile("Remove the price of Grid Tee .* from 10"))
    expect(page.get_by_text("11.90 EUR")).to_be_visible()  # the page after the save is here
    # The shared confirm script hides the "Yes, remove" box (the server's check without
    # JavaScript, tests/web) and asks once with a dialog instead, ticking the box on OK.
    expect(page.get_by_label(re.compile("Yes, remove the price of Grid Tee .* from 10"))
           ).to_be_hidden()
    page.once("dialog", lambda dialog: dialog.dismiss())
    remove.click()
    expect(page.get_by_text("11.90 EUR")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    remove.click()
    expect(page.get_by_text("from 10 removed.")).to_be_visible()
    expect(page.get_by_text("11.90 EUR")).to_have_count(0)
    assert_accessible(page)

    page.get_by_role("link", name="Grid Tee").first.click()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Grid Tee is live in the shop.")).to_be_visible()
    href = page.get_by_role("link", name="View in shop").get_attribute("href")
    shop = browser.new_context(base_url=live_server).new_page()
    shop.goto(href)
    expect(shop.get_by_role("heading", level=1)).to_have_text("Grid Tee")
