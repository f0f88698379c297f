"""What one public listing request may cost (review L10): a handful of attribute filters,
only attributes that exist get a subquery, and no page past MAX_PAGE; past a cap the
answer says so, never a 500."""
from urllib.parse import urlencode

from sqlalchemy import event


def text(response) -> str:
    return response.get_data(as_text=True)


def test_more_attribute_filters_than_the_cap_get_a_clear_answer(client):
    args = urlencode({f"attr.Prop{i}": "x" for i in range(7)})  # the cap is 6
    response = client.get(f"/c/paper?{args}")
    assert response.status_code == 400
    assert "Filter by at most 6 properties" in text(response)
    assert 'href="/c/paper">Clear the filters</a>' in text(response)
    found = client.get(f"/search?q=paper&{args}", headers={"HX-Request": "true"})
    assert found.status_code == 200 and "Filter by at most" in text(found)  # htmx swaps it


def test_a_page_past_the_cap_gets_a_clear_answer(client):
    response = client.get("/c/paper?page=101")  # the cap is 100
    assert response.status_code == 400
    assert "Only the first 100 pages can be shown" in text(response)
    assert client.get("/search?q=paper&page=99999999999999999999").status_code == 400
    assert client.get("/c/paper?page=100").status_code == 200


def attribute_subqueries(client, connection, url) -> tuple[int, str]:
    """How many attribute filters the listing statements of `url` hold, and the page."""
    statements = []

    def note(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", note)
    try:
        html = text(client.get(url))
    finally:
        event.remove(connection, "before_cursor_execute", note)
    return max(s.count("variant_attributes.name =") for s in statements), html


def test_an_attribute_no_product_has_matches_nothing_without_a_subquery(client, connection):
    count, html = attribute_subqueries(client, connection,
                                       "/c/paper?attr.Nonsense=1&attr.Colour=Navy")
    assert count == 0 and "0 products" in html
    count, html = attribute_subqueries(client, connection, "/c/paper?attr.Colour=Navy")
    assert count == 1 and "Hardcover Notebook A5 Ruled" in html
