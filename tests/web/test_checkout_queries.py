"""The order loop's requests run a fixed number of SQL statements: a guest adds a product,
sees the cart and the checkout page, and pays by card (on localstripe); the confirmation
e-mail is sent inline here (no Redis), so its statements count too. A statement that comes
back (a second look-up of the idempotency key, the cart read twice, the order reloaded for
the payment step) fails the test. Before the speed work of issue 17 (2026-12-06) these were
15 (add), 14 (cart page), 16 (checkout page) and 48 (order), transaction control aside."""
import dataclasses

import pytest

from tests.conftest import csrf_token
from tests.helpers import QueryCounter
from tests.unit.test_orders import vid
from tests.web.test_order_confirmations import GUEST, card, order_by_email

CONTROL = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")


class Statements(QueryCounter):
    """The SQL statements (transaction control aside) sent on the test's connection."""

    def _hit(self, _conn, _cursor, statement, *_args):
        if not statement.lstrip().upper().startswith(CONTROL):
            self.count += 1


@pytest.fixture
def shop(settings, session_factory, localstripe):
    """The shop paying on a real localstripe."""
    from storefront import create_app
    app = create_app(dataclasses.replace(settings, STRIPE_API_BASE=localstripe),
                     session_factory=session_factory)
    app.config.update(TESTING=True)
    return app


def test_the_order_loop_runs_a_fixed_number_of_statements(shop, db, connection, localstripe,
                                                          smtp_sink):
    client = shop.test_client()
    token = csrf_token(client, "/cart/")
    paper = vid(db, "PAP-A4-80")
    with Statements(connection) as add:
        assert client.post("/cart/add", data={"csrf_token": token, "quantity": "2",
                                              "variant_id": paper}).status_code == 303
    with Statements(connection) as cart_page:
        assert client.get("/cart/").status_code == 200
    with Statements(connection) as checkout_page:
        page = client.get("/checkout").get_data(as_text=True)
    key = page.split('name="key" type="hidden" value="')[1].split('"')[0]
    method = card(localstripe, "4242424242424242")
    with Statements(connection) as place:
        answer = client.post("/checkout", data={
            "csrf_token": token, "key": key, "email": GUEST, "full_name": "Ola Confirm",
            "line1": "Hafenstraße 1", "city": "Hamburg", "postal_code": "20457",
            "country": "DE", "shipping_method": "standard", "payment_method": method})
    assert answer.get_json()["status"] == "confirmed"
    order = order_by_email(db, GUEST)
    assert order.status == "confirmed" and order.confirmation_emailed_at is not None
    counts = dict(add=add.count, cart_page=cart_page.count, checkout_page=checkout_page.count,
                  place=place.count)
    print("statements:", counts)
    assert counts == dict(add=ADD, cart_page=CART_PAGE, checkout_page=CHECKOUT_PAGE, place=PLACE)


# pricing facts in one query; the cart page reads the shipping methods for its "Shipping
# from" (issue 18: shipping shows before the checkout), one statement more
ADD, CART_PAGE, CHECKOUT_PAGE, PLACE = 11, 10, 11, 33
