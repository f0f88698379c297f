"""Saved lists (shared by every login of the customer) and Order again, for signed-in
customers."""
from __future__ import annotations

import re

from flask import Blueprint, flash, request, url_for
from flask_login import login_required

from core.customers import roles
from core.errors import DomainError, NotFound
from core.orders import lists, queries, reorder
from core.orders.cart import AddResult
from core.parsing import parse_int
from core.web.auth import current_account
from core.web.db import db_session
from core.web.forms import same_site_path
from core.web.render import redirect_to, render_page
from storefront.cart import current_cart
from storefront.viewer import viewer

bp = Blueprint("lists", __name__)
_QTY = re.compile(r"qty-([0-9]{1,18})")


def _report(result: AddResult, what: str) -> None:
    """Flash what went into the cart and each item that did not, with the reason."""
    if result.added:
        units = sum(a.quantity for a in result.added)
        flash(f"Added {len(result.added)} line{'' if len(result.added) == 1 else 's'} "
              f"({units} unit{'' if units == 1 else 's'}) from {what} to your cart.", "success")
    for refused in result.refused:
        flash(f"Not added: {refused.sku or 'an item'} × {refused.quantity}. {refused.reason}",
              "error")


def _commit_if(result: AddResult) -> None:
    """Keep what was added; when nothing was, not even a cart made for it."""
    if result.added:
        db_session.commit()
    else:
        db_session.rollback()


# -- order again --------------------------------------------------------------------------

@bp.post("/account/orders/<number>/order-again")
@login_required
def order_again(number: str):
    user = current_account()
    order = queries.customer_order(db_session, user.customer_id, number)
    if not _owns(user, order):
        raise NotFound("We could not find that order.")
    channel, ctx = viewer()
    done = reorder.order_again(db_session, order, current_cart(create=True),
                               channel_id=channel.id, ctx=ctx)
    _commit_if(done.result)
    if done.result.added:
        flash(f"The items of order {order.number} are in your cart at today's prices.",
              "success")
    else:
        flash(f"None of the items of order {order.number} can be ordered now.", "error")
    for item in done.unavailable:
        flash(f"Not added: {item.name} ({item.sku}) × {item.quantity}. {item.reason}", "error")
    return redirect_to(url_for("cart.show"))


# -- lists --------------------------------------------------------------------------------

@bp.get("/lists/")
@login_required
def index():
    return render_page("lists/index.html",
                       summaries=lists.summaries(db_session, current_account()))


@bp.post("/lists/")
@login_required
def create():
    """Save as list: the cart under a name."""
    user = current_account()
    name = request.form.get("name", "")[:200]
    try:
        made = lists.create_from_cart(db_session, user, current_cart(), name=name)
    except DomainError as err:
        db_session.rollback()
        flash(str(err), "error")
        return redirect_to(url_for("cart.show"))
    db_session.commit()
    flash(f"Your cart is saved as the list “{made.name}”.", "success")
    return redirect_to(url_for(".show", shopping_list_id=made.id))


def _show(shopping_list, *, message: str = "", error: str = "", typed=None, status: int = 200):
    channel, ctx = viewer()
    user = current_account()
    view = lists.page(db_session, user, shopping_list, channel_id=channel.id, ctx=ctx)
    return render_page("lists/list.html", view=view, message=message, error=error,
                       typed=typed or {}, status=status)


@bp.get("/lists/<int:shopping_list_id>")
@login_required
def show(shopping_list_id: int):
    return _show(lists.find(db_session, current_account(), shopping_list_id))


def _typed() -> dict[int, int | None]:
    """The quantities typed on the list page, by line id (None: not a whole number)."""
    return {int(m.group(1)): parse_int(value, low=1, high=9999)
            for name, value in request.form.items() if (m := _QTY.fullmatch(name))}


def _chosen() -> list[int]:
    return [int(v) for v in request.form.getlist("line") if parse_int(v, low=1) is not None]


@bp.post("/lists/<int:shopping_list_id>")
@login_required
def change(shopping_list_id: int):
    """The list page's form: save quantities, remove chosen lines, add all or the chosen
    lines to the cart (with the quantities as typed)."""
    user = current_account()
    shopping_list = lists.find(db_session, user, shopping_list_id)
    action, typed = request.form.get("action", "save"), _typed()
    raw = {name: value[:40] for name, value in request.form.items() if _QTY.fullmatch(name)}
    try:
        if action in ("add_all", "add_chosen"):
            channel, ctx = viewer()
            result = lists.add_to_cart(
                db_session, shopping_list, current_cart(create=True), channel_id=channel.id,
                ctx=ctx, line_ids=None if action == "add_all" else _chosen(), quantities=typed)
            _commit_if(result)
            _report(result, f"the list “{shopping_list.name}”")
            return redirect_to(url_for("cart.show") if result.added
                               else url_for(".show", shopping_list_id=shopping_list.id))
        if action == "remove":
            removed = lists.remove_lines(db_session, shopping_list, _chosen())
            message = f"Removed {removed} line{'' if removed == 1 else 's'}."
        else:
            lists.set_quantities(db_session, shopping_list, typed)
            message = "The quantities are saved."
    except DomainError as err:
        db_session.rollback()
        return _show(lists.find(db_session, user, shopping_list_id), error=str(err), typed=raw)
    db_session.commit()
    return _show(shopping_list, message=message)


@bp.post("/lists/<int:shopping_list_id>/rename")
@login_required
def rename(shopping_list_id: int):
    user = current_account()
    shopping_list = lists.find(db_session, user, shopping_list_id)
    try:
        lists.rename(db_session, user, shopping_list, name=request.form.get("name", "")[:200])
    except DomainError as err:
        db_session.rollback()
        return _show(lists.find(db_session, user, shopping_list_id), error=str(err))
    db_session.commit()
    return _show(shopping_list, message="The list is renamed.")


@bp.post("/lists/<int:shopping_list_id>/delete")
@login_required
def delete(shopping_list_id: int):
    user = current_account()
    shopping_list = lists.find(db_session, user, shopping_list_id)
    name = shopping_list.name
    try:
        lists.delete(db_session, user, shopping_list)
    except DomainError as err:
        db_session.rollback()
        return _show(lists.find(db_session, user, shopping_list_id), error=str(err))
    db_session.commit()
    flash(f"The list “{name}” is deleted.", "success")
    return redirect_to(url_for(".index"))


@bp.post("/lists/add-item")
@login_required
def add_item():
    """Add to list, from a product page: a variant onto one of the customer's lists."""
    user = current_account()
    list_id = parse_int(request.form.get("list"), low=1)
    variant_id = parse_int(request.form.get("variant_id"), low=1)
    quantity = parse_int(request.form.get("quantity", "1"), low=1, high=9999)
    back = same_site_path(request.form.get("back", "")[:500]) or url_for(".index")
    try:
        if list_id is None or variant_id is None:
            raise NotFound("Choose a list.")
        if quantity is None:
            raise lists.ListError("Enter a quantity from 1 to 9999.", field="quantity")
        shopping_list = lists.find(db_session, user, list_id)
        channel, _ = viewer()
        lists.add_product(db_session, user, shopping_list, variant_id=variant_id,
                          quantity=quantity, channel_id=channel.id)
    except DomainError as err:
        db_session.rollback()
        flash(str(err), "error")
        return redirect_to(back)
    db_session.commit()
    flash(f"Added to the list “{shopping_list.name}”.", "success")
    return redirect_to(back)


@bp.app_context_processor
def list_choices() -> dict:
    """`shopping_lists()` for "Add to list" on a product page: the signed-in customer's
    lists as (id, name), read only when a page asks."""
    def shopping_lists():
        user = current_account()
        return lists.names(db_session, user) if user is not None else []

    def may_order_again(order) -> bool:
        user = current_account()
        return user is not None and _owns(user, order)
    return {"shopping_lists": shopping_lists, "may_order_again": may_order_again}


def _owns(user, order) -> bool:
    return roles.owns(user, customer_id=order.customer_id, placed_by_kind=order.placed_by_kind,
                      placed_by_id=order.placed_by_id)
