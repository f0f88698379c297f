"""CSV export and import of products and prices: all or nothing, errors by line number."""
import csv
import io
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.audit import Actor, AuditEvent
from core.catalog.csv_io import ImportRejected
from core.catalog.models import Product, Variant
from core.catalog.search import matches
from core.pricing import catalogue_files
from core.pricing.models import PriceList, PriceListEntry

ACTOR = Actor("agent", 9999, "catalog@test.example")
HEADER = ("product_slug,product_name,category,brand,description,tax_category,product_active,"
          "sku,variant_name,barcode,weight_grams,attributes,variant_active,base_price\n")


def _list(db, code="retail-eur") -> PriceList:
    return db.scalar(select(PriceList).where(PriceList.code == code))


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def _price(db, sku, code="retail-eur", min_quantity=1):
    return db.scalar(select(PriceListEntry.unit_price).join(Variant).join(PriceList).where(
        Variant.sku == sku, PriceList.code == code, PriceListEntry.min_quantity == min_quantity))


def test_product_export_has_a_row_per_variant_with_its_base_price(db):
    rows = _rows(catalogue_files.export_products(db, _list(db)))
    assert len(rows) == _count(db, Variant)
    notebook = next(r for r in rows if r["sku"] == "NTB-A5-RUL-NVY")
    assert notebook["product_name"] == "Hardcover Notebook A5 Ruled"
    assert notebook["category"] == "paper" and notebook["tax_category"] == "standard"
    assert notebook["attributes"] == "Colour=Navy" and notebook["base_price"] == "18.95"
    assert notebook["product_active"] == "yes" and notebook["variant_active"] == "yes"


def test_export_then_import_changes_nothing(db):
    exported = catalogue_files.export_products(db, _list(db))
    report = catalogue_files.import_products(db, exported.encode("utf-8"), price_list=_list(db),
                                    actor=ACTOR)
    assert report.counts["variants_unchanged"] == _count(db, Variant)
    assert report.counts["products_unchanged"] == _count(db, Product)
    priced = [r for r in _rows(exported) if r["base_price"]]  # the demo's draft has none yet
    assert 0 < len(priced) < _count(db, Variant)
    assert report.counts["prices_unchanged"] == len(priced)
    assert not any(report.counts[k] for k in ("products_created", "products_updated",
                                              "variants_created", "variants_updated",
                                              "prices_created", "prices_updated"))
    assert catalogue_files.export_products(db, _list(db)) == exported


def test_import_creates_and_updates_by_sku_and_reindexes_search(db):
    data = HEADER + (
        "canson-tracing-pad,Tracing Pad,paper,Canson,90 g,standard,yes,TRC-A4,A4,,250,"
        "Size=A4,yes,\"7,90\"\n"
        "canson-tracing-pad,Tracing Pad,paper,Canson,90 g,standard,yes,TRC-A3,A3,,500,"
        "Size=A3,yes,12.50\n"
        "navigator-everyday-copy-paper-a4-80-g,Everyday Copy Paper A4 80 g,paper,Navigator,"
        "\"Bright white multipurpose paper for printers and copiers, 500 sheets a ream.\","
        "standard,yes,PAP-A4-80,1 ream,,600,Pack=1 ream,yes,5.79\n")
    report = catalogue_files.import_products(db, data, price_list=_list(db), actor=ACTOR,
                                    filename="new.csv")
    assert report.counts["products_created"] == 1 and report.counts["variants_created"] == 2
    assert report.counts["variants_updated"] == 1 and report.counts["prices_updated"] == 1
    assert _price(db, "TRC-A4") == Decimal("7.90") and _price(db, "PAP-A4-80") == Decimal("5.79")
    pad = db.scalar(select(Product).where(Product.slug == "canson-tracing-pad"))
    assert [v.sku for v in pad.variants] == ["TRC-A4", "TRC-A3"]
    assert pad.variants[1].attributes == {"Size": "A3"}
    paper = db.scalar(select(Variant).where(Variant.sku == "PAP-A4-80"))
    assert paper.barcode == "" and paper.weight_grams == 600
    assert pad.id in db.execute(select(matches(db, "trc-a3").c.product_id)).scalars().all()
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "catalog.products_imported"))
    assert event.data["file"] == "new.csv" and event.data["created_skus"] == ["TRC-A4", "TRC-A3"]
    assert "Imported 3 rows" in report.summary()


def test_a_bad_row_is_reported_by_its_line_and_nothing_is_imported(db):
    before = (_count(db, Product), _count(db, Variant), _count(db, PriceListEntry))
    data = HEADER + (
        "new-one,New One,paper,,,standard,yes,NEW-1,,,,,yes,1.00\n"
        "new-two,New Two,paper,,,standard,yes,NEW-2,,,,,yes,2.00\n"
        "new-three,New Three,no-such-category,,,standard,yes,NEW-3,,,,,yes,3.00\n"
        "new-four,New Four,paper,,,standard,maybe,NEW-4,,,,,yes,4.00\n"
        "new-five,New Five,paper,,,standard,yes,NEW-5,,,,,yes,5.999\n")
    with pytest.raises(ImportRejected) as err:
        catalogue_files.import_products(db, data, price_list=_list(db), actor=ACTOR)
    assert [e.split(":")[0] for e in err.value.errors] == ["line 4", "line 5", "line 6"]
    assert "no-such-category" in err.value.errors[0]
    assert "at most 2 decimal places" in err.value.errors[2]
    assert (_count(db, Product), _count(db, Variant), _count(db, PriceListEntry)) == before


def test_line_numbers_count_physical_lines_of_quoted_multiline_cells_and_blank_lines(db):
    data = HEADER + (
        "multi,Multi,paper,,\"first line\nsecond line\",standard,yes,MUL-1,,,,,yes,1\n"
        "\n"
        "multi-2,Multi 2,paper,,,standard,yes,bad sku,,,,,yes,1\n")
    with pytest.raises(ImportRejected) as err:
        catalogue_files.import_products(db, data, price_list=_list(db), actor=ACTOR)
    assert err.value.errors[0].startswith("line 5: SKU 'bad sku'")


def test_rows_of_one_product_must_agree_and_skus_must_not_repeat_or_move(db):
    data = HEADER + (
        "pad,Pad,paper,,,standard,yes,PAD-1,,,,,yes,\n"
        "pad,Pad renamed,paper,,,standard,yes,PAD-2,,,,,yes,\n"
        "pad,Pad,paper,,,standard,yes,PAD-1,,,,,yes,\n"
        "other,Other,paper,,,standard,yes,PAP-A4-80,,,,,yes,\n"
        "other,Other,paper,,,standard,yes,pap-a4-100,,,,,yes,\n")
    with pytest.raises(ImportRejected) as err:
        catalogue_files.import_products(db, data, price_list=_list(db), actor=ACTOR)
    messages = err.value.errors
    assert messages[0].startswith("line 3: product pad has other product details than on line 2")
    assert messages[1] == "line 4: SKU PAD-1 is also on line 2."
    assert messages[2].startswith("line 5: SKU PAP-A4-80 belongs to product navigator-")
    assert messages[3].startswith("line 6: SKU pap-a4-100 differs only in case")


def test_the_header_is_line_1_and_must_name_the_required_columns(db):
    with pytest.raises(ImportRejected) as err:
        catalogue_files.import_products(db, "product_slug,name,sku\nx,y,z\n", price_list=None,
                               actor=ACTOR)
    assert err.value.errors[0] == ("line 1: the header lacks the columns product_name, "
                                   "category, tax_category.")
    assert err.value.errors[1].startswith("line 1: unknown column 'name'")
    with pytest.raises(ImportRejected) as err:
        catalogue_files.import_products(db, b"", price_list=None, actor=ACTOR)
    assert err.value.errors == ["line 1: the file is empty; it needs a header row."]


def test_a_file_that_is_not_utf8_is_refused_with_the_line_of_the_bad_byte(db):
    data = (HEADER + "cafe,Caf\xe9,paper,,,standard,yes,CAF-1,,,,,yes,\n").encode("latin-1")
    with pytest.raises(ImportRejected) as err:
        catalogue_files.import_products(db, data, price_list=None, actor=ACTOR)
    assert err.value.errors[0].startswith("line 2: the file is not UTF-8")


def test_a_partial_file_updates_only_its_columns_and_semicolons_work(db):
    data = ("product_slug;product_name;category;tax_category;sku;barcode\n"
            "navigator-everyday-copy-paper-a4-80-g;Everyday Copy Paper A4 80 g;paper;standard;"
            "PAP-A4-80;4006381333931\n")
    before = db.scalar(select(Variant).where(Variant.sku == "PAP-A4-80"))
    weight, name = before.weight_grams, before.name
    report = catalogue_files.import_products(db, data.encode(), price_list=None, actor=ACTOR)
    assert report.counts["variants_updated"] == 1 and report.counts["products_unchanged"] == 1
    assert (before.barcode, before.weight_grams, before.name) == ("4006381333931", weight, name)


def test_formula_like_cells_are_defused_on_export_and_restored_on_import(db):
    product = db.scalar(select(Product).where(Product.slug.like("navigator-everyday%")))
    product.description = "=HYPERLINK(\"http://evil\")"
    db.flush()
    exported = catalogue_files.export_products(db, None)
    assert "'=HYPERLINK" in exported
    product.description = "changed"
    db.flush()
    catalogue_files.import_products(db, exported, price_list=None, actor=ACTOR)
    assert product.description == "=HYPERLINK(\"http://evil\")"


def test_price_list_export_and_import_round_trip(db):
    trade = _list(db, "trade-eur")
    exported = catalogue_files.export_price_list(db, trade)
    rows = _rows(exported)
    assert len(rows) == len(trade.entries)
    assert set(rows[0]) == {"price_list", "sku", "product_name", "min_quantity", "unit_price"}
    report = catalogue_files.import_prices(db, exported, actor=ACTOR)
    assert report.counts["prices_unchanged"] == len(trade.entries)


def test_price_import_adds_and_changes_quantity_breaks(db):
    data = ("price_list,sku,min_quantity,unit_price\n"
            "trade-eur,PAP-A4-80,1,4.10\n"
            "trade-eur,PAP-A4-80,100,3.60\n"
            "acme-contract,PAP-A4-80,50,3.20\n")
    report = catalogue_files.import_prices(db, data, actor=ACTOR)
    assert report.counts["prices_updated"] == 1 and report.counts["prices_created"] == 2
    assert _price(db, "PAP-A4-80", "trade-eur") == Decimal("4.10")
    assert _price(db, "PAP-A4-80", "trade-eur", 100) == Decimal("3.60")
    assert _price(db, "PAP-A4-80", "acme-contract", 50) == Decimal("3.20")
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "catalog.prices_imported")
                     ).data["price_lists"] == ["acme-contract", "trade-eur"]


def test_price_import_reports_every_bad_row_and_keeps_every_price(db):
    data = ("price_list,sku,min_quantity,unit_price\n"
            "trade-eur,PAP-A4-80,1,1.00\n"
            "nope,PAP-A4-80,1,1.00\n"
            "trade-eur,NO-SUCH,1,1.00\n"
            "trade-eur,PAP-A4-80,0,1.00\n"
            "trade-eur,PAP-A4-80,2,-1\n"
            "trade-eur,PAP-A4-80,1,2.00\n"
            "trade-eur,PAP-A4-80,3\n")
    old = _price(db, "PAP-A4-80", "trade-eur")
    with pytest.raises(ImportRejected) as err:
        catalogue_files.import_prices(db, data, actor=ACTOR)
    assert [e.split(":")[0] for e in err.value.errors] == [f"line {n}" for n in range(3, 9)]
    assert "also on line 2" in err.value.errors[4]
    assert _price(db, "PAP-A4-80", "trade-eur") == old
