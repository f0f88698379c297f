"""Units freed by other paths than a receipt go to waiting backorders first, oldest order
first (core.workflows.stock_changes): units found, a count above the books, a transfer in,
an order cancelled (returned goods: tests/unit/test_returns.py)."""
import pytest
from sqlalchemy import select

from core.inventory import services as inventory
from core.inventory.models import StockLevel
from core.workflows import stock_changes
from core.workflows.cancellation import cancel_and_void
from tests.factories import StockLevelFactory
from tests.unit.test_backorder_filling import WES, backorderable
from tests.unit.test_orders import place


def level(db, variant_id, warehouse="MAIN"):
    db.expire_all()
    return db.scalar(select(StockLevel).where(StockLevel.variant_id == variant_id,
                                              StockLevel.warehouse == warehouse))


@pytest.fixture
def a_and_b(db):
    """Order A reserved the 2 units on hand; order B waits for 3 (same variant, MAIN)."""
    variant, _ = backorderable(db)
    StockLevelFactory(variant=variant, warehouse="MAIN", on_hand=2)
    a = place(db, [(variant.id, 2)], key="freed-a")
    b = place(db, [(variant.id, 3)], key="freed-b")
    assert (a.lines[0].warehouse, a.lines[0].quantity_reserved) == ("MAIN", 2)
    assert (b.lines[0].warehouse, b.lines[0].quantity_backordered) == ("MAIN", 3)
    return variant, a, b


def test_cancelling_an_order_gives_its_reserved_units_to_the_waiting_backorder(db, a_and_b):
    variant, a, b = a_and_b
    cancel_and_void(db, a, gateway=object(), actor=WES, reason="customer asked")
    line = b.lines[0]
    assert (line.quantity_reserved, line.quantity_backordered) == (2, 1)
    row = level(db, variant.id)
    assert (row.on_hand, row.reserved, row.backordered) == (2, 2, 1)
    assert inventory.journal_balance(db, variant.id, "MAIN") == (2, 2)


def test_units_found_fill_the_backorder(db, a_and_b):
    variant, _, b = a_and_b
    found = stock_changes.adjust(db, variant_id=variant.id, warehouse="MAIN", change=5,
                                reason="found", actor=WES)
    assert found.units_filled == 3 and b.lines[0].quantity_backordered == 0
    row = level(db, variant.id)
    assert (row.on_hand, row.reserved, row.backordered) == (7, 5, 0)


def test_a_count_above_the_books_fills_the_backorder(db, a_and_b):
    variant, _, b = a_and_b
    counted = stock_changes.count(db, variant_id=variant.id, warehouse="MAIN", counted=3,
                                  actor=WES)
    assert counted.movement.quantity == 1
    assert [(f.order_number, f.units) for f in counted.filled] == [(b.number, 1)]
    assert (b.lines[0].quantity_reserved, b.lines[0].quantity_backordered) == (1, 2)
    again = stock_changes.count(db, variant_id=variant.id, warehouse="MAIN", counted=3,
                                actor=WES)
    assert again.filled == []


def test_a_transfer_in_fills_the_target_warehouses_backorder(db, a_and_b):
    variant, _, b = a_and_b
    StockLevelFactory(variant=variant, warehouse="HAM", on_hand=4)
    moved = stock_changes.transfer(db, variant_id=variant.id, source="HAM", target="MAIN",
                                   quantity=4, actor=WES)
    assert moved.movement.warehouse == "MAIN" and moved.units_filled == 3
    assert (b.lines[0].quantity_reserved, b.lines[0].quantity_backordered) == (3, 0)
    row = level(db, variant.id)
    assert (row.on_hand, row.reserved, row.backordered) == (6, 5, 0)
    assert level(db, variant.id, "HAM").on_hand == 0


def test_a_failed_payments_webhook_gives_the_cancelled_orders_units_to_the_backorder(db, a_and_b):
    from core.payments import services as payments
    from core.payments import webhooks
    variant, a, b = a_and_b
    attempt = payments.new_attempt(db, a)
    attempt.stripe_id, attempt.status = "pi_freed", "creating"
    db.flush()
    event = {
        "id": "evt_freed", "object": "event", "type": "payment_intent.payment_failed",
        "data": {"object": {"id": "pi_freed", "object": "payment_intent",
                            "status": "requires_payment_method", "amount": 2000,
                            "currency": "eur", "client_secret": "pi_freed_secret_x"}}}
    assert webhooks.store(db, event)
    webhooks.process(db, "evt_freed", on_abandoned=stock_changes.after_abandoned)
    db.expire_all()
    assert db.get(type(a), a.id).status == "cancelled"
    line = db.get(type(b), b.id).lines[0]
    assert (line.quantity_reserved, line.quantity_backordered) == (2, 1)
