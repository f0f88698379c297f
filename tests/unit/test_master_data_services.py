"""Master-data services: the category tree, pictures, relations, warehouses and channels,
suppliers, tax rates, shipping methods, console users, and the products file's stock
columns (core.workflows.catalogue_import)."""
import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import func, select

from core.agents import admin as agents_admin
from core.audit import Actor
from core.catalog import categories as tree
from core.catalog import images, relations
from core.catalog.categories import CategoryData
from core.catalog.csv_io import ImportRejected
from core.catalog.models import Category, Channel, Product, Variant
from core.catalog.products import CatalogInputError
from core.errors import DomainError, InvalidInput
from core.inventory import services as stock
from core.inventory import suppliers as supply
from core.inventory import warehouses as stores
from core.inventory.models import StockMovement, Warehouse
from core.orders import shipping_methods as shipping
from core.pricing import tax_rates as taxes
from core.pricing.models import TaxCategory
from core.workflows import catalogue_import

ACTOR = Actor("agent", 9999, "setup@test.example")


def _cat(db, slug) -> Category:
    return db.scalar(select(Category).where(Category.slug == slug))


# --- categories -------------------------------------------------------------------------------


def test_moving_a_category_rewrites_the_paths_of_its_whole_subtree(db):
    paper, desk = _cat(db, "paper"), _cat(db, "desk")
    a = tree.create_category(db, CategoryData(name="Pads A", parent_id=paper.id), actor=ACTOR)
    b = tree.create_category(db, CategoryData(name="Pads B", parent_id=a.id), actor=ACTOR)
    c = tree.create_category(db, CategoryData(name="Pads C", parent_id=b.id), actor=ACTOR)
    tree.update_category(db, a, CategoryData(name="Pads A", slug="pads-a", parent_id=desk.id),
                         actor=ACTOR)
    db.expire_all()
    assert db.get(Category, c.id).path == f"{desk.path}{a.id}/{b.id}/{c.id}/"
    assert db.get(Category, a.id).parent_id == desk.id
    tree.update_category(db, db.get(Category, a.id),
                         CategoryData(name="Pads A", slug="pads-a", parent_id=None), actor=ACTOR)
    db.expire_all()
    assert db.get(Category, b.id).path == f"/{a.id}/{b.id}/"


def test_a_category_never_moves_under_its_own_descendant(db):
    paper = _cat(db, "paper")
    child = tree.create_category(db, CategoryData(name="Child", parent_id=paper.id), actor=ACTOR)
    with pytest.raises(CatalogInputError) as err:
        tree.update_category(db, paper, CategoryData(name=paper.name, slug=paper.slug,
                                                     parent_id=child.id), actor=ACTOR)
    assert err.value.field == "parent_id"
    with pytest.raises(CatalogInputError):
        tree.update_category(db, paper, CategoryData(name=paper.name, slug=paper.slug,
                                                     parent_id=paper.id), actor=ACTOR)


def test_new_categories_go_last_and_move_up_among_siblings(db):
    paper = _cat(db, "paper")
    first = tree.create_category(db, CategoryData(name="First", parent_id=paper.id), actor=ACTOR)
    second = tree.create_category(db, CategoryData(name="Second", parent_id=paper.id),
                                  actor=ACTOR)
    assert second.position == first.position + 1
    tree.move_category(db, second, "up", actor=ACTOR)
    assert second.position < first.position
    tree.move_category(db, second, "up", actor=ACTOR)  # already first: nothing changes
    assert second.position < first.position


# --- pictures and relations -----------------------------------------------------------------


def _png(w, h, mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (w, h)).save(out, "PNG")
    return out.getvalue()


def test_a_picture_is_resized_thumbnailed_and_becomes_the_main_image(db, tmp_path):
    product = db.scalar(select(Product).limit(1))
    picture = images.add_image(db, product, _png(3000, 1500), alt="", media_dir=tmp_path,
                               actor=ACTOR)
    assert (picture.width, picture.height) == (1200, 600)
    assert picture.alt == product.name[:200]
    assert product.image == picture.filename
    thumb = Image.open(tmp_path / "products" / images.thumbnail_name(picture.filename))
    assert max(thumb.size) == 300
    transparent = images.add_image(db, product, _png(10, 10, "RGBA"), alt="Clear",
                                   media_dir=tmp_path, actor=ACTOR)
    assert transparent.filename.endswith(".png") and product.image == picture.filename


@pytest.mark.parametrize("data,message", [
    (b"", "Choose a picture"), (b"GIF89a broken", "not a picture"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not a picture")])
def test_what_is_no_picture_is_refused_at_the_file_field(db, tmp_path, data, message):
    product = db.scalar(select(Product).limit(1))
    with pytest.raises(CatalogInputError) as err:
        images.add_image(db, product, data, alt="", media_dir=tmp_path, actor=ACTOR)
    assert err.value.field == "file" and message in str(err.value)


def test_a_decompression_bomb_is_refused(db, tmp_path, monkeypatch):
    monkeypatch.setattr(images, "MAX_PIXELS", 100 * 100)
    product = db.scalar(select(Product).limit(1))
    with pytest.raises(CatalogInputError, match="too large"):
        images.add_image(db, product, _png(200, 200), alt="", media_dir=tmp_path, actor=ACTOR)


def test_relations_refuse_the_product_itself_and_duplicates(db):
    variant = db.scalar(select(Variant).where(Variant.sku == "PAP-A4-80"))
    product = variant.product
    with pytest.raises(CatalogInputError, match="itself"):
        relations.add_relation(db, product, ref="PAP-A4-80", kind="accessory", actor=ACTOR)
    relations.add_relation(db, product, ref="pen-jot-stl", kind="accessory", actor=ACTOR)
    with pytest.raises(CatalogInputError, match="already"):
        relations.add_relation(db, product, ref="PEN-JOT-STL", kind="accessory", actor=ACTOR)
    with pytest.raises(CatalogInputError):
        relations.add_relation(db, product, ref="PEN-JOT-STL", kind="upsell", actor=ACTOR)


# --- warehouses, suppliers, channels, tax, shipping, users ------------------------------------


def test_warehouse_codes_are_checked_and_never_change(db):
    with pytest.raises(InvalidInput) as err:
        stores.create_warehouse(db, stores.WarehouseData(code="a b", name="X"), actor=ACTOR)
    assert err.value.field == "code"
    ber = stores.create_warehouse(db, stores.WarehouseData(code="ber", name="Berlin"),
                                  actor=ACTOR)
    assert ber.code == "BER"
    with pytest.raises(InvalidInput, match="cannot change"):
        stores.update_warehouse(db, ber, stores.WarehouseData(code="BRL", name="B"), actor=ACTOR)


def test_a_channel_sources_from_its_warehouses_in_the_order_set(db):
    channel = db.scalar(select(Channel).where(Channel.code == "web-b2c"))
    ham = stores.create_warehouse(db, stores.WarehouseData(code="KIE", name="Kiel"),
                                  actor=ACTOR)
    main = db.scalar(select(Warehouse).where(Warehouse.code == "MAIN"))
    for link in stores.channel_warehouses(db).get(channel.id, []):
        stores.remove_channel_warehouse(db, link, actor=ACTOR)
    stores.add_channel_warehouse(db, channel, main.id, actor=ACTOR)
    link = stores.add_channel_warehouse(db, channel, ham.id, actor=ACTOR)
    assert stock.warehouses_for(db, "web-b2c")[:2] == ["MAIN", "KIE"]
    stores.move_channel_warehouse(db, link, "up", actor=ACTOR)
    assert stock.warehouses_for(db, "web-b2c")[:2] == ["KIE", "MAIN"]
    with pytest.raises(InvalidInput, match="already sources"):
        stores.add_channel_warehouse(db, channel, ham.id, actor=ACTOR)


def test_a_channel_default_price_list_must_be_in_its_currency(db):
    from core.pricing.models import PriceList
    channel = db.scalar(select(Channel).where(Channel.code == "web-b2c"))
    eur = db.scalar(select(PriceList).where(PriceList.currency == "EUR").limit(1))
    with pytest.raises(InvalidInput) as err:
        taxes.update_channel(db, channel, taxes.ChannelData(
            name="Shop", currency="USD", prices_include_tax=True, country="DE",
            default_price_list_id=eur.id), actor=ACTOR)
    assert err.value.field == "default_price_list_id"


def test_a_supplier_needs_a_plausible_lead_time(db):
    with pytest.raises(InvalidInput) as err:
        supply.create_supplier(db, supply.SupplierData(code="S1", name="S", lead_days=900),
                               actor=ACTOR)
    assert err.value.field == "lead_days"


@pytest.mark.parametrize("valid_from,valid_to,overlaps", [
    (dt.date(2030, 1, 1), None, True),                      # open, after an open rate
    (dt.date(2019, 1, 1), dt.date(2020, 12, 31), False),    # ends the day before
    (dt.date(2019, 1, 1), dt.date(2021, 1, 1), True),       # ends on its first day
])
def test_tax_periods_of_one_category_and_place_never_overlap(db, valid_from, valid_to,
                                                             overlaps):
    standard = db.scalar(select(TaxCategory.id).where(TaxCategory.code == "standard"))
    data = taxes.TaxRateData(tax_category_id=standard, country="DE", name="Old VAT",
                             rate_percent=Decimal("16"), valid_from=valid_from,
                             valid_to=valid_to)
    if overlaps:
        with pytest.raises(InvalidInput, match="already applies"):
            taxes.create_tax_rate(db, data, actor=ACTOR)
    else:
        assert taxes.create_tax_rate(db, data, actor=ACTOR).rate == Decimal("0.16")


def test_a_shipping_method_names_only_known_channels(db):
    with pytest.raises(InvalidInput) as err:
        shipping.create_shipping_method(db, shipping.ShippingMethodData(
            code="x", name="X", price=Decimal("1"), channels=["pos-nowhere"]), actor=ACTOR)
    assert err.value.field == "channels"


def test_an_admin_cannot_take_admin_from_themself(db):
    from tests.factories import AgentFactory
    me = AgentFactory(email="self-admin@test.example", roles_text="admin")
    db.flush()
    with pytest.raises(InvalidInput):
        agents_admin.set_roles(db, me, ["agent"], actor=Actor("agent", me.id, me.email))
    with pytest.raises(DomainError):
        agents_admin.set_roles(db, me, ["wizard"], actor=ACTOR)


# --- stock columns of the products file ---------------------------------------------------------


FILE = ("product_slug,product_name,category,tax_category,sku,base_price,stock:MAIN\r\n"
        "quiet-fan,Quiet Fan,desk,standard,FAN-Q-1,,{units}\r\n")


def _movements(db, variant_id) -> int:
    return db.scalar(select(func.count()).select_from(StockMovement)
                     .where(StockMovement.variant_id == variant_id))


def test_the_products_file_sets_stock_per_warehouse_through_the_journal(db):
    catalogue_import.import_products(db, FILE.format(units=10), price_list=None, actor=ACTOR)
    variant = db.scalar(select(Variant).where(Variant.sku == "FAN-Q-1"))
    assert stock.on_hand(db, [variant.id]) == {variant.id: 10}
    assert stock.journal_balance(db, variant.id, "MAIN") == (10, 0)
    movement = db.scalar(select(StockMovement).where(StockMovement.variant_id == variant.id))
    assert (movement.kind, movement.reference, movement.quantity) == ("count", "import", 10)
    catalogue_import.import_products(db, FILE.format(units=10), price_list=None, actor=ACTOR)
    assert _movements(db, variant.id) == 1  # the same file again posts nothing
    catalogue_import.import_products(db, FILE.format(units=7), price_list=None, actor=ACTOR)
    assert stock.journal_balance(db, variant.id, "MAIN") == (7, 0)
    exported = catalogue_import.export_products(db, None)
    rows = list(csv.DictReader(io.StringIO(exported.lstrip("\ufeff"))))
    codes = db.scalars(select(Warehouse.code).where(Warehouse.active)).all()
    row = next(r for r in rows if r["sku"] == "FAN-Q-1")
    assert {c: row[f"stock:{c}"] for c in codes} == {c: "7" if c == "MAIN" else "0"
                                                     for c in codes}


def test_an_unknown_warehouse_or_a_bad_count_rejects_the_whole_file(db):
    bad = FILE.replace("stock:MAIN", "stock:NOWHERE").format(units=3)
    with pytest.raises(ImportRejected) as err:
        catalogue_import.import_products(db, bad, price_list=None, actor=ACTOR)
    assert "no warehouse NOWHERE" in err.value.errors[0]
    with pytest.raises(ImportRejected) as err:
        catalogue_import.import_products(db, FILE.format(units="-2"), price_list=None,
                                         actor=ACTOR)
    assert "line 2: stock:main is the units on hand" in err.value.errors[0]
    assert db.scalar(select(Variant).where(Variant.sku == "FAN-Q-1")) is None


def test_the_demo_admin_exists_and_the_demo_gallery_goes_through_the_upload_service(db,
                                                                                     tmp_path):
    from core.agents.models import Agent
    from core.demo.master import GALLERY_SKU, load_master
    admin = db.scalar(select(Agent).where(Agent.email == "admin@marketline.example"))
    assert admin is not None and admin.has_role("admin")
    said = load_master(db, tmp_path)
    product = db.scalar(select(Variant).where(Variant.sku == GALLERY_SKU)).product
    assert "gallery of 3 pictures" in said
    assert [max(p.width, p.height) for p in product.images] == [1200, 1200, 1200]
    assert product.image == product.images[0].filename
    assert (tmp_path / "products" / product.image).exists()
