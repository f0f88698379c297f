"""Read side of the catalogue: the queries behind browse, product and search pages.

Each page runs a fixed number of queries whatever the number of products shown.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from core.catalog.models import Category, Product, Variant
from core.errors import NotFound
from core.inventory.models import StockLevel
from core.money import Money


@dataclass(frozen=True)
class ProductCard:
    """What a product tile shows."""

    slug: str
    name: str
    brand: str
    from_price: Money
    available: int
    sku: str


@dataclass(frozen=True)
class Page:
    items: list[ProductCard]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def top_categories(session: Session) -> list[Category]:
    return list(session.scalars(select(Category).where(Category.parent_id.is_(None))
                                .order_by(Category.position, Category.name)))


def category_by_slug(session: Session, slug: str) -> Category:
    category = session.scalar(select(Category).where(Category.slug == slug))
    if category is None:
        raise NotFound("We could not find that category.")
    return category


def _cards(session: Session, condition, *, page: int, per_page: int) -> Page:
    stock = (select(StockLevel.variant_id,
                    func.sum(StockLevel.on_hand - StockLevel.reserved).label("available"))
             .group_by(StockLevel.variant_id).subquery())
    rows_q = (
        select(Product.slug, Product.name, Product.brand, func.min(Variant.price),
               func.min(Variant.currency), func.coalesce(func.sum(stock.c.available), 0),
               func.min(Variant.sku))
        .join(Variant, Variant.product_id == Product.id)
        .outerjoin(stock, stock.c.variant_id == Variant.id)
        .where(Product.active, Variant.active, condition)
        .group_by(Product.id, Product.slug, Product.name, Product.brand)
        .order_by(Product.name, Product.id)
        .limit(per_page).offset((page - 1) * per_page)
    )
    total = session.scalar(select(func.count()).select_from(Product).where(Product.active, condition))
    items = [ProductCard(slug, name, brand, Money(Decimal(price), currency), int(avail), sku)
             for slug, name, brand, price, currency, avail, sku in session.execute(rows_q)]
    return Page(items, total or 0, page, per_page)


def products_in_category(session: Session, category: Category, *, page: int = 1,
                         per_page: int = 24) -> Page:
    """Active products of a category and its direct children, by name."""
    children = select(Category.id).where(Category.parent_id == category.id)
    return _cards(session, or_(Product.category_id == category.id,
                               Product.category_id.in_(children)),
                  page=page, per_page=per_page)


def search_products(session: Session, text: str, *, page: int = 1, per_page: int = 24) -> Page:
    """Products whose name, brand, description or SKU contains every word of `text`."""
    words = [w for w in text.split() if w][:8]
    if not words:
        return Page([], 0, page, per_page)
    conditions = []
    for word in words:
        pattern = f"%{word.lower()}%"
        sku_match = select(Variant.product_id).where(func.lower(Variant.sku).like(pattern))
        conditions.append(or_(func.lower(Product.name).like(pattern),
                              func.lower(Product.brand).like(pattern),
                              func.lower(Product.description).like(pattern),
                              Product.id.in_(sku_match)))
    return _cards(session, and_(*conditions), page=page, per_page=per_page)


def product_by_slug(session: Session, slug: str) -> tuple[Product, dict[int, int]]:
    """A product with its variants and each variant's available units."""
    product = session.scalar(select(Product).where(Product.slug == slug, Product.active)
                             .options(selectinload(Product.variants),
                                      selectinload(Product.category)))
    if product is None:
        raise NotFound("We could not find that product.")
    ids = [v.id for v in product.variants]
    available = dict(session.execute(
        select(StockLevel.variant_id, func.sum(StockLevel.on_hand - StockLevel.reserved))
        .where(StockLevel.variant_id.in_(ids)).group_by(StockLevel.variant_id)).all())
    return product, {vid: int(available.get(vid, 0)) for vid in ids}
