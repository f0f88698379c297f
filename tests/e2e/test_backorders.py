"""A shopper orders a product the shop does not have yet: none in stock, the supplier's
delivery due in ten days. Its page says when it ships, the cart takes it beyond stock,
checkout asks whether to wait and ship everything together, the card pays (localstripe), and
the order shows the line as backordered. (Receiving the arrival in the console, which ships
it, is the warehouse's e2e.)"""
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.catalog.models import Variant
from core.db import make_engine
from core.demo.backorders import SKU, load_backorders
from core.inventory import services as inventory
from core.orders import promises as promising
from core.orders.models import Order
from tests.e2e.conftest import assert_accessible, serve_shop
from tests.e2e.test_checkout import fill_card, view_cart_after_adding


@pytest.fixture(scope="module")
def shop(tmp_path_factory, localstripe):
    """The shop on its own database, with a backorderable machine made through core."""
    with serve_shop(tmp_path_factory.mktemp("backorders"), SECRET_KEY="e2e-backorders-key",
                    STRIPE_API_BASE=localstripe,
                    STRIPE_JS_URL=f"{localstripe}/js.stripe.com/v3/") as (base, settings):
        engine = make_engine(settings.DATABASE_URL)
        with Session(engine) as session:
            load_backorders(session)  # none in stock, 6 due in ten days
            session.commit()
            variant = session.scalar(select(Variant).where(Variant.sku == SKU))
            ships_on = inventory.promise(session, [(variant.id, 2)],
                                         warehouses=inventory.warehouses_for(session, "web-b2c"),
                                         today=clock.today())[variant.id].ships_on
            slug = variant.product.slug
        yield base, engine, slug, ships_on
        engine.dispose()


@pytest.fixture
def shop_page(browser, shop):
    context = browser.new_context(base_url=shop[0])
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert errors == [], errors  # a script error or CSP violation fails the test


def test_a_shopper_orders_a_product_on_backorder_and_sees_when_it_ships(shop_page, shop):
    page, (_, engine, slug, ships_on) = shop_page, shop
    day = promising.day(ships_on)
    assert ships_on > inventory.add_working_days(clock.today(), 5)  # the arrival's, not stock's

    page.goto(f"/p/{slug}")
    expect(page.get_by_test_id("promise")).to_have_text(f"Backorder — ships by {day}")
    expect(page.get_by_text("Out of stock")).to_have_count(0)
    assert_accessible(page)
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()

    view_cart_after_adding(page, 2)
    expect(page.get_by_test_id("promise")).to_have_text(f"Backorder — ships by {day}")
    expect(page.locator(".flash-error")).to_have_count(0)  # beyond stock, and welcome
    assert_accessible(page)

    page.get_by_role("button", name="Checkout").click()
    expect(page.get_by_role("heading", name="Checkout", exact=True)).to_be_visible()
    expect(page.get_by_test_id("line-promise")).to_have_text(f"Backorder — ships by {day}")
    page.get_by_label("Email").fill("bea@example.com")
    page.get_by_label("Full name").fill("Bea Backorder")
    page.get_by_label("Address").fill("Hauptstraße 5")
    page.get_by_label("City").fill("Berlin")
    page.get_by_label("Postal code").fill("10115")
    page.get_by_label("Country").select_option("DE")
    page.wait_for_load_state("networkidle")  # the country's shipping options are in
    together = page.get_by_label(re.compile(r"^Ship everything together"))
    together.check()
    expect(together).to_be_checked()
    assert_accessible(page, exclude=["#card-element"])
    fill_card(page)
    page.get_by_role("button", name="Place order").click()

    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(re.compile(r"SO-\d{6}"))
    number = re.search(r"SO-\d{6}", heading.inner_text()).group(0)
    expect(page.get_by_text(f"2 on backorder — ships by {day}")).to_be_visible()
    assert_accessible(page)

    with Session(engine) as session:
        order = session.scalar(select(Order).where(Order.number == number))
        line = order.lines[0]
        assert (order.status, order.payment_state, order.ship_complete) == (
            "confirmed", "authorised", True)
        assert (line.quantity_reserved, line.quantity_backordered, line.warehouse) == (0, 2, "MAIN")
        assert line.ships_on == ships_on
