"""Bin locations: what a bin may be, and the walking order the pick list follows."""
import pytest

from core.errors import InvalidInput
from core.inventory.bins import check_bin, walking_key


def test_bins_walk_in_natural_order_letters_regardless_of_case_and_no_bin_last():
    typed = ["A-10", "", "B-1", "A-2", "a-3", "A-2-10", "A-2-9", "10", "9", None, "A"]
    assert sorted(typed, key=walking_key) == [
        "9", "10", "A", "A-2", "A-2-9", "A-2-10", "a-3", "A-10", "B-1", "", None]


def test_a_bin_is_kept_as_typed_without_stray_spaces_and_empty_clears_it():
    assert check_bin("  A-03-2 ") == "A-03-2"
    assert check_bin("Hall  2 / R-4") == "Hall 2 / R-4"
    assert check_bin("") == "" and check_bin(None) == "" and check_bin("   ") == ""


@pytest.mark.parametrize("typed", ["A" * 21, "<b>", "-A", "A;1", "A\x00"])
def test_a_bin_that_is_too_long_or_odd_is_refused_at_its_field(typed):
    with pytest.raises(InvalidInput) as refused:
        check_bin(typed)
    assert refused.value.field == "bin_location"


def test_a_digit_that_is_no_decimal_digit_sorts_as_text():
    assert walking_key("A-²") > walking_key("A-1")
