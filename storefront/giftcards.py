"""Gift cards in the shop: a balance check for whoever holds a code, and the checkout's
gift card field (what the card will pay of this order, before it is placed).

Both count against the visitor's address (core.ratelimit's "gift_card" limit, through
core.billing.giftcard_operations.count_check), so codes cannot be tried one after another.
"""
from __future__ import annotations

from flask import Blueprint, request
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from core.billing import giftcard_operations, prepayments
from core.errors import DomainError, NotFound
from core.ratelimit import RateLimited
from core.web.db import db_session
from core.web.render import render_page
from storefront import checkout
from storefront.forms import CheckoutForm
from storefront.limits import limits, with_retry_after

bp = Blueprint("gift_cards", __name__)
CODE_HINT = "The 16 letters and digits on your gift card; dashes and spaces do not matter."


class BalanceForm(FlaskForm):
    code = StringField("Gift card code", validators=[DataRequired("Enter the gift card code."),
                                                     Length(max=40)])


@bp.route("/gift-card", methods=["GET", "POST"])
def balance():
    form = BalanceForm()
    view, status, refused = None, 200, None
    if form.validate_on_submit():
        try:
            view = giftcard_operations.check_balance(db_session, form.code.data,
                                                     remote_addr=request.remote_addr,
                                                     limits=limits())
        except RateLimited as err:
            form.code.errors = [*form.code.errors, str(err)]
            status, refused = 429, err
        except NotFound as err:
            form.code.errors = [*form.code.errors, str(err)]
        db_session.commit()  # keeps the check counted
    return with_retry_after(render_page("giftcards/balance.html", status=status, form=form,
                                        view=view, labels=giftcard_operations.STATUS_LABELS,
                                        code_hint=CODE_HINT), refused)


@bp.post("/checkout/gift-card")
def checkout_quote():
    """The checkout's gift card result (htmx): what the card pays of the order as it stands
    (country and shipping method included) and what is left for the card."""
    form = CheckoutForm(meta={"csrf": False})  # CSRFProtect has checked the request
    code = (form.gift_card.data or "").strip()
    if not code:
        return _result()
    found, ctx = checkout._preview(form)
    if found is None:
        return _result(problem="Your cart is empty.")
    try:
        giftcard_operations.count_check(db_session, request.remote_addr, limits=limits())
        db_session.commit()
        quote = prepayments.quote(db_session, code, total=found.total,
                                  currency=ctx.channel.currency)
    except RateLimited as err:
        return with_retry_after(_result(problem=str(err), status=429), err)
    except DomainError as err:
        return _result(problem=str(err))
    return _result(quote=quote, total=found.total, currency=ctx.channel.currency)


def _result(status: int = 200, **context):
    return render_page("giftcards/_checkout.html", status=status, **context)
