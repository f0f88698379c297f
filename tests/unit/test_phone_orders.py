"""Phone orders: override arithmetic, limits per role, approval holds, on account, attribution,
and the same prices as the web shop for the same customer, SKU and quantity."""
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.agents.models import Agent
from core.audit import Actor, AuditEvent
from core.catalog.models import Variant
from core.config import load_settings
from core.customers.models import Customer, CustomerAddress
from core.errors import DomainError
from core.orders import services as orders
from core.pricing import services as pricing
from core.pricing.engine import round_money
from core.workflows import phone_orders as phone
from tests.factories import AgentFactory

LIMITS = phone.DiscountLimits(Decimal(10), Decimal(30))


def vid(db, sku):
    return db.scalar(select(Variant.id).where(Variant.sku == sku))


def customer(db, kind):
    if kind == "shopper":
        return db.scalar(select(Customer).where(Customer.email == "shopper@example.com"))
    return db.scalar(select(Customer).where(Customer.name == "Acme Corp"))


def agent(db, email="agent@marketline.example"):
    return db.scalar(select(Agent).where(Agent.email == email))


def address_of(db, who):
    return db.scalar(select(CustomerAddress).where(CustomerAddress.customer_id == who.id)).as_dict()


def place(db, who, lines, *, by=None, overrides=None, payment="card", key="phone-1", coupons=(),
          overdue_days=30):
    return phone.place_phone_order(
        db, customer=who, agent=by or agent(db), lines=lines, overrides=overrides or {},
        coupon_codes=coupons, shipping_address=address_of(db, who), shipping_method="standard",
        payment_method=payment, settings_limits=LIMITS, idempotency_key=key,
        overdue_days=overdue_days)


# -- limits -----------------------------------------------------------------------------------

def test_each_role_has_its_discount_limit_and_an_agents_own_limit_wins(db):
    assert phone.discount_limit(agent(db), LIMITS) == 10
    assert phone.discount_limit(agent(db, "supervisor@marketline.example"), LIMITS) == 30
    assert phone.discount_limit(AgentFactory(roles_text="admin"), LIMITS) == 100
    assert phone.discount_limit(AgentFactory(roles_text="agent",
                                             max_discount_percent=Decimal(15)), LIMITS) == 15


def test_the_limits_come_from_settings():
    limits = phone.DiscountLimits.from_settings(load_settings(
        environ={"DISCOUNT_LIMIT_AGENT": "5", "DISCOUNT_LIMIT_SUPERVISOR": "20"}))
    assert limits == phone.DiscountLimits(Decimal(5), Decimal(20))


# -- override arithmetic -----------------------------------------------------------------------

def test_a_percent_discount_computes_the_unit_price_from_the_list_price(db):
    paper = vid(db, "PAP-A4-80")  # 5.49 incl. VAT for a consumer
    entry = phone.price_entry(db, customer(db, "shopper"), [(paper, 3)],
                              {paper: phone.PriceOverride("loyalty", percent=Decimal(10))}, (),
                              agent=agent(db), limits=LIMITS)
    line = entry.lines[0]
    assert line.list_unit == Decimal("5.49")
    assert line.priced.unit_price == Decimal("4.94")  # 5.49 x 0.9 = 4.941, half-up
    assert line.priced.amount == Decimal("14.82")
    assert line.discount_percent == 10 and not line.over_limit
    assert "Loyalty" in line.explanation[0] and "5.49" in line.explanation[0]


def test_a_price_override_keeps_tax_and_totals_consistent(db):
    paper = vid(db, "PAP-A4-80")
    pens = vid(db, "PEN-G2-BLU")
    entry = phone.price_entry(db, customer(db, "acme"), [(paper, 7), (pens, 2)],
                              {paper: phone.PriceOverride("price_match",
                                                          unit_price=Decimal("3.333"))}, ())
    line = entry.lines[0]
    assert line.priced.unit_price == Decimal("3.33")  # rounded to the minor unit
    # Acme buys excluding tax: tax = net x rate, rounded half-up per line; gross = net + tax.
    net = line.priced.net
    assert net == Decimal("23.31")
    assert line.priced.tax == round_money(net * line.priced.tax_rate, "EUR")
    assert line.priced.gross == net + line.priced.tax
    priced = entry.priced
    assert priced.gross_total.amount == sum(l.priced.gross for l in entry.lines)
    assert priced.tax_total.amount == sum(l.priced.tax for l in entry.lines)


def test_exactly_the_limit_never_needs_approval_whatever_the_rounding():
    # 0.99 less 10 % is 0.891, charged 0.89: 10.1 % off on paper, yet what 10 % gives.
    assert not phone.beyond_limit(Decimal("0.99"), Decimal("0.89"), Decimal(10), "EUR")
    assert phone.beyond_limit(Decimal("0.99"), Decimal("0.88"), Decimal(10), "EUR")


def test_an_override_needs_a_reason_from_the_list():
    with pytest.raises(DomainError, match="reason"):
        phone.parse_override({"reason": "because", "unit_price": "1.00"})
    with pytest.raises(DomainError, match="either"):
        phone.parse_override({"reason": "loyalty"})
    assert phone.parse_override({"reason": "loyalty", "percent": "5"}).percent == 5


@pytest.mark.parametrize("email, percent, over", [
    ("agent@marketline.example", 10, False),
    ("agent@marketline.example", 25, True),
    ("supervisor@marketline.example", 25, False),
    ("supervisor@marketline.example", 31, True),
])
def test_a_discount_beyond_the_agents_limit_is_flagged(db, email, percent, over):
    paper = vid(db, "PAP-A4-80")
    entry = phone.price_entry(db, customer(db, "shopper"), [(paper, 1)],
                              {paper: phone.PriceOverride("loyalty", percent=Decimal(percent))},
                              (), agent=agent(db, email), limits=LIMITS)
    assert entry.lines[0].over_limit is over and entry.needs_approval is over


# -- placing ------------------------------------------------------------------------------------

def test_a_discount_beyond_the_limit_puts_the_order_on_an_approval_hold(db):
    paper = vid(db, "PAP-A4-80")
    order = place(db, customer(db, "shopper"), [(paper, 2)],
                  overrides={paper: phone.PriceOverride("service_recovery", percent=Decimal(25))})
    [hold] = order.active_holds
    assert (hold.kind, hold.reason_code, hold.placed_by) == (
        "approval", "discount_over_limit", "agent@marketline.example")
    line = order.lines[0]
    assert line.list_unit_price == Decimal("5.49") and line.unit_price == Decimal("4.12")
    assert line.override_reason == "service_recovery"


def test_a_discount_within_the_limit_places_no_hold_but_is_audited(db):
    paper = vid(db, "PAP-A4-80")
    order = place(db, customer(db, "shopper"), [(paper, 2)],
                  overrides={paper: phone.PriceOverride("loyalty", percent=Decimal(5))})
    assert order.active_holds == []
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "order.price_overridden",
                                               AuditEvent.subject_id == str(order.id)))
    # 5.49 less 5 % is 5.2155, charged 5.22: 4.9 % off
    assert event.data["reason"] == "loyalty" and event.data["percent"] == "4.9"


def test_a_supervisor_gives_25_percent_without_a_hold(db):
    paper = vid(db, "PAP-A4-80")
    order = place(db, customer(db, "shopper"), [(paper, 2)],
                  by=agent(db, "supervisor@marketline.example"),
                  overrides={paper: phone.PriceOverride("volume_deal", percent=Decimal(25))})
    assert order.active_holds == []


def test_order_totals_are_the_sums_of_the_overridden_lines_plus_shipping(db):
    paper, pens = vid(db, "PAP-A4-80"), vid(db, "PEN-G2-BLU")
    order = place(db, customer(db, "acme"), [(paper, 3), (pens, 1)], payment="on_account",
                  overrides={pens: phone.PriceOverride("price_match", unit_price=Decimal("2.50"))})
    assert order.gross_total == sum(l.gross for l in order.lines) + order.shipping_amount
    assert order.tax_total == sum(l.tax for l in order.lines) + order.shipping_tax
    assert order.net_total == sum(l.net for l in order.lines) + order.shipping_amount - order.shipping_tax


def test_on_account_confirms_the_order_for_a_customer_allowed_it(db, monkeypatch):
    checked = []
    monkeypatch.setattr(phone, "credit_check", lambda session, order, **kw: checked.append(order.number))
    order = place(db, customer(db, "acme"), [(vid(db, "PAP-A4-80"), 1)], payment="on_account")
    assert (order.status, order.payment_state, order.payment_method) == (
        "confirmed", "on_account", "on_account")
    assert checked == [order.number]  # the credit issue's hook is called at placement


def test_on_account_is_refused_for_a_customer_not_allowed_it(db):
    with pytest.raises(DomainError, match="on account") as err:
        place(db, customer(db, "shopper"), [(vid(db, "PAP-A4-80"), 1)], payment="on_account")
    assert err.value.field == "payment_method"


def test_card_and_pay_link_orders_await_payment(db):
    shopper = customer(db, "shopper")
    card = place(db, shopper, [(vid(db, "PAP-A4-80"), 1)], payment="card", key="a")
    link = place(db, shopper, [(vid(db, "PAP-A4-80"), 1)], payment="pay_link", key="b")
    assert card.status == link.status == "pending_payment"
    assert link.payment_method == "pay_link"


def test_a_phone_order_is_attributed_to_the_callcenter_and_the_agent(db):
    by = agent(db)
    order = place(db, customer(db, "acme"), [(vid(db, "PAP-A4-80"), 1)], payment="on_account")
    assert order.channel_code == "callcenter"
    assert (order.placed_by_kind, order.placed_by_id) == ("agent", by.id)
    assert order.customer_id == customer(db, "acme").id
    placed = db.scalar(select(AuditEvent).where(AuditEvent.action == "order.placed",
                                                AuditEvent.subject_id == str(order.id)))
    assert (placed.channel, placed.actor_kind, placed.actor_id) == ("callcenter", "agent", by.id)


def test_the_same_idempotency_key_yields_one_phone_order(db):
    shopper = customer(db, "shopper")
    first = place(db, shopper, [(vid(db, "PAP-A4-80"), 1)], key="twice")
    again = place(db, shopper, [(vid(db, "PAP-A4-80"), 1)], key="twice")
    assert first.id == again.id


# -- the same price as the web shop ----------------------------------------------------------

@pytest.mark.parametrize("who", ["shopper", "acme"])
@pytest.mark.parametrize("sku, quantity", [("PAP-A4-80", 25), ("BEAN-LAV-CRE-1", 3)])
def test_the_phone_prices_a_customer_as_the_web_shop_does(db, who, sku, quantity):
    buyer = customer(db, who)
    variant = vid(db, sku)
    address = address_of(db, buyer)
    # The storefront's path: the viewer's channel and context, then place_order at checkout.
    channel = pricing.get_channel(db, "web-b2b" if buyer.is_company else "web-b2c")
    ctx = pricing.make_context(channel, customer=buyer)
    shown = pricing.price_cart(db, ctx, [(variant, quantity)]).lines[0]
    web = orders.place_order(
        db, checkout=orders.Checkout(lines=[(variant, quantity)], email=buyer.email,
                                     shipping_address=address, billing_address=address,
                                     shipping_method="standard"),
        channel=channel, ctx=ctx, customer_id=buyer.id, actor=Actor("customer", 1, "web"),
        idempotency_key=f"web-{who}-{sku}")
    entry = phone.price_entry(db, buyer, [(variant, quantity)], {}, (), address=address)
    quoted = entry.lines[0].priced
    assert (quoted.unit_price, quoted.total, quoted.tax) == (shown.unit_price, shown.total,
                                                             shown.tax)
    order = place(db, buyer, [(variant, quantity)], key=f"phone-{who}-{sku}")
    web_line, phone_line = web.lines[0], order.lines[0]
    assert (phone_line.unit_price, phone_line.gross, phone_line.tax) == (
        web_line.unit_price, web_line.gross, web_line.tax)
    assert (order.gross_total, order.tax_total) == (web.gross_total, web.tax_total)
    assert entry.total == order.gross_total and entry.tax == order.tax_total
    assert web.channel_code != order.channel_code == "callcenter"


def test_finding_items_by_sku_or_name(db):
    shopper = customer(db, "shopper")
    assert phone.resolve_item(db, shopper, "pap-a4-80") == vid(db, "PAP-A4-80")
    assert phone.resolve_item(db, shopper, "cinquantotto") == vid(db, "COF-RKT-R58")
    with pytest.raises(DomainError, match="Several items") as err:
        phone.resolve_item(db, shopper, "paper")
    assert err.value.field == "sku"
    with pytest.raises(DomainError, match="No item"):
        phone.resolve_item(db, shopper, "NO-SUCH-THING")
