"""Demo saved lists: Acme's buyers share "Monthly office supplies" and "Break room"."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.catalog.models import Variant
from core.customers.models import CustomerUser
from core.orders import lists

LISTS = (
    ("buyer@acme.example", "Monthly office supplies",
     [("PAP-A4-80-BOX", 4), ("PEN-G2-BLU", 10), ("STN-76-YEL", 6), ("TON-TN3430", 1),
      ("FIL-LA-80-BLU", 20)]),
    ("admin@acme.example", "Break room",
     [("BEAN-LAV-CRE-1", 6), ("CUP-200-1000", 1), ("CRM-200", 2), ("TEA-BLK-100", 3)]),
)


def load_lists(session: Session) -> str:
    """Through the lists service, as a buyer would make them. Flushes."""
    skus = dict(session.execute(select(Variant.sku, Variant.id)).all())
    for email, name, items in LISTS:
        user = session.scalar(select(CustomerUser).where(CustomerUser.email == email))
        lists.create(session, user, name=name, items=[(skus[s], q) for s, q in items])
    return "Acme's buyers share two saved lists (Monthly office supplies, Break room)."
