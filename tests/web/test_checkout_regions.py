"""The checkout's region list follows the chosen country: Austria is never offered
Baden-Württemberg, and a country without regions asks for none."""
from tests.conftest import csrf_token
from tests.unit.test_orders import vid

HX = {"HX-Request": "true"}


def fill_cart(client, db):
    client.post("/cart/add", data={"csrf_token": csrf_token(client, "/cart/"),
                                   "variant_id": vid(db, "PAP-A4-80"), "quantity": "1"})


def test_the_checkout_offers_the_regions_of_the_shops_country_only(client, db):
    fill_cart(client, db)
    html = client.get("/checkout").get_data(as_text=True)
    assert "Bavaria" in html and "Baden-Württemberg" in html
    assert "Vienna" not in html and "Tyrol" not in html


def test_choosing_austria_swaps_in_austrias_regions(client, db):
    fill_cart(client, db)
    html = client.get("/checkout/regions?country=AT", headers=HX).get_data(as_text=True)
    assert 'id="region-field"' in html and "<label" in html
    assert "Vienna" in html and "Tyrol" in html
    assert "Bavaria" not in html and "Baden-Württemberg" not in html


def test_a_country_without_regions_asks_for_none(client, db):
    html = client.get("/checkout/regions?country=FR", headers=HX).get_data(as_text=True)
    assert "<select" not in html and 'type="hidden" name="region" value=""' in html


def test_without_htmx_the_region_fragment_sends_the_browser_to_the_checkout(client):
    response = client.get("/checkout/regions?country=AT")
    assert response.status_code == 302 and response.headers["Location"].endswith("/checkout")


def test_a_region_of_another_country_is_refused_at_the_region_field(client, db):
    fill_cart(client, db)
    html = client.get("/checkout").get_data(as_text=True)
    key = html.split('name="key" type="hidden" value="')[1].split('"')[0]
    response = client.post("/checkout", headers={"Accept": "application/json"}, data={
        "csrf_token": csrf_token(client, "/cart/"), "key": key, "email": "ola@example.com",
        "full_name": "Ola", "line1": "Ring 1", "city": "Wien", "postal_code": "1010",
        "country": "AT", "region": "BW", "shipping_method": "standard",
        "payment_method": "pm_card_visa"})
    assert response.status_code == 422
    assert response.json["errors"] == {"region": "Choose a region of Austria."}
