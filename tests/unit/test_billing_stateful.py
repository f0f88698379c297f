"""Random sequences of order, ship, invoice, capture, pay, overpay, credit note, write-off,
refund, gift card sold (for a cheque, or out of customer credit: asked for by the clerk who
recorded it, then confirmed or rejected by a colleague), redeemed and given back from a
credit note keep the books right (Hypothesis stateful test).

After every step:
- every journal entry balances exactly;
- receivables equal the open invoices, customer deposits the unallocated payments and open
  credit notes, gift-card liability the cards' balances (core.billing.reconcile);
- for card orders, captured minus refunded equals invoiced minus credited;
- no card payment is refunded more than was captured;
- gift card sales awaiting confirmation never hold more than their payment has left.
"""
from decimal import Decimal as D

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (Bundle, RuleBasedStateMachine, initialize, invariant, rule,
                                 run_state_machine_as_test)
from sqlalchemy import func, select

from core.audit import Actor
from core.billing import giftcard_requests, giftcards, invoicing, reconcile, receivables
from core.billing.models import GiftCardRequest, Invoice, Payment, Refund
from core.customers.models import Customer
from tests.billing_support import CLERK, place, sell_gift_card, ship

CONTROLLER = Actor("agent", None, "credit controller")  # confirms the clerk's gift card sales

SKUS = ["PAP-A4-80", "PEN-G2-BLU", "STN-76-YEL"]


def card_order_figures(db, order_id: int) -> tuple[D, D, D, D]:
    captured = db.scalar(select(func.coalesce(func.sum(Payment.amount), 0)).where(
        Payment.order_id == order_id, Payment.method == "card"))
    refunded = db.scalar(select(func.coalesce(func.sum(Refund.amount), 0))
                         .join(Payment, Payment.id == Refund.payment_id)
                         .where(Payment.order_id == order_id, Refund.method == "card",
                                Refund.status == "succeeded"))
    invoiced = db.scalar(select(func.coalesce(func.sum(Invoice.gross_total), 0)).where(
        Invoice.order_id == order_id, Invoice.kind == "invoice"))
    credited = db.scalar(select(func.coalesce(func.sum(Invoice.gross_total), 0)).where(
        Invoice.order_id == order_id, Invoice.kind == "credit_note"))
    return tuple(D(v) for v in (captured, refunded, invoiced, credited))


def test_random_sequences_keep_the_books_right(db):
    acme = db.scalar(select(Customer).where(Customer.name == "Acme Corp"))
    counter = iter(range(10 ** 9))

    def key(prefix: str) -> str:
        return f"{prefix}-{next(counter)}"

    class Books(RuleBasedStateMachine):
        orders = Bundle("orders")

        @initialize()
        def start(self):
            self.savepoint = db.begin_nested()
            self.card_orders: list[int] = []

        def teardown(self):
            self.savepoint.rollback()
            db.expire_all()

        # -- orders and shipments --------------------------------------------------------
        @rule(target=orders, sku=st.sampled_from(SKUS), quantity=st.integers(1, 5),
              card=st.booleans())
        def order(self, sku, quantity, card):
            if card:
                order = place(db, [(sku, quantity)], key=key("card"))
                self.card_orders.append(order.id)
            else:
                order = place(db, [(sku, quantity)], key=key("acct"), customer=acme,
                              channel_code="web-b2b", payment_method="on_account")
            return order

        @rule(order=orders, share=st.integers(1, 5))
        def ship_and_invoice(self, order, share):
            line = order.lines[0]
            left = line.quantity - line.quantity_shipped
            if not left:
                return
            shipment = ship(db, order, {line.sku: min(share, left)})
            invoice = invoicing.invoice_shipment(db, shipment, actor=CLERK)
            if order.payment_method == "card" and invoice.amount_open:
                receivables.record_card_capture(db, invoice, amount=invoice.amount_open,
                                                stripe_id=key("pi"), key=key("cap"),
                                                actor=CLERK)

        # -- money from on-account customers ------------------------------------------------
        @rule(extra=st.sampled_from([D("0"), D("0.01"), D("5.00"), D("-3.00")]),
              method=st.sampled_from(["bank_transfer", "cheque"]))
        def pay(self, extra, method):
            open_total = sum((i.amount_open for i in self._open(acme.id)), D(0))
            amount = open_total + extra
            if amount <= 0:
                return
            suggestion = receivables.suggest_allocation(db, acme.id, amount, "EUR")
            receivables.record_payment(db, customer_id=acme.id, method=method, amount=amount,
                                       currency="EUR", received_on=invoicing.utcnow().date(),
                                       reference=key("ref"), actor=CLERK,
                                       allocations=[(i.id, a) for i, a in suggestion if a])

        @rule(whole=st.booleans(), pick=st.integers(0, 50))
        def credit_note(self, whole, pick):
            invoices = list(db.scalars(select(Invoice).where(Invoice.kind == "invoice")
                                       .order_by(Invoice.id)))
            if not invoices:
                return
            invoice = invoices[pick % len(invoices)]
            left = invoicing.creditable(db, invoice)
            line_id = next((lid for lid, q in left.items() if q), None)
            if line_id is None:
                return
            note = invoicing.issue_credit_note(db, invoice, lines=None if whole else {line_id: 1},
                                               reason="returned", actor=CLERK)
            if invoice.order_id in self.card_orders and note.amount_open:
                self._refund_to_card(invoice.order_id, note)
            if receivables.gift_card_returnable(db, note) > 0:  # paid by a gift card
                giftcards.give_back(db, note, actor=CLERK, key=key("back"))

        def _refund_to_card(self, order_id, note):
            """A card order's credit goes back to its card, from the captures."""
            for payment in db.scalars(select(Payment).where(Payment.order_id == order_id,
                                                            Payment.method == "card")
                                      .order_by(Payment.id)):
                part = min(note.amount_open, receivables.refundable_to_card(db, payment))
                if part > 0:
                    k = key("refund")
                    receivables.begin_card_refund(db, payment=payment, amount=part, key=k,
                                                  actor=CLERK, credit_note=note)
                    receivables.record_card_refund(db, payment=payment, amount=part,
                                                   stripe_id=key("re"), key=k, actor=CLERK,
                                                   credit_note=note)

        @rule(pick=st.integers(0, 50))
        def write_off(self, pick):
            candidates = [i for i in self._open(acme.id) if i.amount_open <= D("5.00")]
            if candidates:
                invoice = candidates[pick % len(candidates)]
                receivables.write_off(db, invoice, invoice.amount_open, limit=D("5.00"),
                                      reason="small remainder", actor=CLERK)

        @rule()
        def refund_customer_credit(self):
            payment = db.scalar(select(Payment).where(Payment.customer_id == acme.id,
                                                      Payment.method != "card",
                                                      Payment.amount_unallocated > 0).limit(1))
            free = receivables.available(db, payment) if payment is not None else 0
            if free > 0:  # a gift card sale awaiting confirmation holds the rest
                receivables.refund_credit(db, amount=free,
                                          method="bank_transfer", reference=key("back"),
                                          actor=CLERK, key=key("rc"), payment=payment)

        @rule(amount=st.sampled_from([D("5.00"), D("20.00"), D("100.00")]))
        def gift_card_pays_an_invoice(self, amount):
            card, code = sell_gift_card(db, amount, reference=key("gc"))
            invoice = next(iter(self._open(acme.id)), None)
            if invoice is not None:
                giftcards.redeem(db, code, min(amount, invoice.amount_open), actor=CLERK,
                                 invoice=invoice)

        @rule(amount=st.sampled_from([D("0.01"), D("5.00"), D("1000.00")]))
        def gift_card_from_customer_credit(self, amount):
            """A card asked for out of an overpayment's unallocated part (customer deposits)
            by the clerk who recorded it: it waits, holding the money."""
            payment = next((p for p, _ in giftcards.free_for_sale(db, acme.id)), None)
            if payment is not None:
                free = receivables.available(db, payment)
                giftcard_requests.ask(db, amount=min(amount, free, giftcards.MAX_AMOUNT),
                                      payment=payment, actor=CLERK, key=key("ask"))

        @rule(confirm=st.booleans())
        def decide_gift_card_sale(self, confirm):
            """A colleague confirms the money came in (the card is issued), or rejects it."""
            request = db.scalar(select(GiftCardRequest).where(
                GiftCardRequest.status == "requested").order_by(GiftCardRequest.id).limit(1))
            if request is None:
                return
            if confirm:
                giftcard_requests.approve(db, request, actor=CONTROLLER, roles={"credit"})
            else:
                giftcard_requests.reject(db, request, actor=CONTROLLER, roles={"credit"},
                                         note="not on the statement")

        def _open(self, customer_id):
            return list(db.scalars(select(Invoice).where(
                Invoice.customer_id == customer_id, Invoice.kind == "invoice",
                Invoice.amount_open > 0).order_by(Invoice.due_date, Invoice.id)))

        # -- what must always hold ----------------------------------------------------------
        @invariant()
        def books_reconcile(self):
            if hasattr(self, "savepoint"):
                assert reconcile.problems(db) == []

        @invariant()
        def card_orders_square(self):
            for order_id in getattr(self, "card_orders", []):
                captured, refunded, invoiced, credited = card_order_figures(db, order_id)
                assert captured - refunded == invoiced - credited
                assert refunded <= captured
            assert not db.scalar(select(func.count()).select_from(Payment)
                                 .where(Payment.amount_refunded > Payment.amount))

        @invariant()
        def gift_card_sales_hold_only_money_there(self):
            held = (select(GiftCardRequest.payment_id, func.sum(GiftCardRequest.amount))
                    .where(GiftCardRequest.status == "requested")
                    .group_by(GiftCardRequest.payment_id))
            for payment_id, amount in db.execute(held):
                assert D(amount) <= db.get(Payment, payment_id).amount_unallocated

    run_state_machine_as_test(Books, settings=settings(
        max_examples=30, stateful_step_count=14, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))
