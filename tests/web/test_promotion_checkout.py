"""WELCOME10 at the web checkout: once per buyer, guests included; a declined card gives
the use back."""
import re

import pytest
from sqlalchemy import select

from core.orders.models import Order
from core.pricing.models import Promotion
from tests.fakes import FakeGateway
from tests.conftest import csrf_token
from tests.web.test_cart import add


@pytest.fixture
def payment_gateway():
    """The apps take card payments through the fake (tests/fakes.py)."""
    return FakeGateway()


@pytest.fixture
def stripe(payment_gateway):
    return payment_gateway


def checkout_with_welcome10(client, db, email):
    """A guest's cart of 10 reams (52.20 EUR) with WELCOME10, checked out with a card."""
    add(client, db, "PAP-A4-80", 10)
    token = csrf_token(client, "/cart/")
    html = client.post("/cart/coupon", data={"code": "WELCOME10", "csrf_token": token}
                       ).get_data(as_text=True)
    assert "Coupon <strong>WELCOME10</strong> applied." in html
    page = client.get("/checkout").get_data(as_text=True)
    key = re.search(r'name="key" type="hidden" value="([0-9a-f]{32})"', page).group(1)
    data = {"csrf_token": csrf_token(client, "/checkout"), "key": key, "email": email,
            "full_name": "Wendy Welcome", "line1": "Hauptstraße 5", "city": "Berlin",
            "postal_code": "10115", "country": "DE", "shipping_method": "standard",
            "payment_method": "pm_card_visa"}
    return client.post("/checkout", data=data, headers={"Accept": "application/json"})


def times_used(db) -> int:
    return db.scalar(select(Promotion.times_used).where(Promotion.coupon_code == "WELCOME10"))


def test_a_guest_checking_out_twice_with_welcome10_is_refused_the_second_time(
        shop_app, db, stripe):
    first = checkout_with_welcome10(shop_app.test_client(), db, "wendy@example.com")
    assert first.json["status"] == "confirmed"
    again = checkout_with_welcome10(shop_app.test_client(), db, "Wendy@Example.com")
    assert again.status_code == 422
    assert "WELCOME10 has already been used" in again.json["errors"]["form"]


def test_a_declined_checkout_gives_welcome10_back(shop_app, db, stripe):
    before = times_used(db)
    stripe.decline = True
    client = shop_app.test_client()
    declined = checkout_with_welcome10(client, db, "dora.declined@example.com")
    assert declined.status_code == 402
    order = db.scalar(select(Order).where(Order.email == "dora.declined@example.com"))
    assert order.status == "cancelled"
    assert times_used(db) == before
    stripe.decline = False
    again = checkout_with_welcome10(shop_app.test_client(), db, "dora.declined@example.com")
    assert again.json["status"] == "confirmed"
    assert times_used(db) == before + 1
