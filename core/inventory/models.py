"""StockLevel: on hand and reserved units of one variant in one warehouse."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow


class StockLevel(Base):
    __tablename__ = "stock_levels"
    __table_args__ = (
        UniqueConstraint("variant_id", "warehouse", name="uq_stock_levels_variant_warehouse"),
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved_within_on_hand"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), index=True)
    warehouse: Mapped[str] = mapped_column(String(20), default="MAIN")
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)

    variant: Mapped["Variant"] = relationship()  # noqa: F821 (core.catalog.models)

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class StockMovement(Base):
    """A change to stock that is not a sale: returned units put back on the shelf
    ("return_restock", on hand up) or written off ("write_off": returned units scrapped,
    never back on hand), with the document that caused it."""

    __tablename__ = "stock_movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), index=True)
    warehouse: Mapped[str] = mapped_column(String(20), default="MAIN")
    kind: Mapped[str] = mapped_column(String(20))  # return_restock | write_off
    quantity: Mapped[int]
    reference: Mapped[str] = mapped_column(String(40), index=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
