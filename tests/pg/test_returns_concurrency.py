"""Two warehouse people receiving the same return at once: the return's row lock lets the
goods go back on the shelf once. Each thread loads the return before receiving, as the
receipt page does, in its own session on real PostgreSQL."""
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.inventory.models import StockLevel, StockMovement
from core.orders.models import OrderLine
from core.returns import services as returns
from core.returns.models import ReturnAuthorisation, ReturnReceipt
from core.returns.services import Received, ReturnError
from tests.helpers import run_threads
from tests.unit.test_returns import SHOPPER, WAREHOUSE, shipped_card_order


@pytest.fixture
def rma(engine, settings):
    """A return of both units of a shipped card order, approved with its label sent;
    committed, so that other sessions see it. Returns (return id, variant id, on hand)."""
    tag = uuid.uuid4().hex[:10]
    with Session(engine, expire_on_commit=False) as session:
        order, _ = shipped_card_order(session, f"pg-ret-{tag}")
        line = order.lines[0]
        asked = returns.request_return(
            session, order, returns.Request([returns.RequestLine(line.id, 2, "defective")]),
            actor=SHOPPER, channel="shop", key=f"pg-rma-{tag}", settings=settings)
        assert asked.status == "label_sent"
        session.commit()
        on_hand = session.scalar(select(StockLevel.on_hand)
                                 .where(StockLevel.variant_id == line.variant_id))
        return asked.id, line.variant_id, on_hand


def receive_all(engine, return_id: int, key: str) -> str:
    """Receive every unit of the return, restocked, as one person's submit."""
    with Session(engine, expire_on_commit=False) as session:
        loaded = returns.get_return(session, return_id)  # the page, before the lock
        try:
            outcome = returns.receive(session, loaded,
                                      {l.id: Received(l.quantity) for l in loaded.lines},
                                      actor=WAREHOUSE, key=key)
        except ReturnError:
            session.rollback()
            return "refused"
        session.commit()
        return "repeated" if outcome.repeated else "received"


def restocked(engine, return_id: int, variant_id: int) -> tuple[int, int, int, int]:
    """On hand now, restock movements, units received on the return, units returned on the
    order line."""
    with Session(engine) as session:
        rma = session.get(ReturnAuthorisation, return_id)
        line = rma.lines[0]
        return (session.scalar(select(StockLevel.on_hand)
                               .where(StockLevel.variant_id == variant_id)),
                session.scalar(select(func.coalesce(func.sum(StockMovement.quantity), 0)).where(
                    StockMovement.reference == rma.number,
                    StockMovement.kind == "return_restock")),
                line.quantity_received,
                session.get(OrderLine, line.order_line_id).quantity_returned)


def test_two_receipts_of_the_whole_return_at_once_restock_it_once(engine, rma):
    return_id, variant_id, before = rma
    results = run_threads(2, lambda i: receive_all(engine, return_id, f"pg-rcv-{i}-{return_id}"))
    assert sorted(results) == ["received", "refused"]
    assert restocked(engine, return_id, variant_id) == (before + 2, 2, 2, 2)
    with Session(engine) as session:
        assert session.get(ReturnAuthorisation, return_id).status == "received"
        assert session.scalar(select(func.count()).select_from(ReturnReceipt).where(
            ReturnReceipt.key.like(f"pg-rcv-%-{return_id}"))) == 1


def test_the_same_receipt_submitted_twice_at_once_restocks_once(engine, rma):
    return_id, variant_id, before = rma
    results = run_threads(2, lambda i: receive_all(engine, return_id, f"pg-same-{return_id}"))
    assert sorted(results) == ["received", "repeated"]
    assert restocked(engine, return_id, variant_id) == (before + 2, 2, 2, 2)
