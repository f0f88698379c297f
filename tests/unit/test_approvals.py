"""Spending-limit approvals: holds at placement, approve (re-priced when stale), reject."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import events
from core.audit import AuditEvent
from core.customers.models import CustomerAddress, CustomerUser
from core.customers.services import actor_for
from core.db import utcnow
from core.errors import NotFound
from core.orders import holds
from core.orders import services as orders
from core.orders.models import Order
from core.pricing import services as pricing
from core.pricing.models import PriceListEntry
from core.catalog.models import Variant
from core.workflows import approvals, b2b_checkout
from core.workflows.order_page import customer_status_label
from tests.fakes import FakeGateway


def user(db, email) -> CustomerUser:
    return db.scalar(select(CustomerUser).where(CustomerUser.email == email))


def shop_order(db, who: CustomerUser, lines, *, key, on_account=True) -> Order:
    """An order placed in the shop by `who` (web-b2b), on account or by card."""
    customer = who.customer
    channel = pricing.get_channel(db, "web-b2b")
    ctx = pricing.make_context(channel, customer=customer)
    address = db.scalar(select(CustomerAddress).where(
        CustomerAddress.customer_id == customer.id)).as_dict()
    ids = dict(db.execute(select(Variant.sku, Variant.id)).all())
    order = orders.place_order(
        db, checkout=orders.Checkout(lines=[(ids[s], q) for s, q in lines], email=who.email,
                                     shipping_address=address, billing_address=address,
                                     shipping_method="standard",
                                     payment_method="on_account" if on_account else "card"),
        channel=channel, ctx=ctx, customer_id=customer.id, actor=actor_for(who),
        idempotency_key=key)
    if on_account:
        b2b_checkout.confirm_on_account(db, order, who, actor=actor_for(who))
    else:
        b2b_checkout.after_placement(db, order, actor=actor_for(who))
    return order


def spending_hold(order):
    return [h for h in order.active_holds if holds.company_approval(h)]


def test_an_order_over_the_buyers_order_limit_waits_for_approval(db):
    bea = user(db, "buyer@acme.example")
    order = shop_order(db, bea, [("TON-TN3430", 10)], key="a-1")
    assert order.gross_total > Decimal("500.00")
    [hold] = spending_hold(order)
    assert "over Bea Buyer's order limit 500.00" in hold.note.replace("€", "").replace(" EUR", "") \
        or "order limit" in hold.note
    assert customer_status_label(order) == "Awaiting approval"
    assert any(isinstance(e, events.ApprovalRequested) for e in events.pending(db))


def test_an_order_within_the_limit_goes_through(db):
    bea = user(db, "buyer@acme.example")
    order = shop_order(db, bea, [("PAP-A4-80", 1)], key="a-2")
    assert spending_hold(order) == [] and customer_status_label(order) == "Confirmed"


def test_the_monthly_limit_counts_this_months_orders_but_not_cancelled_ones(db):
    bea = user(db, "approver@acme.example")  # no orders this month yet
    bea.order_limit = None
    first = shop_order(db, bea, [("PAP-A4-80", 2)], key="m-1")
    bea.monthly_limit = first.gross_total * Decimal("2.5")  # two such orders, not three
    second = shop_order(db, bea, [("PAP-A4-80", 2)], key="m-2")
    assert spending_hold(first) == [] and spending_hold(second) == []
    second.status = "cancelled"
    db.flush()
    third = shop_order(db, bea, [("PAP-A4-80", 2)], key="m-3")
    assert spending_hold(third) == []  # the cancelled one is not counted
    fourth = shop_order(db, bea, [("PAP-A4-80", 2)], key="m-4")
    [hold] = spending_hold(fourth)
    assert "this month" in hold.note and "monthly limit" in hold.note


def test_a_buyer_never_approves_their_own_order(db):
    abe = user(db, "approver@acme.example")
    abe.order_limit = Decimal("10.00")
    order = shop_order(db, abe, [("PAP-A4-80", 3)], key="s-1")
    assert spending_hold(order)
    with pytest.raises(holds.HoldNotAllowed, match="You placed this order"):
        approvals.approve(db, abe, order.number)
    assert spending_hold(order)
    approvals.approve(db, user(db, "admin@acme.example"), order.number)
    assert spending_hold(order) == []


def test_a_buyer_cannot_approve_and_another_company_cannot_see(db):
    bea = user(db, "buyer@acme.example")
    order = shop_order(db, bea, [("TON-TN3430", 10)], key="s-2")
    for stranger in (bea, user(db, "gina@globex.example")):
        with pytest.raises(NotFound):
            approvals.approve(db, stranger, order.number)
    assert approvals.waiting(db, user(db, "gina@globex.example")) == []
    [row] = [r for r in approvals.waiting(db, user(db, "approver@acme.example"))
             if r.order is order]
    assert row.order is order and row.buyer.email == "buyer@acme.example" and not row.own


def test_approving_releases_the_hold_and_tells_the_buyer(db):
    order = shop_order(db, user(db, "buyer@acme.example"), [("TON-TN3430", 10)], key="ok-1")
    abe = user(db, "approver@acme.example")
    approvals.approve(db, abe, order.number, comment="Fine")
    assert spending_hold(order) == [] and not order.on_hold
    released = order.holds[0]
    assert released.released_by == abe.email and "Fine" in released.release_note
    assert any(isinstance(e, events.ApprovalDecided) and e.approved for e in events.pending(db))


def test_rejecting_needs_a_comment_and_cancels_the_order(db):
    order = shop_order(db, user(db, "buyer@acme.example"), [("TON-TN3430", 10)], key="r-1")
    abe = user(db, "approver@acme.example")
    with pytest.raises(approvals.ApprovalError) as err:
        approvals.reject(db, abe, order.number, comment=" ", gateway=FakeGateway())
    assert err.value.field == "comment"
    approvals.reject(db, abe, order.number, comment="Too many toners", gateway=FakeGateway())
    assert order.status == "cancelled" and "Too many toners" in order.cancel_reason
    assert all(l.quantity_reserved == 0 for l in order.lines)


def _price_up(db, sku, factor):
    variant = db.scalar(select(Variant).where(Variant.sku == sku))
    for entry in db.scalars(select(PriceListEntry).where(PriceListEntry.variant_id == variant.id)):
        entry.unit_price = (entry.unit_price * factor).quantize(Decimal("0.01"))
    db.flush()


def test_an_approval_after_the_price_days_reprices_at_todays_prices(db):
    order = shop_order(db, user(db, "buyer@acme.example"), [("TON-TN3430", 10)], key="p-1")
    order.placed_at = utcnow() - dt.timedelta(days=20)
    before = order.gross_total
    _price_up(db, "TON-TN3430", Decimal("1.10"))
    abe = user(db, "approver@acme.example")
    [row] = [r for r in approvals.waiting(db, abe) if r.order is order]
    assert row.stale
    change = approvals.price_change(db, row)
    assert change.before.amount == before and change.after.amount > before
    approvals.approve(db, abe, order.number, expected_total=change.after.amount)
    assert order.gross_total == change.after.amount and not order.on_hold
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.action == "order.repriced"))


def test_a_fresh_approval_keeps_the_submitted_prices(db):
    order = shop_order(db, user(db, "buyer@acme.example"), [("TON-TN3430", 10)], key="p-2")
    before = order.gross_total
    _price_up(db, "TON-TN3430", Decimal("1.10"))
    approvals.approve(db, user(db, "approver@acme.example"), order.number)
    assert order.gross_total == before


def test_a_stale_card_order_is_refused_with_a_message_to_order_again(db):
    order = shop_order(db, user(db, "buyer@acme.example"), [("TON-TN3430", 10)], key="p-3",
                       on_account=False)
    orders.mark_authorised(db, order, actor=actor_for(user(db, "buyer@acme.example")),
                           reference="pi_test")
    order.placed_at = utcnow() - dt.timedelta(days=20)
    with pytest.raises(approvals.ApprovalError, match="order again"):
        approvals.approve(db, user(db, "approver@acme.example"), order.number)
    assert spending_hold(order)


def test_a_stale_approval_repriced_over_the_credit_limit_gets_a_credit_hold(db):
    """Re-pricing at today's prices may take the customer over its credit limit: the
    approved order then waits for the credit team."""
    from core.credit.exposure import exposure
    order = shop_order(db, user(db, "buyer@acme.example"), [("TON-TN3430", 10)], key="cl-1")
    order.placed_at = utcnow() - dt.timedelta(days=20)
    acme = user(db, "buyer@acme.example").customer
    acme.credit_limit = exposure(db, acme).total + Decimal("1.00")  # just room for it now
    _price_up(db, "TON-TN3430", Decimal("1.10"))
    abe = user(db, "approver@acme.example")
    [row] = [r for r in approvals.waiting(db, abe) if r.order is order]
    change = approvals.price_change(db, row)
    assert change.after.amount - change.before.amount > Decimal("1.00")
    approvals.approve(db, abe, order.number, expected_total=change.after.amount,
                      overdue_days=30)
    assert spending_hold(order) == []
    [hold] = order.active_holds
    assert (hold.kind, hold.reason_code) == ("credit", "over_limit")
    assert order.money(change.after.amount).format() in hold.note


def test_an_order_decided_already_is_refused_as_such(db):
    order = shop_order(db, user(db, "buyer@acme.example"), [("TON-TN3430", 10)], key="dd-1")
    abe, ada = user(db, "approver@acme.example"), user(db, "admin@acme.example")
    approvals.approve(db, abe, order.number)
    with pytest.raises(approvals.AlreadyDecided, match=f"Order {order.number} was already"):
        approvals.approve(db, ada, order.number)
    with pytest.raises(approvals.AlreadyDecided):
        approvals.reject(db, ada, order.number, comment="No", gateway=FakeGateway())
    assert order.status == "confirmed" and not order.on_hold
    gina = user(db, "gina@globex.example")  # another company's order: not found at all
    with pytest.raises(NotFound):
        approvals.approve(db, gina, order.number)


def test_the_monthly_spending_check_locks_the_customer_before_reading_the_month(
        db, connection):
    """Two orders of a buyer with a monthly limit checked at once queue on the customer's
    row (as the credit check does), so each sees the other in the month's spend."""
    from sqlalchemy import event
    bea = user(db, "buyer@acme.example")
    bea.monthly_limit = Decimal("100000.00")
    order = shop_order(db, bea, [("PAP-A4-80", 1)], key="ml-lock", on_account=False)
    assert order.holds == []
    db.flush()
    seen = []
    listener = lambda conn, cursor, statement, *a: seen.append(statement)  # noqa: E731
    event.listen(connection, "before_cursor_execute", listener)
    try:
        approvals.spending_check(db, order, actor=actor_for(bea))
    finally:
        event.remove(connection, "before_cursor_execute", listener)
    [lock] = [i for i, s in enumerate(seen) if "FROM customers" in s]
    [month] = [i for i, s in enumerate(seen) if "sum(orders.gross_total)" in s]
    assert lock < month
    if connection.dialect.name == "postgresql":
        assert seen[lock].rstrip().endswith("FOR UPDATE")
