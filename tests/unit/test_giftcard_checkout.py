"""Gift cards paying orders: part or all of a checkout, the card authorising only the rest,
the money going back to the gift card when the order is cancelled or its checkout
abandoned, overspending refused, invoices paid with a card; the books reconcile after
each."""
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from core import clock
from core.billing import giftcard_operations, giftcards, invoicing, ledger, prepayments
from core.billing.giftcards import GiftCardError
from core.billing.models import Payment
from core.db import utcnow
from core.money import Money
from core.orders import services as orders
from core.payments import services as payments
from core.payments.gateway import IntentResult, PaymentDeclined
from core.payments.models import PaymentAttempt
from core.workflows.cancellation import cancel_and_void
from core.workflows.card_payments import authorise_order
from core.workflows.checkout_expiry import WEB_PATIENCE, expire_abandoned
from tests.billing_support import CLERK, assert_books_reconcile, sell_gift_card, ship
from tests.unit.test_orders import ACTOR, place, vid


class Stripe:
    """Answers like Stripe: saves the card, authorises (or declines) what it is asked."""

    def __init__(self, decline: bool = False):
        self.decline, self.asked, self.cancelled = decline, [], []

    def save_card(self, payment_method, **kwargs):
        return "cus_test"

    def authorise(self, *, amount, currency, payment_method, key, metadata, moto=False,
                  customer=None):
        self.asked.append(amount)
        if self.decline:
            raise PaymentDeclined("Your card was declined.")
        return IntentResult(f"pi_{key}", "requires_capture", "", Money(amount, currency))

    def cancel(self, intent_id):
        self.cancelled.append(intent_id)
        return IntentResult(intent_id, "canceled", "", Money("0", "EUR"))

    def retrieve(self, intent_id):
        return IntentResult(intent_id, "requires_action", "", Money("0", "EUR"))


def sell(db, amount: str):
    return sell_gift_card(db, D(amount), reference="SEPA gift")


def paper_order(db, key: str, quantity: int = 5):
    """5 reams of copy paper with standard shipping: 27.45 + 4.95 = 32.40 EUR."""
    return place(db, [(vid(db, "PAP-A4-80"), quantity)], key=key)


def liability(db) -> D:
    return -ledger.balance(db, ledger.GIFT_CARD_LIABILITY)


# -- part of the order --------------------------------------------------------------------

def test_a_gift_card_smaller_than_the_order_pays_its_balance_and_the_card_authorises_the_rest(db):
    card, code = sell(db, "20.00")
    order = paper_order(db, "gc-part")
    assert order.gross_total == D("32.40")
    payment = prepayments.pay_with_gift_card(db, order, code, actor=ACTOR)
    assert (payment.amount, payment.amount_unallocated, payment.method) == (D("20.00"), D("20.00"),
                                                                           "gift_card")
    assert card.balance == 0 and order.amount_prepaid == D("20.00")
    assert not orders.mark_prepaid(db, order, actor=ACTOR, reference=code[-4:])
    assert order.status == "pending_payment"

    stripe = Stripe()
    outcome = authorise_order(db, stripe, order.id, payment_method="pm_card", actor=ACTOR,
                              commit=db.flush)
    assert outcome.status == "authorised"
    assert stripe.asked == [D("12.40")]
    attempt = db.scalar(select(PaymentAttempt).where(PaymentAttempt.order_id == order.id))
    assert attempt.amount == D("12.40")
    assert (order.status, order.payment_state) == ("confirmed", "authorised")
    assert not order.on_hold  # 12.40 authorised is not short of the 12.40 due
    assert_books_reconcile(db)


def test_an_authorisation_short_of_what_the_gift_card_left_puts_the_order_on_review(db):
    _, code = sell(db, "20.00")
    order = paper_order(db, "gc-short")
    prepayments.pay_with_gift_card(db, order, code, actor=ACTOR)
    attempt = payments.new_attempt(db, order, amount=D("12.40"))
    payments.apply_result(db, attempt, IntentResult("pi_short", "requires_capture", "",
                                                    Money("12.39", "EUR")), actor=ACTOR)
    assert [h.reason_code for h in order.active_holds] == ["reauthorisation_needed"]


def test_the_prepayment_settles_the_invoices_when_the_order_ships(db):
    _, code = sell(db, "20.00")
    order = paper_order(db, "gc-invoice")
    prepayments.pay_with_gift_card(db, order, code, actor=ACTOR)
    order.status, order.payment_state = "in_fulfilment", "authorised"
    invoice = invoicing.invoice_shipment(db, ship(db, order, {"PAP-A4-80": 5}), actor=CLERK)
    assert invoice.gross_total == D("32.40")
    assert invoice.amount_open == D("12.40")  # what the card pays at capture
    assert_books_reconcile(db)


# -- the whole order ------------------------------------------------------------------------

def test_a_gift_card_covering_the_whole_order_confirms_it_as_paid_with_no_card(db):
    before = liability(db)  # the demo data has gift cards of its own
    card, code = sell(db, "50.00")
    order = paper_order(db, "gc-all")
    prepayments.pay_with_gift_card(db, order, code, actor=ACTOR)
    assert order.amount_prepaid == D("32.40") and card.balance == D("17.60")
    assert orders.mark_prepaid(db, order, actor=ACTOR, reference="gift card")
    assert (order.status, order.payment_state) == ("confirmed", "captured")
    assert not orders.awaits_card_payment(order)
    # Nothing asks Stripe: authorising now answers at once, and no attempt is made.
    stripe = Stripe()
    assert authorise_order(db, stripe, order.id, payment_method="pm", actor=ACTOR,
                           commit=db.flush).status == "authorised"
    assert stripe.asked == []
    assert db.scalar(select(func.count()).select_from(PaymentAttempt)
                     .where(PaymentAttempt.order_id == order.id)) == 0
    invoice = invoicing.invoice_shipment(db, ship(db, order, {"PAP-A4-80": 5}), actor=CLERK)
    assert (invoice.amount_open, invoice.status) == (0, "paid")
    assert liability(db) - before == D("17.60")
    assert_books_reconcile(db)


def test_a_retried_checkout_takes_nothing_more_from_the_card(db):
    card, code = sell(db, "50.00")
    order = paper_order(db, "gc-retry")
    first = prepayments.pay_with_gift_card(db, order, code, actor=ACTOR)
    again = prepayments.pay_with_gift_card(db, order, code, actor=ACTOR)
    assert again.id == first.id
    assert card.balance == D("17.60") and order.amount_prepaid == D("32.40")
    assert_books_reconcile(db)


@pytest.mark.parametrize("state", ["unknown", "disabled", "expired", "empty"])
def test_a_card_that_cannot_pay_is_refused_at_the_gift_card_field(db, state):
    card, code = sell(db, "10.00")
    if state == "unknown":
        code = "AAAA-BBBB-CCCC-DDDD"
    elif state == "disabled":
        giftcard_operations.disable(db, card, actor=CLERK, reason="lost")
    elif state == "expired":
        card.expires_on = clock.today().replace(year=2020)
    else:
        giftcards.redeem(db, code, D("10.00"), actor=CLERK, order=paper_order(db, "gc-spent"))
    order = paper_order(db, f"gc-{state}")
    with pytest.raises(GiftCardError) as err:
        prepayments.pay_with_gift_card(db, order, code, actor=ACTOR)
    assert err.value.field == "gift_card"
    assert order.amount_prepaid == 0


# -- money going back to the card --------------------------------------------------------------

def test_cancelling_an_order_paid_by_gift_card_gives_the_money_back_to_the_card(db):
    before = liability(db)
    card, code = sell(db, "50.00")
    order = paper_order(db, "gc-cancel")
    prepayments.pay_with_gift_card(db, order, code, actor=ACTOR)
    orders.mark_prepaid(db, order, actor=ACTOR, reference="gift card")
    cancel_and_void(db, order, gateway=Stripe(), actor=CLERK, reason="changed mind")
    assert card.balance == D("50.00") and liability(db) - before == D("50.00")
    assert order.amount_prepaid == 0
    assert (order.status, order.payment_state) == ("cancelled", "refunded")
    payment = db.scalar(select(Payment).where(Payment.order_id == order.id))
    assert (payment.amount_unallocated, payment.amount_refunded) == (0, D("32.40"))
    assert prepayments.restore_order_prepayments(db, order, CLERK) == 0  # safe to repeat
    assert card.balance == D("50.00")
    assert_books_reconcile(db)


def test_cancelling_an_order_paid_partly_by_gift_card_voids_the_card_and_restores_the_gift_card(db):
    card, code = sell(db, "20.00")
    order = paper_order(db, "gc-cancel-part")
    prepayments.pay_with_gift_card(db, order, code, actor=ACTOR)
    stripe = Stripe()
    authorise_order(db, stripe, order.id, payment_method="pm", actor=ACTOR, commit=db.flush)
    cancel_and_void(db, order, gateway=stripe, actor=CLERK, reason="changed mind")
    assert len(stripe.cancelled) == 1
    assert card.balance == D("20.00") and order.payment_state == "unpaid"
    assert_books_reconcile(db)


def test_a_declined_card_cancels_the_checkout_and_gives_the_gift_card_its_money_back(db):
    card, code = sell(db, "20.00")
    order = paper_order(db, "gc-declined")
    prepayments.pay_with_gift_card(db, order, code, actor=ACTOR)
    outcome = authorise_order(db, Stripe(decline=True), order.id, payment_method="pm",
                              actor=ACTOR, commit=db.flush)
    assert outcome.status == "declined" and order.status == "cancelled"
    assert card.balance == D("20.00")
    assert_books_reconcile(db)


def test_an_abandoned_checkout_gives_the_gift_card_its_money_back(db):
    card, code = sell(db, "20.00")
    order = paper_order(db, "gc-abandoned")
    prepayments.pay_with_gift_card(db, order, code, actor=ACTOR)
    order.placed_at = utcnow() - WEB_PATIENCE * 2
    attempt = payments.new_attempt(db, order, amount=D("12.40"))
    attempt.stripe_id, attempt.status = "pi_left", "requires_action"
    db.flush()
    counts = expire_abandoned(db, Stripe(), commit=db.flush)
    assert counts["cancelled"] == 1 and order.status == "cancelled"
    assert card.balance == D("20.00")
    assert_books_reconcile(db)


# -- overspending ----------------------------------------------------------------------------

def test_a_second_redemption_beyond_what_the_first_left_is_refused(db):
    """Two checkouts spend the same card: the balance moves only by a conditional UPDATE, so
    the second, asking more than the first left, is refused and nothing of it is kept."""
    card, code = sell(db, "30.00")
    first, second = paper_order(db, "gc-race-1"), paper_order(db, "gc-race-2", quantity=4)
    quoted = prepayments.quote(db, code, total=second.gross_total, currency="EUR")
    assert quoted.covers == D("26.91")  # what the second checkout was told before paying
    giftcards.redeem(db, code, D("25.00"), actor=ACTOR, order=first)
    with pytest.raises(GiftCardError) as err:
        giftcards.redeem(db, code, quoted.covers, actor=ACTOR, order=second)
    assert "5.00" in str(err.value)
    assert card.balance == D("5.00") and second.amount_prepaid == 0
    assert db.scalar(select(func.count()).select_from(Payment)
                     .where(Payment.order_id == second.id)) == 0
    assert_books_reconcile(db)


def test_the_balance_can_never_go_below_zero_even_written_directly(db):
    card, _ = sell(db, "5.00")
    with pytest.raises(Exception):
        with db.begin_nested():
            card.balance = D("-0.01")
            db.flush()


# -- invoices, disabling, the shop's balance check -------------------------------------------

def test_a_gift_card_pays_part_of_an_open_invoice_and_a_repeat_takes_nothing_more(db):
    from tests.unit.test_billing import free_text
    from core.customers.models import Customer
    acme = db.scalar(select(Customer).where(Customer.name == "Acme Corp"))
    invoice = free_text(db, acme, "80.00")
    card, code = sell(db, "50.00")
    payment = giftcard_operations.pay_invoice(db, invoice_number=invoice.number.lower(),
                                              code=code, amount=D("50.00"), actor=CLERK,
                                              key="inv-gc-1")
    again = giftcard_operations.pay_invoice(db, invoice_number=invoice.number, code=code,
                                            amount=D("50.00"), actor=CLERK, key="inv-gc-1")
    assert again.id == payment.id
    assert (invoice.amount_open, invoice.status, card.balance) == (D("30.00"), "partially_paid", 0)
    with pytest.raises(GiftCardError) as err:
        giftcard_operations.pay_invoice(db, invoice_number=invoice.number, code=code,
                                        amount=D("30.01"), actor=CLERK, key="inv-gc-2")
    assert err.value.field == "amount"
    assert_books_reconcile(db)


def test_a_disabled_card_shows_as_disabled_and_no_longer_pays(db):
    card, code = sell(db, "10.00")
    with pytest.raises(GiftCardError):
        giftcard_operations.disable(db, card, actor=CLERK, reason=" ")
    giftcard_operations.disable(db, card, actor=CLERK, reason="reported stolen")
    view = giftcard_operations.describe(db, giftcard_operations.card_for_code(db, code))
    assert view.status == "disabled" and not view.usable
    assert [m.kind for m in view.movements] == ["issue"]
    assert giftcards.lookup(db, code) is None
    with pytest.raises(GiftCardError):
        giftcard_operations.disable(db, card, actor=CLERK, reason="again")


def test_balance_checks_are_throttled_per_address_found_or_not(db):
    _, code = sell(db, "10.00")
    for _ in range(giftcard_operations.CHECKS_PER_MINUTE):
        try:
            giftcard_operations.check_balance(db, "AAAA-BBBB-CCCC-DDDD", remote_addr="10.9.9.9")
        except giftcard_operations.NotFound:
            pass
    with pytest.raises(giftcard_operations.BalanceCheckThrottled):
        giftcard_operations.check_balance(db, code, remote_addr="10.9.9.9")
    checked = giftcard_operations.check_balance(db, code, remote_addr="10.9.9.10")
    assert checked.card.balance == D("10")
