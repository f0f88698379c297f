"""Catalogue and price management services: products, variants, assortment rules
(core.catalog.products), prices and price lists (core.pricing.price_lists) and promotions
(core.pricing.promotions), validated and audited."""
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.audit import Actor, AuditEvent
from core.catalog import products as catalogue
from core.catalog.products import CatalogInputError, ProductData, VariantData
from core.catalog.assortment import sellable
from core.catalog.models import Category, Channel, Product, Variant
from core.catalog.search import matches
from core.pricing import price_lists, promotions
from core.pricing import services as pricing
from core.pricing.price_lists import PriceListData
from core.pricing.promotions import PromotionData
from core.pricing.models import PriceList, Promotion, TaxCategory

ACTOR = Actor("agent", 9999, "catalog@test.example")


def _category(db, slug="paper") -> Category:
    return db.scalar(select(Category).where(Category.slug == slug))


def _tax(db, code="standard") -> TaxCategory:
    return db.scalar(select(TaxCategory).where(TaxCategory.code == code))


def _list(db, code="retail-eur") -> PriceList:
    return db.scalar(select(PriceList).where(PriceList.code == code))


def _product(db, **overrides) -> Product:
    data = ProductData(name="Tracing Paper A4", category_id=_category(db).id,
                       tax_category_id=_tax(db).id, brand="Canson", description="90 g/m²")
    for key, value in overrides.items():
        setattr(data, key, value)
    return catalogue.create_product(db, data, actor=ACTOR)


def _events(db, action):
    return db.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_creating_a_product_derives_a_unique_slug_and_audits_it(db):
    first = _product(db)
    second = _product(db)
    assert first.slug == "canson-tracing-paper-a4"
    assert second.slug == "canson-tracing-paper-a4-2"
    event = _events(db, "product.created")[-1]
    assert event.actor_label == ACTOR.label and event.channel == "console"
    assert event.subject_id == str(second.id)


def test_a_product_needs_a_name_a_category_and_a_tax_category(db):
    with pytest.raises(CatalogInputError) as err:
        _product(db, name="  ")
    assert err.value.field == "name"
    with pytest.raises(CatalogInputError) as err:
        _product(db, category_id=None)
    assert err.value.field == "category_id"
    with pytest.raises(CatalogInputError) as err:
        _product(db, tax_category_id=987654)
    assert err.value.field == "tax_category_id"


def test_a_taken_slug_is_refused_at_the_slug_field(db):
    _product(db, slug="tracing-paper")
    with pytest.raises(CatalogInputError) as err:
        _product(db, slug="tracing-paper")
    assert err.value.field == "slug" and "already uses" in str(err.value)


def test_updating_a_product_records_what_changed(db):
    product = _product(db)
    data = ProductData(name="Tracing Paper A3", category_id=_category(db, "desk").id,
                       tax_category_id=_tax(db, "reduced").id, slug=product.slug,
                       brand="Canson", description="90 g/m²", active=False)
    catalogue.update_product(db, product, data, actor=ACTOR)
    assert (product.name, product.active) == ("Tracing Paper A3", False)
    changes = _events(db, "product.updated")[-1].data["changes"]
    assert changes["name"] == ["Tracing Paper A4", "Tracing Paper A3"]
    # A new product is a draft already: active=False changes nothing there.
    assert set(changes) == {"name", "category_id", "tax_category_id"}


def test_a_new_variant_is_searchable_by_its_sku_at_once(db):
    product = _product(db)
    catalogue.add_variant(db, product, VariantData(sku="TRC-A4-90", name="Pad of 50",
                                               attributes={"Size": "A4"}), actor=ACTOR)
    found = db.execute(select(matches(db, "trc-a4").c.product_id)).scalars().all()
    assert product.id in found


def test_a_variant_is_validated(db):
    product = _product(db)
    cases = [(VariantData(sku="HAS SPACE"), "sku"), (VariantData(sku="PAP-A4-80"), "sku"),
             (VariantData(sku="pap-a4-80"), "sku"),
             (VariantData(sku="NEW-1", barcode="4006381333931"), None),
             (VariantData(sku="NEW-2", barcode="4006381333932"), "barcode"),
             (VariantData(sku="NEW-3", weight_grams=-1), "weight_grams"),
             (VariantData(sku="NEW-4", attributes={"Colour": "Red", "colour": "Blue"}),
              "attributes")]
    for data, field in cases:
        if field is None:
            catalogue.add_variant(db, product, data, actor=ACTOR)
            continue
        with pytest.raises(CatalogInputError) as err:
            catalogue.add_variant(db, product, data, actor=ACTOR)
        assert err.value.field == field, data


def test_updating_attributes_replaces_them_in_place(db):
    product = _product(db)
    variant = catalogue.add_variant(db, product, VariantData(
        sku="TRC-1", attributes={"Colour": "White", "Size": "A4"}), actor=ACTOR)
    catalogue.update_variant(db, variant, VariantData(
        sku="TRC-1", attributes={"colour": "Ivory", "Pack": "50"}), actor=ACTOR)
    db.flush()
    db.expire(variant)
    assert variant.attributes == {"colour": "Ivory", "Pack": "50"}
    assert _events(db, "variant.updated")[-1].data["changes"]["attributes"] == {
        "colour": "Ivory", "Pack": "50"}


def test_parse_attributes_reads_name_value_pairs_and_refuses_nonsense():
    assert catalogue.parse_attributes("Colour=Black; Size = A4 ;") == {"Colour": "Black",
                                                                  "Size": "A4"}
    with pytest.raises(CatalogInputError):
        catalogue.parse_attributes("Colour Black")


def test_set_price_adds_then_updates_a_quantity_break_and_the_engine_uses_it(db):
    product = _product(db)
    variant = catalogue.add_variant(db, product, VariantData(sku="TRC-2"), actor=ACTOR)
    retail = _list(db)
    entry = price_lists.set_price(db, price_list=retail, variant=variant, min_quantity=1,
                            unit_price=Decimal("4.90"), actor=ACTOR)
    again = price_lists.set_price(db, price_list=retail, variant=variant, min_quantity=1,
                            unit_price=Decimal("4.50"), actor=ACTOR)
    price_lists.set_price(db, price_list=retail, variant=variant, min_quantity=10,
                    unit_price=Decimal("4.00"), actor=ACTOR)
    assert entry is again and entry.unit_price == Decimal("4.50")
    channel = pricing.get_channel(db, "web-b2c")
    ctx = pricing.make_context(channel)
    for quantity, unit in ((1, "4.50"), (10, "4.00")):
        line = pricing.price_cart(db, ctx, [(variant.id, quantity)]).lines[0]
        assert line.unit_price == Decimal(unit)
    assert _events(db, "price.set")[-2].data["previous"] == "4.9"


def test_a_price_has_no_more_decimals_than_the_currency_and_is_not_negative(db):
    variant = db.scalar(select(Variant).where(Variant.sku == "PAP-A4-80"))
    for amount in ("4.999", "-1"):
        with pytest.raises(CatalogInputError) as err:
            price_lists.set_price(db, price_list=_list(db), variant=variant, min_quantity=1,
                            unit_price=Decimal(amount), actor=ACTOR)
        assert err.value.field == "unit_price"
    with pytest.raises(CatalogInputError) as err:
        price_lists.set_price(db, price_list=_list(db), variant=variant, min_quantity=0,
                        unit_price=Decimal("1"), actor=ACTOR)
    assert err.value.field == "min_quantity"


def test_removing_a_price_deletes_the_break_and_audits_it(db):
    variant = db.scalar(select(Variant).where(Variant.sku == "PAP-A4-80"))
    entry = next(e for e in _list(db).entries
                 if e.variant_id == variant.id and e.min_quantity == 10)
    price_lists.remove_price(db, entry, actor=ACTOR)
    assert entry not in _list(db).entries
    assert _events(db, "price.removed")[-1].data["sku"] == "PAP-A4-80"


def test_price_lists_check_their_scope(db):
    ok = price_lists.create_price_list(db, PriceListData(
        code="Summer-B2B", name="Summer trade", currency="eur", scope="channel",
        channel_code="web-b2b", valid_from=dt.date(2026, 6, 1), valid_to=dt.date(2026, 8, 31),
        priority=5, prices_include_tax=False), actor=ACTOR)
    assert (ok.code, ok.currency, ok.channel_code) == ("summer-b2b", "EUR", "web-b2b")
    bad = [(dict(code="retail-eur"), "code"), (dict(code="x y"), "code"),
           (dict(currency="XXX"), "currency"), (dict(scope="channel", channel_code="nope"),
                                                "channel_code"),
           (dict(scope="group"), "customer_group"),
           (dict(scope="contract", customer_number="C-999999"), "customer_number"),
           (dict(valid_from=dt.date(2026, 2, 1), valid_to=dt.date(2026, 1, 1)), "valid_to")]
    for overrides, field in bad:
        data = PriceListData(code="new-list", name="New", currency="EUR", scope="base")
        for key, value in overrides.items():
            setattr(data, key, value)
        with pytest.raises(CatalogInputError) as err:
            price_lists.create_price_list(db, data, actor=ACTOR)
        assert err.value.field == field, overrides


def test_a_contract_list_is_tied_to_the_customer_by_number(db):
    acme = db.scalar(select(PriceList).where(PriceList.code == "acme-contract"))
    number = price_lists.price_list_form_data(acme, db).customer_number
    created = price_lists.create_price_list(db, PriceListData(
        code="acme-2027", name="Acme 2027", currency="EUR", scope="contract",
        customer_number=number.lower()), actor=ACTOR)
    assert created.customer_id == acme.customer_id


def test_the_currency_of_a_list_with_prices_cannot_change(db):
    retail = _list(db)
    data = price_lists.price_list_form_data(retail, db)
    data.currency = "CHF"
    with pytest.raises(CatalogInputError) as err:
        price_lists.update_price_list(db, retail, data, actor=ACTOR)
    assert err.value.field == "currency"


def test_an_exclude_rule_takes_a_product_out_of_a_channel(db):
    channel = db.scalar(select(Channel).where(Channel.code == "callcenter"))
    rule = catalogue.add_assortment_rule(db, channel, mode="exclude", product_ref="PAP-A4-80",
                                     actor=ACTOR)
    product_id = db.scalar(select(Variant.product_id).where(Variant.sku == "PAP-A4-80"))
    sold = set(db.scalars(select(Product.id).where(sellable(db, channel.id))))
    assert product_id not in sold
    with pytest.raises(CatalogInputError):
        catalogue.add_assortment_rule(db, channel, mode="exclude", product_ref="PAP-A4-80",
                                  actor=ACTOR)
    catalogue.remove_assortment_rule(db, rule, actor=ACTOR)
    assert product_id in set(db.scalars(select(Product.id).where(sellable(db, channel.id))))
    assert _events(db, "assortment_rule.removed")


def test_an_assortment_rule_names_exactly_one_target(db):
    channel = db.scalar(select(Channel).where(Channel.code == "callcenter"))
    for kwargs in (dict(), dict(category_id=_category(db).id, product_ref="PAP-A4-80")):
        with pytest.raises(CatalogInputError):
            catalogue.add_assortment_rule(db, channel, mode="include", actor=ACTOR, **kwargs)
    with pytest.raises(CatalogInputError) as err:
        catalogue.add_assortment_rule(db, channel, mode="include", product_ref="NO-SUCH",
                                  actor=ACTOR)
    assert err.value.field == "product"


@pytest.mark.parametrize("data, field", [
    (PromotionData(name="Too much", kind="percent_off", value=Decimal(120)), "value"),
    (PromotionData(name="Nothing off", kind="amount_off", value=Decimal(0)), "value"),
    (PromotionData(name="Fixed for all", kind="fixed_price", value=Decimal("9.90")), "products"),
    (PromotionData(name="B3G0", kind="buy_x_get_y", buy_quantity=3, products=["PAP-A4-80"]),
     "get_quantity"),
    (PromotionData(name="Dup", kind="percent_off", value=Decimal(5), coupon_code="save5"),
     "coupon_code"),
    (PromotionData(name="Nowhere", kind="percent_off", value=Decimal(5), channels=["pos"]),
     "channels"),
    (PromotionData(name="Backwards", kind="free_shipping",
                   starts_at=dt.datetime(2026, 2, 1, tzinfo=dt.timezone.utc),
                   ends_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)), "ends_at"),
    (PromotionData(name="Unknown item", kind="percent_off", value=Decimal(5),
                   products=["no-such-product"]), "products"),
])
def test_promotions_are_validated_by_kind(db, data, field):
    with pytest.raises(CatalogInputError) as err:
        promotions.create_promotion(db, data, actor=ACTOR)
    assert err.value.field == field


def test_a_buy_x_get_y_promotion_keeps_its_quantities_and_resolves_products(db):
    promotion = promotions.create_promotion(db, PromotionData(
        name="Paper: buy 4 get 1", kind="buy_x_get_y", buy_quantity=4, get_quantity=1,
        value=Decimal(50), products=["PAP-A4-80"], coupon_code="paper4",
        channels=["web-b2c"]), actor=ACTOR)
    product_id = db.scalar(select(Variant.product_id).where(Variant.sku == "PAP-A4-80"))
    assert promotion.product_ids == [product_id]
    assert (promotion.buy_quantity, promotion.get_quantity, promotion.value) == (4, 1, 0)
    assert promotion.coupon_code == "PAPER4"
    form = promotions.promotion_form_data(db, promotion)
    assert form.products == [db.get(Product, product_id).slug]


def test_editing_and_deactivating_a_promotion_stops_it_applying(db):
    promotion = db.scalar(select(Promotion).where(Promotion.name.like("Coffee week%")))
    data = promotions.promotion_form_data(db, promotion)
    data.value = Decimal(15)
    promotions.update_promotion(db, promotion, data, actor=ACTOR)
    assert promotion.value == Decimal(15)
    assert _events(db, "promotion.updated")[-1].data["value"] == ["10", "15"]
    promotions.deactivate_promotion(db, promotion, actor=ACTOR)
    ctx = pricing.make_context(pricing.get_channel(db, "web-b2c"))
    assert promotion.id not in {p.id for p in pricing.load_promotions(db, ctx)}
    assert _events(db, "promotion.deactivated")


def test_list_products_finds_by_name_or_sku_fragment_and_pages(db):
    by_sku = catalogue.list_products(db, query="ntb-a5")
    assert [r.name for r in by_sku.items] == ["Hardcover Notebook A5 Ruled"]
    assert "NTB-A5-RUL-NVY" in by_sku.items[0].skus
    by_name = catalogue.list_products(db, query="copy paper")
    assert by_name.total == 4
    page = catalogue.list_products(db, per_page=5, page=2)
    assert len(page.items) == 5 and page.pages >= 13
    assert catalogue.list_products(db, query="100%").total == 0
