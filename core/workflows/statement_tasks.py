"""The monthly statements of account (Celery beat, hourly: it sends on STATEMENT_DAY, each once)."""
from __future__ import annotations

from core import tasks
from core.credit import statement_sends
from core.tasks import celery_app


@celery_app.task(name="marketline.send_monthly_statements")
def send_monthly_statements() -> int:
    """Every hour (Celery beat): on STATEMENT_DAY, last month's statements, each once."""
    context = tasks.context()
    with context.session() as session:
        # commits each batch of sends itself (their mails go then)
        return statement_sends.send_monthly(session,
                                            statement_day=context.settings.STATEMENT_DAY)
