"""Purchase orders for drop shipment: an order's drop-shipped lines become a purchase order to
their supplier, who ships them to our customer and tells us the carrier and tracking
number (status through core.purchasing.states)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow


class PurchaseOrder(Base):
    __tablename__ = "purchase_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # PO-000001
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="sent", index=True)
    ship_to: Mapped[dict] = mapped_column(JSON, default=dict)  # the customer's address
    note: Mapped[str] = mapped_column(String(1000), default="")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    emailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    shipped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    lines: Mapped[list["PurchaseOrderLine"]] = relationship(
        back_populates="purchase_order", order_by="PurchaseOrderLine.id",
        cascade="all, delete-orphan")
    supplier: Mapped["Supplier"] = relationship()  # noqa: F821 (core.inventory.models)
    order: Mapped["Order"] = relationship()  # noqa: F821 (core.orders.models)


class PurchaseOrderLine(Base):
    __tablename__ = "purchase_order_lines"
    __table_args__ = (CheckConstraint("quantity >= 1", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(
        ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int]
    quantity_shipped: Mapped[int] = mapped_column(default=0)

    purchase_order: Mapped[PurchaseOrder] = relationship(back_populates="lines")
