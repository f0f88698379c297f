"""Demo backorders: a lever espresso machine the shop does not have yet. Its supplier
delivers 6 in ten days, and it may be ordered now: the product page, the cart and checkout
say "Backorder — ships by ..." (available-to-promise, core.inventory.services.promise).

The product, its variant and prices go through the catalogue's and pricing's services; the
supplier, the backorder flag and the expected arrival are set here, as the console's master
data and purchasing pages would (they have no service of their own in this module's layer).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.catalog import products
from core.catalog.models import Category, Product, Variant
from core.inventory.models import ExpectedArrival, Supplier
from core.pricing import price_lists
from core.pricing.models import PriceList

ACTOR = audit.Actor("system", None, "demo")
SKU = "COF-RKT-APP"
SUPPLIER = ("ROCKET-IT", "Rocket Espresso Milano S.r.l.", 15, "orders@rocket.example")


def supplier(session: Session, code: str, name: str, lead_days: int, email: str = "") -> Supplier:
    """The supplier with this code, made when there is none."""
    found = session.scalar(select(Supplier).where(Supplier.code == code))
    if found is None:
        found = Supplier(code=code, name=name, lead_days=lead_days, email=email)
        session.add(found)
        session.flush()
    return found


def expect_units(session: Session, variant: Variant, source: Supplier, *, quantity: int,
                 arrives_on: dt.date, warehouse: str = "MAIN",
                 reference: str = "") -> ExpectedArrival:
    """The variant's product may be ordered beyond stock from `source`, which will deliver
    `quantity` units to `warehouse` on `arrives_on`. Flushes."""
    variant.product.backorderable = True
    variant.product.supplier_id = source.id
    arrival = ExpectedArrival(supplier_id=source.id, variant_id=variant.id, warehouse=warehouse,
                              quantity=quantity, expected_on=arrives_on, reference=reference,
                              created_by=ACTOR.label)
    session.add(arrival)
    session.flush()
    return arrival


def _machine(session: Session) -> Variant:
    category = session.scalar(select(Category).where(Category.slug == "coffee-machines"))
    tax = session.scalar(select(Product.tax_category_id).where(Product.category_id == category.id)
                         .limit(1))
    product = products.create_product(session, products.ProductData(
        name="Lever Espresso Machine Appartamento", brand="Rocket", category_id=category.id,
        tax_category_id=tax,
        description="Heat-exchanger espresso machine for two cups at a time; on order from "
                    "Milan."), actor=ACTOR)
    variant = products.add_variant(session, product, products.VariantData(
        sku=SKU, name="Copper", weight_grams=20_000), actor=ACTOR)
    lists = {pl.code: pl for pl in session.scalars(select(PriceList))}
    for code, price in (("retail-eur", Decimal("1590.00")), ("trade-eur", Decimal("1269.33"))):
        if code in lists:
            price_lists.set_price(session, price_list=lists[code], variant=variant,
                                  min_quantity=1, unit_price=price, actor=ACTOR)
    return variant


def load_backorders(session: Session, today: dt.date | None = None) -> str:
    """The machine, none in stock, 6 due in ten days. Runs once (a second call changes
    nothing). Flushes."""
    if session.scalar(select(Variant.id).where(Variant.sku == SKU)) is not None:
        return ""
    variant = _machine(session)
    rocket = supplier(session, *SUPPLIER)
    arrives = (today or dt.date.today()) + dt.timedelta(days=10)
    expect_units(session, variant, rocket, quantity=6, arrives_on=arrives, reference="RKT-4711")
    return ("The Rocket Appartamento espresso machine is on backorder: none in stock, 6 due "
            f"on {arrives:%d %b}, and it can be ordered now.")
