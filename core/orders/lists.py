"""Saved lists: named lists of items a customer orders again and again.

A list belongs to the customer, so every login of a company sees and uses it (adds it to
their own cart, changes its lines); renaming and deleting are for the login that made it
and the company's admins (core.customers.roles.can_change_list). Names are unique per
customer. Adding to the cart goes through core.orders.cart.add_many at today's prices.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from core import audit
from core.catalog.assortment import sellable
from core.catalog.models import Product, Variant
from core.customers import roles
from core.customers.models import CustomerUser
from core.customers.services import actor_for
from core.db import utcnow
from core.errors import DomainError, NotFound
from core.orders.cart import MAX_LINE_QUANTITY, MAX_LINES, AddResult, add_many
from core.orders import promises as promising
from core.orders.models import Cart, ShoppingList, ShoppingListLine
from core.pricing import services as pricing
from core.pricing.engine import PricedLine, PricingContext, PricingError

MAX_NAME = 80
CHANNEL = "web"


class ListError(DomainError):
    code = "list"


def _name(session: Session, user: CustomerUser, name: str | None,
          exclude_id: int | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ListError("Give the list a name.", field="name")
    if len(name) > MAX_NAME:
        raise ListError(f"A list's name has at most {MAX_NAME} characters.", field="name")
    if not name.isprintable():
        raise ListError("Use letters, digits and punctuation in the name.", field="name")
    clash = session.scalar(select(ShoppingList.id).where(
        ShoppingList.customer_id == user.customer_id,
        func.lower(ShoppingList.name) == name.lower(),
        ShoppingList.id != (exclude_id or 0)))
    if clash is not None:
        raise ListError(f"You already have a list called “{name}”. Choose another name.",
                        field="name")
    return name


def find(session: Session, user: CustomerUser, list_id: int) -> ShoppingList:
    """The customer's list; NotFound for another customer's or an unknown one."""
    found = session.scalar(select(ShoppingList).where(ShoppingList.id == list_id,
                                                      ShoppingList.customer_id == user.customer_id)
                           .options(selectinload(ShoppingList.lines)))
    if found is None:
        raise NotFound("We could not find that list.")
    return found


def create_from_cart(session: Session, user: CustomerUser, cart: Cart | None, *,
                     name: str | None) -> ShoppingList:
    """Save as list: the cart's items and quantities under a new name (the cart stays)."""
    if cart is None or not cart.lines:
        raise ListError("Your cart is empty: add items before saving it as a list.")
    return create(session, user, name=name, items=[(l.variant_id, l.quantity) for l in cart.lines])


def create(session: Session, user: CustomerUser, *, name: str | None,
           items: list[tuple[int, int]]) -> ShoppingList:
    """A new list of the user's customer with these (variant id, quantity) lines."""
    if len(items) > MAX_LINES:
        raise ListError(f"A list holds at most {MAX_LINES} lines.")
    shopping_list = ShoppingList(customer_id=user.customer_id, name=_name(session, user, name),
                                 created_by_id=user.id)
    shopping_list.lines = [ShoppingListLine(variant_id=vid, quantity=qty) for vid, qty in items]
    _save(session, shopping_list, "A list with that name was saved a moment ago. Choose "
          "another name.", field="name")
    audit.record(session, "list.created", actor=actor_for(user), channel=CHANNEL,
                 subject=shopping_list, data={"name": shopping_list.name,
                                              "lines": len(shopping_list.lines)})
    return shopping_list


def _save(session: Session, shopping_list: ShoppingList, message: str, *,
          field: str | None = None) -> None:
    """Flush in a savepoint: a concurrent request that saved the same name (or added the
    same item) first makes this a ListError to show, not a failed transaction."""
    try:
        with session.begin_nested():
            session.add(shopping_list)
            session.flush()
    except IntegrityError:
        raise ListError(message, field=field) from None


def _may_change(user: CustomerUser, shopping_list: ShoppingList) -> None:
    if not roles.can_change_list(user, customer_id=shopping_list.customer_id,
                                 created_by_id=shopping_list.created_by_id):
        raise ListError("Only the buyer who made this list or a company admin can rename "
                        "or delete it.")


def rename(session: Session, user: CustomerUser, shopping_list: ShoppingList, *,
           name: str | None) -> None:
    _may_change(user, shopping_list)
    shopping_list.name = _name(session, user, name, exclude_id=shopping_list.id)
    shopping_list.updated_at = utcnow()
    _save(session, shopping_list, "A list with that name was saved a moment ago. Choose "
          "another name.", field="name")


def delete(session: Session, user: CustomerUser, shopping_list: ShoppingList) -> None:
    _may_change(user, shopping_list)
    audit.record(session, "list.deleted", actor=actor_for(user), channel=CHANNEL,
                 subject=shopping_list, data={"name": shopping_list.name})
    session.delete(shopping_list)
    session.flush()


def add_product(session: Session, user: CustomerUser, shopping_list: ShoppingList, *,
                variant_id: int, quantity: int, channel_id: int) -> ShoppingListLine:
    """Put an item the customer can buy on the list (its quantity adds to the line's)."""
    if shopping_list.customer_id != user.customer_id:
        raise NotFound("We could not find that list.")
    exists = session.scalar(select(Variant.id).join(Product, Product.id == Variant.product_id)
                            .where(Variant.id == variant_id, Variant.active,
                                   sellable(session, channel_id)))
    if exists is None:
        raise NotFound("That item is not sold here.")
    line = next((l for l in shopping_list.lines if l.variant_id == variant_id), None)
    total = quantity + (line.quantity if line else 0)
    if not 1 <= total <= MAX_LINE_QUANTITY:
        raise ListError(f"Enter a quantity from 1 to {MAX_LINE_QUANTITY}.", field="quantity")
    if line is None:
        if len(shopping_list.lines) >= MAX_LINES:
            raise ListError(f"A list holds at most {MAX_LINES} lines.")
        line = ShoppingListLine(variant_id=variant_id, quantity=total)
        shopping_list.lines.append(line)
    else:
        line.quantity = total
    shopping_list.updated_at = utcnow()
    _save(session, shopping_list, "The list changed a moment ago; add the item again.")
    return line


def _lines(shopping_list: ShoppingList, line_ids) -> list[ShoppingListLine]:
    by_id = {l.id: l for l in shopping_list.lines}
    if any(i not in by_id for i in line_ids):
        raise NotFound("That line is not on the list.")
    return [by_id[i] for i in line_ids]


def read_quantities(quantities: dict[int, int | None]) -> dict[int, int]:
    """Quantities typed for lines, all valid or a ListError (nothing half-changed)."""
    if any(q is None or not 1 <= q <= MAX_LINE_QUANTITY for q in quantities.values()):
        raise ListError(f"Enter each quantity as a whole number from 1 to {MAX_LINE_QUANTITY}.",
                        field="quantity")
    return {i: int(q) for i, q in quantities.items()}


def set_quantities(session: Session, shopping_list: ShoppingList,
                   quantities: dict[int, int | None]) -> None:
    """Change lines' quantities: all of them, or none when one is not valid."""
    checked = read_quantities(quantities)
    for line in _lines(shopping_list, list(checked)):
        line.quantity = checked[line.id]
    shopping_list.updated_at = utcnow()
    session.flush()


def remove_lines(session: Session, shopping_list: ShoppingList, line_ids) -> int:
    gone = _lines(shopping_list, list(line_ids))
    for line in gone:
        shopping_list.lines.remove(line)
    shopping_list.updated_at = utcnow()
    session.flush()
    return len(gone)


def add_to_cart(session: Session, shopping_list: ShoppingList, cart: Cart, *, channel_id: int,
                ctx: PricingContext, line_ids=None,
                quantities: dict[int, int | None] | None = None) -> AddResult:
    """Put the list's lines (all, or those chosen) in the cart at today's prices; a
    quantity typed on the page (`quantities`, by line id) is used for this cart only."""
    chosen = shopping_list.lines if line_ids is None else _lines(shopping_list, list(line_ids))
    if not chosen:
        raise ListError("Choose the lines to add to the cart.")
    typed = read_quantities({i: q for i, q in (quantities or {}).items()
                             if i in {l.id for l in chosen}})
    return add_many(session, cart, channel_id=channel_id, ctx=ctx,
                    items=[(l.variant_id, typed.get(l.id, l.quantity)) for l in chosen])


# -- read side ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ListSummary:
    id: int
    name: str
    lines: int
    updated_at: dt.datetime
    made_by: str


def summaries(session: Session, user: CustomerUser) -> list[ListSummary]:
    """The customer's lists, last changed first, in one query."""
    count = (select(func.count(ShoppingListLine.id))
             .where(ShoppingListLine.list_id == ShoppingList.id).scalar_subquery())
    rows = session.execute(
        select(ShoppingList.id, ShoppingList.name, count, ShoppingList.updated_at,
               CustomerUser.full_name, CustomerUser.email)
        .outerjoin(CustomerUser, CustomerUser.id == ShoppingList.created_by_id)
        .where(ShoppingList.customer_id == user.customer_id)
        .order_by(ShoppingList.updated_at.desc(), ShoppingList.id.desc()))
    return [ListSummary(i, name, n, at, full_name or email or "—")
            for i, name, n, at, full_name, email in rows]


def names(session: Session, user: CustomerUser) -> list[tuple[int, str]]:
    """(id, name) of the customer's lists, for an "Add to list" choice."""
    return [tuple(r) for r in session.execute(
        select(ShoppingList.id, ShoppingList.name)
        .where(ShoppingList.customer_id == user.customer_id).order_by(ShoppingList.name))]


@dataclass(frozen=True)
class ListLine:
    id: int
    variant_id: int
    sku: str
    name: str
    quantity: int
    price: PricedLine | None  # today's, for the line's quantity
    available: int
    problem: str  # why it cannot be ordered now, or ""
    promise: str = ""  # when it would ship (core.orders.promises.describe)


@dataclass(frozen=True)
class ListPage:
    shopping_list: ShoppingList
    lines: tuple[ListLine, ...]
    made_by: str
    may_change: bool


def _facts(session: Session, channel_id: int, variant_ids: list[int]):
    rows = session.execute(
        select(Variant.id, Variant.sku, Variant.name, Product.name,
               Variant.active & sellable(session, channel_id))
        .join(Product, Product.id == Variant.product_id).where(Variant.id.in_(variant_ids)))
    return {vid: (sku, f"{pname} – {vname}" if vname and vname != pname else pname, bool(ok))
            for vid, sku, vname, pname, ok in rows}


def _prices(session: Session, ctx: PricingContext, items: list[tuple[int, int]]
            ) -> dict[int, PricedLine]:
    if not items:
        return {}
    try:
        return pricing.price_items(session, ctx, items)
    except PricingError:  # a catalogue mistake on one item: price the others alone
        found = {}
        for item in items:
            try:
                found.update(pricing.price_items(session, ctx, [item]))
            except PricingError:
                continue
        return found


def page(session: Session, user: CustomerUser, shopping_list: ShoppingList, *, channel_id: int,
         ctx: PricingContext) -> ListPage:
    """The list's lines with today's price, promise and whether each can be ordered, in a
    fixed number of queries."""
    lines = shopping_list.lines
    ids = [l.variant_id for l in lines]
    facts = _facts(session, channel_id, ids) if ids else {}
    sold = [(l.variant_id, l.quantity) for l in lines if facts[l.variant_id][2]]
    prices = _prices(session, ctx, sold)
    promises = promising.for_lines(session, ctx, [(l.variant_id, l.quantity) for l in lines])
    shown = []
    for l in lines:
        sku, name, ok = facts[l.variant_id]
        price = prices.get(l.variant_id)
        promise = promises.get(l.variant_id)
        units = max(promise.available, 0) if promise else 0
        problem = ("No longer sold here." if not ok else
                   "No price at the moment." if price is None else
                   "" if promise is not None and promise.promisable else
                   "Out of stock." if units <= 0 else f"Only {units} in stock.")
        shown.append(ListLine(l.id, l.variant_id, sku, name, l.quantity, price, units, problem,
                              promising.describe(promise) if promise else ""))
    maker = session.get(CustomerUser, shopping_list.created_by_id) \
        if shopping_list.created_by_id else None
    return ListPage(shopping_list, tuple(shown),
                    (maker.full_name or maker.email) if maker else "—",
                    roles.can_change_list(user, customer_id=shopping_list.customer_id,
                                          created_by_id=shopping_list.created_by_id))
