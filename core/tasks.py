"""The Celery app. With REDIS_URL unset, tasks run inline in the calling process."""
from __future__ import annotations

from celery import Celery

from core.config import Settings, load_settings

celery_app = Celery("marketline", include=["core.mail"])


def configure_celery(settings: Settings) -> Celery:
    """Point Celery at Redis, or make every task run eagerly (inline) without it."""
    if settings.REDIS_URL:
        celery_app.conf.update(broker_url=settings.REDIS_URL, result_backend=settings.REDIS_URL,
                               task_always_eager=False)
    else:
        celery_app.conf.update(broker_url="memory://", result_backend="cache+memory://",
                               task_always_eager=True, task_eager_propagates=True)
    celery_app.conf.update(task_acks_late=True, task_reject_on_worker_lost=True,
                           worker_prefetch_multiplier=1, timezone="UTC",
                           broker_connection_retry_on_startup=True)
    celery_app.conf.marketline_settings = settings
    return celery_app


configure_celery(load_settings())
