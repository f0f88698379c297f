"""Checkout: contact, address, shipping, review, card; then the confirmation.

The browser posts the form with fetch once Stripe.js has turned the card into a
PaymentMethod (card Element -> confirmCardSetup); the answer is JSON: field errors, a
3-D Secure challenge to run with confirmCardPayment, a decline, or where to go next.
The SetupIntent behind the card Element is made only when the shopper starts entering a
card (POST /checkout/card-setup), not for every view of the page. Placing orders, card
set-ups and payment checks are rate-limited per address and per cart or account.
"""
from __future__ import annotations

import uuid
from dataclasses import replace

from flask import Blueprint, jsonify, redirect, request, session, url_for

from core.billing import giftcard_operations, prepayments
from core.customers.addresses import COUNTRIES, validate_address
from core.errors import DomainError, NotFound
from core.orders import queries as order_queries
from core.orders import services as orders
from core.orders.models import Order
from core.ratelimit import RateLimited
from core.workflows.card_payments import PaymentOutcome, authorise_order, complete_authentication
from core.web.auth import current_account, current_actor
from core.web.db import db_session
from core.web.htmx import htmx
from core.web.render import render_page
from storefront.cart import current_cart
from storefront.forms import CheckoutForm
from storefront.limits import count, limits, problem
from core.web.payments import card_form_context, gateway
from storefront.payment_answers import card_setup_answer, gave_up
from storefront.viewer import viewer

bp = Blueprint("checkout", __name__)
PLACED_KEY = "placed_orders"


def _preview(form: CheckoutForm):
    channel, ctx = viewer()
    cart = current_cart()
    if cart is None or not cart.lines:
        return None, ctx
    country = form.country.data if form.country.data in COUNTRIES else channel.country
    ctx = replace(ctx, coupon_codes=tuple(cart.coupon_codes), country=country)  # tax follows the goods
    found = orders.preview(db_session, ctx, [(l.variant_id, l.quantity) for l in cart.lines],
                           country=country, method_code=form.shipping_method.data)
    return found, ctx


def _page(form: CheckoutForm):
    found, ctx = _preview(form)
    if found is None:
        return redirect(url_for("cart.show"))
    form.shipping_method.data = found.chosen.method.code if found.chosen else None
    return render_page("checkout/checkout.html", form=form, preview=found, ctx=ctx,
                       **card_form_context(True, url_for("checkout.card_setup")))


def _customer_id() -> int | None:
    user = current_account()
    return user.customer_id if user else None


@bp.post("/checkout/card-setup")
def card_setup():
    """A SetupIntent for the card Element, asked for when the shopper starts entering a card."""
    cart = current_cart()
    if cart is None or not cart.lines:
        return jsonify({"status": "invalid", "errors": {"form": "Your cart is empty."}}), 422
    return card_setup_answer(gateway(), subject=f"cart:{cart.id}", account=_customer_id())


@bp.get("/checkout/review")
def review():
    """The shipping choices and totals again, for another country or method (htmx)."""
    form = CheckoutForm(request.args, meta={"csrf": False})
    found, ctx = _preview(form)
    if found is None:
        return redirect(url_for("cart.show"))
    return render_page("checkout/checkout.html", block="review", form=form, preview=found, ctx=ctx)


@bp.get("/checkout/regions")
def regions():
    """The region field for the chosen country (htmx swaps it when the country changes)."""
    form = CheckoutForm(request.args, meta={"csrf": False})
    if not htmx:
        return redirect(url_for("checkout.show"))
    return render_page("checkout/checkout.html", block="region_field", form=form)


@bp.get("/checkout")
def show():
    form = CheckoutForm()
    user = current_account()
    if user is not None and not form.email.data:
        form.email.data, form.full_name.data = user.email, user.full_name
    form.key.data = uuid.uuid4().hex
    return _page(form)


def _errors(form: CheckoutForm, extra: dict[str, str] | None = None, *,
            refused: RateLimited | None = None):
    errors = {name: " ".join(f.errors) for name, f in form._fields.items() if f.errors}
    errors.update(extra or {})
    response = jsonify({"status": "invalid", "errors": errors})
    if refused is not None:  # too many tries: 429, the message still at its field
        response.status_code = 429
        response.headers["Retry-After"] = str(refused.retry_after)
        return response
    return response, 422


@bp.post("/checkout")
def place():
    form = CheckoutForm()
    channel, ctx = viewer()
    cart = current_cart()
    if cart is None or not cart.lines:
        return jsonify({"status": "invalid", "errors": {"form": "Your cart is empty."}}), 422
    # The shipping choices are checked by the order service against the address's country.
    form.shipping_method.choices = [(form.shipping_method.data, "")]
    if not form.validate_on_submit():
        return _errors(form)
    gift_code = (form.gift_card.data or "").strip()
    if not form.payment_method.data and not gift_code:
        return _errors(form, {"card": "Enter your card details."})
    try:
        count("checkout", cart=cart.id, account=_customer_id())
    except RateLimited as err:
        return problem(err)
    if gift_code and (refused := _count_gift_card_use()):
        return _errors(form, {"gift_card": str(refused)}, refused=refused)
    try:
        address = validate_address(form.address())
        ctx = replace(ctx, coupon_codes=tuple(cart.coupon_codes), country=address["country"],
                      region=address["region"])
        user = current_account()
        order = orders.place_order(
            db_session,
            checkout=orders.Checkout(lines=[(l.variant_id, l.quantity) for l in cart.lines],
                                     email=form.email.data.strip().lower(),
                                     shipping_address=address, billing_address=address,
                                     shipping_method=form.shipping_method.data,
                                     po_number=form.po_number.data or ""),
            channel=channel, ctx=ctx, customer_id=user.customer_id if user else None,
            actor=current_actor(),
            idempotency_key=orders.attempt_key("checkout", cart.id, form.key.data))
        if gift_code:  # in the order's transaction: no order without its gift card, nor back
            _pay_with_gift_card(order, gift_code, card_given=bool(form.payment_method.data))
    except DomainError as err:
        db_session.rollback()
        return _errors(form, {err.field or "form": str(err)})
    db_session.commit()
    _remember(order)
    if order.payment_state == "captured":  # the gift card paid it all: no card step
        return _answer(PaymentOutcome("authorised", order))
    outcome = authorise_order(db_session, gateway(), order.id,
                              payment_method=form.payment_method.data, actor=current_actor(),
                              commit=db_session.commit)
    return _answer(outcome)


def _count_gift_card_use() -> RateLimited | None:
    """A code tried at checkout counts like a balance check; the refusal when throttled."""
    try:
        giftcard_operations.count_check(db_session, request.remote_addr, limits=limits())
    except RateLimited as err:
        db_session.rollback()
        return err
    db_session.commit()
    return None


def _pay_with_gift_card(order: Order, code: str, *, card_given: bool) -> None:
    """The gift card pays what it can; the order is paid when it pays all, else the card
    must be there for the rest."""
    prepayments.pay_with_gift_card(db_session, order, code, actor=current_actor())
    if orders.mark_prepaid(db_session, order, actor=current_actor(), reference="gift card"):
        return
    if not card_given and order.status == "pending_payment":
        rest = order.money(order.gross_total - order.amount_prepaid).format()
        raise orders.OrderError(f"The gift card pays {order.money(order.amount_prepaid).format()}; "
                                f"enter your card details for the remaining {rest}.", field="card")


def _answer(outcome):
    order = outcome.order
    if outcome.status == "authorised":
        _after_confirmation(order)
        return jsonify({"status": "confirmed",
                        "redirect": url_for("checkout.confirmation", number=order.number)})
    if outcome.status == "requires_action":
        return jsonify({"status": "requires_action", "client_secret": outcome.client_secret,
                        "complete_url": url_for("checkout.complete", number=order.number)})
    if outcome.status == "processing":
        return jsonify({"status": "processing", "message": outcome.message,
                        "complete_url": url_for("checkout.complete", number=order.number)}), 202
    return jsonify({"status": "declined", "message": outcome.message,
                    "key": uuid.uuid4().hex}), 402


def _own_order(number: str) -> Order:
    """An order this browser placed, or the signed-in customer's; else 404."""
    order = order_queries.by_number(db_session, number)
    user = current_account()
    mine = order is not None and (
        number in session.get(PLACED_KEY, []) or
        (user is not None and order.customer_id == user.customer_id))
    if not mine:
        raise NotFound("We could not find that order.")
    return order


@bp.post("/checkout/<number>/complete")
def complete(number: str):
    order = _own_order(number)
    try:
        count("payment_check", subject=f"order:{order.number}")
    except RateLimited as err:
        return problem(err)
    outcome = complete_authentication(db_session, gateway(), order.id, actor=current_actor(),
                                      commit=db_session.commit, gave_up=gave_up())
    return _answer(outcome)


def _remember(order: Order) -> None:
    """This browser may see the orders it placed (the last ten), signed in or not."""
    placed = [n for n in session.get(PLACED_KEY, []) if n != order.number][-9:]
    session[PLACED_KEY] = [*placed, order.number]


def _after_confirmation(order: Order) -> None:
    """Once an order is confirmed: empty the cart. (The confirmation e-mail follows from the
    order's confirmation itself, whoever confirmed it: see core.notifications.)"""
    cart = current_cart()
    if cart is not None:
        db_session.delete(cart)
        db_session.commit()


@bp.get("/order/<number>/thanks")
def confirmation(number: str):
    order = _own_order(number)
    return render_page("checkout/confirmation.html", order=order)
