"""Collections under real concurrency (PostgreSQL, READ COMMITTED): two submits of one
promise form at once make one promise (the unique key: the second waits for the first's
insert, fails in a savepoint and answers with the first's promise); two disputes of one
invoice at once leave one open (the partial unique index uq_invoice_disputes_open_invoice:
the second is refused with the message of the check it raced past). Committed data on a
customer of its own, removed afterwards."""
from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core import clock
from core.audit import AuditEvent
from core.billing.models import Invoice
from core.credit import collections as coll
from core.credit.models import CollectionContact, Dispute, PromiseToPay, promise_invoices
from core.customers.models import Customer
from tests.collections_support import CLERK
from tests.pg.test_credit_concurrency import second_waits_for_first


@pytest.fixture
def overdue(engine):
    """(customer id, invoice id): a committed customer with one invoice 20 days overdue."""
    tag = uuid.uuid4().hex[:8]
    today = clock.today()
    with Session(engine) as s:
        customer = Customer(number=f"C-R{tag}", kind="company", name=f"Race {tag}",
                            email=f"race.{tag}@race.example", payment_terms="net30")
        s.add(customer)
        s.flush()
        invoice = Invoice(kind="invoice", number=f"INV-R{tag}", customer_id=customer.id,
                          currency="EUR", issue_date=today - dt.timedelta(days=50),
                          due_date=today - dt.timedelta(days=20), net_total=Decimal(300),
                          tax_total=Decimal(0), gross_total=Decimal(300),
                          amount_open=Decimal(300), payment_method="on_account",
                          terms="net30")
        s.add(invoice)
        s.commit()
        ids = customer.id, invoice.id
    yield ids
    with Session(engine) as s:
        customer_id, invoice_id = ids
        promise_ids = list(s.scalars(select(PromiseToPay.id).where(
            PromiseToPay.customer_id == customer_id)))
        dispute_ids = list(s.scalars(select(Dispute.id).where(
            Dispute.customer_id == customer_id)))
        s.execute(delete(AuditEvent).where(
            ((AuditEvent.subject_type == "promises_to_pay")
             & AuditEvent.subject_id.in_(map(str, promise_ids)))
            | ((AuditEvent.subject_type == "invoice_disputes")
               & AuditEvent.subject_id.in_(map(str, dispute_ids)))
            | ((AuditEvent.subject_type == "customers")
               & (AuditEvent.subject_id == str(customer_id)))))
        s.execute(delete(CollectionContact).where(CollectionContact.customer_id == customer_id))
        s.execute(delete(promise_invoices).where(promise_invoices.c.invoice_id == invoice_id))
        s.execute(delete(PromiseToPay).where(PromiseToPay.customer_id == customer_id))
        s.execute(delete(Dispute).where(Dispute.customer_id == customer_id))
        s.execute(delete(Invoice).where(Invoice.id == invoice_id))
        s.execute(delete(Customer).where(Customer.id == customer_id))
        s.commit()


def test_one_promise_form_submitted_twice_at_once_makes_one_promise(engine, overdue):
    customer_id, invoice_id = overdue
    key = uuid.uuid4().hex
    made: list[int] = []

    def submit(session):
        promise = coll.promise_to_pay(
            session, session.get(Customer, customer_id), amount=Decimal("100.00"),
            promised_for=clock.today() + dt.timedelta(days=5), invoices=[invoice_id],
            actor=CLERK, log_call=True, key=key)
        made.append(promise.id)
        return promise.id

    second = second_waits_for_first(engine, submit, submit)
    assert second == made[0]  # the first's promise
    with Session(engine) as s:
        assert s.scalars(select(PromiseToPay.id).where(
            PromiseToPay.customer_id == customer_id)).all() == [made[0]]
        assert len(s.scalars(select(CollectionContact.id).where(
            CollectionContact.customer_id == customer_id)).all()) == 1


def test_two_disputes_of_one_invoice_at_once_leave_one_open(engine, overdue):
    customer_id, invoice_id = overdue

    def dispute(reason):
        def run(session):
            return coll.open_dispute(session, session.get(Invoice, invoice_id),
                                     reason=reason, actor=CLERK).id
        return run

    outcome = second_waits_for_first(engine, dispute("Damaged"), dispute("Damaged, again"))
    assert isinstance(outcome, coll.CollectionsError), outcome
    assert "already under dispute" in str(outcome) and outcome.field == "invoice"
    with Session(engine) as s:
        assert s.scalars(select(Dispute.reason).where(
            Dispute.invoice_id == invoice_id)).all() == ["Damaged"]
