"""Returns in the shop: asking to return items of a shipped order (the policy shown first),
the return's page with its state, credit notes and return label, and the customer's returns.

A signed-in customer reaches only the orders and returns their login sees
(core.customers.roles: a company buyer those they placed; another's answer 404). A
guest reaches the returns of the guest orders this browser proved by the order look-up
(number, e-mail and postcode, counted and throttled there): the look-up remembers them in
the session, as checkout remembers the orders a browser placed, so that the return form,
the return's page and its label are ordinary pages and links, and a guest's return can be
followed after the redirect. No other order or return opens from here.
"""
from __future__ import annotations

import uuid

from flask import Blueprint, current_app, flash, make_response, session, url_for
from flask_login import login_required

from core.errors import NotFound
from core.money import Money
from core.orders import queries as order_queries
from core.orders.models import Order
from core.orders.services import attempt_key
from core.returns import label, policy, services, settlement
from core.returns.models import ReturnAuthorisation
from core.returns.states import ReturnStatus
from core.returns.states import label as status_label
from core.web.auth import current_account, current_actor
from core.web.db import db_session
from core.web.forms import commit_or_refuse
from core.web.payments import gateway
from core.web.render import redirect_to, render_page
from core.workflows import return_page
from storefront.forms import ReturnForm

bp = Blueprint("returns", __name__)
GUEST_ORDERS_KEY = "looked_up_orders"
LATEST = 5  # returns on the account overview
LISTED = 50  # returns on the account's returns page


@bp.app_template_filter("return_status")
def return_status(status: str) -> str:
    return status_label(status)


@bp.app_template_filter("return_reason")
def return_reason(code: str) -> str:
    return policy.reason_label(code)


def _settings():
    return current_app.config["MARKETLINE"]


# --- what other pages show of returns ------------------------------------------------------

def on_order_page(order: Order) -> dict:
    """What the order page shows of returns: whether anything may be returned now (the
    "Return items" button) and the order's returns."""
    return {"returnable": services.can_return(db_session, order, _settings()),
            "returns": services.for_order(db_session, order.id)}


def latest_returns(viewer) -> list[tuple[ReturnAuthorisation, str]]:
    """The newest returns the login sees, with their orders' numbers, for the account
    overview."""
    return services.for_viewer(db_session, viewer, limit=LATEST)


def remember_guest_order(order: Order) -> None:
    """The order look-up proved this guest order: this browser may return its items and
    follow its returns (the last ten orders looked up)."""
    proved = [n for n in session.get(GUEST_ORDERS_KEY, []) if n != order.number][-9:]
    session[GUEST_ORDERS_KEY] = [*proved, order.number]


def _guest_orders() -> list[str]:
    return list(session.get(GUEST_ORDERS_KEY, []))


def _guest_order(number: str) -> Order:
    """A guest order this browser looked up; else 404."""
    order = order_queries.by_number(db_session, number)
    if order is None or order.customer_id is not None or order.number not in _guest_orders():
        raise NotFound("We could not find that order.")
    return order


def _viewer():
    """The signed-in login: what it sees is core.customers.roles' to say."""
    return current_account()


# --- asking --------------------------------------------------------------------------------

def _form_page(order: Order, form: ReturnForm, lines, *, guest: bool):
    def money(amount):
        return Money(amount, order.currency).format()
    return render_page("returns/new.html", order=order, form=form, lines=lines, guest=guest,
                       policy=policy.summary(_settings(), money),
                       methods=form.refund_method.choices)


def _new(order: Order, *, guest: bool):
    lines = services.returnable_lines(db_session, order, _settings())
    form = ReturnForm.for_order(lines, services.refund_methods(db_session, order))
    form.key.data = uuid.uuid4().hex
    return _form_page(order, form, lines, guest=guest)


def _create(order: Order, *, guest: bool):
    lines = services.returnable_lines(db_session, order, _settings())
    form = ReturnForm.for_order(lines, services.refund_methods(db_session, order))
    if form.validate_on_submit():
        actor = current_actor()
        if done := commit_or_refuse(form, services.request_return, order,
                                    form.return_request(), actor=actor, channel="shop",
                                    settings=_settings(),
                                    key=attempt_key("return", order.id, form.key.data)):
            outcome = settlement.settle(db_session, gateway(), done.value.id, actor=actor,
                                        commit=db_session.commit)
            _say_what_happens(outcome)
            endpoint = ".guest_detail" if guest else ".detail"
            return redirect_to(url_for(endpoint, number=outcome.rma.number))
    return _form_page(order, form, lines, guest=guest)


def _say_what_happens(outcome: settlement.Settled) -> None:
    rma = outcome.rma
    if rma.status == ReturnStatus.REQUESTED:
        flash(f"We have your return request {rma.number}. Our team checks it, usually within "
              "one working day, and e-mails you.", "success")
    elif services.awaits_goods(rma):
        flash(f"Return {rma.number} is approved. Print the return label below and send the "
              "items back to us.", "success")
    else:
        flash(f"Return {rma.number} is approved; you need not send the items back.", "success")
    if outcome.problem:
        flash("The refund has not gone through yet; we will try again and e-mail you.", "info")


@bp.get("/account/orders/<number>/return")
@login_required
def new(number: str):
    return _new(order_queries.customer_order(db_session, _viewer(), number), guest=False)


@bp.post("/account/orders/<number>/return")
@login_required
def create(number: str):
    return _create(order_queries.customer_order(db_session, _viewer(), number),
                   guest=False)


@bp.get("/orders/lookup/<number>/return")
def guest_new(number: str):
    return _new(_guest_order(number), guest=True)


@bp.post("/orders/lookup/<number>/return")
def guest_create(number: str):
    return _create(_guest_order(number), guest=True)


# --- the return ----------------------------------------------------------------------------

def _detail_page(rma: ReturnAuthorisation, *, guest: bool):
    return render_page("returns/detail.html", view=return_page.return_detail(db_session, rma),
                       guest=guest, return_address=[
                           p.strip() for p in _settings().RETURN_ADDRESS.split(";")
                           if p.strip()])


def _label_response(rma: ReturnAuthorisation):
    if not services.awaits_goods(rma):
        raise NotFound(f"{rma.number} has no return label: nothing is to be sent back now.")
    response = make_response(label.label_pdf(db_session, rma, _settings()))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{label.filename(rma)}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/account/returns")
@login_required
def history():
    return render_page("returns/history.html", limit=LISTED,
                       returns=services.for_viewer(db_session, _viewer(), limit=LISTED))


@bp.get("/account/returns/<number>")
@login_required
def detail(number: str):
    rma = return_page.customer_return(db_session, _viewer(), number)
    return _detail_page(rma, guest=False)


@bp.get("/account/returns/<number>/label.pdf")
@login_required
def label_pdf(number: str):
    return _label_response(return_page.customer_return(db_session, _viewer(), number))


@bp.get("/orders/returns/<number>")
def guest_detail(number: str):
    rma = return_page.guest_return(db_session, number, _guest_orders())
    return _detail_page(rma, guest=True)


@bp.get("/orders/returns/<number>/label.pdf")
def guest_label_pdf(number: str):
    return _label_response(return_page.guest_return(db_session, number, _guest_orders()))
