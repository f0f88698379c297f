"""Promising in the console's order entry: each line's promised date from available-to-promise,
backorderable lines beyond stock, and the customer's ship-complete choice."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from core import clock
from core.catalog.models import Variant
from core.inventory import services as inventory
from core.inventory.models import ExpectedArrival, Supplier
from core.orders import promises as promising
from tests.web.test_order_entry import add, entry_url, number_of, placed, post

CABINET = "CAB-4D"  # 4 in stock


def backorderable(db, days=10):
    cabinet = db.scalar(select(Variant).where(Variant.sku == CABINET))
    acme = Supplier(code="ACME", name="Acme Supplies", lead_days=12)
    db.add(acme)
    db.flush()
    cabinet.product.backorderable, cabinet.product.supplier_id = True, acme.id
    db.add(ExpectedArrival(supplier_id=acme.id, variant_id=cabinet.id, warehouse="MAIN",
                           quantity=20, expected_on=clock.today() + dt.timedelta(days=days)))
    db.commit()
    return cabinet


def test_a_line_beyond_stock_shows_its_backorder_and_the_date_it_ships(agent_client, db):
    cabinet = backorderable(db)
    number = number_of(db, "acme")
    add(agent_client, number, CABINET, 6)
    html = agent_client.get(entry_url(number)).get_data(as_text=True)
    ships = inventory.promise(db, [(cabinet.id, 6)],
                              warehouses=inventory.warehouses_for(db, "web-b2b"),
                              today=clock.today())[cabinet.id].ships_on
    assert f"4 in stock, 2 on backorder — ships by {promising.day(ships)}" in html
    assert "Ship what is in stock now, the rest when it arrives" in html
    assert "Ship everything together" in html


def test_a_line_within_stock_offers_no_ship_complete_choice(agent_client, db):
    number = number_of(db, "acme")
    add(agent_client, number, CABINET, 2)
    html = agent_client.get(entry_url(number)).get_data(as_text=True)
    assert "4 available" in html and "Ship everything together" not in html


def test_the_agent_places_a_backordered_order_to_ship_complete(agent_client, db):
    backorderable(db)
    number = number_of(db, "acme")
    add(agent_client, number, CABINET, 6)
    page = agent_client.get(entry_url(number)).get_data(as_text=True)
    key = page.split('name="key" type="hidden" value="')[1].split('"')[0]
    response = post(agent_client, number, "place", {"payment_method": "on_account", "key": key,
                                                     "ship_complete": "1"}, htmx=False)
    assert response.status_code in (302, 303), response.get_data(as_text=True)
    order = placed(db, response)
    assert order.ship_complete is True
    line = order.lines[0]
    assert (line.quantity_reserved, line.quantity_backordered) == (4, 2)
    assert order.promised_date == line.promised_date > clock.today()


def test_a_product_without_backorders_is_refused_beyond_stock_at_the_quantity(agent_client, db):
    number = number_of(db, "acme")
    html = add(agent_client, number, CABINET, 6).get_data(as_text=True)
    assert '<p class="error" id="quantity-error">Only 4 of Filing Cabinet, 4 drawers – Grey (CAB-4D) are in stock.</p>' in html
