"""Promotion usage limits: per customer for guests too (by e-mail), counted where the use is
taken, given back when the order is cancelled, kept in step when an agent changes lines."""
import pytest
from sqlalchemy import func, select

from core.audit import Actor, AuditEvent
from core.orders import services as orders
from core.pricing import services as pricing
from core.pricing.models import Promotion, PromotionRedemption
from core.workflows import order_maintenance as maintenance
from core.workflows.order_maintenance import LineChanges
from tests.factories import CustomerFactory
from tests.unit.test_orders import ADDRESS, vid

GUEST = Actor("anonymous", None, "guest")
AGENT = Actor("agent", 1, "alex@marketline.example")


def welcome(db) -> Promotion:
    """WELCOME10: 10 % off from 50 EUR, once per customer (the demo's)."""
    return db.scalar(select(Promotion).where(Promotion.coupon_code == "WELCOME10"))


def place(db, *, email, key, reams=10, customer=None, coupons=("WELCOME10",)):
    """A web-b2c order of `reams` of copy paper (10 reams: 52.20 EUR, WELCOME10 applies)."""
    channel = pricing.get_channel(db, "web-b2c")
    ctx = pricing.make_context(channel, customer=customer, coupon_codes=coupons)
    checkout = orders.Checkout(lines=[(vid(db, "PAP-A4-80"), reams)], email=email,
                               shipping_address=ADDRESS, billing_address=ADDRESS,
                               shipping_method="standard")
    return orders.place_order(db, checkout=checkout, channel=channel, ctx=ctx,
                              customer_id=customer.id if customer else None, actor=GUEST,
                              idempotency_key=key)


def redemptions(db, promotion, reference=None) -> list[PromotionRedemption]:
    stmt = select(PromotionRedemption).where(PromotionRedemption.promotion_id == promotion.id)
    if reference:
        stmt = stmt.where(PromotionRedemption.reference == reference)
    return list(db.scalars(stmt))


def times_used(db, promotion) -> int:
    return db.scalar(select(Promotion.times_used).where(Promotion.id == promotion.id))


# -- per customer, guests included ------------------------------------------------------

def test_a_guest_who_used_welcome10_is_refused_it_on_a_second_guest_checkout(db):
    first = place(db, email="Gina.Guest@example.com", key="welcome-1")
    assert first.discount_total > 0
    [use] = redemptions(db, welcome(db), first.number)
    assert use.email == "gina.guest@example.com" and use.customer_id is None
    with pytest.raises(orders.OrderError, match="WELCOME10 has already been used"):
        place(db, email=" gina.guest@EXAMPLE.com", key="welcome-2")


def test_signing_out_does_not_reset_a_customers_per_customer_limit(db):
    customer = CustomerFactory(email="sam.signed@example.com")
    assert place(db, email="sam.signed@example.com", key="signed-1",
                 customer=customer).discount_total > 0
    # The same person again, as a guest with the account's address.
    with pytest.raises(orders.OrderError, match="already been used"):
        place(db, email="sam.signed@example.com", key="signed-2")


def test_a_guest_use_counts_for_the_account_with_the_same_email(db):
    place(db, email="tia.twice@example.com", key="guest-then-account")
    customer = CustomerFactory(email="tia.twice@example.com")
    # Pricing already tells the customer, as the coupon's problem.
    channel = pricing.get_channel(db, "web-b2c")
    ctx = pricing.make_context(channel, customer=customer, coupon_codes=("WELCOME10",))
    priced = pricing.price_cart(db, ctx, [(vid(db, "PAP-A4-80"), 10)])
    assert priced.coupon_problems == ("Coupon WELCOME10 has already been used on your account.",)
    with pytest.raises(orders.OrderError, match="already been used"):
        place(db, email="other.address@example.com", key="account-after-guest", customer=customer)


def test_pricing_knows_a_guests_uses_once_the_email_is_given(db):
    place(db, email="una.used@example.com", key="priced-guest")
    channel = pricing.get_channel(db, "web-b2c")
    ctx = pricing.make_context(channel, coupon_codes=("WELCOME10",), email="UNA.used@example.com")
    priced = pricing.price_cart(db, ctx, [(vid(db, "PAP-A4-80"), 10)])
    assert priced.discount_total.amount == 0 and priced.coupon_problems


def test_the_per_customer_limit_is_checked_where_the_use_is_counted(db):
    """Priced while the guest had not used it; a concurrent order counted it first."""
    channel = pricing.get_channel(db, "web-b2c")
    ctx = pricing.make_context(channel, coupon_codes=("WELCOME10",), email="vic@example.com")
    priced = pricing.price_cart(db, ctx, [(vid(db, "PAP-A4-80"), 10)])
    assert priced.discount_total.amount > 0
    place(db, email="vic@example.com", key="concurrent-first")  # commits its use first
    second = place(db, email="vic@example.com", key="concurrent-second", coupons=())
    before = times_used(db, welcome(db))
    with pytest.raises(orders.OrderError, match="already been used"):
        orders._redeem(db, second, priced)
    assert times_used(db, welcome(db)) == before  # nothing counted


# -- given back on cancellation ---------------------------------------------------------

def test_cancelling_an_order_gives_its_use_of_a_capped_promotion_back(db):
    promotion = welcome(db)
    promotion.usage_limit_total, promotion.times_used = 3, 1
    db.flush()
    order = place(db, email="cara.cancel@example.com", key="cancel-capped")
    assert times_used(db, promotion) == 2
    orders.cancel_order(db, order, actor=GUEST, reason="Customer asked to cancel")
    assert times_used(db, promotion) == 1
    assert redemptions(db, promotion, order.number) == []
    event = db.scalar(select(AuditEvent).where(
        AuditEvent.action == "order.promotion_uses_returned",
        AuditEvent.subject_id == str(order.id)))
    assert event.data == {"promotions": [promotion.id], "reason": "Customer asked to cancel"}
    # The coupon can be used again by the same buyer.
    assert place(db, email="cara.cancel@example.com", key="cancel-again").discount_total > 0


def test_giving_a_use_back_twice_changes_nothing_the_second_time(db):
    from core.orders import promotion_uses
    promotion = welcome(db)
    order = place(db, email="ida.idem@example.com", key="idempotent")
    used = times_used(db, promotion)
    assert promotion_uses.give_back(db, order, actor=GUEST, reason="x") == [promotion.id]
    assert promotion_uses.give_back(db, order, actor=GUEST, reason="x") == []
    assert times_used(db, promotion) == used - 1
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "order.promotion_uses_returned",
        AuditEvent.subject_id == str(order.id))) == 1


def test_an_abandoned_checkout_gives_the_use_back(db):
    from core.payments import services as payments
    promotion = welcome(db)
    order = place(db, email="abe.abandon@example.com", key="abandoned")
    used = times_used(db, promotion)
    payments.abandon(db, order, actor=Actor.system("checkout-expiry"), reason="Checkout abandoned")
    assert order.status == "cancelled" and times_used(db, promotion) == used - 1
    assert place(db, email="abe.abandon@example.com", key="abandoned-2").discount_total > 0


# -- lines changed by an agent ----------------------------------------------------------

@pytest.fixture
def first_order_bonus(db) -> Promotion:
    """An automatic promotion (no coupon): 5 EUR off paper from 50 EUR, once per customer."""
    from decimal import Decimal
    from core.catalog.models import Variant
    paper = db.scalar(select(Variant.product_id).where(Variant.sku == "PAP-A4-80"))
    promotion = Promotion(name="First paper order: 5 EUR off", kind="amount_off",
                          value=Decimal(5), min_subtotal=Decimal(50), product_ids=[paper],
                          channels=["web-b2c"], usage_limit_per_customer=1, priority=3)
    db.add(promotion)
    db.flush()
    return promotion


def test_a_promotion_that_qualifies_after_a_line_change_is_counted_and_given_back_if_it_stops(
        db, first_order_bonus):
    promotion = first_order_bonus
    order = place(db, email="lena.lines@example.com", key="lines", reams=2, coupons=())
    assert order.discount_total == 0 and redemptions(db, promotion, order.number) == []
    line = order.lines[0]
    maintenance.change_lines(db, order, changes=LineChanges(quantities={line.id: 10}), actor=AGENT)
    assert order.discount_total > 0
    [use] = redemptions(db, promotion, order.number)
    assert use.email == "lena.lines@example.com" and times_used(db, promotion) == 1
    # Changing a line again keeps the one use; dropping under the minimum gives it back.
    maintenance.change_lines(db, order, changes=LineChanges(quantities={line.id: 11}), actor=AGENT)
    assert times_used(db, promotion) == 1 and len(redemptions(db, promotion, order.number)) == 1
    maintenance.change_lines(db, order, changes=LineChanges(quantities={line.id: 2}), actor=AGENT)
    assert order.discount_total == 0 and times_used(db, promotion) == 0
    assert redemptions(db, promotion, order.number) == []


def test_a_line_change_does_not_give_a_guest_a_second_use_of_a_per_customer_promotion(
        db, first_order_bonus):
    first = place(db, email="max.more@example.com", key="lines-first", coupons=())
    assert first.discount_total > 0  # used the bonus here
    order = place(db, email="max.more@example.com", key="lines-second", reams=2, coupons=())
    line = order.lines[0]
    maintenance.change_lines(db, order, changes=LineChanges(quantities={line.id: 10}), actor=AGENT)
    assert order.discount_total == 0
    assert redemptions(db, first_order_bonus, order.number) == []
    assert times_used(db, first_order_bonus) == 1
