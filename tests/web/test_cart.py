"""The cart: add, change, remove, coupons, stock and assortment checks, merge at sign-in."""
from sqlalchemy import select

from core.catalog.models import Variant
from core.inventory.models import StockLevel
from core.orders.models import Cart
from tests.conftest import csrf_token, sign_in


def vid(db, sku):
    return db.scalar(select(Variant.id).where(Variant.sku == sku))


def add(client, db, sku, quantity=1, **headers):
    token = csrf_token(client, "/")
    return client.post("/cart/add", data={"variant_id": vid(db, sku), "quantity": quantity,
                                          "csrf_token": token}, headers=headers)


def page(client):
    return client.get("/cart/").get_data(as_text=True)


def line_id(db, client, sku):
    cart = db.scalar(select(Cart).order_by(Cart.id.desc()))
    return next(l.id for l in cart.lines if l.variant_id == vid(db, sku))


def test_a_guest_adds_two_products_and_sees_the_priced_cart(client, db):
    assert add(client, db, "PAP-A4-80", 2).status_code == 303
    add(client, db, "PEN-G2-BLU", 1)
    html = page(client)
    # 2 x 5.49 = 10.98; 19.90; total 30.88, VAT inside: 1.75 + 3.18 = 4.93
    assert "10.98 EUR" in html and "19.90 EUR" in html and "30.88 EUR" in html
    assert "4.93 EUR" in html
    assert '<span id="cart-count"> <span class="badge">3<' in html


def test_adding_more_than_is_in_stock_is_refused_and_keeps_the_cart(client, db):
    add(client, db, "PAP-A4-80", 1)
    response = add(client, db, "COF-RKT-R58", 3)  # 2 in stock
    assert response.status_code == 303
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Only 2 of Espresso Machine Dual Boiler – R58 Cinquantotto are in stock." in html
    assert "Everyday Copy Paper" in page(client)


def test_a_product_outside_the_channels_assortment_cannot_be_added(client, db):
    response = add(client, db, "COF-BRV-B10", 1)
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "not sold here" in html
    assert "Batch Brewer" not in page(client)


def test_changing_a_quantity_through_htmx_reprices_the_cart(client, db):
    add(client, db, "PAP-A4-80", 1)
    lid = line_id(db, client, "PAP-A4-80")
    token = csrf_token(client, "/cart/")
    part = client.post(f"/cart/lines/{lid}", data={"quantity": 10, "csrf_token": token},
                       headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in part
    assert "5.22 EUR" in part and "52.20 EUR" in part  # the 10+ break


def test_a_quantity_above_stock_is_reported_at_the_line(client, db):
    add(client, db, "NTB-A5-RUL-RED", 1)  # 3 in stock
    lid = line_id(db, client, "NTB-A5-RUL-RED")
    token = csrf_token(client, "/cart/")
    part = client.post(f"/cart/lines/{lid}", data={"quantity": 5, "csrf_token": token},
                       headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Only 3 of Hardcover Notebook A5 Ruled – Red are in stock." in part
    assert 'value="1"' in part  # unchanged


def test_removing_a_line(client, db):
    add(client, db, "PAP-A4-80", 1)
    lid = line_id(db, client, "PAP-A4-80")
    token = csrf_token(client, "/cart/")
    client.post(f"/cart/lines/{lid}/remove", data={"csrf_token": token})
    assert "Your cart is empty" in page(client)


def test_a_coupon_applies_when_its_conditions_hold_and_says_why_not_otherwise(client, db):
    add(client, db, "PAP-A4-80", 2)  # 10.98
    token = csrf_token(client, "/cart/")
    html = client.post("/cart/coupon", data={"code": "welcome10", "csrf_token": token}).get_data(as_text=True)
    assert "needs a subtotal of at least 50.00 EUR" in html
    add(client, db, "PAP-A4-80-BOX", 2)  # + 49.80 -> 60.78
    html = client.post("/cart/coupon", data={"code": "welcome10", "csrf_token": token}).get_data(as_text=True)
    assert "Coupon <strong>WELCOME10</strong> applied." in html
    assert "6.08 EUR" in html  # 10 % of 10.98 + 49.80: 1.10 + 4.98


def test_an_unknown_coupon_is_refused(client, db):
    add(client, db, "PAP-A4-80", 1)
    token = csrf_token(client, "/cart/")
    html = client.post("/cart/coupon", data={"code": "FREEMONEY", "csrf_token": token}).get_data(as_text=True)
    assert "Coupon FREEMONEY is not valid." in html


def test_the_guest_cart_joins_the_customers_cart_at_sign_in(client, db):
    add(client, db, "PAP-A4-80", 2)
    assert sign_in(client, "shopper@example.com", "demo-pass-1").status_code == 303
    assert "10.98 EUR" in page(client)
    client.post("/account/sign-out", data={"csrf_token": csrf_token(client, "/")})
    assert "Your cart is empty" in page(client)  # a guest again: no cart
    sign_in(client, "shopper@example.com", "demo-pass-1")
    assert "10.98 EUR" in page(client)  # the customer's cart is kept in the database


def test_posting_to_the_cart_without_csrf_is_refused(client, db):
    response = client.post("/cart/add", data={"variant_id": vid(db, "PAP-A4-80"), "quantity": 1})
    assert response.status_code == 400


def test_the_cart_shows_when_stock_ran_out_after_adding(client, db):
    add(client, db, "PAP-A3-80", 5)
    level = db.scalar(select(StockLevel).where(StockLevel.variant_id == vid(db, "PAP-A3-80")))
    level.on_hand = 2
    db.commit()
    assert "Only 2 of Copy Paper A3 80 g – 1 ream are in stock now." in page(client)
