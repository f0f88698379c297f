"""Promotion usage limits: count a use, refuse one past a limit, give one back.

Who a use belongs to (the *holder*): the customer account when there is one, and the
buyer's e-mail address (lower-cased) in every case. A registered customer is matched by
customer id *or* e-mail, so signing out and checking out as a guest with the same address
does not start the count again; a guest is matched by e-mail.

Pricing reads the counts to explain why a coupon does not apply (`uses_by`); the limits
are enforced where a use is counted (`take`), under the promotion's row lock, so two
concurrent orders can never both take the last use a customer has.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.orm import Session

from core.errors import DomainError
from core.pricing.models import Promotion, PromotionRedemption


class PromotionUnavailable(DomainError):
    code = "promotion_unavailable"


def normalise_email(email: str | None) -> str:
    return (email or "").strip().lower()


@dataclass(frozen=True)
class Holder:
    """Whose uses count against a per-customer limit: any of these accounts or addresses."""

    customer_ids: frozenset[int] = frozenset()
    emails: frozenset[str] = frozenset()

    @classmethod
    def of(cls, customer_id: int | None, emails: Iterable[str | None]) -> "Holder":
        return cls(frozenset({customer_id} - {None}),
                   frozenset(e for e in map(normalise_email, emails) if e))

    def __bool__(self) -> bool:
        return bool(self.customer_ids or self.emails)

    def condition(self):
        found = []
        if self.customer_ids:
            found.append(PromotionRedemption.customer_id.in_(self.customer_ids))
        if self.emails:
            found.append(PromotionRedemption.email.in_(self.emails))
        return or_(*found)


def uses_by(session: Session, holder: Holder, promotion_ids: Sequence[int] | None = None
            ) -> dict[int, int]:
    """{promotion id: uses by this holder}, for the given promotions or all of them."""
    if not holder:
        return {}
    stmt = (select(PromotionRedemption.promotion_id, func.count())
            .where(holder.condition()).group_by(PromotionRedemption.promotion_id))
    if promotion_ids is not None:
        stmt = stmt.where(PromotionRedemption.promotion_id.in_(promotion_ids))
    return dict(session.execute(stmt).all())


def _label(promotion) -> str:
    return f"Coupon {promotion.coupon_code}" if promotion.coupon_code else \
        f"The promotion “{promotion.name}”"


def take(session: Session, promotion_ids: Iterable[int], *, reference: str,
         customer_id: int | None, email: str, holder: Holder | Callable[[], Holder]) -> None:
    """Count one use of each promotion by `reference` (an order number) for `holder` (or
    a function that finds it, called only when a promotion has a per-customer limit).

    Raises PromotionUnavailable, and counts nothing, when a total or per-customer limit is
    reached. Flushes; the caller commits (or rolls back on the error).
    """
    ids = sorted(set(promotion_ids))
    if not ids:
        return
    with session.begin_nested():  # a refusal leaves every count as it was
        _take(session, ids, reference=reference, customer_id=customer_id, email=email,
              holder=holder)


def _take(session: Session, ids: list[int], *, reference: str, customer_id: int | None,
          email: str, holder: Holder | Callable[[], Holder]) -> None:
    # One conditional UPDATE counts the use and checks the total limit: a limit checked
    # while pricing could be spent by a concurrent order before this one commits.
    # The UPDATE also locks each promotion's row until this transaction ends, and that
    # lock is what makes the per-customer limit hold. A concurrent order redeeming the
    # same promotion waits at its own UPDATE
    # until this one commits or rolls back; the per-customer count below is a new
    # statement, which under READ COMMITTED sees every use committed before the lock was
    # granted. So check-then-insert cannot interleave: of two orders racing for a
    # customer's last use, the second counts the first's redemption and is refused.
    # (SQLite lets one writer at a time in: the same holds there.)
    taken = session.execute(
        update(Promotion).where(Promotion.id.in_(ids), or_(
            Promotion.usage_limit_total.is_(None),
            Promotion.times_used < Promotion.usage_limit_total))
        .values(times_used=Promotion.times_used + 1)
        .execution_options(synchronize_session=False)).rowcount
    if taken != len(ids):
        raise PromotionUnavailable("A promotion in your cart has just been used up; "
                                   "review the cart and try again.")
    limited = session.execute(
        select(Promotion.id, Promotion.name, Promotion.coupon_code,
               Promotion.usage_limit_per_customer)
        .where(Promotion.id.in_(ids), Promotion.usage_limit_per_customer.is_not(None))).all()
    if limited and (holder := holder() if callable(holder) else holder):
        used = uses_by(session, holder, [p.id for p in limited])
        for promotion in limited:
            if used.get(promotion.id, 0) >= promotion.usage_limit_per_customer:
                raise PromotionUnavailable(
                    f"{_label(promotion)} has already been used with this account or e-mail "
                    "address; remove it from your cart and try again.")
    session.add_all(PromotionRedemption(promotion_id=pid, customer_id=customer_id,
                                        email=normalise_email(email), reference=reference)
                    for pid in ids)
    session.flush()


def give_back(session: Session, reference: str, promotion_ids: Iterable[int] | None = None
              ) -> list[int]:
    """Undo the uses `reference` counted (of the given promotions, or all of them).

    Returns the promotions given back. Idempotent: the redemption rows are deleted with
    RETURNING, so a second call (or a concurrent one, which waits for the row locks) finds
    nothing and decrements nothing.
    """
    stmt = delete(PromotionRedemption).where(PromotionRedemption.reference == reference)
    if promotion_ids is not None:
        stmt = stmt.where(PromotionRedemption.promotion_id.in_(list(promotion_ids)))
    returned = list(session.scalars(stmt.returning(PromotionRedemption.promotion_id)
                                    .execution_options(synchronize_session="fetch")))
    for promotion_id, uses in sorted(Counter(returned).items()):
        session.execute(
            update(Promotion).where(Promotion.id == promotion_id)
            .values(times_used=case((Promotion.times_used >= uses,
                                     Promotion.times_used - uses), else_=0))
            .execution_options(synchronize_session=False))
    session.flush()
    return sorted(set(returned))


def counted_for(session: Session, reference: str) -> set[int]:
    """The promotions whose use `reference` counts now."""
    return set(session.scalars(select(PromotionRedemption.promotion_id)
                               .where(PromotionRedemption.reference == reference)))
