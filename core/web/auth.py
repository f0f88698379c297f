"""Sign-in realms: one Flask-Login manager per app, backed by server-side sessions.

The cookie holds only the random id of a LoginSession row. Signing in clears the
cookie session and opens a new row (a new id, so a fixed id cannot be planted);
signing out deletes the row; rows expire. A realm with an idle timeout (the console)
also ends a session that has seen no request for CONSOLE_IDLE_MINUTES.

A sign-in that needs a second step (the console's two-step sign-in) is *held*: the
cookie session remembers who passed the first step, and when, but nobody is signed in
until the second step calls sign_in().
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from flask import Flask, current_app, g, request, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from sqlalchemy import bindparam, delete, select, update

from core.agents import services as agents
from core.audit import Actor
from core.auth import services as auth
from core.customers import services as customers
from core.auth.models import LoginSession
from core.db import utcnow
from core.web.db import db_session
from core.web.htmx import htmx

# Noting each request would write on every request; once a minute is as good for a
# timeout counted in minutes.
SEEN_EVERY = dt.timedelta(minutes=1)
HELD_SIGN_IN = "_held_sign_in"
HELD_FOR_SECONDS = 10 * 60  # long enough to install an authenticator app
_IDLE = "marketline_session_idle"
_WRITES = "marketline_session_writes"


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
    idle_timeout: bool = False  # end sessions after CONSOLE_IDLE_MINUTES without a request


class _LoginManager(LoginManager):
    def _session_protection_failed(self):
        """As Flask-Login, for a signed-in session only. A guest's cookie has no sign-in to
        mark as not fresh; marking it made every guest's second request rewrite the cookie,
        and a request sent alongside the one that opened the cart (the product page's price
        refresh beside its Add to cart) could then write the cookie back without the cart."""
        if "_user_id" not in session:
            return False
        return super()._session_protection_failed()

    def unauthorized(self):
        """As Flask-Login, but an htmx request gets a full-page redirect to the sign-in page
        instead of the sign-in page swapped into a fragment."""
        response = super().unauthorized()
        if htmx and 300 <= response.status_code < 400:
            response.status_code = 204
            response.headers["HX-Redirect"] = response.headers.pop("Location")
            response.set_data(b"")
        return response


def idle_message(minutes: int) -> str:
    return (f"You were signed out after {minutes} minutes without activity. "
            "Please sign in again.")


def init_auth(app: Flask, realm: Realm) -> LoginManager:
    manager = _LoginManager()
    manager.login_view = realm.login_view
    manager.login_message = "Please sign in to continue."
    manager.login_message_category = "info"
    manager.session_protection = "basic"
    manager.init_app(app)
    app.extensions["marketline.realm"] = realm
    settings = app.config["MARKETLINE"]
    idle = dt.timedelta(minutes=settings.CONSOLE_IDLE_MINUTES) if realm.idle_timeout else None
    # The sign-in page says why the agent is there when the session ended for idleness.
    manager.localize_callback = lambda message: (
        idle_message(settings.CONSOLE_IDLE_MINUTES) if g.get(_IDLE) else message)

    # Built once: each request only binds the session id and the time.
    load_session = (select(LoginSession, realm.model)
                    .join(realm.model, realm.model.id == LoginSession.user_id)
                    .where(LoginSession.id == bindparam("session_id"),
                           LoginSession.realm == realm.name,
                           LoginSession.expires_at > bindparam("now"),
                           realm.model.active.is_(True)))

    @manager.user_loader
    def _load(session_id: str):
        now = utcnow()
        row = db_session.execute(load_session, {"session_id": session_id, "now": now}).first()
        if row is None:
            return None
        login, user = row
        if idle is not None and not _still_active(login, now, idle):
            return None
        return Principal(login.id, user)

    if idle is not None:
        @app.before_request
        def _note_activity():
            # Load the user first thing, so that ending an idle session or noting this
            # request is the only write so far and may be committed on its own.
            if request.endpoint in (None, "static", "core.static", "media"):
                return
            current_user._get_current_object()
            if g.pop(_WRITES, False):
                db_session.commit()

    return manager


def _still_active(login: LoginSession, now: dt.datetime, idle: dt.timedelta) -> bool:
    """False (and the session ended) after `idle` without a request; else note this one."""
    last_seen = login.last_seen_at or login.created_at
    if now - last_seen >= idle:
        db_session.execute(delete(LoginSession).where(LoginSession.id == login.id))
        g.setdefault(_IDLE, True)
        g.setdefault(_WRITES, True)
        return False
    if now - last_seen >= SEEN_EVERY:
        db_session.execute(update(LoginSession).where(LoginSession.id == login.id)
                           .values(last_seen_at=now)
                           .execution_options(synchronize_session=False))
        g.setdefault(_WRITES, True)
    return True


def sign_in(user) -> None:
    """Start a new server-side session for `user` and put its id in a fresh cookie session.

    The caller commits.
    """
    realm: Realm = current_app.extensions["marketline.realm"]
    settings = current_app.config["MARKETLINE"]
    lifetime = dt.timedelta(minutes=settings.SESSION_LIFETIME_MINUTES)
    session.clear()  # drops the old CSRF token, a held sign-in and anything set before sign-in
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


def current_actor() -> Actor:
    """Who acts in this request, for the audit trail: the signed-in agent (console) or
    customer (storefront), else the anonymous guest."""
    user = current_account()
    if user is None:
        return Actor.anonymous()
    realm: Realm = current_app.extensions["marketline.realm"]
    if realm.name == "agent":
        return agents.actor_for(user)
    return customers.actor_for(user)


def login_limit() -> int:
    return current_app.config["MARKETLINE"].LOGIN_ATTEMPTS_PER_MINUTE


# --- a sign-in waiting for its second step ------------------------------------------------

@dataclass(frozen=True)
class HeldSignIn:
    user: object
    step: str  # what is still needed, e.g. "code" or "set_up"
    via: str  # how the first step was passed: "password" | "sso"


def hold_sign_in(user, *, step: str, via: str) -> None:
    """Remember that `user` passed the first step; nobody is signed in yet."""
    if current_user.is_authenticated:
        sign_out()
    session.clear()  # a fresh cookie session (and CSRF token) for the second step
    session[HELD_SIGN_IN] = {"user": user.id, "step": step, "via": via, "at": int(time.time())}


def held_sign_in() -> HeldSignIn | None:
    """The sign-in waiting for its second step, if it is recent and its user still active."""
    held = session.get(HELD_SIGN_IN)
    if not isinstance(held, dict) or time.time() - held.get("at", 0) > HELD_FOR_SECONDS:
        return None
    realm: Realm = current_app.extensions["marketline.realm"]
    user = db_session.get(realm.model, held.get("user"))
    if user is None or not getattr(user, "active", True):
        return None
    return HeldSignIn(user, str(held.get("step")), str(held.get("via")))


def drop_held_sign_in() -> None:
    session.pop(HELD_SIGN_IN, None)
