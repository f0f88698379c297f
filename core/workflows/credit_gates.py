"""The credit check at release to the warehouse and at invoicing (issue 15).

Fulfilment and credit are sibling packages (neither imports the other); this workflow
puts the credit check (core.credit.checks, whose docstring states the policy) in front of
the console's release and behind its ship-and-invoice:

* release: each confirmed order on account of the batch is checked first; an order that
  fails goes on a credit hold and is not released, and the warehouse reads why (the hold's
  note) in the refusal;
* shipping (our parcels, and a drop-shipping supplier's): the shipment is made and
  invoiced as always (the goods have left: the invoice
  is issued), then the order is checked, in the same transaction; a failed check holds
  the rest of the order, so nothing more ships until the credit team decides.

Card orders are never checked.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core import audit
from core.credit import checks
from core.fulfilment import services as fulfilment
from core.orders import holds
from core.orders.models import Order, OrderHold
from core.orders.queries import lock_order
from core.workflows import drop_shipment, shipping


def release_refusal(hold: OrderHold) -> str:
    return (f"credit hold ({holds.describe(hold)}). {hold.note} Only the credit team can "
            "release it.")


def release_orders(session: Session, order_ids: Iterable[int], *, actor: audit.Actor,
                   overdue_days: int) -> fulfilment.ReleaseResult:
    """Credit-check the batch's orders on account, then release the batch
    (core.workflows.drop_shipment.release_orders): an order that fails the check gets its
    credit hold and is reported refused with the hold's reason. Flushes; the caller
    commits."""
    ids = sorted(set(order_ids))
    held: dict[str, OrderHold] = {}
    if ids and len(ids) <= fulfilment.MAX_BATCH:
        for order in session.scalars(  # locked in id order, as the release locks them
                select(Order).where(Order.id.in_(ids)).order_by(Order.id)
                .options(selectinload(Order.holds)).with_for_update()
                .execution_options(populate_existing=True)):
            if hold := checks.check_at_release(session, order, overdue_days=overdue_days):
                held[order.number] = hold
    result = drop_shipment.release_orders(session, ids, actor=actor)
    refused = [(number, f"It is on {release_refusal(held[number])}" if number in held
                else why) for number, why in result.refused]
    return fulfilment.ReleaseResult(result.released, refused)


@dataclass(frozen=True)
class CheckedShipment:
    outcome: shipping.ShipOutcome
    credit_hold: OrderHold | None  # placed at invoicing on the rest of the order

    @property
    def credit_problem(self) -> str:
        if self.credit_hold is None:
            return ""
        return (f"The rest of the order is now on a credit hold: {self.credit_hold.note} "
                "Nothing more of it ships until the credit team releases the hold.")


def ship_order(session: Session, gateway, order_id: int, quantities: Mapping[int, int], *,
               carrier: str, tracking_number: str, actor: audit.Actor,
               commit: Callable[[], None], overdue_days: int) -> CheckedShipment:
    """core.workflows.shipping.ship_order with the credit check at invoicing: ship and
    invoice, check (a hold on the rest of the order when it fails), commit, collect, tell
    the customer."""
    order = lock_order(session, order_id)
    shipped = fulfilment.ship_and_invoice(session, order, quantities, carrier=carrier,
                                          tracking_number=tracking_number, actor=actor)
    hold = checks.check_at_invoicing(session, order, overdue_days=overdue_days)
    outcome = shipping.collect_and_tell(session, gateway, order, shipped, actor=actor,
                                        commit=commit)
    return CheckedShipment(outcome, hold)


def record_supplier_shipment(session: Session, gateway, number: str,
                             quantities: Mapping[int, int], *, carrier: str,
                             tracking_number: str, actor: audit.Actor,
                             commit: Callable[[], None], overdue_days: int) -> CheckedShipment:
    """core.workflows.drop_shipment.record_supplier_shipment with the credit check at
    invoicing, as `ship_order`: the supplier's parcel has left and is invoiced; a failed
    check holds the rest of the order."""
    held: list[OrderHold | None] = [None]

    def check(order: Order) -> None:
        held[0] = checks.check_at_invoicing(session, order, overdue_days=overdue_days)

    outcome = drop_shipment.record_supplier_shipment(
        session, gateway, number, quantities, carrier=carrier,
        tracking_number=tracking_number, actor=actor, commit=commit, after_invoicing=check)
    return CheckedShipment(outcome, held[0])
