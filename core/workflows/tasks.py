"""Background work of the workflows: Celery beat settles abandoned checkouts."""
from __future__ import annotations

from core import tasks
from core.payments.gateway import for_task
from core.tasks import celery_app
from core.workflows.checkout_expiry import expire_abandoned


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
