"""Pay by link: /pay/<token> lets a customer pay an existing unpaid order by card, and
/pay/invoice/<token> an open invoice (core.payments.invoices). The tokens are signed per
kind: an order's token never opens an invoice. A link takes many cards (a decline keeps the
order open), so the cards tried are rate-limited per address and per order or invoice;
the card form's SetupIntent is made only once the card form is used (…/card-setup)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request, url_for

from core.audit import Actor
from core.billing.invoicing import get_invoice
from core.billing.queries import describe
from core.errors import DomainError
from core.orders import services as orders
from core.payments import links
from core.payments.invoices import (InvoiceNotPayable, card_payable, complete_invoice_payment,
                                    pay_invoice)
from core.web.db import db_session
from core.ratelimit import RateLimited
from core.workflows.card_payments import authorise_order, complete_authentication
from core.web.forms import card_reference
from core.web.render import render_page
from storefront.limits import count, problem
from core.web.payments import card_form_context, gateway
from storefront.payment_answers import card_answer, card_setup_answer, gave_up, no_card

bp = Blueprint("paylink", __name__)
ACTOR = Actor("anonymous", None, "pay-by-link")


def _order(token: str):
    settings = current_app.config["MARKETLINE"]
    return orders.get_order(db_session, links.read_token(links.secrets(settings), token))


@bp.get("/pay/<token>")
def show(token: str):
    try:
        order = _order(token)
    except DomainError as err:
        return render_page("paylink/invalid.html", status=404, message=str(err))
    payable = orders.awaits_card_payment(order)
    return render_page("paylink/pay.html", order=order, token=token, payable=payable,
                       **card_form_context(payable, url_for("paylink.card_setup", token=token)))


def _nothing_to_pay():
    return jsonify({"status": "invalid",
                    "errors": {"form": "There is nothing to pay by card here."}}), 409


@bp.post("/pay/<token>/card-setup")
def card_setup(token: str):
    order = _order(token)
    if not orders.awaits_card_payment(order):
        return _nothing_to_pay()
    return card_setup_answer(gateway(), subject=f"order:{order.number}")


def _answer(outcome, token: str):
    # An order waiting for approval (a quote accepted above the buyer's limit): its
    # approvers were told when the card confirmed it (core.workflows.card_payments).
    return card_answer(outcome, confirmed=("authorised",),
                       redirect=url_for("paylink.show", token=token),
                       complete_url=url_for("paylink.complete", token=token))


@bp.post("/pay/<token>")
def pay(token: str):
    order = _order(token)
    payment_method = card_reference(request.form.get("payment_method"))
    if not payment_method:
        return no_card()
    try:
        count("pay_order", order=order.number)
    except RateLimited as err:
        return problem(err)
    outcome = authorise_order(db_session, gateway(), order.id, payment_method=payment_method,
                              actor=ACTOR, commit=db_session.commit, abandon_on_decline=False)
    return _answer(outcome, token)


@bp.post("/pay/<token>/complete")
def complete(token: str):
    order = _order(token)
    try:
        count("payment_check", subject=f"order:{order.number}")
    except RateLimited as err:
        return problem(err)
    outcome = complete_authentication(db_session, gateway(), order.id, actor=ACTOR,
                                      commit=db_session.commit, abandon_on_decline=False,
                                      gave_up=gave_up())
    return _answer(outcome, token)


# -- an open invoice, by link (e-mailed when the card could not be charged at shipment) ----

def _invoice(token: str):
    settings = current_app.config["MARKETLINE"]
    return get_invoice(db_session, links.read_invoice_token(links.secrets(settings), token))


@bp.get("/pay/invoice/<token>")
def invoice(token: str):
    try:
        found = _invoice(token)
    except DomainError as err:
        return render_page("paylink/invalid.html", status=404, message=str(err))
    view = describe(db_session, found)
    payable = card_payable(found)
    return render_page("paylink/invoice.html", view=view, token=token, payable=payable,
                       paid=request.args.get("paid") == "1",
                       **card_form_context(payable, url_for("paylink.invoice_card_setup",
                                                            token=token)))


@bp.post("/pay/invoice/<token>/card-setup")
def invoice_card_setup(token: str):
    found = _invoice(token)
    if not card_payable(found):
        return _nothing_to_pay()
    return card_setup_answer(gateway(), subject=f"invoice:{found.number}")


def _invoice_answer(outcome, token: str):
    return card_answer(outcome, confirmed=("paid", "nothing_due"),
                       redirect=url_for("paylink.invoice", token=token, paid=1),
                       complete_url=url_for("paylink.invoice_complete", token=token))


@bp.post("/pay/invoice/<token>")
def pay_invoice_by_link(token: str):
    found = _invoice(token)
    payment_method = card_reference(request.form.get("payment_method"))
    if not payment_method:
        return no_card()
    try:
        count("pay_invoice", invoice=found.number)
    except RateLimited as err:
        return problem(err)
    try:
        outcome = pay_invoice(db_session, gateway(), found.id, payment_method=payment_method,
                              actor=ACTOR, commit=db_session.commit)
    except InvoiceNotPayable as err:
        return jsonify({"status": "declined", "message": str(err)}), 402
    return _invoice_answer(outcome, token)


@bp.post("/pay/invoice/<token>/complete")
def invoice_complete(token: str):
    found = _invoice(token)
    try:
        count("payment_check", subject=f"invoice:{found.number}")
    except RateLimited as err:
        return problem(err)
    outcome = complete_invoice_payment(db_session, gateway(), found.id, actor=ACTOR,
                                       commit=db_session.commit, gave_up=gave_up())
    return _invoice_answer(outcome, token)
