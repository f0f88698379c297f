"""Background work of the workflows: Stripe events are applied, Celery beat settles
abandoned checkouts, expires quotes and releases holds whose until-day came."""
from __future__ import annotations

import logging

from core import tasks
# Importing the webhook task registers the payments' own tasks with the app, as before.
from core.payments import tasks as _payment_tasks  # noqa: F401
from core.payments import webhooks
from core.payments.gateway import for_task
from core.tasks import celery_app
from core.workflows.card_payments import after_card_confirmation
from core.workflows.checkout_expiry import expire_abandoned
from core.workflows.stock_changes import after_abandoned

log = logging.getLogger("marketline.payments")


@celery_app.task(name="marketline.process_stripe_event", autoretry_for=(Exception,),
                 retry_backoff=True, max_retries=8)
def process_stripe_event(event_id: str) -> str:
    """Apply one stored Stripe event (once, however often it is queued); an order its
    authorisation confirms is followed up as the browser's path does (a company's
    approvers told of an order waiting for them: the buyer may never come back from
    3-D Secure)."""
    context = tasks.context()
    gateway = for_task(context)
    with context.session() as session:
        outcome = webhooks.process(session, event_id, gateway=gateway,
                                   on_confirmed=after_card_confirmation,
                                   on_abandoned=after_abandoned)
        session.commit()
    log.info("stripe event %s: %s", event_id, outcome)
    return outcome


@celery_app.task(name="marketline.expire_abandoned_checkouts")
def expire_abandoned_checkouts() -> dict:
    """Every few minutes (Celery beat): settle checkouts that never finished paying."""
    context = tasks.context()
    gateway = for_task(context)
    with context.session() as session:
        return expire_abandoned(session, gateway, commit=session.commit)


@celery_app.task(name="marketline.expire_due_quotes")
def expire_due_quotes() -> int:
    """Every hour (Celery beat): sent quotes past their expiry date become expired."""
    from core.quotes.services import expire_due_quotes as expire
    context = tasks.context()
    with context.session() as session:
        moved = expire(session)
        session.commit()
        return moved


@celery_app.task(name="marketline.release_due_holds")
def release_due_holds() -> int:
    """Every hour (Celery beat): manual holds whose until-day has come are released."""
    from core.orders.holds import release_due_holds as release
    context = tasks.context()
    with context.session() as session:
        released = release(session)
        session.commit()
        return released
