"""The console's ageing report and statements of account: the report ties to the ledger,
pages, sorts and searches customers, exports CSV; a customer's statement page, its PDF and
"E-mail statement" (the PDF arrives at the SMTP sink); the monthly run sends each customer's
statement once; roles; the same number of queries at 10 or 200,000 customers."""
import datetime as dt
import subprocess
import time
from decimal import Decimal as D

import pytest
from sqlalchemy import func, insert, select, update

from core import clock
from core.auth.passwords import hash_password
from core.billing import invoicing, receivables
from core.billing.invoicing import FreeTextLine
from core.billing.models import Invoice, JournalEntry, JournalLine
from core.credit import statement_sends
from core.credit.models import StatementSend
from core.customers.models import Customer
from tests.billing_support import CLERK
from tests.conftest import agent_client_for, csrf_token
from tests.factories import AgentFactory, CustomerFactory
from tests.helpers import QueryCounter


@pytest.fixture(autouse=True)
def real_clock():
    yield
    clock.reset()


def client_with_roles(console_app, db, roles: str):
    email = f"ageing-{roles.replace(',', '-')}@test.example"
    AgentFactory(email=email, roles_text=roles, password_hash=hash_password("demo-pass-1"))
    db.commit()
    return agent_client_for(console_app, email)


@pytest.fixture
def credit_client(console_app, db):
    return client_with_roles(console_app, db, "credit")


def text(response) -> str:
    return " ".join(response.get_data(as_text=True).split())


def free_text(db, customer, amount: str):
    return invoicing.issue_free_text(db, customer=customer, actor=CLERK, terms="net30",
                                     lines=[FreeTextLine("Service", 1, D(amount), D(0))])


@pytest.fixture
def zed(db):
    """A customer with an invoice 100 days overdue, part paid, and one not yet due."""
    customer = CustomerFactory(kind="company", name="Zed Zebra Supplies", payment_terms="net30",
                               on_account_allowed=True, email="ap@zed.example")
    db.flush()
    clock.travel(days=-130)
    old = free_text(db, customer, "500.00")
    clock.travel(days=100)
    receivables.record_payment(db, customer_id=customer.id, method="bank_transfer",
                               amount=D("200.00"), currency="EUR", received_on=clock.today(),
                               reference="SEPA ZED", actor=CLERK,
                               allocations=[(old.id, D("200.00"))])
    clock.reset()
    free_text(db, customer, "40.00")
    db.commit()
    return customer


@pytest.mark.parametrize("roles", ["billing", "credit", "supervisor", "admin"])
def test_billing_credit_supervisors_and_admins_open_the_ageing(console_app, db, roles):
    client = client_with_roles(console_app, db, roles)
    page = client.get("/receivables/ageing")
    assert page.status_code == 200
    assert 'href="/receivables/ageing">Ageing</a>' in page.get_data(as_text=True)


@pytest.mark.parametrize("roles", ["agent", "warehouse", "catalog"])
def test_other_roles_are_refused_the_ageing_and_statements(console_app, db, roles, zed):
    client = client_with_roles(console_app, db, roles)
    for path in ("/receivables/ageing", "/receivables/ageing.csv",
                 f"/receivables/customers/{zed.number}/statement",
                 f"/receivables/customers/{zed.number}/statement.pdf"):
        assert client.get(path).status_code in (302, 403), path
    assert "Ageing</a>" not in client.get("/").get_data(as_text=True)


def test_the_report_ties_to_the_ledger_and_lists_the_customer_in_their_buckets(credit_client, zed):
    page = text(credit_client.get("/receivables/ageing?q=Zebra"))
    assert "ties to the ledger" in page and "differs by" not in page
    assert f'href="/receivables/customers/{zed.number}/statement"' in page
    assert "1 customer with open invoices" in page
    row = page[page.index("Zed Zebra Supplies"):]
    assert "40.00 EUR" in row and "300.00 EUR" in row and "340.00 EUR" in row
    # 40 days ago the payment had not come: 500.00 was 10 days overdue
    as_of = (clock.today() - dt.timedelta(days=40)).isoformat()
    earlier = text(credit_client.get(f"/receivables/ageing?q=Zebra&as_of={as_of}"))
    row = earlier[earlier.index("Zed Zebra Supplies"):]
    assert "500.00 EUR" in row and "340.00" not in row
    assert "ties to the ledger" in earlier


def test_a_bad_as_of_date_is_told_at_the_field_and_the_report_shows_today(credit_client):
    page = text(credit_client.get("/receivables/ageing?as_of=2026-13-45"))
    assert 'aria-invalid="true"' in page and "ties to the ledger" in page


def test_the_csv_export_is_defused_for_spreadsheets(credit_client, db):
    CustomerFactory(kind="company", name="=HYPERLINK(1)", payment_terms="net30",
                    on_account_allowed=True)
    db.flush()
    free_text(db, db.scalar(select(Customer).where(Customer.name == "=HYPERLINK(1)")), "9.00")
    db.commit()
    response = credit_client.get("/receivables/ageing.csv?q=HYPERLINK")
    assert response.headers["Content-Type"].startswith("text/csv")
    body = response.get_data(as_text=True)
    assert body.splitlines()[0].startswith("customer,name,currency,Current")
    assert "'=HYPERLINK(1)" in body and ",=HYPERLINK" not in body


def test_the_statement_page_shows_the_period_and_the_pdf_has_the_figures(credit_client, zed):
    today = clock.today()
    start = (today - dt.timedelta(days=60)).isoformat()
    page = text(credit_client.get(f"/receivables/customers/{zed.number}/statement"
                                  f"?start={start}&end={today.isoformat()}"))
    assert "Opening balance" in page and "Closing balance" in page
    assert 'id="opening">500.00 EUR' in page and 'id="closing">340.00 EUR' in page
    assert "E-mail statement" in page
    pdf = credit_client.get(f"/receivables/customers/{zed.number}/statement.pdf"
                            f"?start={start}&end={today.isoformat()}")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    words = subprocess.run(["pdftotext", "-", "-"], input=pdf.data, capture_output=True,
                           check=True).stdout.decode()
    assert "Statement of account" in words and "340.00" in words and zed.number in words


def test_a_period_that_ends_before_it_starts_is_refused_at_the_field(credit_client, zed):
    page = text(credit_client.get(f"/receivables/customers/{zed.number}/statement"
                                  "?start=2026-05-10&end=2026-05-01"))
    assert "must end on or after its first day" in page
    assert credit_client.get(f"/receivables/customers/{zed.number}/statement.pdf"
                             "?start=2026-05-10&end=2026-05-01").status_code == 400


def _email(client, number: str, start: dt.date, end: dt.date):
    path = f"/receivables/customers/{number}/statement"
    return client.post(path + "/email", data={
        "csrf_token": csrf_token(client, path), "start": start.isoformat(),
        "end": end.isoformat()})


def _mails_to(sink, to: str, count: int, timeout: float = 5.0) -> list:
    """The messages to `to` once there are `count` of them (and not more)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mails = [m for m in sink.messages if m["To"] == to]
        if len(mails) >= count:
            break
        time.sleep(0.05)
    time.sleep(0.2)  # a mail too many would have arrived by now
    mails = [m for m in sink.messages if m["To"] == to]
    assert len(mails) == count, [m["Subject"] for m in mails]
    return mails


def _sends(db, customer, kind=None) -> list[StatementSend]:
    stmt = select(StatementSend).where(StatementSend.customer_id == customer.id)
    if kind:
        stmt = stmt.where(StatementSend.kind == kind)
    return list(db.scalars(stmt.order_by(StatementSend.id)))


def test_email_statement_sends_the_pdf_to_the_customer(credit_client, zed, smtp_sink, db):
    period = statement_sends.statements.last_month()
    answer = _email(credit_client, zed.number, period.start, period.end)
    assert answer.status_code in (302, 303)
    message = smtp_sink.wait_for("ap@zed.example", subject="statement of account")
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content().startswith(b"%PDF")
    [send] = _sends(db, zed)
    assert (send.kind, send.key) == ("on_demand", None)
    page = text(credit_client.get(f"/receivables/customers/{zed.number}/statement"))
    assert "Statements sent" in page and "(on demand)" in page
    assert 'hx-disabled-elt="find button"' in page


def test_the_statement_emailed_on_demand_is_of_the_period_asked_for(credit_client, zed,
                                                                    smtp_sink, db):
    """Last month's monthly statement is sent; a controller then e-mails another period:
    a new send, and the PDF attached is of that period, not the month's."""
    today = clock.today()
    assert statement_sends.send_monthly(db, statement_day=today.day, force=True) >= 1
    smtp_sink.wait_for("ap@zed.example", subject="statement of account")
    start, end = today - dt.timedelta(days=60), today
    assert _email(credit_client, zed.number, start, end).status_code in (302, 303)
    [monthly] = _sends(db, zed, "monthly")
    [asked] = _sends(db, zed, "on_demand")
    assert (asked.period_start, asked.period_end) == (start, end)
    assert monthly.period_end == statement_sends.statements.last_month(today).end
    wanted = f"statement-{zed.number}-{start:%Y-%m-%d}-{end:%Y-%m-%d}.pdf"
    mails = _mails_to(smtp_sink, "ap@zed.example", 2)
    [pdf] = [a for a in mails[1].iter_attachments()]
    assert pdf.get_filename() == wanted
    words = subprocess.run(["pdftotext", "-", "-"], input=pdf.get_content(),
                           capture_output=True, check=True).stdout.decode()
    assert "340.00" in words  # the closing balance today, not at the end of last month


def test_email_statement_twice_in_a_row_sends_once(credit_client, zed, smtp_sink, db):
    period = statement_sends.statements.last_month()
    for _ in range(2):  # a double click, a resubmitted form
        assert _email(credit_client, zed.number, period.start, period.end).status_code in (
            302, 303)
    _mails_to(smtp_sink, "ap@zed.example", 1)
    [send] = _sends(db, zed)
    # a minute later the same period is a new request: it goes again
    db.execute(update(StatementSend).where(StatementSend.id == send.id).values(
        sent_at=send.sent_at - dt.timedelta(seconds=61)))
    db.commit()
    assert _email(credit_client, zed.number, period.start, period.end).status_code in (302, 303)
    assert len(_sends(db, zed, "on_demand")) == 2
    _mails_to(smtp_sink, "ap@zed.example", 2)


def test_email_statement_needs_the_csrf_token(credit_client, zed):
    answer = credit_client.post(f"/receivables/customers/{zed.number}/statement/email",
                                data={"start": "2026-01-01", "end": "2026-01-31"})
    assert answer.status_code == 400


def test_the_monthly_run_sends_each_customer_their_statement_once(db, zed, smtp_sink):
    today = clock.today()
    assert statement_sends.send_monthly(db, statement_day=(today.day % 28) + 1) == 0
    first = statement_sends.send_monthly(db, statement_day=today.day, force=True)
    db.commit()
    assert first >= 1
    smtp_sink.wait_for("ap@zed.example", subject="statement of account")
    again = statement_sends.send_monthly(db, statement_day=today.day, force=True)
    db.commit()
    assert again == 0
    period = statement_sends.statements.last_month(today)
    send = statement_sends.sent_for(db, zed.id, period)
    assert (send.kind, send.key) == ("monthly", f"monthly:{zed.id}:{period.end.isoformat()}")
    assert (send.period_start, send.period_end) == (period.start, period.end)
    _mails_to(smtp_sink, "ap@zed.example", 1)


def test_a_statement_on_demand_does_not_stop_the_monthly_one(db, zed, smtp_sink):
    period = statement_sends.statements.last_month()
    statement_sends.email_statement(db, zed, period, actor=CLERK)
    db.commit()
    assert zed.id in statement_sends.customers_to_tell(db, period)
    assert statement_sends.send_monthly(db, statement_day=1, force=True) >= 1
    assert {s.kind for s in _sends(db, zed)} == {"on_demand", "monthly"}
    _mails_to(smtp_sink, "ap@zed.example", 2)


def test_a_monthly_key_taken_by_another_run_sends_nothing(db, zed, smtp_sink):
    """Two runs at once: the one that loses the race on the key sends nothing."""
    period = statement_sends.statements.last_month()
    db.add(StatementSend(customer_id=zed.id, kind="monthly",
                         key=statement_sends.monthly_key(zed.id, period),
                         period_start=period.start, period_end=period.end,
                         email=zed.email, sent_at=clock.now()))
    db.flush()
    assert statement_sends.send_monthly_statement(db, zed, period) is None
    db.commit()
    assert len(_sends(db, zed)) == 1 and not smtp_sink.messages


def test_the_monthly_run_loads_customers_a_batch_at_a_time_and_commits_each(
        db, connection, smtp_sink, monkeypatch):
    customers = [CustomerFactory(kind="company", name=f"Monthly {i}", payment_terms="net30",
                                 on_account_allowed=True, email=f"m{i}@monthly.example")
                 for i in range(5)]
    db.flush()
    clock.travel(days=-40)
    for customer in customers:
        free_text(db, customer, "12.00")
    clock.reset()
    db.commit()
    period = statement_sends.statements.last_month()
    due = statement_sends.customers_to_tell(db, period)
    assert {c.id for c in customers} <= set(due)
    loads, commits = [], []
    sql = lambda *args: loads.append(args[2]) if "FROM customers" in args[2] and \
        "IN (" in args[2] else None  # noqa: E731
    from sqlalchemy import event
    event.listen(connection, "before_cursor_execute", sql)
    commit = db.commit
    monkeypatch.setattr(db, "commit", lambda: (commits.append(1), commit())[1])
    try:
        sent = statement_sends.send_monthly(db, statement_day=1, force=True, batch=2)
    finally:
        event.remove(connection, "before_cursor_execute", sql)
    assert sent == len(due)
    batches = -(-len(due) // 2)
    assert len(loads) == batches and len(commits) == batches
    assert statement_sends.send_monthly(db, statement_day=1, force=True, batch=2) == 0
    for customer in customers:
        assert statement_sends.sent_for(db, customer.id, period) is not None


def _bulk_customers(connection, count: int) -> list[int]:
    """`count` customers in one executemany (the page must not care how many there are)."""
    rows = [{"number": f"B-{i:07d}", "kind": "company", "name": f"Bulk Buyer {i:06d}",
             "email": f"b{i}@bulk.example", "phone": "", "phone_digits": "",
             "currency": "EUR", "price_group": "business", "payment_terms": "net30",
             "on_account_allowed": True, "vat_id": "", "postal_code": ""}
            for i in range(count)]
    connection.execute(insert(Customer), rows)
    return list(connection.scalars(select(Customer.id).where(Customer.number.like("B-%"))
                                   .order_by(Customer.id).limit(300)))


def _bulk_invoices(connection, customer_ids: list[int]) -> None:
    """An invoice and its journal entry (Dr receivables, Cr revenue) per customer."""
    now = clock.now()
    first_entry = (connection.scalar(select(func.max(JournalEntry.id))) or 0) + 1
    entries, lines, invoices = [], [], []
    for n, cid in enumerate(customer_ids):
        eid = first_entry + n
        due = clock.business_date(now) - dt.timedelta(days=n % 150)
        entries.append({"id": eid, "kind": "invoice", "reference": f"BULK-{n}", "memo": "",
                        "currency": "EUR", "actor": "bulk", "posted_at": now})
        lines += [{"entry_id": eid, "account_code": "1200", "debit": D("10.00"),
                   "credit": D(0), "customer_id": cid},
                  {"entry_id": eid, "account_code": "4000", "debit": D(0),
                   "credit": D("10.00"), "customer_id": None}]
        invoices.append({"kind": "invoice", "number": f"BULK-{n:06d}", "customer_id": cid,
                         "currency": "EUR", "issue_date": due, "due_date": due,
                         "net_total": D("10.00"), "tax_total": D(0), "gross_total": D("10.00"),
                         "amount_open": D("10.00"), "status": "open", "entry_id": eid,
                         "bill_to": {}, "issued_at": now})
    connection.execute(insert(JournalEntry), entries)
    connection.execute(insert(JournalLine), lines)
    connection.execute(insert(Invoice), invoices)


def test_the_ageing_page_runs_the_same_queries_at_200k_customers(credit_client, connection):
    paths = ("/receivables/ageing", "/receivables/ageing?sort=over_90&q=Buyer")
    before = {}
    for path in paths:
        credit_client.get(path)
        with QueryCounter(connection) as few:
            assert credit_client.get(path).status_code == 200
        before[path] = few.count
    _bulk_invoices(connection, _bulk_customers(connection, 200_000))
    for path in paths:
        with QueryCounter(connection) as lots:
            big = text(credit_client.get(path))
        assert "ties to the ledger" in big
        assert lots.count == before[path], path
    assert "Bulk Buyer" in big and "Page 1 of 6" in big  # 300 customers, 50 a page
