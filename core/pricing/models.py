"""Tax categories and rates, price lists with quantity breaks, promotions."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Amount, Base, UTCDateTime, utcnow

SCOPES = ("base", "channel", "group", "contract")  # least to most specific
PROMOTION_KINDS = ("percent_off", "amount_off", "fixed_price", "buy_x_get_y", "free_shipping")


class TaxCategory(Base):
    __tablename__ = "tax_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))


class TaxRate(Base):
    """The rate of a tax category in a country (and optionally a region), for a period."""

    __tablename__ = "tax_rates"
    __table_args__ = (Index("ix_tax_rates_lookup", "tax_category_id", "country", "region"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tax_category_id: Mapped[int] = mapped_column(ForeignKey("tax_categories.id"))
    country: Mapped[str] = mapped_column(String(2))
    region: Mapped[str] = mapped_column(String(10), default="")  # "" = the whole country
    name: Mapped[str] = mapped_column(String(100))
    rate: Mapped[Decimal] = mapped_column(Amount())  # 0.1900 for 19 %
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)  # inclusive; None = open

    tax_category: Mapped[TaxCategory] = relationship()


class PriceList(Base):
    """Prices for some variants, for a scope: everyone (base), a channel, a customer group
    or one customer (contract); valid for a period, in one currency."""

    __tablename__ = "price_lists"
    __table_args__ = (CheckConstraint("scope IN ('base', 'channel', 'group', 'contract')",
                                      name="scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    scope: Mapped[str] = mapped_column(String(10))
    channel_code: Mapped[str | None] = mapped_column(String(40))
    customer_group: Mapped[str | None] = mapped_column(String(40))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)  # inclusive
    priority: Mapped[int] = mapped_column(default=0)
    prices_include_tax: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)

    entries: Mapped[list["PriceListEntry"]] = relationship(back_populates="price_list",
                                                           cascade="all, delete-orphan")


class PriceListEntry(Base):
    """The unit price of a variant from `min_quantity` units up (a quantity break)."""

    __tablename__ = "price_list_entries"
    __table_args__ = (
        UniqueConstraint("price_list_id", "variant_id", "min_quantity",
                         name="uq_price_list_entries_break"),
        Index("ix_price_list_entries_variant", "variant_id", "price_list_id"),
        CheckConstraint("min_quantity >= 1", name="min_quantity_positive"),
        CheckConstraint("unit_price >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    price_list_id: Mapped[int] = mapped_column(ForeignKey("price_lists.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    min_quantity: Mapped[int] = mapped_column(default=1)
    unit_price: Mapped[Decimal] = mapped_column(Amount())

    price_list: Mapped[PriceList] = relationship(back_populates="entries")
    variant: Mapped["Variant"] = relationship()  # noqa: F821 (core.catalog.models)


class Promotion(Base):
    """A discount rule. Conditions left empty do not restrict."""

    __tablename__ = "promotions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    # percent_off: percent; amount_off: amount per order; fixed_price: unit price.
    value: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    buy_quantity: Mapped[int] = mapped_column(default=0)  # buy_x_get_y: X
    get_quantity: Mapped[int] = mapped_column(default=0)  # buy_x_get_y: Y free
    coupon_code: Mapped[str | None] = mapped_column(String(60), unique=True)
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    customer_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    product_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    category_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    min_subtotal: Mapped[Decimal | None] = mapped_column(Amount())
    starts_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    usage_limit_total: Mapped[int | None]
    usage_limit_per_customer: Mapped[int | None]
    times_used: Mapped[int] = mapped_column(default=0)
    priority: Mapped[int] = mapped_column(default=0)
    exclusive: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)

    @property
    def conditions(self) -> dict[str, Any]:
        return {"channels": self.channels, "customer_groups": self.customer_groups,
                "product_ids": self.product_ids, "category_ids": self.category_ids}


class PromotionRedemption(Base):
    """One use of a promotion by an order, for usage limits (see core.pricing.usage).

    Deleted when the order gives the use back (cancelled, payment declined or abandoned);
    the audit trail keeps the history.
    """

    __tablename__ = "promotion_redemptions"
    __table_args__ = (Index("ix_promotion_redemptions_customer", "promotion_id", "customer_id"),
                      Index("ix_promotion_redemptions_email", "promotion_id", "email"),
                      Index("ix_promotion_redemptions_reference", "reference"))

    id: Mapped[int] = mapped_column(primary_key=True)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    # The buyer's e-mail, lower-cased: per-customer limits hold for guests too.
    email: Mapped[str] = mapped_column(String(254), default="")
    reference: Mapped[str] = mapped_column(String(40), default="")  # the order number
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
