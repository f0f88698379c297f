"""Cells bound for a spreadsheet: text that Excel or LibreOffice would run as a formula is
defused with a leading apostrophe (OWASP "CSV injection"), and restored on the way back.

A cell starting with = + - @, a tab or a carriage return is a formula to a spreadsheet (a
leading tab or CR is skipped, and what follows may be one). Plain numbers such as -12.50
stay numbers. The catalogue's CSV files and the ledger's journal export share this.
"""
from __future__ import annotations

import re
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
