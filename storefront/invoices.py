"""The customer's invoices and credit notes: the list with the balance, one document, its
PDF, paying an open invoice by card, and (for guests) the PDFs of a looked-up order."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, make_response, request, url_for
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length

from core.billing import documents, einvoice, queries, receivables
from core.customers import roles
from core.errors import NotFound
from core.orders import queries as order_queries
from core.payments import invoices as card_payments
from core.ratelimit import RateLimited
from core.web.auth import current_account, current_actor
from core.web.db import db_session
from core.web.forms import card_reference, page_arg
from core.web.render import render_page
from storefront.limits import count, limits, problem, with_retry_after
from core.web.payments import card_form_context, gateway
from storefront.payment_answers import card_answer, card_setup_answer, gave_up, no_card

bp = Blueprint("invoices", __name__)
bp.app_template_filter("tax_percent")(queries.tax_percent)


def _customer_id() -> int:
    return current_account().customer_id


def _viewer():
    """The signed-in login: which documents it sees is core.customers.roles' to say."""
    return current_account()


def _seller() -> documents.Seller:
    return documents.Seller.from_settings(current_app.config["MARKETLINE"])


def _pdf_response(invoice):
    response = make_response(documents.invoice_pdf(invoice, seller=_seller()))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = \
        f'inline; filename="{documents.pdf_filename(invoice)}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/account/invoices")
@login_required
def index():
    user = current_account()
    customer = user.customer
    result = queries.customer_invoices(db_session, user, page=page_arg())
    # The balance is the whole customer's: shown to those who see all its documents.
    balance = (receivables.customer_balance(db_session, customer.id, customer.currency)
               if roles.sees_all(user) else None)
    return render_page("invoices/index.html", result=result, balance=balance)


@bp.get("/account/invoices/<number>.pdf")
@login_required
def pdf(number: str):
    return _pdf_response(queries.customer_invoice(db_session, _viewer(), number))


@bp.get("/account/invoices/<number>.xml")
@login_required
def xml(number: str):
    """The e-invoice (Factur-X EN 16931 XML) on its own, for business customers."""
    invoice = einvoice.customer_einvoice(db_session, _viewer(), number)
    response = make_response(einvoice.invoice_xml(invoice, seller=_seller()))
    response.headers["Content-Type"] = "application/xml; charset=utf-8"
    response.headers["Content-Disposition"] = \
        f'attachment; filename="{einvoice.xml_filename(invoice)}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/account/invoices/<number>")
@login_required
def detail(number: str):
    invoice = queries.customer_invoice(db_session, _viewer(), number)
    return render_page("invoices/detail.html", view=queries.describe(db_session, invoice),
                       einvoice_offered=einvoice.offered_to(_viewer()))


class GuestInvoiceForm(FlaskForm):
    """The guest proves the order as on the look-up page: number, e-mail and postcode."""

    order = HiddenField(validators=[DataRequired(), Length(max=20)])
    email = HiddenField(validators=[DataRequired(), Length(max=254)])
    postcode = HiddenField(validators=[DataRequired(), Length(max=20)])
    invoice = HiddenField(validators=[DataRequired(), Length(max=20)])


@bp.post("/orders/lookup/invoice.pdf")
def guest_pdf():
    """A guest's invoice PDF: the order is found by the look-up rules (a guest order, its
    number, e-mail and postcode, counted like a look-up), and the invoice must belong to
    that order."""
    form = GuestInvoiceForm()
    if not form.validate_on_submit():
        raise NotFound(queries.NOT_FOUND)
    try:
        order = order_queries.lookup_guest_order(db_session, number=form.order.data,
                                                 email=form.email.data,
                                                 postcode=form.postcode.data,
                                                 remote_addr=request.remote_addr,
                                                 limits=limits())
    except RateLimited as err:
        db_session.commit()
        return with_retry_after(render_page("core/error.html", status=429, title="Slow down",
                                            text=str(err), code=429), err)
    except NotFound:
        db_session.commit()  # keeps the look-up counted
        raise
    db_session.commit()
    return _pdf_response(queries.order_invoice(db_session, order.id, form.invoice.data))


# --- paying an open invoice by card ---------------------------------------------------

@bp.app_template_global("card_payable")
def card_payable(invoice) -> bool:
    """Whether to offer paying this document by card here: payable by card, and the login
    may pay the customer's invoices (core.customers.roles)."""
    user = current_account()
    return (card_payments.card_payable(invoice)
            and (user is None or roles.can_pay_invoices(user)))


@bp.get("/account/invoices/<number>/pay")
@login_required
def pay_form(number: str):
    invoice = _payable_invoice(number)
    view = queries.describe(db_session, invoice)
    return render_page("invoices/pay.html", view=view, **card_form_context(
        card_payable(invoice), url_for("invoices.pay_card_setup", number=invoice.number)))


@bp.post("/account/invoices/<number>/pay/card-setup")
@login_required
def pay_card_setup(number: str):
    card_payments, invoice = _payable_or_404(number)
    if not card_payments.card_payable(invoice):
        return jsonify({"status": "invalid",
                        "errors": {"form": f"{invoice.number} cannot be paid by card here."}}), 409
    return card_setup_answer(gateway(), subject=f"invoice:{invoice.number}",
                             account=_customer_id())


def _answer(outcome, number: str):
    return card_answer(outcome, confirmed=("paid", "nothing_due"),
                       redirect=url_for("invoices.detail", number=number, paid=1),
                       complete_url=url_for("invoices.pay_complete", number=number))


def _payable_or_404(number: str):
    """The invoice, if the login may pay it; else 404 (core.customers.roles)."""
    return card_payments, _payable_invoice(number)


def _payable_invoice(number: str):
    invoice = queries.customer_invoice(db_session, _viewer(), number)
    if not roles.can_pay_invoices(current_account()):
        raise NotFound("Your company's approvers and admins pay its invoices.")
    return invoice


@bp.post("/account/invoices/<number>/pay")
@login_required
def pay(number: str):
    card_payments, invoice = _payable_or_404(number)
    payment_method = card_reference(request.form.get("payment_method"))
    if not payment_method:
        return no_card()
    try:
        count("pay_invoice", invoice=invoice.number, account=_customer_id())
    except RateLimited as err:
        return problem(err)
    try:
        outcome = card_payments.pay_invoice(db_session, gateway(), invoice.id,
                                            payment_method=payment_method, actor=current_actor(),
                                            commit=db_session.commit)
    except card_payments.InvoiceNotPayable as err:
        return jsonify({"status": "declined", "message": str(err)}), 422
    return _answer(outcome, invoice.number)


@bp.post("/account/invoices/<number>/pay/complete")
@login_required
def pay_complete(number: str):
    card_payments, invoice = _payable_or_404(number)
    try:
        count("payment_check", subject=f"invoice:{invoice.number}")
    except RateLimited as err:
        return problem(err)
    outcome = card_payments.complete_invoice_payment(db_session, gateway(), invoice.id,
                                                     actor=current_actor(),
                                                     commit=db_session.commit,
                                                     gave_up=gave_up())
    return _answer(outcome, invoice.number)
