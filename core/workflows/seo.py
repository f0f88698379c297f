"""What search engines and link previews read of the shop: meta descriptions, schema.org
data (Product with its Offer, BreadcrumbList) as plain dicts for JSON-LD, a category's
trail from the top of the tree, and the sellable products a sitemap lists.

The builders are pure: they take what the page already loaded (the product, the viewer's
priced line, the variant's stock promise) and absolute URLs made from SHOP_URL
(core.links), and query nothing. Two functions read the database: category_trail (one
query, cached as reference data) and the sitemap's rows (streamed in batches)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import cache
from core.catalog.assortment import sellable
from core.catalog.models import Category, Product, Variant
from core.inventory.services import Promise
from core.money import Money
from core.pricing.engine import PricedLine

DESCRIPTION_LENGTH = 155
SCHEMA = "https://schema.org"
# A promise's source (core.inventory.services.Promise) as schema.org ItemAvailability:
# ordered now and shipped from stock or by the supplier; ordered now and shipped when
# goods arrive or the supplier's lead time has passed; not orderable.
AVAILABILITY = {"stock": "InStock", "supplier": "InStock", "arrival": "BackOrder",
                "lead_time": "BackOrder", "unavailable": "OutOfStock"}
# At most 50,000 URLs in one sitemap file (sitemaps.org); rows come from the database in
# batches of SITEMAP_BATCH, never all at once.
SITEMAP_URLS_PER_FILE = 50_000
SITEMAP_BATCH = 2_000
_SPACE = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]*>")


def describe(text: str, *, limit: int = DESCRIPTION_LENGTH) -> str:
    """Plain text for a meta description: tags dropped, white space collapsed, cut at a word
    boundary to at most `limit` characters (an ellipsis saying so)."""
    plain = _SPACE.sub(" ", _TAG.sub(" ", text or "")).strip()
    if len(plain) <= limit:
        return plain
    cut = plain[:limit - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:-") + "…"


def category_description(name: str, description: str, total: int, shop: str) -> str:
    """The category's own description, else one sentence from its name and product count."""
    if description and description.strip():
        return describe(description)
    count = f"{total} product{'s' if total != 1 else ''}"
    return describe(f"Buy {name} at {shop}: {count}, with prices, stock and delivery dates "
                    "shown for every item.")


@dataclass(frozen=True)
class Crumb:
    name: str
    slug: str


def category_trail(session: Session, category: Category) -> list[Crumb]:
    """The active categories from the top of the tree down to `category` (itself last).

    One query over the ids of its materialised path, whatever the depth, cached as
    reference data (REFERENCE_CACHE_SECONDS): a renamed ancestor shows within that window."""
    ids = [int(part) for part in category.path.strip("/").split("/") if part.isdigit()]
    ids = ids or [category.id]

    def load() -> list[Crumb]:
        rows = session.execute(select(Category.id, Category.name, Category.slug)
                               .where(Category.id.in_(ids), Category.active)).all()
        found = {row.id: Crumb(row.name, row.slug) for row in rows}
        return [found[i] for i in ids if i in found]
    return cache.reference.get_or_make(("trail", category.path or category.id), load)


def breadcrumb_list(items: list[tuple[str, str]]) -> dict:
    """schema.org BreadcrumbList of (name, absolute URL), numbered from 1."""
    return {"@context": SCHEMA, "@type": "BreadcrumbList",
            "itemListElement": [{"@type": "ListItem", "position": i, "name": name, "item": url}
                                for i, (name, url) in enumerate(items, start=1)]}


def unit_price(line: PricedLine) -> Money:
    """What one unit costs the viewer after promotions, as the product page shows it."""
    if line.discount:
        return Money(line.total / line.quantity, line.currency).rounded()
    return Money(line.unit_price, line.currency).rounded()


def product_data(product: Product, variant: Variant | None, line: PricedLine | None,
                 promise: Promise | None, *, url: str, image: str | None) -> dict:
    """schema.org Product for the product page: the chosen `variant`'s SKU, and an Offer at
    the price the viewer sees (`line`) with the availability of the variant's `promise`."""
    data: dict = {"@context": SCHEMA, "@type": "Product", "name": product.name, "url": url}
    if product.description:
        data["description"] = describe(product.description, limit=5000)
    if variant is not None:
        data["sku"] = variant.sku
    if product.brand:
        data["brand"] = {"@type": "Brand", "name": product.brand}
    if image:
        data["image"] = image
    if line is not None:
        price = unit_price(line)
        source = promise.source if promise is not None else "unavailable"
        data["offers"] = {"@type": "Offer", "url": url, "price": str(price.amount),
                          "priceCurrency": price.currency,
                          "availability": f"{SCHEMA}/{AVAILABILITY.get(source, 'OutOfStock')}",
                          "itemCondition": f"{SCHEMA}/NewCondition"}
    return data


# -- the sitemap's rows ----------------------------------------------------------------------

def sellable_count(session: Session, channel_id: int) -> int:
    """How many products the channel sells (cached as reference data): the sitemap index
    splits them into files of SITEMAP_URLS_PER_FILE."""
    return cache.reference.get_or_make(("sitemap-count", channel_id), lambda: session.scalar(
        select(func.count()).select_from(Product).where(sellable(session, channel_id))) or 0)


def sellable_slugs(session: Session, channel_id: int, *, part: int) -> Iterator[str]:
    """The slugs of sitemap file `part` (from 1): the channel's sellable products in id order,
    read in batches of SITEMAP_BATCH (a server-side cursor on PostgreSQL)."""
    stmt = (select(Product.slug).where(sellable(session, channel_id)).order_by(Product.id)
            .offset((part - 1) * SITEMAP_URLS_PER_FILE).limit(SITEMAP_URLS_PER_FILE)
            .execution_options(yield_per=SITEMAP_BATCH))
    yield from session.scalars(stmt)


def active_category_slugs(session: Session) -> list[str]:
    """Every active category, in tree order of their paths (a few hundred at most)."""
    return list(session.scalars(select(Category.slug).where(Category.active)
                                .order_by(Category.path, Category.id)))
