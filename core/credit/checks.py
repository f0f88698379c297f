"""PLACEHOLDER FROM THE QUOTES BRANCH — the approvals branch owns this module and replaces it.

Only the agreed signature, so the quotes branch can call it and its tests run:
`check_order(session, order, *, actor) -> OrderHold | None`. The real check (approvals)
places a "credit" hold when an order on account takes the customer over its credit limit
or the customer has invoices overdue; this stand-in checks nothing and returns None.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from core import audit
from core.orders.models import Order, OrderHold


def check_order(session: Session, order: Order, *, actor: audit.Actor) -> OrderHold | None:
    """Stand-in (quotes branch): no credit check until the approvals branch is merged."""
    return None
