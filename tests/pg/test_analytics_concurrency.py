"""Two invoices for the same roll-up cell (day, currency, channel, category, customer group,
agent) issued at once: both commit, nothing is lost, the roll-up still equals its facts.

core.reporting.facts keeps SalesDay with an INSERT ... ON CONFLICT DO UPDATE per cell, in the
issuing transaction: the second transaction waits for the first's row and adds to it."""
from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from core import clock
from core.billing import invoicing
from core.billing.models import Invoice
from core.catalog.models import Product, Variant
from core.fulfilment.models import Shipment
from core.reporting import facts  # importing core.reporting registers the facts hook
from core.reporting.models import SalesDay, SalesFact
from tests.billing_support import CLERK, place, ship
from tests.helpers import run_threads

SKU = "PAP-A4-80"


def _cell_key(session: Session) -> tuple:
    """The cell a web-b2c invoice of SKU without a customer lands in today."""
    category = session.scalar(select(Product.category_id).join(Variant)
                              .where(Variant.sku == SKU))
    return (clock.today(), "EUR", "web-b2c", category, "", 0)


def _cell(session: Session, key: tuple) -> tuple:
    day, currency, channel, category, group, agent = key
    row = session.execute(select(SalesDay.revenue, SalesDay.cost, SalesDay.units,
                                 SalesDay.orders, SalesDay.lines)
                          .where(SalesDay.day == day, SalesDay.currency == currency,
                                 SalesDay.channel_code == channel,
                                 SalesDay.category_id == category,
                                 SalesDay.customer_group == group,
                                 SalesDay.agent_id == agent)).first()
    return tuple(row) if row else (Decimal(0), Decimal(0), 0, 0, 0)


def _facts_of_cell(session: Session, key: tuple) -> tuple:
    day, currency, channel, category, group, agent = key
    f = SalesFact
    row = session.execute(
        select(func.coalesce(func.sum(f.revenue), 0), func.coalesce(func.sum(f.cost), 0),
               func.coalesce(func.sum(f.quantity), 0),
               func.count().filter(f.first_of_order), func.count())
        .where(f.day == day, f.currency == currency, f.channel_code == channel,
               func.coalesce(f.category_id, 0) == category, f.customer_group == group,
               func.coalesce(f.agent_id, 0) == agent)).one()
    return (Decimal(row[0]), Decimal(row[1]), int(row[2]), int(row[3]), int(row[4]))


@pytest.fixture
def shipped(engine):
    """Two web-b2c orders of SKU, shipped and committed, waiting for their invoices; their
    facts are taken out of the roll-up again afterwards."""
    with Session(engine) as s:
        orders = [place(s, [(SKU, 2 + i)], key=f"pg-analytics-{uuid.uuid4().hex}")
                  for i in range(2)]
        shipments = [ship(s, order, {SKU: 2 + i}).id for i, order in enumerate(orders)]
        s.commit()
        order_ids = [o.id for o in orders]
    yield shipments
    with Session(engine) as s:
        ids = list(s.scalars(select(Invoice.id).where(Invoice.order_id.in_(order_ids))))
        done = s.scalars(select(SalesFact).where(SalesFact.invoice_id.in_(ids))).all()
        _take_out(s, done)
        s.execute(delete(SalesFact).where(SalesFact.invoice_id.in_(ids)))
        s.commit()


def _take_out(session: Session, done: list[SalesFact]) -> None:
    """Subtract facts from their cells (the test database outlives this test)."""
    for f in done:
        day, currency, channel, category, group, agent = facts._cell(f)
        session.execute(update(SalesDay).where(
            SalesDay.day == day, SalesDay.currency == currency, SalesDay.channel_code == channel,
            SalesDay.category_id == category, SalesDay.customer_group == group,
            SalesDay.agent_id == agent).values(
            revenue=SalesDay.revenue - f.revenue, cost=SalesDay.cost - f.cost,
            units=SalesDay.units - f.quantity,
            orders=SalesDay.orders - (1 if f.first_of_order else 0),
            lines=SalesDay.lines - 1))


def test_two_invoices_for_the_same_cell_at_once_both_count_in_the_roll_up(engine, shipped):
    with Session(engine) as s:
        key = _cell_key(s)
        before = _cell(s, key)

    def invoice(i):
        with Session(engine, expire_on_commit=False) as session:
            shipment = session.get(Shipment, shipped[i])
            doc = invoicing.invoice_shipment(session, shipment, actor=CLERK)
            session.commit()
            return doc.id, doc.net_total

    results = run_threads(2, invoice)  # released together; neither may fail or deadlock

    with Session(engine) as s:
        after = _cell(s, key)
        nets = [net for _, net in results]
        # Without shipping (the orders' own shipping lines land in the category-0 cell).
        goods = s.scalar(select(func.sum(SalesFact.revenue)).where(
            SalesFact.invoice_id.in_([i for i, _ in results]), SalesFact.line_kind == "goods"))
        assert goods > 0 and goods <= sum(nets)
        assert after[0] - before[0] == goods  # no lost update: both invoices' revenue
        assert after[2] - before[2] == 2 + 3  # units of both
        assert after[4] - before[4] == 2  # one goods line each
        assert after == _facts_of_cell(s, key)  # the roll-up still equals its facts


def test_the_same_cell_upserted_from_two_open_transactions_adds_both(engine):
    """The upsert itself, both transactions open at once on a cell that does not exist yet."""
    key = (dt.date(1999, 1, 1), "EUR", f"pg-{uuid.uuid4().hex[:8]}", 0, "", 0)

    def add(i):
        fact = SalesFact(day=key[0], currency="EUR", channel_code=key[2], category_id=None,
                         customer_group="", agent_id=None, quantity=1 + i,
                         revenue=Decimal("10.00") * (i + 1), cost=Decimal("4.00"),
                         first_of_order=True)
        with Session(engine) as session:
            facts.add_to_days(session, [fact])
            session.commit()

    try:
        run_threads(2, add)
        with Session(engine) as s:
            assert _cell(s, key) == (Decimal("30.00"), Decimal("8.00"), 3, 2, 2)
    finally:
        with Session(engine) as s:
            s.execute(delete(SalesDay).where(SalesDay.channel_code == key[2]))
            s.commit()
