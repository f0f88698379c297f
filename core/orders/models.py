"""Carts (what a buyer is about to order) and sales orders with their lines."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Amount, Base, UTCDateTime, utcnow
from core.money import Money


class Cart(Base):
    """A guest's cart is found by its random token (kept in the session cookie); a
    customer's by the customer. It survives restarts: it lives in the database."""

    __tablename__ = "carts"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    # The login whose cart it is: every buyer of a company has their own.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("customer_users.id"), index=True)
    coupon_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    lines: Mapped[list["CartLine"]] = relationship(back_populates="cart", order_by="CartLine.id",
                                                   cascade="all, delete-orphan")


class CartLine(Base):
    __tablename__ = "cart_lines"
    __table_args__ = (
        UniqueConstraint("cart_id", "variant_id", name="uq_cart_lines_cart_variant"),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    quantity: Mapped[int]

    cart: Mapped[Cart] = relationship(back_populates="lines")


class Order(Base):
    """A sales order. Status, payment state and holds are three separate dimensions."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    channel_code: Mapped[str] = mapped_column(String(40))
    placed_by_kind: Mapped[str] = mapped_column(String(20))  # customer | agent | anonymous
    placed_by_id: Mapped[int | None]
    currency: Mapped[str] = mapped_column(String(3))
    prices_include_tax: Mapped[bool]
    status: Mapped[str] = mapped_column(String(30), default="pending_payment", index=True)
    payment_state: Mapped[str] = mapped_column(String(30), default="unpaid")
    payment_method: Mapped[str] = mapped_column(String(20), default="card")
    shipping_address: Mapped[dict] = mapped_column(JSON, default=dict)
    billing_address: Mapped[dict] = mapped_column(JSON, default=dict)
    shipping_method: Mapped[str] = mapped_column(String(40), default="")
    shipping_amount: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))  # gross
    shipping_tax: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    subtotal: Mapped[Decimal] = mapped_column(Amount())  # lines before discounts, channel mode
    discount_total: Mapped[Decimal] = mapped_column(Amount())
    net_total: Mapped[Decimal] = mapped_column(Amount())  # lines and shipping
    tax_total: Mapped[Decimal] = mapped_column(Amount())
    gross_total: Mapped[Decimal] = mapped_column(Amount())  # what the buyer pays
    coupon_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    po_number: Mapped[str] = mapped_column(String(60), default="")
    promised_date: Mapped[dt.date | None] = mapped_column(Date)
    # The day the buyer asked for, never before the promised date (checkout checks).
    requested_date: Mapped[dt.date | None] = mapped_column(Date)
    # The buyer wants one delivery: nothing ships while a line waits for stock.
    ship_complete: Mapped[bool] = mapped_column(default=False)
    placed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str] = mapped_column(String(200), default="")
    # Paid before the card is asked (a gift card at checkout): the card covers the rest.
    amount_prepaid: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # to fulfilment
    # When the order confirmation e-mail went out (core.notifications sends it once).
    confirmation_emailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    lines: Mapped[list["OrderLine"]] = relationship(back_populates="order",
                                                    order_by="OrderLine.id",
                                                    cascade="all, delete-orphan")
    holds: Mapped[list["OrderHold"]] = relationship(back_populates="order",
                                                    order_by="OrderHold.id",
                                                    cascade="all, delete-orphan")

    def money(self, value: Decimal) -> Money:
        return Money(value, self.currency)

    @property
    def active_holds(self) -> list["OrderHold"]:
        return [h for h in self.holds if h.released_at is None]

    @property
    def on_hold(self) -> bool:
        """Any active hold blocks release to fulfilment."""
        return bool(self.active_holds)


class OrderLine(Base):
    """What was ordered, with names and prices copied at order time."""

    __tablename__ = "order_lines"
    __table_args__ = (CheckConstraint("quantity >= 1", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(Amount())
    amount: Mapped[Decimal] = mapped_column(Amount())
    discount: Mapped[Decimal] = mapped_column(Amount())
    net: Mapped[Decimal] = mapped_column(Amount())
    tax: Mapped[Decimal] = mapped_column(Amount())
    gross: Mapped[Decimal] = mapped_column(Amount())
    tax_rate: Mapped[Decimal] = mapped_column(Amount())
    price_source: Mapped[str] = mapped_column(String(200), default="")
    discounts: Mapped[list[dict]] = mapped_column(JSON, default=list)  # allocations
    quantity_reserved: Mapped[int] = mapped_column(default=0)
    quantity_shipped: Mapped[int] = mapped_column(default=0)
    quantity_invoiced: Mapped[int] = mapped_column(default=0)
    quantity_returned: Mapped[int] = mapped_column(default=0)
    # Stock: the warehouse the line is reserved in and ships from (None: drop-shipped by
    # supplier_id); units ordered beyond stock wait as quantity_backordered until received.
    warehouse: Mapped[str | None] = mapped_column(String(20))
    quantity_backordered: Mapped[int] = mapped_column(default=0)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"))
    ships_on: Mapped[dt.date | None] = mapped_column(Date)  # promised dispatch day
    promised_date: Mapped[dt.date | None] = mapped_column(Date)  # promised delivery day
    # An agent's price override or manual discount, with the reason code it was given for.
    list_unit_price: Mapped[Decimal | None] = mapped_column(Amount())  # before the override
    override_reason: Mapped[str] = mapped_column(String(60), default="")

    order: Mapped[Order] = relationship(back_populates="lines")


HOLD_KINDS = ("payment_review", "manual", "approval", "credit")


class OrderHold(Base):
    """A hold on an order, orthogonal to its status; released, never deleted."""

    __tablename__ = "order_holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    reason_code: Mapped[str] = mapped_column(String(60))
    note: Mapped[str] = mapped_column(String(1000), default="")
    placed_by: Mapped[str] = mapped_column(String(200))  # the actor's label
    placed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    released_by: Mapped[str | None] = mapped_column(String(200))
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    release_note: Mapped[str] = mapped_column(String(1000), default="")
    # The day until which it holds, when the customer named one; due from that day on
    # (core.orders.holds.is_due), when a manual hold releases itself (release_due_holds).
    hold_until: Mapped[dt.date | None] = mapped_column(Date)

    order: Mapped[Order] = relationship(back_populates="holds")


class OrderNote(Base):
    __tablename__ = "order_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(String(2000))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ShoppingList(Base):
    """A named list of items a company (or person) orders again and again; every buyer of
    the customer sees and uses it."""

    __tablename__ = "shopping_lists"
    __table_args__ = (UniqueConstraint("customer_id", "name", name="uq_shopping_lists_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("customer_users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    lines: Mapped[list["ShoppingListLine"]] = relationship(
        back_populates="list", order_by="ShoppingListLine.id", cascade="all, delete-orphan")


class ShoppingListLine(Base):
    __tablename__ = "shopping_list_lines"
    __table_args__ = (
        UniqueConstraint("list_id", "variant_id", name="uq_shopping_list_lines_variant"),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("shopping_lists.id", ondelete="CASCADE"),
                                         index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    quantity: Mapped[int]

    list: Mapped[ShoppingList] = relationship(back_populates="lines")
