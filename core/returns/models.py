"""The return authorisation (RMA-000123): lines of one order coming back, each with a
quantity, a reason and what the warehouse made of them; the credit notes it led to."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Amount, Base, UTCDateTime, utcnow
from core.money import Money
from core.returns.states import ReturnStatus


class ReturnAuthorisation(Base):
    __tablename__ = "returns"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)  # one request per submit
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default=ReturnStatus.REQUESTED, index=True)
    # What the customer gets: "refund" (the way they paid, or store credit) or "exchange".
    resolution: Mapped[str] = mapped_column(String(20), default="refund")
    # Where a refund goes: card | gift_card | store_credit | invoices (see core.returns.policy).
    refund_method: Mapped[str] = mapped_column(String(20), default="")
    # The goods come back (a label is sent); False: keep them, refunded on approval.
    ship_back: Mapped[bool] = mapped_column(default=True)
    # Exchange: ship the replacement on approval ("approval") or once the goods are in.
    replace_on: Mapped[str] = mapped_column(String(20), default="receipt")
    replacement_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    value: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))  # goods, gross
    restocking_fee: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    refund_shipping: Mapped[bool] = mapped_column(default=False)
    needs_supervisor: Mapped[bool] = mapped_column(default=False)
    channel: Mapped[str] = mapped_column(String(20))  # shop | phone
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    decided_by: Mapped[str] = mapped_column(String(200), default="")
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str] = mapped_column(String(300), default="")
    label_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    refunded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    lines: Mapped[list["ReturnLine"]] = relationship(back_populates="rma",
                                                     order_by="ReturnLine.id",
                                                     cascade="all, delete-orphan")
    order: Mapped["Order"] = relationship(foreign_keys=[order_id])  # noqa: F821
    credit_notes: Mapped[list["ReturnCreditNote"]] = relationship(
        order_by="ReturnCreditNote.id", cascade="all, delete-orphan")

    def money(self, value: Decimal) -> Money:
        return Money(value, self.currency)

    @property
    def quantity(self) -> int:
        return sum(l.quantity for l in self.lines)

    @property
    def quantity_received(self) -> int:
        return sum(l.quantity_received for l in self.lines)


class ReturnLine(Base):
    __tablename__ = "return_lines"
    __table_args__ = (
        UniqueConstraint("return_id", "order_line_id", name="uq_return_lines_line"),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint("quantity_received >= 0 AND quantity_received <= quantity",
                        name="received_within_quantity"),
        CheckConstraint("quantity_credited >= 0 AND quantity_credited <= quantity",
                        name="credited_within_quantity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id", ondelete="CASCADE"),
                                           index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int]
    reason: Mapped[str] = mapped_column(String(30))
    comment: Mapped[str] = mapped_column(String(500), default="")
    unit_gross: Mapped[Decimal] = mapped_column(Amount())  # paid per unit, after discounts
    fee_percent: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    quantity_received: Mapped[int] = mapped_column(default=0)
    quantity_restocked: Mapped[int] = mapped_column(default=0)
    quantity_scrapped: Mapped[int] = mapped_column(default=0)
    quantity_credited: Mapped[int] = mapped_column(default=0)
    # Exchange: the variant sent instead (None: the same one).
    replacement_variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id"))

    rma: Mapped[ReturnAuthorisation] = relationship(back_populates="lines")

    @property
    def gross(self) -> Decimal:
        return self.unit_gross * self.quantity

    @property
    def left_to_receive(self) -> int:
        return self.quantity - self.quantity_received


class ReturnReceipt(Base):
    """One line of one delivery back: how many came, in what condition, and what became of
    them. Receipts are partial or whole; `key` makes a repeated submit a no-op."""

    __tablename__ = "return_receipts"
    __table_args__ = (CheckConstraint("quantity >= 1", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    return_line_id: Mapped[int] = mapped_column(ForeignKey("return_lines.id", ondelete="CASCADE"),
                                                index=True)
    key: Mapped[str] = mapped_column(String(80), index=True)
    quantity: Mapped[int]
    condition: Mapped[str] = mapped_column(String(20))  # resellable | damaged
    disposition: Mapped[str] = mapped_column(String(20))  # restock | scrap
    received_by: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReturnCreditNote(Base):
    __tablename__ = "return_credit_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id", ondelete="CASCADE"),
                                           index=True)
    credit_note_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), unique=True)

    credit_note: Mapped["Invoice"] = relationship()  # noqa: F821 (core.billing.models)
