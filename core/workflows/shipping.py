"""Shipping an order: the steps, and where each is committed.

1. Lock the order; ship the quantities and invoice the shipment (one transaction); commit.
   A replacement sent for a return (an exchange) is paid from the return's credit notes
   in the same transaction (core.returns.settlement).
2. With no transaction open, ask the payments side to collect the invoice: it captures the
   card authorisation, charges a saved card, or places a payment hold and sends a pay
   link; an on-account invoice waits for the customer's transfer. It commits its own steps.
3. Tell the customer: a ShipmentSent event, committed once the money is collected, has
   core.notifications e-mail the shipment (tracking) and then the invoice (PDF), so that
   the invoice shows what was paid.

The goods have left once step 1 commits: a failure to collect later is reported in the
outcome and logged for billing to follow up, never turned into an error that would
make the warehouse ship the parcel a second time.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from core import audit, events
from core.billing.models import Invoice
from core.errors import DomainError
from core.fulfilment import services
from core.fulfilment.models import Shipment
from core.orders.queries import lock_order
from core.payments import capture
from core.returns import settlement as returns_settlement

log = logging.getLogger("marketline.fulfilment")


@dataclass(frozen=True)
class ShipOutcome:
    shipment: Shipment
    invoice: Invoice
    collection: capture.CollectOutcome | None = None  # None when collecting raised
    collection_error: str = ""

    @property
    def payment_problem(self) -> str:
        """What the warehouse should pass on when the money was not taken; "" otherwise."""
        if self.collection_error:
            return self.collection_error
        if self.collection is not None and self.collection.status in ("failed", "pending"):
            return self.collection.message or "The payment is not collected yet."
        return ""


def ship_order(session: Session, gateway, order_id: int, quantities: Mapping[int, int], *,
               carrier: str, tracking_number: str, actor: audit.Actor,
               commit: Callable[[], None]) -> ShipOutcome:
    """Ship and invoice, commit, collect the invoice, then have the customer e-mailed the
    shipment (tracking) and the invoice (PDF), after a last commit.

    A DomainError from shipping (quantities, carrier, holds) leaves nothing written
    once the caller rolls back.
    """
    order = lock_order(session, order_id)
    shipped = services.ship_and_invoice(session, order, quantities, carrier=carrier,
                                        tracking_number=tracking_number, actor=actor)
    return collect_and_tell(session, gateway, order, shipped, actor=actor, commit=commit)


def collect_and_tell(session: Session, gateway, order, shipped: services.Shipped, *,
                     actor: audit.Actor, commit: Callable[[], None]) -> ShipOutcome:
    """Steps 1 (its end) to 3 for a shipment just made and invoiced, ours or a supplier's
    (core.workflows.drop_shipment): commit, collect the invoice, tell the customer."""
    if order.payment_method == "exchange":  # a replacement: the return's credit pays it
        returns_settlement.pay_replacement_invoice(session, shipped.invoice, actor=actor)
    sent = events.ShipmentSent(shipped.shipment.id, shipped.invoice.id,
                               partial=order.status == "partially_shipped")
    commit()  # shipment, stock and invoice exist before the payment service is asked
    collection, problem = _collect(session, gateway, shipped.invoice.id, actor, commit)
    events.record(session, sent)  # after the capture: the invoice shows as paid
    commit()
    return ShipOutcome(shipped.shipment, shipped.invoice, collection, problem)


def _collect(session: Session, gateway, invoice_id: int, actor: audit.Actor,
             commit: Callable[[], None]) -> tuple[capture.CollectOutcome | None, str]:
    try:
        return capture.collect_invoice(session, gateway, invoice_id, actor=actor,
                                       commit=commit), ""
    except Exception as err:  # noqa: BLE001 - the goods have left; see the module docstring
        session.rollback()
        log.exception("collecting invoice %s after shipment failed", invoice_id)
        if isinstance(err, DomainError):
            return None, str(err)
        return None, "The payment could not be collected; billing will follow it up."
