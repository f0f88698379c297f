"""Catalogue management in the console: roles, forms, CSV import and export, query counts."""
import csv
import io
import re

from flask import url_for
from sqlalchemy import func, select

from core.audit import AuditEvent
from core.catalog.models import AssortmentRule, Category, Product, Variant
from core.pricing.models import PriceList, PriceListEntry, Promotion, TaxCategory
from tests.conftest import agent_client_for, csrf_token
from tests.helpers import QueryCounter
from tests.factories import CategoryFactory, ProductFactory, VariantFactory
from tests.web.conftest import CATALOG_AGENT, catalog_post, id_of


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def _upload(client, path, field, content: bytes, extra=None, name="file.csv"):
    data = {field: (io.BytesIO(content), name), **(extra or {})}
    return catalog_post(client, path, data, content_type="multipart/form-data")


def test_a_catalog_agent_creates_a_product_with_a_variant_and_a_price_the_shop_finds(
        catalog_client, client, db):
    response = catalog_post(catalog_client, "/catalog/products/new", {
        "name": "Quokka Desk Fan", "brand": "Breezy",
        "category_id": id_of(db, Category, slug="desk"),
        "tax_category_id": id_of(db, TaxCategory, code="standard"), "description": "Quiet.",
        "active": "y"})
    assert response.status_code == 303, response.get_data(as_text=True)
    product_path = response.headers["Location"]
    assert re.search(r"/catalog/products/\d+$", product_path)
    response = catalog_post(catalog_client, f"{product_path}/variants", {
        "variant-sku": "FAN-QK-1", "variant-name": "White", "variant-barcode": "4006381333931",
        "variant-weight_grams": "1200", "variant-attributes": "Colour=White",
        "variant-active": "y"})
    assert response.status_code == 303, response.get_data(as_text=True)
    variant_path = response.headers["Location"]
    response = catalog_post(catalog_client, f"{variant_path}/prices", {
        "price-price_list_id": id_of(db, PriceList, code="retail-eur"),
        "price-min_quantity": "1", "price-unit_price": "24,90"})
    assert response.status_code == 303, response.get_data(as_text=True)

    page = catalog_client.get(product_path).get_data(as_text=True)
    assert "<h1>Quokka Desk Fan</h1>" in page and "FAN-QK-1" in page and "24.90 EUR" in page
    assert "Draft — ready to publish" in page
    # A new product is a draft: priced, it is still neither shown nor sold until published.
    assert "Quokka Desk Fan" not in client.get("/search?q=quokka").get_data(as_text=True)
    assert catalog_post(catalog_client, f"{product_path}/publish", {}).status_code == 303
    shop = client.get("/search?q=quokka").get_data(as_text=True)
    assert "Quokka Desk Fan" in shop and "24.90 EUR" in shop
    actions = db.scalars(select(AuditEvent.action).where(
        AuditEvent.actor_label == CATALOG_AGENT, AuditEvent.channel == "console")).all()
    assert {"product.created", "variant.created", "price.set", "product.published"} <= set(actions)


def _catalog_routes(app):
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint.startswith("catalog."):
                path = url_for(rule.endpoint, **{arg: 1 for arg in rule.arguments})
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    yield method, path


def test_a_plain_agent_gets_403_on_every_catalog_route(console_app, agent_client, db):
    routes = list(_catalog_routes(console_app))
    assert len(routes) >= 25
    token = csrf_token(agent_client, "/")
    before = _count(db, Product), _count(db, PriceListEntry), _count(db, AssortmentRule)
    for method, path in routes:
        response = agent_client.open(path, method=method, data={"csrf_token": token})
        assert response.status_code == 403, (method, path)
    assert (_count(db, Product), _count(db, PriceListEntry), _count(db, AssortmentRule)) == before
    assert 'href="/catalog/"' not in agent_client.get("/").get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_sign_in_and_admins_get_in(console_app, console_client,
                                                                  db):
    assert console_client.get("/catalog/").status_code == 302
    from core.auth.passwords import hash_password
    from tests.factories import AgentFactory
    AgentFactory(email="admin-role@test.example", roles_text="admin",
                 password_hash=hash_password("demo-pass-1"))
    db.commit()
    admin_client = agent_client_for(console_app, "admin-role@test.example")
    assert admin_client.get("/catalog/").status_code == 200


def test_the_catalogue_link_shows_for_the_catalog_role(catalog_client):
    assert 'href="/catalog/">Catalogue</a>' in catalog_client.get("/").get_data(as_text=True)


def test_every_catalog_page_opens_with_one_h1(catalog_client):
    for path in ("/catalog/", "/catalog/products/new", "/catalog/products/1",
                 "/catalog/variants/1", "/catalog/price-lists", "/catalog/price-lists/new",
                 "/catalog/price-lists/1", "/catalog/channels", "/catalog/promotions",
                 "/catalog/promotions/new", "/catalog/promotions/1", "/catalog/import-export"):
        response = catalog_client.get(path)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, path
        assert html.count("<h1") == 1, path


def test_posts_without_a_csrf_token_are_refused(catalog_client, db):
    before = _count(db, Product)
    response = catalog_client.post("/catalog/products/new", data={
        "name": "Sneaky", "category_id": id_of(db, Category, slug="desk"),
        "tax_category_id": id_of(db, TaxCategory, code="standard")})
    assert response.status_code == 400
    assert _count(db, Product) == before


def test_a_product_form_with_errors_comes_back_with_the_values_and_the_message_at_the_field(
        catalog_client, db):
    response = catalog_post(catalog_client, "/catalog/products/new", {
        "name": "Second Copy Paper", "brand": "Navigator", "slug": "navigator-copy-paper-a3-80-g",
        "category_id": id_of(db, Category, slug="paper"),
        "tax_category_id": id_of(db, TaxCategory, code="standard")})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="Second Copy Paper"' in html
    assert re.search(r'id="slug-error">Another product already uses the slug', html)


def test_a_duplicate_sku_is_reported_at_the_sku_field(catalog_client, db):
    product_id = id_of(db, Product, slug="navigator-copy-paper-a3-80-g")
    response = catalog_post(catalog_client, f"/catalog/products/{product_id}/variants", {
        "variant-sku": "PAP-A4-80", "variant-name": "Again"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="variant-sku-error">SKU PAP-A4-80 is already in use.' in html
    assert 'value="Again"' in html
    assert re.search(r'<input[^>]*checked[^>]*id="returnable"', html)  # the product form is intact


def test_editing_a_variant_changes_its_attributes(catalog_client, db):
    variant_id = id_of(db, Variant, sku="NTB-A5-RUL-RED")
    response = catalog_post(catalog_client, f"/catalog/variants/{variant_id}", {
        "sku": "NTB-A5-RUL-RED", "name": "Red", "attributes": "Colour=Berry\nFinish=Matt",
        "weight_grams": "600", "active": "y"})
    assert response.status_code == 303
    db.expire_all()
    assert db.get(Variant, variant_id).attributes == {"Colour": "Berry", "Finish": "Matt"}


def test_removing_a_price_needs_the_token_and_then_deletes_it(catalog_client, db):
    entry_id = db.scalar(select(PriceListEntry.id).join(Variant).where(
        Variant.sku == "PAP-A4-80", PriceListEntry.min_quantity == 50))
    assert catalog_client.post(f"/catalog/prices/{entry_id}/delete",
                               data={"confirm": "yes"}).status_code == 400
    # Without the "Yes, remove" box (which the confirm dialog ticks) nothing is removed.
    response = catalog_post(catalog_client, f"/catalog/prices/{entry_id}/delete", {},
                     follow_redirects=True)
    assert "Tick “Yes, remove” to remove the price of" in response.get_data(as_text=True)
    db.expire_all()
    assert db.get(PriceListEntry, entry_id) is not None
    assert catalog_post(catalog_client, f"/catalog/prices/{entry_id}/delete",
                 {"confirm": "yes"}).status_code == 303
    db.expire_all()
    assert db.get(PriceListEntry, entry_id) is None


def test_a_price_list_is_created_and_a_bad_scope_is_explained(catalog_client, db):
    bad = catalog_post(catalog_client, "/catalog/price-lists/new", {
        "code": "vip-eur", "name": "VIP", "currency": "EUR", "scope": "group", "priority": "3"})
    assert bad.status_code == 200
    assert 'id="customer_group-error">Enter the customer group.' in bad.get_data(as_text=True)
    good = catalog_post(catalog_client, "/catalog/price-lists/new", {
        "code": "vip-eur", "name": "VIP", "currency": "EUR", "scope": "group",
        "customer_group": "vip", "priority": "3", "valid_from": "2026-01-01", "active": "y"})
    assert good.status_code == 303
    created = db.scalar(select(PriceList).where(PriceList.code == "vip-eur"))
    assert (created.customer_group, created.prices_include_tax, created.priority) == (
        "vip", False, 3)


def test_assortment_rules_are_added_and_removed_per_channel(catalog_client, db):
    channel_id = db.scalar(select(AssortmentRule.channel_id).limit(1))
    prefix = f"channel-{channel_id}"
    response = catalog_post(catalog_client, f"/catalog/channels/{channel_id}/rules", {
        f"{prefix}-mode": "exclude", f"{prefix}-category_id": "0", f"{prefix}-product": "nope"})
    assert response.status_code == 200
    assert f'id="{prefix}-product-error">No product has the slug or SKU nope' in \
        response.get_data(as_text=True)
    response = catalog_post(catalog_client, f"/catalog/channels/{channel_id}/rules", {
        f"{prefix}-mode": "include", f"{prefix}-category_id": id_of(db, Category, slug="paper"),
        f"{prefix}-product": ""})
    assert response.status_code == 303
    rule_id = db.scalar(select(AssortmentRule.id).where(AssortmentRule.mode == "include"))
    assert "Category Paper &amp; Notebooks" in catalog_client.get("/catalog/channels").get_data(
        as_text=True)
    assert catalog_post(catalog_client, f"/catalog/rules/{rule_id}/delete", {}).status_code == 303
    db.expire_all()
    assert db.get(AssortmentRule, rule_id) is None


def test_promotions_are_created_validated_edited_and_deactivated(catalog_client, db):
    bad = catalog_post(catalog_client, "/catalog/promotions/new", {
        "name": "Half price", "kind": "percent_off", "value": "150", "currency": "EUR"})
    assert bad.status_code == 200
    assert 'id="value-error">A percentage off is more than 0' in bad.get_data(as_text=True)
    good = catalog_post(catalog_client, "/catalog/promotions/new", {
        "name": "Pens: 3 for 2", "kind": "buy_x_get_y", "buy_quantity": "2", "get_quantity": "1",
        "currency": "EUR", "products": "PEN-G2-BLU, PEN-JOT-STL", "channels": ["web-b2c"],
        "starts_at": "2026-01-01T00:00", "ends_at": "2026-12-31T23:59", "priority": "15",
        "active": "y"})
    assert good.status_code == 303, good.get_data(as_text=True)
    promotion = db.scalar(select(Promotion).where(Promotion.name == "Pens: 3 for 2"))
    assert len(promotion.product_ids) == 2 and promotion.channels == ["web-b2c"]
    edit = catalog_client.get(f"/catalog/promotions/{promotion.id}").get_data(as_text=True)
    assert "pilot-gel-pens-0-7-mm-box-of-12" in edit and 'value="2026-01-01T00:00"' in edit
    assert "Pens: 3 for 2" in catalog_client.get("/catalog/promotions").get_data(as_text=True)
    assert catalog_post(catalog_client, f"/catalog/promotions/{promotion.id}/deactivate",
                 {}).status_code == 303
    db.expire_all()
    assert db.get(Promotion, promotion.id).active is False


def _products_csv(catalog_client) -> str:
    response = catalog_client.get("/catalog/export/products.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return response.get_data(as_text=True).lstrip("\ufeff")


def test_a_csv_with_one_bad_row_on_line_4_reports_it_and_imports_nothing(catalog_client, db):
    header = ("product_slug,product_name,category,tax_category,sku,variant_name,base_price\n")
    content = (header
               + "csv-one,CSV One,paper,standard,CSV-1,One,1.00\n"
               + "csv-two,CSV Two,paper,standard,CSV-2,Two,2.00\n"
               + "csv-three,CSV Three,paper,standard,CSV-3,Three,abc\n"
               + "csv-four,CSV Four,paper,standard,CSV-4,Four,4.00\n")
    before = _count(db, Product), _count(db, Variant), _count(db, PriceListEntry)
    response = _upload(catalog_client, "/catalog/import/products", "products-file",
                       content.encode(), {"products-price_list_id":
                                          id_of(db, PriceList, code="retail-eur")})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "line 4: base_price is a number like 12.50, not &#39;abc&#39;." in html
    assert "Nothing was imported" in html and "line 2" not in html
    assert (_count(db, Product), _count(db, Variant), _count(db, PriceListEntry)) == before


def test_export_then_import_round_trip_through_the_console(catalog_client, db):
    exported = _products_csv(catalog_client)
    rows = list(csv.DictReader(io.StringIO(exported)))
    for row in rows:
        if row["sku"] == "PAP-A4-80":
            row["base_price"] = "5.59"
    rows.append({**rows[0], "sku": "PAP-A4-80-PAL", "variant_name": "Pallet", "barcode": "",
                 "attributes": "Pack=Pallet", "base_price": "899.00"})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    response = _upload(catalog_client, "/catalog/import/products", "products-file",
                       out.getvalue().encode(), {"products-price_list_id":
                                                 id_of(db, PriceList, code="retail-eur")})
    assert response.status_code == 303, response.get_data(as_text=True)
    page = catalog_client.get("/catalog/import-export").get_data(as_text=True)
    assert "variants created: 1" in page and "prices updated: 1" in page
    again = list(csv.DictReader(io.StringIO(_products_csv(catalog_client))))
    assert {r["sku"]: r["base_price"] for r in again}["PAP-A4-80"] == "5.59"
    assert len(again) == len(rows)


def test_a_price_list_export_imports_back_unchanged(catalog_client, db):
    list_id = id_of(db, PriceList, code="trade-eur")
    exported = catalog_client.get(f"/catalog/price-lists/{list_id}/export.csv").get_data()
    response = _upload(catalog_client, "/catalog/import/prices", "prices-file", exported)
    assert response.status_code == 303
    assert "prices unchanged" in catalog_client.get("/catalog/import-export").get_data(
        as_text=True)


def test_an_import_without_a_file_says_so_at_the_field(catalog_client):
    response = catalog_post(catalog_client, "/catalog/import/prices", {})
    assert response.status_code == 200
    assert 'id="prices-file-error">Choose a CSV file.' in response.get_data(as_text=True)


def test_product_search_answers_htmx_with_the_results_block_only(catalog_client):
    response = catalog_client.get("/catalog/?q=pen-g2", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert "<html" not in html and "Gel Pens 0.7 mm, box of 12" in html
    assert "Fountain Pen" not in html


def test_product_list_runs_as_many_queries_for_1_product_as_for_30(catalog_client, db,
                                                                    connection):
    category = CategoryFactory()
    VariantFactory(product=ProductFactory(name="Zzsolo gadget", category=category))
    for i in range(30):
        product = ProductFactory(name=f"Zzmany gadget {i}", category=category)
        VariantFactory(product=product)
        VariantFactory(product=product)
    db.commit()
    catalog_client.get("/catalog/")
    with QueryCounter(connection) as one:
        page = catalog_client.get("/catalog/?q=zzsolo")
    with QueryCounter(connection) as many:
        page_many = catalog_client.get("/catalog/?q=zzmany")
    assert "Zzsolo gadget" in page.get_data(as_text=True)
    assert page_many.get_data(as_text=True).count("Zzmany gadget") == 30
    assert one.count == many.count
