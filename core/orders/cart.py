"""Commands on carts: add, change, remove, coupons, merge at sign-in; and the priced view.

Every change re-checks that the channel sells the item, its price and its stock.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, replace

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session, joinedload

from core.catalog.assortment import sellable
from core.catalog.models import Product, Variant
from core.db import utcnow
from core.errors import DomainError, NotFound
from core.inventory.services import Promise
from core.orders import promises as promising
from core.orders.models import Cart, CartLine
from core.pricing import services as pricing
from core.pricing.engine import PricedCart, PricingContext, PricingError

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
    # The cart and its lines in one statement (the LIMIT applies to the carts).
    return session.scalars(select(Cart).where(condition).options(joinedload(Cart.lines))
                           .order_by(Cart.id.desc()).limit(1)).unique().first()


def open_cart(session: Session, *, token: str | None, customer_id: int | None,
              user_id: int | None = None) -> Cart:
    """The buyer's cart, made when there is none yet (written with the session's next
    flush: with its first line, one INSERT each)."""
    cart = find_cart(session, token=token, customer_id=customer_id, user_id=user_id)
    if cart is None:
        cart = Cart(token=secrets.token_urlsafe(24), customer_id=customer_id, user_id=user_id,
                    coupon_codes=[], lines=[])
        session.add(cart)
    return cart


def discard(session: Session, cart_id: int) -> None:
    """Delete the cart; its lines go with it (ON DELETE CASCADE). One statement."""
    session.execute(delete(Cart).where(Cart.id == cart_id))


def called(sku: str, name: str, with_sku: bool = False) -> str:
    """What a message calls an item: its name ("Barista Apron – Black"), as a shopper knows
    it; with its SKU too ("Barista Apron – Black (APR-BLK)") where the person typed SKUs
    (quick order, the console's order entry)."""
    return f"{name} ({sku})" if with_sku else name


def _check(session: Session, channel_id: int, ctx: PricingContext, variant_id: int,
           quantity: int, with_sku: bool = False) -> None:
    """Sold in this channel, priced, and promisable for `quantity`: in stock, or beyond it
    for a product that allows backorders, or drop-shipped by its supplier."""
    if not 1 <= quantity <= MAX_LINE_QUANTITY:
        raise CartError(f"Enter a quantity from 1 to {MAX_LINE_QUANTITY}.", field="quantity")
    with session.no_autoflush:  # reads the catalogue only: a new cart is written after
        _check_item(session, channel_id, ctx, variant_id, quantity, with_sku)


def _check_item(session: Session, channel_id: int, ctx: PricingContext, variant_id: int,
                quantity: int, with_sku: bool) -> None:
    found = session.execute(select(Variant.sku, Variant.name, Product.name)
                            .join(Product, Product.id == Variant.product_id)
                            .where(Variant.id == variant_id, Variant.active,
                                   sellable(session, channel_id))).first()
    if found is None:
        raise NotFound("That item is not sold here.")
    sku, vname, pname = found
    item = called(sku, _name(pname, vname), with_sku)
    if not pricing.price_items(session, ctx, [(variant_id, quantity)]):
        raise CartError(f"{item} has no price at the moment and cannot be ordered.")
    promise = promising.for_lines(session, ctx, [(variant_id, quantity)]).get(variant_id)
    if promise is None or not promise.promisable:
        raise CartError(promising.refusal(item, promise), field="quantity")


def _name(product_name: str, variant_name: str | None) -> str:
    """The product's name, with the variant's when it differs (as cart lines and orders
    name it)."""
    return f"{product_name} – {variant_name}" \
        if variant_name and variant_name != product_name else product_name


def add_item(session: Session, cart: Cart, *, channel_id: int, ctx: PricingContext,
             variant_id: int, quantity: int, with_sku: bool = False) -> CartLine:
    """Add units of a variant (to its line, if the cart has one). A refusal names the item
    as `called` does."""
    line = next((l for l in cart.lines if l.variant_id == variant_id), None)
    total = quantity + (line.quantity if line else 0)
    _check(session, channel_id, ctx, variant_id, total, with_sku)
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


def item_name(session: Session, variant_id: int) -> str:
    """What a confirmation calls the item: the product's name, with the variant's when it
    differs (as cart lines and orders name it)."""
    pname, vname = session.execute(
        select(Product.name, Variant.name).join(Product, Product.id == Variant.product_id)
        .where(Variant.id == variant_id)).one()
    return _name(pname, vname)


def _line(cart: Cart, line_id: int) -> CartLine:
    line = next((l for l in cart.lines if l.id == line_id), None)
    if line is None:
        raise NotFound("That line is not in your cart.")
    return line


def set_quantity(session: Session, cart: Cart, *, channel_id: int, ctx: PricingContext,
                 line_id: int, quantity: int, with_sku: bool = False) -> None:
    """Change a line's quantity; zero removes it."""
    line = _line(cart, line_id)
    if quantity == 0:
        cart.lines.remove(line)
    else:
        _check(session, channel_id, ctx, line.variant_id, quantity, with_sku)
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
    promises: dict[int, Promise] | None = None  # variant id -> when its line ships

    def promise_text(self, variant_id: int) -> str:
        return promising.describe((self.promises or {}).get(variant_id))

    @property
    def count(self) -> int:
        return sum(l.quantity for l in self.cart.lines) if self.cart else 0


def view(session: Session, cart: Cart | None, ctx: PricingContext) -> CartView:
    """The cart priced now, with each line's promise (stock, backorder, supplier) and
    anything that needs the buyer's attention (a line that can no longer be had)."""
    if cart is None or not cart.lines:
        return CartView(cart, None, {}, {}, (), {})
    trial = replace(ctx, coupon_codes=tuple(cart.coupon_codes))
    lines = [(l.variant_id, l.quantity) for l in cart.lines]
    priced = pricing.price_cart(session, trial, lines)
    promises = promising.for_lines(session, ctx, lines)
    available = {vid: max(p.available, 0) for vid, p in promises.items()}
    problems = [promising.refusal(p.name, promises[l.variant_id])[:-1] + " now."
                for l, p in zip(cart.lines, priced.lines)
                if not promises[l.variant_id].promisable]
    return CartView(cart, priced, available, {l.variant_id: l.id for l in cart.lines},
                    tuple(problems) + priced.coupon_problems, promises)


# -- many items at once (quick order, order again, lists) ---------------------------------

@dataclass(frozen=True)
class Added:
    variant_id: int
    sku: str
    name: str
    quantity: int  # units added now
    line_quantity: int  # the cart line's quantity afterwards


@dataclass(frozen=True)
class Refused:
    """An item left out, and why: `code` is one of not_sold, no_price, out_of_stock,
    short (fewer in stock: `available`), quantity (outside 1..MAX_LINE_QUANTITY with what
    the cart holds) or cart_full; `reason` is the sentence to show."""

    variant_id: int
    sku: str
    quantity: int
    code: str
    reason: str
    available: int | None = None


@dataclass(frozen=True)
class AddResult:
    added: tuple[Added, ...]
    refused: tuple[Refused, ...]

    def refusal(self, variant_id: int) -> Refused | None:
        return next((r for r in self.refused if r.variant_id == variant_id), None)


def _merged(items) -> dict[int, int]:
    """(variant id, quantity) pairs with a variant named twice summed, in first-seen order."""
    wanted: dict[int, int] = {}
    for variant_id, quantity in items:
        wanted[variant_id] = wanted.get(variant_id, 0) + quantity
    return wanted


def _sellable_names(session: Session, channel_id: int, variant_ids: list[int]
                    ) -> dict[int, tuple[str, str]]:
    """{variant id: (sku, name)} of those the channel sells now (one query)."""
    rows = session.execute(
        select(Variant.id, Variant.sku, Variant.name, Product.name)
        .join(Product, Product.id == Variant.product_id)
        .where(Variant.id.in_(variant_ids), Variant.active, sellable(session, channel_id)))
    return {vid: (sku, _name(pname, vname)) for vid, sku, vname, pname in rows}


def _priced(session: Session, ctx: PricingContext, items: list[tuple[int, int]]) -> set[int]:
    """The variants of `items` that have a price for the buyer at their quantity. A variant
    whose tax is not set up makes the batch fail; then each is tried alone (rare: a
    catalogue mistake), so one bad item never refuses the others."""
    if not items:
        return set()
    try:
        return set(pricing.price_items(session, ctx, items))
    except PricingError:
        found = set()
        for item in items:
            try:
                found |= set(pricing.price_items(session, ctx, [item]))
            except PricingError:
                continue
        return found


def _refusal(variant_id: int, sku: str, item: str, quantity: int, total: int, in_cart: int,
             priced: set[int], promises: dict[int, Promise]) -> Refused | None:
    """Why the item (`item`: what the message calls it) cannot be added, or None."""
    if not 1 <= total <= MAX_LINE_QUANTITY:
        more = f" (the cart already holds {in_cart})" if in_cart else ""
        return Refused(variant_id, sku, quantity, "quantity",
                       f"A line holds 1 to {MAX_LINE_QUANTITY} units{more}.")
    if variant_id not in priced:
        return Refused(variant_id, sku, quantity, "no_price",
                       f"{item} has no price at the moment and cannot be ordered.")
    promise = promises.get(variant_id)
    units = max(promise.available, 0) if promise is not None else 0
    if promise is None or not promise.promisable:
        more = promising.expected(promise, " ", sentence=True)
        if units <= 0:
            return Refused(variant_id, sku, quantity, "out_of_stock",
                           f"{item} is out of stock.{more}", available=0)
        return Refused(variant_id, sku, quantity, "short",
                       f"Only {units} of {item} are in stock.{more}", available=units)
    return None


def add_many(session: Session, cart: Cart, *, channel_id: int, ctx: PricingContext,
             items, with_sku: bool = False) -> AddResult:
    """Add (variant id, quantity) pairs to the cart, each whole or not at all, in a fixed
    number of queries however many there are (one sellable check, one pricing, one promise
    (core.orders.promises.for_lines), one insert and one update). Beyond stock is fine for a
    product that allows backorders or that its supplier ships. Quantities add to the cart's
    lines as add_item's do; a variant named twice counts once with the quantities summed.
    The result lists what was added and, for each item left out, why (naming the item as
    `called` does)."""
    wanted = _merged(items)
    if not wanted:
        return AddResult((), ())
    lines = {l.variant_id: l for l in cart.lines}
    names = _sellable_names(session, channel_id, list(wanted))
    totals = {vid: qty + (lines[vid].quantity if vid in lines else 0)
              for vid, qty in wanted.items()}
    checkable = [(vid, totals[vid]) for vid in wanted
                 if vid in names and 1 <= totals[vid] <= MAX_LINE_QUANTITY]
    priced = _priced(session, ctx, checkable)
    promises = promising.for_lines(session, ctx, checkable)
    added, refused, count = [], [], len(cart.lines)
    inserts, updates = [], []
    for vid, qty in wanted.items():
        if vid not in names:
            refused.append(Refused(vid, "", qty, "not_sold", "That item is not sold here."))
            continue
        sku, name = names[vid]
        line = lines.get(vid)
        problem = _refusal(vid, sku, called(sku, name, with_sku), qty, totals[vid],
                           line.quantity if line else 0, priced, promises)
        if problem is None and line is None and count >= MAX_LINES:
            problem = Refused(vid, sku, qty, "cart_full",
                              f"Your cart is full: it holds at most {MAX_LINES} lines.")
        if problem is not None:
            refused.append(problem)
            continue
        if line is None:
            inserts.append({"variant_id": vid, "quantity": totals[vid]})
            count += 1
        else:
            updates.append({"id": line.id, "quantity": totals[vid]})
        added.append(Added(vid, sku, name, qty, totals[vid]))
    if added:
        _write_lines(session, cart, inserts, updates)
    return AddResult(tuple(added), tuple(refused))


def _write_lines(session: Session, cart: Cart, inserts: list[dict], updates: list[dict]) -> None:
    """One INSERT and one UPDATE, each executed for many rows (the ORM's flush would send a
    statement a line); the cart's lines are read again when next used."""
    cart.updated_at = utcnow()
    session.flush()  # the cart itself (a new one gets its id), and anything pending on it
    if inserts:
        session.execute(insert(CartLine), [{"cart_id": cart.id, **row} for row in inserts])
    if updates:
        session.execute(update(CartLine), updates)
    session.expire(cart, ["lines"])
