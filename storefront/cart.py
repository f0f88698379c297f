"""The cart: add from a product page, change quantities and coupons through htmx."""
from __future__ import annotations

from flask import Blueprint, flash, g, request, session, url_for
from sqlalchemy import inspect

from core.errors import DomainError
from core.orders import cart as carts
from core.orders import shipping
from core.ratelimit import RateLimited
from core.web.auth import current_account
from core.parsing import parse_int
from core.web.db import db_session
from core.web.forms import same_site_path
from core.web.htmx import htmx
from core.web.render import redirect_to, render_page
from storefront.limits import count, form_status, with_retry_after
from storefront.viewer import viewer

bp = Blueprint("cart", __name__, url_prefix="/cart")
TOKEN_KEY = "cart_token"
_READ = "marketline_cart"  # (whose, cart) read in this request
# The flash category of a refusal the product page shows at its quantity field, not at the top
# (shop.product takes it out of the session before the page's flashes are read).
QUANTITY_PROBLEM = "quantity-problem"


def _customer_id() -> int | None:
    user = current_account()
    return user.customer_id if user is not None else None


def current_cart(create: bool = False):
    """This visitor's cart: the signed-in login's own, or the guest cart named in the
    session cookie. Read once per request (the page's header reuses what the view read),
    and again after a rollback or once it is deleted."""
    user = current_account()
    token = session.get(TOKEN_KEY)
    whose = (user.id, None) if user is not None else (None, token)
    if not create and (read := g.get(_READ)) is not None and read[0] == whose \
            and _as_read(read[1]):
        return read[1]
    if user is None:
        if create:
            cart = carts.open_cart(db_session, token=token, customer_id=None)
            session[TOKEN_KEY] = cart.token
            whose = (None, cart.token)
        else:
            cart = carts.find_cart(db_session, token=token)
    elif create:
        cart = carts.open_cart(db_session, token=None, customer_id=user.customer_id,
                               user_id=user.id)
    else:
        cart = carts.find_cart(db_session, user_id=user.id)
    g.pop(_READ, None)
    if cart is not None:
        setattr(g, _READ, (whose, cart))
    return cart


def _as_read(cart) -> bool:
    """The cart read earlier in this request is still what the database has: in the
    session and not expired (a rollback expires it), its lines loaded."""
    state = inspect(cart)
    return state.persistent and not state.expired_attributes and "lines" not in state.unloaded


def discard_cart(cart) -> None:
    """Delete the cart with its lines (the caller commits)."""
    g.pop(_READ, None)
    carts.discard(db_session, cart.id)


def merge_guest_cart(user, token: str | None) -> None:
    """Call at sign-in, with the token read before the session was renewed."""
    carts.merge_into_customer_cart(db_session, token=token, customer_id=user.customer_id,
                                   user_id=user.id)


def cart_count() -> dict:
    """The number of units in the cart, for the header link."""
    cart = current_cart()
    return {"cart_count": sum(l.quantity for l in cart.lines) if cart else 0}


def _int(name: str) -> int | None:
    return parse_int(request.form.get(name))


def _page(message: str | None = None, status: int = 200, coupon_error: str | None = None,
          code: str = ""):
    _, ctx = viewer()
    cart_view = carts.view(db_session, current_cart(), ctx)
    priced = cart_view.priced
    # Shipping before the checkout: the least a method charges (the address decides the rest).
    shipping_from = None if priced is None else shipping.lowest_charge(db_session, ctx=ctx,
                                                                       priced=priced)
    return render_page("cart/cart.html", block="cart", status=status, view=cart_view,
                       ctx=ctx, message=message, coupon_error=coupon_error, code=code,
                       shipping_from=shipping_from)


@bp.get("/")
def show():
    return _page()


@bp.post("/add")
def add():
    """Add units of a variant: from the product page or a listing's card. htmx gets a short
    confirmation (and the header's new count) and stays on the page, a refusal at the
    product page's quantity field; a browser goes on to the cart."""
    channel, ctx = viewer()
    at_field = htmx.trigger == "add-form"  # the product page's form (shop/_add_to_cart.html)
    # A listing's card sends "variant_id"; the product page its "variant" (the radio or hidden
    # field its price form shares, product.html)
    variant_id = _int("variant_id") if "variant_id" in request.form else _int("variant")
    quantity = _int("quantity")
    if variant_id is None or quantity is None:
        if htmx:
            return _added(problem="Choose a product and a quantity.", at_field=at_field)
        if (back := _product_page(variant_id, quantity)) is not None:
            flash("Choose a product and a quantity.", QUANTITY_PROBLEM)
            return redirect_to(back)
        flash("Choose a product and a quantity.", "error")
        return redirect_to(same_site_path(request.referrer) or url_for("shop.home"))
    try:
        cart = current_cart(create=True)
        carts.add_item(db_session, cart, channel_id=channel.id, ctx=ctx, variant_id=variant_id,
                       quantity=quantity)
    except DomainError as err:
        db_session.rollback()
        if htmx:
            # Out of stock, a quantity out of range: at the field; "not sold here": in the status
            return _added(problem=str(err), at_field=at_field and err.field == "quantity")
        if (back := _product_page(variant_id, quantity)) is not None:
            # Back to the product page with what was typed, the problem at its quantity field
            flash(str(err), QUANTITY_PROBLEM if err.field == "quantity" else "error")
            return redirect_to(back)
        flash(str(err), "error")
        return redirect_to(same_site_path(request.referrer) or url_for("cart.show"))
    db_session.commit()
    if htmx:
        return _added(quantity=quantity, name=carts.item_name(db_session, variant_id),
                      at_field=at_field)
    flash(f"Added {quantity} to your cart.", "success")
    return redirect_to(url_for("cart.show"))


def _product_page(variant_id: int | None, quantity: int | None) -> str | None:
    """Without JavaScript, the product page's add form (it names its product) goes back to that
    page with the variant and quantity sent, as its "Update price" does (shop.product_refresh);
    None for a listing's card."""
    slug = request.form.get("product", "").strip()
    if not slug or htmx:
        return None
    chosen = {name: value for name, value in (("variant", variant_id), ("quantity", quantity))
              if value is not None and 1 <= value <= 2**31}
    return url_for("shop.product", slug=slug[:200], **chosen)


def take_quantity_problem() -> str | None:
    """The refusal flashed for the product page's quantity field (QUANTITY_PROBLEM), taken out
    of the session's flashes so that the page shows it there and not again at the top."""
    flashes = session.get("_flashes") or []
    mine = [message for category, message in flashes if category == QUANTITY_PROBLEM]
    if not mine:
        return None
    session["_flashes"] = [(c, m) for c, m in flashes if c != QUANTITY_PROBLEM]
    return mine[-1]


def _added(**context):
    """The confirmation of an add, for the page's status region, with the header's count."""
    return render_page("cart/_added.html", block="added", fragment=True, **cart_count(),
                       **context)


@bp.post("/lines/<int:line_id>")
def update(line_id: int):
    channel, ctx = viewer()
    cart = current_cart()
    quantity = _int("quantity")
    if cart is None:
        return _page("Your cart is empty.")
    try:
        if quantity is None:
            raise carts.CartError("Enter a whole number.", field="quantity")
        carts.set_quantity(db_session, cart, channel_id=channel.id, ctx=ctx, line_id=line_id,
                           quantity=quantity)
    except DomainError as err:
        db_session.rollback()
        return _page(str(err))
    db_session.commit()
    return _page()


@bp.post("/lines/<int:line_id>/remove")
def remove(line_id: int):
    cart = current_cart()
    if cart is not None:
        try:
            carts.remove_line(db_session, cart, line_id)
        except DomainError as err:
            return _page(str(err))
        db_session.commit()
    return _page("The line was removed.")


@bp.post("/coupon")
def coupon():
    _, ctx = viewer()
    code = request.form.get("code", "")[:60]
    try:
        if not request.form.get("remove"):
            # Every code tried counts (per address and account), so codes cannot be guessed
            # one after another; the cart stays as it is when the limit refuses.
            count("coupon", account=_customer_id())
        cart = current_cart(create=True)
        if request.form.get("remove"):
            carts.remove_coupon(db_session, cart, code)
        else:
            carts.apply_coupon(db_session, cart, ctx=ctx, code=code)
    except RateLimited as err:
        return with_retry_after(_page(coupon_error=str(err), code=code,
                                      status=form_status()), err)
    except DomainError as err:
        db_session.rollback()
        return _page(coupon_error=str(err), code=code)
    db_session.commit()
    return _page()
