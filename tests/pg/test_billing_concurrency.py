"""Two clerks at once on the same money: each works on objects it loaded before taking the
lock, as a view does. The row locks (read afresh) let only one of them spend it."""
from __future__ import annotations

import threading
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from core import clock
from core.audit import Actor, AuditEvent
from core.billing import giftcard_requests, giftcards, invoicing, receivables, reconcile
from core.billing.errors import BillingError
from core.billing.invoicing import FreeTextLine
from core.billing.models import (Allocation, GiftCard, GiftCardMovement, GiftCardRequest,
                                 Invoice, InvoiceLine, InvoiceTax, JournalEntry, JournalLine,
                                 Payment)
from core.customers.models import Customer
from tests.helpers import forget_sales_facts
from tests.billing_support import sell_gift_card

CLERK = Actor("agent", None, "race clerk")
CASHIER = Actor("agent", None, "race cashier")  # records the money a card is sold for
CONTROLLERS = [Actor("agent", None, "race controller 1"),
               Actor("agent", None, "race controller 2")]


@pytest.fixture
def company(engine):
    with Session(engine) as s:
        customer = Customer(number=f"C-R{uuid.uuid4().hex[:8]}", name="Race Two Ltd",
                            kind="company", email="race2@example.com", payment_terms="net30",
                            on_account_allowed=True)
        s.add(customer)
        s.commit()
        customer_id = customer.id
    yield customer_id
    with Session(engine) as s:  # committed for real: take it all away again
        invoices = list(s.scalars(select(Invoice.id).where(Invoice.customer_id == customer_id)))
        payments = list(s.scalars(select(Payment.id).where(Payment.customer_id == customer_id)))
        cards = list(s.scalars(select(Payment.gift_card_id).where(
            Payment.id.in_(payments), Payment.gift_card_id.is_not(None))))
        cards += list(s.scalars(select(GiftCardMovement.gift_card_id).where(
            GiftCardMovement.payment_id.in_(payments))))
        entries = set(s.scalars(select(Invoice.entry_id).where(Invoice.id.in_(invoices))))
        entries |= set(s.scalars(select(Payment.entry_id).where(Payment.id.in_(payments))))
        entries |= set(s.scalars(select(Allocation.entry_id).where(
            Allocation.invoice_id.in_(invoices))))
        entries |= set(s.scalars(select(GiftCardMovement.entry_id).where(
            GiftCardMovement.gift_card_id.in_(cards))))
        s.execute(delete(Allocation).where(Allocation.invoice_id.in_(invoices)))
        forget_sales_facts(s, invoices)
        s.execute(delete(InvoiceTax).where(InvoiceTax.invoice_id.in_(invoices)))
        s.execute(delete(InvoiceLine).where(InvoiceLine.invoice_id.in_(invoices)))
        # movements and sales first: a card's issue names the payment it was sold for
        s.execute(delete(GiftCardMovement).where(GiftCardMovement.gift_card_id.in_(cards)))
        s.execute(delete(GiftCardRequest).where(GiftCardRequest.payment_id.in_(payments)))
        s.execute(delete(Payment).where(Payment.id.in_(payments)))
        s.execute(delete(GiftCard).where(GiftCard.id.in_(cards)))
        s.execute(delete(Invoice).where(Invoice.id.in_(invoices)))
        entries.discard(None)
        s.execute(delete(JournalLine).where(JournalLine.entry_id.in_(entries)))
        s.execute(delete(JournalEntry).where(JournalEntry.id.in_(entries)))
        s.execute(delete(AuditEvent).where(or_(*(
            AuditEvent.actor_label == a.label for a in (CLERK, CASHIER, *CONTROLLERS)))))
        s.execute(delete(Customer).where(Customer.id == customer_id))
        s.commit()


def both_at_once(engine, work) -> list[str]:
    """Run work(session, i) for i in 0, 1 in two threads that start together."""
    barrier, results = threading.Barrier(2), [None, None]

    def run(i):
        with Session(engine) as session:
            prepared = work(session, i, None)
            barrier.wait()
            try:
                work(session, i, prepared)
                session.commit()
                results[i] = "ok"
            except BillingError:
                session.rollback()
                results[i] = "refused"

    threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return sorted(results)


def test_two_clerks_cannot_apply_the_same_credit_twice(engine, company):
    with Session(engine) as s:
        customer = s.get(Customer, company)
        ids = [invoicing.issue_free_text(s, customer=customer, actor=CLERK, lines=[
            FreeTextLine("Service", 1, Decimal("15.00"), Decimal("0"))]).id for _ in range(2)]
        payment = receivables.record_payment(
            s, customer_id=company, method="bank_transfer", amount=Decimal("20.00"),
            currency="EUR", received_on=clock.today(), reference="SEPA race", actor=CLERK)
        s.commit()
        payment_id = payment.id

    def work(session, i, prepared):
        if prepared is None:  # what the page loaded before the clerk pressed the button
            return session.get(Invoice, ids[i]), session.get(Payment, payment_id)
        invoice, payment = prepared
        receivables.allocate(session, invoice, Decimal("15.00"), actor=CLERK, payment=payment)

    assert both_at_once(engine, work) == ["ok", "refused"]
    with Session(engine) as s:
        assert s.get(Payment, payment_id).amount_unallocated == Decimal("5.00")
        assert reconcile.problems(s) == []


def test_a_gift_card_redeemed_twice_at_once_with_one_key_is_spent_once(engine, company):
    with Session(engine) as s:
        customer = s.get(Customer, company)
        invoice = invoicing.issue_free_text(s, customer=customer, actor=CLERK, lines=[
            FreeTextLine("Service", 1, Decimal("50.00"), Decimal("0"))])
        card, code = sell_gift_card(s, Decimal("100.00"), reference="CHQ race",
                                    customer_id=company, actor=CLERK, recorded_by=CASHIER)
        s.commit()
        invoice_id, card_id = invoice.id, card.id

    def work(session, i, prepared):
        if prepared is None:
            return session.get(Invoice, invoice_id)
        giftcards.redeem(session, code, Decimal("5.00"), actor=CLERK, invoice=prepared,
                         key="race-gift-key-" + str(card_id))

    assert both_at_once(engine, work) == ["ok", "ok"]  # the second finds the first's payment
    with Session(engine) as s:
        assert s.get(GiftCard, card_id).balance == Decimal("95.00")
        assert s.get(Invoice, invoice_id).amount_open == Decimal("45.00")
        assert reconcile.problems(s) == []


def _cheque(engine, company, amount: str) -> int:
    """A cheque the clerk recorded: a card the clerk sells out of it waits for confirmation."""
    with Session(engine) as s:
        payment = receivables.record_payment(
            s, customer_id=company, method="cheque", amount=Decimal(amount), currency="EUR",
            received_on=clock.today(), reference="CHQ race sale", actor=CLERK)
        s.commit()
        return payment.id


def test_two_sales_asked_at_once_hold_no_more_than_the_cheque_has(engine, company):
    payment_id = _cheque(engine, company, "100.00")

    def work(session, i, prepared):
        if prepared is None:
            return session.get(Payment, payment_id)
        giftcard_requests.ask(session, amount=Decimal("60.00"), payment=prepared, actor=CLERK,
                              key=f"race-ask-{payment_id}-{i}")

    assert both_at_once(engine, work) == ["ok", "refused"]
    with Session(engine) as s:
        held = receivables.held_for_gift_cards(s, s.get(Payment, payment_id))
        assert held == Decimal("60.00")


def test_two_colleagues_confirming_one_sale_at_once_issue_one_card(engine, company):
    payment_id = _cheque(engine, company, "100.00")
    with Session(engine) as s:
        request = giftcard_requests.ask(s, amount=Decimal("100.00"),
                                        payment=s.get(Payment, payment_id), actor=CLERK,
                                        key=f"race-confirm-{payment_id}")
        s.commit()
        request_id = request.id

    def work(session, i, prepared):
        if prepared is None:  # the sale's page, loaded before the button was pressed
            return session.get(GiftCardRequest, request_id)
        giftcard_requests.approve(session, prepared, actor=CONTROLLERS[i], roles={"credit"})

    assert both_at_once(engine, work) == ["ok", "refused"]
    with Session(engine) as s:
        assert s.scalar(select(GiftCardRequest.status).where(
            GiftCardRequest.id == request_id)) == "approved"
        issued = s.scalars(select(GiftCardMovement).where(
            GiftCardMovement.payment_id == payment_id)).all()
        assert len(issued) == 1
        assert s.get(Payment, payment_id).amount_unallocated == 0
        assert reconcile.problems(s) == []
