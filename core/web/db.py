"""A request-scoped SQLAlchemy session that rolls back unless the view commits."""
from __future__ import annotations

from flask import Flask, appcontext_pushed, current_app, g
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.local import LocalProxy

from core import tasks
from core.db import make_engine, make_session_factory

EXTENSION = "marketline.sessionmaker"
_TASKS = "marketline_task_sessions"


def init_db(app: Flask, database_url: str, session_factory: sessionmaker | None = None) -> None:
    """Give the app a session factory (tests pass one bound to their own connection)."""
    if session_factory is None:
        session_factory = make_session_factory(make_engine(database_url))
    app.extensions[EXTENSION] = session_factory
    # While this app's context is pushed (a request, a command), tasks run inline take
    # their sessions from this app's factory: one per app, never a process-wide one.
    appcontext_pushed.connect(_bind_tasks, app)

    @app.teardown_appcontext
    def _close_session(_exc):
        session = g.pop("db_session", None)
        if session is not None:
            session.close()  # rolls back whatever the view did not commit
        token = g.pop(_TASKS, None)
        if token is not None:
            tasks.unbind(token)


def _bind_tasks(app: Flask, **_kwargs) -> None:
    from core.web.payments import EXTENSION as GATEWAY
    setattr(g, _TASKS, tasks.bind_inline(app.extensions[EXTENSION],
                                         app.extensions.get(GATEWAY)))


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions[EXTENSION]()
    return g.db_session


db_session: Session = LocalProxy(get_session)  # type: ignore[assignment]
