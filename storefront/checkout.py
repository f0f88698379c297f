"""Checkout: contact, address, shipping, review, card; then the confirmation.

The browser posts the form with fetch once Stripe.js has turned the card into a
PaymentMethod (card Element -> confirmCardSetup); the answer is JSON: field errors, a
3-D Secure challenge to run with confirmCardPayment, a decline, or where to go next.
The SetupIntent behind the card Element is made only when the shopper starts entering a
card (POST /checkout/card-setup), not for every view of the page. Placing orders, card
set-ups and payment checks are rate-limited per address and per cart or account.

A company's login also chooses the ship-to from the address book (or a new address, saved
to the book when they may keep it), may ask for a delivery day, and pays on account when
the company has terms: no card, the order is confirmed at once and checked for credit and
spending limits (core.workflows.b2b_checkout). Guests and consumers see none of it.
"""
from __future__ import annotations

import uuid
from dataclasses import replace

from flask import Blueprint, current_app, jsonify, redirect, request, session, url_for
from wtforms.fields.choices import SelectChoice

from core.billing import giftcard_operations, prepayments
from core.customers import roles
from core.customers.addresses import COUNTRIES, validate_address
from core.errors import DomainError, NotFound
from core.orders import queries as order_queries
from core.orders import services as orders
from core.orders.models import Order
from core.ratelimit import RateLimited
from core.workflows import b2b_checkout
from core.workflows.card_payments import (PaymentOutcome, authorise_new_order, authorise_order,
                                          complete_authentication)
from core.workflows.order_page import awaiting_approval
from core.web.auth import current_account, current_actor
from core.web.db import db_session
from core.web.htmx import htmx
from core.web.render import render_page
from storefront.cart import current_cart, discard_cart
from storefront.forms import CheckoutForm
from storefront.limits import count, limits, problem
from core.web.payments import card_form_context, gateway
from storefront.payment_answers import card_setup_answer, gave_up
from storefront.viewer import viewer

bp = Blueprint("checkout", __name__)
PLACED_KEY = "placed_orders"


def _company_login():
    """The signed-in login when it is a company's (their checkout has a book and terms)."""
    user = current_account()
    return user if user is not None and roles.is_company(user) else None


def _book(form: CheckoutForm):
    """The company login's address book, with the form's ship-to and payment choices set;
    [] for everyone else."""
    user = _company_login()
    if user is None:
        form.ship_to.data = "new"
        form.payment.data = "card"
        return []
    book = b2b_checkout.address_book(db_session, user)
    form.ship_to.choices = [SelectChoice(str(a.id), a.label or a.full_name) for a in book] + [
        SelectChoice("new", "A new address")]
    form.payment.choices = ([SelectChoice("on_account", b2b_checkout.payment_label(user))]
                            if b2b_checkout.offers_on_account(user) else []) + [
        SelectChoice("card", "Card")]
    return book


def _country(form: CheckoutForm, book, default: str) -> str:
    chosen = next((a for a in book if str(a.id) == form.ship_to.data), None)
    if chosen is not None:
        return chosen.country
    return form.country.data if form.country.data in COUNTRIES else default


def _preview(form: CheckoutForm, book=()):
    channel, ctx = viewer()
    cart = current_cart()
    if cart is None or not cart.lines:
        return None, ctx
    country = _country(form, book, channel.country)
    ctx = replace(ctx, coupon_codes=tuple(cart.coupon_codes), country=country)  # tax follows the goods
    found = orders.preview(db_session, ctx, [(l.variant_id, l.quantity) for l in cart.lines],
                           country=country, method_code=form.shipping_method.data)
    return found, ctx


def _page(form: CheckoutForm, book=()):
    found, ctx = _preview(form, book)
    if found is None:
        return redirect(url_for("cart.show"))
    form.shipping_method.data = found.chosen.method.code if found.chosen else None
    user = _company_login()
    return render_page("checkout/checkout.html", form=form, preview=found, ctx=ctx, book=book,
                       company=user is not None,
                       may_save_address=b2b_checkout.may_save_address(user),
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
    book = _book(form)
    form.ship_to.data = request.args.get("ship_to", "new")
    found, ctx = _preview(form, book)
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
    book = _book(form)
    if book or _company_login():
        form.ship_to.data = b2b_checkout.default_ship_to(book)
        form.payment.data = form.payment.choices[0].value
    return _page(form, book)


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
    company_user = _company_login()
    if company_user is None:  # guests and consumers: today's checkout, a new address, card
        form.ship_to.data, form.payment.data = "new", "card"
    if not form.validate_on_submit():
        return _errors(form)
    on_account = company_user is not None and form.payment.data == "on_account"
    gift_code = "" if on_account else (form.gift_card.data or "").strip()
    if not on_account and not form.payment_method.data and not gift_code:
        return _errors(form, {"card": "Enter your card details."})
    try:
        count("checkout", cart=cart.id, account=_customer_id())
    except RateLimited as err:
        return problem(err)
    if gift_code and (refused := _count_gift_card_use()):
        return _errors(form, {"gift_card": str(refused)}, refused=refused)
    try:
        address = _ship_to(form, company_user)
        ctx = replace(ctx, coupon_codes=tuple(cart.coupon_codes), country=address["country"],
                      region=address["region"])
        user = current_account()
        key = orders.attempt_key("checkout", cart.id, form.key.data)
        order, placed = orders.place_or_find(
            db_session,
            checkout=orders.Checkout(lines=[(l.variant_id, l.quantity) for l in cart.lines],
                                     email=form.email.data.strip().lower(),
                                     shipping_address=address, billing_address=address,
                                     shipping_method=form.shipping_method.data,
                                     payment_method="on_account" if on_account else "card",
                                     po_number=form.po_number.data or "",
                                     ship_complete=form.ship_complete.data == "1"),
            channel=channel, ctx=ctx, customer_id=user.customer_id if user else None,
            actor=current_actor(),
            idempotency_key=key)
        # The same submission again (a double click, a retry) returns the order placed the
        # first time: its company steps ran then (confirmed on account, address saved).
        if company_user is not None and placed and order.status == "pending_payment":
            _company_steps(order, form, company_user, on_account=on_account)
        if gift_code:  # in the order's transaction: no order without its gift card, nor back
            _pay_with_gift_card(order, gift_code, card_given=bool(form.payment_method.data))
    except DomainError as err:
        db_session.rollback()
        return _errors(form, {err.field or "form": str(err)})
    _remember(order)
    if placed and orders.awaits_card_payment(order):  # its attempt committed with it
        return _answer(authorise_new_order(db_session, gateway(), order,
                                           payment_method=form.payment_method.data,
                                           actor=current_actor(), commit=db_session.commit))
    db_session.commit()
    if order.payment_state in ("captured", "on_account"):  # no card step
        return _answer(PaymentOutcome("authorised", order))
    outcome = authorise_order(db_session, gateway(), order.id,
                              payment_method=form.payment_method.data, actor=current_actor(),
                              commit=db_session.commit)
    return _answer(outcome)


def _ship_to(form: CheckoutForm, company_user) -> dict[str, str]:
    """The delivery address: one from the company's book, or the one entered."""
    if company_user is not None and form.book_address_chosen():
        chosen = b2b_checkout.ship_to(b2b_checkout.address_book(db_session, company_user),
                                      form.ship_to.data)
        if chosen is not None:
            return chosen
    return validate_address(form.address())


def _company_steps(order: Order, form: CheckoutForm, user, *, on_account: bool) -> None:
    """A company's order, in its placement's transaction: the requested day, the new address
    saved to the book, and on account (confirmed, credit and spending checks) or, for a
    card, the spending check (the approvers hear of it once the card is authorised)."""
    b2b_checkout.set_requested_date(order, form.requested_date.data)
    if not form.book_address_chosen() and form.save_address.data:
        b2b_checkout.save_address(db_session, user, order.shipping_address,
                                  actor=current_actor())
    if on_account:
        b2b_checkout.confirm_on_account(db_session, order, user, actor=current_actor(),
                                        overdue_days=current_app.config["MARKETLINE"].CREDIT_OVERDUE_DAYS)
    else:
        b2b_checkout.after_placement(db_session, order, actor=current_actor())


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
        (user is not None and roles.owns(user, customer_id=order.customer_id,
                                         placed_by_kind=order.placed_by_kind,
                                         placed_by_id=order.placed_by_id)))
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
    """Once an order is confirmed: the cart is emptied, and a company's approvers hear of
    an order a gift card paid in full (once: an order on account or confirmed by a card
    was announced where it was confirmed, core.workflows.b2b_checkout and card_payments).
    (The confirmation e-mail follows from the order's confirmation itself, whoever
    confirmed it: see core.notifications.)"""
    if b2b_checkout.after_confirmation(db_session, order, actor=current_actor()):
        db_session.commit()
    cart = current_cart()
    if cart is not None:
        discard_cart(cart)
        db_session.commit()


@bp.get("/order/<number>/thanks")
def confirmation(number: str):
    order = _own_order(number)
    return render_page("checkout/confirmation.html", order=order,
                       awaiting_approval=awaiting_approval(order))
