"""Category tree, Product, Variant (the SKU that is priced, stocked and sold), relations,
channels and their assortments."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Amount, Base, UTCDateTime, utcnow

RELATION_KINDS = ("cross_sell", "up_sell", "accessory")


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    # Materialised path of ids, "/3/17/": a subtree is one LIKE on an index.
    path: Mapped[str] = mapped_column(String(400), default="", index=True)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    # Days from delivery its products may be returned (None: the parent's, else the default).
    return_days: Mapped[int | None] = mapped_column()

    parent: Mapped["Category | None"] = relationship(remote_side="Category.id")


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (Index("ix_products_category_active_name", "category_id", "active", "name"),
                      Index("ix_products_active_created_at", "active", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    brand: Mapped[str] = mapped_column(String(100), default="")
    tax_category_id: Mapped[int] = mapped_column(ForeignKey("tax_categories.id"))
    image: Mapped[str] = mapped_column(String(300), default="")  # file name under media/products
    active: Mapped[bool] = mapped_column(default=True)
    # Returns (core.returns.policy): False for goods never taken back (hygiene, custom-made);
    # return_days overrides the category's window.
    returnable: Mapped[bool] = mapped_column(default=True)
    return_days: Mapped[int | None] = mapped_column()
    # Stock (core.inventory): ordered beyond stock, promised against expected arrivals or the
    # supplier's lead time; drop_ship: the supplier ships it to the customer (a purchase order
    # per order, core.purchasing), never from our stock.
    backorderable: Mapped[bool] = mapped_column(default=False)
    drop_ship: Mapped[bool] = mapped_column(default=False)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    category: Mapped[Category] = relationship()
    images: Mapped[list["ProductImage"]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="ProductImage.position")
    variants: Mapped[list["Variant"]] = relationship(back_populates="product",
                                                     order_by="Variant.id")


class Variant(Base):
    __tablename__ = "variants"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    barcode: Mapped[str] = mapped_column(String(32), default="", index=True)
    weight_grams: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    # Standard cost of one unit (EUR), for margins when no stock receipt carried a cost
    # (core.reporting.facts takes the latest receipt's cost first).
    cost_price: Mapped[Decimal | None] = mapped_column(Amount())

    product: Mapped[Product] = relationship(back_populates="variants")
    attribute_values: Mapped[list["VariantAttribute"]] = relationship(
        back_populates="variant", cascade="all, delete-orphan", order_by="VariantAttribute.id")

    @property
    def attributes(self) -> dict[str, str]:
        return {a.name: a.value for a in self.attribute_values}


class VariantAttribute(Base):
    """One attribute of a variant (colour: Black). A table, not JSON, so facets are GROUP BYs."""

    __tablename__ = "variant_attributes"
    __table_args__ = (
        UniqueConstraint("variant_id", "name", name="uq_variant_attributes_variant_name"),
        Index("ix_variant_attributes_name_value", "name", "value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(60))
    value: Mapped[str] = mapped_column(String(120))

    variant: Mapped[Variant] = relationship(back_populates="attribute_values")


class ProductImage(Base):
    """A picture of a product, resized and stored under MEDIA_DIR/products; the first (lowest
    position) is also Product.image, the one lists show."""

    __tablename__ = "product_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"),
                                            index=True)
    filename: Mapped[str] = mapped_column(String(300))
    alt: Mapped[str] = mapped_column(String(200), default="")
    width: Mapped[int] = mapped_column(default=0)
    height: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)
    uploaded_by: Mapped[str] = mapped_column(String(200), default="")
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    product: Mapped[Product] = relationship(back_populates="images")


class ProductRelation(Base):
    """Cross-sell, up-sell or accessory: `related` is suggested alongside `product`."""

    __tablename__ = "product_relations"
    __table_args__ = (
        UniqueConstraint("product_id", "related_id", "kind", name="uq_product_relations_triple"),
        CheckConstraint("product_id <> related_id", name="not_self"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    related_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    kind: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(default=0)

    related: Mapped[Product] = relationship(foreign_keys=[related_id])


class Channel(Base):
    """A door into the shop: web-b2c, web-b2b, callcenter."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    prices_include_tax: Mapped[bool]
    country: Mapped[str] = mapped_column(String(2), default="DE")  # tax jurisdiction by default
    default_price_list_id: Mapped[int | None] = mapped_column(ForeignKey("price_lists.id"))
    active: Mapped[bool] = mapped_column(default=True)

    assortment: Mapped[list["AssortmentRule"]] = relationship(
        back_populates="channel", cascade="all, delete-orphan", order_by="AssortmentRule.id")


class AssortmentRule(Base):
    """Include or exclude a category (with its subtree) or a product in a channel.

    With no include rule a channel sells everything not excluded; with include rules it
    sells only what they include, less what is excluded.
    """

    __tablename__ = "assortment_rules"
    __table_args__ = (
        CheckConstraint("(category_id IS NULL) <> (product_id IS NULL)", name="one_target"),
        CheckConstraint("mode IN ('include', 'exclude')", name="mode"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), index=True)
    mode: Mapped[str] = mapped_column(String(10))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))

    channel: Mapped[Channel] = relationship(back_populates="assortment")
    category: Mapped[Category | None] = relationship()
    product: Mapped[Product | None] = relationship()
