"""Commands on the category tree and product relations."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.catalog.models import RELATION_KINDS, Category, ProductRelation
from core.errors import DomainError


def create_category(session: Session, *, slug: str, name: str, description: str = "",
                    parent: Category | None = None, position: int = 0) -> Category:
    """Add a category under `parent` (or at the top) with its materialised path."""
    category = Category(slug=slug, name=name, description=description, parent=parent,
                        position=position)
    session.add(category)
    session.flush()
    category.path = f"{parent.path if parent else '/'}{category.id}/"
    return category


def subtree_ids(session: Session, category: Category) -> list[int]:
    return list(session.scalars(select(Category.id).where(Category.path.like(f"{category.path}%"))))


def relate(session: Session, product_id: int, related_id: int, kind: str, position: int = 0
           ) -> ProductRelation:
    if kind not in RELATION_KINDS:
        raise DomainError(f"A relation is one of {', '.join(RELATION_KINDS)}.", field="kind")
    if product_id == related_id:
        raise DomainError("A product cannot be related to itself.", field="related")
    relation = ProductRelation(product_id=product_id, related_id=related_id, kind=kind,
                               position=position)
    session.add(relation)
    return relation
