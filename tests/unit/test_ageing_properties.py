"""Random histories of invoices, partial payments, overpayments, credit notes, write-offs,
customer credit applied and refunded, lived day by day on core.clock: on every day of the
history (and well after it)
- the ageing's total equals the receivables account (1200) on that day, to the cent, per
  currency (the whole book, the demo's history included);
- the unapplied credit rebuilt from the documents equals the deposits account (2300);
- each customer's statement closing balance equals their open items on that day (open
  invoices less unapplied credit), and the buckets add up to the open invoices.
"""
import datetime as dt
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core import clock
from core.billing import ageing, invoicing, ledger, receivables, statements
from core.billing.errors import BillingError
from core.billing.invoicing import FreeTextLine
from core.billing.models import Invoice, Payment
from tests.billing_support import CLERK
from tests.factories import CustomerFactory

START_AGO = 150  # the history begins this many days back

amounts = st.decimals(min_value=D("1.00"), max_value=D("400.00"), places=2)
fractions = st.sampled_from([D("0.25"), D("0.5"), D("1"), D("1.2")])
steps = st.lists(st.tuples(
    st.integers(min_value=0, max_value=12),  # days that pass first
    st.sampled_from(["invoice", "invoice", "pay", "pay", "credit_note", "write_off",
                     "use_credit", "refund"]),
    st.integers(min_value=0, max_value=1),  # which customer
    amounts, fractions, st.sampled_from(["net14", "net30", "2-10-net30"]),
    st.integers(min_value=0, max_value=5)),  # which document
    min_size=3, max_size=14)


@pytest.fixture(autouse=True)
def real_clock():
    yield
    clock.reset()


def _pick(items, index):
    return items[index % len(items)] if items else None


def _open(db, customer):
    return list(db.scalars(select(Invoice).where(
        Invoice.customer_id == customer.id, Invoice.kind == "invoice", Invoice.amount_open > 0)
        .order_by(Invoice.id)))


def _do(db, action, customer, amount, fraction, terms, which, counter):
    """One step of the history; a step the books refuse (BillingError) changes nothing."""
    open_invoices = _open(db, customer)
    target = _pick(open_invoices, which)
    savepoint = db.begin_nested()
    try:
        if action == "invoice":
            invoicing.issue_free_text(db, customer=customer, actor=CLERK, terms=terms,
                                      lines=[FreeTextLine("Service", 1, amount, D("0.19"))],
                                      prices_include_tax=True)
        elif action == "pay":
            allocations = []
            if target is not None:
                part = min(target.amount_open, (target.amount_open * fraction).quantize(D("0.01")))
                allocations = [(target.id, part)] if part > 0 else []
            paid = sum((a for _, a in allocations), D(0)) + (D("5.00") if fraction > 1 else 0)
            receivables.record_payment(
                db, customer_id=customer.id, method="bank_transfer", amount=paid or amount,
                currency="EUR", received_on=clock.today(), reference=f"SEPA {next(counter)}",
                actor=CLERK, allocations=allocations)
        elif action == "credit_note" and target is not None:
            lines = None if fraction >= 1 else {target.lines[0].id: 1}
            invoicing.issue_credit_note(db, target, lines=lines, reason="Random", actor=CLERK)
        elif action == "write_off" and target is not None:
            receivables.write_off(db, target, min(target.amount_open, D("3.00")),
                                  limit=D("1000"), reason="Small remainder", actor=CLERK)
        elif action == "use_credit" and target is not None:
            receivables.apply_credit(db, target, actor=CLERK, customer_credit=True)
        elif action == "refund":
            credit = db.scalar(select(Payment).where(
                Payment.customer_id == customer.id, Payment.amount_unallocated > 0,
                Payment.method == "bank_transfer").order_by(Payment.id))
            if credit is not None:
                receivables.refund_credit(db, amount=credit.amount_unallocated,
                                          method="bank_transfer", reference="Back",
                                          actor=CLERK, key=f"refund-{next(counter)}",
                                          payment=credit)
        savepoint.commit()
    except BillingError:
        savepoint.rollback()


def _check_day(db, customers, day, start):
    report = ageing.ageing(db, as_of=day)
    trial = {(r.code, r.currency): r.debit - r.credit
             for r in ledger.trial_balance(db, as_of=day)}
    for total in report.totals:
        assert total.buckets.total == trial.get((ledger.RECEIVABLES, total.currency), 0), day
        assert total.ledger == total.buckets.total
        assert total.credit == -trial.get((ledger.CUSTOMER_DEPOSITS, total.currency), 0), day
    assert {t.currency for t in report.totals} >= {
        cur for (code, cur), v in trial.items() if code == ledger.RECEIVABLES and v}
    for customer in customers:
        st_ = statements.statement(db, customer, statements.Period(start, day))
        owed = ageing.open_items(db, customer.id, day).get("EUR", D(0))
        assert st_.closing == owed, (customer.name, day)
        assert st_.ageing.total == sum((i.open for i in st_.open_invoices), D(0))
        assert st_.ageing.total - st_.credit == st_.closing
        running = st_.opening
        for line in st_.lines:
            running += line.amount
            assert line.balance == running


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(history=steps)
def test_ageing_ties_to_the_ledger_and_statements_to_open_items_on_every_day(db, history):
    savepoint = db.begin_nested()
    try:
        customers = [CustomerFactory(kind="company", name=f"Prop {i}", payment_terms="net30",
                                     on_account_allowed=True) for i in range(2)]
        db.flush()
        counter = iter(range(10 ** 9))
        clock.travel(days=-START_AGO)
        start = clock.today()
        days = []
        for wait, action, who, amount, fraction, terms, which in history:
            clock.travel(days=wait)
            _do(db, action, customers[who], amount, fraction, terms, which, counter)
            days.append(clock.today())
        clock.reset()
        for day in sorted(set(days)) + [clock.today(), clock.today() + dt.timedelta(days=120)]:
            _check_day(db, customers, day, start)
    finally:
        clock.reset()
        savepoint.rollback()
        db.expire_all()
