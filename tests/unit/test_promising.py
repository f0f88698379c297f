"""Available-to-promise: where a line's date comes from (stock, an expected arrival, the
supplier's lead time, the supplier itself, or nowhere), arrivals after the backorders they
already cover, warehouses by preference, the sentences people read, and fixed query counts
for promising and for placing a 50-line order."""
import datetime as dt

from sqlalchemy import delete, select

from core import clock
from core.audit import Actor
from core.catalog.models import Channel, Variant
from core.inventory import services as inventory
from core.inventory.models import ChannelWarehouse, ExpectedArrival, Supplier, Warehouse
from core.orders import promises as promising
from core.orders import services as orders
from core.pricing import services as pricing
from tests.factories import ProductFactory, StockLevelFactory, VariantFactory
from tests.helpers import QueryCounter

MONDAY = dt.date(2026, 12, 7)
ADDRESS = {"full_name": "Ola Order", "company": "", "line1": "Hauptstraße 1", "line2": "",
           "city": "Berlin", "postal_code": "10115", "region": "", "country": "DE", "phone": ""}
ACTOR = Actor("anonymous", None, "guest")


def supplier(db, lead_days=15, code="ACME"):
    found = Supplier(code=code, name=f"{code} Supplies", lead_days=lead_days)
    db.add(found)
    db.flush()
    return found


def item(db, *, on_hand=0, backorderable=False, drop_ship=False, supply=None, warehouse="MAIN"):
    product = ProductFactory(backorderable=backorderable, drop_ship=drop_ship,
                             supplier_id=supply.id if supply else None)
    variant = VariantFactory(product=product)
    if on_hand is not None:
        StockLevelFactory(variant=variant, on_hand=on_hand, warehouse=warehouse)
    return variant


def arrival(db, variant, quantity, day, supply, warehouse="MAIN"):
    db.add(ExpectedArrival(supplier_id=supply.id, variant_id=variant.id, warehouse=warehouse,
                           quantity=quantity, expected_on=day))
    db.flush()


def promise(db, variant, quantity, warehouses=("MAIN",)):
    return inventory.promise(db, [(variant.id, quantity)], warehouses=list(warehouses),
                             today=MONDAY)[variant.id]


def test_a_line_within_free_stock_ships_the_next_working_day(db):
    paper = item(db, on_hand=5)
    found = promise(db, paper, 5)
    assert (found.source, found.ships_on, found.short) == ("stock", dt.date(2026, 12, 8), 0)
    assert promising.describe(found) == "In stock — ships by Tue 8 Dec"


def test_units_beyond_stock_wait_for_the_first_arrival_that_covers_them(db):
    acme = supplier(db)
    toner = item(db, on_hand=3, backorderable=True, supply=acme)
    arrival(db, toner, 1, dt.date(2026, 12, 10), acme)  # too few for the 2 short
    arrival(db, toner, 4, dt.date(2026, 12, 17), acme)
    found = promise(db, toner, 5)
    assert (found.source, found.available, found.short) == ("arrival", 3, 2)
    assert found.arrival_on == dt.date(2026, 12, 17)
    assert found.ships_on == dt.date(2026, 12, 18)  # dispatched the working day after
    assert promising.describe(found) == "3 in stock, 2 on backorder — ships by Fri 18 Dec"


def test_an_arrival_covers_the_units_already_backordered_first(db):
    acme = supplier(db)
    toner = item(db, on_hand=0, backorderable=True, supply=acme)
    arrival(db, toner, 4, dt.date(2026, 12, 10), acme)
    arrival(db, toner, 10, dt.date(2027, 1, 14), acme)
    assert promise(db, toner, 2).arrival_on == dt.date(2026, 12, 10)
    inventory.reserve(db, [(toner.id, 3)], warehouses=["MAIN"], reference="SO-1")  # backordered
    later = promise(db, toner, 2)  # 3 of the first 4 are taken: 1 left there
    assert (later.source, later.arrival_on) == ("arrival", dt.date(2027, 1, 14))
    assert promising.describe(later) == "Backorder — ships by Fri 15 Jan"


def test_without_an_arrival_the_suppliers_lead_time_promises_the_rest(db):
    acme = supplier(db, lead_days=15)
    toner = item(db, on_hand=1, backorderable=True, supply=acme)
    found = promise(db, toner, 4)
    assert found.source == "lead_time"
    assert found.ships_on == inventory.add_working_days(MONDAY, 15) == dt.date(2026, 12, 28)


def test_a_product_without_a_supplier_waits_the_default_backorder_time(db):
    toner = item(db, on_hand=None, backorderable=True)
    found = promise(db, toner, 1)
    assert found.source == "lead_time"
    assert found.ships_on == inventory.add_working_days(MONDAY, inventory.BACKORDER_DAYS)


def test_a_drop_shipped_product_is_promised_by_its_supplier_whatever_our_stock(db):
    direct = supplier(db, lead_days=4, code="DIRECT")
    chair = item(db, on_hand=None, drop_ship=True, supply=direct)
    found = promise(db, chair, 50)
    assert (found.source, found.ships_on) == ("supplier", dt.date(2026, 12, 11))
    assert promising.describe(found) == "Ships from the supplier by Fri 11 Dec"


def test_beyond_stock_a_product_without_backorders_cannot_be_promised(db):
    rocket = item(db, on_hand=2)
    found = promise(db, rocket, 3)
    assert (found.source, found.ships_on, found.available) == ("unavailable", None, 2)
    assert not found.promisable
    assert promising.describe(found) == "Only 2 in stock"
    assert promising.describe(promise(db, item(db, on_hand=0), 1)) == "Out of stock"


def test_an_item_that_cannot_be_backordered_says_when_more_are_expected(db):
    acme = supplier(db)
    rocket = item(db, on_hand=0)
    arrival(db, rocket, 9, dt.date(2026, 12, 17), acme)
    arrival(db, rocket, 4, dt.date(2026, 12, 14), acme)
    found = promise(db, rocket, 1)
    assert (found.source, found.ships_on, found.arrival_on) == (
        "unavailable", None, dt.date(2026, 12, 14))  # still not promisable: no backorders
    assert promising.describe(found) == "Out of stock — more expected Mon 14 Dec"
    assert promising.refusal("Rocket", found) == (
        "Rocket is out of stock. More are expected on Mon 14 Dec.")
    db.add(Warehouse(code="EAST", name="East", position=1))
    db.flush()
    arrival(db, rocket, 2, dt.date(2026, 12, 9), acme, warehouse="EAST")  # a warehouse not used
    assert promise(db, rocket, 1).arrival_on == dt.date(2026, 12, 14)
    late = item(db, on_hand=0)
    arrival(db, late, 3, dt.date(2026, 12, 1), acme)  # overdue: expected from today on
    assert promise(db, late, 1).arrival_on == MONDAY


def test_arrivals_in_a_warehouse_the_channel_does_not_use_promise_nothing(db):
    db.add(Warehouse(code="EAST", name="East", position=1))
    db.flush()
    acme = supplier(db)
    toner = item(db, on_hand=0, backorderable=True, supply=acme)
    arrival(db, toner, 5, dt.date(2026, 12, 9), acme, warehouse="EAST")
    assert promise(db, toner, 1, warehouses=["MAIN"]).source == "lead_time"
    assert promise(db, toner, 1, warehouses=["MAIN", "EAST"]).source == "arrival"


def test_two_warehouses_a_line_ships_from_the_first_that_has_all_of_it(db):
    db.add(Warehouse(code="EAST", name="East", position=1))
    db.flush()
    paper = item(db, on_hand=2)
    StockLevelFactory(variant=paper, on_hand=6, warehouse="EAST")
    # Free stock is what one warehouse has: 6 from EAST, never 2 + 6.
    assert promise(db, paper, 6, warehouses=["MAIN", "EAST"]).source == "stock"
    assert promise(db, paper, 7, warehouses=["MAIN", "EAST"]).source == "unavailable"
    small = inventory.reserve(db, [(paper.id, 2)], warehouses=["MAIN", "EAST"], reference="a")
    large = inventory.reserve(db, [(paper.id, 5)], warehouses=["MAIN", "EAST"], reference="b")
    assert small[paper.id].warehouse == "MAIN" and large[paper.id].warehouse == "EAST"
    # Preference decides: EAST first takes the small line there.
    assert inventory.reserve(db, [(paper.id, 1)], warehouses=["EAST", "MAIN"],
                             reference="c")[paper.id].warehouse == "EAST"


def test_the_channel_promises_from_its_own_warehouses_in_order(db):
    east = Warehouse(code="EAST", name="East", position=5)
    db.add(east)
    db.flush()
    channel = db.scalar(select(Channel).where(Channel.code == "web-b2c"))
    db.execute(delete(ChannelWarehouse).where(ChannelWarehouse.channel_id == channel.id))
    db.add(ChannelWarehouse(channel_id=channel.id, warehouse_id=east.id, position=0))
    db.flush()
    assert inventory.warehouses_for(db, "web-b2c") == ["EAST"]
    assert "MAIN" in inventory.warehouses_for(db, "callcenter")


def _lines(db, n):
    acme = supplier(db, code=f"S{n}")
    lines = []
    for i in range(n):
        variant = item(db, on_hand=5, backorderable=i % 2 == 0, supply=acme)
        if i % 3 == 0:
            arrival(db, variant, 10, dt.date(2026, 12, 20), acme)
        lines.append((variant.id, 3 if i % 2 else 8))  # every other line beyond stock
    return lines


def test_promise_runs_as_many_queries_for_50_lines_as_for_5(db, connection):
    few, many = _lines(db, 5), _lines(db, 50)
    with QueryCounter(connection) as small:
        assert len(inventory.promise(db, few, warehouses=["MAIN"], today=MONDAY)) == 5
    with QueryCounter(connection) as large:
        found = inventory.promise(db, many, warehouses=["MAIN"], today=MONDAY)
    assert len(found) == 50 and {p.source for p in found.values()} == {"stock", "arrival",
                                                                        "lead_time"}
    assert small.count == large.count == 2  # the products with their stock, the arrivals


def _place(db, lines, key):
    channel = pricing.get_channel(db, "web-b2c")
    checkout = orders.Checkout(lines=lines, email="ola@example.com", shipping_address=ADDRESS,
                               billing_address=ADDRESS, shipping_method="standard")
    return orders.place_order(db, checkout=checkout, channel=channel,
                              ctx=pricing.make_context(channel), customer_id=None, actor=ACTOR,
                              idempotency_key=key)


def test_placing_a_50_line_order_runs_as_many_queries_as_a_5_line_one(db, connection):
    few = [(vid, 2) for vid, _ in _lines(db, 5)]  # all in stock
    many = [(vid, 8 if i % 2 == 0 else 2) for i, (vid, _) in enumerate(_lines(db, 50))]
    _place(db, [(few[0][0], 1)], "warm-up")  # caches and the order number series
    with QueryCounter(connection) as small:
        _place(db, few, "five")
    with QueryCounter(connection) as large:
        order = _place(db, many, "fifty")
    assert small.count == large.count
    backordered = [l for l in order.lines if l.quantity_backordered]
    assert len(backordered) == 25 and all(l.quantity_reserved == 5 for l in backordered)
    assert all(l.ships_on and l.promised_date and l.warehouse == "MAIN" for l in order.lines)


def test_placed_lines_carry_their_own_promise(db):
    acme = supplier(db)
    paper = item(db, on_hand=5)
    toner = item(db, on_hand=1, backorderable=True, supply=acme)
    arrival(db, toner, 10, clock.today() + dt.timedelta(days=10), acme)
    order = _place(db, [(paper.id, 2), (toner.id, 3)], "mixed")
    by_variant = {l.variant_id: l for l in order.lines}
    paper_line, toner_line = by_variant[paper.id], by_variant[toner.id]
    assert (toner_line.quantity_reserved, toner_line.quantity_backordered) == (1, 2)
    assert toner_line.ships_on > paper_line.ships_on
    assert order.promised_date == toner_line.promised_date
    assert promising.line_status(toner_line) == (
        f"2 on backorder — ships by {promising.day(toner_line.ships_on)}")
    assert promising.line_status(paper_line) == f"Ships by {promising.day(paper_line.ships_on)}"


def test_the_demo_machine_is_on_backorder_until_its_arrival(db):
    from core.demo.backorders import SKU, load_backorders
    assert load_backorders(db) == ""  # load_demo made it already: once is enough
    machine = db.scalar(select(Variant).where(Variant.sku == SKU))
    today = clock.today()
    found = inventory.promise(db, [(machine.id, 2)], warehouses=["MAIN"],
                              today=today)[machine.id]
    assert (found.source, found.available) == ("arrival", 0)
    assert found.arrival_on == today + dt.timedelta(days=10)
    assert promising.describe(found) == f"Backorder — ships by {promising.day(found.ships_on)}"
    beyond = inventory.promise(db, [(machine.id, 7)], warehouses=["MAIN"], today=today)
    assert beyond[machine.id].source == "lead_time"  # more than the 6 expected
