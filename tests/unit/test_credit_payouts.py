"""Paying customer credit out (review M6): a card refund waiting for Stripe keeps the
credit it will take, from a bank-transfer refund and from allocation alike; money goes
back the way it came (a card payment to the card, a gift card to the gift card)."""
from decimal import Decimal as D

import pytest

from sqlalchemy import select

from core import clock
from core.billing import giftcards, invoicing, ledger, prepayments, receivables
from core.billing.giftcards import GiftCardError
from core.billing.errors import BillingError
from core.billing.invoicing import FreeTextLine
from core.billing.models import GiftCardMovement, JournalLine, Refund
from tests.billing_support import (CLERK, assert_books_reconcile, gift_card_paid_invoice, place,
                                   sell_gift_card, ship)
from tests.factories import CustomerFactory

TODAY = clock.today()


@pytest.fixture
def cleo(db):
    return CustomerFactory(name="Cleo Credit", kind="company", payment_terms="net30",
                           on_account_allowed=True)


def card_payment(db, customer, amount: str, intent_id: str = "pi_credit"):
    """A card payment nothing was allocated to: customer credit that came from a card."""
    return receivables.record_payment(db, customer_id=customer.id, method="card",
                                      amount=D(amount), currency="EUR", received_on=TODAY,
                                      reference=intent_id, actor=CLERK, stripe_id=intent_id,
                                      key=f"cap-{intent_id}")


def free_text(db, customer, amount: str):
    return invoicing.issue_free_text(db, customer=customer, actor=CLERK,
                                     lines=[FreeTextLine("Service", 1, D(amount), D(0))])


def test_a_card_refund_in_flight_keeps_its_credit_from_a_bank_transfer_refund(db, cleo):
    payment = card_payment(db, cleo, "100.00")
    receivables.begin_card_refund(db, payment=payment, amount=D("100.00"), key="re-1",
                                  actor=CLERK)
    with pytest.raises(BillingError):
        receivables.refund_credit(db, amount=D("100.00"), method="bank_transfer",
                                  reference="SEPA back", actor=CLERK, key="bt-1", payment=payment)
    assert payment.amount_unallocated == D("100.00")


def test_credit_spoken_for_by_a_pending_card_refund_cannot_be_allocated(db, cleo):
    invoice = free_text(db, cleo, "80.00")
    payment = card_payment(db, cleo, "100.00")
    assert payment.amount_unallocated == D("100.00")
    receivables.begin_card_refund(db, payment=payment, amount=D("60.00"), key="re-2",
                                  actor=CLERK)
    with pytest.raises(BillingError, match="Only 40.00"):
        receivables.allocate(db, invoice, D("50.00"), actor=CLERK, payment=payment)
    receivables.allocate(db, invoice, D("40.00"), actor=CLERK, payment=payment)
    # Stripe answers: the refund completes from the credit that was kept for it.
    refund = receivables.record_card_refund(db, payment=payment, amount=D("60.00"),
                                            stripe_id="re_stripe_2", key="re-2", actor=CLERK)
    assert refund.status == "succeeded" and payment.amount_unallocated == 0
    assert invoice.amount_open == D("40.00")
    assert_books_reconcile(db)


def test_a_new_invoice_uses_only_credit_no_pending_card_refund_has_spoken_for(db, cleo):
    payment = card_payment(db, cleo, "100.00")
    receivables.begin_card_refund(db, payment=payment, amount=D("60.00"), key="re-3",
                                  actor=CLERK)
    invoice = free_text(db, cleo, "80.00")  # settles what it can from credit at once
    assert invoice.amount_open == D("40.00")
    receivables.record_card_refund(db, payment=payment, amount=D("60.00"),
                                   stripe_id="re_stripe_3", key="re-3", actor=CLERK)
    assert payment.amount_unallocated == 0
    assert_books_reconcile(db)


def test_credit_from_a_card_is_never_refunded_by_bank_transfer(db, cleo):
    payment = card_payment(db, cleo, "30.00", "pi_no_cashout")
    with pytest.raises(BillingError, match="only be refunded to that card") as refused:
        receivables.refund_credit(db, amount=D("30.00"), method="bank_transfer",
                                  reference="SEPA", actor=CLERK, key="bt-card", payment=payment)
    assert refused.value.field == "amount"
    assert payment.amount_unallocated == D("30.00")


def test_a_gift_card_prepayment_is_never_refunded_by_bank_transfer(db):
    card, code = sell_gift_card(db, D("20.00"), reference="SEPA gift", actor=CLERK)
    order = place(db, [("PAP-A4-80", 5)], key="gift-cashout")
    order.status, order.payment_state = "pending_payment", "unpaid"
    payment = prepayments.pay_with_gift_card(db, order, code, actor=CLERK)
    with pytest.raises(BillingError, match="gift card"):
        receivables.refund_credit(db, amount=D("20.00"), method="bank_transfer",
                                  reference="SEPA", actor=CLERK, key="bt-gift", payment=payment)
    assert payment.amount_unallocated == D("20.00")


def test_a_credit_note_on_a_card_paid_invoice_goes_back_to_the_card_not_to_a_bank(db):
    order = place(db, [("PAP-A4-80", 2)], key="note-card")
    invoice = invoicing.invoice_shipment(db, ship(db, order, {"PAP-A4-80": 2}), actor=CLERK)
    receivables.record_card_capture(db, invoice, amount=invoice.gross_total,
                                    stripe_id="pi_note_card", key="cap-note-card", actor=CLERK)
    note = invoicing.issue_credit_note(db, invoice, lines=None, reason="returned", actor=CLERK)
    assert note.amount_open == invoice.gross_total
    with pytest.raises(BillingError, match="refund it to the card"):
        receivables.refund_credit(db, amount=note.amount_open, method="bank_transfer",
                                  reference="SEPA", actor=CLERK, key="bt-note", credit_note=note)
    assert note.amount_open == invoice.gross_total


def test_a_credit_note_on_an_invoice_paid_by_gift_card_is_not_paid_out_by_bank_transfer(db):
    card, invoice = gift_card_paid_invoice(db, "gift-cashout-1")
    note = invoicing.issue_credit_note(db, invoice, lines=None, reason="returned", actor=CLERK)
    assert note.amount_open == invoice.gross_total
    with pytest.raises(BillingError, match="paid with a gift card; give it back") as refused:
        receivables.refund_credit(db, amount=note.amount_open, method="bank_transfer",
                                  reference="SEPA out", actor=CLERK, key="bt-gc", credit_note=note)
    assert refused.value.field == "amount"
    with pytest.raises(BillingError, match="gift card"):
        receivables.refund_credit(db, amount=D("0.01"), method="bank_transfer",
                                  reference="SEPA out", actor=CLERK, key="bt-gc-2",
                                  credit_note=note)
    assert note.amount_open == invoice.gross_total


def test_a_credit_note_on_an_invoice_paid_by_gift_card_goes_back_onto_the_card(db):
    card, invoice = gift_card_paid_invoice(db, "gift-back-1")
    spent = invoice.gross_total
    assert card.balance == D("500.00") - spent
    note = invoicing.issue_credit_note(db, invoice, lines=None, reason="returned", actor=CLERK)
    assert receivables.gift_card_returnable(db, note) == spent
    refunds = giftcards.give_back(db, note, actor=CLERK, key="back-1")
    db.refresh(card)
    assert card.balance == D("500.00") and note.amount_open == 0 and note.status == "paid"
    assert [(r.method, r.amount, r.credit_note_id, r.status) for r in refunds] == [
        ("gift_card", spent, note.id, "succeeded")]
    movement = db.scalar(select(GiftCardMovement).where(GiftCardMovement.gift_card_id == card.id,
                                                        GiftCardMovement.kind == "refund"))
    lines = {(l.account_code, l.debit, l.credit) for l in db.scalars(
        select(JournalLine).where(JournalLine.entry_id == movement.entry_id))}
    assert lines == {(ledger.CUSTOMER_DEPOSITS, spent, D(0)),
                     (ledger.GIFT_CARD_LIABILITY, D(0), spent)}
    assert giftcards.give_back(db, note, actor=CLERK, key="back-1") == refunds  # repeated
    with pytest.raises(GiftCardError, match="Nothing of"):
        giftcards.give_back(db, note, actor=CLERK, key="back-2")
    assert_books_reconcile(db)


def test_the_gift_card_gets_back_no_more_than_it_paid_of_the_invoice(db):
    card, invoice = gift_card_paid_invoice(db, "gift-back-2")
    spent = invoice.gross_total
    first = invoicing.issue_credit_note(db, invoice, lines={invoice.lines[0].id: 1},
                                        reason="one returned", actor=CLERK)
    with pytest.raises(GiftCardError, match="At most") as err:
        giftcards.give_back(db, first, first.amount_open + D("0.01"), actor=CLERK, key="b-1")
    assert err.value.field == "amount"
    giftcards.give_back(db, first, actor=CLERK, key="b-2")
    second = invoicing.issue_credit_note(db, invoice, lines=None, reason="the rest",
                                        actor=CLERK)
    assert receivables.gift_card_returnable(db, second) == spent - first.gross_total
    giftcards.give_back(db, second, actor=CLERK, key="b-3")
    db.refresh(card)
    assert card.balance == D("500.00")  # all it paid, and not a cent more
    total = sum(r.amount for r in db.scalars(select(Refund).where(Refund.method == "gift_card",
                                                                  Refund.credit_note_id.in_(
                                                                      [first.id, second.id]))))
    assert total == spent
    assert_books_reconcile(db)


def test_only_the_part_paid_by_transfer_of_a_mixed_invoice_goes_out_by_transfer(db, cleo):
    invoice = free_text(db, cleo, "100.00")
    card, code = sell_gift_card(db, D("30.00"), reference="SEPA gift", actor=CLERK)
    giftcards.redeem(db, code, D("30.00"), actor=CLERK, invoice=invoice)
    receivables.record_payment(db, customer_id=cleo.id, method="bank_transfer",
                               amount=D("70.00"), currency="EUR", received_on=TODAY,
                               reference="SEPA CLEO", actor=CLERK,
                               allocations=[(invoice.id, D("70.00"))])
    note = invoicing.issue_credit_note(db, invoice, lines=None, reason="cancelled", actor=CLERK)
    with pytest.raises(BillingError, match="At most 70.00 EUR of .* by bank transfer; 30.00 EUR "
                                           "goes back to the gift card"):
        receivables.refund_credit(db, amount=D("100.00"), method="bank_transfer",
                                  reference="SEPA", actor=CLERK, key="bt-mixed", credit_note=note)
    receivables.refund_credit(db, amount=D("70.00"), method="bank_transfer", reference="SEPA",
                              actor=CLERK, key="bt-mixed-2", credit_note=note)
    giftcards.give_back(db, note, actor=CLERK, key="gb-mixed")
    db.refresh(card)
    assert note.amount_open == 0 and card.balance == D("30.00")
    assert_books_reconcile(db)
