"""Ageing of receivables as of any date: what each customer owed on day D, by how long past
due, per currency; its total ties to the receivables control account (1200) on D.

What was open on D is rebuilt from the documents, not from today's `amount_open`: an
invoice posted on or before D is open by its gross total less the allocations (payments,
credit notes, customer credit, write-offs, cash discounts) posted on or before D. Dates are
the journal entries' `posted_at` (core.clock's day), so the ageing and the ledger agree to
the cent on every day. Everything that posts to 1200 does so through an invoice (Dr) or an
allocation (Cr); a reversal of a receivables entry is refused (core.billing.ledger.reverse).

Customer credit (payments not allocated, credit notes' open amounts) is held on the
deposits account (2300); it is shown beside the buckets, never netted into them.

The fast path: on today or a later day, when nothing is posted after the end of that day
(one query on the indexed `journal_entries.posted_at`), what was open is exactly what is
open now, so the report reads the invoices' `amount_open > 0` and rebuilds nothing (no join
to the journal or the allocations). A past day, or a clock moved back, takes the rebuild.

Every function runs a fixed number of queries, whatever the number of customers or
invoices: the sums are made in SQL and only a page of customers comes back.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Select, case, exists, func, literal_column, or_, select, union_all
from sqlalchemy.orm import Session

from core import clock, spreadsheet
from core.billing import ledger
from core.billing.models import (Allocation, GiftCardMovement, Invoice, JournalEntry,
                                 JournalLine, Payment, Refund)
from core.customers.models import Customer
from core.money import Money
from core.paging import Page, clamp

ZERO = Decimal(0)
PER_PAGE = 50
# bucket key -> label; the key is also the column name of the sums
BUCKETS: dict[str, str] = {"current": "Current", "d1_30": "1–30 days", "d31_60": "31–60 days",
                           "d61_90": "61–90 days", "over_90": "Over 90 days"}
SORTS: dict[str, str] = {"total": "Total open", "over_90": "Over 90 days",
                         "customer": "Customer"}


# bucket key -> the most days past due it holds (None: no upper bound); in bucket order
MOST_DAYS: dict[str, int | None] = {"current": 0, "d1_30": 30, "d31_60": 60, "d61_90": 90,
                                    "over_90": None}


def bucket_for(days_overdue: int) -> str:
    """The bucket of an invoice `days_overdue` days past its due date (0 or less: current)."""
    return next(key for key, most in MOST_DAYS.items() if most is None or days_overdue <= most)


def due_dates(day: dt.date) -> dict[str, tuple[dt.date | None, dt.date | None]]:
    """Per bucket, the due dates it holds on `day`: (earliest, latest), both included, None
    where it has no bound. The one definition of the buckets: the report's sums and the
    invoice list's age filter both use it (as dates made here, so the SQL compares dates
    the same way on every database)."""
    bounds, latest = {}, None
    for key, most in MOST_DAYS.items():
        bounds[key] = (None if most is None else day - dt.timedelta(days=most), latest)
        if most is not None:
            latest = day - dt.timedelta(days=most + 1)
    return bounds


def due_in(due, key: str, day: dt.date) -> list:
    """SQL conditions: the due date `due` falls in bucket `key` on `day`."""
    earliest, latest = due_dates(day)[key]
    return ([due >= earliest] if earliest else []) + ([due <= latest] if latest else [])


def end_of(day: dt.date) -> dt.datetime:
    """The first instant after the business day `day` (core.clock): what was posted on or
    before `day` is before it."""
    return clock.day_end(day)


@dataclass(frozen=True)
class Buckets:
    """Open invoice amounts by age, in one currency."""

    currency: str
    current: Decimal = ZERO
    d1_30: Decimal = ZERO
    d31_60: Decimal = ZERO
    d61_90: Decimal = ZERO
    over_90: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.current + self.d1_30 + self.d31_60 + self.d61_90 + self.over_90

    @property
    def overdue(self) -> Decimal:
        return self.total - self.current

    def amounts(self) -> list[tuple[str, str, Decimal]]:
        """(key, label, amount) in bucket order."""
        return [(key, label, getattr(self, key)) for key, label in BUCKETS.items()]

    def money(self, value: Decimal) -> Money:
        return Money(value, self.currency)


@dataclass(frozen=True)
class AgeingRow:
    customer_id: int | None  # None: invoices of guests (card orders without an account)
    number: str
    name: str
    buckets: Buckets
    credit: Decimal  # the customer's unapplied credit in this currency on the day

    @property
    def currency(self) -> str:
        return self.buckets.currency


@dataclass(frozen=True)
class CurrencyTotal:
    buckets: Buckets
    ledger: Decimal  # the receivables account (1200) on the day
    credit: Decimal  # unapplied customer credit on the day (deposits, 2300)
    deposits_ledger: Decimal  # the deposits account (2300) on the day, credit side positive

    @property
    def currency(self) -> str:
        return self.buckets.currency

    @property
    def difference(self) -> Decimal:
        """Ledger less ageing: zero when the ageing ties to the ledger."""
        return self.ledger - self.buckets.total

    @property
    def ties(self) -> bool:
        return self.difference == 0


@dataclass(frozen=True)
class Ageing:
    as_of: dt.date
    totals: list[CurrencyTotal]
    rows: Page[AgeingRow]
    sort: str = "total"
    search: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def ties(self) -> bool:
        return all(t.ties for t in self.totals)


# -- what was open on a day ------------------------------------------------------------------

def _settled(cutoff: dt.datetime):
    """Per invoice, what allocations posted before `cutoff` settled of it."""
    return (select(Allocation.invoice_id.label("invoice_id"),
                   func.sum(Allocation.amount).label("amount"))
            .join(JournalEntry, JournalEntry.id == Allocation.entry_id)
            .where(JournalEntry.posted_at < cutoff)
            .group_by(Allocation.invoice_id).subquery("settled"))


def open_invoices_on(day: dt.date) -> Select:
    """(invoice id, customer id, currency, due date, open amount) of every invoice open at
    the end of `day`: a statement to run or to nest."""
    cutoff = end_of(day)
    settled = _settled(cutoff)
    open_amount = Invoice.gross_total - func.coalesce(settled.c.amount, 0)
    # Only an invoice open now, or settled since `day`, can have been open then: the rest
    # (most of a long history) is left out before anything is summed.
    settled_since = (select(Allocation.invoice_id)
                     .join(JournalEntry, JournalEntry.id == Allocation.entry_id)
                     .where(JournalEntry.posted_at >= cutoff))
    return (select(Invoice.id.label("invoice_id"), Invoice.customer_id.label("customer_id"),
                   Invoice.currency.label("currency"), Invoice.due_date.label("due_date"),
                   open_amount.label("open"))
            .join(JournalEntry, JournalEntry.id == Invoice.entry_id)
            .outerjoin(settled, settled.c.invoice_id == Invoice.id)
            .where(Invoice.kind == "invoice", JournalEntry.posted_at < cutoff, open_amount > 0,
                   or_(Invoice.amount_open > 0, Invoice.id.in_(settled_since))))


def open_invoices_now() -> Select:
    """The same columns as `open_invoices_on`, straight from the invoices' `amount_open`:
    what is open now (every invoice posted, its allocations all counted)."""
    return (select(Invoice.id.label("invoice_id"), Invoice.customer_id.label("customer_id"),
                   Invoice.currency.label("currency"), Invoice.due_date.label("due_date"),
                   Invoice.amount_open.label("open"))
            .where(Invoice.kind == "invoice", Invoice.entry_id.is_not(None),
                   Invoice.amount_open > 0))


def is_current(session: Session, day: dt.date) -> bool:
    """True when what was open at the end of `day` is what is open now: the day is today
    (core.clock) or later and no journal entry is posted after its end. One query (on the
    index of `posted_at`), always run, so the callers' query counts stay fixed."""
    later = session.scalar(select(exists().where(JournalEntry.posted_at >= end_of(day))))
    return day >= clock.today() and not later


def open_rows_on(session: Session, day: dt.date) -> Select:
    """`open_invoices_now()` when the day is current (`is_current`), else the rebuild
    `open_invoices_on(day)`. One query to decide."""
    return open_invoices_now() if is_current(session, day) else open_invoices_on(day)


def bucket_sums(open_rows, day: dt.date) -> list:
    """sum(open) per bucket as SQL columns, by the due date against `day` (`due_dates`)."""
    due, amount = open_rows.c.due_date, open_rows.c.open
    bucket = case(*((due >= earliest, key) for key, (earliest, _) in due_dates(day).items()
                    if earliest is not None), else_="over_90")
    return [func.coalesce(func.sum(case((bucket == key, amount), else_=0)), 0).label(key)
            for key in BUCKETS]


def _buckets(currency: str, sums) -> Buckets:
    return Buckets(currency, *(Decimal(v or 0) for v in sums))


def ledger_on(session: Session, account: str, day: dt.date, *, sign: int = 1,
              customer_id: int | None = None) -> dict[str, Decimal]:
    """The account's balance (debits less credits, times `sign`) at the end of `day`, per
    currency. One query."""
    stmt = (select(JournalEntry.currency, func.sum(JournalLine.debit - JournalLine.credit))
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .where(JournalLine.account_code == account, JournalEntry.posted_at < end_of(day))
            .group_by(JournalEntry.currency))
    if customer_id is not None:
        stmt = stmt.where(JournalLine.customer_id == customer_id)
    return {cur: sign * Decimal(v or 0) for cur, v in session.execute(stmt)}


def _credit_movements(cutoff: dt.datetime):
    """Every movement of customer credit posted before `cutoff`, signed (+ held for the
    customer, - used or paid out), with its customer and currency."""
    posted = JournalEntry.posted_at < cutoff

    def entry_of(column):
        return JournalEntry.id == column

    payments = (select(Payment.customer_id.label("customer_id"), Payment.currency.label("currency"),
                       Payment.amount.label("amount"))
                .join(JournalEntry, entry_of(Payment.entry_id)).where(posted))
    notes = (select(Invoice.customer_id, Invoice.currency, Invoice.gross_total)
             .join(JournalEntry, entry_of(Invoice.entry_id))
             .where(posted, Invoice.kind == "credit_note"))
    used = (select(Invoice.customer_id, Invoice.currency, -Allocation.amount)
            .join(Invoice, Invoice.id == Allocation.invoice_id)
            .join(JournalEntry, entry_of(Allocation.entry_id))
            .where(posted, or_(Allocation.payment_id.is_not(None),
                               Allocation.credit_note_id.is_not(None))))
    refunded = (select(Refund.customer_id, Refund.currency, -Refund.amount)
                .join(JournalEntry, entry_of(Refund.entry_id))
                .where(posted, Refund.status == "succeeded"))
    gift_cards = (select(Payment.customer_id, Payment.currency, -GiftCardMovement.amount)
                  .join(Payment, Payment.id == GiftCardMovement.payment_id)
                  .join(JournalEntry, entry_of(GiftCardMovement.entry_id))
                  .where(posted, GiftCardMovement.kind == "issue"))
    return union_all(payments, notes, used, refunded, gift_cards).subquery("credit_moves")


def credit_on(session: Session, day: dt.date, *, customer_ids: list[int | None] | None = None
              ) -> dict[tuple[int | None, str], Decimal]:
    """Unapplied customer credit at the end of `day` per (customer id, currency), rebuilt
    from the payments, credit notes, allocations, refunds and gift cards bought with
    credit (it equals the deposits account, 2300). One query."""
    moves = _credit_movements(end_of(day))
    stmt = (select(moves.c.customer_id, moves.c.currency, func.sum(moves.c.amount))
            .group_by(moves.c.customer_id, moves.c.currency))
    if customer_ids is not None:
        known = [c for c in customer_ids if c is not None]
        stmt = stmt.where(or_(moves.c.customer_id.in_(known), *(
            [moves.c.customer_id.is_(None)] if None in customer_ids else [])))
    return {(cid, cur): Decimal(v or 0) for cid, cur, v in session.execute(stmt)}


# -- the report ------------------------------------------------------------------------------

def _per_customer(day: dt.date, open_select: Select):
    rows = open_select.subquery("open_on_day")
    return (select(rows.c.customer_id, rows.c.currency, *bucket_sums(rows, day),
                   func.sum(rows.c.open).label("total"))
            .group_by(rows.c.customer_id, rows.c.currency).subquery("aged"))


def ageing(session: Session, *, as_of: dt.date | None = None, page: int = 1,
           per_page: int = PER_PAGE, sort: str = "total", search: str = "") -> Ageing:
    """The ageing report as of a day (default today, core.clock): totals per currency
    beside the ledger, and one page of customers. Seven queries, whatever the size (one
    more when the page asked for is past the last); on a current day (`is_current`) the
    open invoices are read, not rebuilt."""
    day = as_of or clock.today()
    sort = sort if sort in SORTS else "total"
    search = " ".join(search.split())[:100]
    open_select = open_rows_on(session, day)
    open_rows = open_select.subquery("open_on_day")
    totals = session.execute(  # straight from the invoices: no per-customer step
        select(open_rows.c.currency, *bucket_sums(open_rows, day))
        .group_by(open_rows.c.currency)).all()
    aged = _per_customer(day, open_select)
    receivables = ledger_on(session, ledger.RECEIVABLES, day)
    deposits = ledger_on(session, ledger.CUSTOMER_DEPOSITS, day, sign=-1)
    moves = _credit_movements(end_of(day))
    credit_total = {cur: Decimal(v or 0) for cur, v in session.execute(
        select(moves.c.currency, func.sum(moves.c.amount)).group_by(moves.c.currency))}
    rows_page = _customer_page(session, aged, page=page, per_page=per_page, sort=sort,
                               search=search)
    # always run (an empty page too): the page's query count never depends on its rows
    credit = credit_on(session, day, customer_ids=[r.customer_id for r in rows_page.items])
    by_currency = {cur: _buckets(cur, sums) for cur, *sums in totals}
    currencies = sorted(by_currency.keys() | {c for c, v in receivables.items() if v}
                        | {c for c, v in credit_total.items() if v})
    result = [CurrencyTotal(by_currency.get(cur, Buckets(cur)), receivables.get(cur, ZERO),
                            credit_total.get(cur, ZERO), deposits.get(cur, ZERO))
              for cur in currencies]
    rows = rows_page.map(lambda r: AgeingRow(
        r.customer_id, r.number or "", r.name or "Guest orders (no account)",
        _buckets(r.currency, [r._mapping[k] for k in BUCKETS]),
        credit.get((r.customer_id, r.currency), ZERO)))
    return Ageing(day, result, rows, sort, search)


def _customer_rows(aged, *, sort: str, search: str) -> Select:
    """The customers' rows of the report (their sums, number and name), searched and in
    the order asked for: the page's query and the CSV's."""
    stmt = (select(aged, Customer.number, Customer.name)
            .outerjoin(Customer, Customer.id == aged.c.customer_id))
    if search:
        like = f"%{search.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(or_(Customer.name.ilike(like), Customer.number.ilike(like)))
    order = {"total": [aged.c.total.desc()], "over_90": [aged.c.over_90.desc(), aged.c.total.desc()],
             "customer": [Customer.name]}[sort]
    return stmt.order_by(*order, Customer.name, aged.c.customer_id, aged.c.currency)


def _customer_page(session: Session, aged, *, page: int, per_page: int, sort: str,
                   search: str) -> Page:
    """One page of the customers' rows, counted in the same query (a window over the
    grouped rows), so the per-customer sums are made once."""
    stmt = _customer_rows(aged, sort=sort, search=search).add_columns(
        func.count().over().label("found"))
    items = session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    if not items and page > 1:  # past the last page: the count says where that is
        total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
        page = clamp(page, total or 0, per_page)
        items = session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    total = items[0].found if items else 0
    return Page(list(items), page, per_page, total)


def customer_ageing(session: Session, customer_id: int, day: dt.date) -> list[Buckets]:
    """One customer's open invoices at the end of `day` by age, per currency. One query."""
    rows = open_invoices_on(day).where(Invoice.customer_id == customer_id).subquery("mine")
    found = session.execute(select(rows.c.currency, *bucket_sums(rows, day))
                            .group_by(rows.c.currency).order_by(rows.c.currency)).all()
    return [_buckets(cur, sums) for cur, *sums in found]


def open_items(session: Session, customer_id: int, day: dt.date) -> dict[str, Decimal]:
    """What the customer owed at the end of `day` per currency: open invoices less
    unapplied credit. Two queries."""
    owed = {b.currency: b.total for b in customer_ageing(session, customer_id, day)}
    for (_, cur), amount in credit_on(session, day, customer_ids=[customer_id]).items():
        owed[cur] = owed.get(cur, ZERO) - amount
    return owed


CSV_HEADER = ["customer", "name", "currency", *BUCKETS.values(), "total", "unapplied credit"]


def csv_rows(session: Session, *, as_of: dt.date, sort: str = "total", search: str = "",
             chunk: int = 2000) -> Iterator[list[str]]:
    """The report's customer rows for a spreadsheet (header first), in the report's order:
    one query (beside `is_current`'s), its rows streamed `chunk` at a time (yield_per), each
    with the customer's unapplied credit in that currency on the day."""
    sort = sort if sort in SORTS else "total"
    search = " ".join(search.split())[:100]
    aged = _per_customer(as_of, open_rows_on(session, as_of))
    moves = _credit_movements(end_of(as_of))
    no_account = literal_column("0")  # guests' credit and invoices: no customer id is 0
    key = func.coalesce(moves.c.customer_id, no_account)
    credit = (select(key.label("customer_key"), moves.c.currency,
                     func.sum(moves.c.amount).label("credit"))
              .group_by(key, moves.c.currency).subquery("credit"))
    stmt = (_customer_rows(aged, sort=sort, search=search)
            .add_columns(credit.c.credit)
            .outerjoin(credit, (credit.c.customer_key
                                == func.coalesce(aged.c.customer_id, no_account))
                       & (credit.c.currency == aged.c.currency)))
    yield CSV_HEADER
    for row in session.execute(stmt.execution_options(yield_per=chunk)):
        b = _buckets(row.currency, [row._mapping[k] for k in BUCKETS])
        yield [row.number or "", row.name or "Guest orders (no account)", row.currency,
               *(str(a) for _, _, a in b.amounts()), str(b.total), str(Decimal(row.credit or 0))]


def export_csv(session: Session, **kwargs) -> Iterator[str]:
    """csv_rows as CSV text, a line at a time (for a streamed response); values that a
    spreadsheet would run as a formula are prefixed with an apostrophe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in csv_rows(session, **kwargs):
        writer.writerow([spreadsheet.defuse(v) for v in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


__all__ = ["BUCKETS", "SORTS", "Ageing", "AgeingRow", "Buckets", "CurrencyTotal", "ageing",
           "bucket_for", "bucket_sums", "credit_on", "customer_ageing", "csv_rows", "due_dates", "due_in", "export_csv", "ledger_on",
           "is_current", "open_invoices_now", "open_invoices_on", "open_items", "open_rows_on",
           "end_of"]
