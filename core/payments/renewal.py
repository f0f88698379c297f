"""Card authorisations about to expire are renewed on the saved card.

A card authorisation lives AUTHORISATION_DAYS (7 at Stripe for most cards). An order that
waits longer for its goods (a backorder) would lose it, so once a day before that, for
every confirmed or released order with something still to ship whose latest authorisation
is uncaptured and that old:

1. record a new attempt (purpose "reauthorise") for what is still to be invoiced and commit;
2. authorise that amount off-session on the card saved with the old authorisation;
3. void the old authorisation (the cardholder's money is held once, not twice).

When the bank refuses (or wants the cardholder present for 3-D Secure), the order gets a
payment_review hold (reason reauthorisation_needed) and, while it has not gone to the
warehouse yet, the old authorisation is voided and the customer is e-mailed a link to
confirm a card for the order (/pay/<token>; the order waits in payment state "unpaid", as
after a change of lines). A released order keeps the old authorisation for its last day;
if the goods ship later, the shipment's invoice is charged to the saved card and, failing
that, the customer gets a link to pay the invoice. Everything is audited.

Run it daily or more often: Celery beat does (core.tasks), or
`flask --app wsgi renew-authorisations`.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Callable

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from core import audit, events
from core.billing.models import Invoice
from core.db import utcnow
from core.orders.models import Order, OrderLine
from core.orders.states import PaymentState, move_payment
from core.payments import services as payments
from core.payments.records import (authorisation_days, current_authorisation,
                                   hold_payment_review, lock_order, void_authorisation)
from core.payments.gateway import GatewayUnavailable, PaymentDeclined, PaymentGateway
from core.payments.models import PaymentAttempt
from core.payments.states import AttemptStatus, move_attempt

RENEW_BEFORE = dt.timedelta(days=1)
RENEWABLE = ("confirmed", "in_fulfilment", "partially_shipped")
CHANNEL = "payments"
ACTOR = audit.Actor.system("authorisation renewal")


def due_for_renewal(session: Session, *, days: int, now: dt.datetime) -> list[int]:
    """Ids of uncaptured authorisations older than `days` less one day, of orders with
    something still to ship (at most 500 a run, oldest first)."""
    cutoff = now - (dt.timedelta(days=days) - RENEW_BEFORE)
    to_ship = exists().where(OrderLine.order_id == Order.id,
                             OrderLine.quantity_shipped < OrderLine.quantity)
    return list(session.scalars(
        select(PaymentAttempt.id).join(Order, Order.id == PaymentAttempt.order_id)
        .where(PaymentAttempt.purpose.in_(payments.AUTHORISING),
               PaymentAttempt.status == "authorised", PaymentAttempt.stripe_id.is_not(None),
               PaymentAttempt.created_at < cutoff, Order.status.in_(RENEWABLE),
               Order.payment_method != "on_account", to_ship)
        .order_by(PaymentAttempt.created_at).limit(500)))


def renew_authorisations(session: Session, gateway: PaymentGateway, *, commit: Callable[[], None],
                         now: dt.datetime | None = None) -> dict[str, int]:
    """Renew every authorisation about to expire; each order is committed on its own.
    Returns counts by outcome."""
    now = now or utcnow()
    counts = {"renewed": 0, "failed": 0, "released": 0, "skipped": 0, "kept": 0}
    ids = due_for_renewal(session, days=authorisation_days(gateway), now=now)
    commit()
    for attempt_id in ids:
        counts[renew(session, gateway, attempt_id, actor=ACTOR, commit=commit)] += 1
    return counts


def outstanding(session: Session, order: Order, authorised: Decimal) -> Decimal:
    """What the card must still cover: the order's total less what is invoiced already,
    never more than was authorised before."""
    invoiced = Decimal(session.scalar(select(func.coalesce(func.sum(Invoice.gross_total), 0))
                                      .where(Invoice.order_id == order.id,
                                             Invoice.kind == "invoice")) or 0)
    return max(Decimal(0), min(authorised, order.gross_total - invoiced))


def renew(session: Session, gateway: PaymentGateway, attempt_id: int, *, actor: audit.Actor,
          commit: Callable[[], None]) -> str:
    """Renew one authorisation (see the module's docstring): renewed | failed | released |
    skipped | kept (Stripe did not answer; the next run tries again with the same key)."""
    old = session.get(PaymentAttempt, attempt_id)
    order = lock_order(session, old.order_id)
    old = payments.lock_attempt(session, attempt_id)
    if (old.status != "authorised" or current_authorisation(session, order.id) is not old
            or _refused_before(session, old)):
        commit()
        return "skipped"
    pending = session.scalar(select(PaymentAttempt).where(
        PaymentAttempt.order_id == order.id, PaymentAttempt.purpose == "reauthorise",
        PaymentAttempt.status == "creating").order_by(PaymentAttempt.id.desc()).limit(1)
        .execution_options(populate_existing=True))
    if pending is None:
        amount = outstanding(session, order, old.amount)
        if amount <= 0:
            commit()
            void_authorisation(session, gateway, order.id, old, actor, commit, why="nothing left to charge")
            return "released"
        pending = payments.new_attempt(session, order, amount=amount, purpose="reauthorise",
                                       payment_method=old.payment_method_id,
                                       stripe_customer=old.stripe_customer_id)
        if not (old.payment_method_id and old.stripe_customer_id):
            return _failed(session, gateway, order, old, pending, actor, commit,
                           "No card was saved with this order's payment.")
    commit()  # the new attempt and its idempotency key exist before Stripe hears of it
    try:
        result = gateway.reauthorise(customer=pending.stripe_customer_id,
                                     payment_method=pending.payment_method_id,
                                     amount=pending.amount, currency=pending.currency,
                                     key=pending.key,
                                     metadata={"order": order.number, "attempt": pending.key})
    except GatewayUnavailable:
        return "kept"
    except PaymentDeclined as err:
        order = lock_order(session, old.order_id)
        pending = payments.lock_attempt(session, pending.id)
        if pending.status != "creating":  # another run settled it meanwhile
            commit()
            return "skipped"
        return _failed(session, gateway, order, old, pending, actor, commit, str(err),
                       intent_id=err.intent_id)
    order = lock_order(session, old.order_id)
    pending = payments.lock_attempt(session, pending.id)
    if pending.status != "creating":  # another run recorded it (and voided the old one)
        commit()
        return "skipped"
    move_attempt(pending, AttemptStatus.AUTHORISED)
    pending.stripe_id, pending.updated_at = result.id, utcnow()
    audit.record(session, "order.payment_reauthorised", actor=actor, channel=CHANNEL,
                 subject=order, data={"payment": result.id, "replaces": old.stripe_id,
                                      "amount": str(pending.amount)})
    commit()
    void_authorisation(session, gateway, order.id, old, actor, commit, why="renewed")
    return "renewed"


def _refused_before(session: Session, old: PaymentAttempt) -> bool:
    """The bank already refused to renew this authorisation: asking again every run would
    only collect declines (staff see the hold; the shipment's collection tries once more)."""
    return session.scalar(select(PaymentAttempt.id).where(
        PaymentAttempt.order_id == old.order_id, PaymentAttempt.purpose == "reauthorise",
        PaymentAttempt.status == "failed", PaymentAttempt.id > old.id).limit(1)) is not None


def _failed(session: Session, gateway: PaymentGateway, order: Order, old: PaymentAttempt,
            attempt: PaymentAttempt, actor: audit.Actor, commit: Callable[[], None],
            message: str, *, intent_id: str | None = None) -> str:
    payments.record_failure(session, attempt, message, intent_id=intent_id)
    hold_payment_review(session, order, reason_code="reauthorisation_needed", actor=actor,
                        note=f"The card authorisation could not be renewed: {message}")
    audit.record(session, "order.reauthorisation_failed", actor=actor, channel=CHANNEL,
                 subject=order, data={"payment": old.stripe_id, "error": message})
    waiting = order.status == "confirmed"  # not with the warehouse yet
    number, email, order_id = order.number, order.email, order.id
    commit()
    if waiting and void_authorisation(session, gateway, order_id, old, actor, commit,
                                      why="could not be renewed"):
        order = lock_order(session, order_id)
        move_payment(order, PaymentState.UNPAID)  # the order now waits for a card (pay link)
        # The customer is e-mailed the link once this commits (core.notifications).
        events.record(session, events.OrderCardNeeded(order_id, number, email, message))
        commit()
    return "failed"
