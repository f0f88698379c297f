"""Control accounts against their open items: what the trial balance page shows under
"Reconciliation", and what the property tests assert after every step."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.billing import ledger
from core.billing.models import GiftCard, Invoice, JournalEntry, JournalLine, Payment


@dataclass(frozen=True)
class Control:
    account: str
    name: str
    currency: str
    ledger: Decimal  # the account's balance on its normal side
    open_items: Decimal  # the sum of the documents it controls

    @property
    def difference(self) -> Decimal:
        return self.ledger - self.open_items


def _by_currency(session: Session, account: str, sign: int) -> dict[str, Decimal]:
    rows = session.execute(
        select(JournalEntry.currency, func.sum(JournalLine.debit - JournalLine.credit))
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalLine.account_code == account).group_by(JournalEntry.currency))
    return {cur: sign * Decimal(v or 0) for cur, v in rows}


def _sums(session: Session, stmt) -> dict[str, Decimal]:
    return {cur: Decimal(v or 0) for cur, v in session.execute(stmt)}


def controls(session: Session) -> list[Control]:
    """Receivables = open invoices; customer deposits = unallocated payments + open credit
    notes; gift-card liability = gift-card balances. Per currency, in six queries."""
    open_invoices = _sums(session, select(Invoice.currency, func.sum(Invoice.amount_open))
                          .where(Invoice.kind == "invoice").group_by(Invoice.currency))
    open_notes = _sums(session, select(Invoice.currency, func.sum(Invoice.amount_open))
                       .where(Invoice.kind == "credit_note").group_by(Invoice.currency))
    unallocated = _sums(session, select(Payment.currency, func.sum(Payment.amount_unallocated))
                        .group_by(Payment.currency))
    cards = _sums(session, select(GiftCard.currency, func.sum(GiftCard.balance))
                  .group_by(GiftCard.currency))
    deposits = {c: open_notes.get(c, Decimal(0)) + unallocated.get(c, Decimal(0))
                for c in open_notes.keys() | unallocated.keys()}
    result = []
    for account, sign, items in ((ledger.RECEIVABLES, 1, open_invoices),
                                 (ledger.CUSTOMER_DEPOSITS, -1, deposits),
                                 (ledger.GIFT_CARD_LIABILITY, -1, cards)):
        balances = _by_currency(session, account, sign)
        for currency in sorted(balances.keys() | items.keys()):
            result.append(Control(account, ledger.CHART[account][0], currency,
                                  balances.get(currency, Decimal(0)),
                                  items.get(currency, Decimal(0))))
    return result


def problems(session: Session) -> list[str]:
    """Every control account that does not match its open items, and every unbalanced
    entry; empty when the books reconcile."""
    found = [f"{c.name} ({c.currency}): ledger {c.ledger}, open items {c.open_items}"
             for c in controls(session) if c.difference]
    unbalanced = session.scalars(
        select(JournalLine.entry_id).group_by(JournalLine.entry_id)
        .having(func.sum(JournalLine.debit) != func.sum(JournalLine.credit))).all()
    found += [f"entry {e} does not balance" for e in unbalanced]
    return found
