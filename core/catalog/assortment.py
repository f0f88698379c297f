"""Which products a channel sells: its assortment rules as one SQL condition."""
from __future__ import annotations

from sqlalchemy import false, not_, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from core import cache
from core.catalog.models import AssortmentRule, Category, Product


def sellable(session: Session, channel_id: int) -> ColumnElement[bool]:
    """A condition on Product: active and in the channel's assortment (rules cached briefly)."""
    rules = cache.reference.get_or_make(("assortment", channel_id), lambda: [
        tuple(row) for row in session.execute(
            select(AssortmentRule.mode, AssortmentRule.product_id, Category.path)
            .outerjoin(Category, Category.id == AssortmentRule.category_id)
            .where(AssortmentRule.channel_id == channel_id))])
    condition = Product.active

    def matching(mode: str):
        products = [pid for m, pid, _ in rules if m == mode and pid is not None]
        paths = [path for m, _, path in rules if m == mode and path is not None]
        parts = []
        if products:
            parts.append(Product.id.in_(products))
        if paths:
            parts.append(Product.category_id.in_(
                select(Category.id).where(or_(*[Category.path.like(f"{p}%") for p in paths]))))
        return or_(*parts) if parts else None

    included, excluded = matching("include"), matching("exclude")
    if any(m == "include" for m, _, _ in rules):
        condition = condition & (included if included is not None else false())
    if excluded is not None:
        condition = condition & not_(excluded)
    return condition if rules else condition & true()
