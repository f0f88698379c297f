"""The category tree in the console: create, rename, move under another parent (the
materialised path of the whole subtree follows), order among siblings, activate.

Commands take a session and the acting agent, flush and never commit."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import String, func, literal, select, update
from sqlalchemy.orm import Session

from core import audit
from core.catalog.models import Category
from core.catalog.products import (MAX_RETURN_DAYS, apply_changes, check_slug, check_text,
                                   record_change, refuse, slugify)


@dataclass
class CategoryData:
    name: str
    slug: str = ""
    description: str = ""
    parent_id: int | None = None  # None: at the top
    active: bool = True
    return_days: int | None = None


def tree(session: Session) -> list[Category]:
    """Every category in tree order: by parent path, then position among siblings. One query."""
    found = list(session.scalars(select(Category)))
    children: dict[int | None, list[Category]] = {}
    for c in found:
        children.setdefault(c.parent_id, []).append(c)
    ordered: list[Category] = []

    def walk(parent_id):
        for c in sorted(children.get(parent_id, []), key=lambda c: (c.position, c.name)):
            ordered.append(c)
            walk(c.id)
    walk(None)
    return ordered


def depth(category: Category) -> int:
    return max(category.path.strip("/").count("/"), 0)


def _values(session: Session, data: CategoryData, category: Category | None) -> dict:
    name = check_text(data.name, "category name", "name", max_length=200, required=True)
    slug = check_slug(data.slug) or (category.slug if category else slugify(name)[:120])
    if not slug:
        refuse("Enter a slug: lower-case letters, digits and hyphens.", "slug")
    if len(slug) > 120:
        refuse("A category slug can have at most 120 characters.", "slug")
    clash = session.scalar(select(Category.id).where(Category.slug == slug))
    if clash is not None and (category is None or clash != category.id):
        refuse(f"Another category already uses the slug {slug}.", "slug")
    if data.return_days is not None and not 0 <= data.return_days <= MAX_RETURN_DAYS:
        refuse(f"The return window is 0 to {MAX_RETURN_DAYS} days; leave it empty for the "
               "parent's.", "return_days")
    return dict(name=name, slug=slug, active=bool(data.active), return_days=data.return_days,
                description=check_text(data.description, "description", "description",
                                       max_length=5000))


def _parent(session: Session, parent_id: int | None, category: Category | None
            ) -> Category | None:
    if not parent_id:
        return None
    parent = session.get(Category, parent_id)
    if parent is None:
        refuse("Choose an existing parent category.", "parent_id")
    if category is not None and parent.path.startswith(category.path):
        refuse(f"{category.name} cannot move under itself or one of its subcategories.",
               "parent_id")
    return parent


def _next_position(session: Session, parent_id: int | None) -> int:
    where = Category.parent_id == parent_id if parent_id else Category.parent_id.is_(None)
    return session.scalar(select(func.coalesce(func.max(Category.position), -1))
                          .where(where)) + 1


def create_category(session: Session, data: CategoryData, *, actor: audit.Actor) -> Category:
    """Add a category at the end of its parent's children."""
    values = _values(session, data, None)
    parent = _parent(session, data.parent_id, None)
    category = Category(parent=parent, position=_next_position(session, data.parent_id),
                        **values)
    session.add(category)
    session.flush()
    category.path = f"{parent.path if parent else '/'}{category.id}/"
    session.flush()
    record_change(session, "category.created", actor, category,
                  {"slug": category.slug, "parent_id": data.parent_id or None})
    return category


def update_category(session: Session, category: Category, data: CategoryData, *,
                    actor: audit.Actor) -> Category:
    """Rename, re-slug, (de)activate, and move under another parent with its subtree."""
    values = _values(session, data, category)
    parent = _parent(session, data.parent_id, category)
    changed = apply_changes(category, values)
    new_parent_id = parent.id if parent else None
    if new_parent_id != category.parent_id:
        old_path = category.path
        new_path = f"{parent.path if parent else '/'}{category.id}/"
        # One statement for the whole subtree: each path's old prefix becomes the new one.
        session.execute(update(Category).where(Category.path.like(f"{old_path}%"))
                        .values(path=literal(new_path, String)
                                + func.substr(Category.path, len(old_path) + 1))
                        .execution_options(synchronize_session=False))
        changed["parent_id"] = [category.parent_id, new_parent_id]
        category.parent_id = new_parent_id
        category.position = _next_position(session, new_parent_id)
        session.flush()
        session.expire_all()
    if changed:
        record_change(session, "category.updated", actor, category, {"changes": changed})
    return category


def move_category(session: Session, category: Category, direction: str, *,
                  actor: audit.Actor) -> None:
    """Swap the category with its sibling above ("up") or below ("down")."""
    if direction not in ("up", "down"):
        refuse("Move a category up or down.", "direction")
    where = (Category.parent_id == category.parent_id if category.parent_id
             else Category.parent_id.is_(None))
    siblings = list(session.scalars(select(Category).where(where)
                                    .order_by(Category.position, Category.name)))
    for i, c in enumerate(siblings):  # number them 0..n first: old data may share positions
        c.position = i
    i = siblings.index(category)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(siblings):
        siblings[i].position, siblings[j].position = j, i
        record_change(session, "category.moved", actor, category, {"direction": direction})
    session.flush()
