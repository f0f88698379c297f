"""Shipping methods as master data: flat or by weight, a price (incl. tax), per kg, free
above an order value, transit days, the countries and channels they serve."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.catalog.models import Channel
from core.errors import InvalidInput
from core.orders.shipping import ShippingMethod

KINDS = {"flat": "Flat rate", "weight": "By weight"}


@dataclass
class ShippingMethodData:
    code: str
    name: str
    kind: str = "flat"
    price: Decimal | None = None
    per_kg: Decimal | None = None
    free_above: Decimal | None = None
    transit_days: int | None = 2
    countries: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    position: int = 0
    active: bool = True


def shipping_methods(session: Session) -> list[ShippingMethod]:
    """Every method by position: one query."""
    return list(session.scalars(select(ShippingMethod)
                                .order_by(ShippingMethod.position, ShippingMethod.id)))


def _amount(value: Decimal | None, field_name: str, label: str, *, required: bool = False
            ) -> Decimal | None:
    if value is None:
        if required:
            raise InvalidInput(f"Enter the {label}, like 4.90.", field=field_name)
        return None
    if value < 0 or value != value.quantize(Decimal("0.01")):
        raise InvalidInput(f"The {label} is 0 or more with at most two decimals.",
                           field=field_name)
    return value


def _values(session: Session, data: ShippingMethodData, method: ShippingMethod | None) -> dict:
    code = (data.code or "").strip().lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", code):
        raise InvalidInput("A code has lower-case letters, digits, - and _, like express.",
                           field="code")
    clash = session.scalar(select(ShippingMethod.id).where(ShippingMethod.code == code))
    if clash is not None and (method is None or clash != method.id):
        raise InvalidInput(f"Shipping method {code} already exists.", field="code")
    name = (data.name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput("Enter a name of at most 100 characters.", field="name")
    if data.kind not in KINDS:
        raise InvalidInput("Choose flat rate or by weight.", field="kind")
    per_kg = _amount(data.per_kg, "per_kg", "price per kg") or Decimal(0)
    if data.kind == "weight" and per_kg == 0:
        raise InvalidInput("A rate by weight needs a price per kg.", field="per_kg")
    if data.transit_days is None or not 0 <= data.transit_days <= 60:
        raise InvalidInput("Transit takes 0 to 60 working days.", field="transit_days")
    countries = sorted({c.strip().upper() for c in data.countries if c.strip()})
    if bad := [c for c in countries if not re.fullmatch(r"[A-Z]{2}", c)]:
        raise InvalidInput(f"Countries are two-letter codes, like DE, AT; {bad[0]} is not.",
                           field="countries")
    known = set(session.scalars(select(Channel.code)))
    if unknown := [c for c in data.channels if c not in known]:
        raise InvalidInput(f"There is no channel {unknown[0]}.", field="channels")
    if not 0 <= (data.position or 0) <= 1000:
        raise InvalidInput("The position is 0 to 1000.", field="position")
    return dict(code=code, name=name, kind=data.kind,
                price=_amount(data.price, "price", "price", required=True), per_kg=per_kg,
                free_above=_amount(data.free_above, "free_above", "free-above amount"),
                transit_days=data.transit_days, countries=countries,
                channels=sorted(set(data.channels)), position=data.position or 0,
                active=bool(data.active))


def create_shipping_method(session: Session, data: ShippingMethodData, *,
                           actor: audit.Actor) -> ShippingMethod:
    method = ShippingMethod(**_values(session, data, None))
    session.add(method)
    session.flush()
    audit.record(session, "shipping_method.created", actor=actor, channel="console",
                 subject=method, data={"code": method.code})
    return method


def update_shipping_method(session: Session, method: ShippingMethod, data: ShippingMethodData,
                           *, actor: audit.Actor) -> ShippingMethod:
    values = _values(session, data, method)
    changed = sorted(k for k, v in values.items() if getattr(method, k) != v)
    for k in changed:
        setattr(method, k, values[k])
    session.flush()
    if changed:
        audit.record(session, "shipping_method.updated", actor=actor, channel="console",
                     subject=method, data={"code": method.code, "changed": changed})
    return method
