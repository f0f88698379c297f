"""Gapless number series (customers C-000123, orders SO-000123, invoices INV-000123)."""
from __future__ import annotations

from sqlalchemy import String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base

PREFIXES = {"customer": "C-", "order": "SO-", "invoice": "INV-", "credit_note": "CN-", "return": "RMA-",
            "quote": "QT-", "purchase_order": "PO-"}


class NumberSeries(Base):
    __tablename__ = "number_series"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_value: Mapped[int] = mapped_column(default=1)


def next_number(session: Session, series: str, *, width: int = 6) -> str:
    """Take the next number of a series inside the caller's transaction.

    The row is updated before it is read back, so concurrent transactions queue on its
    lock and a rolled-back transaction gives its number back: no gap, no duplicate.
    """
    prefix = PREFIXES[series]
    result = session.execute(
        update(NumberSeries)
        .where(NumberSeries.name == series)
        .values(next_value=NumberSeries.next_value + 1)
        .returning(NumberSeries.next_value)
    ).first()
    if result is None:
        session.add(NumberSeries(name=series, next_value=2))
        session.flush()
        value = 1
    else:
        value = result[0] - 1
    return f"{prefix}{value:0{width}d}"


def ensure_series(session: Session) -> None:
    """Create every series row so the first use takes the row lock, never races an insert."""
    existing = set(session.scalars(select(NumberSeries.name)))
    for name in PREFIXES:
        if name not in existing:
            session.add(NumberSeries(name=name, next_value=1))
    session.flush()
