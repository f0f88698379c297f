"""Issue 18, catalogue forms: a new product is a draft until it has a price every shopper
sees and is published; price lists are named with whom they price for and the base list is
the default; option axes make a variant grid without duplicates."""
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.audit import Actor
from core.catalog import products as catalogue
from core.catalog.assortment import sellable
from core.catalog.models import Category, Channel, Product, Variant
from core.catalog.products import Axis, CatalogInputError, ProductData, VariantData
from core.pricing import price_lists
from core.pricing.models import PriceList, TaxCategory

ACTOR = Actor("agent", 9999, "catalog@test.example")


def _list(db, code) -> PriceList:
    return db.scalar(select(PriceList).where(PriceList.code == code))


def _draft(db, name="Oat Bar") -> Product:
    return catalogue.create_product(db, ProductData(
        name=name, category_id=db.scalar(select(Category.id).where(Category.slug == "paper")),
        tax_category_id=db.scalar(select(TaxCategory.id).where(TaxCategory.code == "reduced")),
        active=True), actor=ACTOR)


def _in_shop(db, product) -> bool:
    channel = db.scalar(select(Channel).where(Channel.code == "web-b2c"))
    return db.scalar(select(Product.id).where(Product.id == product.id,
                                              sellable(db, channel.id))) is not None


def test_a_new_product_is_a_draft_the_shop_does_not_sell_even_when_asked_to_be_active(db):
    product = _draft(db)
    assert product.active is False
    assert catalogue.product_state(db, product) == "draft_no_price"
    assert not _in_shop(db, product)


def test_publishing_is_refused_until_a_variant_has_a_price_every_shopper_sees(db):
    product = _draft(db)
    variant = catalogue.add_variant(db, product, VariantData(sku="OAT-BAR-1L"), actor=ACTOR)
    with pytest.raises(CatalogInputError, match="every shopper sees"):
        catalogue.publish_product(db, product, actor=ACTOR)
    # A contract price is seen by one customer only: still refused.
    price_lists.set_price(db, price_list=_list(db, "acme-contract"), variant=variant,
                          min_quantity=1, unit_price=Decimal("2.49"), actor=ACTOR)
    with pytest.raises(CatalogInputError):
        catalogue.publish_product(db, product, actor=ACTOR)
    # Nor can the edit form's data sneak it live.
    with pytest.raises(CatalogInputError):
        catalogue.update_product(db, product, ProductData(
            name=product.name, category_id=product.category_id,
            tax_category_id=product.tax_category_id, active=True), actor=ACTOR)
    price_lists.set_price(db, price_list=_list(db, "retail-eur"), variant=variant,
                          min_quantity=1, unit_price=Decimal("2.49"), actor=ACTOR)
    assert catalogue.product_state(db, product) == "draft_ready"
    assert not _in_shop(db, product)
    catalogue.publish_product(db, product, actor=ACTOR)
    assert product.active and catalogue.product_state(db, product) == "live"
    assert _in_shop(db, product)
    catalogue.unpublish_product(db, product, actor=ACTOR)
    assert not _in_shop(db, product)


def test_existing_products_stay_live(db):
    assert db.scalar(select(Product).where(Product.slug == "navigator-copy-paper-a3-80-g")).active


def test_lists_are_named_with_whom_they_price_for_and_the_base_list_is_the_default(db):
    labels = {pl.code: label for pl, label in price_lists.labelled(db)}
    assert labels["retail-eur"] == "Retail EUR — everyone"
    assert labels["trade-eur"] == "Trade EUR — customers of Web shop (business)"
    assert labels["acme-contract"] == "Acme Corp contract — Acme Corp only"
    assert [pl.scope for pl, _ in price_lists.labelled(db)][0] == "base"
    assert price_lists.base_list_id(db) == _list(db, "retail-eur").id


def test_axes_make_the_grid_once_and_match_existing_variants_by_attributes(db):
    product = _draft(db, "Tee")
    catalogue.add_variant(db, product, VariantData(sku="TEE-OLD-S-RED", attributes={
        "size": "s", "Colour": "Red"}), actor=ACTOR)
    axes = catalogue.check_axes([("Size", ["S", "M", "L"]), ("Colour", ["Red", "Blue"]),
                                 ("", [])])
    created, existing = catalogue.generate_variants(db, product, axes, sku_prefix="TEE",
                                                    actor=ACTOR)
    assert (len(created), existing) == (5, 1)
    assert "TEE-M-BLUE" in {v.sku for v in created}
    assert next(v for v in created if v.sku == "TEE-L-RED").attributes == {
        "Size": "L", "Colour": "Red"}
    again, existing = catalogue.generate_variants(db, product, axes, sku_prefix="TEE",
                                                  actor=ACTOR)
    assert (again, existing) == ([], 6)
    assert len(db.scalars(select(Variant).where(Variant.product_id == product.id)).all()) == 6
    rows, others = catalogue.variant_grid(list(product.variants),
                                          catalogue.product_axes(product.variants))
    assert len(rows) == 6 and all(r.variant for r in rows) and others == []


def test_axes_are_checked_and_a_taken_sku_stops_the_whole_grid(db):
    with pytest.raises(CatalogInputError) as err:
        catalogue.check_axes([("Size", [])])
    assert err.value.field == "axis_1_values"
    with pytest.raises(CatalogInputError):
        catalogue.check_axes([("Size", ["S"]), ("size", ["M"])])
    product = _draft(db, "Mug")
    with pytest.raises(CatalogInputError) as err:
        catalogue.generate_variants(db, product, [Axis("Grammage", ("75", "80"))],
                                    sku_prefix="PAP-A4", actor=ACTOR)  # PAP-A4-80 is taken
    assert err.value.field == "sku_prefix"
    assert product.variants == []


def test_sku_parts_and_the_suggested_prefix():
    assert catalogue.sku_part("Navy blue") == "NAVYBLUE" and catalogue.sku_part("1 l") == "1L"
    assert catalogue.grid_sku("OAT-BAR-", ["1 l", "Cocoa"]) == "OAT-BAR-1L-COCOA"
    assert catalogue.parse_axis_values("S, M,\nL, s") == ["S", "M", "L"]
