"""What holds for any return: received in parts or at once, its credit notes never credit
more than was invoiced, the goods come back in full when every unit does, the restocking
fee is the policy's share, and the refund is what was credited (Hypothesis). And two
returns that once went wrong: an order paid in full by gift card was offered a refund to a
card nobody charged, and an on-account return whose invoice was paid stayed "received"."""
import dataclasses
import datetime as dt
from decimal import Decimal as D

from hypothesis import HealthCheck, given
from hypothesis import settings as run_settings
from hypothesis import strategies as st
from sqlalchemy import select

from core import clock
from core.billing import invoicing, receivables
from core.customers.models import Customer
from core.db import utcnow
from core.fulfilment.models import Shipment
from core.inventory.models import StockLevel
from core.orders.models import Order
from core.returns import services as returns
from core.returns import settlement
from core.returns.services import Received, Request, RequestLine
from tests.billing_support import (CLERK, assert_books_reconcile, gift_card_paid_invoice, place,
                                   ship)
from tests.factories import CustomerFactory
from tests.fakes import FakeGateway
from tests.unit.test_returns import SHOPPER, WAREHOUSE, on_account_order

CENT = D("0.01")


def parts_of(total: int):
    """Receipts of 1..total units that add up to at most `total`."""
    return st.lists(st.integers(1, total), min_size=1, max_size=total).map(
        lambda parts: [p for i, p in enumerate(parts) if sum(parts[:i + 1]) <= total])


@given(data=st.data(), units=st.integers(2, 5),
       reason=st.sampled_from(["defective", "damaged", "changed_mind", "not_as_described"]),
       on_account=st.booleans(), sku=st.sampled_from(["PAP-A4-80", "PEN-G2-BLU", "TON-TN3430"]))
@run_settings(max_examples=25, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_in_parts_or_at_once_a_return_credits_at_most_what_was_invoiced(
        db, settings, data, units, reason, on_account, sku):
    savepoint = db.begin_nested()
    try:
        acme = db.scalar(select(Customer).where(Customer.name == "Acme Corp"))
        key = f"prop-{data.draw(st.uuids()).hex}"  # the stored keys hold 80 characters
        order = (place(db, [(sku, units)], key=key, customer=acme, channel_code="web-b2b",
                       payment_method="on_account") if on_account
                 else place(db, [(sku, units)], key=key))
        shipment = ship(db, order, {sku: units})
        shipment.shipped_at = utcnow() - dt.timedelta(days=1)
        invoice = invoicing.invoice_shipment(db, shipment, actor=CLERK)
        if not on_account:
            receivables.record_card_capture(db, invoice, amount=invoice.gross_total,
                                            stripe_id=f"pi_{key}", key=f"cap-{key}",
                                            actor=CLERK)
        line = order.lines[0]
        big = dataclasses.replace(settings, RETURN_AUTO_APPROVE_LIMIT=10 ** 6,  # no decision
                                  RETURN_APPROVAL_LIMIT=10 ** 6, RETURN_KEEP_LIMIT=0)
        rma = returns.request_return(db, order, Request([RequestLine(line.id, units, reason)]),
                                     actor=SHOPPER, channel="shop", key=f"r-{key}",
                                     settings=big)
        stock = db.scalar(select(StockLevel.on_hand).where(
            StockLevel.variant_id == line.variant_id))
        gateway = FakeGateway()
        parts = data.draw(parts_of(units), label="receipts")
        for i, part in enumerate(parts):
            returns.receive(db, rma, {rma.lines[0].id: Received(part)}, actor=WAREHOUSE,
                            key=f"rcv-{i}-{key}")
            assert settlement.settle(db, gateway, rma.id, actor=WAREHOUSE,
                                     commit=db.flush).problem == ""
        notes = settlement.credit_notes(db, rma)
        goods = sum((l.gross for n in notes for l in n.lines if l.kind == "goods"), D(0))
        fee = -sum((l.gross for n in notes for l in n.lines if l.kind == "fee"), D(0))
        credited = sum((n.gross_total for n in notes), D(0))
        invoiced_goods = sum((l.gross for l in invoice.lines if l.kind == "goods"), D(0))

        assert credited <= invoice.gross_total
        assert goods <= invoiced_goods
        came = sum(parts)
        if came == units:  # everything back: the goods are credited in full
            assert goods == invoiced_goods
            assert rma.status == "refunded"
        assert 0 <= fee <= goods * D(settings.RETURN_RESTOCKING_FEE_PERCENT) / 100 \
            + CENT * len(parts)
        if reason != "changed_mind":
            assert fee == 0
        if not on_account:  # the card gets back exactly what was credited
            assert sum((r[1] for r in gateway.refunds), D(0)) == credited
        db.expire_all()
        assert db.scalar(select(StockLevel.on_hand).where(
            StockLevel.variant_id == line.variant_id)) == stock + came
        assert_books_reconcile(db)
    finally:
        savepoint.rollback()
        db.expire_all()


def test_an_order_paid_in_full_by_gift_card_goes_back_to_the_gift_card_not_a_card(db, settings):
    card, invoice = gift_card_paid_invoice(db, "prop-gift")
    order = db.get(Order, invoice.order_id)
    for shipment in db.scalars(select(Shipment).where(Shipment.order_id == order.id)):
        shipment.shipped_at = utcnow()
    db.flush()
    assert "card" not in returns.refund_methods(db, order)
    rma = returns.request_return(db, order, Request([RequestLine(order.lines[0].id, 1,
                                                                 "defective")]),
                                 actor=SHOPPER, channel="shop", key="prop-gift-r",
                                 settings=settings)
    assert rma.refund_method == "gift_card"
    balance = card.balance
    returns.receive(db, rma, {rma.lines[0].id: Received(1)}, actor=WAREHOUSE, key="prop-g1")
    done = settlement.settle(db, FakeGateway(), rma.id, actor=WAREHOUSE, commit=db.flush)
    db.refresh(card)
    assert done.rma.status == "refunded" and card.balance == balance + done.refunded > balance
    assert_books_reconcile(db)


def test_on_account_a_return_of_a_paid_invoice_ends_as_the_customers_credit(db, settings):
    buyer = CustomerFactory(on_account_allowed=True)
    order, invoice = on_account_order(db, "prop-paid", buyer)
    receivables.record_payment(db, customer_id=buyer.id, method="bank_transfer",
                               amount=invoice.gross_total, currency="EUR",
                               received_on=clock.today(), reference="SEPA", actor=CLERK,
                               allocations=[(invoice.id, invoice.gross_total)])
    rma = returns.request_return(db, order, Request([RequestLine(order.lines[0].id, 1,
                                                                 "wrong_item")]),
                                 actor=SHOPPER, channel="shop", key="prop-paid-r",
                                 settings=settings)
    returns.receive(db, rma, {rma.lines[0].id: Received(1)}, actor=WAREHOUSE, key="prop-p1")
    done = settlement.settle(db, FakeGateway(), rma.id, actor=WAREHOUSE, commit=db.flush)
    assert done.rma.status == "refunded"  # nothing open to set it against: credit it stays
    [note] = settlement.credit_notes(db, rma)
    assert receivables.available(db, note) == note.gross_total > 0
    assert_books_reconcile(db)
