"""Sign-in realms: one Flask-Login manager per app, backed by server-side sessions.

The cookie holds only the random id of a LoginSession row. Signing in clears the
cookie session and opens a new row (a new id, so a fixed id cannot be planted);
signing out deletes the row; rows expire.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import Flask, current_app, request, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from sqlalchemy import select

from core.auth import services as auth
from core.auth.models import LoginSession
from core.db import utcnow
from core.web.db import db_session


@dataclass
class Principal(UserMixin):
    """The signed-in person of this request: the session id and the user row."""

    session_id: str
    user: object

    def get_id(self) -> str:
        return self.session_id


@dataclass(frozen=True)
class Realm:
    name: str  # "customer" | "agent"
    model: type
    login_view: str


def init_auth(app: Flask, realm: Realm) -> LoginManager:
    manager = LoginManager()
    manager.login_view = realm.login_view
    manager.login_message = "Please sign in to continue."
    manager.login_message_category = "info"
    manager.session_protection = "basic"
    manager.init_app(app)
    app.extensions["marketline.realm"] = realm

    @manager.user_loader
    def _load(session_id: str):
        row = db_session.execute(
            select(LoginSession, realm.model)
            .join(realm.model, realm.model.id == LoginSession.user_id)
            .where(LoginSession.id == session_id, LoginSession.realm == realm.name,
                   LoginSession.expires_at > utcnow(), realm.model.active.is_(True))
        ).first()
        return Principal(row[0].id, row[1]) if row else None

    return manager


def sign_in(user) -> None:
    """Start a new server-side session for `user` and put its id in a fresh cookie session.

    The caller commits.
    """
    realm: Realm = current_app.extensions["marketline.realm"]
    settings = current_app.config["MARKETLINE"]
    lifetime = dt.timedelta(minutes=settings.SESSION_LIFETIME_MINUTES)
    session.clear()  # drops the old CSRF token and anything set before sign-in
    session.permanent = True
    login = auth.start_session(db_session, realm=realm.name, user_id=user.id, lifetime=lifetime,
                               user_agent=request.headers.get("User-Agent", ""))
    login_user(Principal(login.id, user))


def sign_out() -> None:
    """End the server-side session and clear the cookie. The caller commits."""
    if current_user.is_authenticated:
        auth.end_session(db_session, current_user.session_id)
    logout_user()
    session.clear()


def current_account():
    """The signed-in user row of this realm, or None."""
    return current_user.user if current_user.is_authenticated else None


def login_limit() -> int:
    return current_app.config["MARKETLINE"].LOGIN_ATTEMPTS_PER_MINUTE


