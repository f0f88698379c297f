"""Setting a customer's credit limit and its review date: who may, and the audit trail.

Every change of the limit or the review date writes a CreditLimitChange row (before and
after of both, the note, who and when: the credit page's limit history) besides the audit
event. A limit set without a review date is reviewed CREDIT_REVIEW_MONTHS later; a review
date is never in the past (a review past due is a blocking rule: core.credit.checks).
`mark_reviewed` records a review that keeps the limit: a new review date and a note.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, clock
from core.credit.models import CreditLimitChange
from core.customers.models import Customer
from core.errors import DomainError

# The credit team decides limits; a supervisor (who may also release credit holds when
# they hold the credit role) and admin may set them too.
ROLES = frozenset({"credit", "supervisor", "admin"})
MAX_LIMIT = Decimal("100000000")
NOTE_MAX = 300
# How far ahead a review date may be set.
MAX_REVIEW_YEARS = 5


class CreditLimitError(DomainError):
    code = "credit_limit"


class CreditLimitNotAllowed(CreditLimitError):
    code = "credit_limit_not_allowed"


def may_set(roles: Collection[str]) -> bool:
    return bool(ROLES.intersection(roles))


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` `months` later, on the month's last day when it has no such day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def default_review_on(settings, today: dt.date | None = None) -> dt.date:
    return add_months(today or clock.today(), settings.CREDIT_REVIEW_MONTHS)


def _check(roles: Collection[str]) -> None:
    if not may_set(roles):
        raise CreditLimitNotAllowed("Only an agent with the credit or supervisor role can "
                                    "change a credit limit.")


def _check_review(review_on: dt.date, today: dt.date) -> None:
    if review_on < today:
        raise CreditLimitError("The review date cannot be in the past: choose today or a "
                               "later day.", field="review_on")
    if review_on > add_months(today, 12 * MAX_REVIEW_YEARS):
        raise CreditLimitError(f"Review the credit at least every {MAX_REVIEW_YEARS} years: "
                               "choose an earlier review date.", field="review_on")


def _note(note: str | None) -> str:
    note = " ".join((note or "").split())
    if len(note) > NOTE_MAX:
        raise CreditLimitError(f"Keep the note to {NOTE_MAX} characters.", field="note")
    return note


def _write(session: Session, customer: Customer, *, limit: Decimal | None,
           review_on: dt.date | None, note: str, actor: audit.Actor, action: str,
           channel: str) -> CreditLimitChange:
    change = CreditLimitChange(
        customer_id=customer.id, limit_before=customer.credit_limit, limit_after=limit,
        review_before=customer.credit_review_on, review_after=review_on, note=note,
        changed_by=actor.label, changed_by_id=actor.id if actor.kind == "agent" else None,
        changed_at=clock.now())
    session.add(change)
    audit.record(session, action, actor=actor, channel=channel, subject=customer, data={
        "before": None if customer.credit_limit is None else str(customer.credit_limit),
        "after": None if limit is None else str(limit),
        "review_before": None if customer.credit_review_on is None
        else customer.credit_review_on.isoformat(),
        "review_after": None if review_on is None else review_on.isoformat(),
        "note": note})
    customer.credit_limit = limit
    customer.credit_review_on = review_on
    session.flush()
    return change


def set_credit_limit(session: Session, customer: Customer, limit: Decimal | None, *,
                     review_on: dt.date | None = None, note: str = "", actor: audit.Actor,
                     roles: Collection[str], settings, channel: str = "console"
                     ) -> CreditLimitChange | None:
    """Set (or, with None, remove) the customer's credit limit and its review date (by
    default CREDIT_REVIEW_MONTHS from today when a limit is set; none when the limit is
    removed and no date is given). Audited, with a CreditLimitChange row; None when
    nothing changed. Flushes."""
    _check(roles)
    if limit is not None and not Decimal(0) <= limit < MAX_LIMIT:
        raise CreditLimitError("Enter a credit limit from 0 up, or leave it empty for none.",
                               field="credit_limit")
    today = clock.today()
    note = _note(note)
    if review_on is None and limit is not None:
        review_on = default_review_on(settings, today)
    if review_on is not None and review_on != customer.credit_review_on:
        _check_review(review_on, today)
    if customer.credit_limit == limit and customer.credit_review_on == review_on:
        return None
    return _write(session, customer, limit=limit, review_on=review_on, note=note,
                  actor=actor, action="customer.credit_limit_changed", channel=channel)


def mark_reviewed(session: Session, customer: Customer, *, review_on: dt.date | None = None,
                  note: str = "", actor: audit.Actor, roles: Collection[str], settings,
                  channel: str = "console") -> CreditLimitChange:
    """The credit was reviewed and the limit stays: the next review date (by default
    CREDIT_REVIEW_MONTHS from today; after today) and what was looked at. Audited, with a
    CreditLimitChange row. Flushes."""
    _check(roles)
    today = clock.today()
    note = _note(note)
    if not note:
        raise CreditLimitError("Say what the review looked at (a line is enough).",
                               field="note")
    review_on = review_on or default_review_on(settings, today)
    if review_on <= today:
        raise CreditLimitError("The next review is after today: choose a later date.",
                               field="review_on")
    _check_review(review_on, today)
    return _write(session, customer, limit=customer.credit_limit, review_on=review_on,
                  note=note, actor=actor, action="customer.credit_reviewed", channel=channel)


def history(session: Session, customer_id: int, *, limit: int = 50) -> list[CreditLimitChange]:
    """The customer's limit changes and reviews, newest first: one query."""
    return list(session.scalars(
        select(CreditLimitChange).where(CreditLimitChange.customer_id == customer_id)
        .order_by(CreditLimitChange.changed_at.desc(), CreditLimitChange.id.desc())
        .limit(limit)))
