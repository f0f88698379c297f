from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.money import MINOR_UNITS, CurrencyError, Money


def test_amounts_are_exact_decimals():
    assert Money("0.10", "EUR") + Money("0.20", "EUR") == Money("0.30", "EUR")


def test_float_is_refused():
    with pytest.raises(TypeError):
        Money(0.1, "EUR")
    with pytest.raises(TypeError):
        Money("1", "EUR") * 1.5


def test_currencies_do_not_mix():
    with pytest.raises(CurrencyError):
        Money("1", "EUR") + Money("1", "USD")


def test_unknown_currency_is_refused_with_a_readable_message():
    with pytest.raises(CurrencyError, match="not a currency"):
        Money("1", "XXX")


@pytest.mark.parametrize("amount, currency, rounded", [
    ("2.345", "EUR", "2.35"),   # half-up, not banker's rounding
    ("2.335", "EUR", "2.34"),
    ("-2.345", "EUR", "-2.35"),  # half away from zero for negatives
    ("1234.5", "JPY", "1235"),
    ("1.2345", "KWD", "1.235"),
])
def test_rounding_is_half_up_to_the_minor_unit(amount, currency, rounded):
    assert Money(amount, currency).rounded() == Money(rounded, currency)


@pytest.mark.parametrize("money, minor", [
    (Money("12.34", "EUR"), 1234),
    (Money("1234", "JPY"), 1234),
    (Money("1.234", "BHD"), 1234),
    (Money("0", "USD"), 0),
])
def test_minor_units_convert_exactly_for_0_2_and_3_decimal_currencies(money, minor):
    assert money.to_minor() == minor
    assert Money.from_minor(minor, money.currency) == money


def test_unrounded_amount_cannot_become_minor_units():
    with pytest.raises(CurrencyError):
        Money("1.005", "EUR").to_minor()


def test_format_shows_the_minor_unit_places():
    assert Money("1234.5", "EUR").format() == "1,234.50 EUR"
    assert Money("1234", "JPY").format() == "1,234 JPY"


@given(minor=st.integers(min_value=-10**12, max_value=10**12),
       currency=st.sampled_from(sorted(MINOR_UNITS)))
def test_minor_unit_round_trip_is_lossless(minor, currency):
    assert Money.from_minor(minor, currency).to_minor() == minor


@given(a=st.decimals(min_value=-10**9, max_value=10**9, places=4),
       b=st.decimals(min_value=-10**9, max_value=10**9, places=4))
def test_addition_is_exact_and_commutative(a, b):
    assert Money(a, "EUR") + Money(b, "EUR") == Money(b, "EUR") + Money(a, "EUR")
    assert (Money(a, "EUR") + Money(b, "EUR")).amount == Decimal(a) + Decimal(b)
