"""Shipments: what left the warehouse for an order, with carrier and tracking number.

An order ships in one or more shipments; each shipped shipment is invoiced once
(core.billing). States: created -> picked -> shipped -> delivered.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow


class Shipment(Base):
    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)  # SO-000123-1
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="created", index=True)
    carrier: Mapped[str] = mapped_column(String(40), default="")
    tracking_number: Mapped[str] = mapped_column(String(80), default="")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    picked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    shipped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Shipped by a supplier straight to the customer (core.purchasing), not from our stock.
    purchase_order_id: Mapped[int | None] = mapped_column(ForeignKey("purchase_orders.id"))

    lines: Mapped[list["ShipmentLine"]] = relationship(back_populates="shipment",
                                                       order_by="ShipmentLine.id",
                                                       cascade="all, delete-orphan")
    order: Mapped["Order"] = relationship()  # noqa: F821 (core.orders.models)


class ShipmentLine(Base):
    __tablename__ = "shipment_lines"
    __table_args__ = (
        UniqueConstraint("shipment_id", "order_line_id", name="uq_shipment_lines_line"),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"),
                                             index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    quantity: Mapped[int]

    shipment: Mapped[Shipment] = relationship(back_populates="lines")
    order_line: Mapped["OrderLine"] = relationship()  # noqa: F821 (core.orders.models)
