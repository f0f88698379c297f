"""An order's promotion uses: counted at placement, kept in step when its lines change,
given back when it is cancelled (by the customer, an agent, a declined or abandoned
payment, or the expiry sweep: all go through services.cancel_order).

The limits themselves and how they hold under concurrency: core.pricing.usage.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.customers.models import Customer
from core.orders.models import Order
from core.pricing import usage
from core.pricing.engine import PricedCart


def holder(session: Session, order: Order) -> usage.Holder:
    """Whose uses the order's count against: its customer, its e-mail and the customer's."""
    account_email = session.scalar(select(Customer.email).where(
        Customer.id == order.customer_id)) if order.customer_id else None
    return usage.Holder.of(order.customer_id, [order.email, account_email])


def count(session: Session, order: Order, promotion_ids: Iterable[int]) -> None:
    """Count one use of each promotion for the order; PromotionUnavailable past a limit."""
    usage.take(session, promotion_ids, reference=order.number, customer_id=order.customer_id,
               email=order.email, holder=lambda: holder(session, order))


def give_back(session: Session, order: Order, *, actor: audit.Actor, reason: str,
              promotion_ids: Iterable[int] | None = None) -> list[int]:
    """Give back the uses the order counted (idempotent); audited when there were any."""
    returned = usage.give_back(session, order.number, promotion_ids)
    if returned:
        audit.record(session, "order.promotion_uses_returned", actor=actor,
                     channel=order.channel_code, subject=order,
                     data={"promotions": returned, "reason": reason})
    return returned


def follow(session: Session, order: Order, priced: PricedCart, *, actor: audit.Actor,
           channel: str) -> None:
    """After a change of lines: count the promotions that now apply and did not before (with
    the same limits as at placement), give back those that no longer apply."""
    now = {a.promotion_id for a in priced.promotions}
    before = usage.counted_for(session, order.number)
    if gone := before - now:
        give_back(session, order, actor=actor, reason="lines changed", promotion_ids=gone)
    if new := now - before:
        count(session, order, new)
        audit.record(session, "order.promotion_uses_counted", actor=actor, channel=channel,
                     subject=order, data={"promotions": sorted(new)})
