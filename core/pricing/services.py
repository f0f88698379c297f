"""The one pricing service every channel calls: load the facts, let the engine price.

Each call runs a fixed number of queries whatever the number of lines.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from core import cache
from core.catalog.models import Category, Channel, Product, Variant
from core.db import utcnow
from core.errors import NotFound
from core.pricing import engine, usage
from core.pricing.engine import (ChannelInfo, LineFacts, ListPrice, PricedCart, PricedLine,
                                 PricingContext, PromotionInfo, TaxInfo)
from core.pricing.models import PriceList, PriceListEntry, Promotion, TaxRate


def channel_info(channel) -> ChannelInfo:
    return ChannelInfo(code=channel.code, currency=channel.currency,
                       prices_include_tax=channel.prices_include_tax, country=channel.country,
                       default_price_list_id=channel.default_price_list_id)


@dataclass(frozen=True)
class ChannelSnapshot:
    """A channel's settings as plain data (safe to keep between requests)."""

    id: int
    code: str
    name: str
    currency: str
    prices_include_tax: bool
    country: str
    default_price_list_id: int | None


def get_channel(session: Session, code: str) -> ChannelSnapshot:
    """The active channel with this code (cached briefly, see core.cache)."""
    def load():
        channel = session.scalar(select(Channel).where(Channel.code == code, Channel.active))
        return None if channel is None else ChannelSnapshot(
            channel.id, channel.code, channel.name, channel.currency,
            channel.prices_include_tax, channel.country, channel.default_price_list_id)
    found = cache.reference.get_or_make(("channel", code), load)
    if found is None:
        raise NotFound(f"There is no active sales channel {code!r}.")
    return found


def make_context(channel, *, customer=None, at: dt.datetime | None = None,
                 coupon_codes: Sequence[str] = (), country: str = "", region: str = "",
                 email: str = "") -> PricingContext:
    """The pricing context of a buyer (a Customer or None for a guest) in a channel.

    `email` is the address the buyer orders with, when known (a guest's at checkout);
    a customer's own address is always added.
    """
    emails = [usage.normalise_email(email), usage.normalise_email(customer.email if customer
                                                                 else "")]
    return PricingContext(channel=channel_info(channel), at=at or utcnow(),
                          customer_id=customer.id if customer else None,
                          customer_group=customer.price_group if customer else None,
                          country=country, region=region,
                          coupon_codes=tuple(c for c in coupon_codes if c),
                          buyer_emails=tuple(dict.fromkeys(e for e in emails if e)))


def _list_scope_condition(ctx: PricingContext):
    conditions = [PriceList.scope == "base",
                  and_(PriceList.scope == "channel", PriceList.channel_code == ctx.channel.code)]
    if ctx.channel.default_price_list_id:
        conditions.append(PriceList.id == ctx.channel.default_price_list_id)
    if ctx.customer_group:
        conditions.append(and_(PriceList.scope == "group",
                               PriceList.customer_group == ctx.customer_group))
    if ctx.customer_id:
        conditions.append(and_(PriceList.scope == "contract",
                               PriceList.customer_id == ctx.customer_id))
    return or_(*conditions)


def _candidate_entries(ctx: PricingContext, variant_ids: list[int]):
    """The price-list entries the buyer may be charged for these variants (a subquery)."""
    day = ctx.day
    return (select(PriceListEntry.variant_id, PriceListEntry.min_quantity,
                   PriceListEntry.unit_price, PriceList.id.label("list_id"),
                   PriceList.code, PriceList.name, PriceList.scope, PriceList.priority,
                   PriceList.prices_include_tax)
            .join(PriceList, PriceList.id == PriceListEntry.price_list_id)
            .where(PriceListEntry.variant_id.in_(variant_ids), PriceList.active,
                   PriceList.currency == ctx.channel.currency,
                   or_(PriceList.valid_from.is_(None), PriceList.valid_from <= day),
                   or_(PriceList.valid_to.is_(None), PriceList.valid_to >= day),
                   _list_scope_condition(ctx))
            .subquery("candidate"))


def _tax_rates(session: Session, ctx: PricingContext, category_ids: set[int]) -> dict[int, TaxInfo]:
    key = ("tax", frozenset(category_ids), ctx.tax_country, ctx.region, ctx.day)
    return cache.reference.get_or_make(key, lambda: _load_tax_rates(session, ctx, category_ids))


def _load_tax_rates(session: Session, ctx: PricingContext, category_ids: set[int]
                    ) -> dict[int, TaxInfo]:
    day = ctx.day
    rows = session.execute(
        select(TaxRate).where(TaxRate.tax_category_id.in_(category_ids),
                              TaxRate.country == ctx.tax_country,
                              TaxRate.region.in_(["", ctx.region]),
                              TaxRate.valid_from <= day,
                              or_(TaxRate.valid_to.is_(None), TaxRate.valid_to >= day))
    ).scalars()
    best: dict[int, TaxRate] = {}
    for rate in rows:  # a region's own rate beats the country's
        prior = best.get(rate.tax_category_id)
        if prior is None or (rate.region, rate.valid_from) > (prior.region, prior.valid_from):
            best[rate.tax_category_id] = rate
    return {cid: TaxInfo(r.name, r.rate, r.country, r.region) for cid, r in best.items()}


def load_facts(session: Session, ctx: PricingContext, variant_ids: Sequence[int]
               ) -> dict[int, LineFacts]:
    """Everything the engine needs about these variants: one query (each variant with the
    price-list entries that may apply to the buyer), and the tax rates (reference data)."""
    ids = sorted(set(variant_ids))
    if not ids:
        return {}
    entry = _candidate_entries(ctx, ids)
    rows = session.execute(
        select(Variant.id, Variant.sku, Variant.name, Product.id, Product.name,
               Product.tax_category_id, Category.id, Category.path,
               entry.c.min_quantity, entry.c.unit_price, entry.c.list_id, entry.c.code,
               entry.c.name, entry.c.scope, entry.c.priority, entry.c.prices_include_tax)
        .join(Product, Product.id == Variant.product_id)
        .join(Category, Category.id == Product.category_id)
        .outerjoin(entry, entry.c.variant_id == Variant.id)
        .where(Variant.id.in_(ids))).all()
    taxes = _tax_rates(session, ctx, {r[5] for r in rows})
    variants: dict[int, tuple] = {}
    candidates: dict[int, list[ListPrice]] = defaultdict(list)
    for row in rows:
        vid = row[0]
        variants.setdefault(vid, row[:8])
        if row[10] is not None:  # an entry (the outer join gives none for an unpriced variant)
            min_qty, unit, list_id, code, name, scope, priority, incl = row[8:]
            candidates[vid].append(ListPrice(list_id, code, name, scope, priority, incl,
                                             min_qty, unit))
    facts = {}
    for vid, sku, vname, pid, pname, tax_cat, cat_id, path in variants.values():
        if tax_cat not in taxes:
            raise engine.PricingError(
                f"No tax rate is set for {sku} in {ctx.tax_country}; it cannot be sold there.")
        ancestors = frozenset(int(x) for x in path.strip("/").split("/") if x) | {cat_id}
        name = f"{pname} – {vname}" if vname and vname != pname else pname
        facts[vid] = LineFacts(vid, sku, name, pid, ancestors, taxes[tax_cat],
                               tuple(candidates.get(vid, ())))
    return facts


def load_promotions(session: Session, ctx: PricingContext) -> list[PromotionInfo]:
    """Active promotions of the moment for this channel (few: cached briefly, and one query
    for the buyer's own uses, by customer id or e-mail, when a promotion limits them)."""
    known = cache.reference.get_or_make(("promotions", ctx.channel.code),
                                        lambda: _load_promotions(session, ctx.channel.code))
    current = [p for p in known if (p.starts_at is None or p.starts_at <= ctx.at)
               and (p.ends_at is None or p.ends_at > ctx.at)]
    holder = usage.Holder.of(ctx.customer_id, ctx.buyer_emails)
    if not (holder and any(p.usage_limit_per_customer is not None for p in current)):
        return current
    used = usage.uses_by(session, holder)
    return [replace(p, used_by_customer=used.get(p.id, 0)) for p in current]


def _load_promotions(session: Session, channel_code: str) -> list[PromotionInfo]:
    rows = session.scalars(select(Promotion).where(Promotion.active)).all()
    rows = [p for p in rows if not p.channels or channel_code in p.channels]
    return [PromotionInfo(
        id=p.id, name=p.name, kind=p.kind, value=p.value, currency=p.currency,
        buy_quantity=p.buy_quantity, get_quantity=p.get_quantity, coupon_code=p.coupon_code,
        channels=tuple(p.channels), customer_groups=tuple(p.customer_groups),
        product_ids=frozenset(p.product_ids), category_ids=frozenset(p.category_ids),
        min_subtotal=p.min_subtotal, starts_at=p.starts_at, ends_at=p.ends_at,
        usage_limit_total=p.usage_limit_total, usage_limit_per_customer=p.usage_limit_per_customer,
        times_used=p.times_used, used_by_customer=0, priority=p.priority,
        exclusive=p.exclusive) for p in rows]


def _facts_for(facts: dict[int, LineFacts], variant_id: int) -> LineFacts:
    try:
        return facts[variant_id]
    except KeyError:
        raise NotFound("That item does not exist.") from None


def price_cart(session: Session, ctx: PricingContext, lines: Sequence[tuple[int, int]]
               ) -> PricedCart:
    """Price (variant id, quantity) lines together, as a cart or an order, promotions included."""
    facts = load_facts(session, ctx, [vid for vid, _ in lines])
    promotions = load_promotions(session, ctx)
    return engine.price(ctx, [(_facts_for(facts, vid), qty) for vid, qty in lines], promotions)


def price_items(session: Session, ctx: PricingContext, items: Sequence[tuple[int, int]]
                ) -> dict[int, PricedLine]:
    """Price each (variant id, quantity) alone, as a product tile or page shows it.

    Promotions that need a coupon or a subtotal are left for the cart.
    """
    return price_loaded(ctx, load_facts(session, ctx, [vid for vid, _ in items]), items,
                        item_promotions(session, ctx))


def item_promotions(session: Session, ctx: PricingContext) -> list[PromotionInfo]:
    """The promotions a single item's price shows: none that needs a coupon or a subtotal."""
    return [p for p in load_promotions(session, ctx)
            if p.coupon_code is None and p.min_subtotal is None]


def price_loaded(ctx: PricingContext, facts: dict[int, LineFacts],
                 items: Sequence[tuple[int, int]],
                 promotions: list[PromotionInfo]) -> dict[int, PricedLine]:
    """price_items() over facts already loaded (load_facts), with item_promotions()."""
    return {vid: engine.price(ctx, [(facts[vid], qty)], promotions).lines[0]
            for vid, qty in items if vid in facts and facts[vid].candidates}


def offer_loaded(ctx: PricingContext, facts: dict[int, LineFacts], variant_id: int,
                 quantity: int, promotions: list[PromotionInfo]
                 ) -> tuple[PricedLine | None, list[tuple[int, Decimal]]]:
    """A product page's price for `quantity` of a variant and its quantity breaks
    [(from qty, unit)], over facts already loaded (load_facts), with item_promotions().
    (None, []) when the variant has no price for the buyer."""
    found = _facts_for(facts, variant_id)
    if not found.candidates:
        return None, []
    line = engine.price(ctx, [(found, quantity)], promotions).lines[0]
    return line, engine.quantity_breaks(found, ctx)
