"""What a promise (core.inventory.services.promise) and a placed line's ship day say to a
person: "In stock — ships by Mon 7 Dec", "3 in stock, 2 on backorder — ships by Thu 14 Jan",
"Ships from the supplier by ...". The same sentences on the product page, in the cart, at
checkout, in the console and in e-mails; plain functions, so templates and mails share them.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from core import clock
from core.inventory import services as inventory
from core.pricing.engine import PricingContext


def day(value: dt.date | None) -> str:
    """A ship or delivery day as people read it: Mon 7 Dec (promises lie within the year
    ahead, so no year)."""
    if value is None:
        return ""
    return f"{value:%a} {value.day} {value:%b}"


def for_lines(session: Session, ctx: PricingContext, lines) -> dict[int, inventory.Promise]:
    """Promise (variant id, quantity) lines from the channel's warehouses, today. Four
    queries whatever the number of lines (the warehouses, then inventory.promise's three)."""
    lines = list(lines)
    if not lines:
        return {}
    return inventory.promise(session, lines, today=ctx.day,
                             warehouses=inventory.warehouses_for(session, ctx.channel.code))


def describe(promise: inventory.Promise | None) -> str:
    """The sentence for one promised line."""
    if promise is None:
        return ""
    when = day(promise.ships_on)
    if promise.source == "stock":
        return f"In stock — ships by {when}"
    if promise.source == "supplier":
        return f"Ships from the supplier by {when}"
    if promise.source == "unavailable":
        left = max(promise.available, 0)
        return (f"Only {left} in stock" if left else "Out of stock") + expected(promise, " — ")
    left = max(promise.available, 0)
    if left:
        return f"{left} in stock, {promise.short} on backorder — ships by {when}"
    return f"Backorder — ships by {when}"


def refusal(item: str, promise: inventory.Promise | None) -> str:
    """Why a quantity cannot be had (the promise is not promisable): the buyer's message.
    `item` is what the person knows it by: the product's name in the shop, with the SKU
    where SKUs are typed (see core.orders.cart.called)."""
    left = max(promise.available, 0) if promise is not None else 0
    if left <= 0:
        return f"{item} is out of stock." + expected(promise, " ", sentence=True)
    return f"Only {left} of {item} are in stock." + expected(promise, " ", sentence=True)


def expected(promise: inventory.Promise | None, lead: str, *, sentence: bool = False) -> str:
    """When more of an item that cannot be backordered are expected ("more expected Mon 14
    Dec"), after `lead`; empty when no arrival is open."""
    if promise is None or promise.source != "unavailable" or promise.arrival_on is None:
        return ""
    if sentence:
        return f"{lead}More are expected on {day(promise.arrival_on)}."
    return f"{lead}more expected {day(promise.arrival_on)}"


# An order with units still to ship; past its promised day it is late.
STILL_TO_SHIP = ("confirmed", "in_fulfilment", "partially_shipped")


def order_promised(order) -> dt.date | None:
    """The day an order is promised for: the one day every warehouse and order page shows
    and the warehouse sorts and filters by (`Order.promised_date`). Placing the order,
    changing its lines and stock arrivals keep it at the latest promised day of its lines,
    so a line never shows a later promise than its order."""
    return order.promised_date


def is_late(order, today: dt.date | None = None) -> bool:
    """The order still has units to ship and its promised day has passed."""
    promised = order_promised(order)
    return (promised is not None and order.status in STILL_TO_SHIP
            and promised < (today or clock.today()))


def line_status(line) -> str:
    """A placed order line's promise: its ship day, how many units wait for stock and where
    it ships from (`line` is an OrderLine)."""
    when = day(line.ships_on)
    if line.quantity and (line.quantity_shipped or 0) >= line.quantity:
        return "Shipped"
    if line.warehouse is None and line.supplier_id is not None:
        return f"Ships from the supplier by {when}" if when else "Ships from the supplier"
    waiting = line.quantity_backordered or 0
    if waiting:
        text = f"{waiting} on backorder"
        return f"{text} — ships by {when}" if when else text
    return f"Ships by {when}" if when else ""
