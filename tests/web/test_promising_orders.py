"""A placed order with a backordered line, as people see it afterwards: the customer's order
page and confirmation e-mail ("2 on backorder: ships by ..."), the console's order page (ship
day and warehouse), and the warehouse's worklist, order page and pick list (only reserved
units are picked; an order that ships complete waits whole)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from core import clock
from core.audit import Actor
from core.catalog.models import Variant
from core.fulfilment import services as fulfilment
from core.inventory.models import ExpectedArrival, Supplier
from core.notifications import order_confirmation_message
from core.orders import promises as promising
from core.orders import services as orders
from core.orders import states as order_states
from core.pricing import services as pricing
from tests.unit.test_fulfilment import WAREHOUSE
from tests.web.conftest import text_of
from tests.conftest import agent_client_for
from tests.web.test_console_fulfilment import page
from tests.web.test_orders_account import shopper_id

@pytest.fixture
def warehouse(console_app):
    return agent_client_for(console_app, "warehouse@marketline.example")


ADDRESS = {"full_name": "Ola Order", "company": "", "line1": "Hauptstraße 1", "line2": "",
           "city": "Berlin", "postal_code": "10115", "region": "", "country": "DE", "phone": ""}


def vid(db, sku):
    return db.scalar(select(Variant.id).where(Variant.sku == sku))


def place(db, *, ship_complete=False, customer_id=None, key="bo-1"):
    """6 filing cabinets (4 in stock, 2 due in 10 days) and 1 ream of paper, on account,
    released to the warehouse."""
    cabinet = db.scalar(select(Variant).where(Variant.sku == "CAB-4D"))
    if not cabinet.product.backorderable:
        acme = Supplier(code="ACME", name="Acme Supplies", lead_days=12)
        db.add(acme)
        db.flush()
        cabinet.product.backorderable, cabinet.product.supplier_id = True, acme.id
        db.add(ExpectedArrival(supplier_id=acme.id, variant_id=cabinet.id, warehouse="MAIN",
                               quantity=20,
                               expected_on=clock.today() + dt.timedelta(days=10)))
        db.flush()
    channel = pricing.get_channel(db, "web-b2c")
    checkout = orders.Checkout(lines=[(cabinet.id, 6), (vid(db, "PAP-A4-80"), 1)],
                               email="ola@example.com", shipping_address=ADDRESS,
                               billing_address=ADDRESS, shipping_method="standard",
                               ship_complete=ship_complete)
    order = orders.place_order(db, checkout=checkout, channel=channel,
                               ctx=pricing.make_context(channel), customer_id=customer_id,
                               actor=Actor("anonymous", None, "guest"), idempotency_key=key)
    order_states.move(order, "confirmed")
    order.payment_method, order.payment_state = "on_account", "on_account"
    db.flush()
    fulfilment.release_order(db, order, actor=WAREHOUSE)
    db.commit()
    return order


def cabinet_line(order):
    return next(l for l in order.lines if l.sku == "CAB-4D")


def test_the_customers_order_page_says_what_is_on_backorder_and_when_it_ships(customer_client, db):
    order = place(db, customer_id=shopper_id(db))
    line = cabinet_line(order)
    html = customer_client.get(f"/account/orders/{order.number}").get_data(as_text=True)
    assert f"2 on backorder — ships by {promising.day(line.ships_on)}" in html
    paper = next(l for l in order.lines if l.sku == "PAP-A4-80")
    assert f"Ships by {promising.day(paper.ships_on)}" in html


def test_the_confirmation_email_lists_the_backordered_line_and_its_day(db, settings):
    order = place(db, ship_complete=True)
    line = cabinet_line(order)
    body = text_of(order_confirmation_message(db, order, settings=settings))
    assert f"2 on backorder: ships by {promising.day(line.ships_on)}" in body
    assert "everything ships together once the backordered items arrive" in body


def test_the_console_order_page_shows_each_lines_ship_day_and_warehouse(agent_client, db):
    order = place(db)
    line = cabinet_line(order)
    html = agent_client.get(f"/orders/{order.number}").get_data(as_text=True)
    assert f"2 on backorder — ships by {promising.day(line.ships_on)}" in html
    assert "from MAIN" in html


def test_the_pick_list_takes_only_reserved_units(warehouse, db):
    order = place(db)
    found = fulfilment.pick_list(db, [order.id])
    cabinet = next(i for i in found.items if i.sku == "CAB-4D")
    assert (cabinet.to_pick, cabinet.backordered, cabinet.outstanding) == (4, 2, 6)
    html = page(warehouse, f"/fulfilment/pick-list?order={order.id}")
    row = html[html.index("<code>CAB-4D</code>"):].split("</tr>")[0]
    assert "<strong>4</strong>" in row and "2 more on backorder, not picked" in row


@pytest.mark.parametrize("together", [True, False])
def test_an_order_that_ships_complete_waits_whole_for_its_backorder(warehouse, db,
                                                                    together):
    order = place(db, ship_complete=together)
    worklist = page(warehouse, "/fulfilment/ship")
    assert ("Ships complete: waits for backorder" in worklist) is together
    picks = fulfilment.pick_list(db, [order.id])
    assert (picks.items == []) is together and picks.skipped == (1 if together else 0)
    html = page(warehouse, f"/fulfilment/orders/{order.number}")
    assert ("ships complete once the 2 backordered units arrive" in html) is together
    if not together:  # a part delivery ships what is reserved now, 4 cabinets by default
        line = cabinet_line(order)
        assert f'id="qty-{line.id}" name="qty-{line.id}" type="number" min="0" max="6" ' \
               f'class="quantity" value="4"' in html
