"""Quotes in the shop: **Request a quote** from the cart (signed-in customers; the cart
stays as it is), the account's quotes (a company buyer sees the quotes they requested, an
approver or admin all of the company's: core.customers.roles), a quote's page with its PDF,
and **Accept quote** / **Decline** on a sent quote before it expires.

Accepting places the order at the quoted prices (core.workflows.quote_acceptance): on
account, the buyer lands on the order; otherwise on the order's pay page (/pay/<token>).
Another customer's quote, or another buyer's, is 404.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, url_for
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from core.customers.models import Customer
from core.errors import DomainError
from core.orders.models import Order
from core.payments import links as paylinks
from core.quotes import document
from core.quotes import services as quotes
from core.quotes.states import label
from core.web.auth import current_account, current_actor
from core.web.db import db_session
from core.web.forms import page_arg, place_error
from core.web.render import redirect_to, render_page
from core.workflows import quote_acceptance as acceptance
from storefront.cart import current_cart

bp = Blueprint("quotes", __name__)


class RequestQuoteForm(FlaskForm):
    comment = TextAreaField("Comment for our sales team", validators=[
        Optional(), Length(max=quotes.COMMENT_LENGTH,
                           message=f"Keep the comment under {quotes.COMMENT_LENGTH} characters.")])


class AcceptForm(FlaskForm):
    address_id = SelectField("Deliver to", validate_choice=False)
    po_number = StringField("Your PO number (optional)", validators=[
        Optional(), Length(max=acceptance.PO_LENGTH)])


class DeclineForm(FlaskForm):
    reason = TextAreaField("Why do you decline?", validators=[
        DataRequired("Tell us why you decline the quote."),
        Length(max=quotes.REASON_LENGTH,
               message=f"Keep the reason under {quotes.REASON_LENGTH} characters.")])


@bp.app_template_filter("quote_status")
def quote_status(status: str) -> str:
    return label(status)


# -- requesting ------------------------------------------------------------------------------

@bp.post("/cart/request-quote")
@login_required
def request_quote():
    user = current_account()
    form = RequestQuoteForm()
    cart = current_cart()
    if not form.validate_on_submit():
        flash(" ".join(form.comment.errors) or "Reload the page and try again.", "error")
        return redirect_to(url_for("cart.show"))
    try:
        quote = quotes.request_quote(
            db_session, lines=[(l.variant_id, l.quantity) for l in cart.lines] if cart else [],
            customer=user.customer, user=user, comment=form.comment.data or "",
            actor=current_actor(), valid_days=current_app.config["MARKETLINE"].QUOTE_VALID_DAYS)
    except DomainError as err:
        db_session.rollback()
        flash(str(err), "error")
        return redirect_to(url_for("cart.show"))
    db_session.commit()
    flash(f"Thank you: we received your request {quote.number} and will send you a quote "
          "by e-mail. Your cart is unchanged.", "success")
    return redirect_to(url_for(".detail", quote=quote.number))


# -- the account's quotes -----------------------------------------------------------------------

@bp.get("/account/quotes")
@login_required
def history():
    found = quotes.customer_quotes(db_session, current_account(), page=page_arg())
    return render_page("quotes/history.html", found=found)


def _accept_form(quote, **kwargs) -> AcceptForm:
    form = AcceptForm(**kwargs)
    book = acceptance.ship_to_choices(db_session, quote.customer_id)
    form.address_id.choices = [SelectChoice(str(a.id), ", ".join(p for p in (
        a.label, a.company or a.full_name, a.line1, f"{a.postal_code} {a.city}".strip(), a.country)
        if p)) for a in book]
    return form


def _page(quote, *, accept_form=None, decline_form=None, status: int = 200):
    customer = db_session.get(Customer, quote.customer_id)
    order = db_session.get(Order, quote.order_id) if quote.order_id is not None else None
    return render_page(
        "quotes/detail.html", status=status, qt=quote, customer=customer,
        shown=quotes.shown_status(quote), can_accept=quotes.can_accept(quote),
        on_account=customer.on_account_allowed, order_number=order.number if order else None,
        accept_form=accept_form or _accept_form(quote, formdata=None),
        decline_form=decline_form or DeclineForm(formdata=None), reasons=quotes.REASONS)


@bp.get("/account/quotes/<quote>")
@login_required
def detail(quote: str):
    return _page(quotes.quote_for_user(db_session, current_account(), quote))


@bp.get("/account/quotes/<quote>/pdf")
@login_required
def pdf(quote: str):
    found = quotes.quote_for_user(db_session, current_account(), quote)
    body = document.quote_pdf(db_session, found,
                              seller=document.Seller.from_settings(current_app.config["MARKETLINE"]))
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{document.pdf_filename(found)}"'})


@bp.post("/account/quotes/<quote>/accept")
@login_required
def accept(quote: str):
    user = current_account()
    found = quotes.quote_for_user(db_session, user, quote)
    form = _accept_form(found)
    if not form.validate_on_submit():
        return _page(found, accept_form=form, status=422)
    raw = form.address_id.data or ""
    address_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else -1
    try:
        done = acceptance.accept_quote(db_session, found, user=user, actor=current_actor(),
                                       address_id=address_id if raw else None,
                                       po_number=form.po_number.data or "",
                                       overdue_days=current_app.config[
                                           "MARKETLINE"].CREDIT_OVERDUE_DAYS)
    except quotes.QuoteExpired as err:
        db_session.commit()  # the quote is expired now: that stays
        flash(str(err), "error")
        return redirect_to(url_for(".detail", quote=found.number))
    except DomainError as err:  # the quote's own refusals, and the order's (stock)
        db_session.rollback()
        place_error(form, err)
        return _page(quotes.quote_for_user(db_session, user, quote), accept_form=form,
                     status=422)
    db_session.commit()
    order = done.order
    if done.awaits_card:
        flash(f"Quote accepted: order {order.number} is placed at the quoted prices. "
              "Pay it by card to confirm it.", "success")
        token = paylinks.make_token(current_app.config["MARKETLINE"].SECRET_KEY, order.id)
        return redirect_to(url_for("paylink.show", token=token))
    waits = (" It is above your spending limit and waits for your company's approver."
             if done.awaits_approval else "")
    flash(f"Quote accepted: order {order.number} is placed at the quoted prices, on account."
          + waits, "success")
    return redirect_to(url_for("orders.detail", number=order.number))


@bp.post("/account/quotes/<quote>/decline")
@login_required
def decline(quote: str):
    user = current_account()
    found = quotes.quote_for_user(db_session, user, quote)
    form = DeclineForm()
    if form.validate_on_submit():
        try:
            quotes.reject_quote(db_session, found, user=user, reason=form.reason.data,
                                actor=current_actor())
        except quotes.QuoteError as err:
            db_session.rollback()
            place_error(form, err)
        else:
            db_session.commit()
            flash(f"You declined quote {found.number}. Thank you for telling us why.", "success")
            return redirect_to(url_for(".detail", quote=found.number))
    return _page(quotes.quote_for_user(db_session, user, quote), decline_form=form, status=422)
