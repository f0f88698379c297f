"""Receivables in the console for billing and credit control (supervisors and admin too):
the ageing report as of any day beside the ledger, its CSV, and a customer's statement of
account (period, PDF, "E-mail statement")."""
from __future__ import annotations

from flask import (Blueprint, Response, current_app, flash, make_response, request,
                   stream_with_context, url_for)

from callcenter.access import requires_role
from callcenter.ageing_forms import AgeingForm, EmailStatementForm, PeriodForm
from core import clock
from core.billing import accounts, ageing, documents, statements
from core.billing.errors import BillingError
from core.credit import statement_sends
from core.web.auth import current_actor
from core.web.db import db_session
from core.web.forms import commit_or_refuse, filter_args, page_arg, place_error
from core.web.render import redirect_to, render_page

bp = Blueprint("ageing", __name__, url_prefix="/receivables")
ROLES = ("billing", "credit", "supervisor")


@bp.before_request
@requires_role(*ROLES)
def _only_receivables():
    """Every view here is for billing, credit control and supervisors (admin holds all)."""


def _report_args(form: AgeingForm) -> dict:
    return dict(as_of=form.as_of.data or clock.today(), sort=form.sort.data or "total",
                search=(form.q.data or "").strip())


@bp.get("/ageing", endpoint="report")
@requires_role(*ROLES)
def report():
    form = AgeingForm(request.args)
    if not form.validate():
        form.as_of.data = None if form.as_of.errors else form.as_of.data
    found = ageing.ageing(db_session, page=page_arg(), **_report_args(form))
    return render_page("ageing/report.html", block="results", form=form, found=found,
                       args=filter_args(form), buckets=ageing.BUCKETS)


@bp.get("/ageing.csv", endpoint="export")
@requires_role(*ROLES)
def export():
    form = AgeingForm(request.args)
    form.validate()
    wanted = _report_args(form)
    rows = ageing.export_csv(db_session, as_of=wanted["as_of"], sort=wanted["sort"],
                             search=wanted["search"])
    response = Response(stream_with_context(rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = \
        f'attachment; filename="ageing-{wanted["as_of"].isoformat()}.csv"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _period(form) -> statements.Period | None:
    """The form's period (default last month), or None with the refusal at its field."""
    try:
        return statements.period(form.start.data, form.end.data)
    except BillingError as err:
        place_error(form, err)
        return None


def _statement_page(number: str, *, form=None, email=None):
    customer = accounts.find_customer(db_session, number)
    form = form or PeriodForm(request.args)
    form.validate()
    chosen = _period(form) if not form.errors else None
    st = statements.statement(db_session, customer, chosen) if chosen else None
    if chosen and not form.start.data:
        form.start.data, form.end.data = chosen.start, chosen.end
    email = email or EmailStatementForm(formdata=None, start=form.start.data, end=form.end.data)
    return render_page("ageing/statement.html", customer=customer, form=form, st=st,
                       email=email, sent=statement_sends.recent_sends(db_session, customer.id))


@bp.get("/customers/<number>/statement", endpoint="statement")
@requires_role(*ROLES)
def statement(number: str):
    return _statement_page(number)


@bp.get("/customers/<number>/statement.pdf", endpoint="statement_pdf")
@requires_role(*ROLES)
def statement_pdf(number: str):
    customer = accounts.find_customer(db_session, number)
    form = PeriodForm(request.args)
    chosen = _period(form) if form.validate() else None
    if chosen is None:
        return _statement_page(number, form=form), 400
    st = statements.statement(db_session, customer, chosen)
    seller = documents.Seller.from_settings(current_app.config["MARKETLINE"])
    response = make_response(statements.statement_pdf(st, seller=seller))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = \
        f'inline; filename="{statements.pdf_filename(st)}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/customers/<number>/statement/email", endpoint="email_statement")
@requires_role(*ROLES)
def email_statement(number: str):
    customer = accounts.find_customer(db_session, number)
    form = EmailStatementForm()
    if form.validate_on_submit() and (chosen := _period(form)) is not None:
        if commit_or_refuse(form, statement_sends.email_statement, customer, chosen,
                            actor=current_actor()) is not None:
            flash(f"The statement for {chosen.label} is on its way to {customer.email}.",
                  "success")
            return redirect_to(url_for(".statement", number=customer.number,
                                       start=chosen.start.isoformat(),
                                       end=chosen.end.isoformat()))
    shown = PeriodForm(formdata=None, start=form.start.data, end=form.end.data)
    return _statement_page(number, form=shown, email=form)
