"""Warehouses, the stock journal and its balances, suppliers and expected arrivals.

Every change of stock is a StockMovement row: `quantity` is its signed change of units on
hand, `reserved` its signed change of units reserved for orders. StockLevel is the balance
of one variant in one warehouse, kept in the same transaction as each movement, so that
on hand = the sum of `quantity` and reserved = the sum of `reserved` over the variant's
movements in that warehouse (tests/unit/test_stock_journal.py, tests/pg/test_stock_concurrency.py).

`backordered` on a level counts units ordered beyond stock and promised against expected
arrivals (or the supplier's lead time); they become reserved as stock is received.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Amount, Base, UTCDateTime, utcnow

# kind -> what people read. Signs: receipt, return_restock, transfer_in, opening: on hand up;
# shipment, scrap, transfer_out: on hand down; adjustment and count: either way;
# reservation / release: reserved up / down; write_off: returned units scrapped, never
# back on hand (no change, the units are in the note).
MOVEMENT_KINDS = {
    "opening": "Opening balance", "receipt": "Receipt", "reservation": "Reserved for order",
    "release": "Reservation released", "shipment": "Shipment",
    "return_restock": "Return restocked", "write_off": "Return written off",
    "scrap": "Scrapped", "adjustment": "Adjustment", "count": "Count difference",
    "transfer_out": "Transfer out", "transfer_in": "Transfer in",
    "backorder_filled": "Backorder filled",
}
ADJUSTMENT_REASONS = {"damaged": "Damaged", "lost": "Lost or stolen", "found": "Found",
                      "expired": "Expired", "correction": "Correction", "sample": "Sample"}


class Warehouse(Base):
    __tablename__ = "warehouses"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # line1, line2, postcode, city, country: the address on purchase orders and pick lists.
    address: Mapped[dict] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class ChannelWarehouse(Base):
    """A channel sources from its warehouses in order of preference (lowest position first)."""

    __tablename__ = "channel_warehouses"
    __table_args__ = (UniqueConstraint("channel_id", "warehouse_id",
                                       name="uq_channel_warehouses_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"),
                                            index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    position: Mapped[int] = mapped_column(default=0)

    warehouse: Mapped[Warehouse] = relationship()


class Supplier(Base):
    """Who we buy from, or who ships a drop-shipped product to our customer directly."""

    __tablename__ = "suppliers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), default="")  # purchase orders go here
    phone: Mapped[str] = mapped_column(String(40), default="")
    address: Mapped[dict] = mapped_column(JSON, default=dict)
    lead_days: Mapped[int] = mapped_column(default=10)  # working days from order to dispatch
    active: Mapped[bool] = mapped_column(default=True)


class StockLevel(Base):
    __tablename__ = "stock_levels"
    __table_args__ = (
        UniqueConstraint("variant_id", "warehouse", name="uq_stock_levels_variant_warehouse"),
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved_within_on_hand"),
        CheckConstraint("backordered >= 0", name="backordered_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), index=True)
    warehouse: Mapped[str] = mapped_column(String(20), ForeignKey("warehouses.code"),
                                           default="MAIN")
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    backordered: Mapped[int] = mapped_column(default=0)
    reorder_point: Mapped[int | None] = mapped_column()  # low stock at or below; None: default
    # Where the units sit on the shelves ("A-03-2"); "" until the warehouse sets it
    # (services.set_bin). The pick list walks by it, the packing slip prints it.
    bin_location: Mapped[str] = mapped_column(String(20), default="")

    variant: Mapped["Variant"] = relationship()  # noqa: F821 (core.catalog.models)

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class StockMovement(Base):
    """One change of stock, with who, why and when (see the module docstring for signs)."""

    __tablename__ = "stock_movements"
    __table_args__ = (Index("ix_stock_movements_variant_warehouse", "variant_id", "warehouse",
                            "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), index=True)
    warehouse: Mapped[str] = mapped_column(String(20), default="MAIN")
    kind: Mapped[str] = mapped_column(String(20))  # MOVEMENT_KINDS
    quantity: Mapped[int] = mapped_column(default=0)  # change of on hand
    reserved: Mapped[int] = mapped_column(default=0)  # change of reserved
    reference: Mapped[str] = mapped_column(String(40), index=True)
    reason: Mapped[str] = mapped_column(String(20), default="")  # ADJUSTMENT_REASONS
    note: Mapped[str] = mapped_column(String(200), default="")
    unit_cost: Mapped[Decimal | None] = mapped_column(Amount())  # receipts, in EUR
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    variant: Mapped["Variant"] = relationship()  # noqa: F821 (core.catalog.models)


class ExpectedArrival(Base):
    """Units a supplier will deliver to a warehouse on a date: they feed available-to-promise
    until received (status through core.inventory.states)."""

    __tablename__ = "expected_arrivals"
    __table_args__ = (CheckConstraint("quantity >= 1", name="quantity_positive"),
                      Index("ix_expected_arrivals_variant_status", "variant_id", "status",
                            "expected_on"))

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    warehouse: Mapped[str] = mapped_column(String(20), ForeignKey("warehouses.code"))
    quantity: Mapped[int]
    quantity_received: Mapped[int] = mapped_column(default=0)
    expected_on: Mapped[dt.date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(40), default="")  # the supplier's order
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    supplier: Mapped[Supplier] = relationship()
    variant: Mapped["Variant"] = relationship()  # noqa: F821 (core.catalog.models)

    @property
    def outstanding(self) -> int:
        return self.quantity - self.quantity_received
