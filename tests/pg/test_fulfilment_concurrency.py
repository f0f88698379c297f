"""Two people shipping the same order at once: the order's lock lets no unit ship twice."""
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.fulfilment.models import Shipment
from core.fulfilment.services import FulfilmentError
from core.inventory.models import StockLevel
from core.orders.models import Order
from core.workflows import shipping
from tests.helpers import run_threads
from tests.unit.test_fulfilment import WAREHOUSE, released
from tests.unit.test_orders import vid


def test_four_parallel_shipments_of_two_units_ship_a_four_unit_order_exactly_once(engine):
    with Session(engine) as session:
        paper = vid(session, "PAP-A4-80")
        order = released(session, [(paper, 4)], key=f"pg-ship-{uuid.uuid4().hex}")
        session.commit()
        order_id, line_id = order.id, order.lines[0].id
        on_hand = session.scalar(select(StockLevel.on_hand).where(StockLevel.variant_id == paper))

    def ship(i):
        with Session(engine, expire_on_commit=False) as session:
            try:
                shipping.ship_order(session, None, order_id, {line_id: 2}, carrier="own",
                                    tracking_number="", actor=WAREHOUSE, commit=session.commit)
            except FulfilmentError:
                session.rollback()
                return "refused"
            return "shipped"

    results = run_threads(4, ship)
    assert sorted(results) == ["refused", "refused", "shipped", "shipped"]
    with Session(engine) as session:
        order = session.get(Order, order_id)
        assert order.status == "shipped"
        assert (order.lines[0].quantity_shipped, order.lines[0].quantity_reserved) == (4, 0)
        assert session.scalar(select(func.count()).select_from(Shipment)
                              .where(Shipment.order_id == order_id)) == 2
        assert session.scalar(select(StockLevel.on_hand)
                              .where(StockLevel.variant_id == paper)) == on_hand - 4
