"""Two-step sign-in for agents: TOTP authenticator apps and single-use recovery codes.

The TOTP secret is stored encrypted with a key derived from SECRET_KEY, so a database dump
alone does not reveal it. During a key rotation the functions take the keys in order, the
current SECRET_KEY first and then SECRET_KEY_FALLBACKS (`secret_keys`): a secret sealed
under an earlier key still opens, and the agent's next accepted code seals it again under
the current key, so the fallback can be dropped once everyone has signed in.

Recovery codes are random 80-bit strings kept only as SHA-256 hashes. A code is never
accepted twice (the last accepted time step is kept and only a later one passes), and
wrong codes are throttled per agent: after MAX_FAILURES in a row, no code is even looked
at until LOCK_AFTER_FAILURES has passed since the last one.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.orm import Session

from core import audit
from core.agents.models import MFA_ROLES, Agent, RecoveryCode
from core.agents.services import actor_for
from core.errors import DomainError

ISSUER = "Marketline Console"
STEP_SECONDS = 30
DRIFT_STEPS = 1  # a code of the step before or after now passes too (clock drift, typing)
MAX_FAILURES = 5
LOCK_AFTER_FAILURES = dt.timedelta(minutes=15)
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # 31 letters and digits, no 0/o, 1/l/i
_RECOVERY_LENGTH = 16  # about 79 bits: a plain hash cannot be reversed by trying them all


class CodeRefused(DomainError):
    code = "mfa_code_refused"


class TooManyCodes(DomainError):
    code = "mfa_too_many_codes"

    def __init__(self):
        super().__init__("Too many wrong codes. Wait 15 minutes, then try again, or ask an "
                         "administrator to reset your two-step sign-in.", field="code")


# --- policy ------------------------------------------------------------------------------

SET_UP = "set_up"
CODE = "code"


def idp_did_mfa(amr: object) -> bool:
    """True when an ID token's `amr` (RFC 8176) says the provider used more than one factor."""
    return isinstance(amr, (list, tuple)) and "mfa" in amr


def second_step(agent: Agent, *, required: bool, idp_mfa: bool = False) -> str | None:
    """What a sign-in by password (or by a provider without MFA) still needs: the
    authenticator's code (CODE), enrolling one first (SET_UP), or nothing (None)."""
    if idp_mfa:
        return None
    if agent.totp_enabled:
        return CODE
    if required and agent.has_role(*MFA_ROLES):
        return SET_UP
    return None


# --- the secret at rest ------------------------------------------------------------------

Keys = str | Sequence[str]  # one SECRET_KEY, or the current one then the fallbacks


def secret_keys(settings) -> list[str]:
    """The keys a sealed secret may be sealed with: SECRET_KEY, then SECRET_KEY_FALLBACKS."""
    return [settings.SECRET_KEY, *settings.secret_key_fallbacks]


def _keys(secret_key: Keys) -> list[str]:
    return [secret_key] if isinstance(secret_key, str) else list(secret_key)


def _cipher(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"marketline agent totp secrets").derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: str, secret_key: Keys) -> str:
    """Encrypt a TOTP secret (or anything short) for storage or a cookie, under the current
    key (the first, when several are given)."""
    return _cipher(_keys(secret_key)[0]).encrypt(secret.encode()).decode()


def unseal_with(token: str, secret_key: Keys) -> tuple[str | None, bool]:
    """The secret in `token` and whether it was sealed under the current key: (secret,
    True), (secret, False) when only a fallback opens it, (None, False) when none does."""
    for index, key in enumerate(_keys(secret_key)):
        try:
            return _cipher(key).decrypt(token.encode()).decode(), index == 0
        except (InvalidToken, ValueError):
            continue
    return None, False


def unseal(token: str, secret_key: Keys) -> str | None:
    """The TOTP secret in `token`, or None when it was sealed under none of the keys."""
    return unseal_with(token, secret_key)[0]


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, agent: Agent) -> str:
    """The otpauth:// URI an authenticator app reads (as text or from a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=agent.email, issuer_name=ISSUER)


def _matching_step(secret: str, code: str, now: float) -> int | None:
    totp = pyotp.TOTP(secret)
    current = int(now) // STEP_SECONDS
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _digits(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _is_totp_code(typed: str) -> bool:
    return len(typed) == 6 and typed.isascii() and typed.isdigit()


# --- enrolment ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Enrolled:
    agent: Agent
    recovery_codes: list[str]  # shown once, never stored in clear


def enrol(session: Session, agent: Agent, *, secret: str, code: str, secret_key: Keys,
          actor: audit.Actor, current_code: str | None = None,
          now: float | None = None) -> Enrolled:
    """Turn on (or replace) the agent's authenticator once `code` proves the app has `secret`.

    Replacing an authenticator also needs a code of the current one (or a recovery code).
    Gives out fresh recovery codes; earlier ones stop working. Flushes; the caller commits.
    """
    now = time.time() if now is None else now
    typed = _digits(code)
    step = _matching_step(secret, typed, now) if _is_totp_code(typed) else None
    if step is None:
        raise CodeRefused("That code does not match. Check the time on your phone and enter "
                          "the code the app shows now.", field="code")
    # The new app's code first: a wrong one must not use up the current app's code.
    replacing = agent.totp_enabled
    if replacing:
        if not (current_code or "").strip():
            raise CodeRefused("Enter a code from your current authenticator app, or one of "
                              "your recovery codes.", field="current_code")
        verify(session, agent, current_code, secret_key=secret_key, now=now,
               field="current_code")
    agent.totp_secret = seal(secret, secret_key)
    agent.totp_enabled_at = dt.datetime.fromtimestamp(now, dt.timezone.utc)
    agent.totp_last_step = max(step, agent.totp_last_step or 0)
    agent.mfa_failures = 0
    codes = _new_recovery_codes(session, agent)
    audit.record(session, "agent.mfa_replaced" if replacing else "agent.mfa_enrolled",
                 actor=actor, channel="console", subject=agent, data={"method": "totp"})
    session.flush()
    return Enrolled(agent, codes)


def renew_recovery_codes(session: Session, agent: Agent, *, code: str, secret_key: Keys,
                         actor: audit.Actor, now: float | None = None) -> list[str]:
    """New recovery codes for an enrolled agent who proves it with a current code."""
    verify(session, agent, code, secret_key=secret_key, now=now)
    codes = _new_recovery_codes(session, agent)
    audit.record(session, "agent.mfa_recovery_codes_renewed", actor=actor, channel="console",
                 subject=agent)
    session.flush()
    return codes


def reset(session: Session, agent: Agent, *, actor: audit.Actor) -> None:
    """Turn two-step sign-in off for `agent` (lost phone): the next sign-in enrols afresh."""
    agent.totp_secret = None
    agent.totp_enabled_at = None
    agent.totp_last_step = None
    agent.mfa_failures = 0
    agent.mfa_failed_at = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.agent_id == agent.id))
    audit.record(session, "agent.mfa_reset", actor=actor, channel="console", subject=agent)
    session.flush()


def _new_recovery_codes(session: Session, agent: Agent) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.agent_id == agent.id))
    codes = ["".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
             for _ in range(RECOVERY_CODES)]
    session.add_all(RecoveryCode(agent_id=agent.id, code_hash=_hash(c)) for c in codes)
    return ["-".join(c[i:i + 4] for i in range(0, _RECOVERY_LENGTH, 4)) for c in codes]


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def recovery_codes_left(session: Session, agent: Agent) -> int:
    return session.scalar(select(func.count()).select_from(RecoveryCode)
                          .where(RecoveryCode.agent_id == agent.id,
                                 RecoveryCode.used_at.is_(None))) or 0


# --- the second step ---------------------------------------------------------------------

def verify(session: Session, agent: Agent, code: str, *, secret_key: Keys,
           now: float | None = None, field: str = "code") -> str:
    """Check an authenticator code or a recovery code for `agent`; return "totp" or
    "recovery". Raises TooManyCodes (throttled) or CodeRefused; both are audited.
    `secret_key`: the current key, or it and the fallbacks (`secret_keys`).

    The caller commits in every case: the attempt counts even when the code is wrong.
    """
    now = time.time() if now is None else now
    at = dt.datetime.fromtimestamp(now, dt.timezone.utc)
    if not _take_attempt(session, agent, at):
        audit.record(session, "agent.mfa_failed", actor=actor_for(agent), channel="console",
                     subject=agent, data={"reason": "throttled"})
        raise TooManyCodes()
    typed = _digits(code)
    if _is_totp_code(typed):
        method, ok = "totp", _accept_totp(session, agent, typed, secret_key, now)
    elif len(typed) == _RECOVERY_LENGTH and typed.isascii() and typed.isalnum():
        method, ok = "recovery", _use_recovery_code(session, agent, typed, at)
    else:
        method, ok = "unknown", False
    if not ok:
        audit.record(session, "agent.mfa_failed", actor=actor_for(agent), channel="console",
                     subject=agent, data={"reason": "wrong_code", "method": method})
        session.flush()
        if method == "totp" and agent.totp_secret and unseal(agent.totp_secret,
                                                              secret_key) is None:
            raise CodeRefused("Your authenticator can no longer be checked (the server's key "
                              "changed). Use a recovery code, or ask an administrator to reset "
                              "your two-step sign-in.", field=field)
        raise CodeRefused("That code is not right. Enter the 6-digit code your authenticator "
                          "app shows now, or one of your recovery codes.", field=field)
    session.execute(update(Agent).where(Agent.id == agent.id).values(mfa_failures=0))
    agent.mfa_failures = 0
    if method == "recovery":
        audit.record(session, "agent.mfa_recovery_code_used", actor=actor_for(agent),
                     channel="console", subject=agent,
                     data={"left": recovery_codes_left(session, agent)})
    session.flush()
    return method


def _take_attempt(session: Session, agent: Agent, at: dt.datetime) -> bool:
    """Count one attempt, in one conditional UPDATE so parallel guesses cannot overtake it."""
    quiet_since = at - LOCK_AFTER_FAILURES
    stale = or_(Agent.mfa_failed_at.is_(None), Agent.mfa_failed_at < quiet_since)
    taken = session.execute(
        update(Agent)
        .where(Agent.id == agent.id, or_(Agent.mfa_failures < MAX_FAILURES, stale))
        .values(mfa_failures=case((stale, 1), else_=Agent.mfa_failures + 1), mfa_failed_at=at)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    session.refresh(agent, ["mfa_failures", "mfa_failed_at"])
    return taken


def _accept_totp(session: Session, agent: Agent, code: str, secret_key: Keys,
                 now: float) -> bool:
    sealed = agent.totp_secret
    secret, current = unseal_with(sealed, secret_key) if sealed else (None, False)
    step = _matching_step(secret, code, now) if secret else None
    if step is None:
        return False
    # Only a step later than the last one accepted passes: a code seen once (over a
    # shoulder, in a proxy log) is worthless afterwards, even within its 30 seconds.
    accepted = session.execute(
        update(Agent)
        .where(Agent.id == agent.id,
               or_(Agent.totp_last_step.is_(None), Agent.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if accepted:
        agent.totp_last_step = step
        if not current:
            _seal_again(session, agent, secret, sealed, secret_key)
    return accepted


def _seal_again(session: Session, agent: Agent, secret: str, sealed: str,
                secret_key: Keys) -> None:
    """Seal a secret opened with a fallback key under the current key, so the fallback can
    be retired. One conditional UPDATE: an authenticator replaced meanwhile is left alone."""
    resealed = seal(secret, secret_key)
    done = session.execute(
        update(Agent).where(Agent.id == agent.id, Agent.totp_secret == sealed)
        .values(totp_secret=resealed)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if done:
        agent.totp_secret = resealed
        audit.record(session, "agent.mfa_secret_resealed", actor=actor_for(agent),
                     channel="console", subject=agent, data={"reason": "secret_key_rotated"})


def _use_recovery_code(session: Session, agent: Agent, code: str, at: dt.datetime) -> bool:
    return session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.agent_id == agent.id, RecoveryCode.code_hash == _hash(code),
               RecoveryCode.used_at.is_(None))
        .values(used_at=at)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
