"""Standard cost prices: the demo's, the catalogue service's checks, and the products CSV's
cost_price column (old files without it still import)."""
import csv
import io
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from core.audit import Actor
from core.catalog import products as catalogue
from core.catalog.csv_io import ImportRejected
from core.catalog.models import Product, Variant
from core.catalog.products import VariantData
from core.demo import CATALOGUE, FOOD_CATEGORIES
from core.pricing import catalogue_files
from core.pricing.models import PriceList

ACTOR = Actor("agent", 9999, "catalog@test.example")
OLD_HEADER = ("product_slug,product_name,category,brand,description,tax_category,product_active,"
              "sku,variant_name,barcode,weight_grams,attributes,variant_active,base_price\n")


def _list(db) -> PriceList:
    return db.scalar(select(PriceList).where(PriceList.code == "retail-eur"))


def _variant(db, sku) -> Variant:
    return db.scalar(select(Variant).where(Variant.sku == sku))


def test_every_demo_variant_costs_55_to_70_percent_of_its_retail_net_price(db):
    costs = dict(db.execute(select(Variant.sku, Variant.cost_price)).all())
    for slug, _name, _text, products in CATALOGUE:
        rate = D("1.07") if slug in FOOD_CATEGORIES else D("1.19")
        for _product, _brand, _about, variants in products:
            for sku, _variant_name, price, _stock, _attributes in variants:
                net = D(price) / rate
                assert costs[sku] is not None, sku
                assert D("0.55") * net - D("0.01") <= costs[sku] <= D("0.70") * net + D("0.01")


def test_the_service_sets_changes_and_clears_a_variant_s_cost_price(db):
    product = db.scalar(select(Product).where(Product.slug == _variant(db, "PAP-A4-80")
                                              .product.slug))
    variant = catalogue.add_variant(db, product, VariantData(sku="PAP-A4-80-PAL",
                                                              cost_price=D("812.50")), actor=ACTOR)
    assert variant.cost_price == D("812.50")
    catalogue.update_variant(db, variant, VariantData(sku="PAP-A4-80-PAL", cost_price=D("0")),
                             actor=ACTOR)
    assert variant.cost_price == 0
    catalogue.update_variant(db, variant, VariantData(sku="PAP-A4-80-PAL"), actor=ACTOR)
    assert variant.cost_price is None


@pytest.mark.parametrize("cost", [D("-0.01"), D("1.23456"), D("1e15")])
def test_a_negative_or_too_precise_cost_price_is_refused_at_its_field(db, cost):
    variant = _variant(db, "PAP-A4-80")
    with pytest.raises(catalogue.CatalogInputError) as err:
        catalogue.update_variant(db, variant, VariantData(sku="PAP-A4-80", cost_price=cost),
                                 actor=ACTOR)
    assert err.value.field == "cost_price"


def test_the_products_export_has_each_variant_s_cost_price(db):
    rows = list(csv.DictReader(io.StringIO(
        catalogue_files.export_products(db, _list(db)).lstrip("\ufeff"))))
    paper = next(r for r in rows if r["sku"] == "PAP-A4-80")
    assert D(paper["cost_price"]) == _variant(db, "PAP-A4-80").cost_price
    _variant(db, "PAP-A4-100").cost_price = None
    rows = list(csv.DictReader(io.StringIO(
        catalogue_files.export_products(db, _list(db)).lstrip("\ufeff"))))
    assert next(r for r in rows if r["sku"] == "PAP-A4-100")["cost_price"] == ""


def test_an_import_sets_cost_prices_and_an_empty_cell_leaves_one_alone(db):
    before = _variant(db, "PAP-A4-100").cost_price
    data = (OLD_HEADER.rstrip("\n") + ",cost_price\n"
            "copy-paper,Copy Paper,paper,,,standard,yes,PAP-A4-80,1 ream,,,,yes,,2.35\n"
            "copy-paper-100,Copy Paper 100,paper,,,standard,yes,PAP-A4-100,1 ream,,,,yes,,\n")
    slug = {sku: _variant(db, sku).product.slug for sku in ("PAP-A4-80", "PAP-A4-100")}
    data = data.replace("copy-paper-100,Copy Paper 100", f"{slug['PAP-A4-100']},"
                        f"{_variant(db, 'PAP-A4-100').product.name}")
    data = data.replace("copy-paper,Copy Paper", f"{slug['PAP-A4-80']},"
                        f"{_variant(db, 'PAP-A4-80').product.name}")
    catalogue_files.import_products(db, data.encode(), price_list=None, actor=ACTOR)
    assert _variant(db, "PAP-A4-80").cost_price == D("2.35")
    assert _variant(db, "PAP-A4-100").cost_price == before


def test_an_old_file_without_the_column_imports_and_keeps_the_costs(db):
    paper = _variant(db, "PAP-A4-80")
    cost = paper.cost_price
    data = (OLD_HEADER + f"{paper.product.slug},{paper.product.name},paper,,,standard,yes,"
            f"PAP-A4-80,Renamed ream,,,,yes,\n")
    catalogue_files.import_products(db, data.encode(), price_list=None, actor=ACTOR)
    assert (paper.name, paper.cost_price) == ("Renamed ream", cost)


def test_a_bad_cost_price_is_reported_by_line_and_nothing_is_imported(db):
    paper = _variant(db, "PAP-A4-80")
    cost = paper.cost_price
    row = f"{paper.product.slug},{paper.product.name},paper,,,standard,yes,PAP-A4-80,,,,,yes,,"
    data = OLD_HEADER.rstrip("\n") + ",cost_price\n" + row + "1.10\n" + \
        row.replace("PAP-A4-80", "PAP-A4-80-BOX") + "-4\n"
    with pytest.raises(ImportRejected) as err:
        catalogue_files.import_products(db, data.encode(), price_list=None, actor=ACTOR)
    assert len(err.value.errors) == 1 and err.value.errors[0].startswith("line 3: ")
    assert "cost price" in err.value.errors[0]
    assert paper.cost_price == cost
