"""Price lists and their prices: a list's scope (everyone, a channel, a customer group or
one customer's contract), currency and period, and the unit price of a variant from a
number of units up (a quantity break); validated and audited like the catalogue's commands
(core.catalog.products), whose checks they share. And the read side of the price pages.

Every command takes a session and the acting agent's Actor, flushes and never commits.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import column, exists, func, select, table
from sqlalchemy.orm import Session, selectinload

from core import audit
from core.catalog.models import Channel, Product, Variant
from core.catalog.products import (CODE_PATTERN, apply_changes, audit_value, check_amount,
                                   check_currency, check_min_quantity, check_text,
                                   record_change, refuse)
from core.errors import NotFound
from core.paging import Page, paginate
from core.pricing.models import SCOPES, PriceList, PriceListEntry, TaxCategory

# Customers sit above pricing: a contract list finds its customer by number in the table its
# foreign key points at (price_lists.customer_id -> customers.id), not through the model.
_customers = table("customers", column("id"), column("number"), column("name"))


@dataclass
class PriceListData:
    code: str
    name: str
    currency: str
    scope: str
    channel_code: str | None = None
    customer_group: str | None = None
    customer_number: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    priority: int = 0
    prices_include_tax: bool = True
    active: bool = True


# --- commands ----------------------------------------------------------------------------


def set_price(session: Session, *, price_list: PriceList, variant: Variant, min_quantity: int,
              unit_price: Decimal, actor: audit.Actor) -> PriceListEntry:
    """Set the unit price of a variant from `min_quantity` units up in a list (a quantity
    break): updates the break when it exists, else adds it."""
    min_quantity = check_min_quantity(min_quantity)
    unit_price = check_amount(unit_price, price_list.currency, "unit_price")
    entry = session.scalar(select(PriceListEntry).where(
        PriceListEntry.price_list_id == price_list.id, PriceListEntry.variant_id == variant.id,
        PriceListEntry.min_quantity == min_quantity))
    old = None
    if entry is None:
        entry = PriceListEntry(price_list=price_list, variant=variant,
                               min_quantity=min_quantity, unit_price=unit_price)
        session.add(entry)
    else:
        old = entry.unit_price
        if old == unit_price:
            return entry
        entry.unit_price = unit_price
    session.flush()
    record_change(session, "price.set", actor, entry,
            {"price_list": price_list.code, "sku": variant.sku, "min_quantity": min_quantity,
             "unit_price": audit_value(unit_price), "previous": audit_value(old)})
    return entry


def remove_price(session: Session, entry: PriceListEntry, *, actor: audit.Actor) -> None:
    """Delete one quantity break of a variant in a price list."""
    record_change(session, "price.removed", actor, entry,
            {"price_list": entry.price_list.code, "sku": entry.variant.sku,
             "min_quantity": entry.min_quantity, "unit_price": audit_value(entry.unit_price)})
    session.delete(entry)
    session.flush()


def _price_list_values(session: Session, data: PriceListData, price_list: PriceList | None
                       ) -> dict[str, Any]:
    code = (data.code or "").strip().lower()
    if not code:
        refuse("Enter a code for the price list, like retail-chf.", "code")
    if len(code) > 60 or not CODE_PATTERN.match(code):
        refuse("A code has lower-case letters, digits and hyphens only (at most 60).", "code")
    clash = session.scalar(select(PriceList.id).where(PriceList.code == code))
    if clash is not None and (price_list is None or clash != price_list.id):
        refuse(f"Another price list already has the code {code}.", "code")
    name = check_text(data.name, "name", "name", max_length=200, required=True)
    currency = check_currency(data.currency)
    if (price_list is not None and currency != price_list.currency
            and session.scalar(select(exists().where(
                PriceListEntry.price_list_id == price_list.id)))):
        refuse("The currency cannot change while the list holds prices.", "currency")
    if data.scope not in SCOPES:
        refuse(f"The scope is one of {', '.join(SCOPES)}.", "scope")
    channel_code = customer_group = None
    customer_id = None
    if data.scope == "channel":
        channel_code = (data.channel_code or "").strip()
        channel = session.scalar(select(Channel).where(Channel.code == channel_code))
        if channel is None:
            refuse("Choose the channel this list is for.", "channel_code")
        if channel.currency != currency:
            refuse(f"Channel {channel.code} sells in {channel.currency}, not {currency}.",
                  "currency")
    elif data.scope == "group":
        customer_group = check_text(data.customer_group, "customer group", "customer_group",
                                    max_length=40, required=True)
    elif data.scope == "contract":
        number = (data.customer_number or "").strip().upper()
        customer_id = session.scalar(select(_customers.c.id).where(_customers.c.number == number))
        if not number or customer_id is None:
            refuse("Enter the number of an existing customer, like C-000123.",
                  "customer_number")
    if data.valid_from and data.valid_to and data.valid_to < data.valid_from:
        refuse("The list cannot end before it starts.", "valid_to")
    if not -1000 <= data.priority <= 1000:
        refuse("The priority is between -1000 and 1000.", "priority")
    return dict(code=code, name=name, currency=currency, scope=data.scope,
                channel_code=channel_code, customer_group=customer_group,
                customer_id=customer_id, valid_from=data.valid_from, valid_to=data.valid_to,
                priority=data.priority, prices_include_tax=bool(data.prices_include_tax),
                active=bool(data.active))


def create_price_list(session: Session, data: PriceListData, *, actor: audit.Actor
                      ) -> PriceList:
    """Add an (empty) price list for a scope, currency and period."""
    price_list = PriceList(**_price_list_values(session, data, None))
    session.add(price_list)
    session.flush()
    record_change(session, "price_list.created", actor, price_list,
            {k: audit_value(v) for k, v in _price_list_snapshot(price_list).items()})
    return price_list


def update_price_list(session: Session, price_list: PriceList, data: PriceListData, *,
                      actor: audit.Actor) -> PriceList:
    """Change a price list's settings (not its entries)."""
    changed = apply_changes(price_list, _price_list_values(session, data, price_list))
    if changed:
        session.flush()
        record_change(session, "price_list.updated", actor, price_list, {"changes": changed})
    return price_list


def _price_list_snapshot(pl: PriceList) -> dict[str, Any]:
    return dict(code=pl.code, name=pl.name, currency=pl.currency, scope=pl.scope,
                channel_code=pl.channel_code, customer_group=pl.customer_group,
                customer_id=pl.customer_id, valid_from=pl.valid_from, valid_to=pl.valid_to,
                priority=pl.priority, prices_include_tax=pl.prices_include_tax,
                active=pl.active)


def price_list_form_data(pl: PriceList, session: Session) -> PriceListData:
    """The settings of a list as the edit form shows them."""
    number = None
    if pl.customer_id:
        number = session.scalar(select(_customers.c.number)
                                .where(_customers.c.id == pl.customer_id))
    return PriceListData(code=pl.code, name=pl.name, currency=pl.currency, scope=pl.scope,
                         channel_code=pl.channel_code, customer_group=pl.customer_group,
                         customer_number=number, valid_from=pl.valid_from,
                         valid_to=pl.valid_to, priority=pl.priority,
                         prices_include_tax=pl.prices_include_tax, active=pl.active)


# --- read side of the price pages ------------------------------------------------------


def product_detail(session: Session, product_id: int) -> tuple[Product, dict[int, list]]:
    """A product with its variants and attributes, and each variant's price entries
    (with their lists), ordered by list then quantity break."""
    product = session.scalar(
        select(Product).where(Product.id == product_id)
        .options(selectinload(Product.variants).selectinload(Variant.attribute_values)))
    if product is None:
        raise NotFound("There is no such product.")
    prices: dict[int, list[PriceListEntry]] = defaultdict(list)
    ids = [v.id for v in product.variants]
    if ids:
        for entry in session.scalars(
                select(PriceListEntry).join(PriceList)
                .where(PriceListEntry.variant_id.in_(ids))
                .options(selectinload(PriceListEntry.price_list))
                .order_by(PriceList.code, PriceListEntry.min_quantity)):
            prices[entry.variant_id].append(entry)
    return product, prices


def price_list_entries(session: Session, price_list: PriceList, *, page: int = 1,
                       per_page: int = 100) -> Page[tuple]:
    """A page of (sku, product name, min quantity, unit price, entry id, product id) rows of
    a list, by SKU: two queries."""
    return paginate(session, select(
        Variant.sku, Product.name, PriceListEntry.min_quantity, PriceListEntry.unit_price,
        PriceListEntry.id, Product.id)
        .join(Variant, Variant.id == PriceListEntry.variant_id)
        .join(Product, Product.id == Variant.product_id)
        .where(PriceListEntry.price_list_id == price_list.id)
        .order_by(Variant.sku, PriceListEntry.min_quantity),
        page=page, per_page=per_page,
        count=select(func.count()).select_from(PriceListEntry)
        .where(PriceListEntry.price_list_id == price_list.id))


def price_lists(session: Session) -> list[tuple[PriceList, int]]:
    """Every price list with its number of entries."""
    counts = (select(PriceListEntry.price_list_id, func.count().label("n"))
              .group_by(PriceListEntry.price_list_id).subquery())
    return [(pl, n or 0) for pl, n in session.execute(
        select(PriceList, counts.c.n).outerjoin(counts, counts.c.price_list_id == PriceList.id)
        .order_by(PriceList.scope, PriceList.code))]


def by_code(session: Session) -> list[PriceList]:
    """Every price list, by code (for choices)."""
    return list(session.scalars(select(PriceList).order_by(PriceList.code)))


def variant_prices(session: Session, variant_id: int) -> list[PriceListEntry]:
    """A variant's prices in every list, by list code and quantity break."""
    return list(session.scalars(
        select(PriceListEntry).join(PriceList).where(PriceListEntry.variant_id == variant_id)
        .order_by(PriceList.code, PriceListEntry.min_quantity)))


def tax_categories(session: Session) -> list[TaxCategory]:
    """The tax categories a product can be given (for choices)."""
    return list(session.scalars(select(TaxCategory).order_by(TaxCategory.id)))



# --- lists named with whom they price for ------------------------------------------------

SCOPE_ORDER = {scope: n for n, scope in enumerate(SCOPES)}


def audience(pl: PriceList, channel_names: dict[str, str], customer_names: dict[int, str]
             ) -> str:
    """Who a list prices for, in words: everyone, a channel's customers, a customer group,
    one customer."""
    if pl.scope == "base":
        return "everyone"
    if pl.scope == "channel":
        return f"customers of {channel_names.get(pl.channel_code or '', 'one channel')}"
    if pl.scope == "group":
        return f"{pl.customer_group} customers"
    return f"{customer_names.get(pl.customer_id or 0, 'one customer')} only"


def labelled(session: Session) -> list[tuple[PriceList, str]]:
    """Every list with its label, "Retail EUR — everyone", base lists first (then channel,
    group, contract; by name): three queries."""
    lists = sorted(session.scalars(select(PriceList)),
                   key=lambda pl: (SCOPE_ORDER.get(pl.scope, 9), not pl.active, pl.name, pl.id))
    channel_names = dict(session.execute(select(Channel.code, Channel.name)).all())
    wanted = [pl.customer_id for pl in lists if pl.customer_id]
    customer_names = dict(session.execute(
        select(_customers.c.id, _customers.c.name).where(_customers.c.id.in_(wanted))
    ).all()) if wanted else {}
    return [(pl, f"{pl.name} — {audience(pl, channel_names, customer_names)}"
                 + ("" if pl.active else " (inactive)")) for pl in lists]


def base_list_id(session: Session) -> int | None:
    """The list a new price goes into unless told otherwise: the base list the channels
    default to (the one most of them use), else the first active base list."""
    found = session.execute(
        select(PriceList.id).join(Channel, Channel.default_price_list_id == PriceList.id)
        .where(PriceList.scope == "base", PriceList.active)
        .group_by(PriceList.id).order_by(func.count().desc(), PriceList.id).limit(1)).scalar()
    return found or session.scalar(select(PriceList.id).where(
        PriceList.scope == "base", PriceList.active).order_by(PriceList.id).limit(1))
