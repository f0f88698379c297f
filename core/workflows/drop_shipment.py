"""Drop shipment: a supplier ships some of an order's lines straight to our customer.

* Release: when an order goes to the warehouse, its drop-shipped lines become purchase
  orders (one per supplier, once), and each is e-mailed to its supplier with its PDF after
  the commit (events.PurchaseOrderSent -> core.notifications).
* The supplier's shipment (carrier, tracking number, units per purchase order line) is a
  shipment of the sales order with `purchase_order_id` set and no stock movement: the
  order becomes partially shipped or shipped as with our own parcels, the shipment is
  invoiced, the card captured and the customer e-mailed the tracking and the invoice,
  by the very steps of core.workflows.shipping.
* Cancelling the sales order (core.workflows.cancellation) cancels its purchase orders the
  supplier has not shipped from, and the supplier is told (events.PurchaseOrderCancelled).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, events
from core.fulfilment import queries as fulfilment_queries
from core.fulfilment import services as fulfilment
from core.fulfilment.models import Shipment
from core.orders.models import Order
from core.orders.queries import lock_order
from core.purchasing import services as purchasing
from core.purchasing.models import PurchaseOrder
from core.purchasing.states import PurchaseOrderStatus
from core.workflows import shipping


def order_from_suppliers(session: Session, order: Order, *,
                         actor: audit.Actor) -> list[PurchaseOrder]:
    """Make the order's purchase orders (once) and have each e-mailed to its supplier after
    the commit. Flushes; the caller commits."""
    made = purchasing.create_for_order(session, order, actor=actor)
    for po in made:
        events.record(session, events.PurchaseOrderSent(po.id))
    return made


def release_order(session: Session, order: Order, *, actor: audit.Actor) -> None:
    """Release one order to the warehouse (core.fulfilment) and order its drop-shipped
    lines from their suppliers. Flushes; the caller commits."""
    fulfilment.release_order(session, order, actor=actor)
    order_from_suppliers(session, order, actor=actor)


def release_orders(session: Session, order_ids: Iterable[int], *,
                   actor: audit.Actor) -> fulfilment.ReleaseResult:
    """Release a batch (core.fulfilment.release_orders) and order the drop-shipped lines of
    every order released. Flushes; the caller commits."""
    result = fulfilment.release_orders(session, order_ids, actor=actor)
    for order in result.released:
        order_from_suppliers(session, order, actor=actor)
    return result


def send_again(session: Session, po: PurchaseOrder, *, actor: audit.Actor) -> None:
    """E-mail the purchase order to its supplier again, after the commit."""
    if po.status == PurchaseOrderStatus.CANCELLED:
        raise purchasing.PurchasingError(f"Purchase order {po.number} is cancelled; the "
                                         "supplier was told not to ship it.")
    if not po.supplier.email:
        raise purchasing.PurchasingError(f"{po.supplier.name} has no e-mail address; send "
                                         "the PDF by hand.")
    audit.record(session, "purchase_order.resend_asked", actor=actor,
                 channel=purchasing.CHANNEL, subject=po, data={"number": po.number})
    events.record(session, events.PurchaseOrderSent(po.id, resend=True))
    session.flush()


def record_supplier_shipment(session: Session, gateway, number: str,
                             quantities: Mapping[int, int], *, carrier: str,
                             tracking_number: str, actor: audit.Actor,
                             commit: Callable[[], None],
                             after_invoicing: Callable[[Order], object] | None = None
                             ) -> shipping.ShipOutcome:
    """The supplier shipped `quantities` (purchase order line id -> units) of purchase
    order `number`: ship and invoice them on the sales order, commit, collect the invoice,
    tell the customer (core.workflows.shipping). `after_invoicing(order)` runs once the
    shipment is invoiced, in the same transaction (the credit check:
    core.workflows.credit_gates). A DomainError leaves nothing written once the caller
    rolls back."""
    order_id = purchasing.get(session, number).order_id  # NotFound: 404
    order = lock_order(session, order_id)  # the order first, as every shipment locks it
    po = purchasing.get(session, number, lock=True)
    lines = purchasing.record_shipment(session, po, quantities, actor=actor, carrier=carrier,
                                       tracking_number=tracking_number)
    shipped = fulfilment.ship_drop_shipped(session, order, lines, purchase_order_id=po.id,
                                           carrier=carrier, tracking_number=tracking_number,
                                           actor=actor)
    if after_invoicing is not None:
        after_invoicing(order)
    return shipping.collect_and_tell(session, gateway, order, shipped, actor=actor,
                                     commit=commit)


def cancel_purchase_orders(session: Session, order: Order, *, actor: audit.Actor,
                           reason: str) -> list[PurchaseOrder]:
    """Cancel the order's purchase orders the supplier has not shipped from, and have each
    supplier told after the commit. Flushes; the caller commits."""
    cancelled = []
    for po in session.scalars(select(PurchaseOrder).where(
            PurchaseOrder.order_id == order.id,
            PurchaseOrder.status == PurchaseOrderStatus.SENT).order_by(PurchaseOrder.id)
            .with_for_update()):
        purchasing.cancel(session, po, actor=actor, reason=reason)
        events.record(session, events.PurchaseOrderCancelled(po.id))
        cancelled.append(po)
    return cancelled


def shipments_of(session: Session, po: PurchaseOrder) -> list:
    """The shipments recorded on the purchase order, as the order page shows shipments
    (core.fulfilment.queries.ShipmentInfo). Two queries."""
    ids = set(session.scalars(select(Shipment.id).where(Shipment.purchase_order_id == po.id)))
    if not ids:
        return []
    return [s for s in fulfilment_queries.shipments_for_order(session, po.order_id)
            if s.id in ids]
