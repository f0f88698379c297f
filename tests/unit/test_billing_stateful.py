"""Random sequences of order (by card, as a guest or a customer; on account; paid with a
gift card), ship (through the warehouse: stock leaves), invoice, capture, pay, overpay,
credit note, write-off, refund, gift card sold (for a cheque, or out of customer credit:
asked for by the clerk who recorded it, then confirmed or rejected by a colleague), redeemed
and given back from a credit note, and returns (some shipped units asked back for money or
an exchange, approved or rejected, received in parts and restocked or scrapped, the same
receipt submitted twice, settled to the card through the fake gateway, to the gift card,
against open invoices or as store credit; replacement orders shipped) keep the books and
the stock right (Hypothesis stateful test).

After every step:
- every journal entry balances exactly;
- receivables equal the open invoices, customer deposits the unallocated payments and open
  credit notes, gift-card liability the cards' balances (core.billing.reconcile);
- for card and gift-card orders (with their replacement orders; a customer's orders
  together, as store credit moves between them), invoiced minus credited equals captured
  minus refunded, counting what is still open on either side: an invoice not yet paid (a
  replacement waiting for the return's credit), credit still held (store credit, credit
  kept for a replacement) and prepaid money not yet invoiced;
- no payment is refunded more than was captured, nor an order's family more than it paid;
- stock never goes negative (on hand >= reserved >= 0) and moves only with the goods:
  shipped units leave, restocked returns come back once, scrapped ones never;
- a return never credits more than came back (or was kept); once all its goods are in (or
  kept) it is refunded or exchanged; refunded to a card or a gift card, it has paid out
  everything it credited (store credit, an on-account customer's credit no open invoice
  took, and an exchange's credit stay on purpose); it goes back to a card only when one
  was charged;
- gift card sales awaiting confirmation never hold more than their payment has left.
"""
import dataclasses
from decimal import Decimal as D

from hypothesis import HealthCheck
from hypothesis import settings as run_settings
from hypothesis import strategies as st
from hypothesis.stateful import (Bundle, RuleBasedStateMachine, initialize, invariant,
                                 multiple, precondition, rule, run_state_machine_as_test)
from sqlalchemy import func, or_, select

from core import clock
from core.audit import Actor
from core.billing import giftcard_requests, giftcards, invoicing, prepayments, reconcile
from core.billing import receivables
from core.billing.models import GiftCardRequest, Invoice, Payment, Refund
from core.catalog.models import Variant
from core.customers.models import Customer
from core.fulfilment import services as fulfilment
from core.inventory.models import StockLevel
from core.orders import services as order_services
from core.orders.models import Order
from core.returns import services as returns
from core.returns import settlement
from core.returns.models import ReturnAuthorisation
from core.returns.services import Received, Request, RequestLine, ReturnError
from core.returns.states import AWAITING_GOODS
from tests.billing_support import CLERK, place, sell_gift_card
from tests.factories import CustomerFactory
from tests.fakes import FakeGateway

CONTROLLER = Actor("agent", None, "credit controller")  # confirms the clerk's gift card sales
WAREHOUSE = Actor("agent", None, "warehouse")
DECIDER = Actor("agent", None, "returns agent")
SHOPPER = Actor("customer", None, "shopper")

SKUS = ["PAP-A4-80", "PEN-G2-BLU", "STN-76-YEL"]
# What an exchange may send instead: another variant of the same product at the same price.
SIBLINGS = {"PEN-G2-BLU": "PEN-G2-BLK", "PEN-G2-BLK": "PEN-G2-BLU"}  # and back again
REASONS = ["defective", "damaged", "wrong_item", "not_as_described", "changed_mind", "other"]
REFUND_METHODS = ["", "card", "gift_card", "store_credit", "invoices"]


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


def order_figures(db, order_ids) -> dict[int, dict[str, D]]:
    """Per order, money in and out: what card and gift-card payments took, gave back and
    hold unallocated, and what its invoices and credit notes say and have open. Three
    queries."""
    figures = {i: dict.fromkeys(("captured", "unallocated", "refunded", "invoiced",
                                 "open_invoices", "credited", "open_credit"), D(0))
               for i in order_ids}
    paid = (Payment.order_id.in_(order_ids), Payment.method.in_(("card", "gift_card")))
    for order_id, captured, unallocated in db.execute(
            select(Payment.order_id, func.sum(Payment.amount),
                   func.sum(Payment.amount_unallocated)).where(*paid).group_by(Payment.order_id)):
        figures[order_id].update(captured=D(captured), unallocated=D(unallocated))
    for order_id, refunded in db.execute(
            select(Payment.order_id, func.sum(Refund.amount))
            .join(Payment, Payment.id == Refund.payment_id)
            .where(*paid, Refund.status == "succeeded").group_by(Payment.order_id)):
        figures[order_id]["refunded"] = D(refunded)
    for order_id, kind, total, open_amount in db.execute(
            select(Invoice.order_id, Invoice.kind, func.sum(Invoice.gross_total),
                   func.sum(Invoice.amount_open))
            .where(Invoice.order_id.in_(order_ids)).group_by(Invoice.order_id, Invoice.kind)):
        names = ("invoiced", "open_invoices") if kind == "invoice" else ("credited", "open_credit")
        figures[order_id].update(zip(names, (D(total), D(open_amount))))
    return figures


def test_random_sequences_keep_the_books_right(db, settings):
    acme = db.scalar(select(Customer).where(Customer.name == "Acme Corp"))
    counter = iter(range(10 ** 9))
    # Small limits, so that requests approve themselves, wait for an agent or a supervisor,
    # and cheap goods are kept, all with these few products.
    policy = dataclasses.replace(settings, RETURN_KEEP_LIMIT=6, RETURN_AUTO_APPROVE_LIMIT=30,
                                 RETURN_APPROVAL_LIMIT=60)
    variants = dict(db.execute(select(Variant.sku, Variant.id).where(
        Variant.sku.in_(SKUS + list(SIBLINGS)))).all())

    def key(prefix: str) -> str:
        return f"{prefix}-{next(counter)}"

    class Books(RuleBasedStateMachine):
        orders = Bundle("orders")

        @initialize(target=orders)
        def start(self):
            self.savepoint = db.begin_nested()
            self.card_orders: list[int] = []
            self.gift_orders: list[int] = []
            self.person = CustomerFactory(name="Rhea Return")  # card, gift card, store credit
            self.shipped: list[Order] = []  # orders with units out of the door
            self.returns: list[int] = []
            self.replacements: dict[int, int] = {}  # replacement order id -> original's
            self.to_ship: list[Order] = []  # replacements waiting for the warehouse
            self.gateway = FakeGateway()
            db.flush()
            # What stock should be: as it was, less what shipped, plus what came back.
            self.on_hand = dict(db.execute(select(StockLevel.variant_id, StockLevel.on_hand)
                                           .where(StockLevel.variant_id.in_(variants.values())))
                                .all())
            # Something shipped from the start, each way of paying, for returns to work on.
            shipped = [self.order(sku, 4, paid, guest) for sku, paid, guest in (
                ("PAP-A4-80", "card", True), ("PEN-G2-BLU", "card", False),
                ("STN-76-YEL", "gift_card", False), ("PAP-A4-80", "account", False))]
            for order in shipped:
                self._ship(order, {order.lines[0].id: 4})
            return multiple(*shipped)

        def teardown(self):
            self.savepoint.rollback()
            db.expire_all()

        # -- orders and shipments --------------------------------------------------------
        @rule(target=orders, sku=st.sampled_from(SKUS), quantity=st.integers(1, 5),
              paid=st.sampled_from(["card", "account", "gift_card"]), guest=st.booleans())
        def order(self, sku, quantity, paid, guest):
            if paid == "card":
                order = place(db, [(sku, quantity)], key=key("card"),
                              customer=None if guest else self.person)
                self.card_orders.append(order.id)
            elif paid == "account":
                order = place(db, [(sku, quantity)], key=key("acct"), customer=acme,
                              channel_code="web-b2b", payment_method="on_account")
            else:  # paid in advance with a gift card, in full
                _, code = sell_gift_card(db, giftcards.MAX_AMOUNT, reference=key("gc"))
                order = place(db, [(sku, quantity)], key=key("gift"), customer=self.person)
                order.status, order.payment_state = "pending_payment", "unpaid"
                prepayments.pay_with_gift_card(db, order, code, actor=CLERK)
                assert order_services.mark_prepaid(db, order, actor=CLERK, reference="gift")
                self.gift_orders.append(order.id)
            return order

        @rule(order=orders, share=st.integers(1, 5))
        def ship_and_invoice(self, order, share):
            line = order.lines[0]
            left = line.quantity - line.quantity_shipped
            if left:
                self._ship(order, {line.id: min(share, left)})

        def _ship(self, order, quantities):
            """Through the warehouse (stock leaves), invoiced; a card's invoice captured,
            a replacement's paid by its return (as core.workflows.shipping does)."""
            if order.status == "confirmed":
                fulfilment.release_order(db, order, actor=WAREHOUSE)
            shipped = fulfilment.ship_and_invoice(db, order, quantities, carrier="own",
                                                  tracking_number="", actor=WAREHOUSE)
            for line in order.lines:
                self.on_hand[line.variant_id] -= quantities.get(line.id, 0)
            if order not in self.shipped:
                self.shipped.append(order)
            invoice = shipped.invoice
            if order.payment_method == "exchange":
                settlement.pay_replacement_invoice(db, invoice, actor=WAREHOUSE)
            elif order.payment_method == "card" and invoice.amount_open:
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
                                       currency="EUR", received_on=clock.today(),
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

        # -- returns: each step is settled right after, as the apps do --------------------------
        @precondition(lambda self: self.shipped)
        @rule(pick=st.integers(0, 50), share=st.integers(1, 5), reason=st.sampled_from(REASONS),
              exchange=st.booleans(), method=st.sampled_from(REFUND_METHODS),
              replace_at_once=st.booleans(), sibling=st.booleans())
        def request_return(self, pick, share, reason, exchange, method, replace_at_once,
                           sibling):
            order = self.shipped[pick % len(self.shipped)]
            [found] = returns.returnable_lines(db, order, policy)
            if found.refusal is not None:
                return
            line = found.line
            if method not in returns.refund_methods(db, order):
                method = ""  # the way it was paid
            replacement = (variants[SIBLINGS[line.sku]]
                           if exchange and sibling and line.sku in SIBLINGS else None)
            try:
                rma = returns.request_return(
                    db, order, Request([RequestLine(line.id, min(share, found.returnable),
                                                    reason, "see photos", replacement)],
                                       resolution="exchange" if exchange else "refund",
                                       refund_method=method,
                                       replace_on="approval" if replace_at_once else "receipt"),
                    actor=SHOPPER, channel="shop", key=key("rma"), settings=policy)
            except ReturnError as err:  # an order nobody can be refunded for (a guest's
                assert err.field == "refund_method"  # replacement): only an exchange
                return
            self.returns.append(rma.id)
            self._settle(rma)  # approved at once: goods kept, or a replacement sent now

        def _returns(self, *statuses, ship_back=None):
            return [r for r in (db.get(ReturnAuthorisation, i) for i in self.returns)
                    if r.status in statuses and ship_back in (None, r.ship_back)]

        @precondition(lambda self: self._returns("requested"))
        @rule(pick=st.integers(0, 50), approve=st.booleans())
        def decide_return(self, pick, approve):
            found = self._returns("requested")
            rma = found[pick % len(found)]
            roles = {"agent", "supervisor"}
            if approve:
                returns.approve(db, rma, actor=DECIDER, roles=roles)
                self._settle(rma)
            else:
                returns.reject(db, rma, actor=DECIDER, roles=roles, note="Worn, not faulty.")

        @precondition(lambda self: self._returns(*AWAITING_GOODS, ship_back=True))
        @rule(pick=st.integers(0, 50), share=st.integers(1, 5), restock=st.booleans(),
              twice=st.booleans())
        def receive_return(self, pick, share, restock, twice):
            found = self._returns(*AWAITING_GOODS, ship_back=True)
            rma = found[pick % len(found)]
            line = rma.lines[0]
            got = Received(min(share, line.left_to_receive), *(
                ("resellable", "restock") if restock else ("damaged", "scrap")))
            receipt = key("rcv")
            returns.receive(db, rma, {line.id: got}, actor=WAREHOUSE, key=receipt)
            if restock:
                self.on_hand[line.variant_id] += got.quantity
            if twice:  # the same submit again (a double click): nothing more happens
                again = returns.receive(db, rma, {line.id: got}, actor=WAREHOUSE, key=receipt)
                assert again.repeated
            self._settle(rma)

        def _settle(self, rma):
            """What the return owes now: credit notes, money back, the replacement order."""
            done = settlement.settle(db, self.gateway, rma.id, actor=CLERK, commit=db.flush)
            assert done.problem == ""
            if done.replacement:
                replacement = db.scalar(select(Order).where(Order.number == done.replacement))
                self.replacements[replacement.id] = rma.order_id
                self.to_ship.append(replacement)

        @precondition(lambda self: self.to_ship)
        @rule(target=orders)
        def ship_replacement(self):
            """The warehouse sends a replacement, paid by its return; it may come back too."""
            replacement = self.to_ship.pop(0)
            self._ship(replacement, {l.id: l.quantity for l in replacement.lines})
            return replacement

        def _open(self, customer_id):
            return list(db.scalars(select(Invoice).where(
                Invoice.customer_id == customer_id, Invoice.kind == "invoice",
                Invoice.amount_open > 0).order_by(Invoice.due_date, Invoice.id)))

        # -- what must always hold ----------------------------------------------------------
        @invariant()
        def books_reconcile(self):
            if hasattr(self, "savepoint"):
                assert reconcile.problems(db) == []

        def _families(self):
            """Card and gift-card orders with their replacements: a guest's order alone, the
            customer's all together (store credit from one pays the next)."""
            paid = getattr(self, "card_orders", []) + getattr(self, "gift_orders", [])
            root = {}
            for order_id in paid:
                order = db.get(Order, order_id)
                root[order_id] = "person" if order.customer_id else order_id
            for replacement, original in getattr(self, "replacements", {}).items():
                while original in self.replacements:
                    original = self.replacements[original]
                if original in root:
                    root[replacement] = root[original]
            families = {}
            for order_id, family in root.items():
                families.setdefault(family, []).append(order_id)
            return families.values()

        @invariant()
        def card_orders_square(self):
            """A guest's card order without returns: every credit note went back to the card
            at once, so nothing is ever open and the plain identity holds."""
            returned = set(db.scalars(select(ReturnAuthorisation.order_id)))
            for order_id in getattr(self, "card_orders", []):
                if order_id in returned or db.get(Order, order_id).customer_id is not None:
                    continue  # the families below
                captured, refunded, invoiced, credited = card_order_figures(db, order_id)
                assert captured - refunded == invoiced - credited
                assert refunded <= captured
            assert not db.scalar(select(func.count()).select_from(Payment)
                                 .where(Payment.amount_refunded > Payment.amount))

        @invariant()
        def paid_orders_and_their_replacements_square(self):
            """invoiced - credited = captured - refunded for each family, counting what is
            open (see the module's docstring); once nothing is open, the plain identity."""
            families = list(self._families())
            figures = order_figures(db, [o for family in families for o in family])
            for family in families:
                f = {name: sum((figures[o][name] for o in family), D(0))
                     for name in figures[family[0]]}
                invoiced = f["invoiced"] - f["open_invoices"]  # what invoices were paid
                credited = f["credited"] - f["open_credit"]  # what credit notes paid out
                paid = f["captured"] - f["unallocated"]  # what payments paid of invoices
                assert invoiced - credited == paid - f["refunded"], (family, f)
                assert f["refunded"] <= f["captured"]

        @invariant()
        def stock_never_negative_and_moves_with_the_goods(self):
            assert not db.scalar(select(func.count()).select_from(StockLevel).where(or_(
                StockLevel.reserved < 0, StockLevel.on_hand < StockLevel.reserved)))
            if hasattr(self, "on_hand"):
                now = dict(db.execute(select(StockLevel.variant_id, StockLevel.on_hand)
                                      .where(StockLevel.variant_id.in_(self.on_hand))).all())
                assert now == self.on_hand

        @invariant()
        def returns_credit_what_came_back_and_refunded_ones_paid_out(self):
            for rma in (db.get(ReturnAuthorisation, i) for i in getattr(self, "returns", [])):
                for line in rma.lines:
                    came = line.quantity_received if rma.ship_back else line.quantity
                    assert line.quantity_credited <= came
                    assert line.quantity_received == (line.quantity_restocked
                                                      + line.quantity_scrapped)
                if rma.status == "refunded" and rma.refund_method in ("card", "gift_card"):
                    for note in settlement.credit_notes(db, rma):
                        assert receivables.available(db, note) <= 0, (rma.number, note.number)
                # Settled after every step, with a gateway that never refuses: all goods in
                # (or kept) means done, whatever was open when they came.
                if rma.status in ("received", "approved") and not (
                        rma.status == "approved" and rma.ship_back):
                    raise AssertionError(f"{rma.number} is {rma.status} after settling")
                # The money goes back a way the order was paid: a card that was charged.
                if rma.refund_method == "card":
                    assert db.scalar(select(func.count()).select_from(Payment).where(
                        Payment.order_id == rma.order_id, Payment.method == "card")), rma.number

        @invariant()
        def gift_card_sales_hold_only_money_there(self):
            held = (select(GiftCardRequest.payment_id, func.sum(GiftCardRequest.amount))
                    .where(GiftCardRequest.status == "requested")
                    .group_by(GiftCardRequest.payment_id))
            for payment_id, amount in db.execute(held):
                assert D(amount) <= db.get(Payment, payment_id).amount_unallocated

    run_state_machine_as_test(Books, settings=run_settings(
        max_examples=30, stateful_step_count=30, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))
