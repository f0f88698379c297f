"""Stripe webhooks: verify, store by event id, process once, in any order, any number of times."""
from __future__ import annotations

from collections.abc import Callable

import stripe
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.db import utcnow
from core.errors import DomainError
from core.money import Money
from core.orders.models import Order
from core.payments import services as payments
from core.payments.gateway import IntentResult, PaymentGateway
from core.payments.models import StripeEvent

# What to do, in the event's transaction, with an order a card has just confirmed (the
# workflows pass theirs: a company's approvers are told of an order waiting for them).
OnConfirmed = Callable[[Session, Order], object]

TOLERANCE_SECONDS = 300
HANDLED = {"payment_intent.succeeded", "payment_intent.amount_capturable_updated",
           "payment_intent.payment_failed", "payment_intent.requires_action",
           "payment_intent.canceled"}
ACTOR = audit.Actor.system("stripe-webhook")


class BadSignature(DomainError):
    code = "bad_signature"


def verify(payload: bytes, signature: str, secret: str) -> dict:
    """The event, when the signature is right and at most five minutes old."""
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret,
                                               tolerance=TOLERANCE_SECONDS)
    except (ValueError, TypeError, stripe.SignatureVerificationError):  # TypeError: non-ASCII
        raise BadSignature("The webhook signature is not valid.") from None
    return event.to_dict()


SECRET_FIELDS = frozenset({"client_secret"})  # never kept: it lets a browser confirm the payment


def without_secrets(value):
    """A copy of the event with every secret field removed, however deep it sits (a
    PaymentIntent's, a SetupIntent's, an expanded object's)."""
    if isinstance(value, dict):
        return {k: without_secrets(v) for k, v in value.items() if k not in SECRET_FIELDS}
    if isinstance(value, list):
        return [without_secrets(v) for v in value]
    return value


def store(session: Session, event: dict) -> bool:
    """Keep the event by its id, without its secrets. True while it still needs processing
    (a redelivery of an event that was processed already answers False)."""
    try:
        with session.begin_nested():
            session.add(StripeEvent(id=event["id"], type=event["type"],
                                    payload=without_secrets(event)))
            session.flush()
    except IntegrityError:
        stored = session.get(StripeEvent, event["id"])
        return stored is not None and stored.processed_at is None
    return True


def process(session: Session, event_id: str, *, gateway: PaymentGateway | None = None,
            on_confirmed: OnConfirmed | None = None,
            on_abandoned: OnConfirmed | None = None) -> str:
    """Apply a stored event once. The event row is locked, so parallel deliveries queue.
    `on_confirmed` runs for the order the event's authorisation confirmed, in this
    transaction; `on_abandoned` for the order a failed payment cancelled (its stock freed)."""
    event = session.scalar(select(StripeEvent).where(StripeEvent.id == event_id).with_for_update()
                           .execution_options(populate_existing=True))
    if event is None or event.processed_at is not None:
        return "already processed"
    outcome = _dispatch(session, event, gateway, on_confirmed, on_abandoned)
    event.processed_at = utcnow()
    event.outcome = outcome[:200]
    return outcome


def _dispatch(session: Session, event: StripeEvent, gateway: PaymentGateway | None,
              on_confirmed: OnConfirmed | None,
              on_abandoned: OnConfirmed | None = None) -> str:
    if event.type not in HANDLED:
        return "ignored"
    intent = event.payload["data"]["object"]
    # No lock here: apply_result locks the order first, as the browser's path does, so the
    # two never wait on each other in opposite orders; it then reads the attempt again
    # under that lock and decides on what it is then, not on this early copy.
    attempt = payments.find_attempt(session, intent["id"],
                                    key=(intent.get("metadata") or {}).get("attempt"))
    if attempt is None:
        return "no such payment"
    error = (intent.get("last_payment_error") or {}).get("message", "")
    status = intent["status"]
    if event.type == "payment_intent.payment_failed" and status not in ("requires_capture", "succeeded"):
        status = "requires_payment_method"
    result = IntentResult(intent["id"], status, "",
                          Money.from_minor(int(intent["amount"]), intent["currency"].upper()), error)
    outcome = payments.apply_result(session, attempt, result, actor=ACTOR, gateway=gateway)
    if outcome == "failed":
        payments.abandon(session, attempt.order, actor=ACTOR, reason="Payment failed")
        if on_abandoned is not None and attempt.order.status == "cancelled":
            on_abandoned(session, attempt.order)
    if outcome == "authorised" and on_confirmed is not None:
        on_confirmed(session, attempt.order)
    return outcome
