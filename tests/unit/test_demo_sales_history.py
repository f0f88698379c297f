"""The demo's sales history (core.demo.sales_history): six months of orders over the three
channels from customers of its own, all invoiced and paid, with credit notes and returns,
costed from receipts; and the facts analytics reads agree with the documents."""
import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from core import clock
from core.agents.models import Agent
from core.billing.models import Invoice, InvoiceLine
from core.customers.models import Customer
from core.demo.sales_history import COMPANIES, CONSUMERS, ORDERS
from core.orders.models import Order
from core.reporting.models import SalesDay, SalesFact
from core.returns.models import ReturnAuthorisation, ReturnLine
from tests.billing_support import assert_books_reconcile


def _customers(db) -> list[int]:
    emails = [c[0] for c in CONSUMERS] + [c[1] for c in COMPANIES]
    return list(db.scalars(select(Customer.id).where(Customer.email.in_(emails))))


def test_the_history_spreads_over_six_months_three_channels_and_both_agents(db):
    ids = _customers(db)
    assert len(ids) == len(CONSUMERS) + len(COMPANIES)
    orders = db.scalars(select(Order).where(Order.customer_id.in_(ids))).all()
    assert len(orders) == ORDERS >= 40
    assert {o.channel_code for o in orders} == {"web-b2c", "web-b2b", "callcenter"}
    agents = {o.placed_by_id for o in orders if o.placed_by_kind == "agent"}
    names = set(db.scalars(select(Agent.full_name).where(Agent.id.in_(agents))))
    assert names == {"Alex Agent", "Sue Supervisor"}
    assert all(o.status in ("shipped", "completed") for o in orders)
    days = sorted(db.scalars(select(SalesFact.day).where(SalesFact.customer_id.in_(ids))))
    assert days[0] <= clock.today() - dt.timedelta(days=170)
    assert days[-1] >= clock.today() - dt.timedelta(days=20)
    categories = db.scalar(select(func.count(SalesFact.category_id.distinct()))
                           .where(SalesFact.customer_id.in_(ids)))
    assert categories >= 6


def test_every_history_document_is_paid_and_credit_notes_include_a_restocking_fee(db):
    ids = _customers(db)
    docs = db.scalars(select(Invoice).where(Invoice.customer_id.in_(ids))).all()
    assert all(d.amount_open == 0 and d.status == "paid" for d in docs)
    notes = [d for d in docs if d.kind == "credit_note"]
    assert len(notes) == 3
    fees = db.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id.in_([n.id for n in notes]),
                                                InvoiceLine.kind == "fee")).all()
    assert len(fees) == 1
    returned = db.execute(select(ReturnAuthorisation.status, ReturnLine.reason)
                          .join(ReturnLine, ReturnLine.return_id == ReturnAuthorisation.id)
                          .join(Order, Order.id == ReturnAuthorisation.order_id)
                          .where(Order.customer_id.in_(ids))).all()
    assert sorted(returned) == [("refunded", "changed_mind"), ("refunded", "defective")]
    assert_books_reconcile(db)


def test_the_history_s_margins_come_from_costs_and_the_roll_up_agrees(db):
    ids = _customers(db)
    revenue, cost, unknown = db.execute(
        select(func.sum(SalesFact.revenue), func.sum(SalesFact.cost),
               func.count().filter(SalesFact.unit_cost.is_(None),
                                   SalesFact.line_kind == "goods"))
        .where(SalesFact.customer_id.in_(ids))).one()
    assert unknown == 0
    assert Decimal("0.25") < (revenue - cost) / revenue < Decimal("0.45")
    total = db.execute(select(func.sum(SalesFact.revenue), func.sum(SalesFact.cost))).one()
    assert tuple(db.execute(select(func.sum(SalesDay.revenue), func.sum(SalesDay.cost))).one()) \
        == tuple(total)
