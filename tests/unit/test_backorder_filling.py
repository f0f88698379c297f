"""Goods in fill backorders oldest order first; an arrival moved later or cancelled
re-promises the waiting lines and tells those customers (core.workflows.stock_receipts)."""
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import clock, events, notifications
from core.audit import Actor
from core.errors import DomainError
from core.inventory import services as inventory
from core.inventory.models import ExpectedArrival, StockLevel, Supplier
from core.workflows import stock_receipts
from tests.factories import VariantFactory
from tests.unit.test_orders import place

WES = Actor("agent", 3, "wes@marketline.example")


def backorderable(db, *, lead_days: int = 15):
    supplier = Supplier(code=f"SUP{lead_days}", name="Papier Nord", lead_days=lead_days)
    db.add(supplier)
    db.flush()
    variant = VariantFactory(price=Decimal("10.00"))
    variant.product.backorderable = True
    variant.product.supplier_id = supplier.id
    db.flush()
    return variant, supplier


def expect(db, variant, supplier, units, in_days, reference="PO-1"):
    today = clock.today()
    return stock_receipts.add_arrival(db, supplier_id=supplier.id, sku=variant.sku,
                                      quantity=units, warehouse="MAIN",
                                      expected_on=today + dt.timedelta(days=in_days),
                                      reference=reference, actor=WES)


def level(db, variant_id, warehouse="MAIN"):
    db.expire_all()
    return db.scalar(select(StockLevel).where(StockLevel.variant_id == variant_id,
                                              StockLevel.warehouse == warehouse))


def balanced(db, variant_id, warehouse="MAIN"):
    row = level(db, variant_id, warehouse)
    return (row.on_hand, row.reserved) == inventory.journal_balance(db, variant_id, warehouse)


@pytest.fixture
def waiting(db):
    """Three orders (oldest first) of 2, 3 and 4 units of a backorderable item none of which
    is in stock, an arrival of 10 expected in 14 days."""
    variant, supplier = backorderable(db)
    arrival = expect(db, variant, supplier, 10, 14)
    placed = [place(db, [(variant.id, n)], key=f"wait-{n}") for n in (2, 3, 4)]
    return variant, supplier, arrival, placed


def test_orders_beyond_stock_wait_as_backorders_promised_by_the_arrival(db, waiting):
    variant, _, arrival, placed = waiting
    assert [o.lines[0].quantity_backordered for o in placed] == [2, 3, 4]
    assert level(db, variant.id).backordered == 9
    ships = inventory.add_working_days(arrival.expected_on, inventory.DISPATCH_DAYS)
    assert all(o.lines[0].ships_on == ships for o in placed)


def test_a_receipt_fills_the_oldest_orders_first_and_a_partial_fill_keeps_the_rest_waiting(
        db, waiting):
    variant, _, _, (first, second, third) = waiting
    receipt = stock_receipts.receive(db, sku=variant.sku, warehouse="MAIN", quantity=4,
                                     reference="DN-77", actor=WES)
    assert [(f.order_number, f.units, f.complete) for f in receipt.filled] == [
        (first.number, 2, True), (second.number, 2, False)]
    assert receipt.units_filled == 4
    lines = [o.lines[0] for o in (first, second, third)]
    assert [(l.quantity_reserved, l.quantity_backordered) for l in lines] == [
        (2, 0), (2, 1), (0, 4)]
    row = level(db, variant.id)
    assert (row.on_hand, row.reserved, row.backordered) == (4, 4, 5)
    assert balanced(db, variant.id)
    # The first line is complete: it leaves the next working day, delivery keeps its transit.
    tomorrow = inventory.add_working_days(clock.today(), inventory.DISPATCH_DAYS)
    assert lines[0].ships_on == tomorrow
    assert lines[1].ships_on > tomorrow  # still waits for the arrival


def test_receiving_more_than_is_backordered_leaves_the_rest_free(db, waiting):
    variant, _, _, placed = waiting
    receipt = stock_receipts.receive(db, sku=variant.sku, warehouse="MAIN", quantity=12,
                                     reference="DN-78", actor=WES)
    assert receipt.units_filled == 9 and all(f.complete for f in receipt.filled)
    row = level(db, variant.id)
    assert (row.on_hand, row.reserved, row.backordered) == (12, 9, 0)
    assert all(o.lines[0].quantity_reserved == o.lines[0].quantity for o in placed)
    assert balanced(db, variant.id)


def test_a_cancelled_orders_backorder_is_not_filled(db, waiting):
    from core.orders.services import cancel_order
    variant, _, _, (first, second, _) = waiting
    cancel_order(db, first, actor=WES, reason="changed mind")
    receipt = stock_receipts.receive(db, sku=variant.sku, warehouse="MAIN", quantity=3,
                                     reference="DN-79", actor=WES)
    assert [f.order_number for f in receipt.filled] == [second.number]


def test_receiving_an_arrival_in_part_keeps_it_open_then_all_of_it_receives_it(db, waiting):
    variant, _, arrival, (first, second, third) = waiting
    receipt = stock_receipts.receive_arrival(db, arrival.id, quantity=6, actor=WES)
    assert receipt.movement.reference == "PO-1" and receipt.movement.quantity == 6
    assert (arrival.status, arrival.quantity_received, arrival.outstanding) == ("open", 6, 4)
    assert [f.order_number for f in receipt.filled] == [first.number, second.number,
                                                        third.number]
    assert third.lines[0].quantity_backordered == 3
    with pytest.raises(DomainError, match="from 1 to 4") as refused:
        stock_receipts.receive_arrival(db, arrival.id, quantity=5, actor=WES)
    assert refused.value.field == "quantity"
    stock_receipts.receive_arrival(db, arrival.id, quantity=None, actor=WES)
    assert arrival.status == "received" and arrival.received_at is not None
    assert third.lines[0].quantity_backordered == 0
    with pytest.raises(DomainError, match="not expected any more"):
        stock_receipts.receive_arrival(db, arrival.id, quantity=1, actor=WES)
    assert balanced(db, variant.id)


def test_an_arrival_moved_later_repromises_the_waiting_lines_and_tells_each_customer_once(
        db, waiting):
    variant, supplier, arrival, (first, second, third) = waiting
    # A second arrival of 4 in 20 days: with the first one later, the queue re-forms.
    expect(db, variant, supplier, 4, 20, reference="PO-2")
    later = clock.today() + dt.timedelta(days=30)
    moved = stock_receipts.reschedule_arrival(db, arrival.id, expected_on=later, actor=WES)
    # Oldest first: the 2 units of the first order fit the 4 arriving in 20 days, the
    # second's 3 more do not; they and the third wait for the arrival moved to day 30.
    numbers = [m.number for m in moved]
    assert numbers == [first.number, second.number, third.number]
    in_20 = inventory.add_working_days(clock.today() + dt.timedelta(days=20), 1)
    in_30 = inventory.add_working_days(later, 1)
    assert first.lines[0].ships_on == in_20
    assert second.lines[0].ships_on == in_30 and third.lines[0].ships_on == in_30
    assert moved[1].lines[0][2] == second.lines[0].promised_date
    assert second.promised_date >= second.lines[0].promised_date
    told = [e for e in events.pending(db) if isinstance(e, events.DeliveryMoved)]
    assert sorted(e.number for e in told) == sorted(numbers)
    assert all(e.email == "ola@example.com" for e in told)


def test_a_cancelled_arrival_falls_back_to_the_suppliers_lead_time(db, waiting):
    variant, supplier, arrival, placed = waiting
    moved = stock_receipts.cancel_arrival(db, arrival.id, actor=WES)
    assert arrival.status == "cancelled"
    assert {m.number for m in moved} == {o.number for o in placed}
    lead = inventory.add_working_days(clock.today(), supplier.lead_days)
    assert all(o.lines[0].ships_on == lead for o in placed)
    with pytest.raises(DomainError):
        stock_receipts.cancel_arrival(db, arrival.id, actor=WES)


def test_an_arrival_moved_earlier_tells_nobody(db, waiting):
    _, _, arrival, _ = waiting
    moved = stock_receipts.reschedule_arrival(
        db, arrival.id, expected_on=clock.today() + dt.timedelta(days=7), actor=WES)
    assert moved == []
    assert not [e for e in events.pending(db) if isinstance(e, events.DeliveryMoved)]


def test_a_date_in_the_past_is_refused_at_the_field(db, waiting):
    _, _, arrival, _ = waiting
    with pytest.raises(DomainError, match="today or later") as refused:
        stock_receipts.reschedule_arrival(db, arrival.id, expected_on=clock.today()
                                          - dt.timedelta(days=1), actor=WES)
    assert refused.value.field == "expected_on"


@pytest.mark.parametrize("change, field", [
    ({"supplier_id": None}, "supplier"), ({"sku": "NO-SUCH-SKU"}, "sku"),
    ({"quantity": 0}, "quantity"), ({"warehouse": "NOWHERE"}, "warehouse"),
    ({"expected_on": None}, "expected_on")])
def test_a_new_arrival_with_bad_input_says_so_at_the_field(db, change, field):
    variant, supplier = backorderable(db)
    values = dict(supplier_id=supplier.id, sku=variant.sku, quantity=5, warehouse="MAIN",
                  expected_on=clock.today() + dt.timedelta(days=3), reference="PO-9")
    values.update(change)
    with pytest.raises(DomainError) as refused:
        stock_receipts.add_arrival(db, actor=WES, **values)
    assert refused.value.field == field
    assert db.scalar(select(ExpectedArrival).where(ExpectedArrival.reference == "PO-9")) is None


def test_the_delivery_moved_mail_lists_the_lines_and_the_new_date(settings):
    happened = events.DeliveryMoved(7, "SO-000042", "ola@example.com", "2027-01-20",
                                    (("PAP-A4-80", "Copy paper", "2027-01-19"),))
    message = notifications.delivery_moved_message(settings, happened)
    assert message["To"] == "ola@example.com"
    assert "SO-000042" in message["Subject"] and "later" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "Copy paper (PAP-A4-80)" in text
    assert "19" in text and "Jan" in text and "20" in text


def test_a_line_filled_after_a_late_arrival_ships_the_next_working_day(db, waiting):
    variant, _, _, (first, _, _) = waiting
    line = first.lines[0]
    line.ships_on = clock.today() - dt.timedelta(days=3)  # promised when it was still ahead
    line.promised_date = inventory.add_working_days(line.ships_on, 2)
    db.flush()
    stock_receipts.receive(db, sku=variant.sku, warehouse="MAIN", quantity=2, reference="DN-L",
                           actor=WES)
    tomorrow = inventory.add_working_days(clock.today(), inventory.DISPATCH_DAYS)
    assert line.ships_on == tomorrow
    assert line.promised_date == inventory.add_working_days(tomorrow, 2)  # transit kept
    assert first.promised_date == line.promised_date
