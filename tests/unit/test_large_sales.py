"""The large data's sales (core.demo.large_sales), at a small size: numbers without gaps, one
fact per invoice line, the roll-up equal to its facts, and a second run adding nothing."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from core import clock
from core.billing.models import Invoice, InvoiceLine
from core.demo import large, large_sales
from core.numbering import NumberSeries
from core.orders.models import Order, OrderLine
from core.reporting.models import SalesDay, SalesFact


@pytest.fixture
def small(db, monkeypatch):
    monkeypatch.setattr(large, "PRODUCTS", 300)
    monkeypatch.setattr(large, "CUSTOMERS", 400)
    monkeypatch.setattr(large, "PRESENT_THRESHOLD", 250)
    savepoint = db.begin_nested()
    series = dict(db.execute(select(NumberSeries.name, NumberSeries.next_value)).all())
    summary = large.load_large(db, order_lines=3000)
    yield series, summary
    savepoint.rollback()
    db.expire_all()


def test_large_sales_number_invoices_without_gaps_and_record_a_fact_per_line(db, small):
    series, summary = small
    assert "sales" in summary
    generated = select(Order.id).where(Order.idempotency_key.like(f"{large_sales.KEY_PREFIX}%"))
    orders = db.scalar(select(func.count()).select_from(Order).where(Order.id.in_(generated)))
    lines = db.scalar(select(func.count()).select_from(OrderLine)
                      .where(OrderLine.order_id.in_(generated)))
    assert 2400 <= lines <= 3600 and orders > 700  # about 3 lines an order, every day
    invoices = list(db.scalars(select(Invoice.number).where(
        Invoice.order_id.in_(generated), Invoice.kind == "invoice").order_by(Invoice.id)))
    first = series["invoice"]
    assert invoices == [f"INV-{n:06d}" for n in range(first, first + len(invoices))]
    after = dict(db.execute(select(NumberSeries.name, NumberSeries.next_value)).all())
    assert after["invoice"] == first + len(invoices)  # the next real invoice follows on
    notes = db.scalar(select(func.count()).select_from(Invoice).where(
        Invoice.order_id.in_(generated), Invoice.kind == "credit_note"))
    assert after["credit_note"] == series["credit_note"] + notes
    docs = select(Invoice.id).where(Invoice.order_id.in_(generated))
    assert db.scalar(select(func.count()).select_from(SalesFact)
                     .where(SalesFact.invoice_id.in_(docs))) == db.scalar(
        select(func.count()).select_from(InvoiceLine).where(InvoiceLine.invoice_id.in_(docs)))
    net = db.scalar(select(func.sum(Invoice.net_total)).where(Invoice.id.in_(docs),
                                                              Invoice.kind == "invoice"))
    credited = db.scalar(select(func.coalesce(func.sum(Invoice.net_total), 0)).where(
        Invoice.id.in_(docs), Invoice.kind == "credit_note"))
    assert db.scalar(select(func.sum(SalesFact.revenue))
                     .where(SalesFact.invoice_id.in_(docs))) == net - credited
    oldest = db.scalar(select(func.min(Invoice.issue_date)).where(Invoice.id.in_(docs)))
    assert oldest >= clock.today() - dt.timedelta(days=large_sales.DAYS)


def test_the_roll_up_equals_the_facts_and_a_second_run_adds_nothing(db, small):
    assert db.scalar(select(func.sum(SalesDay.revenue))) == db.scalar(
        select(func.sum(SalesFact.revenue)))
    assert db.scalar(select(func.sum(SalesDay.lines))) == db.scalar(
        select(func.count()).select_from(SalesFact))
    costs = db.scalar(select(func.sum(SalesFact.cost)).where(SalesFact.document == "invoice"))
    revenue = db.scalar(select(func.sum(SalesFact.revenue)).where(
        SalesFact.document == "invoice", SalesFact.line_kind == "goods"))
    assert 0.45 < costs / revenue < 0.85  # cost prices of 50-75 % of the net price
    orders = db.scalar(select(func.count()).select_from(Order))
    assert "nothing loaded" in large.load_large(db, order_lines=3000)
    assert db.scalar(select(func.count()).select_from(Order)) == orders
