"""The returns policy: reasons, the return window, what cannot come back, the restocking
fee, shipping, and who approves. Shown to the customer before they ask (`summary`).

- Window: RETURN_WINDOW_DAYS from delivery (the shipment's delivery, else its dispatch),
  unless the product or its category (the nearest one in its path that sets it) says
  otherwise; a product marked not returnable never comes back.
- Restocking fee: RETURN_RESTOCKING_FEE_PERCENT of the goods' price when the buyer changed
  their mind; nothing when the fault is ours (damaged, defective, wrong item, not as
  described) or for an exchange.
- Shipping is refunded when the goods were damaged, defective or the wrong item.
- Approval: a request within policy worth up to RETURN_AUTO_APPROVE_LIMIT approves itself;
  above it an agent decides, and above RETURN_APPROVAL_LIMIT only a supervisor. Goods worth
  up to RETURN_KEEP_LIMIT are not sent back: refunded on approval, no label.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.catalog.models import Category, Product, Variant


@dataclass(frozen=True)
class Reason:
    code: str
    label: str
    our_fault: bool  # no restocking fee
    refunds_shipping: bool


REASONS: dict[str, Reason] = {r.code: r for r in (
    Reason("damaged", "Arrived damaged", True, True),
    Reason("defective", "Defective or doesn't work", True, True),
    Reason("wrong_item", "Wrong item sent", True, True),
    Reason("not_as_described", "Not as described", True, False),
    Reason("changed_mind", "Changed my mind", False, False),
    Reason("other", "Other", False, False),
)}
CONDITIONS = {"resellable": "Resellable", "damaged": "Damaged"}
DISPOSITIONS = {"restock": "Restock", "scrap": "Scrap"}
RESOLUTIONS = {"refund": "Money back", "exchange": "Exchange for a replacement"}
REFUND_METHODS = {"card": "Back to the card", "gift_card": "Back to the gift card",
                  "store_credit": "Store credit", "invoices": "Against open invoices"}


def fee_percent(reason: str, resolution: str, settings) -> Decimal:
    found = REASONS.get(reason)
    if found is None or found.our_fault or resolution == "exchange":
        return Decimal(0)
    if reason == "changed_mind":
        return Decimal(settings.RETURN_RESTOCKING_FEE_PERCENT)
    return Decimal(0)


def refunds_shipping(reasons: Iterable[str]) -> bool:
    return any(REASONS[r].refunds_shipping for r in reasons if r in REASONS)


def windows(session: Session, variant_ids: Iterable[int], settings
            ) -> dict[int, tuple[bool, int]]:
    """Per variant id: (returnable, window in days). Two queries."""
    ids = set(variant_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Variant.id, Product.returnable, Product.return_days, Category.path)
        .join(Product, Product.id == Variant.product_id)
        .join(Category, Category.id == Product.category_id)
        .where(Variant.id.in_(ids))).all()
    path_ids = {int(p) for *_, path in rows for p in (path or "").strip("/").split("/") if p}
    category_days = dict(session.execute(
        select(Category.id, Category.return_days)
        .where(Category.id.in_(path_ids), Category.return_days.is_not(None))).all()) \
        if path_ids else {}
    found = {}
    for variant_id, returnable, product_days, path in rows:
        days = product_days
        if days is None:  # the nearest category in the path that sets a window
            for cid in reversed([int(p) for p in (path or "").strip("/").split("/") if p]):
                if cid in category_days:
                    days = category_days[cid]
                    break
        found[variant_id] = (bool(returnable), settings.RETURN_WINDOW_DAYS if days is None
                             else int(days))
    return found


def approval(value: Decimal, settings) -> str:
    """Who decides a request worth `value` (gross, order currency): "auto", "agent" or
    "supervisor"."""
    if value > Decimal(settings.RETURN_APPROVAL_LIMIT):
        return "supervisor"
    if value > Decimal(settings.RETURN_AUTO_APPROVE_LIMIT):
        return "agent"
    return "auto"


def ship_back(value: Decimal, settings) -> bool:
    return value > Decimal(settings.RETURN_KEEP_LIMIT)


def summary(settings, currency_format=None) -> list[str]:
    """The policy in the customer's words, shown above the return form."""
    fmt = currency_format or (lambda amount: f"{amount}")
    return [
        f"You can return most items within {settings.RETURN_WINDOW_DAYS} days of delivery; "
        "some products have their own window, and a few cannot be returned (shown below).",
        f"If you changed your mind, a restocking fee of {settings.RETURN_RESTOCKING_FEE_PERCENT} % "
        "of the item's price is kept. Damaged, defective, wrong or not-as-described items are "
        "refunded in full.",
        "We refund the delivery charge when an item arrived damaged, is defective or is "
        "not what you ordered.",
        f"Returns worth up to {fmt(Decimal(settings.RETURN_AUTO_APPROVE_LIMIT))} are approved "
        "at once; larger ones are checked by our team, usually within one working day.",
        f"Items worth up to {fmt(Decimal(settings.RETURN_KEEP_LIMIT))} need not be sent "
        "back. For the rest, we e-mail a return label once the return is approved.",
        "Your money goes back the way you paid, once the items reach us.",
    ]


def deadline(delivered: dt.date | None, days: int) -> dt.date | None:
    return None if delivered is None else delivered + dt.timedelta(days=days)


def describe_reasons() -> Mapping[str, str]:
    return {code: r.label for code, r in REASONS.items()}


def reason_label(code: str) -> str:
    found = REASONS.get(code)
    return found.label if found else code


def refund_method_label(code: str) -> str:
    return REFUND_METHODS.get(code, code)
