"""Date arithmetic the collections queries need, the same on SQLite and PostgreSQL.

`days_between(start, end)` is the whole days from `start` to `end` (dates); `as_date(ts)`
is a UTC timestamp's day. PostgreSQL subtracts dates natively; SQLite keeps dates as ISO
text, so there they go through julianday().
"""
from __future__ import annotations

from sqlalchemy import Date, Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class days_between(FunctionElement):  # noqa: N801 (reads as a SQL function)
    """end - start, in whole days (an integer)."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between)
def _days_between(element, compiler, **kw):
    start, end = list(element.clauses)
    return f"({compiler.process(end, **kw)} - {compiler.process(start, **kw)})"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw):
    start, end = list(element.clauses)
    return (f"CAST(julianday({compiler.process(end, **kw)}) - "
            f"julianday({compiler.process(start, **kw)}) AS INTEGER)")


class as_date(FunctionElement):  # noqa: N801
    """The UTC day of a timestamp column."""

    type = Date()
    inherit_cache = True
    name = "as_date"


@compiles(as_date)
def _as_date(element, compiler, **kw):
    (value,) = list(element.clauses)
    return f"CAST(({compiler.process(value, **kw)} AT TIME ZONE 'UTC') AS DATE)"


@compiles(as_date, "sqlite")
def _as_date_sqlite(element, compiler, **kw):
    (value,) = list(element.clauses)
    return f"date({compiler.process(value, **kw)})"
