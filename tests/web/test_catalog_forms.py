"""Issue 18, catalogue forms in the console: drafts until priced and published, a "View in
shop" link, the price form's base list and list names with their scope, remove price asks
once, option axes that make a variant grid."""
import re

from sqlalchemy import func, select

from core.catalog.models import Category, Product, Variant
from core.pricing.models import PriceList, PriceListEntry, TaxCategory
from tests.conftest import csrf_token
from tests.web.conftest import catalog_post, id_of

RAW_CODES = ("retail-eur", "trade-eur", "acme-contract")


def _new_product(client, db, name="Oat Bar") -> str:
    response = catalog_post(client, "/catalog/products/new", {
        "name": name, "brand": "Oaty", "category_id": id_of(db, Category, slug="coffee-tea"),
        "tax_category_id": id_of(db, TaxCategory, code="reduced"), "active": "y"})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"]


def _add_variant(client, path, sku="OAT-BAR-1L") -> str:
    response = catalog_post(client, f"{path}/variants", {"variant-sku": sku, "variant-active": "y"})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"]


def _selected(html, name):
    select_html = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.search(r'<option selected value="(\d+)">([^<]*)</option>', select_html).groups()


def test_a_new_product_is_a_draft_the_shop_neither_shows_nor_sells(catalog_client, client, db):
    path = _new_product(catalog_client, db)
    variant_path = _add_variant(catalog_client, path)
    catalog_post(catalog_client, f"{variant_path}/prices", {
        "price-price_list_id": id_of(db, PriceList, code="retail-eur"),
        "price-min_quantity": "1", "price-unit_price": "2,49"})
    product = db.scalar(select(Product).where(Product.name == "Oat Bar"))
    assert product.active is False
    page = catalog_client.get(path).get_data(as_text=True)
    assert "Draft — ready to publish" in page and "Not live yet" in page
    assert f'href="/catalog/products/{product.id}/preview"' in page
    preview = catalog_client.get(f"/catalog/products/{product.id}/preview")
    assert preview.status_code == 200 and "Only console users see this preview" in \
        preview.get_data(as_text=True)
    assert client.get(f"/p/{product.slug}").status_code == 404
    assert "Oat Bar" not in client.get("/search?q=oat").get_data(as_text=True)
    token = csrf_token(client, "/")
    client.post("/cart/add", data={"variant_id": id_of(db, Variant, sku="OAT-BAR-1L"),
                                   "quantity": 1, "csrf_token": token})
    assert "Oat Bar" not in client.get("/cart/").get_data(as_text=True)


def test_publishing_is_refused_without_a_price_every_shopper_sees(catalog_client, client, db):
    path = _new_product(catalog_client, db)
    variant_path = _add_variant(catalog_client, path)
    assert "Draft — needs a price" in catalog_client.get(path).get_data(as_text=True)
    catalog_post(catalog_client, f"{variant_path}/prices", {
        "price-price_list_id": id_of(db, PriceList, code="acme-contract"),
        "price-min_quantity": "1", "price-unit_price": "2,49"})
    page = catalog_post(catalog_client, f"{path}/publish", {}, follow_redirects=True)
    assert "Oat Bar is still a draft: Give a variant a price in a list every shopper sees" in \
        page.get_data(as_text=True)
    db.expire_all()
    assert db.scalar(select(Product.active).where(Product.name == "Oat Bar")) is False


def test_a_live_product_links_to_its_shop_page(catalog_client, client, db):
    path = _new_product(catalog_client, db)
    variant_path = _add_variant(catalog_client, path)
    catalog_post(catalog_client, f"{variant_path}/prices", {
        "price-price_list_id": id_of(db, PriceList, code="retail-eur"),
        "price-min_quantity": "1", "price-unit_price": "2,49"})
    response = catalog_post(catalog_client, f"{path}/publish", {}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Oat Bar is live in the shop." in page and ">Live<" in page
    slug = db.scalar(select(Product.slug).where(Product.name == "Oat Bar"))
    assert re.search(rf'<a class="button secondary" href="http://localhost/p/{slug}"[^>]*>View in shop',
                     page)
    assert client.get(f"/p/{slug}").status_code == 200
    catalog_post(catalog_client, f"{path}/unpublish", {})
    assert client.get(f"/p/{slug}").status_code == 404


def test_the_price_form_defaults_to_the_base_list_and_names_lists_with_their_scope(
        catalog_client, db):
    variant_id = id_of(db, Variant, sku="PAP-A4-80")
    html = catalog_client.get(f"/catalog/variants/{variant_id}").get_data(as_text=True)
    assert _selected(html, "price-price_list_id") == (
        str(id_of(db, PriceList, code="retail-eur")), "Retail EUR — everyone")
    assert ">Trade EUR — customers of Web shop (business)</option>" in html
    assert ">Acme Corp contract — Acme Corp only</option>" in html
    assert ">Acme Corp contract — Acme Corp only</a>" in html  # the price table too
    product_page = catalog_client.get(f"/catalog/products/{db.get(Variant, variant_id).product_id}")
    assert product_page.status_code == 200
    for page in (html, product_page.get_data(as_text=True)):
        for code in RAW_CODES:
            assert code not in page


def test_remove_price_looks_destructive_asks_once_and_names_the_product(catalog_client, db):
    variant_id = id_of(db, Variant, sku="PAP-A4-80")
    html = catalog_client.get(f"/catalog/variants/{variant_id}").get_data(as_text=True)
    assert re.search(r'<button type="submit" class="danger" data-confirm="Remove the price of '
                     r'[^"]*\(PAP-A4-80\) from 1 in Retail EUR\?"', html)
    # Without JavaScript the form carries a "Yes, remove" box the server requires; the
    # shared confirm script hides it and ticks it when the dialog is accepted.
    assert re.search(r'<span data-confirm-box[^>]*><input type="checkbox" name="confirm"', html)
    entry_id = db.scalar(select(PriceListEntry.id).join(PriceList).where(
        PriceListEntry.variant_id == variant_id, PriceList.code == "retail-eur",
        PriceListEntry.min_quantity == 1))
    catalog_post(catalog_client, f"/catalog/prices/{entry_id}/delete", {})
    db.expire_all()
    assert db.get(PriceListEntry, entry_id) is not None
    page = catalog_post(catalog_client, f"/catalog/prices/{entry_id}/delete", {"confirm": "yes"},
                 follow_redirects=True).get_data(as_text=True)
    assert "Price of" in page and "(PAP-A4-80) in Retail EUR from 1 removed." in page
    db.expire_all()
    assert db.get(PriceListEntry, entry_id) is None


def _grid(client, path, **fields):
    data = {"axes-axis_1_name": "Size", "axes-axis_1_values": "S, M, L",
            "axes-axis_2_name": "Colour", "axes-axis_2_values": "Red, Blue",
            "axes-sku_prefix": "TEE", **fields}
    return catalog_post(client, f"{path}/grid", data)


def test_option_axes_make_the_variant_grid_without_duplicates(catalog_client, db):
    path = _new_product(catalog_client, db, "Team Tee")
    product_id = int(path.rsplit("/", 1)[1])
    catalog_post(catalog_client, f"{path}/variants", {
        "variant-sku": "TEE-OLD", "variant-attributes": "Size=m; Colour=red",
        "variant-active": "y"})
    response = _grid(catalog_client, path)
    assert response.status_code == 303, response.get_data(as_text=True)
    page = catalog_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "5 variants of Team Tee added; 1 already existed" in page
    skus = set(db.scalars(select(Variant.sku).where(Variant.product_id == product_id)))
    assert skus == {"TEE-OLD", "TEE-S-RED", "TEE-S-BLUE", "TEE-M-BLUE", "TEE-L-RED",
                    "TEE-L-BLUE"}
    # The grid: one row per combination, and the axes are filled in for the next time.
    grid = re.search(r'<table aria-labelledby="grid-h".*?</table>', page, re.S).group(0)
    assert grid.count("<tr>") == 7 and "TEE-OLD" in grid
    assert re.search(r'id="axes-axis_1_name"[^>]*value="Size"', page)
    assert re.search(r'id="axes-axis_2_values"[^>]*value="red, Blue"', page)  # as first seen
    # Idempotent: the same axes again add nothing.
    response = _grid(catalog_client, path)
    page = catalog_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "0 variants of Team Tee added; 6 already existed." in page
    assert db.scalar(select(func.count()).select_from(Variant)
                     .where(Variant.product_id == product_id)) == 6


def test_a_bad_axis_is_explained_at_its_field(catalog_client, db):
    path = _new_product(catalog_client, db, "Team Tee")
    response = _grid(catalog_client, path, **{"axes-axis_2_values": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'id="axes-axis_2_values-error">Give the values of Colour', html)


def test_the_variant_form_has_a_field_per_option(catalog_client, db):
    path = _new_product(catalog_client, db, "Team Tee")
    _grid(catalog_client, path)
    variant_id = id_of(db, Variant, sku="TEE-M-RED")
    html = catalog_client.get(f"/catalog/variants/{variant_id}").get_data(as_text=True)
    assert re.search(r'<label for="axis_1">Size</label>', html)
    assert re.search(r'<input[^>]*id="axis_1"[^>]*value="M"', html)
    response = catalog_post(catalog_client, f"/catalog/variants/{variant_id}", {
        "sku": "TEE-M-RED", "axis_1": "XL", "axis_2": "Red", "attributes": "Fabric=Cotton",
        "active": "y"})
    assert response.status_code == 303, response.get_data(as_text=True)
    db.expire_all()
    assert db.get(Variant, variant_id).attributes == {"Fabric": "Cotton", "Size": "XL",
                                                      "Colour": "Red"}
    # A new variant on the product page has the same fields.
    page = catalog_client.get(path).get_data(as_text=True)
    assert re.search(r'<label for="variant-axis_2">Colour</label>', page)
