"""Suppliers as master data: who we buy from, and who drop-ships to our customers."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.errors import InvalidInput
from core.inventory.models import Supplier
from core.inventory.warehouses import check_address, check_code, check_name

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_LEAD_DAYS = 365


@dataclass
class SupplierData:
    code: str
    name: str
    email: str = ""
    phone: str = ""
    address: dict[str, str] = field(default_factory=dict)
    lead_days: int | None = 10
    active: bool = True


def suppliers(session: Session, *, active_only: bool = False) -> list[Supplier]:
    """Suppliers by name: one query."""
    query = select(Supplier).order_by(Supplier.name, Supplier.id)
    if active_only:
        query = query.where(Supplier.active)
    return list(session.scalars(query))


def _values(session: Session, data: SupplierData, supplier: Supplier | None) -> dict:
    code = check_code(data.code, "supplier")
    clash = session.scalar(select(Supplier.id).where(Supplier.code == code))
    if clash is not None and (supplier is None or clash != supplier.id):
        raise InvalidInput(f"Supplier {code} already exists.", field="code")
    email = (data.email or "").strip()
    if email and (len(email) > 254 or not EMAIL.match(email)):
        raise InvalidInput("Enter an e-mail address like orders@supplier.example.", field="email")
    phone = (data.phone or "").strip()
    if len(phone) > 40:
        raise InvalidInput("A phone number has at most 40 characters.", field="phone")
    if data.lead_days is None or not 0 <= data.lead_days <= MAX_LEAD_DAYS:
        raise InvalidInput(f"The lead time is 0 to {MAX_LEAD_DAYS} working days.",
                           field="lead_days")
    return dict(code=code, name=check_name(data.name, "supplier", 200), email=email,
                phone=phone, address=check_address(data.address), lead_days=data.lead_days,
                active=bool(data.active))


def create_supplier(session: Session, data: SupplierData, *, actor: audit.Actor) -> Supplier:
    supplier = Supplier(**_values(session, data, None))
    session.add(supplier)
    session.flush()
    audit.record(session, "supplier.created", actor=actor, channel="console", subject=supplier,
                 data={"code": supplier.code})
    return supplier


def update_supplier(session: Session, supplier: Supplier, data: SupplierData, *,
                    actor: audit.Actor) -> Supplier:
    values = _values(session, data, supplier)
    changed = sorted(k for k, v in values.items() if getattr(supplier, k) != v)
    for k in changed:
        setattr(supplier, k, values[k])
    session.flush()
    if changed:
        audit.record(session, "supplier.updated", actor=actor, channel="console",
                     subject=supplier, data={"code": supplier.code, "changed": changed})
    return supplier
