"""Sign-in throttling and server-side sessions, shared by customers and agents.

Throttling backs off instead of locking an account: every attempt is counted before the
password is looked at (core.ratelimit, one atomic upsert per key, so a burst of parallel
guesses cannot all reach the hash), against three budgets that refill with time:
- the e-mail from this address: LOGIN_ATTEMPTS_PER_MINUTE at once, twice that in 15
  minutes, three times in an hour. Only this pair waits, ever longer;
- the address, for every e-mail: five, ten and twenty times as many (an office shares one);
- the e-mail from anywhere: twice as many in 10 minutes, unless the account signed in
  from this address before (within 30 days). Past it, guesses from new addresses wait
  until the budget refills; they are never refused for good, and a known address never.
A right password gives its attempt back (and starts the pair afresh), so only wrong ones
count. A refused attempt counts nothing and costs no hash; its message says how long to wait.
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Callable

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete
from sqlalchemy.orm import Session

from core import ratelimit
from core.auth import passwords
from core.auth.models import LoginSession
from core.db import utcnow
from core.errors import DomainError, InvalidInput
from core.ratelimit import MINUTE, HOUR, RateLimited, Rule

# (multiple of LOGIN_ATTEMPTS_PER_MINUTE, seconds) per budget; see the module docstring.
PAIR_BUDGET = ((1, MINUTE), (2, 15 * MINUTE), (3, HOUR))
ADDRESS_BUDGET = ((5, MINUTE), (10, 15 * MINUTE), (20, HOUR))
ACCOUNT_BUDGET = ((2, 10 * MINUTE),)
KNOWN_ADDRESS_SECONDS = 30 * 24 * HOUR


def normalise_email(raw: str) -> str:
    """Lower-cased, syntax-checked e-mail, as customers and agents sign in with it; raises
    InvalidInput with a readable message."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as err:
        raise InvalidInput(f"Enter a valid e-mail address ({err}).", field="email") from None


class TooManyAttempts(RateLimited):
    code = "too_many_attempts"

    def __init__(self, retry_after: int = MINUTE, *, realm: str = "customer"):
        reset = ", or reset your password" if realm == "customer" else ""
        super().__init__(f"Too many sign-in attempts. Try again in {{wait}}{reset}.",
                         retry_after=retry_after)


def _checks(budget, action: str, scope: str, value: str, limit: int):
    rules = [Rule(limit * times, seconds) for times, seconds in budget]
    return [(ratelimit.key(action, scope, value, rule), rule) for rule in rules]


def _known_key(realm: str, email: str, address: str) -> str:
    return ratelimit.key(f"signin-{realm}", "known", f"{email} {address}",
                         Rule(1, KNOWN_ADDRESS_SECONDS))


@dataclass
class Attempt:
    """A counted sign-in attempt and the budgets it took from."""

    realm: str
    email: str
    address: str
    pair: list[tuple[str, Rule]]
    shared: list[tuple[str, Rule]]

    def succeeded(self, session: Session, *, now: dt.datetime | None = None) -> None:
        """The password was right: give the attempt back, start the pair afresh and
        remember the address for the account."""
        ratelimit.forget(session, [k for k, _ in self.pair])
        ratelimit.give_back(session, self.shared)
        ratelimit.remember(session, _known_key(self.realm, self.email, self.address),
                           seconds=KNOWN_ADDRESS_SECONDS, now=now)


def admit_attempt(session: Session, *, realm: str, email: str, remote_addr: str | None,
                  limit: int, now: dt.datetime | None = None) -> Attempt:
    """Count a sign-in attempt before its password is checked; TooManyAttempts (nothing
    counted) when a budget is spent. The caller commits before hashing, to let go of the
    counters' row locks."""
    email = email.strip().lower()
    address = ratelimit.client_address(remote_addr)
    action = f"signin-{realm}"
    attempt = Attempt(
        realm, email, address,
        pair=_checks(PAIR_BUDGET, action, "pair", f"{email} {address}", limit),
        shared=_checks(ADDRESS_BUDGET, action, "address", address, limit))
    if not ratelimit.remembered(session, _known_key(realm, email, address), now=now):
        attempt.shared += _checks(ACCOUNT_BUDGET, action, "account", email, limit)
    refusal = ratelimit.consume(session, attempt.pair + attempt.shared, now=now)
    if refusal is not None:
        raise TooManyAttempts(refusal.retry_after, realm=realm)
    return attempt


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
            remote_addr: str | None, limit: int, commit: Callable[[], None] | None = None,
            now: dt.datetime | None = None):
    """Check a password for `user` (None when the e-mail is unknown), with throttling.

    The attempt is counted first (and `commit` called, when given, so parallel attempts
    wait on the counters only for that long). Raises TooManyAttempts before looking at the
    password when a budget is spent, BadCredentials on a wrong password. Returns the user.
    """
    attempt = admit_attempt(session, realm=realm, email=email, remote_addr=remote_addr,
                            limit=limit, now=now)
    if commit is not None:
        commit()
    active = user is not None and getattr(user, "active", True)
    if not passwords.verify_password(user.password_hash if active else None, password):
        raise BadCredentials()
    attempt.succeeded(session, now=now)
    return user
