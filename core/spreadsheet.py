"""Cells bound for a spreadsheet: text that Excel or LibreOffice would run as a formula is
defused with a leading apostrophe (OWASP "CSV injection"), and restored on the way back.

A cell starting with = + - @, a tab or a carriage return is a formula to a spreadsheet (a
leading tab or CR is skipped, and what follows may be one). Plain numbers such as -12.50
stay numbers. The catalogue's CSV files, the ledger's journal export and the analytics and
purchasing CSVs (csv_lines) share this.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def defuse(value: Any) -> str:
    """The cell's text, with an apostrophe in front when a spreadsheet would read it as a
    formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def restore(text: str) -> str:
    """What defuse() was given (a cell read back from our own export)."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text


def csv_lines(rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """Rows as CSV text, a line at a time, every cell defused."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([defuse(v) for v in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
