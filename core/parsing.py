"""Reading the numbers people (and robots) type: plain ASCII, bounded, never an exception.

`str.isdigit()` is true for "²" and "١", which `int()` then refuses or reads; `int()` and
`Decimal()` take thousands of digits, "1e30", "NaN" and "sNaN", which later overflow a
column, crash `quantize` or fail a comparison. Everything a request carries goes through
these two functions (or the form fields built on them, core.web.forms) instead.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

MAX_INT_DIGITS = 18  # fits a signed 64-bit column (SQLite INTEGER, PostgreSQL BIGINT)
AMOUNT_LIMIT = Decimal("1e14")  # below NUMERIC(19, 4)'s 10**15, as core.catalog.products checks
AMOUNT_PLACES = 4  # core.db.Amount keeps four places

_INT = re.compile(rf"[+-]?[0-9]{{1,{MAX_INT_DIGITS}}}")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


class NumberError(ValueError):
    """Not a number we accept; the message is fit to show a person."""


def parse_int(text: str | None, *, low: int | None = None, high: int | None = None
              ) -> int | None:
    """A whole number written in ASCII digits (at most 18, an optional sign) within
    [low, high]; None for anything else."""
    raw = (text or "").strip()
    if not _INT.fullmatch(raw):
        return None
    value = int(raw)
    if (low is not None and value < low) or (high is not None and value > high):
        return None
    return value


def int_or(text: str | None, default: int, *, low: int, high: int) -> int:
    """A bounded whole number (clamped into [low, high]), or `default` when `text` is not
    one: for page numbers and the like, where any junk means "the first"."""
    value = parse_int(text)
    return default if value is None else max(low, min(value, high))


def read_decimal(text: str | None, *, places: int = AMOUNT_PLACES,
                 limit: Decimal = AMOUNT_LIMIT, label: str = "amount",
                 example: str = "12.50") -> Decimal | None:
    """A decimal number as a person types it ("12.50", "12,50", "1 234.5"), at most
    `places` decimals and below `limit` in size; None when empty. NumberError (a message
    for the person) for anything else: exponents, NaN, Infinity, "²", thousands of digits.
    """
    raw = (text or "").strip().replace(" ", "").replace("\u00a0", "")
    if not raw:
        return None
    if re.fullmatch(r"[+-]?[0-9]*,[0-9]+", raw):
        raw = raw.replace(",", ".")
    if len(raw) > 40 or not _DECIMAL.fullmatch(raw):
        raise NumberError(f"Enter the {label} as a number, like {example}.")
    try:
        value = Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
        raise NumberError(f"Enter the {label} as a number, like {example}.") from None
    if abs(value) >= limit:
        raise NumberError(f"The {label} is too large.")
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise NumberError(f"The {label} has at most {places} decimal places.")
    return value


def parse_decimal(text: str | None, *, places: int = AMOUNT_PLACES,
                  limit: Decimal = AMOUNT_LIMIT) -> Decimal | None:
    """read_decimal without the message: None for empty text and for anything refused."""
    try:
        return read_decimal(text, places=places, limit=limit)
    except NumberError:
        return None
