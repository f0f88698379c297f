"""Sales insights in the console (issue 16), beside the analytics overview: the returns rate
by product and reason, the top customers and products, customer statistics and days sales
outstanding. Each page has its filters as a GET form (htmx swaps the results and pushes the
address), a chart with the same figures in a table under it, and the table as CSV
(`?format=csv`). For sales managers and supervisors (admin holds every role)."""
from __future__ import annotations

from flask import Blueprint, Response, request

from callcenter.access import requires_role
from callcenter.insights_forms import DsoForm, RangeForm, StatisticsForm
from core import spreadsheet
from core.reporting import insights
from core.web.db import db_session
from core.web.forms import filter_args, page_arg
from core.web.render import render_page

bp = Blueprint("insights", __name__, url_prefix="/analytics")
ROLES = ("manager", "supervisor")
PER_PAGE = 50
TOP = 10


@bp.before_request
@requires_role(*ROLES)
def _only_managers():
    """Every view here is for sales managers and supervisors (admin holds every role)."""


def _wants_csv() -> bool:
    return request.args.get("format") == "csv"


def _csv(rows, name: str) -> Response:
    # Written whole, not streamed: the rows are read inside the request's transaction.
    response = Response("".join(spreadsheet.csv_lines(rows)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _refused(form) -> Response:
    """A spreadsheet asked for with filters that do not hold: say which, as text."""
    problems = "; ".join(f"{form[name].label.text}: {' '.join(errors)}"
                         for name, errors in form.errors.items())
    return Response(f"Correct the filters: {problems}\n", status=400, mimetype="text/plain")


def _range_form() -> tuple[RangeForm, dict | None]:
    form = RangeForm(request.args, channels=insights.channels(db_session))
    return form, (form.chosen() if form.validate() else None)


@bp.get("/returns", endpoint="returns")
@requires_role(*ROLES)
def returns():
    form, chosen = _range_form()
    report = insights.returns_rate(db_session, **chosen) if chosen else None
    if _wants_csv():
        return _csv(insights.returns_rows(report), f"returns-{chosen['start']}-{chosen['end']}") \
            if report else _refused(form)
    return render_page("insights/returns.html", block="results", form=form, report=report,
                       chart=report and insights.returns_chart(report),
                       reasons_chart=report and insights.reasons_chart(report),
                       args=filter_args(form))


@bp.get("/top", endpoint="top")
@requires_role(*ROLES)
def top():
    form, chosen = _range_form()
    customers = products = None
    if chosen:
        customers = insights.top_customers(db_session, chosen["start"], chosen["end"],
                                           chosen["currency"], TOP, channel=chosen["channel"])
        products = insights.top_products(db_session, chosen["start"], chosen["end"],
                                         chosen["currency"], TOP, channel=chosen["channel"])
    if _wants_csv():
        return _csv(insights.top_rows(customers, products, chosen["currency"]),
                    f"top-{chosen['start']}-{chosen['end']}") if chosen else _refused(form)
    return render_page("insights/top.html", block="results", form=form, chosen=chosen,
                       customers=customers, products=products,
                       customers_chart=chosen and insights.top_chart(customers),
                       products_chart=chosen and insights.top_chart(products),
                       args=filter_args(form))


@bp.get("/customers", endpoint="customers")
@requires_role(*ROLES)
def customers():
    form = StatisticsForm(request.args)
    ok = form.validate()
    search, sort = (form.q.data or "", form.sort.data or "turnover") if ok else ("", "turnover")
    if _wants_csv():
        return _csv(insights.statistics_rows(db_session, search=search, sort=sort),
                    "customer-statistics") if ok else _refused(form)
    stats = insights.customer_statistics(db_session, page=page_arg(), per_page=PER_PAGE,
                                         search=search, sort=sort)
    return render_page("insights/customers.html", block="results", form=form, stats=stats,
                       chart=insights.statistics_chart(stats), args=filter_args(form))


@bp.get("/dso", endpoint="dso")
@requires_role(*ROLES)
def dso():
    form = DsoForm(request.args, channels=insights.channels(db_session))
    ok = form.validate()
    months = int(form.months.data or 12) if ok else 12
    currency = (form.currency.data or "EUR") if ok else "EUR"
    points = insights.dso_series(db_session, months=months, currency=currency)
    if _wants_csv():
        return _csv(insights.dso_rows(points, currency), f"dso-{currency}") if ok \
            else _refused(form)
    return render_page("insights/dso.html", block="results", form=form, points=points,
                       chart=insights.dso_chart(points), currency=currency,
                       days=insights.DSO_DAYS, args=filter_args(form))
