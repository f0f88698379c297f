"""Number series (customers C-000123, orders SO-000123, invoices INV-000123).

Most series are gapless: the number is taken from a row of `number_series` inside the
caller's transaction, so concurrent transactions queue on that row's lock until they commit
and a rolled-back transaction gives its number back. Invoices and credit notes must be
gapless (tax law), and the other documents are numbered rarely enough that the queue costs
nothing.

Order numbers need not be gapless, and every checkout takes one: on PostgreSQL they come
from a sequence (`order_number_seq`, made by migration 0019), which is never locked until
commit. Parallel checkouts no longer wait for each other's stock reservation and lines to
commit; a checkout that fails after taking a number leaves a gap. SQLite writes one
transaction at a time anyway, so there the order series stays in the table.
"""
from __future__ import annotations

from sqlalchemy import String, select, text, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base

PREFIXES = {"customer": "C-", "order": "SO-", "invoice": "INV-", "credit_note": "CN-", "return": "RMA-",
            "quote": "QT-", "purchase_order": "PO-"}
# Series whose numbers may have gaps, and their PostgreSQL sequences.
SEQUENCES = {"order": "order_number_seq"}


class NumberSeries(Base):
    __tablename__ = "number_series"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_value: Mapped[int] = mapped_column(default=1)


def _sequence(session: Session, series: str) -> str | None:
    """The PostgreSQL sequence that numbers this series, or None (the table does)."""
    if series in SEQUENCES and session.get_bind().dialect.name == "postgresql":
        return SEQUENCES[series]
    return None


def next_number(session: Session, series: str, *, width: int = 6) -> str:
    """Take the next number of a series inside the caller's transaction.

    A table series is updated before it is read back, so concurrent transactions queue on
    its lock and a rolled-back transaction gives its number back: no gap, no duplicate. A
    sequenced series (SEQUENCES, on PostgreSQL) never repeats a number and never waits.
    """
    return f"{PREFIXES[series]}{take_numbers(session, series, 1):0{width}d}"


def take_numbers(session: Session, series: str, count: int) -> int:
    """Reserve `count` consecutive numbers of a series; return the first.

    For a sequenced series the block is consecutive only when nothing else takes numbers
    at the same time (the bulk loaders of core.demo, which run alone).
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    if sequence := _sequence(session, series):
        first = session.execute(text(f"SELECT nextval('{sequence}')")).scalar_one()
        if count > 1:
            session.execute(text(f"SELECT setval('{sequence}', :last)"),
                            {"last": first + count - 1})
        return int(first)
    end = session.execute(
        update(NumberSeries)
        .where(NumberSeries.name == series)
        .values(next_value=NumberSeries.next_value + count)
        .returning(NumberSeries.next_value)
    ).first()
    if end is None:
        session.add(NumberSeries(name=series, next_value=count + 1))
        session.flush()
        return 1
    return end[0] - count


def peek(session: Session, series: str) -> int:
    """The number the series gives next (for reports and tests; it may be taken meanwhile)."""
    if sequence := _sequence(session, series):
        last, called = session.execute(
            text(f"SELECT last_value, is_called FROM {sequence}")).one()
        return int(last) + 1 if called else int(last)
    value = session.scalar(select(NumberSeries.next_value).where(NumberSeries.name == series))
    return 1 if value is None else value


def ensure_series(session: Session) -> None:
    """Create every series row so the first use takes the row lock, never races an insert."""
    existing = set(session.scalars(select(NumberSeries.name)))
    for name in PREFIXES:
        if name not in existing:
            session.add(NumberSeries(name=name, next_value=1))
    session.flush()
