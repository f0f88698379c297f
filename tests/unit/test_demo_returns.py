"""The demo shows returns at work (core.demo.returns): Rosa Return's returns in every state
the console and the shop show, made through the services, with the books in order."""
from sqlalchemy import select

from core.customers.models import Customer
from core.orders.models import Order
from core.returns import services as returns
from core.returns import settlement
from tests.billing_support import assert_books_reconcile


def test_the_demo_has_a_return_in_each_state_a_newcomer_should_see(db):
    rosa = db.scalar(select(Customer).where(Customer.email == "rosa@example.com"))
    found = {rma.status: rma for rma, _ in returns.for_customer(db, rosa.id)}
    assert set(found) == {"requested", "label_sent", "refunded", "rejected", "exchanged"}
    waiting = found["requested"]
    assert waiting.value > 100 and returns.decision_refusal(waiting, {"agent"}) is None
    assert found["label_sent"].label_sent_at is not None
    assert [n.number for n in settlement.credit_notes(db, found["refunded"])]
    assert found["rejected"].decision_note
    replacement = db.get(Order, found["exchanged"].replacement_order_id)
    assert replacement.status == "shipped" and replacement.payment_method == "exchange"
    assert_books_reconcile(db)
