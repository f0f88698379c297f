"""The customer's order page shows its shipments: carrier, tracking number as a link,
shipped date and items; only for the customer's own orders, at a fixed query count."""
import itertools

from core.fulfilment import services
from tests import factories
from tests.helpers import QueryCounter
from tests.unit.test_fulfilment import WAREHOUSE, confirmed
from tests.unit.test_orders import vid
from tests.web.test_orders_account import make_order, shopper_id, text

_keys = itertools.count()


def shipped_order(db, customer_id, *, shipments=1, email="shopper@example.com"):
    """The customer's card order of `shipments` units of paper, shipped one at a time."""
    order = confirmed(db, [(vid(db, "PAP-A4-80"), shipments)], key=f"sf-{next(_keys)}",
                      pay="card")
    order.customer_id, order.email = customer_id, email
    services.release_order(db, order, actor=WAREHOUSE)
    for i in range(shipments):
        services.ship(db, order, {order.lines[0].id: 1}, carrier="postnl",
                      tracking_number=f"3SMKT{i:04d}", actor=WAREHOUSE)
    db.commit()
    return order


def test_the_customer_sees_carrier_tracking_link_date_and_items_of_each_shipment(
        customer_client, db):
    order = shipped_order(db, shopper_id(db), shipments=2)
    html = text(customer_client.get(f"/account/orders/{order.number}"))
    assert '<h2 id="shipments-h">Shipments</h2>' in html
    for n in (1, 2):
        assert f"Shipment {order.number}-{n}" in html
    assert ('<a href="https://jouw.postnl.nl/track-and-trace/3SMKT0000" '
            'rel="noopener noreferrer">3SMKT0000') in html
    assert "https://jouw.postnl.nl/track-and-trace/3SMKT0001" in html
    assert html.count("PostNL") >= 2
    assert html.count("1 × Everyday Copy Paper") == 2
    assert "<dt>Shipped</dt>" in html and "UTC" not in html  # the shop's time zone
    assert "Shipped" in html and "Partly shipped" in html  # the timeline


def test_an_order_without_shipments_shows_no_shipment_section(customer_client, db):
    order = make_order(db, shopper_id(db))
    db.commit()
    assert "shipments-h" not in text(customer_client.get(f"/account/orders/{order.number}"))


def test_another_customers_shipped_order_is_404(customer_client, db):
    stranger = factories.CustomerFactory()
    order = shipped_order(db, stranger.id, email=stranger.email)
    response = customer_client.get(f"/account/orders/{order.number}")
    assert response.status_code == 404
    assert "3SMKT0000" not in text(response)


def test_the_order_page_costs_the_same_queries_for_one_shipment_or_four(customer_client, db,
                                                                        connection):
    one = shipped_order(db, shopper_id(db), shipments=1)
    four = shipped_order(db, shopper_id(db), shipments=4)
    customer_client.get(f"/account/orders/{one.number}")  # warm-up

    def count(order):
        with QueryCounter(connection) as counter:
            assert customer_client.get(f"/account/orders/{order.number}").status_code == 200
        return counter.count

    assert count(one) == count(four)
