"""The sales facts analytics read: one row per line of every invoice and credit note, written
in the issuing transaction (core.reporting.facts), and a daily roll-up of them.

A fact copies what the line was sold under at the moment it was invoiced (channel, the agent
who took the order, the customer's group, the product's category, the unit cost), so a
report of last year does not move when a product changes category today. Amounts are net of
VAT in the document's currency; a credit note's facts carry negative units, revenue and cost.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Amount, Base

# Lines a credit note or invoice carries that are not sales: dunning fees and default
# interest (core.billing.invoicing.CHARGE_KINDS) post to 4030 and have no fact.
NOT_SALES = ("dunning_fee", "interest")


class SalesFact(Base):
    """One invoice or credit-note line as sales analytics sees it."""

    __tablename__ = "sales_facts"
    __table_args__ = (
        Index("ix_sales_facts_currency_day", "currency", "day"),
        Index("ix_sales_facts_product_day", "product_id", "day"),
        Index("ix_sales_facts_customer_day", "customer_id", "day"),
        Index("ix_sales_facts_order", "order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    invoice_line_id: Mapped[int] = mapped_column(ForeignKey("invoice_lines.id"), unique=True)
    document: Mapped[str] = mapped_column(String(20))  # invoice | credit_note
    line_kind: Mapped[str] = mapped_column(String(20))  # goods | shipping | fee | service
    day: Mapped[dt.date] = mapped_column(Date)  # the document's issue date
    currency: Mapped[str] = mapped_column(String(3))
    channel_code: Mapped[str] = mapped_column(String(40), default="")  # "" : no order
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    customer_group: Mapped[str] = mapped_column(String(40), default="")  # price group
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    sku: Mapped[str] = mapped_column(String(64), default="")
    quantity: Mapped[int] = mapped_column(default=0)  # units; negative on a credit note
    revenue: Mapped[Decimal] = mapped_column(Amount())  # net of VAT; negative on a credit note
    cost: Mapped[Decimal] = mapped_column(Amount())  # units x unit cost; same sign as units
    unit_cost: Mapped[Decimal | None] = mapped_column(Amount())  # None: no cost known
    # True on exactly one fact per order: the first line of its first invoice. Summing it
    # counts orders invoiced, additive over days, channels, agents and customer groups.
    first_of_order: Mapped[bool] = mapped_column(default=False)
    # True on the first invoiced line of each (order, category): summing it counts, per
    # category, the orders with a line in it, so a breakdown by category reads the roll-up.
    first_in_category: Mapped[bool] = mapped_column(default=False)


class SalesDay(Base):
    """Facts summed per day, currency, channel, category, customer group and agent: what the
    main analytics page reads, so a year costs hundreds of rows, not a million. Kept by
    core.reporting.facts in the same transaction as the facts (an upsert per cell, in key
    order so two invoicing transactions never deadlock). category_id and agent_id are 0
    where there is none (shipping lines, orders not taken by phone)."""

    __tablename__ = "sales_days"
    __table_args__ = (UniqueConstraint("day", "currency", "channel_code", "category_id",
                                       "customer_group", "agent_id", name="uq_sales_days_cell"),
                      Index("ix_sales_days_currency_day", "currency", "day"))

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    channel_code: Mapped[str] = mapped_column(String(40), default="")
    category_id: Mapped[int] = mapped_column(default=0)
    customer_group: Mapped[str] = mapped_column(String(40), default="")
    agent_id: Mapped[int] = mapped_column(default=0)
    revenue: Mapped[Decimal] = mapped_column(Amount())
    cost: Mapped[Decimal] = mapped_column(Amount())
    units: Mapped[int] = mapped_column(default=0)
    orders: Mapped[int] = mapped_column(default=0)  # sum of first_of_order
    category_orders: Mapped[int] = mapped_column(default=0)  # sum of first_in_category
    # Revenue of goods facts with no known cost (unit_cost None): margin's blind spot.
    uncosted_revenue: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    lines: Mapped[int] = mapped_column(default=0)
