"""Rate limits kept in the database, so they hold across every web process and machine.

A rule allows `limit` hits in a window of `seconds` that opens with the first hit; once the
limit is reached, further hits are refused until the window closes, and the next hit opens
a new one. Each key (an action, what it is counted per, and the value: a client address,
an e-mail, an order) is one row: how many hits its window holds, and when it closes. A hit is one statement,

    INSERT … ON CONFLICT (key) DO UPDATE SET (a new window if the old one closed, else
        count + 1) WHERE the window closed OR count < limit  RETURNING count

so the row is created or counted up under its row lock, and no row comes back when the
limit is reached: parallel requests cannot all pass before one of them is counted. A
refused hit counts nothing, so waiting the time the refusal names is always enough.
Several keys are counted all or none (a savepoint).

Keys are hashed: no e-mail or client address is stored in clear. A row whose window has
closed means the same as no row; such rows are deleted now and then, by an indexed range.
A rule with a limit of 0 is off.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import random
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Sequence

from sqlalchemy import BigInteger, String, case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.config import Settings
from core.db import Base, utcnow
from core.errors import DomainError

MINUTE, HOUR = 60, 3600
CLEAN_ONE_IN = 200  # hits; each cleaning deletes the rows whose time has passed


class RateCounter(Base):
    """One key's window: when it closes (ms since the epoch) and the hits it holds."""

    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    closes: Mapped[int] = mapped_column(BigInteger, index=True)
    count: Mapped[int] = mapped_column(default=1)


@dataclass(frozen=True)
class Rule:
    """At most `limit` hits in a window of `seconds` (0: no limit)."""

    limit: int
    seconds: int

    @property
    def period_ms(self) -> int:
        return self.seconds * 1000


def wait_text(seconds: int) -> str:
    """'40 seconds', '3 minutes', '2 hours': how long a person has to wait."""
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    if minutes < 120:
        return f"{minutes} minutes"
    return f"{-(-minutes // 60)} hours"


class RateLimited(DomainError):
    """Too many requests of one kind: the message says how long to wait."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, field: str | None = None):
        self.retry_after = max(1, int(retry_after))
        if "{wait}" not in message:
            message += " Try again in {wait}."
        super().__init__(message.replace("{wait}", wait_text(self.retry_after)), field=field)


def client_address(remote_addr: object) -> str:
    """The address a limit counts: an IPv4 address, or the /64 network of an IPv6 one (a
    single subscriber usually holds a whole /64)."""
    try:
        ip = ipaddress.ip_address(str(remote_addr or "").strip())
    except ValueError:
        return str(remote_addr or "unknown")[:100]
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def key(action: str, scope: str, value: object, rule: Rule) -> str:
    """The row key of `rule` for one action, counted per `scope` (address, e-mail...)."""
    digest = hashlib.sha256(f"{scope}\0{value}".encode()).hexdigest()[:32]
    return f"{action}:{scope}:{rule.seconds}:{digest}"


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def _now_ms(now: dt.datetime | None) -> int:
    return ((now or utcnow()) - EPOCH) // dt.timedelta(milliseconds=1)


def _insert(session: Session):
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _hit(session: Session, row_key: str, rule: Rule, now: int) -> bool:
    """Count one hit on `row_key` if its window allows; False (nothing counted) if not."""
    closed = RateCounter.closes <= now
    stmt = _insert(session)(RateCounter).values(key=row_key, closes=now + rule.period_ms,
                                               count=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[RateCounter.key],
        set_={"closes": case((closed, now + rule.period_ms), else_=RateCounter.closes),
              "count": case((closed, 1), else_=RateCounter.count + 1)},
        where=or_(closed, RateCounter.count < rule.limit),
    ).returning(RateCounter.count)
    return session.execute(stmt).first() is not None


def _wait_seconds(session: Session, row_key: str, now: int) -> int:
    closes = session.scalar(select(RateCounter.closes).where(RateCounter.key == row_key))
    return max(1, -(-((closes or now) - now) // 1000))


@dataclass(frozen=True)
class Refusal:
    key: str
    retry_after: int  # seconds


def consume(session: Session, checks: Sequence[tuple[str, Rule]], *,
            now: dt.datetime | None = None) -> Refusal | None:
    """Count one hit on every (row key, rule), all or none. Returns None when every budget
    allowed it, else the refusal with the longest wait. The caller commits (soon: the rows
    stay locked until then)."""
    moment = _now_ms(now)
    checks = [(k, r) for k, r in checks if r.limit > 0]
    savepoint = session.begin_nested()
    try:
        refused = [(k, r) for k, r in checks if not _hit(session, k, r, moment)]
        if refused:
            waits = [Refusal(k, _wait_seconds(session, k, moment)) for k, _ in refused]
            savepoint.rollback()
            return max(waits, key=lambda w: w.retry_after)
        savepoint.commit()
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    if random.randrange(CLEAN_ONE_IN) == 0:
        clean(session, now=now)
    return None


def give_back(session: Session, checks: Iterable[tuple[str, Rule]]) -> None:
    """Undo one counted hit on each key (a sign-in that turned out right)."""
    keys = [k for k, rule in checks if rule.limit > 0]
    session.execute(update(RateCounter).where(RateCounter.key.in_(keys), RateCounter.count > 0)
                    .values(count=RateCounter.count - 1))


def forget(session: Session, keys: Iterable[str]) -> None:
    """Give these keys their whole budget back."""
    session.execute(delete(RateCounter).where(RateCounter.key.in_(list(keys))))


def remember(session: Session, row_key: str, *, seconds: int,
             now: dt.datetime | None = None) -> None:
    """Keep a marker row for `seconds` (e.g. an address a user signed in from)."""
    moment = _now_ms(now)
    stmt = _insert(session)(RateCounter).values(key=row_key, closes=moment + seconds * 1000,
                                               count=1)
    session.execute(stmt.on_conflict_do_update(
        index_elements=[RateCounter.key], set_={"closes": moment + seconds * 1000, "count": 1}))


def remembered(session: Session, row_key: str, *, now: dt.datetime | None = None) -> bool:
    """Whether a marker row is still there."""
    return session.scalar(select(RateCounter.key).where(
        RateCounter.key == row_key, RateCounter.closes > _now_ms(now))) is not None


def clean(session: Session, *, now: dt.datetime | None = None) -> int:
    """Delete the rows whose window has closed (they mean a full budget anyway)."""
    result = session.execute(delete(RateCounter).where(RateCounter.closes <= _now_ms(now)))
    return result.rowcount or 0


# -- the shop's named limits -------------------------------------------------------------------

@dataclass(frozen=True)
class Action:
    """What a limit protects, its message, the form field it belongs to, and its rules per
    scope ('address' is the client's address; others are an account, e-mail, order...)."""

    name: str
    message: str
    rules: dict[str, tuple[Rule, ...]]
    field: str | None = None


def _part(total: int, divisor: int) -> int:
    return 0 if total <= 0 else max(1, total // divisor)


def _actions(s: Settings) -> dict[str, Action]:
    pay, codes, mails = (s.RATE_LIMIT_PAYMENTS_PER_HOUR, s.RATE_LIMIT_CODES_PER_MINUTE,
                         s.RATE_LIMIT_ACCOUNT_MAILS_PER_HOUR)
    one = _part(pay, 3)  # per cart, order, invoice or account: a third of an address's
    paying = "Too many payment attempts in a short time."
    code_rules = (Rule(codes, MINUTE), Rule(codes * 5, HOUR))
    actions = [
        # Each card payment tried costs a call to Stripe and, at checkout, reserves stock.
        Action("checkout", paying, {"address": (Rule(pay, HOUR),), "cart": (Rule(one, HOUR),),
                                    "account": (Rule(one, HOUR),)}),
        Action("pay_order", paying, {"address": (Rule(pay, HOUR),), "order": (Rule(one, HOUR),)}),
        Action("pay_invoice", paying, {"address": (Rule(pay, HOUR),),
                                       "invoice": (Rule(one, HOUR),),
                                       "account": (Rule(one, HOUR),)}),
        # After 3-D Secure, or while the bank decides (polled every 1.5 s).
        Action("payment_check", "Too many payment checks in a short time.",
               {"address": (Rule(pay * 4, HOUR),), "subject": (Rule(pay * 2, HOUR),)}),
        # A Stripe SetupIntent for a card form, made when the card form is used.
        Action("card_setup", "The card form was opened too often in a short time.",
               {"address": (Rule(pay * 2, HOUR),), "subject": (Rule(one * 2, HOUR),),
                "account": (Rule(pay * 2, HOUR),)}, field="card"),
        Action("coupon", "Too many coupon codes tried in a short time.",
               {"address": code_rules, "account": code_rules}, field="code"),
        Action("gift_card", "Too many gift card checks in a short time.",
               {"address": code_rules}, field="code"),
        # Per address, and per order number and e-mail together (see lookup_guest_order).
        Action("lookup", "Too many look-ups in a short time.",
               {"address": code_rules, "order": (Rule(codes, HOUR),)}),
        # Per e-mail too: registering an address that has an account e-mails its owner.
        Action("register", "Too many new accounts asked for in a short time.",
               {"address": (Rule(mails, HOUR),), "email": (Rule(_part(mails, 3), HOUR),)},
               field="email"),
        Action("password_reset", "Too many password reset requests in a short time.",
               {"address": (Rule(mails, HOUR),), "email": (Rule(_part(mails, 3), HOUR),)},
               field="email"),
        # company: invitations and e-mail changes mail an address someone else typed.
        Action("invite", "Too many invitations sent in a short time.",
               {"address": (Rule(mails * 2, HOUR),), "account": (Rule(mails, HOUR),)},
               field="email"),
        Action("email_change", "Too many e-mail changes asked for in a short time.",
               {"address": (Rule(mails, HOUR),), "account": (Rule(_part(mails, 3), HOUR),)},
               field="new_email"),
    ]
    return {a.name: a for a in actions}


@dataclass(frozen=True)
class Limits:
    """The shop's named limits, their numbers from settings (RATE_LIMIT_*)."""

    actions: dict[str, Action] = field(default_factory=dict)

    def checks(self, action: str, subjects: dict[str, object]) -> list[tuple[str, Rule]]:
        found = self.actions[action]
        checks = []
        for scope, value in subjects.items():
            if scope == "address":  # always counted: an unknown address is one address
                value = client_address(value)
            elif value is None or value == "":
                continue  # e.g. no account for a guest
            elif isinstance(value, str):
                value = value.strip().lower()
            checks += [(key(action, scope, value, rule), rule) for rule in found.rules[scope]]
        return checks

    def hit(self, session: Session, action: str, *, now: dt.datetime | None = None,
            **subjects: object) -> None:
        """Count one request of `action` per subject (address=..., email=..., order=...);
        raise RateLimited, counting nothing, when any budget is spent. The caller commits
        soon, whatever happens next, so the hit stays counted."""
        refusal = consume(session, self.checks(action, subjects), now=now)
        if refusal is not None:
            found = self.actions[action]
            raise RateLimited(found.message, retry_after=refusal.retry_after, field=found.field)


@lru_cache(maxsize=16)
def limits_for(settings: Settings) -> Limits:
    return Limits(_actions(settings))


def default_limits() -> Limits:
    """The limits with the default numbers (for callers that have no settings at hand)."""
    return limits_for(Settings(DATABASE_URL=""))
