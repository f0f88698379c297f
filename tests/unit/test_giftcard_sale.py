"""A gift card is sold only for money recorded in billing: a customer's bank transfer or
cheque, whose unused part pays for it; and not on one person's word: a sale out of a
payment the seller recorded themselves waits for a colleague to confirm the money came in
(security review M5)."""
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from core import clock
from core.billing import giftcards, ledger, receivables
from core.billing.giftcards import GiftCardError
from core.billing.models import GiftCardMovement, JournalLine
from tests.billing_support import CASHIER, CLERK, assert_books_reconcile, place
from tests.factories import CustomerFactory


def received(db, customer, amount="100.00", method="cheque", actor=CASHIER, **kw):
    """Money a colleague of the seller (CLERK) recorded."""
    return receivables.record_payment(db, customer_id=customer.id, method=method,
                                      amount=D(amount), currency="EUR",
                                      received_on=clock.today(), reference="CHQ 1",
                                      actor=actor, **kw)


def test_a_sale_moves_customer_credit_into_the_gift_card_liability(db):
    customer = CustomerFactory()
    payment = received(db, customer)
    card, code = giftcards.sell(db, amount=D("30.00"), payment=payment, actor=CLERK)
    assert payment.amount_unallocated == D("70.00") and card.customer_id == customer.id
    issue = db.scalar(select(GiftCardMovement).where(GiftCardMovement.gift_card_id == card.id))
    lines = {(l.account_code, l.debit, l.credit, l.customer_id) for l in db.scalars(
        select(JournalLine).where(JournalLine.entry_id == issue.entry_id))}
    assert lines == {(ledger.CUSTOMER_DEPOSITS, D("30.00"), D(0), customer.id),
                     (ledger.GIFT_CARD_LIABILITY, D(0), D("30.00"), None)}
    assert issue.payment_id == payment.id and giftcards.lookup(db, code).id == card.id
    assert giftcards.sale_payments(db, customer.id) == [payment]
    assert_books_reconcile(db)


def test_a_sale_takes_no_more_than_the_payment_has_left(db):
    payment = received(db, CustomerFactory(), "20.00")
    giftcards.sell(db, amount=D("15.00"), payment=payment, actor=CLERK)
    with pytest.raises(GiftCardError, match="Only 5.00 EUR of that payment") as err:
        giftcards.sell(db, amount=D("5.01"), payment=payment, actor=CLERK)
    assert err.value.field == "amount"
    giftcards.sell(db, amount=D("5.00"), payment=payment, actor=CLERK)
    assert payment.amount_unallocated == 0
    assert giftcards.sale_payments(db, payment.customer_id) == []


def test_card_payments_and_money_held_for_an_order_cannot_buy_a_gift_card(db):
    customer = CustomerFactory()
    by_card = received(db, customer, method="card")
    with pytest.raises(GiftCardError, match="bank transfer or cheque recorded"):
        giftcards.sell(db, amount=D("10.00"), payment=by_card, actor=CLERK)
    order = place(db, [("PAP-A4-80", 1)], key="gift-prepaid")
    held = received(db, customer, order_id=order.id)
    with pytest.raises(GiftCardError, match="held for an order"):
        giftcards.sell(db, amount=D("10.00"), payment=held, actor=CLERK)
    assert giftcards.sale_payments(db, customer.id) == []
