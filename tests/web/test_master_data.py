"""Master-data pages in the console (callcenter/master_data.py): roles, CSRF, bad input at
the field, the category tree, channels and their warehouses, warehouses, suppliers, tax
rates, shipping methods, console users, product pictures and relations; fixed query counts."""
import csv
import io
import re

import pytest
from flask import url_for
from PIL import Image
from sqlalchemy import func, select

from core import clock
from core.agents.models import Agent
from core.auth.models import LoginSession
from core.catalog.models import Category, Channel, Product, ProductImage, ProductRelation
from core.inventory.models import ChannelWarehouse, Supplier, Warehouse
from core.orders.shipping import ShippingMethod
from core.pricing.models import TaxCategory, TaxRate
from tests.conftest import agent_client_for, csrf_token
from tests.factories import AgentFactory
from tests.helpers import QueryCounter
from tests.web.conftest import id_of

ADMIN = "admin-setup@test.example"


@pytest.fixture
def admin_client(console_app, db):
    from core.auth.passwords import hash_password
    AgentFactory(email=ADMIN, full_name="Ada Admin", roles_text="admin",
                 password_hash=hash_password("demo-pass-1"))
    db.commit()
    return agent_client_for(console_app, ADMIN)


# Not conftest's catalog_post: these posts come from admins, catalogue managers and readers
# alike, and /setup/ (not /catalog/) is the page all of them may open for the CSRF token.
def _post(client, path, data, **kwargs):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, "/setup/")},
                       **kwargs)


def _count(db, model, *where) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where))


def _png(width=64, height=48, colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def _master_routes(app):
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint.startswith("master."):
                args = {a: 1 for a in rule.arguments}
                path = url_for(rule.endpoint, **args)
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    yield rule.endpoint, method, path


# --- access -----------------------------------------------------------------------------------


def test_a_plain_agent_gets_403_on_every_setup_route_and_sees_no_setup_link(
        console_app, agent_client, db):
    routes = list(_master_routes(console_app))
    assert len(routes) >= 30
    token = csrf_token(agent_client, "/")
    for _, method, path in routes:
        response = agent_client.open(path, method=method, data={"csrf_token": token})
        assert response.status_code == 403, (method, path)
    assert ">Setup</a>" not in agent_client.get("/").get_data(as_text=True)


def test_a_supervisor_reads_every_setup_page_and_changes_nothing(console_app, supervisor_client,
                                                                 db):
    token = csrf_token(supervisor_client, "/")
    before = [_count(db, m) for m in (Category, Warehouse, Supplier, TaxRate, Agent)]
    for endpoint, method, path in _master_routes(console_app):
        if method == "POST":
            response = supervisor_client.post(path, data={"csrf_token": token})
            assert response.status_code in (403, 404), (method, path)
    assert [_count(db, m) for m in (Category, Warehouse, Supplier, TaxRate, Agent)] == before
    for path in ("/setup/", "/setup/categories", "/setup/warehouses", "/setup/suppliers",
                 "/setup/channels", "/setup/tax", "/setup/shipping", "/setup/users"):
        assert supervisor_client.get(path).status_code == 200, path


def test_a_catalogue_manager_keeps_categories_and_suppliers_but_not_admin_data(catalog_client,
                                                                              db):
    assert 'href="/setup/">Setup</a>' in catalog_client.get("/").get_data(as_text=True)
    assert catalog_client.get("/setup/categories").status_code == 200
    assert catalog_client.get("/setup/suppliers").status_code == 200
    for path in ("/setup/warehouses", "/setup/tax", "/setup/shipping", "/setup/users",
                 "/setup/channels"):
        assert catalog_client.get(path).status_code == 403, path
    assert _post(catalog_client, "/setup/warehouses/new",
                 {"code": "X", "name": "X"}).status_code == 403


def test_every_setup_page_opens_with_one_h1(admin_client, db):
    ids = {m: db.scalar(select(m.id).limit(1)) for m in (Category, Warehouse, Channel, TaxRate,
                                                         ShippingMethod, Agent)}
    for path in ("/setup/", "/setup/categories", f"/setup/categories/{ids[Category]}",
                 "/setup/warehouses", "/setup/warehouses/new",
                 f"/setup/warehouses/{ids[Warehouse]}", "/setup/suppliers",
                 "/setup/suppliers/new", "/setup/channels", f"/setup/channels/{ids[Channel]}",
                 "/setup/tax", "/setup/tax/rates/new", f"/setup/tax/rates/{ids[TaxRate]}",
                 "/setup/shipping", "/setup/shipping/new",
                 f"/setup/shipping/{ids[ShippingMethod]}", "/setup/users", "/setup/users/new",
                 f"/setup/users/{ids[Agent]}"):
        response = admin_client.get(path)
        assert response.status_code == 200, path
        assert response.get_data(as_text=True).count("<h1") == 1, path


def test_posts_without_a_csrf_token_are_refused(admin_client, db):
    before = _count(db, Warehouse)
    response = admin_client.post("/setup/warehouses/new", data={"code": "SNEAK", "name": "S"})
    assert response.status_code == 400
    assert _count(db, Warehouse) == before


def test_unknown_records_are_404(admin_client):
    for path in ("/setup/categories/999999", "/setup/warehouses/999999",
                 "/setup/suppliers/999999", "/setup/channels/999999",
                 "/setup/tax/rates/999999", "/setup/shipping/999999", "/setup/users/999999"):
        assert admin_client.get(path).status_code == 404, path


# --- the category tree ------------------------------------------------------------------------


def test_categories_are_created_moved_with_their_subtree_and_never_under_themselves(
        catalog_client, db):
    paper = db.scalar(select(Category).where(Category.slug == "paper"))
    desk = db.scalar(select(Category).where(Category.slug == "desk"))
    response = _post(catalog_client, "/setup/categories", {
        "name": "Notebooks", "parent_id": paper.id, "active": "y"})
    assert response.status_code == 303, response.get_data(as_text=True)
    notebooks = db.scalar(select(Category).where(Category.slug == "notebooks"))
    assert notebooks.path == f"{paper.path}{notebooks.id}/"
    _post(catalog_client, "/setup/categories", {"name": "Dotted", "parent_id": notebooks.id,
                                                "active": "y"})
    dotted = db.scalar(select(Category).where(Category.slug == "dotted"))

    refused = _post(catalog_client, f"/setup/categories/{notebooks.id}", {
        "name": "Notebooks", "slug": "notebooks", "parent_id": dotted.id, "active": "y"})
    assert refused.status_code == 200
    assert re.search(r'id="parent_id-error">Notebooks cannot move under itself',
                     refused.get_data(as_text=True))

    moved = _post(catalog_client, f"/setup/categories/{notebooks.id}", {
        "name": "Notebooks and Journals", "slug": "notebooks", "parent_id": desk.id,
        "active": "y", "return_days": "30"})
    assert moved.status_code == 303
    db.expire_all()
    notebooks, dotted = db.get(Category, notebooks.id), db.get(Category, dotted.id)
    assert (notebooks.name, notebooks.parent_id, notebooks.return_days) == (
        "Notebooks and Journals", desk.id, 30)
    assert notebooks.path == f"{desk.path}{notebooks.id}/"
    assert dotted.path == f"{desk.path}{notebooks.id}/{dotted.id}/"


def test_a_taken_slug_is_refused_at_the_field(catalog_client, db):
    response = _post(catalog_client, "/setup/categories", {"name": "Paper", "slug": "paper"})
    assert response.status_code == 200
    assert 'id="slug-error">Another category already uses the slug paper.' in \
        response.get_data(as_text=True)


def test_categories_move_up_and_down_among_their_siblings(catalog_client, db):
    tops = list(db.scalars(select(Category).where(Category.parent_id.is_(None))
                           .order_by(Category.position, Category.name)))
    second = tops[1]
    response = _post(catalog_client, f"/setup/categories/{second.id}/move", {"direction": "up"})
    assert response.status_code == 303
    db.expire_all()
    now = list(db.scalars(select(Category).where(Category.parent_id.is_(None))
                          .order_by(Category.position, Category.name)))
    assert [c.id for c in now[:2]] == [tops[1].id, tops[0].id]


# --- warehouses, suppliers, channels ------------------------------------------------------


def test_a_warehouse_is_created_edited_and_a_duplicate_code_refused(admin_client, db):
    response = _post(admin_client, "/setup/warehouses/new", {
        "code": "ber", "name": "Berlin", "city": "Berlin", "country": "de", "position": "2",
        "active": "y"})
    assert response.status_code == 303, response.get_data(as_text=True)
    ber = db.scalar(select(Warehouse).where(Warehouse.code == "BER"))
    assert ber.address == {"city": "Berlin", "country": "DE"} and ber.position == 2
    again = _post(admin_client, "/setup/warehouses/new", {"code": "BER", "name": "Other"})
    assert 'id="code-error">Warehouse BER already exists.' in again.get_data(as_text=True)
    edited = _post(admin_client, f"/setup/warehouses/{ber.id}", {
        "code": "BER", "name": "Berlin Port", "position": "1"})
    assert edited.status_code == 303
    db.expire_all()
    assert (db.get(Warehouse, ber.id).name, db.get(Warehouse, ber.id).active) == (
        "Berlin Port", False)
    renamed = _post(admin_client, f"/setup/warehouses/{ber.id}", {"code": "BRL", "name": "B"})
    assert 'id="code-error">A warehouse\'s code cannot change' in \
        renamed.get_data(as_text=True).replace("&#39;", "'")


def test_a_warehouse_holding_or_awaiting_stock_cannot_be_deactivated(admin_client, db):
    import datetime as dt
    from core.inventory.models import ExpectedArrival, StockLevel
    from tests.factories import StockLevelFactory, VariantFactory
    ham = Warehouse(code="DEACT", name="Deact", position=9)
    db.add(ham)
    db.flush()
    variant = VariantFactory()
    StockLevelFactory(variant=variant, warehouse="DEACT", on_hand=4)
    db.commit()
    off = {"code": "DEACT", "name": "Deact", "position": "9"}  # "active" left unticked
    refused = _post(admin_client, f"/setup/warehouses/{ham.id}", off)
    assert refused.status_code == 200
    assert 'id="active-error">DEACT still has units (4 on hand).' in refused.get_data(as_text=True)
    db.expire_all()
    assert db.get(Warehouse, ham.id).active
    level = db.scalar(select(StockLevel).where(StockLevel.warehouse == "DEACT"))
    level.on_hand = 0
    supplier = Supplier(code="DEACT-S", name="Deact Supplies", lead_days=5)
    db.add(supplier)
    db.flush()
    arrival = ExpectedArrival(supplier_id=supplier.id, variant_id=variant.id,
                              warehouse="DEACT", quantity=5,
                              expected_on=clock.today() + dt.timedelta(days=3))
    db.add(arrival)
    db.commit()
    refused = _post(admin_client, f"/setup/warehouses/{ham.id}", off)
    assert 'id="active-error">1 expected arrival is still due at DEACT.' in \
        refused.get_data(as_text=True)
    db.expire_all()
    assert db.get(Warehouse, ham.id).active
    db.get(ExpectedArrival, arrival.id).status = "cancelled"
    db.commit()
    assert _post(admin_client, f"/setup/warehouses/{ham.id}", off).status_code == 303
    db.expire_all()
    assert not db.get(Warehouse, ham.id).active


def test_a_supplier_is_created_and_a_bad_email_is_refused_at_the_field(catalog_client, db):
    bad = _post(catalog_client, "/setup/suppliers/new", {
        "code": "ACME", "name": "Acme Supplies", "email": "not-an-address", "lead_days": "5"})
    assert 'id="email-error">Enter an e-mail address' in bad.get_data(as_text=True)
    assert 'value="Acme Supplies"' in bad.get_data(as_text=True)
    good = _post(catalog_client, "/setup/suppliers/new", {
        "code": "ACME", "name": "Acme Supplies", "email": "po@acme.example", "lead_days": "5",
        "active": "y"})
    assert good.status_code == 303
    supplier = db.scalar(select(Supplier).where(Supplier.code == "ACME"))
    assert (supplier.email, supplier.lead_days) == ("po@acme.example", 5)


def test_a_channel_is_edited_and_its_warehouses_ordered(admin_client, db):
    from core.inventory.models import Warehouse as W
    db.add(W(code="KIE", name="Kiel", address={}))
    db.commit()
    channel = db.scalar(select(Channel).where(Channel.code == "web-b2c"))
    wrong = _post(admin_client, f"/setup/channels/{channel.id}", {
        "name": "Web shop", "currency": "EUR", "country": "Germany"})
    assert 'id="country-error">' in wrong.get_data(as_text=True)
    ok = _post(admin_client, f"/setup/channels/{channel.id}", {
        "name": "Web shop", "currency": "EUR", "country": "AT", "prices_include_tax": "y",
        "active": "y", "default_price_list_id": "0"})
    assert ok.status_code == 303
    db.expire_all()
    assert (db.get(Channel, channel.id).name, db.get(Channel, channel.id).country) == (
        "Web shop", "AT")
    existing = db.scalars(select(ChannelWarehouse.warehouse_id)
                          .where(ChannelWarehouse.channel_id == channel.id)).all()
    prefix = f"channel-{channel.id}"
    for code in ("MAIN", "KIE"):
        wid = id_of(db, W, code=code)
        if wid not in existing:
            assert _post(admin_client, f"/setup/channels/{channel.id}/warehouses",
                         {f"{prefix}-warehouse_id": wid}).status_code == 303
    dup = _post(admin_client, f"/setup/channels/{channel.id}/warehouses",
                {f"{prefix}-warehouse_id": id_of(db, W, code="KIE")})
    assert "already sources from KIE" in dup.get_data(as_text=True)

    def order():
        db.expire_all()
        return [link.warehouse.code for link in db.scalars(
            select(ChannelWarehouse).where(ChannelWarehouse.channel_id == channel.id)
            .order_by(ChannelWarehouse.position, ChannelWarehouse.id))]
    before = order()
    assert before[-1] == "KIE" and "MAIN" in before
    ham_link = db.scalar(select(ChannelWarehouse).join(W).where(
        ChannelWarehouse.channel_id == channel.id, W.code == "KIE"))
    _post(admin_client, f"/setup/channel-warehouses/{ham_link.id}/move", {"direction": "up"})
    assert order() == before[:-2] + ["KIE", before[-2]]
    _post(admin_client, f"/setup/channel-warehouses/{ham_link.id}/remove", {})
    assert "KIE" not in order()


# --- tax and shipping ---------------------------------------------------------------------


def test_tax_rates_refuse_overlapping_periods_for_the_same_category_and_place(admin_client, db):
    standard = id_of(db, TaxCategory, code="standard")
    base = {"tax_category_id": standard, "country": "DE", "region": "",
            "name": "VAT 16 %", "rate_percent": "16", "valid_from": "2024-07-01",
            "valid_to": "2024-12-31"}
    overlap = _post(admin_client, "/setup/tax/rates/new", base)
    assert overlap.status_code == 200
    assert 'id="valid_from-error">' in overlap.get_data(as_text=True)
    assert "already applies" in overlap.get_data(as_text=True)
    regional = _post(admin_client, "/setup/tax/rates/new", {**base, "region": "HE"})
    assert regional.status_code == 303, regional.get_data(as_text=True)
    rate = db.scalar(select(TaxRate).where(TaxRate.region == "HE"))
    assert str(rate.rate.normalize()) == "0.16"
    created = _post(admin_client, "/setup/tax/categories", {"code": "zero", "name": "Zero"})
    assert created.status_code == 303
    dup = _post(admin_client, "/setup/tax/categories", {"code": "zero", "name": "Zero"})
    assert 'id="code-error">Tax category zero already exists.' in dup.get_data(as_text=True)


def test_a_weight_rate_needs_a_price_per_kg_and_then_is_created(admin_client, db):
    data = {"code": "pallet", "name": "Pallet", "kind": "weight", "price": "9.90",
            "transit_days": "4", "countries": "de, at", "channels": "web-b2b", "active": "y"}
    bad = _post(admin_client, "/setup/shipping/new", data)
    assert 'id="per_kg-error">A rate by weight needs a price per kg.' in \
        bad.get_data(as_text=True)
    good = _post(admin_client, "/setup/shipping/new", {**data, "per_kg": "1.50"})
    assert good.status_code == 303
    method = db.scalar(select(ShippingMethod).where(ShippingMethod.code == "pallet"))
    assert (method.countries, method.channels, str(method.per_kg.normalize())) == (
        ["AT", "DE"], ["web-b2b"], "1.5")


# --- console users ------------------------------------------------------------------------


def test_an_admin_creates_a_user_changes_roles_and_deactivation_ends_sessions(
        console_app, admin_client, db):
    response = _post(admin_client, "/setup/users/new", {
        "full_name": "Wanda Warehouse", "email": "wanda@marketline.example",
        "password": "demo-pass-1", "roles": ["warehouse"]})
    assert response.status_code == 303, response.get_data(as_text=True)
    wanda = db.scalar(select(Agent).where(Agent.email == "wanda@marketline.example"))
    assert wanda.roles == {"warehouse"}
    wanda_client = agent_client_for(console_app, "wanda@marketline.example")
    assert wanda_client.get("/").status_code == 200
    assert _post(admin_client, f"/setup/users/{wanda.id}/roles",
                 {"roles": ["warehouse", "catalog"]}).status_code == 303
    db.expire_all()
    assert db.get(Agent, wanda.id).roles == {"warehouse", "catalog"}
    assert _post(admin_client, f"/setup/users/{wanda.id}/access", {"active": "0"}).status_code == 303
    db.expire_all()
    assert not db.get(Agent, wanda.id).active
    assert _count(db, LoginSession, LoginSession.realm == "agent",
                  LoginSession.user_id == wanda.id) == 0
    assert wanda_client.get("/").status_code == 302  # sent to sign in
    _post(admin_client, f"/setup/users/{wanda.id}/access", {"active": "1"})
    db.expire_all()
    assert db.get(Agent, wanda.id).active


def test_a_user_form_with_errors_says_so_at_the_field(admin_client, db):
    response = _post(admin_client, "/setup/users/new", {
        "full_name": "Dup", "email": "agent@marketline.example", "roles": ["agent"]})
    assert 'id="email-error">An agent with e-mail agent@marketline.example already exists.' \
        in response.get_data(as_text=True)
    short = _post(admin_client, "/setup/users/new", {
        "full_name": "Short", "email": "short@marketline.example", "password": "abc",
        "roles": ["agent"]})
    assert 'id="password-error">An initial password has at least 10 characters.' in \
        short.get_data(as_text=True)


def test_an_admin_cannot_deactivate_themself(admin_client, db):
    me = db.scalar(select(Agent).where(Agent.email == ADMIN))
    _post(admin_client, f"/setup/users/{me.id}/access", {"active": "0"})
    db.expire_all()
    assert db.get(Agent, me.id).active


# --- product form, pictures and relations -------------------------------------------------------


def _product(db, slug="navigator-copy-paper-a3-80-g") -> Product:
    return db.scalar(select(Product).where(Product.slug == slug))


def test_a_drop_shipped_product_needs_a_supplier_at_the_field(catalog_client, db):
    product = _product(db)
    base = {"name": product.name, "slug": product.slug, "category_id": product.category_id,
            "tax_category_id": product.tax_category_id, "active": "y", "returnable": "y"}
    bad = _post(catalog_client, f"/catalog/products/{product.id}", {**base, "drop_ship": "y",
                                                                    "supplier_id": "0"})
    assert 'id="supplier_id-error">A drop-shipped product needs the supplier' in \
        bad.get_data(as_text=True)
    supplier = Supplier(code="DS1", name="Direct Ltd")
    db.add(supplier)
    db.commit()
    good = _post(catalog_client, f"/catalog/products/{product.id}", {
        **base, "drop_ship": "y", "backorderable": "y", "supplier_id": supplier.id})
    assert good.status_code == 303
    db.expire_all()
    product = db.get(Product, product.id)
    assert (product.drop_ship, product.backorderable, product.supplier_id) == (
        True, True, supplier.id)


def _upload(client, product_id, content, name="photo.png", alt="Front"):
    return _post(client, f"/setup/products/{product_id}/pictures",
                 {"picture-file": (io.BytesIO(content), name), "picture-alt": alt},
                 content_type="multipart/form-data")


def test_pictures_are_uploaded_resized_ordered_and_deleted(catalog_client, db, settings):
    from pathlib import Path
    product = _product(db)
    big = _upload(catalog_client, product.id, _png(2400, 1200), alt="Front")
    assert big.status_code == 303, big.get_data(as_text=True)
    assert _upload(catalog_client, product.id, _png(50, 50, (0, 0, 255)),
                   alt="Back").status_code == 303
    db.expire_all()
    pictures = db.scalars(select(ProductImage).where(ProductImage.product_id == product.id)
                          .order_by(ProductImage.position)).all()
    assert [(p.alt, p.width, p.height) for p in pictures] == [("Front", 1200, 600),
                                                              ("Back", 50, 50)]
    folder = Path(settings.MEDIA_DIR) / "products"
    assert (folder / pictures[0].filename).exists()
    assert Image.open(folder / pictures[0].filename.replace(".", "-thumb.")).width == 300
    assert db.get(Product, product.id).image == pictures[0].filename
    page = catalog_client.get(f"/catalog/products/{product.id}").get_data(as_text=True)
    assert 'alt="Front"' in page and 'alt="Back"' in page

    assert _post(catalog_client, f"/setup/pictures/{pictures[1].id}/move", {"direction": "up"}).status_code == 303
    db.expire_all()
    assert db.get(Product, product.id).image == pictures[1].filename
    first_file = pictures[1].filename
    assert _post(catalog_client, f"/setup/pictures/{pictures[1].id}/remove",
                 {}).status_code == 303
    db.expire_all()
    assert db.get(Product, product.id).image == pictures[0].filename
    assert not (folder / first_file).exists()


def test_a_file_that_is_no_picture_or_too_big_is_refused_at_the_field(catalog_client, db):
    product = _product(db)
    before = _count(db, ProductImage)
    text = _upload(catalog_client, product.id, b"%PDF-1.4 not a picture", name="x.png")
    assert text.status_code == 200
    assert 'id="picture-file-error">That file is not a picture' in text.get_data(as_text=True)
    from core.catalog import images
    huge = _upload(catalog_client, product.id, b"\x89PNG" + b"0" * (images.MAX_BYTES + 10))
    assert 'id="picture-file-error">The picture is' in huge.get_data(as_text=True)
    assert _count(db, ProductImage) == before


def test_relations_are_added_by_sku_or_name_ordered_and_removed(catalog_client, db):
    product = _product(db)
    prefix = "relation"
    unknown = _post(catalog_client, f"/setup/products/{product.id}/relations", {
        f"{prefix}-kind": "accessory", f"{prefix}-related": "NOPE-1"})
    assert 'id="relation-related-error">No product has the SKU, slug or name NOPE-1.' in \
        unknown.get_data(as_text=True)
    for ref in ("PEN-JOT-STL", "Sticky Notes 76 x 76 mm, 12 pads"):
        assert _post(catalog_client, f"/setup/products/{product.id}/relations", {
            f"{prefix}-kind": "accessory", f"{prefix}-related": ref}).status_code == 303
    rows = db.scalars(select(ProductRelation).where(ProductRelation.product_id == product.id)
                      .order_by(ProductRelation.position)).all()
    assert len(rows) == 2
    _post(catalog_client, f"/setup/relations/{rows[1].id}/move", {"direction": "up"})
    db.expire_all()
    again = db.scalars(select(ProductRelation.id).where(
        ProductRelation.product_id == product.id).order_by(ProductRelation.position)).all()
    assert again == [rows[1].id, rows[0].id]
    _post(catalog_client, f"/setup/relations/{rows[0].id}/remove", {})
    assert _count(db, ProductRelation, ProductRelation.product_id == product.id) == 1
    page = catalog_client.get(f"/catalog/products/{product.id}").get_data(as_text=True)
    assert "Sticky Notes 76 x 76 mm, 12 pads" in page


# --- query counts -----------------------------------------------------------------------------


def _linked_warehouse(db, i):
    warehouse = Warehouse(code=f"Q{i}", name=f"Q {i}", address={})
    db.add(warehouse)
    db.flush()
    db.add(ChannelWarehouse(channel_id=db.scalar(select(Channel.id).order_by(Channel.id)
                                                 .offset(i % 3).limit(1)),
                            warehouse_id=warehouse.id, position=10 + i))


@pytest.mark.parametrize("path,add", [
    ("/setup/warehouses", lambda db, i: db.add(Warehouse(code=f"W{i}", name=f"W {i}",
                                                         address={}))),
    ("/setup/suppliers", lambda db, i: db.add(Supplier(code=f"S{i}", name=f"S {i}"))),
    ("/setup/users", lambda db, i: db.add(Agent(email=f"u{i}@t.example", full_name=f"U {i}"))),
    ("/setup/shipping", lambda db, i: db.add(ShippingMethod(code=f"m{i}", name=f"M {i}",
                                                            price=1))),
    ("/setup/categories", lambda db, i: db.add(Category(slug=f"c{i}", name=f"C {i}",
                                                        path=f"/x{i}/"))),
    ("/setup/tax", lambda db, i: db.add(TaxRate(
        tax_category_id=db.scalar(select(TaxCategory.id).limit(1)), country="FR",
        region=f"R{i}", name=f"R {i}", rate=0, valid_from=__import__("datetime").date(2020, 1,
                                                                                      1)))),
    ("/setup/channels", lambda db, i: _linked_warehouse(db, i)),
])
def test_setup_lists_take_a_fixed_number_of_queries(admin_client, db, connection, path, add):
    admin_client.get(path)
    with QueryCounter(connection) as few:
        admin_client.get(path)
    for i in range(25):
        add(db, i)
    db.commit()
    with QueryCounter(connection) as many:
        response = admin_client.get(path)
    assert response.status_code == 200
    assert many.count == few.count, path


# --- the products file's stock columns ------------------------------------------------------


def _import(client, text: str):
    return client.post("/catalog/import/products", data={
        "products-file": (io.BytesIO(text.encode()), "products.csv"),
        "products-price_list_id": "0", "csrf_token": csrf_token(client, "/catalog/")},
        content_type="multipart/form-data")


def test_the_products_file_takes_and_gives_stock_per_warehouse(catalog_client, db):
    from core.inventory.services import on_hand
    from core.catalog.models import Variant
    text = ("product_slug,product_name,category,tax_category,sku,stock:MAIN\n"
            "stock-fan,Stock Fan,desk,standard,FAN-STK-1,12\n")
    unknown = _import(catalog_client, text.replace("stock:MAIN", "stock:MARS"))
    assert unknown.status_code == 200
    assert "there is no warehouse MARS" in unknown.get_data(as_text=True)
    assert db.scalar(select(Variant).where(Variant.sku == "FAN-STK-1")) is None
    assert _import(catalog_client, text).status_code == 303
    variant = db.scalar(select(Variant).where(Variant.sku == "FAN-STK-1"))
    assert on_hand(db, [variant.id]) == {variant.id: 12}
    exported = catalog_client.get("/catalog/export/products.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(exported.lstrip("\ufeff"))))
    assert next(r for r in rows if r["sku"] == "FAN-STK-1")["stock:MAIN"] == "12"


def test_the_demo_administrator_signs_in_and_finds_setup(console_app):
    client = agent_client_for(console_app, "admin@marketline.example")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/setup/">Setup</a>' in home
    assert client.get("/setup/users").status_code == 200


def test_readers_see_the_data_without_forms(supervisor_client, db):
    warehouse_id = id_of(db, Warehouse, code="MAIN")
    page = supervisor_client.get(f"/setup/warehouses/{warehouse_id}").get_data(as_text=True)
    assert "Main warehouse" in page and "<form" not in page.split("<main")[1].replace(
        'action="/sign-out"', "")
    listing = supervisor_client.get("/setup/categories").get_data(as_text=True)
    assert "Paper &amp; Notebooks" in listing and "Create category" not in listing
    assert "New warehouse" not in supervisor_client.get("/setup/warehouses").get_data(
        as_text=True)
