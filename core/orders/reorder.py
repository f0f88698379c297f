"""Order again: a past order's lines back in the cart at today's prices.

Each line is added whole or not at all (core.orders.cart.add_many); what cannot be had
any more is listed with the reason: no longer sold (inactive or outside the buyer's
catalogue now), no price, out of stock or fewer in stock than were ordered. Who may order
an order again is the caller's check (core.customers.roles.owns), as for seeing it.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.orders.cart import AddResult, add_many
from core.orders.models import Cart, Order
from core.pricing.engine import PricingContext

REASONS = {"not_sold": "It is no longer sold.",
           "no_price": "It has no price at the moment.",
           "out_of_stock": "It is out of stock.",
           "cart_full": "Your cart is full."}


@dataclass(frozen=True)
class Unavailable:
    sku: str
    name: str
    quantity: int
    reason: str


@dataclass(frozen=True)
class Reordered:
    order_number: str
    result: AddResult
    unavailable: tuple[Unavailable, ...]

    @property
    def units(self) -> int:
        return sum(a.quantity for a in self.result.added)


def order_again(session: Session, order: Order, cart: Cart, *, channel_id: int,
                ctx: PricingContext) -> Reordered:
    """Add the order's lines (quantities as ordered) to the cart at today's prices."""
    items = [(l.variant_id, l.quantity) for l in order.lines if l.quantity > 0]
    result = add_many(session, cart, channel_id=channel_id, ctx=ctx, items=items)
    first = {}
    for line in order.lines:
        first.setdefault(line.variant_id, line)
    unavailable = tuple(
        Unavailable(first[r.variant_id].sku, first[r.variant_id].name, r.quantity,
                    REASONS.get(r.code, r.reason))
        for r in result.refused)
    return Reordered(order.number, result, unavailable)
