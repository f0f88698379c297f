"""Promising in the shop: a backorderable product is bought beyond stock with an honest ship
day on its page, in the cart and at checkout; a product that does not allow backorders is
still limited to stock; ship-complete is the buyer's choice when a line waits."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from core import clock
from core.catalog.models import Variant
from core.orders.shipping import ShippingMethod
from core.inventory import services as inventory
from core.inventory.models import ExpectedArrival, Supplier
from core.orders import promises as promising
from core.orders.models import Order
from tests.conftest import csrf_token
from tests.factories import CategoryFactory, ProductFactory, StockLevelFactory, VariantFactory
from tests.fakes import FakeGateway
from tests.web.test_b2b_checkout import book_of, signed_in
from tests.web.test_cart import add, page

CABINET = "CAB-4D"  # 4 in stock


@pytest.fixture
def payment_gateway():
    return FakeGateway()


def variant(db, sku=CABINET) -> Variant:
    return db.scalar(select(Variant).where(Variant.sku == sku))


def backorderable(db, sku=CABINET, *, arrives_in_days: int | None = 10, lead_days=12) -> Variant:
    """The product allows backorders; its supplier expects 20 units in `arrives_in_days`."""
    found = variant(db, sku)
    acme = Supplier(code="ACME", name="Acme Supplies", lead_days=lead_days)
    db.add(acme)
    db.flush()
    found.product.backorderable, found.product.supplier_id = True, acme.id
    if arrives_in_days is not None:
        db.add(ExpectedArrival(supplier_id=acme.id, variant_id=found.id, warehouse="MAIN",
                               quantity=20,
                               expected_on=clock.today() + dt.timedelta(days=arrives_in_days)))
    db.commit()
    return found


def ships_on(db, found: Variant, quantity: int) -> dt.date:
    return inventory.promise(db, [(found.id, quantity)],
                             warehouses=inventory.warehouses_for(db, "web-b2c"),
                             today=clock.today())[found.id].ships_on


def test_the_product_page_shows_the_backorder_ship_day_and_out_of_stock_only_when_true(client, db):
    found = backorderable(db)
    slug = found.product.slug
    in_stock = client.get(f"/p/{slug}").get_data(as_text=True)
    assert f"In stock (4 available) — ships by {promising.day(ships_on(db, found, 1))}" in in_stock
    beyond = client.get(f"/p/{slug}?quantity=6").get_data(as_text=True)
    day = promising.day(ships_on(db, found, 6))
    assert f"4 in stock, 2 on backorder — ships by {day}" in beyond
    assert "Out of stock" not in beyond
    yellow = variant(db, "TON-415A-Y")  # 0 in stock, no backorders
    html = client.get(f"/p/{yellow.product.slug}?variant={yellow.id}").get_data(as_text=True)
    coming = db.scalar(select(ExpectedArrival.expected_on).where(
        ExpectedArrival.variant_id == yellow.id))  # the demo's: it takes no backorders
    assert f"Out of stock — more expected {promising.day(coming)}" in html


def test_a_product_without_stock_that_allows_backorders_is_buyable_in_listings(client, db):
    category = CategoryFactory(slug="backorders")
    for name, allowed in (("Waiting Widget", True), ("Sold Out Widget", False)):
        StockLevelFactory(variant=VariantFactory(product=ProductFactory(
            name=name, category=category, backorderable=allowed)), on_hand=0)
    db.commit()
    html = client.get("/c/backorders").get_data(as_text=True)
    assert re.search(r"Waiting Widget.*?Available to order", html, re.S)
    assert re.search(r"Sold Out Widget.*?Out of stock", html, re.S)
    buyable = client.get("/c/backorders?in_stock=1").get_data(as_text=True)
    assert "Waiting Widget" in buyable and "Sold Out Widget" not in buyable


def test_the_cart_takes_a_backorderable_product_beyond_stock_and_says_when_it_ships(client, db):
    found = backorderable(db)
    assert add(client, db, CABINET, 6).status_code == 303
    html = page(client)
    assert f"4 in stock, 2 on backorder — ships by {promising.day(ships_on(db, found, 6))}" in html
    assert "are in stock now" not in html


def test_the_cart_says_in_stock_and_the_ship_day_for_a_line_within_stock(client, db):
    add(client, db, "PAP-A4-80", 2)
    day = promising.day(inventory.add_working_days(clock.today(), inventory.DISPATCH_DAYS))
    assert f"In stock — ships by {day}" in page(client)


def test_a_product_without_backorders_is_still_limited_to_stock(client, db):
    response = add(client, db, CABINET, 5, **{"HX-Request": "true"})
    html = response.get_data(as_text=True) + page(client)
    assert "Only 4 of Filing Cabinet, 4 drawers – Grey are in stock." in html


def test_a_drop_shipped_product_is_not_limited_by_our_stock(client, db):
    found = variant(db)
    direct = Supplier(code="DIRECT", name="Direct Ltd", lead_days=4)
    db.add(direct)
    db.flush()
    found.product.drop_ship, found.product.supplier_id = True, direct.id
    db.commit()
    assert add(client, db, CABINET, 40).status_code == 303
    day = promising.day(inventory.add_working_days(clock.today(), 4))
    assert f"Ships from the supplier by {day}" in page(client)


def test_quick_order_adds_backorderable_lines_beyond_stock(shop_app, db):
    backorderable(db)
    client = signed_in(shop_app, "buyer@acme.example")
    token = csrf_token(client, "/quick-order/")
    response = client.post("/quick-order/", data={"lines": f"{CABINET} 7", "csrf_token": token})
    assert "Added 1 line" in response.get_data(as_text=True)
    assert "4 in stock, 3 on backorder" in page(client)


def _checkout_page(client):
    html = client.get("/checkout").get_data(as_text=True)
    key = re.search(r'name="key" type="hidden" value="([0-9a-f]{32})"', html).group(1)
    return html, key


def _place(client, key, **fields):
    data = {"csrf_token": csrf_token(client, "/checkout"), "key": key,
            "email": "bo@example.com", "full_name": "Bo Backorder", "line1": "Hauptstraße 5",
            "city": "Berlin", "postal_code": "10115", "country": "DE",
            "shipping_method": "standard", "payment_method": "pm_card_visa", **fields}
    return client.post("/checkout", data=data, headers={"Accept": "application/json"})


def test_checkout_shows_each_lines_ship_day_and_the_ship_complete_choice(client, db):
    found = backorderable(db)
    add(client, db, CABINET, 6)
    add(client, db, "PAP-A4-80", 1)
    html, _ = _checkout_page(client)
    late = ships_on(db, found, 6)
    assert f"4 in stock, 2 on backorder — ships by {promising.day(late)}" in html
    assert "Ship what is in stock now, the rest when it arrives" in html
    assert "Ship everything together" in html
    # The standard option arrives when the last line can: its ship day plus transit.
    transit = db.scalar(select(ShippingMethod.transit_days)
                        .where(ShippingMethod.code == "standard"))
    assert f"arrives by {promising.day(inventory.add_working_days(late, transit))}" in html


def test_a_cart_without_backorders_offers_no_ship_complete_choice(client, db):
    add(client, db, "PAP-A4-80", 1)
    html, _ = _checkout_page(client)
    assert "Ship everything together" not in html


@pytest.mark.parametrize("choice, together", [("1", True), ("0", False)])
def test_checkout_records_the_ship_complete_choice(client, db, choice, together):
    backorderable(db)
    add(client, db, CABINET, 6)
    _, key = _checkout_page(client)
    response = _place(client, key, ship_complete=choice)
    assert response.status_code == 200, response.get_data(as_text=True)
    db.expire_all()
    order = db.scalar(select(Order).order_by(Order.id.desc()).limit(1))
    assert order.ship_complete is together
    line = order.lines[0]
    assert (line.quantity_reserved, line.quantity_backordered) == (4, 2)
    assert order.promised_date == line.promised_date and line.ships_on > clock.today()


def test_a_requested_day_before_the_backorder_arrives_is_refused(shop_app, db):
    found = backorderable(db)
    client = signed_in(shop_app, "buyer@acme.example")
    office, *_ = book_of(db, "Acme Corp")
    add(client, db, CABINET, 6)
    transit = db.scalar(select(ShippingMethod.transit_days)
                        .where(ShippingMethod.code == "standard"))
    honest = inventory.add_working_days(ships_on(db, found, 6), transit)
    soon = inventory.add_working_days(clock.today(), 1 + transit)  # in-stock goods' day

    def place(requested: dt.date):
        _, key = _checkout_page(client)
        return client.post("/checkout", data={
            "csrf_token": csrf_token(client, "/checkout"), "key": key,
            "email": "buyer@acme.example", "shipping_method": "standard", "country": "DE",
            "ship_to": str(office.id), "payment": "on_account",
            "requested_date": requested.isoformat()}, headers={"Accept": "application/json"})

    refused = place(soon).get_json()["errors"]["requested_date"]
    assert f"earliest we can deliver with this shipping method is {honest:%a %d %b %Y}" in refused
    assert place(honest).get_json()["status"] == "confirmed"
