"""Sales analytics in the console for sales managers and supervisors (issue 16): revenue,
cost, margin, units, orders and average order value over a range, per day, week or month,
filtered by currency, channel, category, customer group and agent, a breakdown of the same
figures, and their CSV. Every chart has the table of its figures under it."""
from __future__ import annotations

from decimal import ROUND_HALF_UP

from flask import Blueprint, Response, request

from callcenter.access import requires_role
from callcenter.analytics_forms import AnalyticsForm
from core import clock, spreadsheet
from core.money import Money
from core.reporting import analytics, charts
from core.web.db import db_session
from core.web.forms import filter_args
from core.web.render import render_page

bp = Blueprint("analytics", __name__, url_prefix="/analytics")
ROLES = ("manager", "supervisor")  # admin holds every role
CHART_ROWS = 10  # bars in the breakdown's chart
TABLE_ROWS = 50  # rows in the breakdown's table


@bp.before_request
@requires_role(*ROLES)
def _only_managers():
    """Every view here is for sales managers and supervisors."""


def _form() -> tuple[AnalyticsForm, bool]:
    form = AnalyticsForm(request.args).offer(analytics.filter_choices(db_session))
    return form, form.check(clock.today())


def period_chart(ov: analytics.Overview) -> charts.Chart:
    """Revenue and margin per period: a line by day, bars by week or month."""
    draw = charts.line_chart if ov.filters.grain == "day" else charts.bar_chart
    return draw([axis_label(p, ov.filters.grain) for p in ov.periods],
                {"Revenue": [p.totals.revenue for p in ov.periods],
                 "Margin": [p.totals.margin for p in ov.periods]})


def axis_label(p: analytics.Period, grain: str) -> str:
    """A period as short as the axis needs ("07 Nov", "W49 2026", "Dec 2026"); the table
    under the chart names it in full."""
    if grain == "week":
        year, week, _ = p.start.isocalendar()
        return f"W{week} {year}"
    return p.start.strftime("%d %b") if grain == "day" else p.label


def short_label(label: str, most: int = 10) -> str:
    """A label short enough to sit under a bar (the table under the chart has it whole): a
    product's SKU, else the first characters."""
    label = label.split(" - ", 1)[0] if " - " in label else label
    return label if len(label) <= most else label[:most - 1].rstrip() + "\u2026"


def breakdown_chart(rows: list[analytics.BreakdownRow]) -> charts.Chart:
    top = rows[:CHART_ROWS]
    return charts.bar_chart([short_label(r.label) for r in top],
                            {"Revenue": [r.totals.revenue for r in top]})


@bp.get("/", endpoint="overview")
@requires_role(*ROLES)
def overview():
    form, ok = _form()
    ov = rows = None
    if ok:
        f = form.filters()
        ov = analytics.overview(db_session, f)
        rows = analytics.breakdown(db_session, f, form.by.data, limit=TABLE_ROWS)
    return render_page("analytics/overview.html", block="results", form=form, ov=ov, rows=rows,
                       period_chart=period_chart(ov) if ov else None,
                       breakdown_chart=breakdown_chart(rows) if rows is not None else None,
                       dimension=analytics.DIMENSIONS.get(form.by.data, ""),
                       args=form.args() if ok else filter_args(form),
                       fmt=_money_fmt(form.currency.data),
                       status=200 if ok else 400)


def _money_fmt(currency: str | None):
    """How the charts write an amount (axis and tooltips)."""
    return lambda value: Money(value, currency or "EUR").format()


# -- CSV ----------------------------------------------------------------------------------------

def _plain(value) -> str:
    """An amount as a plain decimal with a dot and two places ("1234.50"); blank for None."""
    if value is None:
        return ""
    return f"{value.quantize(analytics.CENT, ROUND_HALF_UP):f}"


def _figures(t: analytics.Totals) -> list[str]:
    pct = t.margin_percent
    return [_plain(t.revenue), _plain(t.cost), _plain(t.margin), "" if pct is None else f"{pct:f}",
            str(t.units), str(t.orders), _plain(t.average_order_value),
            _plain(t.uncosted_revenue)]


FIGURES = ["Revenue", "Cost", "Margin", "Margin %", "Units", "Orders", "Average order value",
           "Revenue without a known cost"]


def csv_rows(form: AnalyticsForm, what: str) -> list[list[str]]:
    f = form.filters()
    if what == "breakdown":
        by = form.by.data
        found = analytics.breakdown(db_session, f, by)
        total = analytics.overview(db_session, f).totals
        rows = [[analytics.DIMENSIONS[by], *FIGURES, "Share %"]]
        rows += [[r.label, *_figures(r.totals), "" if r.share is None else f"{r.share:f}"]
                 for r in found]
        rows.append(["Total", *_figures(total), "100.0" if total.revenue else ""])
        return rows
    ov = analytics.overview(db_session, f)
    rows = [["Period", *FIGURES]]
    rows += [[p.label, *_figures(p.totals)] for p in ov.periods]
    rows.append(["Total", *_figures(ov.totals)])
    return rows


@bp.get("/export.csv", endpoint="export")
@requires_role(*ROLES)
def export():
    form, ok = _form()
    what = request.args.get("what", "periods")
    if not ok or what not in ("periods", "breakdown"):
        return render_page("analytics/overview.html", form=form, ov=None, rows=None,
                           period_chart=None, breakdown_chart=None, dimension="",
                           args=filter_args(form), fmt=None, bad_export=True, status=400)
    body = "".join(spreadsheet.csv_lines(csv_rows(form, what)))
    f = form.filters()
    name = f"sales-{what if what == 'periods' else 'by-' + form.by.data}-" \
           f"{f.start.isoformat()}-to-{f.end.isoformat()}.csv"
    response = Response(body.encode("utf-8"), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
