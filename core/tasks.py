"""The Celery app, and what its tasks run with. With REDIS_URL unset, tasks run inline.

Tasks are the composition edge of background work: services take `settings` and a session
as arguments, and only a task's entry point obtains them, from `context()`:

* the settings are the ones given to `configure_celery` (a worker's, from its
  environment; a web process's, from the app that create_base_app built);
* sessions come from the session factory of the app whose request or command queued
  the task inline (each app binds its own while its application context is pushed:
  `inline_with`), else from the worker's own engine, made from DATABASE_URL.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from celery import Celery
from sqlalchemy.orm import Session

from core.config import Settings, load_settings

celery_app = Celery("marketline", include=["core.reporting", "core.payments.tasks",
                                          "core.notifications", "core.workflows.tasks",
                                          "core.workflows.statement_tasks",
                                          "core.credit.promise_tasks",
                                          "core.workflows.dunning_runs"])
celery_app.conf.beat_schedule = {
    "expire-abandoned-checkouts": {"task": "marketline.expire_abandoned_checkouts",
                                   "schedule": 300.0},
    "renew-card-authorisations": {"task": "marketline.renew_card_authorisations",
                                  "schedule": 3600.0},
    "expire-due-quotes": {"task": "marketline.expire_due_quotes", "schedule": 3600.0},
    "release-due-holds": {"task": "marketline.release_due_holds", "schedule": 3600.0},
    "send-monthly-statements": {"task": "marketline.send_monthly_statements",
                                "schedule": 3600.0},  # sends on STATEMENT_DAY, once each
    "review-promises-to-pay": {"task": "marketline.review_promises", "schedule": 86400.0},
}


@dataclass
class WorkerContext:
    """The settings a task runs with and where its sessions come from (see the module)."""

    settings: Settings
    session_factory: Callable[[], Session] | None = None
    gateway: object | None = None  # the payment gateway of the app that queued it inline
    _own: Callable[[], Session] | None = field(default=None, repr=False)

    def session(self) -> Session:
        """A new session for a task; without a factory, one from the worker's own engine."""
        if self.session_factory is not None:
            return self.session_factory()
        if self._own is None:
            from core.db import make_engine, make_session_factory
            self._own = make_session_factory(make_engine(self.settings.DATABASE_URL))
        return self._own()


_configured: WorkerContext | None = None
_inline: ContextVar[Callable[[], Session] | None] = ContextVar("marketline_task_sessions",
                                                               default=None)
_inline_gateway: ContextVar[object | None] = ContextVar("marketline_task_gateway", default=None)


def configure_celery(settings: Settings) -> Celery:
    """Point Celery at Redis, or make every task run eagerly (inline) without it; tasks
    run with these settings."""
    global _configured
    from core import clock, labels
    labels.set_shop_timezone(settings.SHOP_TIMEZONE)  # e-mails and PDFs a worker renders
    clock.set_business_timezone(settings.CONSOLE_TIMEZONE)  # the business day's boundary
    if settings.REDIS_URL:
        celery_app.conf.update(broker_url=settings.REDIS_URL, result_backend=settings.REDIS_URL,
                               task_always_eager=False)
    else:
        celery_app.conf.update(broker_url="memory://", result_backend="cache+memory://",
                               task_always_eager=True, task_eager_propagates=True)
    celery_app.conf.update(task_acks_late=True, task_reject_on_worker_lost=True,
                           worker_prefetch_multiplier=1, timezone="UTC",
                           broker_connection_retry_on_startup=True)
    if _configured is None or _configured.settings != settings:
        _configured = WorkerContext(settings)
    return celery_app


configure_celery(load_settings())


def context() -> WorkerContext:
    """What the running task uses: the configured settings, and the sessions of the app
    that queued it inline (else the worker's own)."""
    assert _configured is not None
    factory = _inline.get()
    if factory is None:
        return _configured
    return WorkerContext(_configured.settings, factory, _inline_gateway.get())


@contextmanager
def inline_with(session_factory: Callable[[], Session]) -> Iterator[None]:
    """Tasks run inline inside this block take their sessions from `session_factory`."""
    token = _inline.set(session_factory)
    try:
        yield
    finally:
        _inline.reset(token)


def bind_inline(session_factory: Callable[[], Session], gateway: object | None = None):
    """Like `inline_with`, for a caller that cannot use a `with` block: core.web binds its
    app's session factory and payment gateway when its application context is pushed, so
    a task run inline (a Stripe event, say) uses the app's gateway too. Pass the result
    to `unbind`."""
    return _inline.set(session_factory), _inline_gateway.set(gateway)


def unbind(tokens) -> None:
    for var, token in zip((_inline, _inline_gateway), tokens):
        try:
            var.reset(token)
        except ValueError:  # set in another context (thread): it ends with that context
            pass
