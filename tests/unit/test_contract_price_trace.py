"""A contract-priced line says so, with what the best list open to others would charge
(issue 18: the shop marks "Your contract price" and crosses the list price out)."""
from decimal import Decimal as D

from core.pricing.engine import price
from tests.unit.test_pricing_engine import B2B, B2C, ctx, facts, lp


def test_a_contract_line_carries_the_higher_price_the_other_lists_would_charge():
    line = price(ctx(B2B), [(facts(candidates=(lp(1, "base", "5.00", incl=False),
                                               lp(2, "group", "4.38", incl=False),
                                               lp(3, "contract", "3.92", incl=False))), 1)],
                 []).lines[0]
    assert line.trace.contract and line.unit_price == D("3.92")
    assert line.trace.list_unit_before_contract == D("4.38")  # the group list, not the base


def test_the_other_lists_break_for_the_same_quantity_is_compared_in_the_channels_mode():
    # base 11.90 incl. VAT from 1, 9.52 from 10; a B2C channel, contract 8.00 incl.
    candidates = (lp(1, "base", "11.90"), lp(1, "base", "9.52", 10), lp(2, "contract", "8.00"))
    one = price(ctx(B2C), [(facts(candidates=candidates), 1)], []).lines[0]
    ten = price(ctx(B2C), [(facts(candidates=candidates), 10)], []).lines[0]
    assert one.trace.list_unit_before_contract == D("11.90")
    assert ten.trace.list_unit_before_contract == D("9.52")


def test_no_list_price_is_shown_when_the_contract_is_not_lower_or_no_contract_applies():
    dearer = price(ctx(B2B), [(facts(candidates=(lp(1, "base", "3.00", incl=False),
                                                 lp(2, "contract", "3.50", incl=False))), 1)],
                   []).lines[0]
    assert dearer.trace.contract and dearer.trace.list_unit_before_contract is None
    plain = price(ctx(B2B), [(facts(candidates=(lp(1, "base", "3.00", incl=False),)), 1)],
                  []).lines[0]
    assert not plain.trace.contract and plain.trace.list_unit_before_contract is None
