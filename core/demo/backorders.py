"""Demo backorders: a lever espresso machine the shop does not have yet. Its supplier
delivers 6 in ten days, and it may be ordered now: the product page, the cart and checkout
say "Backorder — ships by ..." (available-to-promise, core.inventory.services.promise).
Through the real services: the supplier (core.inventory.suppliers), the product that allows
backorders, its variant and prices (core.catalog.products, core.pricing.price_lists) and the
expected arrival (core.workflows.stock_receipts).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, clock
from core.catalog import products
from core.catalog.models import Category, Product, Variant
from core.inventory import suppliers
from core.inventory.models import Supplier
from core.pricing import price_lists
from core.pricing.models import PriceList
from core.workflows import stock_receipts

ACTOR = audit.Actor("system", None, "demo")
SKU = "COF-RKT-APP"


def _supplier(session: Session) -> Supplier:
    found = session.scalar(select(Supplier).where(Supplier.code == "ROCKET-IT"))
    return found or suppliers.create_supplier(session, suppliers.SupplierData(
        code="ROCKET-IT", name="Rocket Espresso Milano S.r.l.", email="orders@rocket.example",
        lead_days=15), actor=ACTOR)


def _machine(session: Session, source: Supplier) -> Variant:
    category = session.scalar(select(Category).where(Category.slug == "coffee-machines"))
    tax = session.scalar(select(Product.tax_category_id).where(Product.category_id == category.id)
                         .limit(1))
    product = products.create_product(session, products.ProductData(
        name="Lever Espresso Machine Appartamento", brand="Rocket", category_id=category.id,
        tax_category_id=tax, backorderable=True, supplier_id=source.id,
        description="Heat-exchanger espresso machine for two cups at a time; on order from "
                    "Milan."), actor=ACTOR)
    variant = products.add_variant(session, product, products.VariantData(
        sku=SKU, name="Copper", weight_grams=20_000), actor=ACTOR)
    lists = {pl.code: pl for pl in session.scalars(select(PriceList))}
    for code, price in (("retail-eur", Decimal("1590.00")), ("trade-eur", Decimal("1269.33"))):
        if code in lists:
            price_lists.set_price(session, price_list=lists[code], variant=variant,
                                  min_quantity=1, unit_price=price, actor=ACTOR)
    products.publish_product(session, product, actor=ACTOR)  # a new product starts a draft
    return variant


def load_backorders(session: Session, today: dt.date | None = None) -> str:
    """The machine, none in stock, 6 due in MAIN in ten days. Runs once (a second call
    changes nothing). Flushes."""
    if session.scalar(select(Variant.id).where(Variant.sku == SKU)) is not None:
        return ""
    today = today or clock.today()
    rocket = _supplier(session)
    _machine(session, rocket)
    arrives = today + dt.timedelta(days=10)
    stock_receipts.add_arrival(session, supplier_id=rocket.id, sku=SKU, quantity=6,
                               warehouse="MAIN", expected_on=arrives, reference="RKT-4711",
                               actor=ACTOR, today=today)
    return ("The Rocket Appartamento espresso machine is on backorder: none in stock, 6 due "
            f"on {arrives:%d %b}, and it can be ordered now.")
