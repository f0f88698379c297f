"""StockLevel: on hand and reserved units of one variant in one warehouse."""
from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base


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
