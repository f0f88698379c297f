"""Row locks read afresh (review H3): two sessions on one database, each keeping what it
loaded (expire_on_commit=False, as the apps do), interleaved the way a webhook, a second
browser request or a sweep would interleave them. The other session's work is committed
before the first one takes its lock, so the order is the one PostgreSQL's READ COMMITTED
would give; the sessions share the test's connection, so it runs on SQLite too and leaves
nothing behind.

The interleaving is made by a stand-in for Stripe: whatever runs "while Stripe answers" is
done inside its call, as it would be by another process at that moment."""
from decimal import Decimal
from unittest.mock import Mock

from sqlalchemy import func, select

from core.audit import Actor, AuditEvent
from core.billing import invoicing
from core.billing.models import Invoice, Payment
from core.inventory.models import StockLevel
from core.money import Money
from core.orders import services as orders
from core.orders.models import Order
from core.payments import services as payments
from core.payments import webhooks
from core.payments.gateway import GatewayUnavailable, IntentResult
from core.payments.invoices import complete_invoice_payment
from core.payments.models import PaymentAttempt
from core.workflows.card_payments import authorise_order, complete_authentication
from tests import billing_support
from tests.unit.test_orders import place, vid

BROWSER = Actor("customer", None, "browser")


def pending_order_with_intent(db, intent_id: str, status: str = "creating") -> Order:
    order = place(db, [(vid(db, "PAP-A4-80"), 1)], key=f"key-{intent_id}")
    attempt = payments.new_attempt(db, order)
    attempt.stripe_id, attempt.status = intent_id, status
    db.commit()
    return order


def authorised(order: Order, intent_id: str) -> IntentResult:
    return IntentResult(intent_id, "requires_capture", "", Money(order.gross_total, "EUR"))


def event(order: Order, intent_id: str, event_id: str) -> dict:
    return {"id": event_id, "object": "event", "type": "payment_intent.amount_capturable_updated",
            "data": {"object": {"id": intent_id, "object": "payment_intent",
                                "status": "requires_capture", "currency": "eur",
                                "amount": int(order.gross_total * 100)}}}


def webhook(session, order: Order, intent_id: str, gateway) -> str:
    """Stripe's webhook for the authorisation, delivered and processed in `session`."""
    body = event(order, intent_id, f"evt_{intent_id}")
    webhooks.store(session, body)
    session.commit()
    outcome = webhooks.process(session, body["id"], gateway=gateway)
    session.commit()
    return outcome


def attempt_status(db, intent_id: str) -> str:
    return db.scalar(select(PaymentAttempt.status).where(PaymentAttempt.stripe_id == intent_id))


def authorised_events(db, order: Order) -> int:
    return db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "order.payment_authorised", AuditEvent.subject_id == str(order.id)))


class Stripe:
    """Answers like Stripe; `meanwhile` runs inside the call, as another process would."""

    def __init__(self, answer: IntentResult, meanwhile=None):
        self.answer, self.meanwhile, self.cancelled = answer, meanwhile, []

    def retrieve(self, intent_id):
        if self.meanwhile is not None:
            run, self.meanwhile = self.meanwhile, None
            run()
        return self.answer

    def cancel(self, intent_id):
        self.cancelled.append(intent_id)
        return IntentResult(intent_id, "canceled", "", self.answer.amount)


# -- race A: the webhook read the attempt before the browser confirmed the order ----------------

def test_a_webhook_that_read_the_attempt_early_never_voids_a_live_authorisation(
        db, session_factory):
    order = pending_order_with_intent(db, "pi_race2")
    hook, browser = session_factory(), session_factory()
    stale = payments.find_attempt(hook, "pi_race2")
    hook.commit()  # the webhook has read the attempt ("creating")
    ok = authorised(order, "pi_race2")
    assert payments.apply_result(browser, payments.find_attempt(browser, "pi_race2"), ok,
                                 actor=BROWSER) == "authorised"
    browser.commit()  # the browser confirmed the order
    gateway = Mock()
    assert payments.apply_result(hook, stale, ok, gateway=gateway) == "unchanged"
    hook.commit()

    assert not gateway.cancel.called  # the live authorisation is never voided
    db.expire_all()
    assert attempt_status(db, "pi_race2") == "authorised"
    assert db.get(Order, order.id).status == "confirmed"
    assert authorised_events(db, order) == 1


# -- race B: the browser's /complete loaded the order before the webhook or a cancel ----------

def test_the_browser_completing_3d_secure_after_the_webhook_confirmed_records_it_once(
        db, session_factory):
    order = pending_order_with_intent(db, "pi_3ds", status="requires_action")
    browser, hook = session_factory(), session_factory()
    hook_stripe = Stripe(authorised(order, "pi_3ds"))
    stripe = Stripe(authorised(order, "pi_3ds"),
                    meanwhile=lambda: webhook(hook, order, "pi_3ds", hook_stripe))

    outcome = complete_authentication(browser, stripe, order.id, actor=BROWSER,
                                      commit=browser.commit)

    assert outcome.status == "authorised"
    assert stripe.cancelled == hook_stripe.cancelled == []
    db.expire_all()
    assert attempt_status(db, "pi_3ds") == "authorised"
    assert authorised_events(db, order) == 1  # not one for the webhook and one for the browser


def test_an_order_cancelled_while_3d_secure_finished_stays_cancelled_and_its_payment_is_voided(
        db, session_factory):
    order = pending_order_with_intent(db, "pi_late_3ds", status="requires_action")
    variant = order.lines[0].variant_id
    reserved_before = db.scalar(select(StockLevel.reserved).where(StockLevel.variant_id == variant))
    browser, agent = session_factory(), session_factory()

    def cancel_meanwhile():
        orders.cancel_order(agent, orders.get_order(agent, order.id, lock=True),
                            actor=Actor.system("test"), reason="customer phoned")
        agent.commit()

    stripe = Stripe(authorised(order, "pi_late_3ds"), meanwhile=cancel_meanwhile)
    outcome = complete_authentication(browser, stripe, order.id, actor=BROWSER,
                                      commit=browser.commit)

    assert outcome.status == "declined"
    assert stripe.cancelled == ["pi_late_3ds"]  # the authorisation nobody needs goes back
    db.expire_all()
    assert db.get(Order, order.id).status == "cancelled"  # never "confirmed" again
    assert attempt_status(db, "pi_late_3ds") == "voided"
    assert authorised_events(db, order) == 0
    reserved = db.scalar(select(StockLevel.reserved).where(StockLevel.variant_id == variant))
    assert reserved == reserved_before - 1  # released once, by the cancellation


def test_an_answer_lost_at_checkout_but_authorised_by_the_webhook_is_not_turned_into_a_decline(
        db, session_factory):
    order = place(db, [(vid(db, "PAP-A4-80"), 1)], key="lost-then-authorised")
    db.commit()
    browser, hook = session_factory(), session_factory()

    class LostAnswer:
        """Stripe authorises, the webhook tells us, the answer to the browser is lost."""

        cancelled: list = []

        def save_card(self, payment_method, **kwargs):
            return "cus_lost"

        def authorise(self, *, amount, currency, payment_method, key, metadata, moto=False,
                      customer=None):
            body = event(order, "pi_lost_answer", "evt_lost_answer")
            body["data"]["object"]["metadata"] = {"attempt": key}
            webhooks.store(hook, body)
            hook.commit()
            webhooks.process(hook, body["id"], gateway=self)
            hook.commit()
            raise GatewayUnavailable("The card could not be checked just now.")

        def cancel(self, intent_id):
            self.cancelled.append(intent_id)
            return IntentResult(intent_id, "canceled", "", Money("0", "EUR"))

    stripe = LostAnswer()
    outcome = authorise_order(browser, stripe, order.id, payment_method="pm_card",
                              actor=BROWSER, commit=browser.commit)

    assert outcome.status == "authorised"
    assert stripe.cancelled == []
    db.expire_all()
    assert db.get(Order, order.id).status == "confirmed"  # not cancelled as "declined"
    assert attempt_status(db, "pi_lost_answer") == "authorised"


# -- paying an invoice: two /complete calls for one payment --------------------------------------

class InvoiceStripe(Stripe):
    def __init__(self, amount: Money, meanwhile=None):
        super().__init__(IntentResult("pi_invoice", "requires_capture", "", amount), meanwhile)
        self.captures = []

    def capture(self, intent_id, amount, currency, key):
        self.captures.append((intent_id, amount, key))
        return IntentResult(intent_id, "succeeded", "", Money(amount, currency),
                            captured=Money(amount, currency))


def test_two_completions_of_one_invoice_payment_never_move_a_capture_back_to_authorised(
        db, session_factory):
    order = billing_support.place(db, [("PAP-A4-80", 2)], key="invoice-race")
    invoice = invoicing.invoice_shipment(db, billing_support.ship(db, order, {"PAP-A4-80": 2}),
                                         actor=billing_support.CLERK)
    attempt = payments.new_attempt(db, order, amount=invoice.amount_open, purpose="invoice",
                                   invoice_id=invoice.id, payment_method="pm_card")
    attempt.stripe_id, attempt.status = "pi_invoice", "requires_action"
    db.commit()
    due = Money(invoice.amount_open, "EUR")
    first, second = session_factory(), session_factory()
    other_stripe = InvoiceStripe(due)
    stripe = InvoiceStripe(due, meanwhile=lambda: complete_invoice_payment(
        second, other_stripe, invoice.id, actor=BROWSER, commit=second.commit))

    outcome = complete_invoice_payment(first, stripe, invoice.id, actor=BROWSER,
                                       commit=first.commit)

    assert outcome.status == "paid"
    assert stripe.cancelled == [] and stripe.captures == []  # the first call took it already
    assert len(other_stripe.captures) == 1
    db.expire_all()
    assert attempt_status(db, "pi_invoice") == "captured"  # not "authorised", nor voided
    assert db.get(Invoice, invoice.id).amount_open == 0
    assert db.scalar(select(func.count()).select_from(Payment)
                     .where(Payment.stripe_id == "pi_invoice")) == 1
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "invoice.paid_by_card")) == 1


# -- cancelling while a late authorisation is voided --------------------------------------------

def test_a_cancellation_records_its_void_on_the_attempt_as_it_is_after_stripe_answered(
        db, session_factory):
    from core.workflows.cancellation import cancel_and_void
    order = pending_order_with_intent(db, "pi_cancel", status="requires_action")
    shopper, hook = session_factory(), session_factory()

    class VoidAndOrphan(Stripe):
        """While the cancellation's void is under way, the webhook voids it as orphaned."""

        def cancel(self, intent_id):
            self.cancelled.append(intent_id)
            if len(self.cancelled) == 1:
                webhook(hook, order, intent_id, self)
            return IntentResult(intent_id, "canceled", "", Money("0", "EUR"))

    stripe = VoidAndOrphan(authorised(order, "pi_cancel"))
    cancel_and_void(shopper, orders.get_order(shopper, order.id, lock=True), gateway=stripe,
                    actor=BROWSER, reason="changed my mind", commit=shopper.commit)
    shopper.commit()

    db.expire_all()
    cancelled = db.get(Order, order.id)
    assert (cancelled.status, cancelled.payment_state) == ("cancelled", "unpaid")
    assert attempt_status(db, "pi_cancel") == "voided"  # as the webhook recorded it
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "order.void_failed", AuditEvent.subject_id == str(order.id))) == 0


def test_two_refunds_of_one_card_payment_both_count_on_its_attempt(db, session_factory):
    amount = Decimal("5.00")
    from core.billing import receivables
    from core.payments.refunds import refund_to_card
    order = billing_support.place(db, [("PAP-A4-80", 2)], key="refund-race")
    invoice = invoicing.invoice_shipment(db, billing_support.ship(db, order, {"PAP-A4-80": 2}),
                                         actor=billing_support.CLERK)
    attempt = payments.new_attempt(db, order, amount=invoice.gross_total)
    attempt.stripe_id, attempt.status = "pi_refunds", "captured"
    attempt.amount_captured = invoice.gross_total
    payment = receivables.record_card_capture(db, invoice, amount=invoice.gross_total,
                                              stripe_id="pi_refunds", key="cap-refunds",
                                              actor=billing_support.CLERK)
    note = invoicing.issue_credit_note(db, invoice, lines=None, reason="returned",
                                       actor=billing_support.CLERK)
    db.commit()
    first, second = session_factory(), session_factory()
    shown = first.get(PaymentAttempt, attempt.id)  # the first clerk's page showed the payment

    class Refunds:
        def refund(self, intent_id, value, currency, key):
            return f"re_{key}"

    refund_to_card(second, Refunds(), payment_id=payment.id, amount=amount, actor=BROWSER,
                   commit=second.commit, credit_note_id=note.id)
    refund_to_card(first, Refunds(), payment_id=payment.id, amount=amount, actor=BROWSER,
                   commit=first.commit, credit_note_id=note.id)

    db.expire_all()
    assert db.get(PaymentAttempt, attempt.id).amount_refunded == 2 * amount  # no lost update
    assert shown.amount_refunded == 2 * amount
