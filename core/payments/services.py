"""Card payments of orders: attempts recorded before Stripe is called, results applied
idempotently whether they come from the browser, the server or a webhook.

An attempt's `purpose`: "order" authorises an order (checkout, phone, pay link);
"reauthorise" authorises it again off-session before the first authorisation expires;
"shipment" charges the saved card for a shipment's invoice; "invoice" is a customer paying
an open invoice by card (core.payments.capture). Only "order" attempts move an order's
status; the others are applied by the code that made them.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.billing.prepayments import restore_order_prepayments
from core.customers.models import Customer
from core.db import utcnow
from core.orders import services as orders
from core.orders.models import Order
from core.orders import holds
from core.payments.gateway import GatewayUnavailable, IntentResult
from core.payments.models import PaymentAttempt
from core.payments.states import AttemptStatus, move_attempt

SYSTEM = audit.Actor.system("payments")


AUTHORISING = ("order", "reauthorise")  # purposes of an order's card authorisation
OPEN = (AttemptStatus.CREATING, AttemptStatus.REQUIRES_ACTION)  # nobody has settled it yet
# How long a 3-D Secure challenge may take (an issuer's challenge page times out well
# within it): a PaymentIntent still waiting after that has been left and may be cancelled.
CHALLENGE_WINDOW = dt.timedelta(minutes=15)


def new_attempt(session: Session, order: Order, *, moto: bool = False,
                payment_method: str | None = None, amount=None, purpose: str = "order",
                invoice_id: int | None = None, stripe_customer: str | None = None,
                earlier: int | None = None) -> PaymentAttempt:
    """Record the attempt (and its idempotency key) before Stripe is called. The caller commits.
    `earlier`: how many attempts the order has, when the caller has just counted them under
    the order's lock (else they are counted here)."""
    count = earlier if earlier is not None else session.scalar(
        select(func.count()).select_from(PaymentAttempt)
        .where(PaymentAttempt.order_id == order.id)) or 0
    attempt = PaymentAttempt(order_id=order.id, key=f"{order.number}-pay-{count + 1}",
                             amount=order.gross_total if amount is None else amount,
                             currency=order.currency, moto=moto, purpose=purpose,
                             invoice_id=invoice_id, payment_method_id=payment_method,
                             stripe_customer_id=stripe_customer)
    session.add(attempt)
    session.flush()
    return attempt


def open_attempt(session: Session, order: Order) -> PaymentAttempt | None:
    """The attempt waiting for the buyer (3-D Secure), if any, as the database has it."""
    return session.scalar(select(PaymentAttempt).where(
        PaymentAttempt.order_id == order.id, PaymentAttempt.purpose == "order",
        PaymentAttempt.status.in_(OPEN))
        .order_by(PaymentAttempt.id.desc()).limit(1)
        .execution_options(populate_existing=True))


# -- saved cards ---------------------------------------------------------------------------

@dataclass(frozen=True)
class CardHolder:
    """Whose Stripe Customer a card is saved to: a registered customer keeps one Stripe
    Customer for all orders; a guest gets one per order."""

    email: str
    name: str
    customer_id: int | None = None
    stripe_customer_id: str | None = None  # the one we kept, if any
    metadata: dict[str, str] = field(default_factory=dict)


def card_holder(session: Session, order: Order) -> CardHolder:
    if order.customer_id is not None:
        customer = session.get(Customer, order.customer_id)
        return CardHolder(customer.email or order.email, customer.name, customer.id,
                          customer.stripe_customer_id, {"customer": customer.number})
    address = order.billing_address or order.shipping_address or {}
    return CardHolder(order.email, address.get("full_name") or order.email,
                      metadata={"order": order.number})


def remember_card(session: Session, attempt: PaymentAttempt, holder: CardHolder,
                  stripe_customer: str | None) -> None:
    """Keep the Stripe Customer the card was saved to, on the attempt and the customer."""
    if not stripe_customer:
        return
    attempt.stripe_customer_id = stripe_customer
    if holder.customer_id is not None:
        customer = session.get(Customer, holder.customer_id)
        if customer.stripe_customer_id != stripe_customer:
            customer.stripe_customer_id = stripe_customer


def saved_card(session: Session, order_id: int) -> PaymentAttempt | None:
    """The latest authorised attempt of the order whose card was saved (customer + card)."""
    return session.scalar(select(PaymentAttempt).where(
        PaymentAttempt.order_id == order_id,
        PaymentAttempt.payment_method_id.is_not(None),
        PaymentAttempt.stripe_customer_id.is_not(None),
        PaymentAttempt.status.in_(["authorised", "capturing", "captured"]),
        PaymentAttempt.stripe_id.is_not(None))
        .order_by(PaymentAttempt.id.desc()).limit(1))


def find_attempt(session: Session, stripe_id: str, *, key: str | None = None
                 ) -> PaymentAttempt | None:
    """The attempt of a PaymentIntent, by its id or else by the attempt key in its metadata
    (an attempt whose answer from Stripe was lost has no id yet)."""
    attempt = session.scalar(select(PaymentAttempt).where(PaymentAttempt.stripe_id == stripe_id))
    if attempt is None and key:
        attempt = session.scalar(select(PaymentAttempt).where(PaymentAttempt.key == key,
                                                              PaymentAttempt.stripe_id.is_(None)))
    return attempt


SETTLED = (AttemptStatus.AUTHORISED, AttemptStatus.CAPTURING, AttemptStatus.CAPTURED,
           AttemptStatus.EXPIRED, AttemptStatus.CANCELLED, AttemptStatus.VOIDED)


def challenge_over(attempt: PaymentAttempt) -> bool:
    """Nobody is completing this attempt's 3-D Secure challenge any more."""
    return utcnow() - attempt.created_at > CHALLENGE_WINDOW


def lock_attempt(session: Session, attempt_id: int) -> PaymentAttempt:
    """The attempt under its row lock, read afresh: the copy a caller holds may have been
    loaded before a webhook or another request settled it. Take the order's lock first
    (every writer of an attempt holds it), so the two are always locked in one order."""
    return session.scalar(select(PaymentAttempt).where(PaymentAttempt.id == attempt_id)
                          .with_for_update().execution_options(populate_existing=True))


def apply_result(session: Session, attempt: PaymentAttempt, result: IntentResult, *,
                 actor: audit.Actor = SYSTEM, gateway=None) -> str:
    """Bring the attempt and its order in line with Stripe's word. Safe to repeat, in any
    order: an attempt only moves forward (a late "requires action" or failure report of a
    superseded state changes nothing).

    An authorisation that arrives for an order no longer waiting for it (cancelled, or paid
    by another attempt) is voided through `gateway` when one is given, and left for staff
    with an audit event otherwise. Stripe's "processing" (the bank has not decided yet)
    leaves the attempt and its order waiting: the webhook or the expiry sweep settles them.
    Returns "authorised", "requires_action", "processing", "failed", "orphaned" or
    "unchanged".

    The order and then the attempt are locked and read afresh, and the decision is taken
    on what they are now: the caller's copy of the attempt may be older than a webhook (or
    the browser) that settled it meanwhile, and judging by it would void a live
    authorisation as "orphaned".
    """
    if attempt.purpose != "order":
        return "unchanged"  # applied by core.payments.capture, which made it
    order = orders.get_order(session, attempt.order_id, lock=True, lines=False)
    attempt = lock_attempt(session, attempt.id)  # the caller's object is refreshed too
    attempt.stripe_id = attempt.stripe_id or result.id
    attempt.updated_at = utcnow()
    if attempt.status in SETTLED:
        return "unchanged"
    if result.authorised:
        move_attempt(attempt, AttemptStatus.AUTHORISED if result.status == "requires_capture"
                     else AttemptStatus.CAPTURED)
        if not orders.mark_authorised(session, order, actor=actor, reference=result.id):
            return _orphaned(session, order, attempt, actor, gateway)
        due = order.gross_total - order.amount_prepaid  # a gift card paid the rest
        short = result.amount.amount < due
        if short and not any(h.kind == "payment_review" for h in order.active_holds):
            # The order grew while the customer was paying: too little is held.
            holds.place_hold(session, order, kind="payment_review",
                             reason_code="reauthorisation_needed", actor=actor,
                             note=f"{result.amount} authorised for {due}")
        return "authorised"
    if result.status == "requires_action":
        move_attempt(attempt, AttemptStatus.REQUIRES_ACTION)
        return "requires_action"
    if result.status == "processing":
        return "processing"  # not a failure: the attempt stays open until Stripe decides
    move_attempt(attempt, AttemptStatus.FAILED)
    attempt.error = (result.error or "The payment failed.")[:300]
    return "failed"


def _orphaned(session: Session, order: Order, attempt: PaymentAttempt, actor: audit.Actor,
              gateway) -> str:
    """An authorisation nothing needs any more: give the money back to the card."""
    voided = False
    if gateway is not None:
        try:
            voided = gateway.cancel(attempt.stripe_id).status == "canceled"
        except GatewayUnavailable:
            voided = False
    if voided:
        move_attempt(attempt, AttemptStatus.VOIDED)
    audit.record(session, "order.payment_voided" if voided else "order.void_failed",
                 actor=actor, channel=order.channel_code, subject=order,
                 data={"payment": attempt.stripe_id, "why": "authorised after the order "
                       "stopped waiting for payment"})
    return "orphaned"


def record_decline(session: Session, attempt: PaymentAttempt, message: str) -> None:
    """The attempt failed. The caller holds the order's lock and a fresh attempt."""
    move_attempt(attempt, AttemptStatus.FAILED)
    attempt.error = message[:300]
    attempt.updated_at = utcnow()


def record_failure(session: Session, attempt: PaymentAttempt, message: str, *,
                   intent_id: str | None = None) -> None:
    """A decline of an attempt made by our own code, keeping the PaymentIntent Stripe made
    for it (if it made one) for the record."""
    if intent_id and not attempt.stripe_id and session.scalar(
            select(PaymentAttempt.id).where(PaymentAttempt.stripe_id == intent_id)) is None:
        attempt.stripe_id = intent_id
    record_decline(session, attempt, message)


def abandon(session: Session, order: Order, *, actor: audit.Actor, reason: str) -> None:
    """A checkout whose payment failed: cancel the order and give the stock back, if it is
    still waiting for its payment once locked and read afresh (a webhook may have
    confirmed it since the caller loaded it)."""
    order = orders.get_order(session, order.id, lock=True)
    if order.status == "pending_payment":
        orders.cancel_order(session, order, actor=actor, reason=reason)
        restore_order_prepayments(session, order, actor)  # a gift card gets its money back
