"""Background work of payments: card authorisations renewed. (Stripe events are processed
by core.workflows.tasks.process_stripe_event: what follows a card's confirmation spans
packages.)"""
from __future__ import annotations

from core import tasks
from core.payments.gateway import PaymentGateway, for_task
from core.tasks import celery_app


@celery_app.task(name="marketline.renew_card_authorisations")
def renew_card_authorisations() -> dict:
    """Every hour (Celery beat): renew card authorisations about to expire, ask Stripe again
    about collections and card refunds whose answer was lost."""
    context = tasks.context()
    gateway = for_task(context)
    with context.session() as session:
        return card_upkeep(session, gateway, commit=session.commit)


def card_upkeep(session, gateway: PaymentGateway, *, commit) -> dict:
    """What the hourly task and `flask renew-authorisations` do; counts by outcome."""
    from core.payments.capture import resume_collections
    from core.payments.refunds import resume_pending_refunds
    from core.payments.renewal import renew_authorisations
    counts = renew_authorisations(session, gateway, commit=commit)
    counts["collections resumed"] = resume_collections(session, gateway, commit=commit)
    counts["refunds resumed"] = resume_pending_refunds(session, gateway, commit=commit)
    return counts
