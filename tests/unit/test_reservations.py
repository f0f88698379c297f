"""Reservations across a channel's warehouses, backorders and drop-shipped lines at order
placement and cancellation, and the opening balances the migration and the demo wrote."""
import datetime as dt

import pytest
from sqlalchemy import delete, select

from core import clock
from core.audit import Actor
from core.catalog.models import Channel
from core.inventory import services as inventory
from core.inventory.models import (ChannelWarehouse, ExpectedArrival, StockLevel, StockMovement,
                                   Supplier, Warehouse)
from core.orders import services as orders
from core.pricing import services as pricing
from tests.factories import StockLevelFactory, VariantFactory

ADDRESS = {"full_name": "Ola Order", "company": "", "line1": "Hauptstraße 1", "line2": "",
           "city": "Berlin", "postal_code": "10115", "region": "", "country": "DE", "phone": ""}
ACTOR = Actor("anonymous", None, "guest")
TODAY = dt.date(2026, 12, 7)  # a Monday


def place(db, lines, key="k1", ship_complete=False):
    channel = pricing.get_channel(db, "web-b2c")
    ctx = pricing.make_context(channel)
    checkout = orders.Checkout(lines=lines, email="ola@example.com", shipping_address=ADDRESS,
                               billing_address=ADDRESS, shipping_method="standard",
                               ship_complete=ship_complete)
    return orders.place_order(db, checkout=checkout, channel=channel, ctx=ctx, customer_id=None,
                              actor=ACTOR, idempotency_key=key)


def level(db, variant_id, warehouse="MAIN"):
    return db.scalar(select(StockLevel).where(StockLevel.variant_id == variant_id,
                                              StockLevel.warehouse == warehouse)
                     .execution_options(populate_existing=True))


@pytest.fixture
def north(db):
    """A second warehouse the B2C channel prefers to MAIN (the only channel naming its
    warehouses: the demo's links, MAIN then HAM for every channel, are taken away)."""
    db.execute(delete(ChannelWarehouse))
    wh = Warehouse(code="NORTH", name="North", position=1)
    db.add(wh)
    db.flush()
    channel = db.scalar(select(Channel).where(Channel.code == "web-b2c"))
    main = db.scalar(select(Warehouse).where(Warehouse.code == "MAIN"))
    db.add_all([ChannelWarehouse(channel_id=channel.id, warehouse_id=wh.id, position=0),
                ChannelWarehouse(channel_id=channel.id, warehouse_id=main.id, position=1)])
    db.flush()
    return wh


@pytest.fixture
def supplier(db):
    found = Supplier(code="SUP", name="Supplier", email="orders@supplier.example", lead_days=5)
    db.add(found)
    db.flush()
    return found


def test_every_stock_row_of_the_demo_equals_the_sum_of_its_movements(db):
    for row in db.scalars(select(StockLevel)).all():
        assert inventory.journal_balance(db, row.variant_id, row.warehouse) == \
            (row.on_hand, row.reserved), row.variant_id


def test_a_channel_takes_its_warehouses_in_order_and_others_take_every_warehouse(db, north):
    assert inventory.warehouses_for(db, "web-b2c") == ["NORTH", "MAIN"]
    every = list(db.scalars(select(Warehouse.code).where(Warehouse.active)
                            .order_by(Warehouse.position, Warehouse.code)))
    assert every[0] == "MAIN" and "NORTH" in every
    assert inventory.warehouses_for(db, "callcenter") == every


def test_a_line_is_reserved_in_the_first_warehouse_that_has_all_of_it(db, north):
    v = VariantFactory()
    StockLevelFactory(variant=v, warehouse="MAIN", on_hand=10)
    StockLevelFactory(variant=v, warehouse="NORTH", on_hand=3)
    order = place(db, [(v.id, 2)])
    assert (order.lines[0].warehouse, order.lines[0].quantity_reserved) == ("NORTH", 2)
    second = place(db, [(v.id, 5)], key="k2")  # NORTH has 1 left: MAIN has all of it
    assert (second.lines[0].warehouse, second.lines[0].quantity_reserved) == ("MAIN", 5)
    assert (level(db, v.id, "NORTH").reserved, level(db, v.id, "MAIN").reserved) == (2, 5)
    kinds = db.scalars(select(StockMovement.kind).where(StockMovement.variant_id == v.id,
                                                        StockMovement.kind == "reservation"))
    assert len(kinds.all()) == 2
    assert inventory.journal_balance(db, v.id, "MAIN") == (10, 5)


def test_without_backorders_a_shortage_refuses_the_whole_order(db):
    v, w = VariantFactory(), VariantFactory()
    StockLevelFactory(variant=v, on_hand=1)
    StockLevelFactory(variant=w, on_hand=5)
    with pytest.raises(inventory.OutOfStock, match="only 1 left"):
        place(db, [(w.id, 1), (v.id, 2)])
    assert level(db, w.id).reserved == 0


def test_a_backorderable_line_reserves_what_there_is_and_backorders_the_rest(db, supplier):
    v = VariantFactory()
    v.product.backorderable = True
    StockLevelFactory(variant=v, on_hand=3)
    db.add(ExpectedArrival(supplier_id=supplier.id, variant_id=v.id, warehouse="MAIN",
                           quantity=10, expected_on=clock.today() + dt.timedelta(days=14)))
    db.flush()
    order = place(db, [(v.id, 5)], ship_complete=True)
    line = order.lines[0]
    assert (line.quantity_reserved, line.quantity_backordered) == (3, 2)
    assert order.ship_complete
    assert line.ships_on == inventory.add_working_days(clock.today() + dt.timedelta(days=14), 1)
    assert order.promised_date >= line.ships_on
    stock = level(db, v.id)
    assert (stock.on_hand, stock.reserved, stock.backordered) == (3, 3, 2)
    orders.cancel_order(db, order, actor=ACTOR, reason="test")
    stock = level(db, v.id)
    assert (stock.reserved, stock.backordered) == (0, 0)
    assert (line.quantity_reserved, line.quantity_backordered) == (0, 0)
    assert inventory.journal_balance(db, v.id, "MAIN") == (3, 0)


def test_a_drop_shipped_line_is_its_suppliers_and_touches_no_stock(db, supplier):
    v = VariantFactory()
    v.product.drop_ship, v.product.supplier_id = True, supplier.id
    db.flush()
    order = place(db, [(v.id, 4)])
    line = order.lines[0]
    assert (line.warehouse, line.supplier_id, line.quantity_reserved,
            line.quantity_backordered) == (None, supplier.id, 0, 0)
    assert line.ships_on == inventory.add_working_days(clock.today(), 5)
    assert level(db, v.id) is None
    orders.cancel_order(db, order, actor=ACTOR, reason="test")  # nothing to release


def test_promise_for_units_beyond_stock_comes_after_what_is_already_backordered(db, supplier):
    v = VariantFactory()
    v.product.backorderable = True
    StockLevelFactory(variant=v, on_hand=2)
    soon, later = TODAY + dt.timedelta(days=7), TODAY + dt.timedelta(days=21)
    db.add_all([ExpectedArrival(supplier_id=supplier.id, variant_id=v.id, warehouse="MAIN",
                                quantity=4, expected_on=soon),
                ExpectedArrival(supplier_id=supplier.id, variant_id=v.id, warehouse="MAIN",
                                quantity=10, expected_on=later)])
    db.flush()
    first = inventory.promise(db, [(v.id, 5)], warehouses=["MAIN"], today=TODAY)[v.id]
    assert (first.source, first.short, first.arrival_on) == ("arrival", 3, soon)
    inventory.reserve(db, [(v.id, 5)], warehouses=["MAIN"])  # 2 reserved, 3 backordered
    second = inventory.promise(db, [(v.id, 2)], warehouses=["MAIN"], today=TODAY)[v.id]
    assert (second.source, second.arrival_on) == ("arrival", later)  # 1 left of the first
    beyond = inventory.promise(db, [(v.id, 20)], warehouses=["MAIN"], today=TODAY)[v.id]
    assert beyond.source == "lead_time"
    assert beyond.ships_on == inventory.add_working_days(TODAY, supplier.lead_days
                                                         if v.product.supplier_id else
                                                         inventory.BACKORDER_DAYS)
    in_stock = inventory.promise(db, [(VariantFactory().id, 1)], warehouses=["MAIN"],
                                 today=TODAY)
    assert all(p.source == "unavailable" and p.ships_on is None for p in in_stock.values())


def test_the_warehouse_commands_keep_the_row_equal_to_its_journal(db, north):
    v = VariantFactory()
    inventory.receive(db, variant_id=v.id, warehouse="MAIN", quantity=12, reference="GRN-1",
                      by="tests")
    inventory.adjust(db, variant_id=v.id, warehouse="MAIN", change=-2, reason="damaged",
                     by="tests")
    inventory.transfer(db, variant_id=v.id, source="MAIN", target="NORTH", quantity=4, by="tests")
    inventory.count(db, variant_id=v.id, warehouse="NORTH", counted=3, by="tests")
    inventory.reserve(db, [(v.id, 5)], warehouses=["MAIN"])
    with pytest.raises(inventory.StockError, match="reserved"):
        inventory.adjust(db, variant_id=v.id, warehouse="MAIN", change=-2, reason="lost",
                         by="tests")
    with pytest.raises(inventory.StockError, match="warehouse"):
        inventory.receive(db, variant_id=v.id, warehouse="NOPE", quantity=1, reference="x",
                          by="tests")
    assert (level(db, v.id).on_hand, level(db, v.id, "NORTH").on_hand) == (6, 3)
    for code in ("MAIN", "NORTH"):
        row = level(db, v.id, code)
        assert inventory.journal_balance(db, v.id, code) == (row.on_hand, row.reserved)


def test_a_backorder_waits_in_the_warehouse_its_arrival_comes_to_and_fills_there(db, north,
                                                                                 supplier):
    from core.workflows import stock_receipts
    v = VariantFactory()
    v.product.backorderable = True
    soon = clock.today() + dt.timedelta(days=10)
    arrival = ExpectedArrival(supplier_id=supplier.id, variant_id=v.id, warehouse="MAIN",
                              quantity=5, expected_on=soon)
    db.add(arrival)
    db.flush()
    order = place(db, [(v.id, 2)])  # NORTH comes first, but the units come to MAIN
    line = order.lines[0]
    assert (line.warehouse, line.quantity_backordered) == ("MAIN", 2)
    assert line.ships_on == inventory.add_working_days(soon, 1)
    receipt = stock_receipts.receive_arrival(db, arrival.id, quantity=None, actor=ACTOR)
    assert [(f.order_number, f.units) for f in receipt.filled] == [(order.number, 2)]
    assert (line.quantity_reserved, line.quantity_backordered) == (2, 0)


def test_units_waiting_on_backorder_come_before_a_newer_order(db):
    v = VariantFactory()
    v.product.backorderable = True
    StockLevelFactory(variant=v, on_hand=2)
    first = place(db, [(v.id, 2)], key="a")
    waiting = place(db, [(v.id, 3)], key="b")
    assert waiting.lines[0].quantity_backordered == 3
    orders.cancel_order(db, first, actor=ACTOR, reason="test")  # 2 free, 3 waiting for them
    promised = inventory.promise(db, [(v.id, 2)], warehouses=["MAIN"],
                                 today=clock.today())[v.id]
    assert promised.source != "stock"
    newer = place(db, [(v.id, 2)], key="c")
    assert (newer.lines[0].quantity_reserved, newer.lines[0].quantity_backordered) == (0, 2)
    assert level(db, v.id).reserved == 0


def test_changing_an_orders_lines_promises_them_again(db, supplier):
    from core.workflows import order_maintenance
    v = VariantFactory()
    v.product.backorderable, v.product.supplier_id = True, supplier.id
    StockLevelFactory(variant=v, on_hand=2)
    order = place(db, [(v.id, 1)])
    line = order.lines[0]
    assert line.ships_on == inventory.add_working_days(clock.today(), 1)
    order_maintenance.change_lines(db, order, actor=ACTOR,
                                   changes=order_maintenance.LineChanges(quantities={line.id: 6}))
    assert (line.quantity_reserved, line.quantity_backordered) == (2, 4)
    assert line.ships_on == inventory.add_working_days(clock.today(), supplier.lead_days)
    assert order.promised_date >= line.ships_on
    assert inventory.journal_balance(db, v.id, "MAIN") == (2, 2)
