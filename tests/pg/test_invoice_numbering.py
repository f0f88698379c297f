"""Twenty clerks issuing invoices at the same moment: invoice numbers stay gapless and
unique, every invoice's entry balances, and a rolled-back invoice gives its number back."""
from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.audit import Actor, AuditEvent
from core.billing import invoicing, reconcile
from core.billing.invoicing import FreeTextLine
from core.billing.models import Invoice, InvoiceLine, InvoiceTax, JournalEntry, JournalLine
from core.customers.models import Customer
from core.numbering import NumberSeries
from tests.helpers import forget_sales_facts, run_threads

CLERK = Actor("agent", None, "race clerk")


def test_twenty_threads_issuing_invoices_get_no_gap_and_no_duplicate(engine):
    with Session(engine) as s:
        customer = Customer(number=f"C-T{uuid.uuid4().hex[:8]}", name="Race Ltd", kind="company",
                            email="race@example.com", payment_terms="net30",
                            on_account_allowed=True)
        s.add(customer)
        s.commit()
        customer_id = customer.id
        start = s.scalar(select(NumberSeries.next_value).where(NumberSeries.name == "invoice"))

    def issue(i):
        with Session(engine) as session:
            invoice = invoicing.issue_free_text(
                session, customer=session.get(Customer, customer_id), actor=CLERK,
                lines=[FreeTextLine(f"Service {i}", 1, Decimal("10.00") + i, Decimal("0.19"))])
            if i % 5 == 4:  # some clerks give up: their numbers go to the next one
                session.rollback()
                return None
            number = invoice.number
            session.commit()
            return number

    try:
        numbers = [n for n in run_threads(20, issue) if n]
        values = sorted(int(n.removeprefix("INV-")) for n in numbers)
        assert len(values) == 16 and len(set(values)) == 16
        assert values == list(range(start, start + 16))
        with Session(engine) as s:
            assert s.scalar(select(func.count()).select_from(Invoice)
                            .where(Invoice.customer_id == customer_id)) == 16
            assert reconcile.problems(s) == []
    finally:
        with Session(engine) as s:
            ids = list(s.scalars(select(Invoice.id).where(Invoice.customer_id == customer_id)))
            entries = list(s.scalars(select(Invoice.entry_id).where(Invoice.id.in_(ids))))
            forget_sales_facts(s, ids)
            s.execute(delete(InvoiceTax).where(InvoiceTax.invoice_id.in_(ids)))
            s.execute(delete(InvoiceLine).where(InvoiceLine.invoice_id.in_(ids)))
            s.execute(delete(AuditEvent).where(AuditEvent.subject_type == "invoices",
                                               AuditEvent.subject_id.in_([str(i) for i in ids])))
            s.execute(delete(Invoice).where(Invoice.id.in_(ids)))
            s.execute(delete(JournalLine).where(JournalLine.entry_id.in_(entries)))
            s.execute(delete(JournalEntry).where(JournalEntry.id.in_(entries)))
            s.execute(delete(Customer).where(Customer.id == customer_id))
            s.commit()
