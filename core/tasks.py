"""The Celery app. With REDIS_URL unset, tasks run inline in the calling process."""
from __future__ import annotations

from celery import Celery

from core.config import Settings, load_settings

celery_app = Celery("marketline", include=["core.mail", "core.payments.tasks",
                                          "core.billing.notify", "core.notifications",
                                          "core.workflows.tasks"])
celery_app.conf.beat_schedule = {
    "expire-abandoned-checkouts": {"task": "marketline.expire_abandoned_checkouts",
                                   "schedule": 300.0},
    "renew-card-authorisations": {"task": "marketline.renew_card_authorisations",
                                  "schedule": 3600.0},
}
_session_factory = None


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


def use_session_factory(factory) -> None:
    """Tasks run inline share the web app's session factory (tests bind it to their connection)."""
    global _session_factory
    _session_factory = factory


def task_session():
    """A new session for a task; a worker makes its engine from DATABASE_URL on first use."""
    global _session_factory
    if _session_factory is None:
        from core.db import make_engine, make_session_factory
        _session_factory = make_session_factory(
            make_engine(celery_app.conf.marketline_settings.DATABASE_URL))
    return _session_factory()
