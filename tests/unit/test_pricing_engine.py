"""The pricing engine on hand-built facts: list precedence, breaks, promotions, tax.

Every expected figure here was computed by hand (the arithmetic is in the comments).
"""
import datetime as dt
from decimal import Decimal as D

import pytest

from core.pricing.engine import (ChannelInfo, LineFacts, ListPrice, PricingContext,
                                 PricingError, PromotionInfo, TaxInfo, choose_list_price, price,
                                 quantity_breaks)

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.timezone.utc)
B2C = ChannelInfo("web-b2c", "EUR", True, "DE")
B2B = ChannelInfo("web-b2b", "EUR", False, "DE")
STD = TaxInfo("DE VAT standard", D("0.19"), "DE")
RED = TaxInfo("DE VAT reduced", D("0.07"), "DE")
AT_RED = TaxInfo("AT VAT reduced", D("0.10"), "AT")


def lp(list_id, scope, unit, min_qty=1, priority=0, incl=True, name=None):
    return ListPrice(list_id, f"list-{list_id}", name or f"List {list_id}", scope, priority,
                     incl, min_qty, D(unit))


def facts(variant_id=1, candidates=(), tax=STD, product_id=None, categories=(10,)):
    return LineFacts(variant_id, f"SKU-{variant_id}", f"Item {variant_id}",
                     product_id or 100 + variant_id, frozenset(categories), tax, tuple(candidates))


def ctx(channel=B2C, **kw):
    return PricingContext(channel=channel, at=NOW, **kw)


def promo(pid=1, kind="percent_off", value="10", **kw):
    return PromotionInfo(id=pid, name=f"Promo {pid}", kind=kind, value=D(value), currency="EUR", **kw)


# -- list precedence and quantity breaks ---------------------------------------------------

def test_the_most_specific_list_wins_contract_over_group_over_channel_over_base():
    candidates = (lp(1, "base", "10.00"), lp(2, "channel", "9.00"), lp(3, "group", "8.50"),
                  lp(4, "contract", "8.00", priority=-5))
    assert choose_list_price(candidates, 1).price_list_id == 4
    assert choose_list_price(candidates[:3], 1).price_list_id == 3
    assert choose_list_price(candidates[:2], 1).price_list_id == 2


def test_within_a_scope_the_higher_priority_wins_then_the_older_list():
    assert choose_list_price((lp(1, "base", "10"), lp(2, "base", "9", priority=5)), 1).price_list_id == 2
    assert choose_list_price((lp(7, "base", "10"), lp(3, "base", "9")), 1).price_list_id == 3


@pytest.mark.parametrize("quantity, unit", [(1, "5.00"), (9, "5.00"), (10, "4.50"), (49, "4.50"),
                                            (50, "4.00"), (500, "4.00")])
def test_the_largest_break_not_above_the_quantity_prices_it(quantity, unit):
    candidates = (lp(1, "base", "5.00"), lp(1, "base", "4.50", 10), lp(1, "base", "4.00", 50))
    assert choose_list_price(candidates, quantity).unit_price == D(unit)


def test_a_specific_list_whose_breaks_start_higher_leaves_small_quantities_to_the_next():
    candidates = (lp(1, "base", "5.00"), lp(2, "contract", "3.00", 20))
    assert choose_list_price(candidates, 5).price_list_id == 1
    assert choose_list_price(candidates, 20).price_list_id == 2


def test_no_price_for_the_quantity_is_an_error_not_zero():
    with pytest.raises(PricingError):
        choose_list_price((lp(1, "base", "3.00", 20),), 5)


def test_quantity_breaks_are_shown_in_the_channels_price_mode():
    f = facts(candidates=(lp(1, "base", "5.95"), lp(1, "base", "5.65", 10)))
    assert quantity_breaks(f, ctx(B2C)) == [(1, D("5.95")), (10, D("5.65"))]
    # 5.95 / 1.19 = 5.0000 -> 5.00; 5.65 / 1.19 = 4.7479 -> 4.75
    assert quantity_breaks(f, ctx(B2B)) == [(1, D("5.00")), (10, D("4.75"))]


# -- tax and rounding ---------------------------------------------------------------------

def line_of(cart):
    assert len(cart.lines) == 1
    return cart.lines[0]


def test_tax_inclusive_line():
    # 19.99 incl. 19 %: tax = 19.99 x 0.19 / 1.19 = 3.19168 -> 3.19; net = 16.80
    line = line_of(price(ctx(), [(facts(candidates=(lp(1, "base", "19.99"),)), 1)], []))
    assert (line.gross, line.tax, line.net) == (D("19.99"), D("3.19"), D("16.80"))


def test_tax_inclusive_line_with_a_discount():
    # 3 x 4.99 = 14.97; 10 % off = 1.497 -> 1.50; gross 13.47;
    # tax = 13.47 x 0.19 / 1.19 = 2.15067 -> 2.15; net 11.32
    line = line_of(price(ctx(), [(facts(candidates=(lp(1, "base", "4.99"),)), 3)], [promo()]))
    assert (line.amount, line.discount, line.gross, line.tax, line.net) == (
        D("14.97"), D("1.50"), D("13.47"), D("2.15"), D("11.32"))


def test_tax_exclusive_line():
    # 10 x 4.21 = 42.10 net; tax = 7.999 -> 8.00; gross 50.10
    line = line_of(price(ctx(B2B), [(facts(candidates=(lp(1, "base", "4.21", incl=False),)), 10)], []))
    assert (line.net, line.tax, line.gross) == (D("42.10"), D("8.00"), D("50.10"))


def test_reduced_rate():
    # 19.90 incl. 7 %: tax = 19.90 x 0.07 / 1.07 = 1.30187 -> 1.30; net 18.60
    line = line_of(price(ctx(), [(facts(candidates=(lp(1, "base", "19.90"),), tax=RED), 1)], []))
    assert (line.tax, line.net) == (D("1.30"), D("18.60"))


def test_rounding_is_half_up_not_to_even():
    # 0.25 net x 10 % = 0.025 -> 0.03 (half-up; banker's rounding would give 0.02)
    line = line_of(price(ctx(B2B), [(facts(candidates=(lp(1, "base", "0.25", incl=False),),
                                           tax=AT_RED), 1)], []))
    assert line.tax == D("0.03")


def test_a_gross_list_price_shown_to_a_net_channel_is_converted_per_unit():
    # 5.49 / 1.19 = 4.6134 -> 4.61 a unit; 3 units = 13.83 net; tax 2.6277 -> 2.63
    line = line_of(price(ctx(B2B), [(facts(candidates=(lp(1, "base", "5.49"),)), 3)], []))
    assert (line.unit_price, line.net, line.tax, line.gross) == (D("4.61"), D("13.83"), D("2.63"), D("16.46"))


def test_line_amount_is_rounded_once_at_line_level():
    # 0.3333 x 3 = 0.9999 -> 1.00
    line = line_of(price(ctx(), [(facts(candidates=(lp(1, "base", "0.3333"),)), 3)], []))
    assert line.amount == D("1.00")


# -- promotions ---------------------------------------------------------------------------

def two_lines(a="30.00", b="10.00", qa=1, qb=1):
    return [(facts(1, (lp(1, "base", a),)), qa), (facts(2, (lp(1, "base", b),), categories=(20,)), qb)]


def test_amount_off_is_allocated_to_lines_in_proportion():
    cart = price(ctx(), two_lines(), [promo(kind="amount_off", value="5")])
    assert [l.discount for l in cart.lines] == [D("3.75"), D("1.25")]
    assert cart.discount_total.amount == D("5.00")


def test_amount_off_remainders_go_to_the_largest_fraction_then_the_first_line():
    lines = [(facts(i, (lp(1, "base", "10.00"),)), 1) for i in (1, 2, 3)]
    cart = price(ctx(), lines, [promo(kind="amount_off", value="10")])
    assert [l.discount for l in cart.lines] == [D("3.34"), D("3.33"), D("3.33")]


def test_amount_off_never_exceeds_what_the_lines_cost():
    cart = price(ctx(), two_lines("3.00", "1.00"), [promo(kind="amount_off", value="50")])
    assert [l.gross for l in cart.lines] == [D("0.00"), D("0.00")]
    assert cart.discount_total.amount == D("4.00")


def test_fixed_price_sets_the_unit_price_of_eligible_items():
    # 2 x 36.90 = 73.80; fixed 29.90 a unit = 59.80; discount 14.00
    cart = price(ctx(), [(facts(1, (lp(1, "base", "36.90"),)), 2)],
                 [promo(kind="fixed_price", value="29.90", product_ids=frozenset({101}))])
    assert cart.lines[0].discount == D("14.00")


@pytest.mark.parametrize("quantity, free", [(3, 0), (4, 1), (7, 1), (8, 2)])
def test_buy_3_get_1_free(quantity, free):
    cart = price(ctx(), [(facts(1, (lp(1, "base", "18.95"),)), quantity)],
                 [promo(kind="buy_x_get_y", value="0", buy_quantity=3, get_quantity=1)])
    assert cart.lines[0].discount == D("18.95") * free


def test_buy_x_get_y_frees_the_cheapest_eligible_units():
    cart = price(ctx(), two_lines("10.00", "6.00", 2, 2),
                 [promo(kind="buy_x_get_y", value="0", buy_quantity=3, get_quantity=1)])
    assert [l.discount for l in cart.lines] == [D("0"), D("6.00")]


def test_free_shipping_discounts_no_line():
    cart = price(ctx(), two_lines(), [promo(kind="free_shipping", value="0")])
    assert cart.free_shipping and cart.discount_total.amount == 0


def test_promotions_on_a_category_touch_only_its_lines():
    cart = price(ctx(), two_lines(), [promo(category_ids=frozenset({20}))])
    assert [l.discount for l in cart.lines] == [D("0"), D("1.00")]


def test_combinable_promotions_apply_in_priority_order_on_what_remains():
    # 40.00: 10 % (priority 9) -> 3.00 + 1.00 = 4.00 off; then 5.00 spread over 27.00 + 9.00
    cart = price(ctx(), two_lines(), [promo(1, priority=9), promo(2, "amount_off", "5", priority=1)])
    assert cart.discount_total.amount == D("9.00")
    assert [l.discount for l in cart.lines] == [D("3.00") + D("3.75"), D("1.00") + D("1.25")]


def test_an_exclusive_promotion_first_in_line_applies_alone():
    cart = price(ctx(), two_lines(), [promo(1, exclusive=True, priority=9), promo(2, "amount_off", "5")])
    assert cart.discount_total.amount == D("4.00")


def test_an_exclusive_coupon_after_other_discounts_is_refused_with_a_reason():
    cart = price(ctx(coupon_codes=("SAVE5",)), two_lines(),
                 [promo(1, priority=9), promo(2, "amount_off", "5", coupon_code="SAVE5", exclusive=True)])
    assert cart.discount_total.amount == D("4.00")
    assert cart.coupon_problems == ("Coupon SAVE5 cannot be combined with the discounts already applied.",)


@pytest.mark.parametrize("kwargs, context, reason", [
    ({"coupon_code": "WELCOME10"}, {}, None),  # no code given: silently not applied
    ({"coupon_code": "WELCOME10", "min_subtotal": D("50")}, {"coupon_codes": ("welcome10",)},
     "Coupon WELCOME10 needs a subtotal of at least 50.00 EUR."),
    ({"coupon_code": "X1", "starts_at": NOW + dt.timedelta(days=1)}, {"coupon_codes": ("X1",)},
     "Coupon X1 has not started yet."),
    ({"coupon_code": "X1", "ends_at": NOW}, {"coupon_codes": ("X1",)}, "Coupon X1 has ended."),
    ({"coupon_code": "X1", "channels": ("web-b2b",)}, {"coupon_codes": ("X1",)},
     "Coupon X1 is not valid here."),
    ({"coupon_code": "X1", "customer_groups": ("business",)}, {"coupon_codes": ("X1",)},
     "Coupon X1 is not valid for your account."),
    ({"coupon_code": "X1", "usage_limit_total": 5, "times_used": 5}, {"coupon_codes": ("X1",)},
     "Coupon X1 has been used up."),
    ({"coupon_code": "X1", "usage_limit_per_customer": 1, "used_by_customer": 1},
     {"coupon_codes": ("X1",), "customer_id": 7}, "Coupon X1 has already been used on your account."),
])
def test_conditions_that_keep_a_promotion_out(kwargs, context, reason):
    cart = price(ctx(**context), two_lines(), [promo(**kwargs)])
    assert cart.discount_total.amount == 0
    assert cart.coupon_problems == ((reason,) if reason else ())


def test_a_coupon_code_is_matched_without_regard_to_case():
    cart = price(ctx(coupon_codes=(" welcome10 ",)), two_lines(), [promo(coupon_code="WELCOME10")])
    assert cart.discount_total.amount == D("4.00")


def test_an_unknown_coupon_is_reported():
    cart = price(ctx(coupon_codes=("NOPE",)), two_lines(), [])
    assert cart.coupon_problems == ("Coupon NOPE is not valid.",)


def test_totals_are_the_sums_of_lines_and_explain_themselves():
    cart = price(ctx(), two_lines(), [promo()])
    assert cart.gross_total.amount == sum(l.gross for l in cart.lines)
    assert cart.net_total + cart.tax_total == cart.gross_total
    words = cart.lines[0].trace.explain("EUR")
    assert words[0].startswith("Price list List 1 (base): 30.00 EUR incl. tax from 1 unit")
    assert "19 %" in words[1] and words[2] == "Promotion Promo 1: -3.00 EUR."
