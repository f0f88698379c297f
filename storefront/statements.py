"""The signed-in customer's statements of account: choose a month (default last month; the
current month runs to today) and download its PDF. Only the customer's own statement, and
only to a login that sees all the customer's documents (a person, or a company's approver
or admin); anyone else gets 404."""
from __future__ import annotations

import datetime as dt
import re

from flask import Blueprint, abort, current_app, make_response, redirect, request, url_for
from flask_login import login_required

from core import clock
from core.billing import documents, statements
from core.customers import roles
from core.web.auth import current_account
from core.web.db import db_session
from core.web.render import render_page

bp = Blueprint("statements", __name__)
MONTHS_OFFERED = 12
_MONTH = re.compile(r"(\d{4})-(\d{2})")


def _customer():
    user = current_account()
    if not roles.sees_all(user):
        abort(404)
    return user.customer


def _months(today: dt.date) -> list[statements.Period]:
    """This month to date, then the twelve before it, latest first."""
    found, day = [], today
    for _ in range(MONTHS_OFFERED + 1):
        found.append(statements.month(day.year, day.month, today=today))
        day = day.replace(day=1) - dt.timedelta(days=1)
    return found


def _month(text: str) -> statements.Period:
    """"2026-11" as a period; 404 for anything else, or a month not yet begun."""
    match = _MONTH.fullmatch(text or "")
    if not match or not 1 <= int(match[2]) <= 12:
        abort(404)
    start = dt.date(int(match[1]), int(match[2]), 1)
    today = clock.today()
    if start > today or start < statements.EARLIEST:
        abort(404)
    return statements.month(start.year, start.month, today=today)


@bp.get("/account/statements")
@login_required
def index():
    customer = _customer()
    today = clock.today()
    if chosen := request.args.get("month"):
        return redirect(url_for(".pdf", month=_month(chosen[:7]).start.strftime("%Y-%m")))
    return render_page("statements/index.html", customer=customer, months=_months(today),
                       default=statements.last_month(today))


@bp.get("/account/statements/<month>.pdf")
@login_required
def pdf(month: str):
    customer = _customer()
    st = statements.statement(db_session, customer, _month(month))
    seller = documents.Seller.from_settings(current_app.config["MARKETLINE"])
    response = make_response(statements.statement_pdf(st, seller=seller))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = \
        f'inline; filename="{statements.pdf_filename(st)}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
