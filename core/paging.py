"""One page of a long list: `Page[T]` and `paginate`, for every paged list in core.

No Flask here: the views read the page number (core.web.forms.page_arg) and render the one
pager macro (core/web/templates/core/pager.html) over a Page.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import ceil
from typing import Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")
U = TypeVar("U")


def page_count(total: int, per_page: int) -> int:
    """How many pages `total` items fill, at least one (an empty list is one empty page)."""
    return max(1, ceil(total / per_page))


def clamp(page: int, total: int, per_page: int) -> int:
    """`page` moved into 1..the last page."""
    return min(max(1, page), page_count(total, per_page))


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return page_count(self.total, self.per_page)

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def map(self, make: Callable[[T], U]) -> "Page[U]":
        """The same page with each item made into something else (a row for the template)."""
        return Page([make(item) for item in self.items], self.page, self.per_page, self.total)


def paginate(session: Session, stmt: Select, *, page: int, per_page: int,
             count: Select | None = None) -> Page:
    """The page of `stmt` (ordered by the caller) numbered `page`, moved into range: two
    queries, the count and the rows (plus whatever loader options `stmt` carries).

    `count` counts the same rows, when a cheaper statement than counting `stmt` does; the
    items are the one entity or value `stmt` selects, else its rows (tuples)."""
    if count is None:
        count = select(func.count()).select_from(stmt.order_by(None).subquery())
    total = session.scalar(count) or 0
    page = clamp(page, total, per_page)
    stmt = stmt.offset((page - 1) * per_page).limit(per_page)
    if len(stmt.column_descriptions) == 1:
        items = list(session.scalars(stmt))
    else:
        items = list(session.execute(stmt).all())
    return Page(items, page, per_page, total)
