"""Statements of account: for a customer and a period, the opening balance, every document
(invoice, credit note, dunning charges), payment, credit used, refund and write-off posted
in the period in date order with a running balance, the closing balance, the open invoices
and their ageing on the closing day; as HTML and PDF (WeasyPrint, like the invoices).

The balance is what the customer owes after their credit: receivables (1200) less customer
credit (2300) on their journal lines, so it is read from the ledger, entry by entry. The
closing balance equals their open items on the closing day (open invoices less unapplied
credit, core.billing.ageing.open_items): tests/unit/test_ageing_properties.py checks it.

Six queries per statement, whatever the number of entries before or in the period.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session

from core import clock
from core.billing import ageing, documents, ledger
from core.billing.errors import BillingError
from core.billing.models import Invoice, InvoiceLine, JournalEntry, JournalLine
from core.customers.models import Customer, CustomerAddress
from core.money import Money

ZERO = Decimal(0)
ACCOUNTS = (ledger.RECEIVABLES, ledger.CUSTOMER_DEPOSITS)
DUNNING_LINES = ("dunning_fee", "interest")
EARLIEST = dt.date(2000, 1, 1)


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date

    @property
    def label(self) -> str:
        if self.start.day == 1 and self.end == month_end(self.start):
            return self.start.strftime("%B %Y")
        return f"{self.start:%d %b %Y} – {self.end:%d %b %Y}"

    @property
    def key(self) -> str:
        return f"{self.start.isoformat()}_{self.end.isoformat()}"


def month_end(day: dt.date) -> dt.date:
    following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


def month(year: int, number: int, *, today: dt.date | None = None) -> Period:
    """A calendar month; the current month runs to today."""
    start = dt.date(year, number, 1)
    today = today or clock.today()
    end = month_end(start)
    return Period(start, min(end, today) if start <= today else end)


def last_month(today: dt.date | None = None) -> Period:
    today = today or clock.today()
    end = today.replace(day=1) - dt.timedelta(days=1)
    return Period(end.replace(day=1), end)


def period(start: dt.date | None, end: dt.date | None, *, today: dt.date | None = None
           ) -> Period:
    """A period typed by a person (default: last month), checked."""
    today = today or clock.today()
    default = last_month(today)
    start, end = start or default.start, end or (default.end if start is None else today)
    if end < start:
        raise BillingError("The period must end on or after its first day.", field="end")
    if start < EARLIEST or end > today + dt.timedelta(days=366):
        raise BillingError("Choose a period between 2000 and next year.", field="start")
    return Period(start, end)


@dataclass(frozen=True)
class StatementLine:
    date: dt.date
    kind: str  # the journal entry's kind: invoice | credit_note | payment | allocation | ...
    reference: str
    description: str
    amount: Decimal  # + the customer owes more, - less
    balance: Decimal  # after this line
    applied: Decimal = ZERO  # credit used on an invoice (the balance does not move)
    due_date: dt.date | None = None

    @property
    def charge(self) -> Decimal:
        return self.amount if self.amount > 0 else ZERO

    @property
    def credit(self) -> Decimal:
        return -self.amount if self.amount < 0 else ZERO


@dataclass(frozen=True)
class OpenInvoice:
    number: str
    issue_date: dt.date
    due_date: dt.date
    open: Decimal
    days_overdue: int


@dataclass(frozen=True)
class Statement:
    customer: Customer
    address: list[str]
    currency: str
    period: Period
    opening: Decimal
    lines: list[StatementLine]
    closing: Decimal
    open_invoices: list[OpenInvoice]
    ageing: ageing.Buckets
    credit: Decimal  # unapplied credit on the closing day
    made_on: dt.date

    @property
    def number(self) -> str:
        return f"ST-{self.customer.number}-{self.period.end:%Y%m%d}"

    @property
    def has_activity(self) -> bool:
        return bool(self.lines) or bool(self.opening) or bool(self.closing)

    def money(self, value: Decimal) -> Money:
        return Money(value, self.currency)


def _net():
    return func.coalesce(func.sum(JournalLine.debit - JournalLine.credit), 0)


def _scope(customer_id: int, currency: str):
    return and_(JournalLine.customer_id == customer_id, JournalLine.account_code.in_(ACCOUNTS),
                JournalEntry.currency == currency)


def balance_on(session: Session, customer_id: int, currency: str, day: dt.date) -> Decimal:
    """What the customer owed at the end of `day` after their credit, from the ledger."""
    return Decimal(session.scalar(
        select(_net()).select_from(JournalLine)
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(_scope(customer_id, currency), JournalEntry.posted_at < ageing.end_of(day))) or 0)


def _entries(session: Session, customer_id: int, currency: str, p: Period) -> list:
    on_receivables = func.coalesce(func.sum(case(
        (JournalLine.account_code == ledger.RECEIVABLES, JournalLine.debit - JournalLine.credit),
        else_=0)), 0)
    dunning = exists().where(InvoiceLine.invoice_id == Invoice.id,
                             InvoiceLine.kind.in_(DUNNING_LINES))
    start = clock.day_start(p.start)
    return session.execute(
        select(JournalEntry.id, JournalEntry.posted_at, JournalEntry.kind, JournalEntry.reference,
               JournalEntry.memo, _net().label("net"), on_receivables.label("receivable"),
               Invoice.due_date, Invoice.reason, dunning.label("dunning"))
        .select_from(JournalLine)
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .outerjoin(Invoice, Invoice.entry_id == JournalEntry.id)
        .where(_scope(customer_id, currency), JournalEntry.posted_at >= start,
               JournalEntry.posted_at < ageing.end_of(p.end))
        .group_by(JournalEntry.id, JournalEntry.posted_at, JournalEntry.kind,
                  JournalEntry.reference, JournalEntry.memo, Invoice.id, Invoice.due_date,
                  Invoice.reason)
        .order_by(JournalEntry.posted_at, JournalEntry.id)).all()


def _describe(row) -> str:
    ref = row.reference
    if row.kind == "invoice":
        what = "Dunning charges" if row.dunning else "Invoice"
        return f"{what} {ref}" + (f", due {row.due_date:%d %b %Y}" if row.due_date else "")
    if row.kind == "credit_note":
        return f"{row.memo or 'Credit note'}" + (f": {row.reason}" if row.reason else "")
    return {
        "payment": f"{row.memo or 'Payment received'}, {ref}",
        "allocation": f"Credit used on {ref}",
        "cash_discount": f"Cash discount on {ref}",
        "write_off": f"Written off on {ref}: {row.memo}",
        "refund": f"{row.memo or 'Refund'} ({ref})",
        "gift_card_sale": f"Gift card bought with credit ({ref})",
    }.get(row.kind, f"{row.memo or row.kind} {ref}".strip())


def _address(session: Session, customer: Customer) -> list[str]:
    address = session.scalar(
        select(CustomerAddress).where(CustomerAddress.customer_id == customer.id)
        .order_by(CustomerAddress.default_billing.desc(), CustomerAddress.id).limit(1))
    lines = documents.address_lines(address.as_dict() if address else {"full_name": customer.name})
    return lines if customer.name in lines else [customer.name, *lines]


def statement(session: Session, customer: Customer, p: Period, *,
              currency: str | None = None) -> Statement:
    """The customer's statement of account for the period. Six queries."""
    currency = currency or customer.currency
    opening = balance_on(session, customer.id, currency, p.start - dt.timedelta(days=1))
    balance, lines = opening, []
    for row in _entries(session, customer.id, currency, p):
        amount = Decimal(row.net)
        balance += amount
        applied = -Decimal(row.receivable) if not amount else ZERO
        lines.append(StatementLine(clock.business_date(row.posted_at), row.kind, row.reference,
                                   _describe(row), amount, balance, applied,
                                   row.due_date if row.kind == "invoice" else None))
    open_rows = ageing.open_invoices_on(p.end).where(
        Invoice.customer_id == customer.id, Invoice.currency == currency).subquery("mine")
    found = session.execute(
        select(Invoice.number, Invoice.issue_date, open_rows.c.due_date, open_rows.c.open)
        .join(open_rows, open_rows.c.invoice_id == Invoice.id)
        .order_by(open_rows.c.due_date, Invoice.id)).all()
    invoices = [OpenInvoice(n, issued, due, Decimal(o), (p.end - due).days)
                for n, issued, due, o in found]
    buckets = {key: ZERO for key in ageing.BUCKETS}
    for inv in invoices:
        buckets[ageing.bucket_for(inv.days_overdue)] += inv.open
    credit = ageing.credit_on(session, p.end, customer_ids=[customer.id]).get(
        (customer.id, currency), ZERO)
    return Statement(customer, _address(session, customer), currency, p, opening, lines,
                     balance, invoices, ageing.Buckets(currency, **buckets), credit,
                     clock.today())


def has_items(session: Session, customer_id: int, currency: str, p: Period) -> bool:
    """Whether the customer has something to be told about: a balance at the end of the
    period, or entries in it. One query."""
    start = clock.day_start(p.start)
    balance, moved = session.execute(
        select(_net(), func.count(case((JournalEntry.posted_at >= start, 1))))
        .select_from(JournalLine).join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(_scope(customer_id, currency), JournalEntry.posted_at < ageing.end_of(p.end))
    ).one()
    return bool(balance) or bool(moved)


def statement_html(st: Statement, *, seller: documents.Seller) -> str:
    return documents.render("statement.html", st=st, seller=seller)


def statement_pdf(st: Statement, *, seller: documents.Seller) -> bytes:
    """The statement as PDF (A4), rendered without any network access."""
    import weasyprint
    html = weasyprint.HTML(string=statement_html(st, seller=seller),
                           base_url=documents.TEMPLATES.as_uri() + "/",
                           url_fetcher=documents._local_fetcher(weasyprint))
    return html.write_pdf()


def pdf_filename(st: Statement) -> str:
    return f"statement-{st.customer.number}-{st.period.start:%Y-%m-%d}-{st.period.end:%Y-%m-%d}.pdf"


__all__ = ["Period", "Statement", "StatementLine", "OpenInvoice", "statement", "statement_pdf",
           "statement_html", "balance_on", "has_items", "last_month", "month", "month_end",
           "period", "pdf_filename"]
