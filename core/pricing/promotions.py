"""Promotions: a discount rule of one kind (percent off, amount off, fixed price, buy x
get y, free shipping) with the conditions it needs, validated and audited like the
catalogue's commands (core.catalog.products), whose checks they share.

Every command takes a session and the acting agent's Actor, flushes and never commits.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.catalog.models import Category, Channel, Product
from core.catalog.products import (apply_changes, audit_value, check_amount, check_currency,
                                   check_text, find_product_ids, record_change, refuse)
from core.pricing.models import PROMOTION_KINDS, Promotion

MAX_USAGE_LIMIT = 1_000_000_000


@dataclass
class PromotionData:
    name: str
    kind: str
    value: Decimal = Decimal(0)
    currency: str = "EUR"
    buy_quantity: int = 0
    get_quantity: int = 0
    coupon_code: str | None = None
    channels: Sequence[str] = ()
    customer_groups: Sequence[str] = ()
    products: Sequence[str] = ()  # product slugs or SKUs of their variants
    category_ids: Sequence[int] = ()
    min_subtotal: Decimal | None = None
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    usage_limit_total: int | None = None
    usage_limit_per_customer: int | None = None
    priority: int = 0
    exclusive: bool = False
    active: bool = True


def _promotion_values(session: Session, data: PromotionData, promotion: Promotion | None
                      ) -> dict[str, Any]:
    name = check_text(data.name, "name", "name", max_length=200, required=True)
    if data.kind not in PROMOTION_KINDS:
        refuse(f"The kind is one of {', '.join(PROMOTION_KINDS)}.", "kind")
    currency = check_currency(data.currency)
    value, buy, get = data.value if data.value is not None else Decimal(0), 0, 0
    if data.kind == "percent_off":
        if not isinstance(value, Decimal) or not Decimal(0) < value <= Decimal(100):
            refuse("A percentage off is more than 0 and at most 100.", "value")
        if value != value.quantize(Decimal("0.01")):
            refuse("A percentage has at most two decimal places.", "value")
    elif data.kind == "amount_off":
        value = check_amount(value, currency, "value", label="amount off", positive=True)
    elif data.kind == "fixed_price":
        value = check_amount(value, currency, "value", label="fixed price")
    elif data.kind == "buy_x_get_y":
        buy, get = data.buy_quantity or 0, data.get_quantity or 0
        if not 1 <= buy <= 1000:
            refuse("Enter how many units the customer buys (1 or more).", "buy_quantity")
        if not 1 <= get <= 1000:
            refuse("Enter how many units the customer gets free (1 or more).", "get_quantity")
        value = Decimal(0)
    else:  # free_shipping
        value = Decimal(0)
    product_ids = find_product_ids(session, data.products, "products")
    category_ids = list(dict.fromkeys(int(c) for c in data.category_ids))
    if category_ids:
        known = set(session.scalars(select(Category.id).where(Category.id.in_(category_ids))))
        if missing := [c for c in category_ids if c not in known]:
            refuse(f"There is no category {missing[0]}.", "category_ids")
    if data.kind in ("fixed_price", "buy_x_get_y") and not (product_ids or category_ids):
        refuse("Name the products or categories this promotion applies to.", "products")
    channels = list(dict.fromkeys(c.strip() for c in data.channels if c.strip()))
    if channels:
        known_channels = set(session.scalars(select(Channel.code)))
        if missing := [c for c in channels if c not in known_channels]:
            refuse(f"There is no channel {missing[0]}.", "channels")
    groups = list(dict.fromkeys(g.strip() for g in data.customer_groups if g.strip()))
    if any(len(g) > 40 for g in groups):
        refuse("A customer group has at most 40 characters.", "customer_groups")
    coupon = (data.coupon_code or "").strip().upper() or None
    if coupon is not None:
        if len(coupon) > 60 or not re.fullmatch(r"[A-Z0-9][A-Z0-9_-]*", coupon):
            refuse("A coupon code has letters, digits, - and _ only (at most 60).",
                  "coupon_code")
        clash = session.scalar(select(Promotion.id).where(
            func.upper(Promotion.coupon_code) == coupon))
        if clash is not None and (promotion is None or clash != promotion.id):
            refuse(f"Another promotion already uses the coupon code {coupon}.", "coupon_code")
    min_subtotal = None
    if data.min_subtotal is not None:
        min_subtotal = check_amount(data.min_subtotal, currency, "min_subtotal",
                                    label="minimum subtotal")
    if data.starts_at and data.ends_at and data.ends_at <= data.starts_at:
        refuse("The promotion must end after it starts.", "ends_at")
    for limit, field_name in ((data.usage_limit_total, "usage_limit_total"),
                              (data.usage_limit_per_customer, "usage_limit_per_customer")):
        if limit is not None and not 1 <= limit <= MAX_USAGE_LIMIT:
            refuse("A usage limit is 1 or more (at most a billion); leave it empty for no "
                  "limit.", field_name)
    if not -1000 <= data.priority <= 1000:
        refuse("The priority is between -1000 and 1000.", "priority")
    return dict(name=name, kind=data.kind, value=value, currency=currency, buy_quantity=buy,
                get_quantity=get, coupon_code=coupon, channels=channels,
                customer_groups=groups, product_ids=product_ids, category_ids=category_ids,
                min_subtotal=min_subtotal, starts_at=data.starts_at, ends_at=data.ends_at,
                usage_limit_total=data.usage_limit_total,
                usage_limit_per_customer=data.usage_limit_per_customer,
                priority=data.priority, exclusive=bool(data.exclusive),
                active=bool(data.active))


def create_promotion(session: Session, data: PromotionData, *, actor: audit.Actor
                     ) -> Promotion:
    """Add a promotion after checking the fields its kind needs."""
    values = _promotion_values(session, data, None)
    promotion = Promotion(**values)
    session.add(promotion)
    session.flush()
    record_change(session, "promotion.created", actor, promotion,
            {k: audit_value(v) for k, v in values.items()})
    return promotion


def update_promotion(session: Session, promotion: Promotion, data: PromotionData, *,
                     actor: audit.Actor) -> Promotion:
    """Change a promotion; usage counts stay as they are."""
    changed = apply_changes(promotion, _promotion_values(session, data, promotion))
    if changed:
        session.flush()
        record_change(session, "promotion.updated", actor, promotion,
                {k: [audit_value(v) for v in pair] for k, pair in changed.items()})
    return promotion


def deactivate_promotion(session: Session, promotion: Promotion, *, actor: audit.Actor
                         ) -> Promotion:
    """Stop a promotion from applying; it stays for the record (orders refer to it)."""
    if promotion.active:
        promotion.active = False
        session.flush()
        record_change(session, "promotion.deactivated", actor, promotion, {"name": promotion.name})
    return promotion


def promotion_form_data(session: Session, promotion: Promotion) -> PromotionData:
    """A promotion as its edit form shows it: products by slug."""
    slugs = dict(session.execute(select(Product.id, Product.slug)
                                 .where(Product.id.in_(promotion.product_ids or []))).all())
    return PromotionData(
        name=promotion.name, kind=promotion.kind, value=promotion.value,
        currency=promotion.currency, buy_quantity=promotion.buy_quantity,
        get_quantity=promotion.get_quantity, coupon_code=promotion.coupon_code,
        channels=list(promotion.channels or []),
        customer_groups=list(promotion.customer_groups or []),
        products=[slugs[p] for p in promotion.product_ids or [] if p in slugs],
        category_ids=list(promotion.category_ids or []), min_subtotal=promotion.min_subtotal,
        starts_at=promotion.starts_at, ends_at=promotion.ends_at,
        usage_limit_total=promotion.usage_limit_total,
        usage_limit_per_customer=promotion.usage_limit_per_customer,
        priority=promotion.priority, exclusive=promotion.exclusive, active=promotion.active)


def list_promotions(session: Session) -> list[Promotion]:
    """Every promotion: active ones first, then by priority."""
    return list(session.scalars(select(Promotion).order_by(
        Promotion.active.desc(), Promotion.priority.desc(), Promotion.id)))

