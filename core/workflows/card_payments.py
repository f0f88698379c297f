"""Authorising an order's card payment: the steps, and where each is committed.

1. Lock the order; if a payment is already under way or done, answer with it (a double
   submit never makes a second PaymentIntent).
2. Record the attempt with its idempotency key and commit, before Stripe is called (a
   checkout's new order: in its placement's transaction, authorise_new_order).
3. Save the card for later shipments: attach the PaymentMethod to the holder's Stripe
   Customer (a registered customer keeps one, a guest gets one per order).
4. Ask Stripe to authorise (manual capture) with customer + card; apply its answer; commit.
A decline cancels the order awaiting payment (its stock is released); the cart is kept.

3-D Secure: the browser that got "requires_action" runs the challenge, then reports to
`complete_authentication`, saying whether the shopper gave up. A second submit of the
same checkout (another tab, a resent request) only waits ("processing") and polls the
same place: while the challenge is live its PaymentIntent is never cancelled, except when
the shopper gave up, when it is older than payments.CHALLENGE_WINDOW (nobody is completing
it any more), or when nobody can complete it (a card read out on the phone, MOTO).
Stripe's "processing" (the bank has not decided) leaves the order waiting for the
webhook or the expiry sweep (core.workflows.checkout_expiry); it is never taken for a decline.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.orders import services as orders
from core.orders.models import Order
from core.payments import services as payments
from core.payments import webhooks
from core.payments.gateway import GatewayUnavailable, PaymentDeclined, PaymentGateway
from core.payments.models import PaymentAttempt
from core.payments.states import AttemptStatus, move_attempt
from core.workflows import approvals, stock_changes

BUSY = ("creating", "requires_action", "authorised", "captured")
PROCESSING = "Your payment is being processed."


@dataclass(frozen=True)
class PaymentOutcome:
    status: str  # authorised | requires_action | declined | processing
    order: Order
    message: str = ""
    client_secret: str = ""


def authorise_order(session: Session, gateway: PaymentGateway, order_id: int, *,
                    payment_method: str, actor: audit.Actor, commit: Callable[[], None],
                    moto: bool = False, abandon_on_decline: bool = True) -> PaymentOutcome:
    """Authorise the order's total on a card. A checkout abandons its order on a decline;
    an order paid later (by link, by phone) stays open for another card."""
    order = orders.get_order(session, order_id, lock=True, lines=False)
    if not orders.awaits_card_payment(order):
        commit()  # nothing changed; ends the transaction and its row lock
        return _settled(order)
    # Every attempt of the order, in one query: whether one is under way, and how many
    # there are (the new attempt's key counts them).
    made = session.execute(select(PaymentAttempt.purpose, PaymentAttempt.status)
                           .where(PaymentAttempt.order_id == order.id)).all()
    if any(purpose == "order" and status in BUSY for purpose, status in made):
        commit()
        return PaymentOutcome("processing", order, PROCESSING)
    due = order.gross_total - order.amount_prepaid  # a gift card paid the rest
    attempt = payments.new_attempt(session, order, moto=moto, payment_method=payment_method,
                                   amount=due, earlier=len(made))
    return _authorise(session, gateway, order, attempt, due, payment_method=payment_method,
                      actor=actor, commit=commit, moto=moto,
                      abandon_on_decline=abandon_on_decline)


def authorise_new_order(session: Session, gateway: PaymentGateway, order: Order, *,
                        payment_method: str, actor: audit.Actor,
                        commit: Callable[[], None]) -> PaymentOutcome:
    """authorise_order for an order placed in the session's open transaction: its first
    attempt is recorded in that transaction and committed with the order, before Stripe
    hears of it. Nothing can be under way for an order nobody else can see yet, and its
    row is locked by its INSERT until that commit: no lock to take, no attempt to look for.
    A checkout's order: a decline abandons it."""
    due = order.gross_total - order.amount_prepaid  # a gift card paid the rest
    attempt = payments.new_attempt(session, order, payment_method=payment_method, amount=due,
                                   earlier=0)
    return _authorise(session, gateway, order, attempt, due, payment_method=payment_method,
                      actor=actor, commit=commit, moto=False, abandon_on_decline=True)


def _authorise(session: Session, gateway: PaymentGateway, order: Order,
               attempt: PaymentAttempt, due, *, payment_method: str, actor: audit.Actor,
               commit: Callable[[], None], moto: bool,
               abandon_on_decline: bool) -> PaymentOutcome:
    """Steps 2-4 for an attempt just recorded (uncommitted)."""
    holder = payments.card_holder(session, order)
    commit()  # the attempt exists before Stripe hears of it
    stripe_customer = None
    try:
        stripe_customer = gateway.save_card(payment_method, email=holder.email,
                                            name=holder.name, existing=holder.stripe_customer_id,
                                            key=f"{attempt.key}-customer",
                                            metadata=holder.metadata)
        result = gateway.authorise(amount=due, currency=order.currency,
                                   payment_method=payment_method, key=attempt.key, moto=moto,
                                   metadata={"order": order.number, "attempt": attempt.key},
                                   customer=stripe_customer)
    except (PaymentDeclined, GatewayUnavailable) as err:
        # Under the lock, afresh: a lost answer may have authorised it after all (the
        # webhook found the attempt by its key); that is not turned into a decline.
        order = orders.get_order(session, order.id, lock=True)
        attempt = payments.lock_attempt(session, attempt.id)
        payments.remember_card(session, attempt, holder, stripe_customer)
        if attempt.status not in payments.OPEN:
            commit()
            return _settled(order)
        payments.record_decline(session, attempt, str(err))
        if abandon_on_decline:
            stock_changes.abandon(session, order, actor=actor, reason="Payment declined")
        commit()
        return PaymentOutcome("declined", order, str(err))
    outcome = payments.apply_result(session, attempt, result, actor=actor, gateway=gateway)
    payments.remember_card(session, attempt, holder, stripe_customer)  # the order is locked now
    if outcome == "authorised":
        after_card_confirmation(session, order, actor=actor)
    commit()
    if outcome == "requires_action":
        return PaymentOutcome("requires_action", order, client_secret=result.client_secret)
    if outcome == "processing":
        return PaymentOutcome("processing", order, PROCESSING)
    if outcome == "failed":
        if abandon_on_decline:
            stock_changes.abandon(session, order, actor=actor, reason="Payment failed")
        commit()
        return PaymentOutcome("declined", order, result.error or "The payment failed.")
    return _settled(order)


def complete_authentication(session: Session, gateway: PaymentGateway, order_id: int, *,
                            actor: audit.Actor, commit: Callable[[], None],
                            abandon_on_decline: bool = True,
                            gave_up: bool = False) -> PaymentOutcome:
    """After 3-D Secure in the browser, or polled by a second submit: ask Stripe how the
    payment stands and apply it. `gave_up`: the shopper closed or failed the challenge.

    A PaymentIntent still waiting for its challenge is cancelled only when the shopper
    gave up, when it was made for a card read out on the phone (MOTO: nobody can
    authenticate), or when it is older than payments.CHALLENGE_WINDOW; otherwise the answer is
    "processing" and the browser that runs the challenge settles it.

    Stripe is asked with no transaction open; the answer is applied under the order's lock
    (apply_result takes it and reads order and attempt afresh), so a webhook arriving at
    the same time changes nothing twice.
    """
    order = orders.get_order(session, order_id)
    attempt = payments.open_attempt(session, order)
    commit()
    if attempt is None or not attempt.stripe_id:
        return _settled(order)
    try:
        result = gateway.retrieve(attempt.stripe_id)
        if result.status == "requires_action":
            if not (gave_up or attempt.moto or payments.challenge_over(attempt)):
                return _settled_now(session, order_id, commit)  # the challenge is live
            result = gateway.cancel(attempt.stripe_id)
    except GatewayUnavailable:
        return PaymentOutcome("processing", order, PROCESSING)  # asked again on the next poll
    outcome = payments.apply_result(session, attempt, result, actor=actor, gateway=gateway)
    if outcome == "failed":
        if result.status == "canceled":
            move_attempt(attempt, AttemptStatus.CANCELLED)
        if abandon_on_decline:
            stock_changes.abandon(session, order, actor=actor, reason="Card authentication failed")
        commit()
        return PaymentOutcome("declined", order, "The card could not be authenticated. "
                              "Try again or use another card; your cart is kept.")
    if outcome == "authorised":
        after_card_confirmation(session, order, actor=actor)
    commit()
    return _settled(order)  # apply_result read the order afresh under its lock


def after_card_confirmation(session: Session, order: Order, *,
                            actor: audit.Actor = webhooks.ACTOR) -> bool:
    """An order a card has just confirmed, whichever path brought the authorisation (the
    browser, the Stripe webhook, the expiry sweep): a company's approvers are told of it
    if it waits for them, once (core.workflows.approvals.announce). Flushes; True when
    they are told now. A guest's order has no approvers: nothing to read."""
    if order.customer_id is None:
        return False
    return approvals.announce(session, order, actor=actor)


def _settled_now(session: Session, order_id: int, commit: Callable[[], None]) -> PaymentOutcome:
    order = orders.get_order(session, order_id)
    commit()
    return _settled(order)


def _settled(order: Order) -> PaymentOutcome:
    if order.status == "cancelled":
        return PaymentOutcome("declined", order, "This order was cancelled; your cart is kept.")
    if orders.awaits_card_payment(order):
        return PaymentOutcome("processing", order, PROCESSING)
    return PaymentOutcome("authorised", order)
