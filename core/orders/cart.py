"""Commands on carts: add, change, remove, coupons, merge at sign-in; and the priced view.

Every change re-checks that the channel sells the item, its price and its stock.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.catalog.assortment import sellable
from core.catalog.models import Product, Variant
from core.db import utcnow
from core.errors import DomainError, NotFound
from core.inventory.services import available as available_units
from core.orders.models import Cart, CartLine
from core.pricing import services as pricing
from core.pricing.engine import PricedCart, PricingContext

MAX_LINE_QUANTITY = 9999
MAX_LINES = 500  # a quick order of 500 lines fits


class CartError(DomainError):
    code = "cart"


def find_cart(session: Session, *, token: str | None = None, customer_id: int | None = None,
              user_id: int | None = None) -> Cart | None:
    """The signed-in login's cart (every buyer of a company has their own), or the guest
    cart with this token. (`customer_id` alone: a cart made for the customer without a
    login, as the console's tests do.)"""
    if user_id is not None:
        condition = Cart.user_id == user_id
    elif customer_id is not None:
        condition = (Cart.customer_id == customer_id) & Cart.user_id.is_(None)
    elif token:
        condition = (Cart.token == token) & Cart.customer_id.is_(None)
    else:
        return None
    return session.scalar(select(Cart).where(condition).options(selectinload(Cart.lines))
                          .order_by(Cart.id.desc()).limit(1))


def open_cart(session: Session, *, token: str | None, customer_id: int | None,
              user_id: int | None = None) -> Cart:
    """The buyer's cart, made when there is none yet."""
    cart = find_cart(session, token=token, customer_id=customer_id, user_id=user_id)
    if cart is None:
        cart = Cart(token=secrets.token_urlsafe(24), customer_id=customer_id, user_id=user_id,
                    coupon_codes=[])
        session.add(cart)
        session.flush()
    return cart


def _check(session: Session, channel_id: int, ctx: PricingContext, variant_id: int,
           quantity: int) -> None:
    """Sold in this channel, priced, and in stock for `quantity`."""
    if not 1 <= quantity <= MAX_LINE_QUANTITY:
        raise CartError(f"Enter a quantity from 1 to {MAX_LINE_QUANTITY}.", field="quantity")
    variant = session.scalar(select(Variant).join(Product, Product.id == Variant.product_id)
                             .where(Variant.id == variant_id, Variant.active,
                                    sellable(session, channel_id)))
    if variant is None:
        raise NotFound("That item is not sold here.")
    if not pricing.price_items(session, ctx, [(variant_id, quantity)]):
        raise CartError(f"{variant.sku} has no price at the moment and cannot be ordered.")
    available = available_units(session, [variant_id])[variant_id]
    if quantity > available:
        if available <= 0:
            raise CartError(f"{variant.sku} is out of stock.", field="quantity")
        raise CartError(f"Only {available} of {variant.sku} are in stock.", field="quantity")


def add_item(session: Session, cart: Cart, *, channel_id: int, ctx: PricingContext,
             variant_id: int, quantity: int) -> CartLine:
    """Add units of a variant (to its line, if the cart has one)."""
    line = next((l for l in cart.lines if l.variant_id == variant_id), None)
    total = quantity + (line.quantity if line else 0)
    _check(session, channel_id, ctx, variant_id, total)
    if line is None:
        if len(cart.lines) >= MAX_LINES:
            raise CartError(f"A cart holds at most {MAX_LINES} lines.")
        line = CartLine(variant_id=variant_id, quantity=total)
        cart.lines.append(line)
    else:
        line.quantity = total
    cart.updated_at = utcnow()
    session.flush()
    return line


def _line(cart: Cart, line_id: int) -> CartLine:
    line = next((l for l in cart.lines if l.id == line_id), None)
    if line is None:
        raise NotFound("That line is not in your cart.")
    return line


def set_quantity(session: Session, cart: Cart, *, channel_id: int, ctx: PricingContext,
                 line_id: int, quantity: int) -> None:
    """Change a line's quantity; zero removes it."""
    line = _line(cart, line_id)
    if quantity == 0:
        cart.lines.remove(line)
    else:
        _check(session, channel_id, ctx, line.variant_id, quantity)
        line.quantity = quantity
    cart.updated_at = utcnow()
    session.flush()


def remove_line(session: Session, cart: Cart, line_id: int) -> None:
    cart.lines.remove(_line(cart, line_id))
    cart.updated_at = utcnow()
    session.flush()


def apply_coupon(session: Session, cart: Cart, *, ctx: PricingContext, code: str) -> None:
    """Keep a coupon on the cart when it applies to it now; else say why not."""
    code = code.strip().upper()
    if not code:
        raise CartError("Enter a coupon code.", field="code")
    if code in cart.coupon_codes:
        return
    trial = replace(ctx, coupon_codes=(*cart.coupon_codes, code))
    priced = pricing.price_cart(session, trial, [(l.variant_id, l.quantity) for l in cart.lines])
    problem = next((p for p in priced.coupon_problems if f"Coupon {code} " in p), None)
    if problem:
        raise CartError(problem, field="code")
    cart.coupon_codes = [*cart.coupon_codes, code]
    session.flush()


def remove_coupon(session: Session, cart: Cart, code: str) -> None:
    cart.coupon_codes = [c for c in cart.coupon_codes if c != code.strip().upper()]
    session.flush()


def merge_into_customer_cart(session: Session, *, token: str | None, customer_id: int,
                             user_id: int) -> Cart | None:
    """At sign-in: the guest cart's lines join the login's cart (quantities add up)."""
    guest = find_cart(session, token=token) if token else None
    if guest is None:
        return find_cart(session, user_id=user_id)
    mine = find_cart(session, user_id=user_id)
    if mine is None:
        guest.customer_id, guest.user_id = customer_id, user_id
        session.flush()
        return guest
    by_variant = {l.variant_id: l for l in mine.lines}
    for line in guest.lines:
        if line.variant_id in by_variant:
            target = by_variant[line.variant_id]
            target.quantity = min(MAX_LINE_QUANTITY, target.quantity + line.quantity)
        else:
            mine.lines.append(CartLine(variant_id=line.variant_id, quantity=line.quantity))
    mine.coupon_codes = list(dict.fromkeys([*mine.coupon_codes, *guest.coupon_codes]))
    mine.updated_at = utcnow()
    session.delete(guest)
    session.flush()
    return mine


@dataclass(frozen=True)
class CartView:
    cart: Cart | None
    priced: PricedCart | None
    available: dict[int, int]
    line_ids: dict[int, int]  # variant id -> cart line id
    problems: tuple[str, ...]

    @property
    def count(self) -> int:
        return sum(l.quantity for l in self.cart.lines) if self.cart else 0


def view(session: Session, cart: Cart | None, ctx: PricingContext) -> CartView:
    """The cart priced now, with stock per line and anything that needs the buyer's attention."""
    if cart is None or not cart.lines:
        return CartView(cart, None, {}, {}, ())
    trial = replace(ctx, coupon_codes=tuple(cart.coupon_codes))
    lines = [(l.variant_id, l.quantity) for l in cart.lines]
    priced = pricing.price_cart(session, trial, lines)
    available = available_units(session, [vid for vid, _ in lines])
    problems = [f"Only {available[l.variant_id]} of {p.sku} are in stock now."
                for l, p in zip(cart.lines, priced.lines) if l.quantity > available[l.variant_id]]
    return CartView(cart, priced, available, {l.variant_id: l.id for l in cart.lines},
                    tuple(problems) + priced.coupon_problems)
