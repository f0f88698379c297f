"""Bounded parsing of what people type (review L1): ASCII whole numbers and decimals within
what a column holds, and the last line behind them in the Amount column type."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from sqlalchemy.exc import StatementError

from core.catalog.products import CatalogInputError, check_amount
from core.db import AmountOutOfRange
from core.parsing import NumberError, int_or, parse_decimal, parse_int, read_decimal
from core.payments.links import InvalidLink, make_token, read_invoice_token, read_token
from tests.factories import PriceEntryFactory

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)


# -- whole numbers --------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["²", "1²", "١٢", "1_000", "0x1F", "1e3", "", " ", "-", "+",
                                  "9" * 19, "9" * 5000, "12.0", "NaN", None])
def test_only_plain_ascii_whole_numbers_of_at_most_18_digits_are_read(text):
    assert parse_int(text) is None


@pytest.mark.parametrize("text,value", [("0", 0), (" 42 ", 42), ("-7", -7), ("+3", 3),
                                        ("9" * 18, int("9" * 18))])
def test_whole_numbers_are_read(text, value):
    assert parse_int(text) == value


def test_bounds_refuse_or_clamp():
    assert parse_int("5", low=1, high=4) is None and parse_int("0", low=1) is None
    assert int_or("²", 1, low=1, high=100) == 1
    assert int_or("500", 1, low=1, high=100) == 100 and int_or("-3", 1, low=1, high=100) == 1


# -- decimals -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text,value", [("12.50", D("12.50")), ("12,50", D("12.50")),
                                        (" 1 234.5 ", D("1234.5")), ("-0.0001", D("-0.0001")),
                                        (".5", D("0.5")), ("", None), (None, None)])
def test_decimals_are_read_as_typed(text, value):
    assert read_decimal(text) == value


@pytest.mark.parametrize("text,message", [
    ("1e30", "as a number"), ("NaN", "as a number"), ("sNaN", "as a number"),
    ("Infinity", "as a number"), ("²", "as a number"), ("١٢", "as a number"),
    ("9" * 5000, "as a number"), ("99999999999999999999", "too large"),
    ("-100000000000000", "too large"), ("0.00001", "at most 4 decimal places"),
    ("1e-30", "as a number"),
])
def test_decimals_that_no_column_holds_are_refused_with_a_message(text, message):
    with pytest.raises(NumberError, match=message):
        read_decimal(text)
    assert parse_decimal(text) is None


def test_a_catalogue_amount_of_1e30_is_refused_before_quantize_can_fail():
    with pytest.raises(CatalogInputError, match="too large"):
        check_amount(D("1e30"), "EUR", "unit_price")


def test_the_amount_column_refuses_to_bind_what_it_cannot_hold(db):
    for value in (D("9e14"), D("-1e30"), D("NaN"), D("sNaN"), D("Infinity")):
        with pytest.raises(StatementError) as raised:
            PriceEntryFactory(unit_price=value)
        assert isinstance(raised.value.orig, AmountOutOfRange), value
        db.rollback()


# -- pay-by-link tokens ---------------------------------------------------------------------------

@pytest.mark.parametrize("mangle", [lambda t: t[:-1] + "é", lambda t: t + "²",
                                    lambda t: t.replace(".", "\u3002", 1),
                                    lambda t: t + "A" * 300])
def test_a_token_with_non_ascii_or_too_many_characters_is_invalid_not_an_error(mangle):
    token = make_token("secret", 42, now=NOW)
    with pytest.raises(InvalidLink):
        read_token("secret", mangle(token), now=NOW)
    with pytest.raises(InvalidLink):
        read_invoice_token("secret", "inv" + mangle(token), now=NOW)
