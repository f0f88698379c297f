"""Purchase orders for drop shipment: made from an order's drop-shipped lines (one per
supplier), cancelled with the sales order before the supplier shipped, and the supplier's
shipment of some or all of their lines recorded.

The policy:

* An order gets its purchase orders once: making them again answers nothing new.
* Each line asks for what is still outstanding on the order line; the goods go to the
  order's shipping address (a snapshot on the purchase order).
* A shipment ships 0..what is still open on each line, at least one unit in all; the
  purchase order becomes partially_shipped, or shipped once every unit has left.
* Only a purchase order the supplier has not shipped from yet is cancelled.

Status only through core.purchasing.states; every change audited. Flushes; the caller
commits (core.workflows.drop_shipment tells the supplier after commit).
"""
from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core import audit
from core.db import utcnow
from core.errors import DomainError, NotFound
from core.numbering import next_number
from core.orders.models import Order, OrderLine
from core.purchasing.models import PurchaseOrder, PurchaseOrderLine
from core.purchasing.states import PurchaseOrderStatus, label, move_purchase_order

CHANNEL = "console"
OPEN = (PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTIALLY_SHIPPED)
MAX_QUANTITY = 9999


class PurchasingError(DomainError):
    code = "purchasing"


def drop_shipped_lines(order: Order) -> list[OrderLine]:
    """The order's lines its suppliers ship (no warehouse of ours, a supplier)."""
    return [l for l in order.lines if l.warehouse is None and l.supplier_id is not None]


def for_order(session: Session, order_id: int) -> list[PurchaseOrder]:
    """The order's purchase orders with their lines and suppliers: three queries."""
    return list(session.scalars(
        select(PurchaseOrder).where(PurchaseOrder.order_id == order_id)
        .options(selectinload(PurchaseOrder.lines), selectinload(PurchaseOrder.supplier))
        .order_by(PurchaseOrder.id)))


def get(session: Session, number: str, *, lock: bool = False) -> PurchaseOrder:
    """The purchase order numbered `number` (NotFound otherwise), with lines and supplier."""
    stmt = (select(PurchaseOrder).where(PurchaseOrder.number == (number or "").strip().upper())
            .options(selectinload(PurchaseOrder.lines), selectinload(PurchaseOrder.supplier)))
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    found = session.scalar(stmt)
    if found is None:
        raise NotFound("We could not find that purchase order.")
    return found


def create_for_order(session: Session, order: Order, *,
                     actor: audit.Actor) -> list[PurchaseOrder]:
    """Make the purchase orders of `order` (one per supplier of its drop-shipped lines) and
    answer them; answer [] when the order has its purchase orders already, or ships nothing
    by supplier. The caller holds the order's lock."""
    if session.scalar(select(PurchaseOrder.id).where(PurchaseOrder.order_id == order.id)
                      .limit(1)) is not None:
        return []
    by_supplier: dict[int, list[OrderLine]] = {}
    for line in drop_shipped_lines(order):
        if line.quantity > line.quantity_shipped:
            by_supplier.setdefault(line.supplier_id, []).append(line)
    made = []
    for supplier_id, lines in sorted(by_supplier.items()):
        po = PurchaseOrder(
            number=next_number(session, "purchase_order"), supplier_id=supplier_id,
            order_id=order.id, status=PurchaseOrderStatus.SENT,
            ship_to=dict(order.shipping_address or {}), created_by=actor.label,
            created_at=utcnow(),
            lines=[PurchaseOrderLine(order_line_id=l.id, sku=l.sku, name=l.name,
                                     quantity=l.quantity - l.quantity_shipped) for l in lines])
        session.add(po)
        session.flush()
        audit.record(session, "purchase_order.sent", actor=actor, channel=CHANNEL, subject=po,
                     data={"number": po.number, "order": order.number,
                           "lines": {l.sku: l.quantity for l in po.lines}})
        made.append(po)
    session.flush()
    return made


def cancel(session: Session, po: PurchaseOrder, *, actor: audit.Actor, reason: str) -> None:
    """Cancel a purchase order the supplier has not shipped from. Flushes."""
    if po.status != PurchaseOrderStatus.SENT:
        raise PurchasingError(f"Purchase order {po.number} is {label(po.status).lower()}; "
                              "only one the supplier has not shipped from can be cancelled.")
    move_purchase_order(po, PurchaseOrderStatus.CANCELLED, audit=audit.Entry(
        session, "purchase_order.cancelled", actor, CHANNEL,
        {"number": po.number, "reason": reason[:200]}))
    session.flush()


def record_shipment(session: Session, po: PurchaseOrder, quantities: Mapping[int, int], *,
                    actor: audit.Actor, carrier: str = "",
                    tracking_number: str = "") -> dict[int, int]:
    """The supplier shipped `quantities` (purchase order line id -> units) of the locked
    `po`: count them shipped and move its status. Answers order line id -> units, what the
    sales order's shipment holds. Flushes."""
    if po.status not in OPEN:
        raise PurchasingError(f"Purchase order {po.number} is {label(po.status).lower()}; "
                              "nothing more can ship on it.")
    picked = _picked(po, quantities)
    for line, quantity in picked:
        line.quantity_shipped += quantity
    target = (PurchaseOrderStatus.SHIPPED
              if all(l.quantity_shipped >= l.quantity for l in po.lines)
              else PurchaseOrderStatus.PARTIALLY_SHIPPED)
    move_purchase_order(po, target, audit=audit.Entry(
        session, f"purchase_order.{target}", actor, CHANNEL,
        {"number": po.number, "carrier": carrier, "tracking_number": tracking_number,
         "lines": {l.sku: q for l, q in picked}}))
    po.shipped_at = utcnow()
    session.flush()
    return {line.order_line_id: quantity for line, quantity in picked}


def _picked(po: PurchaseOrder, quantities: Mapping[int, int]
            ) -> list[tuple[PurchaseOrderLine, int]]:
    lines = {line.id: line for line in po.lines}
    picked = []
    for line_id, quantity in quantities.items():
        line = lines.get(line_id)
        if line is None:
            raise PurchasingError(f"That line is not on purchase order {po.number}.")
        if quantity == 0:
            continue
        left = line.quantity - line.quantity_shipped
        if left <= 0:
            raise PurchasingError(f"{line.sku} has shipped in full.", field=f"qty-{line.id}")
        if quantity < 0 or quantity > left:
            raise PurchasingError(f"Enter from 1 to {left} units of {line.sku}, or 0 if the "
                                  "supplier has not shipped it yet.", field=f"qty-{line.id}")
        picked.append((line, quantity))
    if not picked:
        raise PurchasingError("Enter the units the supplier shipped for at least one line.")
    return picked


def mark_emailed(session: Session, po: PurchaseOrder, *, actor: audit.Actor, to: str,
                 what: str = "purchase_order.emailed") -> None:
    """Note that the purchase order (or its cancellation) went to the supplier. Flushes."""
    if what == "purchase_order.emailed":
        po.emailed_at = utcnow()
    audit.record(session, what, actor=actor, channel="email", subject=po,
                 data={"number": po.number, "to": to})
    session.flush()
