"""Quotes in the console: the worklist (buyers' requests first), a new quote for a customer
(from their page or the worklist), the editor (lines by SKU, quoted prices with a reason,
expiry and note, totals; htmx swaps the editor, a browser without JavaScript gets the page
again), sending (the customer is e-mailed the PDF), declining a request, and the PDF.

Roles: agents and supervisors do all of it (admin holds every role). A quote whose prices
go beyond the agent's discount limits (core.orders.discounts) is sent by a supervisor: the
editor says so, and the service refuses the agent.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, request, url_for
from sqlalchemy import select

from callcenter.access import requires_role
from callcenter.catalog_forms import options
from callcenter.order_entry_forms import QuantityForm  # a line's quantity, as in order entry
from callcenter.quote_forms import (AddLineForm, ConfirmForm, DeclineForm, NewQuoteForm,
                                    PriceForm, QuoteFilterForm, TermsForm)
from core.customers.models import Customer
from core.errors import DomainError, NotFound
from core.orders import discounts
from core.orders.services import PriceOverride
from core.quotes import document
from core.quotes import services as quotes
from core.quotes.states import QuoteStatus, label
from core.web.auth import current_account
from core.web.db import db_session
from core.orders.models import Order
from core.web.forms import commit_or_refuse, filter_args, page_arg, place_error
from core.web.htmx import htmx
from core.web.render import redirect_to, render_page

bp = Blueprint("quotes", __name__)
ROLES = ("agent", "supervisor")
PER_PAGE = 50


def _settings():
    return current_app.config["MARKETLINE"]


def _limits() -> discounts.DiscountLimits:
    return discounts.DiscountLimits.from_settings(_settings())


def _quote(number: str, *, lock: bool = False):
    return quotes.get_quote(db_session, number, lock=lock)


# -- the worklist ------------------------------------------------------------------------------

@bp.get("/", endpoint="worklist")
@requires_role(*ROLES)
def worklist():
    form = QuoteFilterForm(request.args)
    form.validate()
    status = form.status.data if not form.status.errors else ""
    query = (form.q.data or "") if not form.q.errors else ""
    found = quotes.worklist(db_session, status=status or "", query=query, page=page_arg(),
                            per_page=PER_PAGE)
    return render_page("quotes/worklist.html", block="results", form=form, found=found,
                       args=filter_args(form), label=label, today=quotes.today(),
                       new_form=NewQuoteForm(formdata=None))


# -- a new quote --------------------------------------------------------------------------------

def _customer(number: str | None) -> Customer | None:
    number = (number or "").strip().upper()[:20]
    if not number:
        return None
    return db_session.scalar(select(Customer).where(Customer.number == number))


def _new_form(customer: Customer | None, **kwargs) -> NewQuoteForm:
    form = NewQuoteForm(**kwargs)
    if customer is not None:
        form.buyer.choices = options([("", f"{customer.name} ({customer.email})")] + [
            (str(u.id), f"{u.full_name} ({u.email})")
            for u in quotes.customer_logins(db_session, customer)])
    return form


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
@requires_role(*ROLES)
def new():
    if request.method == "GET":
        asked = (request.args.get("customer") or "")[:20]
        customer = _customer(asked)
        form = _new_form(customer, formdata=None,
                         data={"customer": customer.number if customer else asked})
        if asked.strip() and customer is None:
            form.customer.errors = ["There is no customer with that number."]
        return render_page("quotes/new.html", form=form, customer=customer)
    customer = _customer(request.form.get("customer"))
    form = _new_form(customer)
    if form.validate_on_submit() and customer is None:
        form.customer.errors.append("There is no customer with that number.")
    elif form.validate_on_submit():
        buyer = None
        if form.buyer.data:
            buyer = next((u for u in quotes.customer_logins(db_session, customer)
                          if str(u.id) == form.buyer.data), None)
            if buyer is None:
                form.buyer.errors.append("Choose one of the customer's logins.")
        if not form.buyer.errors and (done := commit_or_refuse(
                form, quotes.create_quote, customer=customer, agent=current_account(),
                valid_days=_settings().QUOTE_VALID_DAYS, buyer=buyer)):
            flash(f"Quote {done.value.number} started for {customer.name}: add its lines.",
                  "success")
            return redirect_to(url_for(".editor", quote=done.value.number))
    return render_page("quotes/new.html", form=form, customer=customer)


# -- the editor ---------------------------------------------------------------------------------

def _render(quote, *, add_form=None, terms_form=None, decline_form=None, line_errors=None,
            problem: str = "", focus: str = "sku", status: int = 200):
    agent = current_account()
    customer = db_session.get(Customer, quote.customer_id)
    doc = document.describe(db_session, quote)
    check = quotes.check_limits(quote, agent, _limits())
    order = db_session.get(Order, quote.order_id) if quote.order_id is not None else None
    return render_page(
        "quotes/editor.html", block="editor", status=status, quote=quote, q=quote,
        customer=customer, doc=doc, check=check, order=order, label=label,
        shown=label(quotes.shown_status(quote)), editable=quote.status == QuoteStatus.DRAFT,
        add_form=add_form or AddLineForm(formdata=None),
        terms_form=terms_form or TermsForm(formdata=None, data={
            "expires_on": quote.expires_on, "note": quote.note}),
        decline_form=decline_form or DeclineForm(formdata=None),
        price_form=PriceForm(formdata=None), confirm=ConfirmForm(formdata=None),
        reasons=quotes.REASONS, line_errors=line_errors or {}, problem=problem, focus=focus,
        percent=discounts.discount_percent)


def _done(quote, message: str = ""):
    """After a change: htmx gets the editor, a browser the page again (post, redirect, get)."""
    if htmx:
        return _render(quote, problem="")
    if message:
        flash(message, "success")
    return redirect_to(url_for(".editor", quote=quote.number))


@bp.get("/<quote>", endpoint="editor")
@requires_role(*ROLES)
def editor(quote: str):
    return _render(_quote(quote))


@bp.get("/<quote>/pdf", endpoint="pdf")
@requires_role(*ROLES)
def pdf(quote: str):
    found = _quote(quote)
    body = document.quote_pdf(db_session, found, seller=document.Seller.from_settings(_settings()))
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{document.pdf_filename(found)}"'})


@bp.post("/<quote>/lines", endpoint="add_line")
@requires_role(*ROLES)
def add_line(quote: str):
    found = _quote(quote, lock=True)
    form = AddLineForm()
    if not form.validate_on_submit():
        return _render(found, add_form=form)
    if commit_or_refuse(form, quotes.add_line, found, sku=form.sku.data,
                        quantity=form.quantity.data, agent=current_account()):
        return _done(found)
    return _render(_quote(quote), add_form=form)


def _line_refusal(quote_number: str, line_id: int, message: str):
    db_session.rollback()
    found = _quote(quote_number)
    return _render(found, line_errors={line_id: message}, focus=f"price-{line_id}")


@bp.post("/<quote>/lines/<int:quote_line>", endpoint="set_quantity")
@requires_role(*ROLES)
def set_quantity(quote: str, quote_line: int):
    found = _quote(quote, lock=True)
    form = QuantityForm()
    if not form.validate_on_submit():
        return _line_refusal(quote, quote_line, " ".join(form.quantity.errors)
                             or "Reload the page and try again.")
    try:
        quotes.set_quantity(db_session, found, quote_line, form.quantity.data,
                            agent=current_account())
    except NotFound:
        raise
    except DomainError as err:
        return _line_refusal(quote, quote_line, str(err))
    db_session.commit()
    return _done(found)


@bp.post("/<quote>/lines/<int:quote_line>/price", endpoint="price_line")
@requires_role(*ROLES)
def price_line(quote: str, quote_line: int):
    found = _quote(quote, lock=True)
    override = None
    if not request.form.get("list_price"):
        form = PriceForm()
        if not form.validate_on_submit():
            errors = [e for f in (form.unit_price, form.percent, form.reason) for e in f.errors]
            return _line_refusal(quote, quote_line, " ".join(errors or form.form_errors)
                                 or "Reload the page and try again.")
        override = PriceOverride(reason=form.reason.data, unit_price=form.unit_price.data,
                                 percent=form.percent.data)
    elif not ConfirmForm().validate_on_submit():
        return _line_refusal(quote, quote_line, "Reload the page and try again.")
    try:
        quotes.price_line(db_session, found, quote_line, override, agent=current_account())
    except NotFound:
        raise
    except DomainError as err:
        return _line_refusal(quote, quote_line, str(err))
    db_session.commit()
    return _done(found)


@bp.post("/<quote>/terms", endpoint="terms")
@requires_role(*ROLES)
def terms(quote: str):
    found = _quote(quote, lock=True)
    form = TermsForm()
    if form.validate_on_submit() and commit_or_refuse(
            form, quotes.set_terms, found, expires_on=form.expires_on.data,
            note=form.note.data or "", agent=current_account(),
            default_days=_settings().QUOTE_VALID_DAYS):
        return _done(found, "Expiry date and note saved.")
    return _render(_quote(quote), terms_form=form, focus="expires_on")


@bp.post("/<quote>/send", endpoint="send")
@requires_role(*ROLES)
def send(quote: str):
    found = _quote(quote, lock=True)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            quotes.send_quote(db_session, found, agent=current_account(), limits=_limits(),
                              default_days=_settings().QUOTE_VALID_DAYS)
        except DomainError as err:
            db_session.rollback()
            return _render(_quote(quote), problem=str(err))
        db_session.commit()
        flash(f"Quote {found.number} is sent: {quotes.recipient(db_session, found)} gets it "
              "by e-mail with the PDF.", "success")
        return redirect_to(url_for(".editor", quote=found.number))
    return _render(found, problem="Reload the page and try again.")


@bp.post("/<quote>/decline", endpoint="decline")
@requires_role(*ROLES)
def decline(quote: str):
    found = _quote(quote, lock=True)
    form = DeclineForm()
    if form.validate_on_submit():
        try:
            quotes.decline_request(db_session, found, agent=current_account(),
                                   reason=form.reason.data)
        except DomainError as err:
            db_session.rollback()
            place_error(form, err)
        else:
            db_session.commit()
            flash(f"Quote {found.number} is declined.", "success")
            return redirect_to(url_for(".editor", quote=found.number))
    return _render(_quote(quote), decline_form=form, focus="reason")
