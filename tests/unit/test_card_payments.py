"""Card money after the order, against a real localstripe: the card saved with the
authorisation, capture at the first shipment, off-session charges for later ones, renewal
of authorisations about to expire, refunds within what was captured, paying an invoice."""
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.audit import Actor, AuditEvent
from core.billing import invoicing
from core.billing.models import Invoice, Payment, Refund
from core.config import load_settings
from core.db import utcnow
from core.fulfilment import services as fulfilment
from core.payments import links, webhooks
from core.payments.capture import collect_invoice, resume_collections
from core.payments.gateway import GatewayUnavailable, StripeGateway
from core.payments.invoices import (InvoiceNotPayable, complete_invoice_payment,
                                    pay_invoice)
from core.payments.models import PaymentAttempt
from core.payments.refunds import RefundNotAllowed, refund_to_card
from core.payments.renewal import renew_authorisations
from core import tasks
from core.workflows.card_payments import authorise_order
from tests.factories import CustomerFactory, StockLevelFactory, VariantFactory
from tests.unit.test_orders import place

ACTOR = Actor.system("test")
WAREHOUSE = Actor("agent", 7, "wanda@marketline.example")
VISA, DECLINED_AT_CHARGE, THREE_D_SECURE = ("4242424242424242", "4000000000000341",
                                            "4000002500003155")


@pytest.fixture
def gateway(localstripe):
    return StripeGateway(load_settings(environ={}, STRIPE_API_BASE=localstripe))


@pytest.fixture(autouse=True)
def no_mail(monkeypatch):
    """E-mails are collected instead of sent (tests/web checks the real ones)."""
    import core.notifications  # noqa: F401 - the e-mails follow the events after commit
    sent = []

    def collect(message, smtp_url):
        sent.append({"to": message["To"], "subject": message["Subject"],
                     "text": message.get_body(("plain",)).get_content()})

    monkeypatch.setattr("core.mail.deliver", collect)
    return sent


def new_card(gateway, number=VISA) -> str:
    return gateway.client.v1.payment_methods.create({"type": "card", "card": {
        "number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"}}).id


def intent(gateway, intent_id):
    return gateway.client.v1.payment_intents.retrieve(intent_id)


def cents(amount: Decimal) -> int:
    return int(amount * 100)


def card_order(db, gateway, *, units=5, price="10.00", key="card-order", customer_id=None):
    """A web order of `units` of a new item, authorised on a Visa, released to the warehouse."""
    variant = VariantFactory(price=Decimal(price))
    StockLevelFactory(variant=variant, on_hand=units + 5)
    order = place(db, [(variant.id, units)], key=key)
    order.customer_id = customer_id
    db.commit()
    outcome = authorise_order(db, gateway, order.id, payment_method=new_card(gateway),
                              actor=ACTOR, commit=db.commit)
    assert outcome.status == "authorised", outcome.message
    fulfilment.release_order(db, order, actor=WAREHOUSE)
    db.commit()
    return order


def ship(db, order, units: int) -> Invoice:
    shipped = fulfilment.ship_and_invoice(db, order, {order.lines[0].id: units}, carrier="own",
                                          tracking_number="", actor=WAREHOUSE)
    db.commit()
    return shipped.invoice


def authorisation(db, order) -> PaymentAttempt:
    return db.scalar(select(PaymentAttempt).where(PaymentAttempt.order_id == order.id,
                                                  PaymentAttempt.purpose == "order"))


def authorisation_of(db, invoice) -> PaymentAttempt:
    """The latest card payment a customer started for the invoice."""
    return db.scalar(select(PaymentAttempt).where(PaymentAttempt.invoice_id == invoice.id,
                                                  PaymentAttempt.purpose == "invoice")
                     .order_by(PaymentAttempt.id.desc()).limit(1))


def captured_cents(gateway, intent_id) -> int:
    """What Stripe took: localstripe shows a partial capture as a refund of the rest."""
    charge = intent(gateway, intent_id).latest_charge
    return charge.amount - charge.amount_refunded


# -- the saved card ---------------------------------------------------------------------------

def test_an_authorisation_saves_the_card_to_a_stripe_customer_for_later_shipments(db, gateway):
    order = card_order(db, gateway, key="saved-card")
    attempt = authorisation(db, order)
    assert attempt.payment_method_id.startswith("pm_")
    assert attempt.stripe_customer_id.startswith("cus_")
    pi = intent(gateway, attempt.stripe_id)
    assert (pi.status, pi.customer, pi.payment_method) == (
        "requires_capture", attempt.stripe_customer_id, attempt.payment_method_id)
    assert pi.amount == cents(order.gross_total)


def test_a_registered_customer_keeps_one_stripe_customer_and_guests_get_one_per_order(db, gateway):
    customer = CustomerFactory()
    first = card_order(db, gateway, key="reg-1", customer_id=customer.id)
    second = card_order(db, gateway, key="reg-2", customer_id=customer.id)
    guest_a = card_order(db, gateway, key="guest-a")
    guest_b = card_order(db, gateway, key="guest-b")
    db.refresh(customer)
    assert customer.stripe_customer_id == authorisation(db, first).stripe_customer_id
    assert authorisation(db, second).stripe_customer_id == customer.stripe_customer_id
    assert (authorisation(db, guest_a).stripe_customer_id
            != authorisation(db, guest_b).stripe_customer_id)


def test_a_stripe_customer_stripe_no_longer_knows_is_replaced(db, gateway):
    customer = CustomerFactory(stripe_customer_id="cus_gone_from_stripe")
    order = card_order(db, gateway, key="gone", customer_id=customer.id)
    db.refresh(customer)
    assert customer.stripe_customer_id != "cus_gone_from_stripe"
    assert authorisation(db, order).stripe_customer_id == customer.stripe_customer_id


# -- capture at shipment ---------------------------------------------------------------------

def test_first_shipment_captures_part_of_the_authorisation_and_the_second_charges_the_saved_card(
        db, gateway):
    order = card_order(db, gateway, key="two-shipments")
    auth = authorisation(db, order)

    first = ship(db, order, 3)
    outcome = collect_invoice(db, gateway, first.id, actor=WAREHOUSE, commit=db.commit)
    assert outcome.status == "captured", outcome.message
    db.refresh(first)
    assert first.amount_open == 0 and first.status == "paid"
    assert captured_cents(gateway, auth.stripe_id) == cents(first.gross_total)
    assert intent(gateway, auth.stripe_id).status == "succeeded"
    assert (auth.status, auth.amount_captured) == ("captured", first.gross_total)
    assert order.payment_state == "partially_captured"

    second = ship(db, order, 2)
    outcome = collect_invoice(db, gateway, second.id, actor=WAREHOUSE, commit=db.commit)
    assert outcome.status == "charged", outcome.message
    charge = db.scalar(select(PaymentAttempt).where(PaymentAttempt.invoice_id == second.id))
    assert charge.purpose == "shipment" and charge.stripe_id != auth.stripe_id
    pi = intent(gateway, charge.stripe_id)
    assert (pi.status, pi.amount) == ("succeeded", cents(second.gross_total))
    assert (pi.customer, pi.payment_method) == (auth.stripe_customer_id, auth.payment_method_id)
    db.refresh(second)
    assert second.amount_open == 0
    assert order.payment_state == "captured"
    payments = db.scalars(select(Payment).where(Payment.order_id == order.id)
                          .order_by(Payment.id)).all()
    assert [(p.method, p.amount, p.stripe_id) for p in payments] == [
        ("card", first.gross_total, auth.stripe_id), ("card", second.gross_total, pi.id)]
    assert first.gross_total + second.gross_total == order.gross_total


def test_collecting_the_same_invoice_twice_takes_the_money_once(db, gateway):
    order = card_order(db, gateway, key="twice")
    invoice = ship(db, order, 5)
    assert collect_invoice(db, gateway, invoice.id, actor=WAREHOUSE,
                           commit=db.commit).status == "captured"
    again = collect_invoice(db, gateway, invoice.id, actor=WAREHOUSE, commit=db.commit)
    assert again.status == "already_collected" and again.payment is not None
    assert db.scalar(select(func.count()).select_from(Payment)
                     .where(Payment.order_id == order.id)) == 1
    assert db.scalar(select(func.count()).select_from(PaymentAttempt)
                     .where(PaymentAttempt.order_id == order.id)) == 1


def test_an_authorisation_too_old_to_capture_is_voided_and_the_saved_card_charged(db, gateway):
    order = card_order(db, gateway, key="too-old")
    auth = authorisation(db, order)
    invoice = ship(db, order, 5)
    later = utcnow() + dt.timedelta(days=6, hours=13)  # 6.5 days: within the safety margin
    outcome = collect_invoice(db, gateway, invoice.id, actor=WAREHOUSE, commit=db.commit,
                              now=later)
    assert outcome.status == "charged"
    assert intent(gateway, auth.stripe_id).status == "canceled"
    assert auth.status == "cancelled"
    charge = db.scalar(select(PaymentAttempt).where(PaymentAttempt.invoice_id == invoice.id))
    assert intent(gateway, charge.stripe_id).amount == cents(invoice.gross_total)
    assert order.payment_state == "captured"


def test_a_declined_off_session_charge_holds_the_order_and_sends_a_pay_link(db, gateway, no_mail):
    order = card_order(db, gateway, key="declined")
    auth = authorisation(db, order)
    collect_invoice(db, gateway, ship(db, order, 3).id, actor=WAREHOUSE, commit=db.commit)
    # The customer's card was blocked since: the saved card now declines.
    blocked = new_card(gateway, DECLINED_AT_CHARGE)
    gateway.attach(blocked, auth.stripe_customer_id)
    auth.payment_method_id = blocked
    db.commit()

    second = ship(db, order, 2)
    outcome = collect_invoice(db, gateway, second.id, actor=WAREHOUSE, commit=db.commit)

    assert outcome.status == "failed" and "declined" in outcome.message.lower()
    db.refresh(second)
    assert second.amount_open == second.gross_total
    hold = next(h for h in order.active_holds)
    assert (hold.kind, hold.reason_code) == ("payment_review", "capture_failed")
    failed = db.scalar(select(PaymentAttempt).where(PaymentAttempt.invoice_id == second.id))
    assert failed.status == "failed" and failed.purpose == "shipment"
    [mail] = no_mail
    assert mail["to"] == order.email and second.number in mail["subject"]
    token = mail["text"].split("/pay/invoice/")[1].split()[0]
    settings = tasks.context().settings
    assert links.read_invoice_token(settings.SECRET_KEY, token) == second.id
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "invoice.card_payment_failed",
                                              AuditEvent.subject_id == str(second.id)))
    # A second call neither charges nor mails again.
    assert collect_invoice(db, gateway, second.id, actor=WAREHOUSE,
                           commit=db.commit).status == "failed"
    assert len(no_mail) == 1
    assert db.scalar(select(func.count()).select_from(PaymentAttempt)
                     .where(PaymentAttempt.invoice_id == second.id)) == 1


def test_an_on_account_invoice_is_left_to_the_customer(db, gateway):
    variant = VariantFactory(price=Decimal("10.00"))
    StockLevelFactory(variant=variant, on_hand=5)
    order = place(db, [(variant.id, 1)], key="on-account")
    order.status, order.payment_method, order.payment_state = ("confirmed", "on_account",
                                                               "on_account")
    fulfilment.release_order(db, order, actor=WAREHOUSE)
    invoice = ship(db, order, 1)
    outcome = collect_invoice(db, gateway, invoice.id, actor=WAREHOUSE, commit=db.commit)
    assert outcome.status == "on_account"
    assert db.scalar(select(func.count()).select_from(PaymentAttempt)
                     .where(PaymentAttempt.order_id == order.id)) == 0


def test_a_webhook_about_a_shipment_charge_changes_nothing(db, gateway):
    order = card_order(db, gateway, key="webhook")
    collect_invoice(db, gateway, ship(db, order, 3).id, actor=WAREHOUSE, commit=db.commit)
    second = ship(db, order, 2)
    collect_invoice(db, gateway, second.id, actor=WAREHOUSE, commit=db.commit)
    charge = db.scalar(select(PaymentAttempt).where(PaymentAttempt.invoice_id == second.id))
    event = {"id": "evt_shipment_charge", "type": "payment_intent.succeeded",
             "data": {"object": intent(gateway, charge.stripe_id).to_dict()}}
    webhooks.store(db, event)
    assert webhooks.process(db, "evt_shipment_charge", gateway=gateway) == "unchanged"
    assert (order.status, order.payment_state, charge.status) == ("shipped", "captured",
                                                                  "captured")


# -- authorisations about to expire ----------------------------------------------------------

def test_an_authorisation_about_to_expire_is_renewed_on_the_saved_card(db, gateway):
    order = card_order(db, gateway, key="renew")
    old = authorisation(db, order)
    collect_now = utcnow() + dt.timedelta(days=6, hours=1)

    counts = renew_authorisations(db, gateway, commit=db.commit, now=collect_now)

    assert counts["renewed"] == 1
    new = db.scalar(select(PaymentAttempt).where(PaymentAttempt.order_id == order.id,
                                                 PaymentAttempt.purpose == "reauthorise"))
    assert new.status == "authorised" and new.stripe_id != old.stripe_id
    pi = intent(gateway, new.stripe_id)
    assert (pi.status, pi.amount, pi.customer) == ("requires_capture", cents(order.gross_total),
                                                   old.stripe_customer_id)
    assert intent(gateway, old.stripe_id).status == "canceled" and old.status == "cancelled"
    assert order.payment_state == "authorised"
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "order.payment_reauthorised",
                                              AuditEvent.subject_id == str(order.id)))
    # Nothing is renewed twice, and the new authorisation is what the shipment captures.
    new.created_at = collect_now  # it was made "then"
    db.commit()
    assert renew_authorisations(db, gateway, commit=db.commit, now=collect_now)["renewed"] == 0
    invoice = ship(db, order, 5)
    outcome = collect_invoice(db, gateway, invoice.id, actor=WAREHOUSE, commit=db.commit,
                              now=collect_now)
    assert outcome.status == "captured"
    assert captured_cents(gateway, new.stripe_id) == cents(invoice.gross_total)


def test_a_young_authorisation_is_not_renewed(db, gateway):
    card_order(db, gateway, key="young")
    counts = renew_authorisations(db, gateway, commit=db.commit,
                                  now=utcnow() + dt.timedelta(days=5, hours=23))
    assert counts["renewed"] == 0


def test_a_renewal_the_bank_refuses_holds_the_order_and_asks_for_a_card(db, gateway, no_mail):
    order = card_order(db, gateway, key="renew-declined")
    order.status = "confirmed"  # not with the warehouse yet
    old = authorisation(db, order)
    blocked = new_card(gateway, DECLINED_AT_CHARGE)
    gateway.attach(blocked, old.stripe_customer_id)
    old.payment_method_id = blocked
    db.commit()
    later = utcnow() + dt.timedelta(days=6, hours=1)

    counts = renew_authorisations(db, gateway, commit=db.commit, now=later)

    assert counts["failed"] == 1
    hold = order.active_holds[0]
    assert (hold.kind, hold.reason_code) == ("payment_review", "reauthorisation_needed")
    assert intent(gateway, old.stripe_id).status == "canceled"
    assert order.payment_state == "unpaid"  # waits for a card, by the link e-mailed
    [mail] = no_mail
    assert order.number in mail["subject"] and "/pay/" in mail["text"]
    # The bank is not asked again every hour.
    assert renew_authorisations(db, gateway, commit=db.commit, now=later)["failed"] == 0


# -- refunds ----------------------------------------------------------------------------------

def test_a_refund_never_exceeds_what_was_captured(db, gateway):
    order = card_order(db, gateway, key="refund")
    invoice = ship(db, order, 5)
    payment = collect_invoice(db, gateway, invoice.id, actor=WAREHOUSE,
                              commit=db.commit).payment
    note = invoicing.issue_credit_note(db, invoice, lines=None, reason="Returned", actor=ACTOR)
    db.commit()

    with pytest.raises(RefundNotAllowed, match="At most"):
        refund_to_card(db, gateway, payment_id=payment.id, amount=payment.amount + Decimal("0.01"),
                       actor=ACTOR, commit=db.commit, credit_note_id=note.id)
    part = refund_to_card(db, gateway, payment_id=payment.id, amount=Decimal("10.00"),
                          actor=ACTOR, commit=db.commit, credit_note_id=note.id, reason="part")
    assert part.status == "succeeded" and part.stripe_id.startswith("re_")
    assert order.payment_state == "partially_refunded"
    rest = refund_to_card(db, gateway, payment_id=payment.id, amount=payment.amount - 10,
                          actor=ACTOR, commit=db.commit, credit_note_id=note.id)
    assert rest.status == "succeeded"
    with pytest.raises(RefundNotAllowed):
        refund_to_card(db, gateway, payment_id=payment.id, amount=Decimal("0.01"), actor=ACTOR,
                       commit=db.commit, credit_note_id=note.id)
    db.refresh(payment)
    assert payment.amount_refunded == payment.amount
    assert authorisation(db, order).amount_refunded == payment.amount
    assert order.payment_state == "refunded"
    assert db.scalar(select(func.count()).select_from(Refund)
                     .where(Refund.payment_id == payment.id)) == 2
    charge = intent(gateway, payment.stripe_id).latest_charge
    assert charge.amount - charge.amount_refunded == 0  # everything captured went back


# -- paying an invoice by card ----------------------------------------------------------------

def test_an_open_invoice_is_paid_by_card_and_releases_the_capture_hold(db, gateway):
    order = card_order(db, gateway, key="pay-invoice")
    auth = authorisation(db, order)
    auth.payment_method_id = None  # no saved card: the shipment cannot be charged
    auth.stripe_customer_id = None
    db.commit()
    invoice = ship(db, order, 5)
    collect_invoice(db, gateway, invoice.id, actor=WAREHOUSE, commit=db.commit,
                    now=utcnow() + dt.timedelta(days=7))
    assert order.active_holds and invoice.amount_open == invoice.gross_total

    outcome = pay_invoice(db, gateway, invoice.id, payment_method=new_card(gateway),
                          actor=ACTOR, commit=db.commit)

    assert outcome.status == "paid", outcome.message
    db.refresh(invoice)
    assert invoice.amount_open == 0 and invoice.status == "paid"
    attempt = db.scalar(select(PaymentAttempt).where(PaymentAttempt.invoice_id == invoice.id,
                                                     PaymentAttempt.purpose == "invoice"))
    assert intent(gateway, attempt.stripe_id).status == "succeeded"
    assert outcome.payment.stripe_id == attempt.stripe_id
    assert outcome.payment.amount == invoice.gross_total
    assert not order.active_holds  # the capture_failed hold went with the last open invoice
    again = pay_invoice(db, gateway, invoice.id, payment_method=new_card(gateway), actor=ACTOR,
                        commit=db.commit)
    assert again.status == "nothing_due"


def test_an_invoice_payment_needing_3d_secure_waits_for_the_customer(db, gateway):
    order = card_order(db, gateway, key="pay-3ds")
    auth = authorisation(db, order)
    auth.payment_method_id = None
    db.commit()
    invoice = ship(db, order, 5)
    collect_invoice(db, gateway, invoice.id, actor=WAREHOUSE, commit=db.commit,
                    now=utcnow() + dt.timedelta(days=7))

    outcome = pay_invoice(db, gateway, invoice.id, payment_method=new_card(gateway, THREE_D_SECURE),
                          actor=ACTOR, commit=db.commit)
    assert outcome.status == "requires_action" and outcome.client_secret
    # A poll (a second submit) while the challenge runs only waits: nothing is voided.
    polled = complete_invoice_payment(db, gateway, invoice.id, actor=ACTOR, commit=db.commit)
    assert polled.status == "processing"
    assert intent(gateway, authorisation_of(db, invoice).stripe_id).status == "requires_action"
    # The customer closes the challenge: Stripe is asked, the payment voided, nothing taken.
    finished = complete_invoice_payment(db, gateway, invoice.id, actor=ACTOR, commit=db.commit,
                                        gave_up=True)
    assert finished.status == "declined"
    db.refresh(invoice)
    assert invoice.amount_open == invoice.gross_total


def test_a_declined_card_leaves_the_invoice_open(db, gateway):
    order = card_order(db, gateway, key="pay-declined")
    invoice = ship(db, order, 5)
    outcome = pay_invoice(db, gateway, invoice.id,
                          payment_method=new_card(gateway, DECLINED_AT_CHARGE), actor=ACTOR,
                          commit=db.commit)
    assert outcome.status == "declined" and "declined" in outcome.message
    db.refresh(invoice)
    assert invoice.amount_open == invoice.gross_total


def test_a_credit_note_cannot_be_paid_by_card(db, gateway):
    order = card_order(db, gateway, key="pay-credit-note")
    invoice = ship(db, order, 5)
    note = invoicing.issue_credit_note(db, invoice, lines=None, reason="x", actor=ACTOR)
    db.commit()
    with pytest.raises(InvoiceNotPayable):
        pay_invoice(db, gateway, note.id, payment_method=new_card(gateway), actor=ACTOR,
                    commit=db.commit)


# -- links ------------------------------------------------------------------------------------

def test_an_invoice_token_and_an_order_token_never_stand_for_each_other():
    now = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    order_token = links.make_token("secret", 42, now=now)
    invoice_token = links.make_invoice_token("secret", 42, now=now)
    assert links.read_token("secret", order_token, now=now) == 42
    assert links.read_invoice_token("secret", invoice_token, now=now) == 42
    with pytest.raises(links.InvalidLink):
        links.read_invoice_token("secret", order_token, now=now)
    with pytest.raises(links.InvalidLink):
        links.read_token("secret", invoice_token, now=now)
    # Re-labelling an order token as an invoice token breaks its signature.
    with pytest.raises(links.InvalidLink):
        links.read_invoice_token("secret", "inv" + order_token, now=now)
    with pytest.raises(links.InvalidLink, match="expired"):
        links.read_invoice_token("secret", invoice_token, now=now + dt.timedelta(days=31))


# -- lost answers -----------------------------------------------------------------------------

class Flaky:
    """The real gateway, except that the first off-session charge never reaches Stripe."""

    def __init__(self, gateway):
        self.gateway, self.failed = gateway, False

    def __getattr__(self, name):
        return getattr(self.gateway, name)

    def charge_saved_card(self, **kwargs):
        if not self.failed:
            self.failed = True
            raise GatewayUnavailable("The payment service did not answer.")
        return self.gateway.charge_saved_card(**kwargs)


def test_a_charge_whose_answer_was_lost_is_asked_again_with_the_same_key(db, gateway):
    order = card_order(db, gateway, key="lost-answer")
    collect_invoice(db, gateway, ship(db, order, 3).id, actor=WAREHOUSE, commit=db.commit)
    second = ship(db, order, 2)
    flaky = Flaky(gateway)

    assert collect_invoice(db, flaky, second.id, actor=WAREHOUSE,
                           commit=db.commit).status == "pending"
    attempt = db.scalar(select(PaymentAttempt).where(PaymentAttempt.invoice_id == second.id))
    assert (attempt.status, attempt.stripe_id) == ("creating", None)

    resumed = resume_collections(db, flaky, commit=db.commit,
                                 now=utcnow() + dt.timedelta(minutes=11))
    assert resumed == 1
    db.refresh(attempt)
    assert attempt.status == "captured" and attempt.stripe_id
    assert intent(gateway, attempt.stripe_id).metadata["attempt"] == attempt.key
    db.refresh(second)
    assert second.amount_open == 0
    assert db.scalar(select(func.count()).select_from(PaymentAttempt)
                     .where(PaymentAttempt.invoice_id == second.id)) == 1


def test_stripes_word_on_an_authorisation_being_captured_changes_nothing(db, gateway):
    order = card_order(db, gateway, key="webhook-capturing")
    auth = authorisation(db, order)
    auth.status = "capturing"  # the capture is on its way to Stripe
    db.commit()
    event = {"id": "evt_capturing", "type": "payment_intent.succeeded",
             "data": {"object": intent(gateway, auth.stripe_id).to_dict()}}
    webhooks.store(db, event)
    assert webhooks.process(db, "evt_capturing", gateway=gateway) == "unchanged"
    assert auth.status == "capturing"
    assert intent(gateway, auth.stripe_id).status == "requires_capture"  # not voided


class LostCapture(Flaky):
    """The real gateway, except that the first capture's answer never comes back."""

    def capture(self, *args):
        if not self.failed:
            self.failed = True
            raise GatewayUnavailable("The payment service did not answer.")
        return self.gateway.capture(*args)


def test_an_invoice_payment_whose_capture_answer_was_lost_is_finished_by_the_sweep(db, gateway):
    order = card_order(db, gateway, key="lost-capture")
    auth = authorisation(db, order)
    auth.payment_method_id = auth.stripe_customer_id = None  # the shipment cannot be charged
    db.commit()
    invoice = ship(db, order, 5)
    collect_invoice(db, gateway, invoice.id, actor=WAREHOUSE, commit=db.commit,
                    now=utcnow() + dt.timedelta(days=7))
    lost = LostCapture(gateway)
    assert pay_invoice(db, lost, invoice.id, payment_method=new_card(gateway), actor=ACTOR,
                       commit=db.commit).status == "processing"
    attempt = db.scalar(select(PaymentAttempt).where(PaymentAttempt.invoice_id == invoice.id,
                                                     PaymentAttempt.purpose == "invoice"))
    assert attempt.status == "capturing"
    attempt.updated_at = utcnow() - dt.timedelta(hours=1)  # long after the customer left
    db.commit()
    second = pay_invoice(db, gateway, invoice.id, payment_method=new_card(gateway), actor=ACTOR,
                         commit=db.commit)
    assert second.status == "processing"  # no second card payment while the first is open
    assert resume_collections(db, lost, commit=db.commit) == 1
    db.refresh(invoice)
    assert invoice.amount_open == 0
    assert db.scalar(select(func.count()).select_from(PaymentAttempt).where(
        PaymentAttempt.invoice_id == invoice.id, PaymentAttempt.purpose == "invoice")) == 1
