"""A request-scoped SQLAlchemy session that rolls back unless the view commits."""
from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.local import LocalProxy

from core.db import make_engine, make_session_factory

EXTENSION = "marketline.sessionmaker"


def init_db(app: Flask, database_url: str, session_factory: sessionmaker | None = None) -> None:
    """Give the app a session factory (tests pass one bound to their own connection)."""
    if session_factory is None:
        session_factory = make_session_factory(make_engine(database_url))
    app.extensions[EXTENSION] = session_factory
    from core.tasks import use_session_factory
    use_session_factory(session_factory)

    @app.teardown_appcontext
    def _close_session(_exc):
        session = g.pop("db_session", None)
        if session is not None:
            session.close()  # rolls back whatever the view did not commit


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions[EXTENSION]()
    return g.db_session


db_session: Session = LocalProxy(get_session)  # type: ignore[assignment]
