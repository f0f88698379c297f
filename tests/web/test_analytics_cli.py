"""`flask analytics rebuild`: a database whose invoices predate the sales facts gets them."""
from __future__ import annotations

from sqlalchemy import delete, func, select

from core.reporting import facts
from core.reporting.models import SalesDay, SalesFact


def _figures(db):
    facts = db.execute(select(func.count(), func.sum(SalesFact.revenue),
                              func.sum(SalesFact.cost))).one()
    days = db.execute(select(func.count(), func.sum(SalesDay.revenue),
                             func.sum(SalesDay.units))).one()
    return tuple(facts), tuple(days)


def test_rebuild_records_every_document_of_a_database_without_facts(console_app, db):
    # Another test may have left committed invoices whose facts it took out (tests/pg):
    # record them first, so `before` is what every document makes.
    facts.rebuild(db)
    db.commit()
    before = _figures(db)
    assert before[0][0] > 0  # the demo's invoices have facts
    db.execute(delete(SalesDay))
    db.execute(delete(SalesFact))  # as a database migrated to 0018 with old invoices
    db.commit()

    result = console_app.test_cli_runner().invoke(args=["analytics", "rebuild"])

    assert result.exit_code == 0, result.output
    # every document but the dunning run's charges invoice, which is not a sale
    documents = db.scalar(select(func.count(func.distinct(SalesFact.invoice_id))))
    assert f"Recorded {documents} documents as {before[0][0]} sales facts" in result.output
    db.expire_all()
    assert _figures(db) == before
