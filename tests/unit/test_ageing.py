"""Ageing buckets at their boundaries, the ageing as of a past day tying to the ledger, and
statements of account (figures, PDF)."""
import datetime as dt
import subprocess
from decimal import Decimal as D

import pytest

from core import clock
from core.billing import ageing, invoicing, ledger, receivables, statements
from core.billing.documents import Seller
from core.billing.invoicing import FreeTextLine
from core.billing.models import JournalEntry
from core.config import Settings
from tests.billing_support import CLERK
from tests.factories import CustomerFactory
from tests.helpers import QueryCounter


@pytest.fixture(autouse=True)
def real_clock():
    yield
    clock.reset()


@pytest.fixture
def cleo(db):
    customer = CustomerFactory(kind="company", name="Cleo Consulting", payment_terms="net30",
                               on_account_allowed=True)
    db.flush()
    return customer


def invoice(db, customer, amount: str, terms="net30"):
    return invoicing.issue_free_text(db, customer=customer, actor=CLERK, terms=terms,
                                     lines=[FreeTextLine("Service", 1, D(amount), D("0"))])


@pytest.mark.parametrize("days, bucket", [(-5, "current"), (0, "current"), (1, "d1_30"),
                                          (30, "d1_30"), (31, "d31_60"), (60, "d31_60"),
                                          (61, "d61_90"), (90, "d61_90"), (91, "over_90"),
                                          (400, "over_90")])
def test_an_invoice_falls_in_its_bucket_by_the_days_past_its_due_date(db, cleo, days, bucket):
    inv = invoice(db, cleo, "100.00")
    assert inv.due_date == clock.today() + dt.timedelta(days=30)
    on = inv.due_date + dt.timedelta(days=days)
    [aged] = ageing.customer_ageing(db, cleo.id, on)
    assert {k: a for k, _, a in aged.amounts() if a} == {bucket: D("100.00")}
    assert ageing.bucket_for(days) == bucket


def test_the_ageing_of_a_past_day_shows_what_was_open_then_and_ties_to_the_ledger(db, cleo):
    clock.travel(days=-40)
    first = invoice(db, cleo, "100.00")
    clock.travel(days=10)
    receivables.record_payment(db, customer_id=cleo.id, method="bank_transfer",
                               amount=D("130.00"), currency="EUR", received_on=clock.today(),
                               reference="SEPA 1", actor=CLERK,
                               allocations=[(first.id, D("60.00"))])
    clock.travel(days=10)
    second = invoice(db, cleo, "50.00")  # 70.00 of credit pays it at once
    clock.reset()
    day = lambda ago: clock.today() - dt.timedelta(days=ago)  # noqa: E731
    assert ageing.open_items(db, cleo.id, day(41)) == {}
    assert ageing.open_items(db, cleo.id, day(35)) == {"EUR": D("100.00")}
    assert ageing.open_items(db, cleo.id, day(25)) == {"EUR": D("-30.00")}  # 40 open, 70 credit
    assert [b.total for b in ageing.customer_ageing(db, cleo.id, day(25))] == [D("40.00")]
    assert ageing.open_items(db, cleo.id, day(0)) == {"EUR": D("20.00")}  # 40 open, 20 credit
    assert second.amount_open == 0
    for ago in (41, 35, 25, 15, 0):
        report = ageing.ageing(db, as_of=day(ago))
        ledger_1200 = {r.currency: r.debit - r.credit for r in
                       ledger.trial_balance(db, as_of=day(ago)) if r.code == "1200"}
        assert {t.currency: t.buckets.total for t in report.totals
                if t.buckets.total} == {c: v for c, v in ledger_1200.items() if v}
        assert report.ties


def test_a_receivables_entry_cannot_be_reversed(db, cleo):
    """The ageing follows 1200 through invoices and allocations only."""
    inv = invoice(db, cleo, "10.00")
    with pytest.raises(ledger.LedgerError, match="credit note or a write-off"):
        ledger.reverse(db, db.get(JournalEntry, inv.entry_id))


def test_a_statement_runs_from_the_opening_to_the_closing_balance_with_the_ageing(db, cleo):
    clock.travel(days=-70)
    old = invoice(db, cleo, "200.00")  # due 40 days ago
    clock.travel(days=35)
    new = invoice(db, cleo, "80.00")  # due 5 days from now
    receivables.record_payment(db, customer_id=cleo.id, method="bank_transfer",
                               amount=D("50.00"), currency="EUR", received_on=clock.today(),
                               reference="SEPA part", actor=CLERK,
                               allocations=[(old.id, D("50.00"))])
    clock.travel(days=5)
    invoicing.issue_credit_note(db, new, lines=None, reason="Not delivered", actor=CLERK)
    clock.reset()
    today = clock.today()
    st = statements.statement(db, cleo, statements.Period(today - dt.timedelta(days=40), today))
    assert st.opening == D("200.00")
    assert [(l.kind, l.amount, l.balance) for l in st.lines] == [
        ("invoice", D("80.00"), D("280.00")), ("payment", D("-50.00"), D("230.00")),
        ("credit_note", D("-80.00"), D("150.00"))]
    assert st.closing == D("150.00") == ageing.open_items(db, cleo.id, today)["EUR"]
    assert st.ageing.d31_60 == D("150.00") and st.ageing.total == D("150.00")
    assert [i.number for i in st.open_invoices] == [old.number]
    pdf = statements.statement_pdf(st, seller=Seller.from_settings(Settings()))
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()
    for words in ("Statement of account", "Opening balance", "Closing balance", old.number,
                  "150.00", "31–60 days", cleo.number):
        assert words in text, words


# -- the fast path: a current day reads amount_open instead of rebuilding ---------------------

def _rows(db, stmt) -> set:
    return {(r.invoice_id, r.customer_id, r.currency, r.due_date, D(r.open).normalize())
            for r in db.execute(stmt)}


def _report(db, day):
    report = ageing.ageing(db, as_of=day, per_page=10_000)
    return ([(t.currency, t.buckets, t.ledger, t.credit, t.deposits_ledger) for t in report.totals],
            [(r.customer_id, r.buckets, r.credit) for r in report.rows.items], report.rows.total)


def test_the_fast_path_equals_the_rebuild_on_the_demo_data_today(db, monkeypatch):
    today = clock.today()
    assert ageing.is_current(db, today)
    fast = _rows(db, ageing.open_invoices_now())
    assert fast and fast == _rows(db, ageing.open_invoices_on(today))
    quick, quick_csv = _report(db, today), list(ageing.csv_rows(db, as_of=today))
    monkeypatch.setattr(ageing, "is_current", lambda session, day: False)
    assert _report(db, today) == quick
    assert list(ageing.csv_rows(db, as_of=today)) == quick_csv
    assert len(quick_csv) == quick[2] + 1 and ageing.ageing(db, as_of=today).ties


def test_a_past_day_or_a_later_posting_takes_the_rebuild(db, cleo):
    today = clock.today()
    assert not ageing.is_current(db, today - dt.timedelta(days=1))
    assert ageing.is_current(db, today + dt.timedelta(days=3))
    clock.travel(days=2)
    later = invoice(db, cleo, "70.00")  # posted the day after tomorrow
    clock.reset()
    assert not ageing.is_current(db, today)
    assert ageing.customer_ageing(db, cleo.id, today) == []
    report = ageing.ageing(db, as_of=today, search="Cleo")
    assert report.rows.total == 0 and report.ties
    assert ageing.is_current(db, today + dt.timedelta(days=2))
    [row] = ageing.ageing(db, as_of=today + dt.timedelta(days=2), search="Cleo").rows.items
    assert row.buckets.total == later.amount_open == D("70.00")


def test_the_report_runs_seven_queries_and_the_csv_two_whatever_its_rows(db, connection, cleo):
    for n in range(3):
        invoice(db, CustomerFactory(kind="company", name=f"Csv {n}", payment_terms="net30",
                                    on_account_allowed=True), "10.00")
    with QueryCounter(connection) as report:
        ageing.ageing(db)
    assert report.count == 7  # is_current, totals, 2 ledger, credit total, page, page credit
    with QueryCounter(connection) as export:
        rows = list(ageing.csv_rows(db, as_of=clock.today(), search="Csv", chunk=2))
    assert export.count == 2 and len(rows) == 4  # is_current, then one streamed query
    assert rows[0] == ageing.CSV_HEADER
    assert [r[1] for r in rows[1:]] == ["Csv 0", "Csv 1", "Csv 2"]  # equal totals: by name
