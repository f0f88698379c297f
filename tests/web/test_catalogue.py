"""Browse pages: home, category, product, search; htmx fragments; fixed query counts."""
import pytest
from sqlalchemy import event

from tests.factories import CategoryFactory, ProductFactory, StockLevelFactory, VariantFactory


class QueryCounter:
    def __init__(self, connection):
        self.connection, self.count = connection, 0

    def __enter__(self):
        event.listen(self.connection, "before_cursor_execute", self._hit)
        return self

    def __exit__(self, *exc):
        event.remove(self.connection, "before_cursor_execute", self._hit)

    def _hit(self, *args):
        self.count += 1


@pytest.fixture
def count_queries(connection):
    def run(fn):
        with QueryCounter(connection) as counter:
            fn()
        return counter.count
    return run


def test_home_lists_the_categories(client):
    html = client.get("/").get_data(as_text=True)
    assert "Coffee Machines" in html and 'href="/c/paper"' in html


def test_category_page_shows_products_with_price_and_stock(client):
    html = client.get("/c/paper").get_data(as_text=True)
    assert "Everyday Copy Paper A4 80 g" in html and "5.49 EUR" in html and "In stock" in html


def test_product_page_has_the_name_as_heading_and_its_variants(client):
    html = client.get("/p/leuchtturm-hardcover-notebook-a5-ruled").get_data(as_text=True)
    assert "<h1>Hardcover Notebook A5 Ruled</h1>" in html
    assert "NTB-A5-RUL-NVY" in html and "18.95 EUR" in html


def test_search_finds_by_sku_and_by_words(client):
    assert "Gel Pens" in client.get("/search?q=pen-g2").get_data(as_text=True)
    assert "Espresso Beans Crema" in client.get("/search?q=lavazza crema").get_data(as_text=True)


def test_search_with_no_match_helps(client):
    html = client.get("/search?q=unobtainium").get_data(as_text=True)
    assert "Nothing matches" in html and 'href="/c/paper"' in html


def test_htmx_asks_for_a_fragment_and_gets_only_the_results_block(client):
    full = client.get("/c/paper")
    part = client.get("/c/paper", headers={"HX-Request": "true"})
    assert "<html" in full.get_data(as_text=True)
    assert "<html" not in part.get_data(as_text=True)
    assert "Everyday Copy Paper" in part.get_data(as_text=True)
    assert "HX-Request" in part.headers["Vary"] and "HX-Request" in full.headers["Vary"]


def test_a_history_restore_gets_the_whole_page(client):
    page = client.get("/c/paper", headers={"HX-Request": "true",
                                           "HX-History-Restore-Request": "true"})
    assert "<html" in page.get_data(as_text=True)


def test_unknown_category_and_product_are_404(client):
    assert client.get("/c/nope").status_code == 404
    assert client.get("/p/nope").status_code == 404


def _fill(category, n):
    for _ in range(n):
        StockLevelFactory(variant=VariantFactory(product=ProductFactory(category=category)))


def test_category_page_runs_as_many_queries_for_1_product_as_for_48(client, db, count_queries):
    one, many = CategoryFactory(slug="one-item"), CategoryFactory(slug="many-items")
    _fill(one, 1)
    _fill(many, 48)
    db.commit()
    client.get("/")  # the session cookie exists before counting
    q1 = count_queries(lambda: client.get("/c/one-item?page=1"))
    q48 = count_queries(lambda: client.get("/c/many-items?page=2"))
    assert q1 == q48


def test_search_runs_as_many_queries_for_1_match_as_for_48(client, db, count_queries):
    for i in range(48):
        StockLevelFactory(variant=VariantFactory(product=ProductFactory(name=f"Zebra widget {i}")))
    StockLevelFactory(variant=VariantFactory(product=ProductFactory(name="Quokka gadget")))
    db.commit()
    client.get("/")
    q1 = count_queries(lambda: client.get("/search?q=quokka"))
    q48 = count_queries(lambda: client.get("/search?q=zebra"))
    assert q1 == q48
