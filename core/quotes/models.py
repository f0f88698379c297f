"""Quotes: prices offered to one customer for a set of lines, until an expiry date.

A buyer requests one from the cart (a draft with their comment) or an agent starts one on
the phone; an agent prices it and sends it; the buyer accepts it before it expires, which
places an order at the quoted prices (core.quotes.services). Statuses change only through
core.quotes.states.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Amount, Base, UTCDateTime, utcnow
from core.money import Money


class Quote(Base):
    __tablename__ = "quotes"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # QT-000123
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    channel_code: Mapped[str] = mapped_column(String(40))  # whose prices and assortment
    currency: Mapped[str] = mapped_column(String(3))
    prices_include_tax: Mapped[bool]
    # Who asked: a buyer from the cart (requested_by_id) or an agent on the phone.
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("customer_users.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))  # who prices it
    comment: Mapped[str] = mapped_column(String(2000), default="")  # the buyer's request
    note: Mapped[str] = mapped_column(String(2000), default="")  # the agent's, on the quote
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    subtotal: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    discount_total: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    net_total: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    tax_total: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    gross_total: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str] = mapped_column(String(200), default="")
    reject_reason: Mapped[str] = mapped_column(String(1000), default="")
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))  # once accepted
    order = relationship("Order", viewonly=True)  # the order it became (the latest)

    lines: Mapped[list["QuoteLine"]] = relationship(back_populates="quote",
                                                    order_by="QuoteLine.id",
                                                    cascade="all, delete-orphan")

    def money(self, value: Decimal) -> Money:
        return Money(value, self.currency)


class QuoteLine(Base):
    """A quoted line: the unit price offered (in the channel's price mode) next to the list
    price it replaces, with the agent's reason when they differ."""

    __tablename__ = "quote_lines"
    __table_args__ = (
        UniqueConstraint("quote_id", "variant_id", name="uq_quote_lines_variant"),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int]
    list_unit_price: Mapped[Decimal] = mapped_column(Amount())
    unit_price: Mapped[Decimal] = mapped_column(Amount())
    override_reason: Mapped[str] = mapped_column(String(60), default="")
    net: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    tax: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    gross: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))

    quote: Mapped[Quote] = relationship(back_populates="lines")
