"""Sales analytics at scale: what the large data holds, and the analytics queries timed
in-process; bench.run serves /agent/analytics/ as the "analytics" target (last 30 days by
day) and "analytics-year" (the last 365 days by month), signed in as the demo manager.

    DATABASE_URL=... .venv/bin/python -m bench.analytics [repeat]

The data comes from `flask --app wsgi seed --scale large` (core.demo.large_sales: about
1,000,000 order lines over two years). `time_report` times core.reporting.analytics.overview
and a breakdown by channel for both ranges; where they are not implemented yet it times the
equivalent SQL over the daily roll-up instead (and says so). `explain` prints PostgreSQL's
plans of the roll-up query.
"""
from __future__ import annotations

import datetime as dt
import os
import sys
import time

RANGES = {"30 days by day": (30, "day"), "365 days by month": (365, "month")}


def year_path(path: str, today: dt.date) -> str:
    """The analytics page over the last 365 days, by month."""
    return f"{path}?start={today - dt.timedelta(days=365)}&end={today}&grain=month"


def sizes(database_url: str) -> dict:
    """Order lines, invoices, credit notes, sales facts and roll-up cells in the database."""
    from sqlalchemy import func, select

    from core.billing.models import Invoice
    from core.db import make_engine
    from core.orders.models import OrderLine
    from core.reporting.models import SalesDay, SalesFact

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            count = lambda q: conn.scalar(q) or 0  # noqa: E731
            return dict(
                order_lines=count(select(func.count()).select_from(OrderLine)),
                invoices=count(select(func.count()).select_from(Invoice)
                               .where(Invoice.kind == "invoice")),
                credit_notes=count(select(func.count()).select_from(Invoice)
                                   .where(Invoice.kind == "credit_note")),
                sales_facts=count(select(func.count()).select_from(SalesFact)),
                sales_days=count(select(func.count()).select_from(SalesDay)))
    finally:
        engine.dispose()


def _rollup_sql(session, start: dt.date, end: dt.date, grain: str):
    """What the overview needs from the roll-up, in one query (the stand-in before merge)."""
    from sqlalchemy import func, select

    from core.reporting.models import SalesDay as d

    if grain == "month" and session.get_bind().dialect.name == "postgresql":
        period = func.date_trunc("month", d.day)
    else:
        period = d.day
    return session.execute(
        select(period, func.sum(d.revenue), func.sum(d.cost), func.sum(d.units),
               func.sum(d.orders))
        .where(d.currency == "EUR", d.day >= start, d.day <= end)
        .group_by(period).order_by(period)).all()


def time_report(database_url: str, repeat: int = 20) -> dict:
    """Per range: overview and breakdown by channel in ms (min, p50, p95), in-process."""
    from core import clock
    from core.db import make_engine, make_session_factory
    from core.reporting import analytics

    engine = make_engine(database_url)
    today = clock.today()
    out: dict = {}
    try:
        factory = make_session_factory(engine)
        for name, (days, grain) in RANGES.items():
            f = analytics.Filters(start=today - dt.timedelta(days=days), end=today, grain=grain)
            for what in ("overview", "breakdown by channel"):
                times, source = [], "core.reporting.analytics"
                for _ in range(repeat):
                    with factory() as session:
                        started = time.perf_counter()
                        try:
                            if what == "overview":
                                analytics.overview(session, f)
                            else:
                                analytics.breakdown(session, f, "channel")
                        except NotImplementedError:
                            source = "roll-up SQL (analytics not implemented here)"
                            if what != "overview":
                                break
                            _rollup_sql(session, f.start, f.end, grain)
                        times.append((time.perf_counter() - started) * 1000)
                if times:
                    times.sort()
                    out[f"{what}, {name}"] = dict(
                        source=source, ms_min=round(times[0], 1),
                        ms_p50=round(times[len(times) // 2], 1),
                        ms_p95=round(times[min(len(times) - 1, -(-95 * len(times) // 100) - 1)], 1))
        return out
    finally:
        engine.dispose()


def explain(database_url: str) -> list[str]:
    """PostgreSQL's plan (EXPLAIN ANALYZE) of the year's roll-up query and a facts query."""
    from sqlalchemy import text

    from core import clock
    from core.db import make_engine

    engine = make_engine(database_url)
    if engine.dialect.name != "postgresql":
        return ["(EXPLAIN: PostgreSQL only)"]
    today = clock.today()
    start = today - dt.timedelta(days=365)
    queries = {
        "roll-up, a year by month": (
            "SELECT date_trunc('month', day), sum(revenue), sum(cost), sum(units), sum(orders) "
            "FROM sales_days WHERE currency = 'EUR' AND day BETWEEN :start AND :end "
            "GROUP BY 1 ORDER BY 1"),
        "roll-up, a year by channel": (
            "SELECT channel_code, sum(revenue), sum(cost), sum(units), sum(orders) "
            "FROM sales_days WHERE currency = 'EUR' AND day BETWEEN :start AND :end "
            "GROUP BY 1 ORDER BY 2 DESC"),
        "facts, a year top 10 products": (
            "SELECT product_id, sum(revenue), sum(cost), sum(quantity) FROM sales_facts "
            "WHERE currency = 'EUR' AND day BETWEEN :start AND :end "
            "GROUP BY 1 ORDER BY 2 DESC LIMIT 10"),
    }
    lines = []
    try:
        with engine.connect() as conn:
            for name, sql in queries.items():
                lines.append(f"-- {name}")
                plan = conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql),
                                    dict(start=start, end=today)).scalars()
                lines += [f"   {row}" for row in plan]
    finally:
        engine.dispose()
    return lines


def main() -> int:
    from core.config import load_settings

    database_url = os.environ.get("DATABASE_URL") or load_settings().DATABASE_URL
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    print(f"analytics data: {sizes(database_url)}")
    for name, figures in time_report(database_url, repeat).items():
        print(f"  {name}: {figures}")
    print("\n".join(explain(database_url)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
