"""Browse pages: home, category with facets, product, search; viewer's prices; query counts."""
import re

import pytest

from tests.conftest import sign_in
from tests.helpers import QueryCounter
from tests.factories import CategoryFactory, ProductFactory, StockLevelFactory, VariantFactory
from core.catalog.models import VariantAttribute


@pytest.fixture
def count_queries(connection):
    def run(fn):
        with QueryCounter(connection) as counter:
            response = fn()
        assert response.status_code == 200
        return counter.count
    return run


def text(response) -> str:
    return response.get_data(as_text=True)


def test_home_lists_the_categories_and_new_products(client):
    html = text(client.get("/"))
    assert "Coffee Machines" in html and 'href="/c/paper"' in html
    assert "New in the shop" in html


def test_category_page_shows_products_with_viewer_price_and_stock(client):
    html = text(client.get("/c/paper"))
    assert "Everyday Copy Paper A4 80 g" in html and "5.49 EUR" in html and "In stock" in html
    assert "incl. VAT" in html


def test_category_facets_list_attribute_values_with_counts(client):
    html = text(client.get("/c/paper"))
    assert re.search(r"Colour</legend>", html)
    assert re.search(r'name="attr.Colour" value="Navy"', html)


def test_filtering_by_attribute_narrows_the_list(client):
    html = text(client.get("/c/paper?attr.Colour=Navy"))
    assert "Hardcover Notebook A5 Ruled" in html
    assert "Everyday Copy Paper" not in html


def test_filtering_by_price_range_and_stock(client):
    html = text(client.get("/c/printers?min=200&max=300"))
    assert "Laser Printer Mono 40 ppm" in html  # 289.00
    assert "Colour Laser Multifunction" not in html  # 549.00
    assert "Toner" not in html


def test_sorting_by_price(client):
    html = text(client.get("/c/coffee-machines?sort=price_desc"))
    assert html.index("Bean-to-Cup Machine Office 200") < html.index("Milk Frother")
    html = text(client.get("/c/coffee-machines?sort=price_asc"))
    assert html.index("Milk Frother") < html.index("Bean-to-Cup Machine Office 200")


def test_pagination_keeps_the_filters(client, db):
    category = CategoryFactory(slug="many")
    for i in range(30):
        StockLevelFactory(variant=VariantFactory(product=ProductFactory(category=category, name=f"Item {i:02d}")))
    db.commit()
    html = text(client.get("/c/many?in_stock=1"))
    assert "Page 1 of 2" in html
    assert 'href="/c/many?in_stock=1&amp;page=2"' in html


def test_htmx_filter_request_gets_only_the_results(client):
    part = client.get("/c/paper?attr.Colour=Navy", headers={"HX-Request": "true"})
    assert "<html" not in text(part) and "Hardcover Notebook" in text(part)
    assert "HX-Request" in part.headers["Vary"]


def test_a_history_restore_gets_the_whole_page(client):
    page = client.get("/c/paper", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in text(page)


def test_product_page_has_heading_quantity_add_to_cart_and_breaks(client):
    html = text(client.get("/p/navigator-everyday-copy-paper-a4-80-g"))
    assert "<h1>Everyday Copy Paper A4 80 g</h1>" in html
    assert '<label for="quantity">Quantity</label>' in html
    assert ">Add to cart</button>" in html
    assert "10 or more: 5.22 EUR each" in html and "50 or more: 4.94 EUR each" in html


def test_changing_the_variant_through_htmx_returns_the_new_offer(client, db):
    from sqlalchemy import select
    from core.catalog.models import Variant
    box = db.scalar(select(Variant).where(Variant.sku == "PAP-A4-80-BOX"))
    part = client.get(f"/p/navigator-everyday-copy-paper-a4-80-g?variant={box.id}&quantity=2",
                      headers={"HX-Request": "true"})
    html = text(part)
    assert "<html" not in html
    assert "PAP-A4-80-BOX" in html and "24.90 EUR" in html and "49.80 EUR" in html


def test_product_page_shows_related_products(client):
    html = text(client.get("/p/de-longhi-bean-to-cup-machine-home"))
    assert "Accessories" in html and "Descaler for Coffee Machines" in html
    assert "You may also like" in html


def test_a_promotion_shows_was_and_now(client):
    html = text(client.get("/p/lavazza-espresso-beans-crema-1-kg"))
    assert "Coffee week" in html and "17.91 EUR" in html


def test_a_b2b_only_product_is_hidden_from_consumers_everywhere(client):
    assert client.get("/p/bravilor-batch-brewer-for-offices").status_code == 404
    assert "Batch Brewer" not in text(client.get("/c/coffee-machines"))
    assert "Batch Brewer" not in text(client.get("/search?q=batch"))


def test_a_business_buyer_sees_b2b_products_and_contract_prices_excluding_vat(client):
    assert sign_in(client, "buyer@acme.example", "demo-pass-1").status_code == 303
    assert client.get("/p/bravilor-batch-brewer-for-offices").status_code == 200
    html = text(client.get("/p/navigator-everyday-copy-paper-a4-80-g"))
    assert "3.92 EUR" in html and "excl. VAT" in html
    assert "5.49 EUR" not in html


def test_search_finds_by_sku_by_words_and_ranks_name_matches_first(client):
    assert "Gel Pens" in text(client.get("/search?q=pen-g2"))
    assert "Espresso Beans Crema" in text(client.get("/search?q=lavazza crema"))
    html = text(client.get("/search?q=printer"))
    # "printer" in the name ranks above "printers" in the description only
    assert html.index("Laser Printer Mono 40 ppm") < html.index("Printable Labels")


def test_search_with_no_match_helps(client):
    html = text(client.get("/search?q=unobtainium"))
    assert "Nothing matches" in html and 'href="/c/paper"' in html


def test_unknown_category_and_product_are_404(client):
    assert client.get("/c/nope").status_code == 404
    assert client.get("/p/nope").status_code == 404


def _fill(category, n, name="Widget"):
    for i in range(n):
        variant = VariantFactory(product=ProductFactory(category=category, name=f"{name} {i}"))
        variant.attribute_values.append(VariantAttribute(name="Colour", value=f"C{i % 5}"))
        StockLevelFactory(variant=variant)


def test_category_page_runs_as_many_queries_for_1_product_as_for_48(client, db, count_queries):
    one, many = CategoryFactory(slug="one-item"), CategoryFactory(slug="many-items")
    _fill(one, 1)
    _fill(many, 48)
    db.commit()
    client.get("/")
    assert count_queries(lambda: client.get("/c/one-item")) == count_queries(
        lambda: client.get("/c/many-items?per_page=48"))


def test_search_runs_as_many_queries_for_1_match_as_for_48(client, db, count_queries):
    from core.catalog import search
    _fill(CategoryFactory(), 48, "Zebra")
    _fill(CategoryFactory(), 1, "Quokka")
    search.reindex(db)
    db.commit()
    client.get("/")
    assert count_queries(lambda: client.get("/search?q=quokka")) == count_queries(
        lambda: client.get("/search?q=zebra"))


PRODUCT_PAGE_QUERIES = 16  # 25 before issue 17


def test_product_page_runs_a_fixed_number_of_queries(client, count_queries):
    client.get("/")
    # one variant and three related products; three variants and one related product
    small = count_queries(lambda: client.get("/p/brother-laser-printer-mono-40-ppm"))
    large = count_queries(lambda: client.get("/p/leuchtturm-hardcover-notebook-a5-ruled"))
    # the product with its category and pictures, its variants with their attributes, the
    # related products, their stock, the page's stock, arrivals, every price shown (one
    # pass), the category trail (reference data: cached in production, not in tests), and
    # what every page reads (the cart badge)
    assert small == large == PRODUCT_PAGE_QUERIES, (small, large)


def test_pager_links_carry_only_the_listings_own_arguments(client, db):
    category = CategoryFactory(slug="pager-args")
    _fill(category, 30)
    db.commit()
    response = client.get("/c/pager-args?_anchor=x&_scheme=javascript&in_stock=1")
    assert response.status_code == 200
    html = text(response)
    assert 'href="/c/pager-args?in_stock=1&amp;page=2"' in html and "javascript" not in html


def test_only_stock_in_the_channels_warehouses_counts_as_in_stock(client, db):
    """The shop sells from MAIN only: units lying in HAM are not in stock for it."""
    from sqlalchemy import delete, select
    from core.catalog.models import Channel
    from core.inventory.models import ChannelWarehouse, Warehouse
    channel = db.scalar(select(Channel).where(Channel.code == "web-b2c"))
    main = db.scalar(select(Warehouse).where(Warehouse.code == "MAIN"))
    db.execute(delete(ChannelWarehouse).where(ChannelWarehouse.channel_id == channel.id))
    db.add(ChannelWarehouse(channel_id=channel.id, warehouse_id=main.id, position=0))
    category = CategoryFactory(slug="elsewhere")
    far = ProductFactory(category=category, name="Stocked In Hamburg", slug="stocked-in-ham")
    near = ProductFactory(category=category, name="Stocked In Main", slug="stocked-in-main")
    StockLevelFactory(variant=VariantFactory(product=far), warehouse="HAM", on_hand=5)
    both = VariantFactory(product=near)
    StockLevelFactory(variant=both, warehouse="MAIN", on_hand=2)
    StockLevelFactory(variant=both, warehouse="HAM", on_hand=7)
    db.commit()
    html = text(client.get("/c/elsewhere"))
    card = html[html.index("Stocked In Hamburg"):].split("</article>")[0]
    assert "Out of stock" in card and "In stock" not in card
    assert "Available to order only (1)" in html
    only = text(client.get("/c/elsewhere?in_stock=1"))
    assert "Stocked In Main" in only and "Stocked In Hamburg" not in only
    product = text(client.get("/p/stocked-in-ham"))
    assert "In stock (" not in product and "Only 5 in stock" not in product
    product = text(client.get("/p/stocked-in-main"))
    assert "In stock (2 available)" in product and "9 available" not in product
