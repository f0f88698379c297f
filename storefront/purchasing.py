"""Purchasing, for a company's buyers: spend by month (invoices less credit notes, net and
gross), top products and open quotes over a date range, and a CSV of the order lines for
the company's own purchasing system (core.reporting.purchases).

What a login sees is core.customers.roles' to say, as on the invoice and order pages: an
approver or admin the whole company's figures, a buyer those of the orders they placed. A
person's account has no Purchasing page (404, as for the statements of a company buyer).
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, request, stream_with_context
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.validators import Optional

from core import clock
from core.reporting import charts, purchases
from core.web.auth import current_account
from core.web.db import db_session
from core.web.forms import filter_args
from core.web.render import render_page

bp = Blueprint("purchasing", __name__)


class RangeForm(FlaskForm):
    """The date range, as query arguments (a GET form)."""

    class Meta:
        csrf = False

    start = DateField("From", validators=[Optional()])
    end = DateField("To", validators=[Optional()])


@bp.app_template_global("offers_purchasing")
def offers_purchasing(user) -> bool:
    return purchases.offered_to(user)


def _buyer():
    user = current_account()
    if not purchases.offered_to(user):
        abort(404)
    return user


def _range(form: RangeForm) -> purchases.Range:
    """The form's range, the last twelve months where it is empty or refused (the refusal
    shown at its field)."""
    today = clock.today()
    if form.validate():
        try:
            return purchases.checked_range(form.start.data, form.end.data, today=today)
        except purchases.RangeError as err:
            form.end.errors = [*form.end.errors, str(err)]
    return purchases.default_range(today)


@bp.get("/account/purchasing")
@login_required
def index():
    user = _buyer()
    form = RangeForm(request.args)
    chosen = _range(form)
    if not form.errors:  # the fields show the range the figures are for
        form.start.data, form.end.data = chosen.start, chosen.end
    found = purchases.purchasing(db_session, user, chosen, today=clock.today())
    chart = charts.bar_chart([m.start.strftime("%b '%y") for m in found.months],
                             {"Net": [m.net for m in found.months],
                              "Gross (with VAT)": [m.gross for m in found.months]})
    return render_page("purchasing/index.html", block="results", form=form, found=found,
                       chart=chart, args=filter_args(form), company=user.customer)


@bp.get("/account/purchasing/order-lines.csv")
@login_required
def export():
    user = _buyer()
    form = RangeForm(request.args)
    chosen = _range(form)
    if form.errors:
        abort(400)
    rows = purchases.export_csv(db_session, user, chosen)
    response = Response(stream_with_context(rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = \
        f'attachment; filename="{purchases.csv_filename(user, chosen)}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
