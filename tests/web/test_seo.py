"""What search engines and link previews read: meta descriptions, canonical links, Open Graph,
schema.org JSON-LD (Product, Offer, BreadcrumbList), noindex on private pages, robots.txt
and the sitemap index over the sellable products."""
import json
import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from html import unescape

import pytest
from sqlalchemy import select

from core.catalog.models import AssortmentRule, Channel, Product
from core.workflows import seo
from tests.factories import CategoryFactory, ProductFactory, StockLevelFactory, VariantFactory
from tests.helpers import QueryCounter

SHOP = "http://localhost"  # SHOP_URL of the tests' settings
PRINTER = "/p/brother-laser-printer-mono-40-ppm"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def json_ld(html: str) -> dict[str, dict]:
    """The page's JSON-LD blocks by @type."""
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    found = {}
    for block in blocks:
        data = json.loads(block)
        assert data["@context"] == "https://schema.org"
        found[data["@type"]] = data
    return found


def meta(html: str, attribute: str, name: str) -> str | None:
    match = re.search(rf'<meta {attribute}="{re.escape(name)}" content="([^"]*)">', html)
    return unescape(match.group(1)) if match else None


def canonical(html: str) -> str | None:
    match = re.search(r'<link rel="canonical" href="([^"]*)">', html)
    return unescape(match.group(1)) if match else None


def noindex(html: str) -> bool:
    return meta(html, "name", "robots") is not None and "noindex" in meta(html, "name", "robots")


# -- product pages: schema.org Product with its Offer ------------------------------------------

def test_a_product_page_carries_a_schema_org_product_with_the_viewers_offer(client):
    html = html_of(client.get(PRINTER))
    product = json_ld(html)["Product"]
    assert product["name"] == "Laser Printer Mono 40 ppm"
    assert product["sku"] == "PRN-HL-L5100"
    assert product["brand"] == {"@type": "Brand", "name": "Brother"}
    assert product["url"] == SHOP + PRINTER
    offer = product["offers"]
    assert offer["@type"] == "Offer"
    assert offer["price"] == "289.00" and "289.00 EUR" in html  # as a string, as shown
    assert offer["priceCurrency"] == "EUR"
    assert offer["availability"] == "https://schema.org/InStock"
    assert offer["url"] == SHOP + PRINTER


def test_the_offer_is_the_chosen_variants_and_says_when_it_cannot_be_had(client, db):
    product = ProductFactory(slug="seo-mug", name="Mug", brand="Acme")
    VariantFactory(product=product, sku="MUG-RED")
    blue = VariantFactory(product=product, sku="MUG-BLUE", price=Decimal("12.50"))
    db.commit()
    data = json_ld(html_of(client.get(f"/p/seo-mug?variant={blue.id}")))["Product"]
    assert data["sku"] == "MUG-BLUE" and data["offers"]["price"] == "12.50"
    assert data["offers"]["availability"] == "https://schema.org/OutOfStock"
    product.backorderable = True
    db.commit()
    data = json_ld(html_of(client.get("/p/seo-mug")))["Product"]
    assert data["sku"] == "MUG-RED" and data["offers"]["price"] == "9.99"
    assert data["offers"]["availability"] == "https://schema.org/BackOrder"


def test_a_product_with_a_picture_names_it_absolutely_for_json_ld_and_open_graph(client, db):
    product = db.scalar(select(Product).where(Product.slug == PRINTER[3:]))
    product.image = "printer.png"
    db.commit()
    html = html_of(client.get(PRINTER))
    image = SHOP + "/media/products/printer.png"
    assert json_ld(html)["Product"]["image"] == image
    assert meta(html, "property", "og:image") == image


def test_a_product_without_a_picture_claims_none(client):
    html = html_of(client.get(PRINTER))
    assert "image" not in json_ld(html)["Product"]
    assert meta(html, "property", "og:image") is None


def test_product_page_open_graph_and_canonical_drop_the_variant_and_quantity(client):
    html = html_of(client.get(PRINTER + "?quantity=3&variant=1"))
    assert canonical(html) == SHOP + PRINTER
    assert meta(html, "property", "og:url") == SHOP + PRINTER
    assert meta(html, "property", "og:type") == "product"
    assert meta(html, "property", "og:title") == "Laser Printer Mono 40 ppm"
    assert meta(html, "property", "og:description") == meta(html, "name", "description")
    assert not noindex(html)


# -- breadcrumbs ----------------------------------------------------------------------------------

@pytest.fixture
def nested(db):
    """Office > Paper goods > Notebooks, with one product in Notebooks."""
    top = CategoryFactory(slug="office", name="Office")
    middle = CategoryFactory(slug="paper-goods", name="Paper goods", parent=top)
    leaf = CategoryFactory(slug="notebooks", name="Notebooks", parent=middle,
                           description="")
    StockLevelFactory(variant=VariantFactory(product=ProductFactory(
        slug="seo-notebook", name="Dotted Notebook", category=leaf, brand="Acme")))
    db.commit()
    return top, middle, leaf


def _crumbs(html: str) -> list[tuple[int, str, str]]:
    items = json_ld(html)["BreadcrumbList"]["itemListElement"]
    return [(i["position"], i["name"], i["item"]) for i in items]


def test_a_category_page_has_its_trail_from_the_top_as_a_breadcrumb_list(client, nested):
    html = html_of(client.get("/c/notebooks"))
    assert _crumbs(html) == [(1, "Home", SHOP + "/"), (2, "Office", SHOP + "/c/office"),
                             (3, "Paper goods", SHOP + "/c/paper-goods"),
                             (4, "Notebooks", SHOP + "/c/notebooks")]
    assert 'href="/c/office">Office</a>' in html  # the visible trail says the same


def test_a_product_page_has_its_categorys_trail_and_itself(client, nested):
    crumbs = _crumbs(html_of(client.get("/p/seo-notebook")))
    assert [c[0] for c in crumbs] == [1, 2, 3, 4, 5]
    assert crumbs[3] == (4, "Notebooks", SHOP + "/c/notebooks")
    assert crumbs[4] == (5, "Dotted Notebook", SHOP + "/p/seo-notebook")


def test_the_trail_is_one_query_however_deep(db, nested):
    top, middle, leaf = nested
    counts = []
    for category in (top, leaf):
        with QueryCounter(db.connection()) as counter:
            trail = seo.category_trail(db, category)
        counts.append(counter.count)
    assert counts == [1, 1]
    assert [c.slug for c in trail] == ["office", "paper-goods", "notebooks"]


def test_a_product_deep_in_the_tree_costs_no_more_queries_than_one_at_the_top(client, db,
                                                                             connection, nested):
    client.get("/")

    def count():
        with QueryCounter(connection) as counter:
            assert client.get("/p/seo-notebook").status_code == 200
        return counter.count
    deep = count()
    db.scalar(select(Product).where(Product.slug == "seo-notebook")).category = nested[0]
    db.commit()
    assert count() == deep


# -- listings ---------------------------------------------------------------------------------

def test_a_category_canonical_drops_filters_and_sorts_and_keeps_a_later_page(client):
    html = html_of(client.get("/c/paper?sort=price_desc&attr.Colour=Navy&in_stock=1"))
    assert canonical(html) == SHOP + "/c/paper"
    html = html_of(client.get("/c/paper?page=2&sort=name"))
    assert canonical(html) == SHOP + "/c/paper?page=2"
    html = html_of(client.get("/c/paper?page=1"))
    assert canonical(html) == SHOP + "/c/paper"


def test_a_category_without_a_description_is_described_by_its_name_and_count(client, nested):
    html = html_of(client.get("/c/notebooks"))
    assert meta(html, "name", "description").startswith("Buy Notebooks at Marketline: 1 product,")


def test_search_results_are_not_indexed(client):
    html = html_of(client.get("/search?q=paper"))
    assert noindex(html) and meta(html, "name", "description")


# -- every page: a description; private pages: noindex ----------------------------------------

@pytest.mark.parametrize("path", ["/", "/c/paper", PRINTER, "/cart/", "/account/sign-in",
                                  "/account/register", "/gift-card", "/orders/lookup"])
def test_every_shop_page_has_a_meta_description(client, path):
    description = meta(html_of(client.get(path)), "name", "description")
    assert description and len(description) <= 160


@pytest.mark.parametrize("path", ["/", "/c/paper", PRINTER, "/cart/"])
def test_public_pages_are_indexed_under_an_absolute_canonical(client, path):
    html = html_of(client.get(path))
    assert not noindex(html)
    assert canonical(html) == SHOP + path
    assert meta(html, "property", "og:url") == SHOP + path
    assert meta(html, "property", "og:title") and meta(html, "property", "og:description")
    assert meta(html, "property", "og:type") == ("product" if path == PRINTER else "website")


@pytest.mark.parametrize("path", ["/account/sign-in", "/orders/lookup", "/quick-order/"])
def test_private_pages_are_not_indexed_and_name_no_canonical(client, path):
    html = html_of(client.get(path))
    assert noindex(html) and canonical(html) is None


@pytest.mark.parametrize("path", ["/account/", "/account/orders", "/", PRINTER])
def test_every_page_a_signed_in_customer_sees_is_not_indexed(customer_client, path):
    assert noindex(html_of(customer_client.get(path)))


def test_canonical_links_come_from_shop_url_not_the_host_header(client):
    html = html_of(client.get("/c/paper", headers={"Host": "127.0.0.1"}))
    assert canonical(html) == SHOP + "/c/paper"


def test_console_pages_are_not_indexed(console_client):
    html = html_of(console_client.get("/sign-in"))
    assert noindex(html)


# -- robots.txt and the sitemaps ---------------------------------------------------------------

def test_robots_txt_names_the_sitemap_and_keeps_crawlers_out_of_private_paths(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    lines = response.get_data(as_text=True).splitlines()
    assert f"Sitemap: {SHOP}/sitemap.xml" in lines
    for path in ("/agent/", "/account", "/checkout", "/search"):
        assert f"Disallow: {path}" in lines
    assert not any(line.startswith("Disallow: /cart") for line in lines)  # crawlable
    assert "Disallow: /*?sort=" in lines and "Disallow: /c/" not in lines


def _sitemap_urls(client) -> tuple[list[str], list[str]]:
    """(the index's files, every URL in them), each file parsed as XML."""
    index = ET.fromstring(client.get("/sitemap.xml").data)
    assert index.tag == SM + "sitemapindex"
    files = [loc.text for loc in index.iter(SM + "loc")]
    urls = []
    for url in files:
        assert url.startswith(SHOP + "/sitemap-")
        response = client.get(url[len(SHOP):])
        assert response.status_code == 200 and response.mimetype == "application/xml"
        urlset = ET.fromstring(response.data)
        assert urlset.tag == SM + "urlset"
        urls += [loc.text for loc in urlset.iter(SM + "loc")]
    return files, urls


def test_the_sitemap_lists_home_categories_and_sellable_products_only(client, db):
    gone = ProductFactory(slug="seo-retired", active=False)
    elsewhere = ProductFactory(slug="seo-b2b-only")
    sold = ProductFactory(slug="seo-sold")
    b2c = db.scalar(select(Channel).where(Channel.code == "web-b2c"))
    db.add(AssortmentRule(channel_id=b2c.id, mode="exclude", product_id=elsewhere.id))
    db.commit()
    _, urls = _sitemap_urls(client)
    assert SHOP + "/" in urls and SHOP + "/c/paper" in urls
    assert SHOP + PRINTER in urls and SHOP + "/p/seo-sold" in urls
    assert SHOP + f"/p/{gone.slug}" not in urls and SHOP + f"/p/{elsewhere.slug}" not in urls
    assert len(urls) == len(set(urls))
    # The product pages it lists are the ones the shop serves.
    assert client.get("/p/seo-b2b-only").status_code == 404 and sold.active


def test_the_sitemap_splits_products_into_files_and_streams_them(client, db, monkeypatch):
    monkeypatch.setattr(seo, "SITEMAP_URLS_PER_FILE", 10)
    monkeypatch.setattr(seo, "SITEMAP_BATCH", 3)
    count = seo.sellable_count(db, db.scalar(select(Channel.id).where(Channel.code == "web-b2c")))
    files, urls = _sitemap_urls(client)
    assert len(files) == 1 + -(-count // 10)
    products = [u for u in urls if "/p/" in u]
    assert len(products) == count == len(set(products))
    assert client.get("/sitemap-products-1.xml").is_streamed
    assert client.get(f"/sitemap-products-{len(files)}.xml").status_code == 404
    assert client.get("/sitemap-products-0.xml").status_code == 404


# -- the pure parts ------------------------------------------------------------------------------

def test_a_description_is_plain_text_cut_at_a_word_within_the_limit():
    text = "<p>Robust   stapler</p> " + "for the office " * 20
    cut = seo.describe(text)
    assert len(cut) <= 155 and cut.endswith("…") and "<p>" not in cut and "  " not in cut
    assert cut.startswith("Robust stapler for the office")
    assert seo.describe("Short one.") == "Short one."
