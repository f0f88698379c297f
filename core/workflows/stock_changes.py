"""Stock that becomes free goes to the orders waiting for it first.

Goods received fill backorders (core.workflows.stock_receipts). So does every other way
units become free in a warehouse: units found (a positive adjustment), a count above the
books, a transfer in, returned goods put back on the shelf, and an order cancelled with
units reserved. Each of these posts its change through core.inventory (or core.returns),
then gives the warehouse's free units of the variant to its backordered order lines,
oldest order first (stock_receipts.fill_backorders). Each function flushes; the caller
commits.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from core import audit
from core.inventory import services as inventory
from core.inventory.models import StockMovement
from core.orders.models import Order
from core.payments import services as payments
from core.returns import services as returns
from core.workflows import stock_receipts
from core.workflows.stock_receipts import Filled


@dataclass(frozen=True)
class Changed:
    """The movement posted (for a transfer: the one into the target) and the backorders
    the freed units filled."""

    movement: StockMovement
    filled: list[Filled] = field(default_factory=list)

    @property
    def units_filled(self) -> int:
        return sum(f.units for f in self.filled)


def fill_freed(session: Session, places: Iterable[tuple[int, str | None]], *,
               actor: audit.Actor, reference: str = "",
               waiting: Mapping[tuple[int, str], list] | None = None) -> list[Filled]:
    """Fill the backorders of each (variant id, warehouse) whose stock may have become
    free, in a fixed order (variant, then warehouse). Lines of no warehouse (drop-shipped)
    are left out. `waiting`: the lines stock_receipts.lock_waiting locked before the stock
    changed (orders first, stock rows second)."""
    filled: list[Filled] = []
    for variant_id, warehouse in sorted({(v, w) for v, w in places if w}):
        filled += stock_receipts.fill_backorders(
            session, variant_id=variant_id, warehouse=warehouse, actor=actor,
            reference=reference, waiting=(waiting or {}).get((variant_id, warehouse)))
    return filled


def adjust(session: Session, *, variant_id: int, warehouse: str, change: int, reason: str,
           actor: audit.Actor, note: str = "") -> Changed:
    """inventory.adjust; units found fill backorders. "Not that many on hand" is said at
    the `change` field."""
    waiting = stock_receipts.lock_waiting(session, [(variant_id, warehouse)])
    try:
        movement = inventory.adjust(session, variant_id=variant_id, warehouse=warehouse,
                                    change=change, reason=reason, note=note, by=actor.label)
    except inventory.StockError as err:
        if err.field == "quantity":
            raise inventory.StockError(str(err), field="change") from None
        raise
    filled = (fill_freed(session, [(variant_id, warehouse)], actor=actor, waiting=waiting,
                         reference=movement.reference) if movement.quantity > 0 else [])
    return Changed(movement, filled)


def count(session: Session, *, variant_id: int, warehouse: str, counted: int,
          actor: audit.Actor, note: str = "") -> Changed:
    """inventory.count; units counted above the books fill backorders."""
    waiting = stock_receipts.lock_waiting(session, [(variant_id, warehouse)])
    movement = inventory.count(session, variant_id=variant_id, warehouse=warehouse,
                               counted=counted, note=note, by=actor.label)
    filled = (fill_freed(session, [(variant_id, warehouse)], actor=actor, waiting=waiting,
                         reference=movement.reference) if movement.quantity > 0 else [])
    return Changed(movement, filled)


def transfer(session: Session, *, variant_id: int, source: str, target: str, quantity: int,
             actor: audit.Actor, note: str = "") -> Changed:
    """inventory.transfer; the units moved in fill the target warehouse's backorders."""
    waiting = stock_receipts.lock_waiting(session, [(variant_id, target)])
    _, into = inventory.transfer(session, variant_id=variant_id, source=source, target=target,
                                 quantity=quantity, note=note, by=actor.label)
    return Changed(into, fill_freed(session, [(variant_id, target)], actor=actor,
                                    waiting=waiting, reference=into.reference))


@dataclass(frozen=True)
class ReturnReceived:
    outcome: returns.ReceiptOutcome
    filled: list[Filled] = field(default_factory=list)


def receive_returned_goods(session: Session, rma, lines: Mapping[int, returns.Received], *,
                           actor: audit.Actor, key: str) -> ReturnReceived:
    """returns.receive (restocked units go back to the warehouse each line shipped from),
    then the restocked units fill that warehouse's backorders."""
    outcome = returns.receive(session, rma, lines, actor=actor, key=key)
    filled = fill_freed(session, outcome.restocked_in, actor=actor,
                        reference=outcome.rma.number)
    return ReturnReceived(outcome, filled)


def held_by(order: Order) -> list[tuple[int, str]]:
    """(variant id, warehouse) of the order's lines holding reserved units: read before the
    order is cancelled, filled (fill_freed) after."""
    return sorted({(l.variant_id, l.warehouse) for l in order.lines
                   if l.warehouse and l.quantity_reserved > 0})


def abandon(session: Session, order: Order, *, actor: audit.Actor, reason: str) -> None:
    """payments.abandon (a checkout whose payment failed is cancelled, if it still waits
    for its payment), then the units it held fill the orders waiting for them."""
    held = held_by(order)
    waiting = stock_receipts.lock_waiting(session, held)
    payments.abandon(session, order, actor=actor, reason=reason)
    fill_freed(session, held, actor=actor, reference=order.number, waiting=waiting)


def after_abandoned(session: Session, order: Order) -> None:
    """An order cancelled elsewhere (a failed payment's webhook, core.payments.webhooks):
    its lines' warehouses fill their backorders with what may have become free."""
    fill_freed(session, [(l.variant_id, l.warehouse) for l in order.lines],
               actor=audit.Actor.system("stripe-webhook"),
               reference=order.number)
