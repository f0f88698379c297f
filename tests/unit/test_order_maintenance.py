"""Changing an order's lines before fulfilment: re-pricing, stock, totals, authorisation."""
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.audit import Actor, AuditEvent
from core.inventory.models import StockLevel
from core.inventory.services import OutOfStock
from core.orders import services as orders
from core.orders.models import OrderNote
from core.payments.models import PaymentAttempt
from core.workflows import order_maintenance as maintenance
from core.workflows.order_maintenance import LineChanges
from tests.fakes import FakeGateway
from tests.factories import CustomerFactory
from tests.unit.test_orders import place, vid

AGENT = Actor("agent", 1, "alex@marketline.example")


def reserved(db, variant_id) -> int:
    return db.scalar(select(StockLevel.reserved).where(StockLevel.variant_id == variant_id))


def authorise(db, order, amount=None):
    attempt = PaymentAttempt(order_id=order.id, key=f"{order.number}-pay-1",
                             stripe_id=f"pi_{order.number}", currency=order.currency,
                             amount=order.gross_total if amount is None else amount,
                             status="authorised")
    db.add(attempt)
    orders.mark_authorised(db, order, actor=AGENT, reference=attempt.stripe_id)
    db.flush()
    return attempt


def lines_changed_event(db, order):
    return db.scalar(select(AuditEvent).where(AuditEvent.action == "order.lines_changed",
                                              AuditEvent.subject_id == str(order.id)))


def assert_consistent(order):
    for line in order.lines:
        assert line.net + line.tax == line.gross
        assert line.quantity_reserved == line.quantity
    assert order.net_total + order.tax_total == order.gross_total
    assert order.gross_total == sum(l.gross for l in order.lines) + order.shipping_amount
    assert order.tax_total == sum(l.tax for l in order.lines) + order.shipping_tax
    assert order.subtotal == sum(l.amount for l in order.lines)
    assert order.discount_total == sum(l.discount for l in order.lines)


def test_a_new_quantity_is_priced_at_its_quantity_break_and_reserved_exactly(db):
    paper, pens = vid(db, "PAP-A4-80"), vid(db, "PEN-G2-BLU")
    paper_before, pens_before = reserved(db, paper), reserved(db, pens)
    order = place(db, [(paper, 2), (pens, 1)], key="m-break")
    line = order.lines[0]
    outcome = maintenance.change_lines(db, order, changes=LineChanges(quantities={line.id: 12}),
                                       actor=AGENT)
    assert reserved(db, paper) == paper_before + 12 and reserved(db, pens) == pens_before + 1
    # what the engine says for 12 reams on their own, in the same context
    fresh = place(db, [(paper, 12)], key="m-break-fresh")
    assert line.quantity == 12 and line.unit_price == fresh.lines[0].unit_price
    assert line.unit_price < Decimal("5.49")  # the 10+ break of the demo's retail list
    assert outcome.authorisation == "none" and outcome.total_after == order.gross_total
    assert_consistent(order)
    event = lines_changed_event(db, order)
    assert event.actor_label == AGENT.label
    assert [l["quantity"] for l in event.data["before"]] == [2, 1]
    assert [l["quantity"] for l in event.data["after"]] == [12, 1]


def test_removing_a_line_releases_its_stock_and_adding_a_sku_reserves_it(db):
    paper, pens, box = vid(db, "PAP-A4-80"), vid(db, "PEN-G2-BLU"), vid(db, "PAP-A4-80-BOX")
    before = {v: reserved(db, v) for v in (paper, pens, box)}
    order = place(db, [(paper, 2), (pens, 1)], key="m-add")
    pen_line = order.lines[1]
    maintenance.change_lines(db, order, actor=AGENT, changes=LineChanges(
        remove=frozenset({pen_line.id}), add=(("pap-a4-80-box", 3),)))
    db.expire(order)
    assert [(l.sku, l.quantity) for l in order.lines] == [("PAP-A4-80", 2), ("PAP-A4-80-BOX", 3)]
    assert reserved(db, paper) == before[paper] + 2
    assert reserved(db, pens) == before[pens]
    assert reserved(db, box) == before[box] + 3
    assert order.lines[1].unit_price == Decimal("24.90")
    assert order.gross_total == Decimal("10.98") + Decimal("74.70") + order.shipping_amount
    assert_consistent(order)


def test_adding_a_sku_already_on_the_order_adds_to_its_line(db):
    paper = vid(db, "PAP-A4-80")
    before = reserved(db, paper)
    order = place(db, [(paper, 2)], key="m-merge")
    maintenance.change_lines(db, order, actor=AGENT, changes=LineChanges(add=(("PAP-A4-80", 3),)))
    assert [(l.sku, l.quantity) for l in order.lines] == [("PAP-A4-80", 5)]
    assert reserved(db, paper) == before + 5


def test_a_change_that_is_short_of_stock_is_refused_and_changes_nothing(db):
    paper, rocket = vid(db, "PAP-A4-80"), vid(db, "COF-RKT-R58")  # two machines in stock
    order = place(db, [(paper, 2), (rocket, 1)], key="m-short")
    paper_before, rocket_before = reserved(db, paper), reserved(db, rocket)
    total = order.gross_total
    rocket_line = order.lines[1]
    # "left" counts what this order already holds: it may have up to 2
    with pytest.raises(OutOfStock, match=r"COF-RKT-R58 \(only 2 left\)"):
        maintenance.change_lines(db, order, actor=AGENT, changes=LineChanges(
            quantities={order.lines[0].id: 5, rocket_line.id: 3}))
    assert reserved(db, paper) == paper_before and reserved(db, rocket) == rocket_before
    assert [l.quantity for l in order.lines] == [2, 1] and order.gross_total == total
    assert lines_changed_event(db, order) is None


def test_a_total_above_the_authorisation_voids_it_and_holds_the_order(db):
    paper = vid(db, "PAP-A4-80")
    order = place(db, [(paper, 2)], key="m-void")
    attempt = authorise(db, order)
    gateway = FakeGateway()
    outcome = maintenance.change_lines(db, order, actor=AGENT, gateway=gateway,
                                       changes=LineChanges(quantities={order.lines[0].id: 4}))
    assert gateway.cancelled == [attempt.stripe_id]
    assert attempt.status == "cancelled" and order.payment_state == "unpaid"
    assert outcome.authorisation == "voided" and outcome.total_after > attempt.amount
    [hold] = order.active_holds
    assert (hold.kind, hold.reason_code) == ("payment_review", "reauthorisation_needed")
    assert lines_changed_event(db, order).data["authorisation"] == "voided"


def test_a_void_the_payment_service_refuses_leaves_the_money_as_it_is_but_holds(db):
    order = place(db, [(vid(db, "PAP-A4-80"), 2)], key="m-void-fails")
    attempt = authorise(db, order)
    refusing = FakeGateway(cancel_status="requires_capture")
    outcome = maintenance.change_lines(db, order, actor=AGENT, gateway=refusing,
                                       changes=LineChanges(quantities={order.lines[0].id: 4}))
    assert outcome.authorisation == "void_failed"
    assert attempt.status == "authorised" and order.payment_state == "authorised"
    assert order.on_hold


def test_a_lower_total_keeps_the_authorisation_and_says_so(db):
    order = place(db, [(vid(db, "PAP-A4-80"), 4)], key="m-keep")
    attempt = authorise(db, order)
    gateway = FakeGateway()
    outcome = maintenance.change_lines(db, order, actor=AGENT, gateway=gateway,
                                       changes=LineChanges(quantities={order.lines[0].id: 1}))
    assert gateway.cancelled == [] and attempt.status == "authorised"
    assert order.payment_state == "authorised" and not order.on_hold
    assert outcome.authorisation == "kept" and order.gross_total < attempt.amount
    data = lines_changed_event(db, order).data
    assert data["authorisation"] == "kept"
    assert Decimal(data["total_after"]) < Decimal(data["total_before"])


def test_an_agents_price_override_is_kept_when_the_quantity_changes(db):
    order = place(db, [(vid(db, "PAP-A4-80"), 2)], key="m-override")
    line = order.lines[0]
    line.list_unit_price, line.unit_price, line.override_reason = (line.unit_price,
                                                                   Decimal("4.00"), "loyal")
    maintenance.change_lines(db, order, actor=AGENT, changes=LineChanges(quantities={line.id: 3}))
    assert line.unit_price == Decimal("4.00") and line.amount == Decimal("12.00")
    assert line.gross == Decimal("12.00") and line.list_unit_price == Decimal("5.49")
    assert_consistent(order)


@pytest.mark.parametrize("status", ["in_fulfilment", "shipped", "cancelled"])
def test_lines_cannot_change_once_the_order_is_with_the_warehouse(db, status):
    order = place(db, [(vid(db, "PAP-A4-80"), 2)], key=f"m-{status}")
    order.status = status
    with pytest.raises(orders.OrderError, match="only change before"):
        maintenance.change_lines(db, order, actor=AGENT,
                                 changes=LineChanges(quantities={order.lines[0].id: 3}))


def test_an_order_keeps_at_least_one_line_and_unknown_skus_are_named(db):
    order = place(db, [(vid(db, "PAP-A4-80"), 2)], key="m-empty")
    with pytest.raises(orders.OrderError, match="at least one line"):
        maintenance.change_lines(db, order, actor=AGENT,
                                 changes=LineChanges(remove=frozenset({order.lines[0].id})))
    with pytest.raises(orders.OrderError, match="NOPE-1"):
        maintenance.change_lines(db, order, actor=AGENT, changes=LineChanges(add=(("NOPE-1", 1),)))


def test_a_company_customers_order_is_priced_in_the_b2b_channel(db):
    order = place(db, [(vid(db, "PAP-A4-80"), 2)], key="m-b2b")
    order.customer_id = CustomerFactory(kind="company").id
    assert maintenance.pricing_channel_code(db, order) == "web-b2b"
    order.customer_id = CustomerFactory(kind="person").id
    assert maintenance.pricing_channel_code(db, order) == "web-b2c"


def test_notes_are_listed_newest_first_on_the_console_page(db):
    order = place(db, [(vid(db, "PAP-A4-80"), 1)], key="m-notes")
    maintenance.add_note(db, order, text="first", actor=AGENT)
    maintenance.add_note(db, order, text="second", actor=AGENT)
    view = maintenance.console_order(db, order)
    assert [n.text for n in view.notes] == ["second", "first"]
    assert all(isinstance(n, OrderNote) for n in view.notes)
    assert "Note added" in [e.label for e in view.timeline]
    with pytest.raises(orders.OrderError, match="Write the note"):
        maintenance.add_note(db, order, text="  ", actor=AGENT)


def test_lines_cannot_change_while_a_card_payment_is_in_progress(db):
    from core.orders.services import OrderError
    from core.payments import services as payments
    from tests.unit.test_orders import place, vid
    order = place(db, [(vid(db, "PAP-A4-80"), 1)], key="in-flight")
    attempt = payments.new_attempt(db, order)
    attempt.status = "requires_action"
    db.flush()
    with pytest.raises(OrderError, match="in progress"):
        maintenance.change_lines(db, order, changes=maintenance.LineChanges(
            quantities={order.lines[0].id: 2}), actor=AGENT)


def test_an_order_paid_by_gift_card_that_grows_waits_for_the_rest(db):
    from decimal import Decimal as D

    from core.billing import prepayments
    from tests.billing_support import sell_gift_card
    from core.fulfilment.services import release_refusal
    card, code = sell_gift_card(db, D("100.00"), reference="CHQ", actor=AGENT)
    order = place(db, [(vid(db, "PAP-A4-80"), 2)], key="m-gift")
    prepayments.pay_with_gift_card(db, order, code, actor=AGENT)
    assert orders.mark_prepaid(db, order, actor=AGENT, reference="gift card")
    outcome = maintenance.change_lines(db, order, actor=AGENT,
                                       changes=LineChanges(quantities={order.lines[0].id: 30}))
    assert order.gross_total > order.amount_prepaid
    assert order.payment_state == "unpaid" and outcome.hold is not None
    assert release_refusal(order) is not None  # it cannot go to the warehouse unpaid
    assert orders.awaits_card_payment(order)  # a card or a pay link takes the rest
