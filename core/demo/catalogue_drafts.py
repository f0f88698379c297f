"""Demo drafts: a product the catalogue manager is still setting up. The barista apron was
created with two options (Size: S, M, L; Colour: Black, Denim), which made its variant grid
of six; none has a price yet, so it is a draft the shop neither shows nor sells ("Draft —
needs a price" on its console page). Through the real services (core.catalog.products).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.catalog import products
from core.catalog.models import Category, Product

ACTOR = audit.Actor("system", None, "demo")
SLUG = "marketline-barista-apron"


def load_catalogue_drafts(session: Session) -> str:
    """The apron and its grid. Runs once (a second call changes nothing). Flushes."""
    if session.scalar(select(Product.id).where(Product.slug == SLUG)) is not None:
        return ""
    category = session.scalar(select(Category).where(Category.slug == "breakroom"))
    tax = session.scalar(select(Product.tax_category_id)
                         .where(Product.category_id == category.id).limit(1))
    apron = products.create_product(session, products.ProductData(
        name="Barista Apron", brand="Marketline", slug=SLUG, category_id=category.id,
        tax_category_id=tax, description="Heavy cotton apron with two pockets."),
        actor=ACTOR)
    axes = products.check_axes([("Size", ["S", "M", "L"]), ("Colour", ["Black", "Denim"])])
    products.generate_variants(session, apron, axes, sku_prefix="APRON", actor=ACTOR)
    return ("The barista apron is a draft: its six variants (size and colour) wait for a "
            "price before it can be published.")
