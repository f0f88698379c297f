"""Phone order entry: lines by SKU or name, live prices, overrides, shipping, payment.

The lines being entered live in a Cart row without a customer, whose token the console
session keeps per customer (``entry:<customer number>``), with the agent's price
overrides and the shipping choice; only the MAX_ENTRIES most recent customers are kept
(the session is a cookie of at most 4 KB). Every change posts a form: htmx swaps the entry panel,
a browser without JavaScript gets the page again (post, redirect, get).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from flask import Blueprint, current_app, flash, jsonify, request, session, url_for
from werkzeug.routing import BuildError

from core import ratelimit
from core.billing import prepayments
from core.customers.addresses import validate_address
from core.customers.models import Customer
from core.errors import DomainError, NotFound
from core.money import Money
from core.orders import cart as carts
from core.orders import queries as order_queries
from core.orders import services as orders
from core.orders.models import Cart, Order
from core.parsing import parse_decimal
from core.payments.gateway import GatewayUnavailable
from core.workflows import phone_orders as phone
from core.web.auth import current_account
from core.web.db import db_session
from core.web.forms import card_reference, place_error
from core.web.htmx import htmx
from core.web.payments import card_form_context, gateway
from core.web.render import redirect_to, render_page, wants_json
from callcenter.access import requires_role
from callcenter.order_entry_forms import (NEW_ADDRESS, AddLineForm, ConfirmForm, CouponForm,
                                          OverrideForm, PlaceForm, QuantityForm, ShippingForm,
                                          options)

bp = Blueprint("order_entry", __name__)
ROLES = ("agent", "supervisor")
MAX_ENTRIES = 5  # phone orders an agent keeps open at once (one per customer)
RECENT_KEY = "entries"  # their customer numbers, the most recent last
CARD_ENTRY_OFF = ("Card payment by phone is switched off here (PHONE_CARD_ENTRY): send the "
                  "customer a payment link instead.")


# -- the entry kept between requests ---------------------------------------------------------

@dataclass
class Entry:
    customer: Customer
    state: dict
    cart: Cart | None
    book: list = field(default_factory=list)

    @property
    def lines(self) -> list[tuple[int, int]]:
        return [(l.variant_id, l.quantity) for l in self.cart.lines] if self.cart else []

    @property
    def coupons(self) -> list[str]:
        return list(self.cart.coupon_codes) if self.cart else []

    @property
    def overrides(self) -> dict[int, phone.PriceOverride]:
        return phone.parse_overrides(_kept_overrides(self.state.get("overrides")))

    @property
    def ship(self) -> dict:
        return self.state.setdefault("ship", {})

    def address(self) -> dict | None:
        """The shipping address chosen: from the book, or typed (None when there is none)."""
        chosen = self.ship.get("address_id") or (str(self.book[0].id) if self.book else NEW_ADDRESS)
        if chosen == NEW_ADDRESS:
            return self.ship.get("address") or None
        found = next((a for a in self.book if str(a.id) == chosen), None)
        return found.as_dict() if found else None


def _kept_overrides(stored: dict | None) -> dict:
    """The stored overrides whose numbers the override form accepts today. A session
    written before it was bounded may hold "1e30", which broke the customer's entry page
    until the agent signed out; such an override is dropped."""
    def fits(raw) -> bool:
        return isinstance(raw, dict) and all(
            parse_decimal(str(raw[k])) is not None
            for k in ("unit_price", "percent") if raw.get(k) not in (None, ""))
    return {vid: raw for vid, raw in (stored or {}).items()
            if str(vid).isascii() and str(vid).isdigit() and fits(raw)}


def _session_key(customer: Customer) -> str:
    return f"entry:{customer.number}"


def _load(number: str) -> Entry:
    customer = phone.find_customer(db_session, number)
    state = dict(session.get(_session_key(customer)) or {})
    cart = carts.find_cart(db_session, token=state["cart"]) if state.get("cart") else None
    return Entry(customer, state, cart, phone.addresses(db_session, customer))


def _save(entry: Entry) -> None:
    """Keep the entry in the session; forget the oldest beyond MAX_ENTRIES customers."""
    number = entry.customer.number
    recent = ([n for n in session.get(RECENT_KEY, []) if n != number] + [number])[-MAX_ENTRIES:]
    for key in [k for k in session if k.startswith("entry:") and k[6:] not in recent]:
        session.pop(key)
    session[RECENT_KEY] = recent
    session[_session_key(entry.customer)] = entry.state


def _card_entry() -> bool:
    """Whether agents may type cards read out on the phone (PHONE_CARD_ENTRY)."""
    return current_app.config["MARKETLINE"].phone_card_entry


def _open_cart(entry: Entry) -> Cart:
    if entry.cart is None:
        entry.cart = carts.open_cart(db_session, token=None, customer_id=None)
        entry.state["cart"] = entry.cart.token
    return entry.cart


def _context(entry: Entry, *, with_coupons: bool = True):
    return phone.entry_context(db_session, entry.customer,
                               coupon_codes=entry.coupons if with_coupons else (),
                               address=entry.address())


def _limits() -> phone.DiscountLimits:
    return phone.DiscountLimits.from_settings(current_app.config["MARKETLINE"])


# -- rendering ---------------------------------------------------------------------------------

def _render(entry: Entry, *, forms: dict | None = None, focus: str = "sku", problem: str = ""):
    """The entry page, or its panel for htmx; `forms` holds forms that carry errors."""
    forms = forms or {}
    address = entry.address()
    price = phone.price_entry(db_session, entry.customer, entry.lines, entry.overrides,
                              entry.coupons, agent=current_account(), limits=_limits(),
                              address=address, shipping_method=entry.ship.get("method"))
    line_ids = {l.variant_id: l.id for l in entry.cart.lines} if entry.cart else {}
    suggested = phone.suggestions(db_session, entry.customer, {l.product_id for l in price.lines},
                                  exclude_variants=line_ids)
    line_forms = {}
    for line in price.lines:
        lid = line_ids[line.variant_id]
        stored = (entry.state.get("overrides") or {}).get(str(line.variant_id), {})
        line_forms[lid] = (
            forms.get(("quantity", lid)) or QuantityForm(prefix=f"q{lid}", formdata=None,
                                                         quantity=line.priced.quantity),
            forms.get(("price", lid)) or OverrideForm(prefix=f"o{lid}", formdata=None,
                                                      data=_override_data(stored)))
    shipping_form = forms.get("shipping") or _shipping_form(entry, formdata=None)
    if price.options:
        shipping_form.shipping_method.choices = options((o.method.code, o.method.name)
                                                        for o in price.options)
        shipping_form.shipping_method.data = price.chosen.method.code
    place_form = forms.get("place") or PlaceForm(formdata=None, key=uuid.uuid4().hex,
                                                 payment_method=_default_payment(entry.customer))
    return render_page(
        "order_entry/entry.html", block="panel", entry=entry, customer=entry.customer,
        price=price, line_ids=line_ids, line_forms=line_forms, suggestions=suggested,
        add_form=forms.get("add") or AddLineForm(formdata=None),
        coupon_form=forms.get("coupon") or CouponForm(formdata=None),
        shipping_form=shipping_form, place_form=place_form, address=address,
        payments={k: v for k, v in phone.PAYMENT_METHODS.items()
                  if (k != "on_account" or entry.customer.on_account_allowed)
                  and (k != "card" or _card_entry())},
        reasons=phone.REASONS, kinds=phone.SUGGESTION_KINDS, focus=focus, problem=problem,
        confirm=ConfirmForm(formdata=None))


def _override_data(stored: dict) -> dict:
    return {"reason": stored.get("reason", ""), "unit_price": stored.get("unit_price"),
            "percent": stored.get("percent")}


def _default_payment(customer: Customer) -> str:
    if customer.on_account_allowed:
        return "on_account"
    return "card" if _card_entry() else "pay_link"


def _shipping_form(entry: Entry, **kwargs) -> ShippingForm:
    ship = entry.ship
    data = dict(ship.get("address") or {})
    data.setdefault("country", "DE")
    form = ShippingForm(**kwargs, data={**data, "address_id": ship.get("address_id") or (
        str(entry.book[0].id) if entry.book else NEW_ADDRESS),
        "shipping_method": ship.get("method")})
    form.address_id.choices = options([*((str(a.id), _address_label(a)) for a in entry.book),
                                       (NEW_ADDRESS, "Type a new address")])
    return form


def _address_label(address) -> str:
    label = f"{address.label}: " if address.label else ""
    return f"{label}{address.full_name}, {address.line1}, {address.postal_code} {address.city}"


def _changed(entry: Entry, *, focus: str = "sku"):
    """A change was made: commit, then the panel (htmx) or the page again (a browser)."""
    db_session.commit()
    _save(entry)
    if htmx:
        return _render(entry, focus=focus)
    return redirect_to(url_for(".new", customer=entry.customer.number))


def _refused(entry: Entry, form, err: DomainError, key, *, default_field: str | None = None,
             focus: str = "sku"):
    db_session.rollback()
    if err.field is None and default_field:
        err.field = default_field
    place_error(form, err)
    return _render(_load(entry.customer.number), forms={key: form}, focus=focus)


def order_url(number: str) -> str:
    """The console's page of an order (order administration, console_orders.detail)."""
    try:
        return url_for("console_orders.detail", number=number)
    except BuildError:  # not registered (yet): the same address
        return f"{request.script_root}/orders/{number}"


# -- the entry screen ------------------------------------------------------------------------------

@bp.get("/new", endpoint="new")
@requires_role(*ROLES)
def new():
    number = request.args.get("customer", "").strip()
    if not number:
        return render_page("order_entry/choose.html", number="", problem="")
    try:
        entry = _load(number)
    except NotFound as err:
        return render_page("order_entry/choose.html", status=404, number=number[:20],
                           problem=str(err))
    return _render(entry)


@bp.get("/suggest", endpoint="suggest")
@requires_role(*ROLES)
def suggest():
    """Options for the SKU field's list: items whose SKU or name match what is typed."""
    customer = phone.find_customer(db_session, request.args.get("customer", ""))
    found = phone.find_items(db_session, customer, request.args.get("sku", "")[:100])
    return render_page("order_entry/entry.html", block="options", fragment=True, found=found)


@bp.post("/new/<customer>/lines", endpoint="add_line")
@requires_role(*ROLES)
def add_line(customer: str):
    entry = _load(customer)
    form = AddLineForm()
    if not form.validate_on_submit():
        return _render(entry, forms={"add": form})
    try:
        variant_id = phone.resolve_item(db_session, entry.customer, form.sku.data)
        channel, ctx = _context(entry, with_coupons=False)
        carts.add_item(db_session, _open_cart(entry), channel_id=channel.id, ctx=ctx,
                       variant_id=variant_id, quantity=form.quantity.data, with_sku=True)
    except DomainError as err:
        return _refused(entry, form, err, "add", default_field="sku",
                        focus="quantity" if err.field == "quantity" else "sku")
    return _changed(entry)


@bp.post("/new/<customer>/suggestions/<int:variant_id>", endpoint="add_suggestion")
@requires_role(*ROLES)
def add_suggestion(customer: str, variant_id: int):
    entry = _load(customer)
    form = AddLineForm(data={"quantity": 1})
    if not ConfirmForm().validate_on_submit():
        return _render(entry, problem="The form expired; try again.")
    try:
        channel, ctx = _context(entry, with_coupons=False)
        carts.add_item(db_session, _open_cart(entry), channel_id=channel.id, ctx=ctx,
                       variant_id=variant_id, quantity=1, with_sku=True)
    except DomainError as err:
        return _refused(entry, form, err, "add", default_field="sku")
    return _changed(entry)


def _cart_line(entry: Entry, line_id: int):
    line = next((l for l in entry.cart.lines if l.id == line_id), None) if entry.cart else None
    if line is None:
        raise NotFound("That line is not in this order.")
    return line


@bp.post("/new/<customer>/lines/<int:line_id>", endpoint="set_quantity")
@requires_role(*ROLES)
def set_quantity(customer: str, line_id: int):
    entry = _load(customer)
    line = _cart_line(entry, line_id)
    variant_id = line.variant_id
    form = QuantityForm(prefix=f"q{line_id}")
    if not form.validate_on_submit():
        return _render(entry, forms={("quantity", line_id): form}, focus=form.quantity.id)
    try:
        channel, ctx = _context(entry, with_coupons=False)
        carts.set_quantity(db_session, entry.cart, channel_id=channel.id, ctx=ctx,
                           line_id=line_id, quantity=form.quantity.data, with_sku=True)
    except DomainError as err:
        return _refused(entry, form, err, ("quantity", line_id), default_field="quantity",
                        focus=form.quantity.id)
    if form.quantity.data == 0:
        entry.state.get("overrides", {}).pop(str(variant_id), None)
    return _changed(entry)


@bp.post("/new/<customer>/lines/<int:line_id>/remove", endpoint="remove_line")
@requires_role(*ROLES)
def remove_line(customer: str, line_id: int):
    entry = _load(customer)
    line = _cart_line(entry, line_id)
    if ConfirmForm().validate_on_submit():
        entry.state.get("overrides", {}).pop(str(line.variant_id), None)
        carts.remove_line(db_session, entry.cart, line_id)
    return _changed(entry)


@bp.post("/new/<customer>/lines/<int:line_id>/price", endpoint="override")
@requires_role(*ROLES)
def override(customer: str, line_id: int):
    """A new unit price or a discount for the line, with a reason code."""
    entry = _load(customer)
    line = _cart_line(entry, line_id)
    form = OverrideForm(prefix=f"o{line_id}")
    if not form.validate_on_submit():
        return _render(entry, forms={("price", line_id): form}, focus=form.unit_price.id)
    try:
        phone.parse_override(form.stored())
    except DomainError as err:
        return _refused(entry, form, err, ("price", line_id), focus=form.unit_price.id)
    entry.state.setdefault("overrides", {})[str(line.variant_id)] = form.stored()
    return _changed(entry)


@bp.post("/new/<customer>/lines/<int:line_id>/price/clear", endpoint="clear_override")
@requires_role(*ROLES)
def clear_override(customer: str, line_id: int):
    entry = _load(customer)
    line = _cart_line(entry, line_id)
    if ConfirmForm().validate_on_submit():
        entry.state.get("overrides", {}).pop(str(line.variant_id), None)
    return _changed(entry)


@bp.post("/new/<customer>/coupons", endpoint="add_coupon")
@requires_role(*ROLES)
def add_coupon(customer: str):
    entry = _load(customer)
    form = CouponForm()
    if not form.validate_on_submit():
        return _render(entry, forms={"coupon": form}, focus="code")
    try:
        _, ctx = _context(entry, with_coupons=False)
        carts.apply_coupon(db_session, _open_cart(entry), ctx=ctx, code=form.code.data)
    except DomainError as err:
        return _refused(entry, form, err, "coupon", default_field="code", focus="code")
    return _changed(entry, focus="code")


@bp.post("/new/<customer>/coupons/remove", endpoint="remove_coupon")
@requires_role(*ROLES)
def remove_coupon(customer: str):
    entry = _load(customer)
    if ConfirmForm().validate_on_submit() and entry.cart is not None:
        carts.remove_coupon(db_session, entry.cart, request.form.get("code", "")[:40])
    return _changed(entry, focus="code")


@bp.post("/new/<customer>/shipping", endpoint="shipping")
@requires_role(*ROLES)
def shipping(customer: str):
    """Where to (from the address book, or typed) and how."""
    entry = _load(customer)
    form = _shipping_form(entry)
    if not form.validate_on_submit():
        return _render(entry, forms={"shipping": form}, focus="address_id")
    chosen = form.address_id.data
    if chosen != NEW_ADDRESS and chosen not in {str(a.id) for a in entry.book}:
        chosen = NEW_ADDRESS
    ship = {"address_id": chosen, "method": form.shipping_method.data or None}
    typed = form.typed_address()
    if chosen == NEW_ADDRESS and any(v for k, v in typed.items() if k != "country"):
        try:
            ship["address"] = validate_address(typed)
        except DomainError as err:
            place_error(form, err)
            return _render(entry, forms={"shipping": form}, focus=form[err.field].id
                           if err.field in form else "address_id")
    entry.state["ship"] = ship
    return _changed(entry, focus="address_id")


@bp.post("/new/<customer>/discard", endpoint="discard")
@requires_role(*ROLES)
def discard(customer: str):
    """Throw the customer's draft away (lines, coupons, price changes, shipping): the next
    call starts empty."""
    entry = _load(customer)
    if ConfirmForm().validate_on_submit():
        if entry.cart is not None:
            carts.discard(db_session, entry.cart.id)
        db_session.commit()
        session.pop(_session_key(entry.customer), None)
        flash(f"The draft order for {entry.customer.name} is discarded.", "success")
    return redirect_to(url_for(".new", customer=entry.customer.number))


@bp.post("/new/<customer>/place", endpoint="place")
@requires_role(*ROLES)
def place(customer: str):
    entry = _load(customer)
    form = PlaceForm()
    if not form.validate_on_submit():
        return _render(entry, forms={"place": form}, focus="payment_method")
    if form.payment_method.data == "card" and not _card_entry():
        form.payment_method.errors = [*form.payment_method.errors, CARD_ENTRY_OFF]
        return _render(entry, forms={"place": form}, focus="payment_method")
    address = entry.address()
    if address is None:
        form.form_errors.append("Choose or type the shipping address.")
        return _render(entry, forms={"place": form}, focus="address_id")
    agent = current_account()
    try:
        order = phone.place_phone_order(
            db_session, customer=entry.customer, agent=agent, lines=entry.lines,
            overrides=entry.overrides, coupon_codes=entry.coupons, shipping_address=address,
            shipping_method=entry.ship.get("method") or _first_method(entry, address),
            payment_method=form.payment_method.data, settings_limits=_limits(),
            idempotency_key=orders.attempt_key("phone", agent.id, form.key.data),
            overdue_days=current_app.config["MARKETLINE"].CREDIT_OVERDUE_DAYS,
            po_number=form.po_number.data or "", gift_card=form.gift_card.data or "",
            ship_complete=form.ship_complete.data == "1")
    except DomainError as err:
        return _refused(entry, form, err, "place", focus="payment_method")
    if entry.cart is not None:
        db_session.delete(entry.cart)
    db_session.commit()
    session.pop(_session_key(entry.customer), None)
    if order.status == "pending_payment" and order.payment_method == "card":
        return redirect_to(url_for(".card", number=order.number))
    flash(_placed_message(order), "success")
    return redirect_to(order_url(order.number))


@bp.post("/new/<customer>/gift-card", endpoint="gift_card")
@requires_role(*ROLES)
def gift_card(customer: str):
    """What the gift card the customer reads out pays of the order as entered (htmx)."""
    entry = _load(customer)
    code = request.form.get("gift_card", "").strip()[:40]  # CSRFProtect checked the token
    quote, problem, total = None, "Enter the gift card code.", None
    if code:
        price = phone.price_entry(db_session, entry.customer, entry.lines, entry.overrides,
                                  entry.coupons, address=entry.address(),
                                  shipping_method=entry.ship.get("method"))
        currency = phone.pricing_channel(db_session, entry.customer).currency
        total = Money(price.total, currency)
        try:
            quote, problem = prepayments.quote(db_session, code, total=price.total,
                                               currency=currency), ""
        except DomainError as err:
            problem = str(err)
    return render_page("order_entry/entry.html", block="gift_card_result", fragment=True,
                       gift_quote=quote, gift_problem=problem, gift_total=total)


def _first_method(entry: Entry, address: dict) -> str:
    price = phone.price_entry(db_session, entry.customer, entry.lines, entry.overrides,
                              entry.coupons, address=address)
    return price.chosen.method.code if price.chosen else ""


def _placed_message(order: Order) -> str:
    kinds = {h.kind for h in order.active_holds}
    held = " It waits for a supervisor's approval of the discount." if "approval" in kinds else ""
    if "credit" in kinds:  # core.credit.checks (review finding M8)
        held += (" It is on credit hold (over the credit limit or invoices long overdue) "
                 "until the credit team releases it.")
    if order.payment_state == "captured":
        return f"Order {order.number} placed and paid in full by gift card.{held}"
    if order.amount_prepaid:
        held = (f" The gift card paid {order.money(order.amount_prepaid).format()}." + held)
    if order.payment_state == "on_account":
        return f"Order {order.number} placed on account.{held}"
    return f"Order {order.number} placed; the payment link was e-mailed to {order.email}.{held}"


# -- payment by phone ------------------------------------------------------------------------

def _order(number: str) -> Order:
    order = order_queries.by_number(db_session, number, channel=phone.CHANNEL)
    if order is None:
        raise NotFound("We could not find that order.")
    return order


@bp.get("/<number>/card", endpoint="card")
@requires_role(*ROLES)
def card(number: str):
    """The card form: the agent types the card the customer reads out (MOTO). Its
    SetupIntent is made only once the agent starts typing the card (card_setup)."""
    order = _order(number)
    problem = "" if _card_entry() else CARD_ENTRY_OFF
    return render_page("order_entry/card.html", order=order, problem=problem,
                       order_link=order_url(order.number), confirm=ConfirmForm(formdata=None),
                       card_entry=_card_entry(), **card_form_context(True))


def _problem(status: int, title: str, detail: str, retry_after: int | None = None):
    response = jsonify({"type": "about:blank", "title": title, "status": status,
                        "detail": detail})
    response.status_code = status
    response.mimetype = "application/problem+json"
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.post("/<number>/card/setup", endpoint="card_setup")
@requires_role(*ROLES)
def card_setup(number: str):
    """The card form's SetupIntent (JSON), counted per agent and per order."""
    order = _order(number)
    if not _card_entry():
        return _problem(403, "Card entry is off", CARD_ENTRY_OFF)
    if order.status != "pending_payment":
        return _problem(409, "Nothing to pay", "This order is not awaiting payment.")
    limits = ratelimit.limits_for(current_app.config["MARKETLINE"])
    try:
        limits.hit(db_session, "card_setup", subject=f"order:{order.number}",
                   account=f"agent:{current_account().id}")
    except ratelimit.RateLimited as err:
        return _problem(429, "Slow down", str(err), err.retry_after)
    db_session.commit()
    try:
        _, client_secret = gateway().setup_intent()
    except GatewayUnavailable as err:
        return _problem(503, "Payment service unavailable", str(err))
    return jsonify({"status": "ready", "client_secret": client_secret})


@bp.post("/<number>/card", endpoint="pay_card")
@requires_role(*ROLES)
def pay_card(number: str):
    order = _order(number)
    json_wanted = wants_json()
    if not _card_entry():
        if json_wanted:
            return jsonify({"status": "unavailable", "message": CARD_ENTRY_OFF,
                            "retry": url_for(".card", number=number)}), 403
        flash(CARD_ENTRY_OFF, "error")
        return redirect_to(url_for(".card", number=number))
    payment_method = card_reference(request.form.get("payment_method"))
    if not ConfirmForm().validate_on_submit() or not payment_method:
        message = "Enter the card details."
        if json_wanted:
            return jsonify({"status": "invalid", "message": message}), 422
        flash(message, "error")
        return redirect_to(url_for(".card", number=number))
    outcome = phone.take_card(db_session, gateway(), order, payment_method=payment_method,
                              agent=current_account(), commit=db_session.commit)
    if outcome.status == "authorised":
        flash(f"Card authorised for order {order.number}.", "success")
        if json_wanted:
            return jsonify({"status": "authorised", "redirect": order_url(order.number)})
        return redirect_to(order_url(order.number))
    # A decline keeps the order awaiting payment: the card page again (a fresh SetupIntent)
    # for another card, or a payment link.
    message = outcome.message or "The card was not authorised."
    flash(message, "error")
    if json_wanted:
        return jsonify({"status": outcome.status, "message": message,
                        "retry": url_for(".card", number=number)}), 402
    return redirect_to(url_for(".card", number=number))


@bp.post("/<number>/pay-link", endpoint="pay_link")
@requires_role(*ROLES)
def pay_link(number: str):
    """Instead of a card: e-mail the customer a link to pay the order."""
    order = _order(number)
    if not ConfirmForm().validate_on_submit():
        return redirect_to(url_for(".card", number=number))
    agent = current_account()
    try:
        phone.switch_to_pay_link(db_session, order, agent=agent)
    except DomainError as err:
        db_session.rollback()
        flash(str(err), "error")
        return redirect_to(order_url(order.number))
    db_session.commit()
    flash(f"The payment link was e-mailed to {order.email}.", "success")
    return redirect_to(order_url(order.number))
