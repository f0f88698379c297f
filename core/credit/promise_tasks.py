"""Background work of collections: the daily review of promises to pay (Celery beat)."""
from __future__ import annotations

from core import tasks
from core.credit.collections import review_promises
from core.tasks import celery_app


@celery_app.task(name="marketline.review_promises")
def review_promises_task() -> dict:
    """Every day: open promises to pay whose payments reached their amount become kept;
    those whose day passed short become broken. Idempotent."""
    with tasks.context().session() as session:
        counts = review_promises(session)
        session.commit()
        return counts
