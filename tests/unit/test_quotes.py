"""Quotes: requested from the cart, priced with overrides by the orders' engine, agents'
limits, expiry, and acceptance placing an order at the quoted prices (once)."""
import datetime as dt
from contextlib import contextmanager
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.agents.models import Agent
from core.audit import AuditEvent
from core.catalog.models import Variant
from core.customers.models import Customer, CustomerUser
from core.customers.services import actor_for
from core.db import utcnow
from core.errors import DomainError, NotFound
from core.orders import discounts
from core.orders import services as orders
from core.orders.models import Order
from core.pricing import services as pricing
from core.pricing.models import Promotion
from core.quotes import services as quotes
from core.quotes.states import QUOTE, QuoteStatus
from core.workflows import quote_acceptance as acceptance
from tests.factories import AgentFactory

LIMITS = discounts.DiscountLimits(Decimal(10), Decimal(30))
Q = QuoteStatus


def vid(db, sku):
    return db.scalar(select(Variant.id).where(Variant.sku == sku))


def acme(db):
    return db.scalar(select(Customer).where(Customer.name == "Acme Corp"))


def login(db, email):
    return db.scalar(select(CustomerUser).where(CustomerUser.email == email))


def agent(db, email="agent@marketline.example"):
    return db.scalar(select(Agent).where(Agent.email == email))


def requested(db, lines=(("PAP-A4-80", 10), ("PEN-G2-BLK", 5)), who="buyer@acme.example"):
    user = login(db, who)
    return quotes.request_quote(db, lines=[(vid(db, s), q) for s, q in lines],
                                customer=user.customer, user=user, comment="Best price for 10?",
                                actor=actor_for(user), valid_days=30)


def sent(db, **kwargs):
    quote = requested(db, **kwargs)
    return quotes.send_quote(db, quote, agent=agent(db), limits=LIMITS, default_days=30)


def test_the_transition_table_allows_only_the_documented_moves():
    assert QUOTE.allows(Q.DRAFT, Q.SENT) and QUOTE.allows(Q.DRAFT, Q.REJECTED)
    assert {Q.ACCEPTED, Q.REJECTED, Q.EXPIRED} == set(QUOTE.transitions[Q.SENT])
    assert not QUOTE.allows(Q.DRAFT, Q.ACCEPTED) and not QUOTE.allows(Q.EXPIRED, Q.SENT)
    assert not any(QUOTE.transitions[s] for s in (Q.REJECTED, Q.EXPIRED))
    assert set(QUOTE.transitions[Q.ACCEPTED]) == {Q.ACCEPTED}  # accepted again (reopened)
    assert QUOTE.label(Q.DRAFT) == "Being prepared" and QUOTE.label(Q.REJECTED) == "Declined"


def test_a_request_copies_the_cart_lines_at_todays_contract_prices(db):
    quote = requested(db)
    customer = acme(db)
    channel = pricing.get_channel(db, "web-b2b")
    priced = pricing.price_cart(db, pricing.make_context(channel, customer=customer),
                                [(vid(db, "PAP-A4-80"), 10), (vid(db, "PEN-G2-BLK"), 5)])
    assert quote.number.startswith("QT-") and quote.status == Q.DRAFT
    assert quote.channel_code == "web-b2b" and not quote.prices_include_tax
    assert [(l.sku, l.quantity) for l in quote.lines] == [("PAP-A4-80", 10), ("PEN-G2-BLK", 5)]
    assert [l.unit_price for l in quote.lines] == [l.unit_price for l in priced.lines]
    assert all(l.unit_price == l.list_unit_price and not l.override_reason for l in quote.lines)
    assert quote.gross_total == priced.gross_total.amount
    assert quote.comment == "Best price for 10?"
    assert quote.requested_by_id == login(db, "buyer@acme.example").id
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "quote.requested", AuditEvent.subject_id == str(quote.id))) == 1
    rows = quotes.worklist(db, status="requested").items
    assert rows[0].quote.id == quote.id and rows[0].requested


def test_overrides_price_through_the_orders_engine_and_keep_list_prices(db):
    quote = requested(db)
    paper = next(l for l in quote.lines if l.sku == "PAP-A4-80")
    listed = paper.list_unit_price
    quotes.price_line(db, quote, paper.id, orders.PriceOverride("volume_deal", percent=Decimal(5)),
                      agent=agent(db))
    ctx = pricing.make_context(pricing.get_channel(db, "web-b2b"), customer=acme(db))
    same = orders.price_with_overrides(
        db, ctx, [(l.variant_id, l.quantity) for l in quote.lines],
        {paper.variant_id: orders.PriceOverride("volume_deal", percent=Decimal(5))})
    assert paper.list_unit_price == listed
    assert paper.unit_price == same.units[paper.variant_id] < listed
    assert paper.override_reason == "volume_deal"
    assert quote.gross_total == same.priced.gross_total.amount
    assert quote.net_total + quote.tax_total == quote.gross_total
    assert sum(l.gross for l in quote.lines) == quote.gross_total
    quotes.price_line(db, quote, paper.id, None, agent=agent(db))
    assert paper.unit_price == listed and paper.override_reason == ""


def test_a_price_needs_a_reason_and_quoted_is_not_an_agents_reason(db):
    quote = requested(db)
    line = quote.lines[0]
    for reason in ("", "quoted"):
        with pytest.raises(quotes.QuoteError) as refused:
            quotes.price_line(db, quote, line.id, orders.PriceOverride(
                reason, unit_price=Decimal("1.00")), agent=agent(db))
        assert refused.value.field == "reason"


def test_lines_are_added_by_sku_changed_and_removed(db):
    quote = quotes.create_quote(db, customer=acme(db), agent=agent(db), valid_days=30)
    assert quote.requested_by_id is None and quote.agent_id == agent(db).id
    quotes.add_line(db, quote, sku="pap-a4-80", quantity=3, agent=agent(db))
    quotes.add_line(db, quote, sku="PAP-A4-80", quantity=2, agent=agent(db))
    assert [(l.sku, l.quantity) for l in quote.lines] == [("PAP-A4-80", 5)]
    with pytest.raises(quotes.QuoteError) as refused:
        quotes.add_line(db, quote, sku="NOPE-1", quantity=1, agent=agent(db))
    assert refused.value.field == "sku"
    quotes.set_quantity(db, quote, quote.lines[0].id, 0, agent=agent(db))
    assert quote.lines == [] and quote.gross_total == 0


def test_expiry_defaults_and_is_never_in_the_past(db):
    quote = requested(db)
    assert quote.expires_on == quotes.today() + dt.timedelta(days=30)
    with pytest.raises(quotes.QuoteError) as refused:
        quotes.set_terms(db, quote, expires_on=quotes.today() - dt.timedelta(days=1), note="",
                         agent=agent(db), default_days=30)
    assert refused.value.field == "expires_on"
    quotes.set_terms(db, quote, expires_on=None, note="Valid for full pallets only.",
                     agent=agent(db), default_days=14)
    assert quote.expires_on == quotes.today() + dt.timedelta(days=14)
    assert quote.note == "Valid for full pallets only."


def test_an_agent_cannot_send_a_quote_beyond_their_limit_but_a_supervisor_can(db):
    quote = requested(db)
    line = quote.lines[0]
    quotes.price_line(db, quote, line.id, orders.PriceOverride("volume_deal", percent=Decimal(20)),
                      agent=agent(db))
    assert quotes.check_limits(quote, agent(db), LIMITS).needs_supervisor
    with pytest.raises(quotes.QuoteError, match="supervisor"):
        quotes.send_quote(db, quote, agent=agent(db), limits=LIMITS, default_days=30)
    assert quote.status == Q.DRAFT
    boss = agent(db, "supervisor@marketline.example")
    quotes.send_quote(db, quote, agent=boss, limits=LIMITS, default_days=30)
    assert quote.status == Q.SENT and quote.agent_id == boss.id and quote.sent_at


def test_the_amount_given_away_counts_too(db):
    quote = requested(db, lines=(("PAP-A4-80", 5000),))
    line = quote.lines[0]
    quotes.price_line(db, quote, line.id, orders.PriceOverride("volume_deal", percent=Decimal(9)),
                      agent=agent(db))
    check = quotes.check_limits(quote, agent(db), LIMITS)
    assert not check.over_lines and check.over_amount and check.given > 250


def test_a_sent_quote_cannot_be_edited(db):
    quote = sent(db)
    with pytest.raises(quotes.QuoteError):
        quotes.add_line(db, quote, sku="PAP-A4-80", quantity=1, agent=agent(db))


def test_accepting_places_an_order_at_the_quoted_unit_prices_on_account(db):
    quote = requested(db)
    paper = next(l for l in quote.lines if l.sku == "PAP-A4-80")
    quotes.price_line(db, quote, paper.id, orders.PriceOverride("volume_deal",
                                                                unit_price=Decimal("3.60")),
                      agent=agent(db))
    quotes.send_quote(db, quote, agent=agent(db), limits=LIMITS, default_days=30)
    bea = login(db, "buyer@acme.example")
    done = acceptance.accept_quote(db, quote, user=bea, actor=actor_for(bea))
    order = done.order
    assert quote.status == Q.ACCEPTED and quote.order_id == order.id
    units = {l.sku: l.unit_price for l in order.lines}
    assert units == {l.sku: l.unit_price for l in quote.lines}
    assert units["PAP-A4-80"] == Decimal("3.60")
    assert {l.override_reason for l in order.lines} == {"quoted"}
    assert order.gross_total - order.shipping_amount == quote.gross_total
    assert order.customer_id == acme(db).id and order.email == bea.email
    assert order.payment_method == "on_account" and order.status == "confirmed"
    assert done.on_account and not done.awaits_card
    again = acceptance.accept_quote(db, quote, user=bea, actor=actor_for(bea))
    assert again.order.id == order.id
    assert db.scalar(select(func.count()).select_from(Order)
                     .where(Order.idempotency_key == f"quote-{quote.id}")) == 1


def test_a_customer_without_account_terms_gets_an_order_waiting_for_a_card(db):
    sam = login(db, "shopper@example.com")
    quote = quotes.request_quote(db, lines=[(vid(db, "PAP-A4-80"), 2)], customer=sam.customer,
                                 user=sam, comment="", actor=actor_for(sam), valid_days=30)
    assert quote.channel_code == "web-b2c" and quote.prices_include_tax
    quotes.send_quote(db, quote, agent=agent(db), limits=LIMITS, default_days=30)
    done = acceptance.accept_quote(db, quote, user=sam, actor=actor_for(sam))
    assert done.awaits_card and done.order.status == "pending_payment"
    assert done.order.payment_method == "card"


def test_an_expired_quote_cannot_be_accepted_and_becomes_expired(db):
    quote = sent(db)
    quote.expires_on = quotes.today() - dt.timedelta(days=1)
    bea = login(db, "buyer@acme.example")
    assert quotes.shown_status(quote) == Q.EXPIRED and not quotes.can_accept(quote)
    with pytest.raises(quotes.QuoteExpired, match="expired"):
        acceptance.accept_quote(db, quote, user=bea, actor=actor_for(bea))
    assert quote.status == Q.EXPIRED and quote.order_id is None


def test_a_quote_valid_through_today_can_still_be_accepted(db):
    quote = sent(db)
    quote.expires_on = quotes.today()
    bea = login(db, "buyer@acme.example")
    assert acceptance.accept_quote(db, quote, user=bea, actor=actor_for(bea)).order


def test_a_quote_whose_order_was_cancelled_can_be_accepted_again_until_its_date(db):
    """Review finding 14: the company's approver rejects the order (or it is cancelled
    otherwise); the offer still stands, so the buyer accepts it again and a new order is
    placed at the same prices, once; after the quote's date it cannot be."""
    quote = sent(db)
    bea = login(db, "buyer@acme.example")
    first = acceptance.accept_quote(db, quote, user=bea, actor=actor_for(bea)).order
    assert not quotes.can_accept(quote)
    orders.cancel_order(db, first, actor=actor_for(bea), reason="rejected by the approver")
    db.flush()
    db.expire(quote, ["order"])
    assert quotes.reopened(quote) and quotes.can_accept(quote)
    second = acceptance.accept_quote(db, quote, user=bea, actor=actor_for(bea)).order
    assert second.id != first.id and quote.order_id == second.id
    assert quote.status == Q.ACCEPTED and second.status == "confirmed"
    assert {l.unit_price for l in second.lines} == {l.unit_price for l in first.lines}
    assert acceptance.accept_quote(db, quote, user=bea, actor=actor_for(bea)).order.id == second.id
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "quote.accepted_again")) == 1
    orders.cancel_order(db, second, actor=actor_for(bea), reason="changed our mind")
    quote.expires_on = quotes.today() - dt.timedelta(days=1)
    db.flush()
    db.expire(quote, ["order"])
    assert not quotes.can_accept(quote)
    with pytest.raises(quotes.QuoteExpired, match="expired"):
        acceptance.accept_quote(db, quote, user=bea, actor=actor_for(bea))


def test_the_periodic_task_expires_only_sent_quotes_past_their_date(db):
    due, fresh, draft = sent(db), sent(db), requested(db)
    due.expires_on = draft.expires_on = quotes.today() - dt.timedelta(days=2)
    db.flush()
    assert quotes.expire_due_quotes(db) >= 1
    assert due.status == Q.EXPIRED and fresh.status == Q.SENT and draft.status == Q.DRAFT


def test_another_buyer_or_company_cannot_accept_or_see_it(db):
    quote = sent(db)
    gina = login(db, "gina@globex.example")
    with pytest.raises(NotFound):
        acceptance.accept_quote(db, quote, user=gina, actor=actor_for(gina))
    with pytest.raises(NotFound):
        quotes.quote_for_user(db, gina, quote.number)
    abe = login(db, "approver@acme.example")
    assert quotes.visible_to(abe, quote)  # an approver sees the company's quotes
    mine = [r.quote.id for r in quotes.customer_quotes(db, login(db, "buyer@acme.example")).items]
    assert quote.id in mine
    assert quote.id not in [r.quote.id for r in quotes.customer_quotes(db, gina).items]


def test_the_buyer_declines_with_a_reason_and_an_agent_declines_a_request(db):
    quote = sent(db)
    bea = login(db, "buyer@acme.example")
    with pytest.raises(quotes.QuoteError):
        quotes.reject_quote(db, quote, user=bea, reason="  ", actor=actor_for(bea))
    quotes.reject_quote(db, quote, user=bea, reason="Found it cheaper", actor=actor_for(bea))
    assert quote.status == Q.REJECTED and quote.reject_reason == "Found it cheaper"
    other = requested(db)
    quotes.decline_request(db, other, agent=agent(db), reason="Discontinued items")
    assert other.status == Q.REJECTED and other.decided_by == "agent@marketline.example"


def test_a_quote_with_an_admin_agent_has_no_limits(db):
    quote = requested(db)
    quotes.price_line(db, quote, quote.lines[0].id,
                      orders.PriceOverride("volume_deal", percent=Decimal(90)), agent=agent(db))
    assert not quotes.check_limits(quote, AgentFactory(roles_text="admin"), LIMITS).needs_supervisor


def test_an_order_above_the_buyers_limit_waits_for_an_approver(db):
    bea = login(db, "buyer@acme.example")  # order limit 500.00
    quote = sent(db, lines=(("TON-TN3430", 12),))
    done = acceptance.accept_quote(db, quote, user=bea, actor=actor_for(bea))
    assert done.order.gross_total > bea.order_limit
    hold = next(h for h in done.order.active_holds)
    assert (hold.kind, hold.reason_code) == ("approval", "spending_limit")
    assert "500.00" in hold.note and quote.status == Q.ACCEPTED and done.awaits_approval


def goods(order):
    """The order's goods (net, gross): its totals less shipping."""
    return (order.net_total - (order.shipping_amount - order.shipping_tax),
            order.gross_total - order.shipping_amount)


def promotion(db, name, percent, *, ended=False):
    """A percent-off promotion on everything in web-b2b, running now (or ended)."""
    now = utcnow()
    found = Promotion(name=name, kind="percent_off", value=Decimal(percent),
                      channels=["web-b2b"], starts_at=now - dt.timedelta(days=2),
                      ends_at=now - dt.timedelta(days=1) if ended else None)
    db.add(found)
    db.flush()
    return found


def test_promotions_neither_price_a_quote_nor_its_order(db):
    """A quote is a negotiated price: the order's goods cost exactly what was quoted, though
    a promotion running when it was sent ended and another started before it was accepted."""
    summer = promotion(db, "Summer 10 % off", 10)
    quote = requested(db)
    paper = next(l for l in quote.lines if l.sku == "PAP-A4-80")
    quotes.price_line(db, quote, paper.id, orders.PriceOverride("volume_deal",
                                                                unit_price=Decimal("3.60")),
                      agent=agent(db))
    quotes.send_quote(db, quote, agent=agent(db), limits=LIMITS, default_days=30)
    ctx = pricing.make_context(pricing.get_channel(db, "web-b2b"), customer=acme(db))
    with_promotion = orders.price_with_overrides(
        db, ctx, [(l.variant_id, l.quantity) for l in quote.lines],
        quotes.overrides_for_order(quote))
    assert with_promotion.priced.discount_total.amount > 0  # it would have applied
    assert with_promotion.priced.gross_total.amount < quote.gross_total
    assert quote.discount_total == 0 and quote.net_total == sum(
        l.unit_price * l.quantity for l in quote.lines)
    net, gross = quote.net_total, quote.gross_total

    summer.ends_at = utcnow() - dt.timedelta(minutes=1)
    promotion(db, "Autumn 15 % off", 15)
    bea = login(db, "buyer@acme.example")
    order = acceptance.accept_quote(db, quote, user=bea, actor=actor_for(bea)).order
    assert goods(order) == (net, gross) == (quote.net_total, quote.gross_total)
    assert (sum(l.net for l in order.lines), sum(l.gross for l in order.lines)) == (net, gross)
    assert order.discount_total == 0 and all(l.discounts == [] for l in order.lines)
    assert {l.sku: l.unit_price for l in order.lines} == {l.sku: l.unit_price for l in quote.lines}


def test_an_order_from_a_quote_on_account_over_the_credit_limit_gets_a_credit_hold(db):
    gina = login(db, "gina@globex.example")  # Globex: on account, credit limit 1,000 EUR
    quote = sent(db, lines=(("TON-TN3430", 30),), who="gina@globex.example")
    done = acceptance.accept_quote(db, quote, user=gina, actor=actor_for(gina))
    order = done.order
    assert done.on_account and order.payment_method == "on_account"
    assert order.gross_total > gina.customer.credit_limit
    hold = next(h for h in order.active_holds if h.kind == "credit")
    assert hold.reason_code == "over_limit"
    assert "credit limit" in hold.note and order.number in hold.note
    assert quote.status == Q.ACCEPTED and quote.order_id == order.id


def test_stock_is_checked_as_for_any_order_and_the_quote_stays_open(db):
    quote = sent(db, lines=(("TON-TN3430", 9000),))
    bea = login(db, "buyer@acme.example")
    with pytest.raises(DomainError, match="Not enough stock"):
        acceptance.accept_quote(db, quote, user=bea, actor=actor_for(bea))


from hypothesis import HealthCheck, given  # noqa: E402
from hypothesis import settings as run_settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SKUS = ["PAP-A4-80", "PEN-G2-BLU", "TON-TN3430", "STN-76-YEL"]


@contextmanager
def on_its_own(db):
    """One Hypothesis example, independent of the others sharing the test's session: its
    writes (quotes, orders, numbers, stock) in a savepoint rolled back afterwards, and an
    empty identity map before and after. Without the latter an object loaded in an earlier
    example (an order line, a hold) outlives its rolled-back row, and SQLite, which gives
    a rolled-back id again, hands the next example's row that stale object."""
    db.expunge_all()
    savepoint = db.begin_nested()
    try:
        yield
    finally:
        if savepoint.is_active:
            savepoint.rollback()
        db.expunge_all()


@given(lines=st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 20)), min_size=1,
                      max_size=4, unique_by=lambda t: t[0]),
       prices=st.lists(st.one_of(st.none(),
                                 st.decimals("0.01", "99.99", places=2).map(
                                     lambda d: ("unit_price", d)),
                                 st.decimals("0.01", "100", places=2).map(
                                     lambda d: ("percent", d))), min_size=4, max_size=4),
       consumer=st.booleans())
@run_settings(max_examples=20, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_whatever_the_prices_totals_add_up_and_the_order_takes_the_quoted_units(
        db, lines, prices, consumer):
    with on_its_own(db):
        quote = requested(db, lines=lines, who="shopper@example.com" if consumer
                          else "approver@acme.example")
        for line, price in zip(list(quote.lines), prices):
            if price is not None:
                quotes.price_line(db, quote, line.id, orders.PriceOverride(
                    "volume_deal", **{price[0]: price[1]}), agent=agent(db))
        assert sum(l.gross for l in quote.lines) == quote.gross_total
        assert sum(l.net for l in quote.lines) == quote.net_total
        assert quote.net_total + quote.tax_total == quote.gross_total
        admin = AgentFactory(roles_text="admin")
        quotes.send_quote(db, quote, agent=admin, limits=LIMITS, default_days=30)
        user = login(db, "shopper@example.com" if consumer else "approver@acme.example")
        order = acceptance.accept_quote(db, quote, user=user, actor=actor_for(user)).order
        assert {l.sku: l.unit_price for l in order.lines} == \
            {l.sku: l.unit_price for l in quote.lines}
        assert goods(order) == (quote.net_total, quote.gross_total)
        assert (sum(l.net for l in order.lines), sum(l.gross for l in order.lines)) == \
            (quote.net_total, quote.gross_total)
