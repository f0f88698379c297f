"""Placing orders: idempotency, stock, snapshots, state machine, fixed query count."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.audit import Actor, AuditEvent
from core.catalog.models import Variant
from core.inventory.models import StockLevel
from core.inventory.services import OutOfStock
from core.orders import services as orders
from core.orders import states
from core.orders.models import Order
from core.pricing import services as pricing
from tests.factories import StockLevelFactory, VariantFactory

ADDRESS = {"full_name": "Ola Order", "company": "", "line1": "Hauptstraße 1", "line2": "",
           "city": "Berlin", "postal_code": "10115", "region": "", "country": "DE", "phone": ""}
ACTOR = Actor("anonymous", None, "guest")


def vid(db, sku):
    return db.scalar(select(Variant.id).where(Variant.sku == sku))


def stock(db, variant_id):
    return db.scalar(select(StockLevel).where(StockLevel.variant_id == variant_id))


def place(db, lines, key="k1", method="standard"):
    channel = pricing.get_channel(db, "web-b2c")
    ctx = pricing.make_context(channel)
    checkout = orders.Checkout(lines=lines, email="ola@example.com", shipping_address=ADDRESS,
                               billing_address=ADDRESS, shipping_method=method)
    return orders.place_order(db, checkout=checkout, channel=channel, ctx=ctx, customer_id=None,
                              actor=ACTOR, idempotency_key=key)


def test_place_order_reserves_stock_for_every_line_and_snapshots_prices(db):
    paper, pens = vid(db, "PAP-A4-80"), vid(db, "PEN-G2-BLU")
    before = stock(db, paper).reserved
    order = place(db, [(paper, 2), (pens, 1)])
    assert order.number.startswith("SO-") and order.status == "pending_payment"
    assert stock(db, paper).reserved == before + 2
    line = order.lines[0]
    assert (line.sku, line.name, line.unit_price) == ("PAP-A4-80", "Everyday Copy Paper A4 80 g – 1 ream",
                                                      Decimal("5.49"))
    # 10.98 + 19.90 = 30.88 of goods; standard shipping 4.95 (free only from 50)
    assert order.gross_total == Decimal("35.83")
    assert order.shipping_amount == Decimal("4.95")


def test_the_same_idempotency_key_yields_one_order(db):
    paper = vid(db, "PAP-A4-80")
    first = place(db, [(paper, 1)], key="double-click")
    second = place(db, [(paper, 1)], key="double-click")
    assert first.id == second.id
    assert db.scalar(select(func.count()).select_from(Order)
                     .where(Order.idempotency_key == "double-click")) == 1


def test_no_oversell_nothing_is_kept_when_one_line_is_short(db):
    rocket, paper = vid(db, "COF-RKT-R58"), vid(db, "PAP-A4-80")  # 2 rockets in stock
    paper_before = stock(db, paper).reserved
    with pytest.raises(OutOfStock, match="COF-RKT-R58"):
        with db.begin_nested():
            place(db, [(paper, 1), (rocket, 3)])
    assert stock(db, paper).reserved == paper_before
    assert stock(db, rocket).reserved == 0


def test_cancel_releases_the_stock(db):
    paper = vid(db, "PAP-A4-80")
    before = stock(db, paper).reserved
    order = place(db, [(paper, 3)])
    orders.cancel_order(db, order, actor=ACTOR, reason="changed my mind")
    assert order.status == "cancelled" and stock(db, paper).reserved == before
    with pytest.raises(states.IllegalTransition):
        states.move(order, "confirmed")


def test_the_state_machine_refuses_illegal_moves():
    class O:
        status = "shipped"
    with pytest.raises(states.IllegalTransition, match="cannot become cancelled"):
        states.move(O(), "cancelled")
    o = O()
    o.status = "pending_payment"
    assert states.move(o, "confirmed") == "pending_payment" and o.status == "confirmed"


def test_payment_authorisation_confirms_once_with_one_audit_event(db):
    order = place(db, [(vid(db, "PAP-A4-80"), 1)])
    assert orders.mark_authorised(db, order, actor=ACTOR, reference="pi_1")
    assert not orders.mark_authorised(db, order, actor=ACTOR, reference="pi_1")
    db.flush()
    events = db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "order.payment_authorised", AuditEvent.subject_id == str(order.id)))
    assert order.status == "confirmed" and events == 1


def test_a_product_outside_the_channel_cannot_be_ordered(db):
    with pytest.raises(orders.OrderError, match="no longer sold here"):
        place(db, [(vid(db, "COF-BRV-B10"), 1)])


def test_placing_an_order_runs_the_same_queries_for_1_line_as_for_50(db, connection):
    from tests.helpers import QueryCounter
    variants = []
    for _ in range(50):
        v = VariantFactory()
        StockLevelFactory(variant=v, on_hand=100)
        variants.append(v.id)
    db.flush()
    with QueryCounter(connection) as one:
        place(db, [(variants[0], 1)], key="one-line")
    with QueryCounter(connection) as fifty:
        place(db, [(v, 2) for v in variants], key="fifty-lines")
    assert one.count == fifty.count


def test_a_confirmed_order_whose_authorisation_was_voided_can_be_authorised_again(db):
    order = place(db, [(vid(db, "PAP-A4-80"), 1)], key="reauthorise")
    assert orders.mark_authorised(db, order, actor=ACTOR, reference="pi_1")
    order.payment_state = "unpaid"  # lines changed, the authorisation was voided
    assert orders.awaits_card_payment(order)
    assert orders.mark_authorised(db, order, actor=ACTOR, reference="pi_2")
    assert (order.status, order.payment_state) == ("confirmed", "authorised")
    order.payment_method, order.payment_state = "on_account", "on_account"
    assert not orders.awaits_card_payment(order)


def test_a_promotion_used_up_by_a_concurrent_order_is_refused_at_placement(db):
    """Priced while one use was left; another order took it before this one counted it."""
    from core.pricing.models import Promotion
    coffee = db.scalar(select(Promotion).where(Promotion.name.like("Coffee week%")))
    coffee.usage_limit_total, coffee.times_used = 1, 0
    db.flush()
    ctx = pricing.make_context(pricing.get_channel(db, "web-b2c"))
    priced = pricing.price_cart(db, ctx, [(vid(db, "BEAN-LAV-CRE-1"), 1)])
    assert priced.discount_total.amount > 0  # the promotion was still available
    coffee.times_used = 1  # the concurrent order commits its use
    db.flush()
    order = place(db, [(vid(db, "PAP-A4-80"), 1)], key="late-coupon")
    with pytest.raises(orders.OrderError, match="used up"):
        orders._redeem(db, order, priced)
