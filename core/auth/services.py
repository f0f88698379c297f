"""Sign-in throttling and server-side sessions, shared by customers and agents."""
from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.auth.models import LoginAttempt, LoginSession
from core.db import utcnow
from core.errors import DomainError

THROTTLE_WINDOW = dt.timedelta(minutes=1)


class TooManyAttempts(DomainError):
    code = "too_many_attempts"

    def __init__(self):
        super().__init__(
            "Too many sign-in attempts. Wait a minute, then try again "
            "or reset your password."
        )


def throttle_keys(realm: str, email: str, remote_addr: str | None) -> list[str]:
    keys = [f"{realm}:email:{email.strip().lower()}"]
    if remote_addr:
        keys.append(f"{realm}:ip:{remote_addr}")
    return keys


def check_throttle(session: Session, keys: list[str], *, limit: int) -> None:
    """Raise TooManyAttempts when any key failed `limit` times within the window.

    Called before the password is looked at, so a throttled guess costs no hash.
    The address limit is wider than the e-mail one: an office shares one address.
    """
    since = utcnow() - THROTTLE_WINDOW
    rows = session.execute(
        select(LoginAttempt.key, func.count())
        .where(LoginAttempt.key.in_(keys), LoginAttempt.at > since)
        .group_by(LoginAttempt.key)
    ).all()
    for key, count in rows:
        key_limit = limit * 5 if ":ip:" in key else limit
        if count >= key_limit:
            raise TooManyAttempts()


def note_failure(session: Session, keys: list[str]) -> None:
    """Remember a failed attempt for each key, and forget attempts past the window."""
    now = utcnow()
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - THROTTLE_WINDOW * 10))
    session.add_all(LoginAttempt(key=key, at=now) for key in keys)


def clear_failures(session: Session, keys: list[str]) -> None:
    session.execute(delete(LoginAttempt).where(LoginAttempt.key.in_(keys[:1])))


def start_session(session: Session, *, realm: str, user_id: int, lifetime: dt.timedelta,
                  user_agent: str = "") -> LoginSession:
    """Open a fresh session with a new random id (never reuse one from before sign-in)."""
    now = utcnow()
    session.execute(delete(LoginSession).where(LoginSession.realm == realm,
                                               LoginSession.user_id == user_id,
                                               LoginSession.expires_at < now))
    login = LoginSession(id=secrets.token_urlsafe(32), realm=realm, user_id=user_id,
                         created_at=now, expires_at=now + lifetime, user_agent=user_agent[:300])
    session.add(login)
    return login


def end_session(session: Session, session_id: str) -> None:
    session.execute(delete(LoginSession).where(LoginSession.id == session_id))


def end_all_sessions(session: Session, *, realm: str, user_id: int) -> None:
    """Sign a user out everywhere (after a password reset)."""
    session.execute(delete(LoginSession).where(LoginSession.realm == realm,
                                               LoginSession.user_id == user_id))


class BadCredentials(DomainError):
    code = "bad_credentials"

    def __init__(self):
        super().__init__("That e-mail and password do not match an account.", field="password")


def sign_in(session: Session, *, realm: str, user, email: str, password: str,
            remote_addr: str | None, limit: int):
    """Check a password for `user` (None when the e-mail is unknown), with throttling.

    Raises TooManyAttempts before looking at the password when the limit is reached,
    BadCredentials on a wrong password. Returns the user on success.
    """
    from core.auth.passwords import verify_password

    keys = throttle_keys(realm, email, remote_addr)
    check_throttle(session, keys, limit=limit)
    active = user is not None and getattr(user, "active", True)
    if not verify_password(user.password_hash if active else None, password):
        note_failure(session, keys)
        raise BadCredentials()
    clear_failures(session, keys)
    return user
