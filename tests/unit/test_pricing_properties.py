"""Properties of the pricing engine over random carts."""
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from core.pricing.engine import price
from tests.unit.test_pricing_engine import B2B, B2C, RED, STD, ctx, facts, lp, promo

CENT = D("0.01")
unit_prices = st.decimals(min_value=D("0.01"), max_value=D("2000"), places=2)
line_strategy = st.tuples(unit_prices, st.integers(1, 60), st.sampled_from([STD, RED]),
                          st.booleans(), st.sampled_from([10, 20, 30]))
promotions = st.lists(st.one_of(
    st.builds(lambda v, p, e: promo(1, "percent_off", str(v), priority=p, exclusive=e),
              st.integers(1, 100), st.integers(0, 5), st.booleans()),
    st.builds(lambda v, p: promo(2, "amount_off", str(v), priority=p),
              st.integers(1, 500), st.integers(0, 5)),
    st.builds(lambda v: promo(3, "fixed_price", str(v), category_ids=frozenset({20})),
              st.integers(0, 50)),
    st.builds(lambda x, y: promo(4, "buy_x_get_y", "0", buy_quantity=x, get_quantity=y),
              st.integers(1, 4), st.integers(1, 2)),
), max_size=4, unique_by=lambda p: p.id)


def build(lines):
    return [(facts(i + 1, (lp(1, "base", str(unit), incl=incl),), tax=tax, categories=(cat,)), qty)
            for i, (unit, qty, tax, incl, cat) in enumerate(lines)]


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(line_strategy, min_size=1, max_size=6), promos=promotions,
       channel=st.sampled_from([B2C, B2B]))
def test_every_priced_cart_is_consistent(lines, promos, channel):
    cart = price(ctx(channel), build(lines), promos)
    for line in cart.lines:
        for value in (line.amount, line.discount, line.net, line.tax, line.gross):
            assert value == value.quantize(CENT)  # every figure in whole cents
        assert 0 <= line.discount <= line.amount  # a discount never makes a line negative
        assert line.net + line.tax == line.gross
        assert line.tax >= 0
        assert sum(a.amount for a in line.trace.promotions) == line.discount
    assert cart.net_total + cart.tax_total == cart.gross_total
    assert cart.subtotal - cart.discount_total == (cart.gross_total if channel.prices_include_tax
                                                   else cart.net_total)


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(line_strategy, min_size=1, max_size=6), promos=promotions,
       channel=st.sampled_from([B2C, B2B]))
def test_the_same_inputs_always_price_the_same(lines, promos, channel):
    first = price(ctx(channel), build(lines), promos)
    again = price(ctx(channel), build(lines), list(reversed(promos)))
    assert first == again  # deterministic, and the order promotions arrive in does not matter
