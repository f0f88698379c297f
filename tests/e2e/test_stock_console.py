"""Warehouse work in a browser: the warehouse agent receives stock by the Receive stock form,
adjusts and counts on the variant's stock page; an order for a backorderable product placed
beyond stock (the demo's sold-out paper shredder, with an arrival next week) becomes shippable
when the agent receives the arrival, and ships on the console's fulfilment page."""
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import Actor
from core.catalog.models import Variant
from core.db import make_engine
from core.fulfilment import services as fulfilment
from core.inventory.models import StockLevel
from core.orders import services as orders
from core.orders import states as order_states
from core.orders.models import Order
from core.pricing import services as pricing
from tests.e2e.conftest import assert_accessible, serve_shop

ADDRESS = {"full_name": "Bea Backorder", "company": "", "line1": "Hauptstraße 1", "line2": "",
           "city": "Berlin", "postal_code": "10115", "region": "", "country": "DE", "phone": ""}


@pytest.fixture(scope="module")
def shop(tmp_path_factory, localstripe, mail):
    with serve_shop(tmp_path_factory.mktemp("stock"), SECRET_KEY="e2e-stock-key",
                    STRIPE_API_BASE=localstripe, STRIPE_JS_URL=f"{localstripe}/js.stripe.com/v3/",
                    SMTP_URL=mail[1]) as (base, settings):
        engine = make_engine(settings.DATABASE_URL)
        yield base, engine
        engine.dispose()


def signed_in_warehouse(browser, base):
    page = browser.new_context(base_url=base).new_page()
    page.set_default_timeout(15_000)
    page.goto("/agent/sign-in")
    page.get_by_label("Email").fill("warehouse@marketline.example")
    page.get_by_label("Password").fill("demo-pass-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Stock", exact=True)).to_be_visible()
    return page


def on_hand(engine, sku, warehouse="MAIN"):
    with Session(engine) as s:
        return s.scalar(select(StockLevel.on_hand)
                        .join(Variant, Variant.id == StockLevel.variant_id)
                        .where(Variant.sku == sku, StockLevel.warehouse == warehouse))


def test_the_warehouse_receives_adjusts_and_counts_stock(browser, shop):
    base, engine = shop
    before = on_hand(engine, "LBL-7037")
    page = signed_in_warehouse(browser, base)
    page.get_by_role("link", name="Stock", exact=True).click()
    page.get_by_role("link", name="Receive stock", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Receive stock")
    page.get_by_label("SKU").fill("LBL-7037")
    page.get_by_label("Quantity").fill("12")
    page.get_by_label("Warehouse").select_option("MAIN")
    page.get_by_label("Reference").fill("DN-E2E-1")
    page.get_by_label("Cost price (optional)").fill("9.80")
    page.get_by_label("Note").fill("checked at goods-in")
    assert_accessible(page)
    page.get_by_role("button", name="Receive stock").click()
    expect(page.get_by_text("Received 12 × LBL-7037 into MAIN (DN-E2E-1).")).to_be_visible()
    assert on_hand(engine, "LBL-7037") == before + 12

    page.get_by_role("link", name="Stock", exact=True).first.click()
    page.get_by_label("SKU or name").fill("LBL-7037")
    page.get_by_role("search", name="Find stock").get_by_role("button", name="Find").click()
    page.get_by_role("link", name="LBL-7037").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Stock of LBL-7037")
    expect(page.get_by_role("cell", name="DN-E2E-1")).to_be_visible()

    adjust = page.get_by_role("form", name="Adjust")
    adjust.get_by_label("Warehouse").select_option("MAIN")
    adjust.get_by_label("Change (units, like 3 or -3)").fill("-2")
    adjust.get_by_label("Reason").select_option(label="Damaged")
    adjust.get_by_label("Note").fill("crushed box")
    adjust.get_by_role("button", name="Post adjustment").click()
    expect(page.get_by_text("Adjusted LBL-7037 in MAIN by -2 (Damaged).")).to_be_visible()
    expect(page.get_by_role("cell", name="Damaged: crushed box")).to_be_visible()

    count = page.get_by_role("form", name="Cycle count")
    count.get_by_label("Warehouse").select_option("MAIN")
    count.get_by_label("Units counted").fill(str(before + 12 - 2 - 1))
    count.get_by_role("button", name="Post count").click()
    expect(page.get_by_text(re.compile(r"Counted \d+ of LBL-7037 in MAIN: difference -1 "
                                       r"posted\."))).to_be_visible()
    assert_accessible(page)
    assert on_hand(engine, "LBL-7037") == before + 9

    # Bad input is shown at its field and nothing is posted.
    count = page.get_by_role("form", name="Cycle count")
    count.get_by_label("Warehouse").select_option("MAIN")
    count.get_by_label("Units counted").fill("many")
    count.get_by_role("button", name="Post count").click()
    expect(page.get_by_text("Enter the units counted, from 0 to 1,000,000.")).to_be_visible()
    assert on_hand(engine, "LBL-7037") == before + 9


def place_beyond_stock(engine) -> str:
    """An on-account order of 2 paper shredders (none in stock, backorderable, 6 expected next
    week), confirmed and released to the warehouse, through the core services."""
    with Session(engine) as s:
        shredder = s.scalar(select(Variant.id).where(Variant.sku == "SHR-P4-12"))
        channel = pricing.get_channel(s, "web-b2c")
        checkout = orders.Checkout(lines=[(shredder, 2)], email="bea@example.com",
                                   shipping_address=ADDRESS, billing_address=ADDRESS,
                                   shipping_method="standard")
        order = orders.place_order(s, checkout=checkout, channel=channel,
                                   ctx=pricing.make_context(channel), customer_id=None,
                                   actor=Actor("anonymous", None, "guest"),
                                   idempotency_key="e2e-backorder")
        assert order.lines[0].quantity_backordered == 2
        order_states.move(order, "confirmed")
        order.payment_method = order.payment_state = "on_account"
        fulfilment.release_order(s, order, actor=Actor("agent", None, "e2e"))
        s.commit()
        return order.number


def test_a_backordered_order_ships_once_its_arrival_is_received(browser, shop):
    base, engine = shop
    number = place_beyond_stock(engine)
    page = signed_in_warehouse(browser, base)

    page.get_by_role("link", name="Warehouse", exact=True).click()
    page.get_by_role("link", name="To ship").click()
    page.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Ship order {number}")
    # Nothing reserved yet: the shredder waits for its arrival.
    expect(page.get_by_role("row", name=re.compile("SHR-P4-12"))).to_contain_text("0")

    page.get_by_role("link", name="Stock", exact=True).click()
    page.get_by_role("link", name="Expected arrivals", exact=True).click()
    page.get_by_role("row", name=re.compile("SHR-P4-12")).get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Arrival of SHR-P4-12"))
    assert_accessible(page)
    page.get_by_role("form", name="Receive").get_by_role("button", name="Receive").click()
    # The demo's own shredder order (Acme's, older) is served first, then this one.
    expect(page.get_by_text(re.compile(rf"units went to backorders: .*{number} \(2\)\.")
                            )).to_be_visible()
    expect(page.get_by_text("Received", exact=True)).to_be_visible()

    page.get_by_role("link", name="Warehouse", exact=True).click()
    page.get_by_role("link", name="To ship").click()
    page.get_by_role("link", name=number).click()
    page.get_by_label("Units of SHR-P4-12 to ship").fill("2")
    page.get_by_label("Carrier").select_option(label="DHL")
    page.get_by_label("Tracking number").fill("00340434161094000077")
    page.get_by_role("button", name="Ship").click()
    expect(page.get_by_role("link", name=re.compile("00340434161094000077")).first).to_be_visible()
    with Session(engine) as s:
        order = s.scalar(select(Order).where(Order.number == number))
        assert order.status == "shipped"
        assert order.lines[0].quantity_shipped == 2
