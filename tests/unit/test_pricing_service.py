"""The pricing service on the demo catalogue: lists by scope, validity, tax, paths."""
import datetime as dt
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core import clock
from core.catalog.models import Variant
from core.customers.models import Customer
from core.pricing import services as pricing
from core.pricing.models import PriceList, PriceListEntry

SKUS = ["PAP-A4-80", "PAP-A4-80-BOX", "BEAN-LAV-CRE-1", "NTB-A5-RUL-BLK", "DSC-6", "COF-DL-MAG",
        "TON-TN3430", "PEN-G2-BLU", "CHR-S1-BLK"]


def variant(db, sku):
    return db.scalar(select(Variant).where(Variant.sku == sku))


def customer(db, email):
    return db.scalar(select(Customer).where(Customer.email == email))


def one(db, channel_code, sku, quantity=1, customer_=None, **kw):
    channel = pricing.get_channel(db, channel_code)
    ctx = pricing.make_context(channel, customer=customer_, **kw)
    return pricing.price_cart(db, ctx, [(variant(db, sku).id, quantity)]).lines[0]


def test_a_guest_pays_the_retail_price_including_vat(db):
    line = one(db, "web-b2c", "PAP-A4-80")
    assert line.unit_price == D("5.49") and line.prices_include_tax
    assert line.trace.price_list == "Retail EUR"


def test_retail_quantity_breaks_apply_from_ten_and_fifty(db):
    # 5.49 x 0.95 = 5.2155 -> 5.22; 5.49 x 0.90 = 4.941 -> 4.94
    assert one(db, "web-b2c", "PAP-A4-80", 10).unit_price == D("5.22")
    assert one(db, "web-b2c", "PAP-A4-80", 50).unit_price == D("4.94")


def test_a_company_buyer_gets_the_contract_price_excluding_vat(db):
    acme = customer(db, "purchasing@acme.example")
    line = one(db, "web-b2b", "PAP-A4-80", customer_=acme)
    # 5.49 / 1.19 x 0.85 = 3.9214 -> 3.92
    assert line.unit_price == D("3.92") and not line.prices_include_tax
    assert line.trace.price_list_scope == "contract"
    # a SKU without a contract price falls back to the trade list: 14.90 / 1.19 x 0.95 -> 11.89
    assert one(db, "web-b2b", "PEN-JOT-STL", customer_=acme).trace.price_list == "Trade EUR"


def test_an_expired_contract_is_not_used(db):
    acme = customer(db, "purchasing@acme.example")
    contract = db.scalar(select(PriceList).where(PriceList.code == "acme-contract"))
    contract.valid_to = clock.today() - dt.timedelta(days=1)
    db.flush()
    assert one(db, "web-b2b", "PAP-A4-80", customer_=acme).trace.price_list == "Trade EUR"


def test_a_list_not_yet_valid_is_not_used(db):
    retail = db.scalar(select(PriceList).where(PriceList.code == "retail-eur"))
    future = PriceList(code="summer", name="Summer", currency="EUR", scope="base", priority=10,
                       valid_from=clock.today() + dt.timedelta(days=3))
    future.entries.append(PriceListEntry(variant=variant(db, "PAP-A4-80"), unit_price=D("1.00")))
    db.add(future)
    db.flush()
    assert one(db, "web-b2c", "PAP-A4-80").unit_price == D("5.49")
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=4)
    assert one(db, "web-b2c", "PAP-A4-80", at=later).unit_price == D("1.00")
    assert retail.active


def test_coffee_carries_the_reduced_rate_and_its_promotion(db):
    line = one(db, "web-b2c", "BEAN-LAV-CRE-1")
    assert line.tax_rate == D("0.07")
    # 19.90 less 10 % = 17.91; tax 17.91 x 0.07 / 1.07 = 1.1717 -> 1.17
    assert (line.gross, line.tax) == (D("17.91"), D("1.17"))
    assert line.trace.promotions[0].name.startswith("Coffee week")


def test_pricing_a_cart_runs_the_same_queries_for_1_line_as_for_9(db, connection):
    from tests.helpers import QueryCounter
    channel = pricing.get_channel(db, "web-b2c")
    ctx = pricing.make_context(channel, customer=customer(db, "shopper@example.com"))
    ids = [variant(db, s).id for s in SKUS]
    with QueryCounter(connection) as one_line:
        pricing.price_cart(db, ctx, [(ids[0], 1)])
    with QueryCounter(connection) as nine_lines:
        pricing.price_cart(db, ctx, [(i, 3) for i in ids])
    assert one_line.count == nine_lines.count


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sku=st.sampled_from(SKUS), quantity=st.integers(1, 60),
       who=st.sampled_from([None, "shopper@example.com", "purchasing@acme.example"]),
       channel_code=st.sampled_from(["web-b2c", "web-b2b", "callcenter"]))
def test_the_same_inputs_price_the_same_through_every_path(db, sku, quantity, who, channel_code):
    """Product page (price_items), cart and order (price_cart), and a repeat: one answer."""
    channel = pricing.get_channel(db, channel_code)
    buyer = customer(db, who) if who else None
    ctx = pricing.make_context(channel, customer=buyer)
    vid = variant(db, sku).id
    shown = pricing.price_items(db, ctx, [(vid, quantity)])[vid]
    in_cart = pricing.price_cart(db, ctx, [(vid, quantity)]).lines[0]
    again = pricing.price_cart(db, pricing.make_context(channel, customer=buyer, at=ctx.at),
                               [(vid, quantity)]).lines[0]
    assert shown == in_cart == again


def test_the_cache_keeps_a_value_for_its_lifetime_only(monkeypatch):
    from core import cache as caches
    cache = caches.TTLCache(seconds=30, size=2)
    clock = [100.0]
    monkeypatch.setattr(caches.time, "monotonic", lambda: clock[0])
    made = []
    make = lambda: made.append(1) or len(made)  # noqa: E731
    assert cache.get_or_make(("a",), make) == 1
    assert cache.get_or_make(("a",), make) == 1  # kept
    clock[0] += 31
    assert cache.get_or_make(("a",), make) == 2  # expired, made again
    cache.get_or_make(("b",), make), cache.get_or_make(("c",), make)  # bounded in size
    assert len(cache._items) <= 2
    assert caches.TTLCache(seconds=0).get_or_make(("a",), make) == 5  # off: always fresh


def test_reference_data_is_read_once_while_the_cache_lives(db, connection):
    from core import cache
    from tests.helpers import QueryCounter
    cache.reference.configure(60)
    ctx = pricing.make_context(pricing.get_channel(db, "web-b2c"))
    ids = [variant(db, s).id for s in SKUS]
    with QueryCounter(connection) as first:
        pricing.price_cart(db, ctx, [(i, 1) for i in ids])
    with QueryCounter(connection) as again:
        pricing.price_cart(db, ctx, [(i, 1) for i in ids])
        pricing.get_channel(db, "web-b2c")
    assert again.count == first.count - 2  # tax rates and promotions came from the cache
    assert pricing.price_cart(db, ctx, [(ids[0], 1)]) == pricing.price_cart(db, ctx, [(ids[0], 1)])
