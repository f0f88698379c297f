"""Tax categories and their rates by country and region, each valid for a period; two
periods of one category, country and region never overlap (the engine must find one rate).
Also a channel's settings that name a price list (pricing sits above the catalogue)."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from core import audit
from core.catalog.models import Channel
from core.errors import InvalidInput
from core.money import MINOR_UNITS
from core.pricing.models import PriceList, TaxCategory, TaxRate

COUNTRY = re.compile(r"^[A-Z]{2}$")


def _record(session: Session, action: str, actor: audit.Actor, subject, data: dict) -> None:
    audit.record(session, action, actor=actor, channel="console", subject=subject, data=data)


# --- tax categories ---------------------------------------------------------------------------


def create_tax_category(session: Session, *, code: str, name: str, actor: audit.Actor
                        ) -> TaxCategory:
    code = (code or "").strip().lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", code):
        raise InvalidInput("A code has lower-case letters, digits, - and _, like reduced.",
                           field="code")
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput("Enter a name of at most 100 characters.", field="name")
    if session.scalar(select(TaxCategory.id).where(TaxCategory.code == code)) is not None:
        raise InvalidInput(f"Tax category {code} already exists.", field="code")
    category = TaxCategory(code=code, name=name)
    session.add(category)
    session.flush()
    _record(session, "tax_category.created", actor, category, {"code": code})
    return category


# --- tax rates --------------------------------------------------------------------------------


@dataclass
class TaxRateData:
    tax_category_id: int | None
    country: str
    name: str
    rate_percent: Decimal | None  # 19 for 19 %
    valid_from: dt.date | None
    region: str = ""
    valid_to: dt.date | None = None


def tax_rates(session: Session) -> list[TaxRate]:
    """Every rate with its category: one query."""
    return list(session.scalars(select(TaxRate).options(joinedload(TaxRate.tax_category))
                                .order_by(TaxRate.country, TaxRate.region,
                                          TaxRate.tax_category_id, TaxRate.valid_from)))


def _values(session: Session, data: TaxRateData, rate: TaxRate | None) -> dict:
    if not data.tax_category_id or session.get(TaxCategory, data.tax_category_id) is None:
        raise InvalidInput("Choose the tax category.", field="tax_category_id")
    country = (data.country or "").strip().upper()
    if not COUNTRY.match(country):
        raise InvalidInput("The country is a two-letter code, like DE.", field="country")
    region = (data.region or "").strip().upper()
    if len(region) > 10 or not re.fullmatch(r"[A-Z0-9-]*", region):
        raise InvalidInput("A region is a code of up to 10 letters and digits, like BY; leave "
                           "it empty for the whole country.", field="region")
    name = (data.name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput("Enter a name of at most 100 characters, like VAT 19 %.",
                           field="name")
    percent = data.rate_percent
    if percent is None or not Decimal(0) <= percent <= Decimal(100):
        raise InvalidInput("The rate is a percentage from 0 to 100.", field="rate_percent")
    if percent != percent.quantize(Decimal("0.01")):
        raise InvalidInput("A rate has at most two decimals, like 7.75.", field="rate_percent")
    if data.valid_from is None:
        raise InvalidInput("Enter the date the rate applies from.", field="valid_from")
    if data.valid_to is not None and data.valid_to < data.valid_from:
        raise InvalidInput("The rate cannot end before it starts.", field="valid_to")
    overlapping = session.scalar(select(TaxRate).where(
        TaxRate.tax_category_id == data.tax_category_id, TaxRate.country == country,
        TaxRate.region == region,
        TaxRate.id != (rate.id if rate is not None else -1),
        or_(TaxRate.valid_to.is_(None), TaxRate.valid_to >= data.valid_from),
        *([TaxRate.valid_from <= data.valid_to] if data.valid_to else [])).limit(1))
    if overlapping is not None:
        until = overlapping.valid_to.isoformat() if overlapping.valid_to else "open end"
        raise InvalidInput(
            f"{overlapping.name} ({overlapping.valid_from.isoformat()} to {until}) already "
            f"applies to this category in {country}{' ' + region if region else ''} then; "
            "end it first or choose other dates.", field="valid_from")
    return dict(tax_category_id=data.tax_category_id, country=country, region=region,
                name=name, rate=(percent / 100).quantize(Decimal("0.0001")),
                valid_from=data.valid_from, valid_to=data.valid_to)


def create_tax_rate(session: Session, data: TaxRateData, *, actor: audit.Actor) -> TaxRate:
    rate = TaxRate(**_values(session, data, None))
    session.add(rate)
    session.flush()
    _record(session, "tax_rate.created", actor, rate,
            {"country": rate.country, "region": rate.region, "rate": str(rate.rate)})
    return rate


def update_tax_rate(session: Session, rate: TaxRate, data: TaxRateData, *,
                    actor: audit.Actor) -> TaxRate:
    values = _values(session, data, rate)
    changed = sorted(k for k, v in values.items() if getattr(rate, k) != v)
    for k in changed:
        setattr(rate, k, values[k])
    session.flush()
    if changed:
        _record(session, "tax_rate.updated", actor, rate, {"changed": changed})
    return rate


# --- channels ---------------------------------------------------------------------------------


@dataclass
class ChannelData:
    name: str
    currency: str
    prices_include_tax: bool
    country: str
    default_price_list_id: int | None
    active: bool = True


def update_channel(session: Session, channel: Channel, data: ChannelData, *,
                   actor: audit.Actor) -> Channel:
    """Change a channel's name, currency, tax basis and country, price list, active flag."""
    name = (data.name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput("Enter a name of at most 100 characters.", field="name")
    currency = (data.currency or "").strip().upper()
    if currency not in MINOR_UNITS:
        raise InvalidInput("Choose a currency Marketline accepts.", field="currency")
    country = (data.country or "").strip().upper()
    if not COUNTRY.match(country):
        raise InvalidInput("The tax country is a two-letter code, like DE.", field="country")
    price_list = None
    if data.default_price_list_id:
        price_list = session.get(PriceList, data.default_price_list_id)
        if price_list is None:
            raise InvalidInput("Choose an existing price list.", field="default_price_list_id")
        if price_list.currency != currency:
            raise InvalidInput(f"Price list {price_list.code} is in {price_list.currency}; the "
                               f"channel sells in {currency}.", field="default_price_list_id")
    values = dict(name=name, currency=currency, prices_include_tax=bool(data.prices_include_tax),
                  country=country, default_price_list_id=price_list.id if price_list else None,
                  active=bool(data.active))
    changed = sorted(k for k, v in values.items() if getattr(channel, k) != v)
    for k in changed:
        setattr(channel, k, values[k])
    session.flush()
    if changed:
        _record(session, "channel.updated", actor, channel,
                {"code": channel.code, "changed": changed})
    return channel
