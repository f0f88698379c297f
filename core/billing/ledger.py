"""The double-entry ledger: the chart of accounts, posting balanced entries, reversals,
the trial balance and the accountant's journal export.

Posted entries never change. A session flush that would update or delete a posted entry
or line raises LedgerError; a mistake is corrected by `reverse`, which posts the mirror
image and links it to the original.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from core import clock, spreadsheet
from core.billing.models import Account, JournalEntry, JournalLine
from core.customers.models import Customer
from core.errors import DomainError
from core.money import minor_units

BANK, CARD_CLEARING, RECEIVABLES = "1000", "1150", "1200"
TAX_PAYABLE, GIFT_CARD_LIABILITY, CUSTOMER_DEPOSITS = "2100", "2200", "2300"
REVENUE, SHIPPING_REVENUE, SALES_DISCOUNTS, BAD_DEBT = "4000", "4010", "4900", "6900"
RESTOCKING_FEES = "4020"
DUNNING_CHARGES = "4030"

CHART: dict[str, tuple[str, str]] = {
    BANK: ("Bank", "asset"),
    CARD_CLEARING: ("Card clearing (Stripe)", "asset"),
    RECEIVABLES: ("Accounts receivable", "asset"),
    TAX_PAYABLE: ("Sales tax payable", "liability"),
    GIFT_CARD_LIABILITY: ("Gift-card liability", "liability"),
    CUSTOMER_DEPOSITS: ("Customer deposits and credit", "liability"),
    REVENUE: ("Sales revenue", "revenue"),
    SHIPPING_REVENUE: ("Shipping revenue", "revenue"),
    RESTOCKING_FEES: ("Restocking fees (returns)", "revenue"),
    DUNNING_CHARGES: ("Dunning fees and default interest", "revenue"),
    SALES_DISCOUNTS: ("Sales discounts (cash discounts)", "contra_revenue"),
    BAD_DEBT: ("Bad debt expense", "expense"),
}
DEBIT_NORMAL = {"asset", "expense", "contra_revenue"}


class LedgerError(DomainError):
    code = "ledger"


@dataclass(frozen=True)
class Posting:
    account: str
    debit: Decimal = Decimal(0)
    credit: Decimal = Decimal(0)
    customer_id: int | None = None


def dr(account: str, amount: Decimal, customer_id: int | None = None) -> Posting:
    return Posting(account, debit=amount, customer_id=customer_id)


def cr(account: str, amount: Decimal, customer_id: int | None = None) -> Posting:
    return Posting(account, credit=amount, customer_id=customer_id)


def ensure_chart(session: Session) -> None:
    """Create the chart's accounts that are missing (migrations and tests call this)."""
    existing = set(session.scalars(select(Account.code)))
    session.add_all(Account(code=code, name=name, type=kind)
                    for code, (name, kind) in CHART.items() if code not in existing)
    session.flush()


def post(session: Session, kind: str, *, currency: str, postings: Iterable[Posting],
         reference: str = "", memo: str = "", actor: str = "",
         reversal_of: JournalEntry | None = None) -> JournalEntry:
    """Post one balanced entry. Zero postings are dropped; amounts must be whole minor
    units of the currency and never negative; debits must equal credits exactly."""
    exponent = Decimal(1).scaleb(-minor_units(currency))
    lines = [p for p in postings if p.debit or p.credit]
    for p in lines:
        if p.account not in CHART:
            raise LedgerError(f"Unknown ledger account {p.account}.")
        for amount in (p.debit, p.credit):
            if amount < 0 or amount != amount.quantize(exponent):
                raise LedgerError(f"{amount} is not an amount that can be posted in {currency}.")
    debits = sum((p.debit for p in lines), Decimal(0))
    credits = sum((p.credit for p in lines), Decimal(0))
    if not lines or debits != credits:
        raise LedgerError(f"A journal entry must balance: debits {debits}, credits {credits}.")
    entry = JournalEntry(kind=kind, reference=reference[:60], memo=memo[:300], currency=currency,
                         actor=actor[:200], posted_at=clock.now(),
                         reversal_of_id=reversal_of.id if reversal_of else None)
    entry.lines = [JournalLine(account_code=p.account, debit=p.debit, credit=p.credit,
                               customer_id=p.customer_id) for p in lines]
    session.add(entry)
    session.flush()
    return entry


def reverse(session: Session, entry: JournalEntry, *, memo: str = "", actor: str = "") -> JournalEntry:
    """Correct a posted entry by its mirror image; an entry is reversed at most once."""
    if entry.kind == "reversal":
        raise LedgerError("A reversal cannot itself be reversed; post a new entry instead.")
    if session.scalar(select(JournalEntry.id).where(JournalEntry.reversal_of_id == entry.id)):
        raise LedgerError(f"Entry {entry.id} has already been reversed.")
    if any(line.account_code == RECEIVABLES for line in entry.lines):
        # The invoices' open amounts (and the ageing, core.billing.ageing) follow 1200 only
        # through invoices and allocations: correct those by a credit note or a write-off.
        raise LedgerError("An entry on receivables is corrected by a credit note or a "
                          "write-off, not by a reversal.")
    return post(session, "reversal", currency=entry.currency, reference=entry.reference,
                memo=memo or f"Reversal of entry {entry.id}", actor=actor, reversal_of=entry,
                postings=[Posting(l.account_code, debit=l.credit, credit=l.debit,
                                  customer_id=l.customer_id) for l in entry.lines])


@event.listens_for(Session, "before_flush")
def _posted_lines_never_change(session: Session, flush_context, instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, (JournalEntry, JournalLine)) and (
                obj in session.deleted or session.is_modified(obj, include_collections=False)):
            raise LedgerError("Posted journal entries never change; post a reversal instead.")


def balance(session: Session, account: str, *, currency: str | None = None,
            customer_id: int | None = None) -> Decimal:
    """Debits minus credits on the account (optionally for one customer and currency)."""
    stmt = (select(func.coalesce(func.sum(JournalLine.debit - JournalLine.credit), 0))
            .where(JournalLine.account_code == account))
    if currency is not None:
        stmt = stmt.join(JournalEntry, JournalEntry.id == JournalLine.entry_id).where(
            JournalEntry.currency == currency)
    if customer_id is not None:
        stmt = stmt.where(JournalLine.customer_id == customer_id)
    return Decimal(session.scalar(stmt) or 0)


@dataclass(frozen=True)
class TrialRow:
    code: str
    name: str
    type: str
    currency: str
    debit: Decimal  # total debits posted
    credit: Decimal  # total credits posted

    @property
    def balance(self) -> Decimal:
        """In the account's normal direction: positive is the usual side."""
        net = self.debit - self.credit
        return net if self.type in DEBIT_NORMAL else -net

    @property
    def debit_balance(self) -> Decimal:
        """The balance when it is on the debit side (debits exceed credits), else zero: the
        trial balance's Debit column, which adds up to its Credit column."""
        return max(self.debit - self.credit, Decimal(0))

    @property
    def credit_balance(self) -> Decimal:
        return max(self.credit - self.debit, Decimal(0))


def trial_balance(session: Session, *, as_of: dt.date | None = None) -> list[TrialRow]:
    """Every account with postings, per currency, in one query. Sum of debits equals sum
    of credits for each currency."""
    stmt = (select(Account.code, Account.name, Account.type, JournalEntry.currency,
                   func.sum(JournalLine.debit), func.sum(JournalLine.credit))
            .join(JournalLine, JournalLine.account_code == Account.code)
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .group_by(Account.code, Account.name, Account.type, JournalEntry.currency)
            .order_by(JournalEntry.currency, Account.code))
    if as_of is not None:
        stmt = stmt.where(JournalEntry.posted_at < clock.day_end(as_of))
    return [TrialRow(code, name, kind, cur, Decimal(d or 0), Decimal(c or 0))
            for code, name, kind, cur, d, c in session.execute(stmt)]


EXPORT_HEADER = ["entry", "posted_at", "kind", "reference", "memo", "account", "account_name",
                 "debit", "credit", "currency", "customer", "reversal_of", "actor"]


def like_pattern(text: str) -> str:
    """`text` anywhere, for LIKE with escape "\\": its % and _ are taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def entry_conditions(*, kind: str = "", date_from: dt.date | None = None,
                     date_to: dt.date | None = None, reference: str = "") -> list:
    """The journal's filters as conditions on JournalEntry: the same for the journal page
    and its export, so the file holds what the page lists. Days are business days."""
    conditions = []
    if kind:
        conditions.append(JournalEntry.kind == kind)
    if date_from is not None:
        conditions.append(JournalEntry.posted_at >= clock.day_start(date_from))
    if date_to is not None:
        conditions.append(JournalEntry.posted_at < clock.day_end(date_to))
    if reference := (reference or "").strip()[:60]:
        conditions.append(JournalEntry.reference.ilike(like_pattern(reference), escape="\\"))
    return conditions


def export_rows(session: Session, *, kind: str = "", date_from: dt.date | None = None,
                date_to: dt.date | None = None, reference: str = "",
                chunk: int = 2000) -> Iterator[list[str]]:
    """The journal, line by line, for the accountant (streamed in chunks), filtered as the
    journal page is (entry_conditions)."""
    stmt = (select(JournalEntry.id, JournalEntry.posted_at, JournalEntry.kind,
                   JournalEntry.reference, JournalEntry.memo, JournalLine.account_code,
                   Account.name, JournalLine.debit, JournalLine.credit, JournalEntry.currency,
                   Customer.number, JournalEntry.reversal_of_id, JournalEntry.actor)
            .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
            .join(Account, Account.code == JournalLine.account_code)
            .outerjoin(Customer, Customer.id == JournalLine.customer_id)
            .order_by(JournalEntry.id, JournalLine.id)
            .where(*entry_conditions(kind=kind, date_from=date_from, date_to=date_to,
                                     reference=reference)))
    for row in session.execute(stmt.execution_options(yield_per=chunk)):
        (entry, at, kind, ref, memo, code, name, debit, credit, cur, customer,
         reversal_of, actor) = row
        yield [str(entry), at.isoformat(timespec="seconds"), kind, ref, memo, code, name,
               _plain(debit, cur), _plain(credit, cur), cur, customer or "",
               str(reversal_of or ""), actor]


def export_csv(session: Session, **kwargs) -> Iterator[str]:
    """export_rows as CSV text, header first; values that a spreadsheet would run as a
    formula are prefixed with an apostrophe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in _with_header(export_rows(session, **kwargs)):
        writer.writerow([spreadsheet.defuse(v) for v in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _with_header(rows: Iterator[list[str]]) -> Iterator[list[str]]:
    yield EXPORT_HEADER
    yield from rows


def _plain(amount, currency: str) -> str:
    return f"{Decimal(amount or 0):.{minor_units(currency)}f}"


__all__ = ["CHART", "Posting", "dr", "cr", "post", "reverse", "balance", "trial_balance",
           "export_csv", "export_rows", "ensure_chart", "LedgerError"]
