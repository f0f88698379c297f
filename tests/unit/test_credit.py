"""Credit limits (review finding M8): exposure and the credit check of orders on account."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from core import audit
from core.agents.models import Agent
from core.credit import checks
from core.credit.exposure import exposure
from core.catalog.models import Variant
from core.customers.models import Customer, CustomerAddress
from core.db import utcnow
from core.demo.orders import ship_dated, take_phone_order
from core.workflows import order_maintenance
from tests.factories import CustomerFactory
from tests.helpers import QueryCounter

WAREHOUSE = audit.Actor("agent", None, "Wes Warehouse")


def company(db) -> Customer:
    """A company on account (net 30) with a 1,000 EUR credit limit and nothing owed yet."""
    customer = CustomerFactory(kind="company", name="Initech AG", payment_terms="net30",
                               on_account_allowed=True, price_group="business",
                               credit_limit=Decimal("1000.00"))
    db.add(CustomerAddress(customer=customer, label="Office", full_name="Initech Goods In",
                           line1="Hafenstraße 1", city="Hamburg", postal_code="20457",
                           country="DE", default_shipping=True, default_billing=True))
    db.flush()
    return customer


def agent(db) -> Agent:
    return db.scalar(select(Agent).where(Agent.email == "agent@marketline.example"))


def order_on_account(db, who, lines, *, days_ago=0, key):
    return take_phone_order(db, who, agent(db), lines, days_ago, key=key)


def invoiced(db, who, lines, *, days_ago, key):
    """An order on account shipped and invoiced `days_ago` (due 30 days later, net 30)."""
    order = order_on_account(db, who, lines, days_ago=days_ago, key=key)
    for hold in order.active_holds:  # the figures below are built, not judged
        hold.released_at = utcnow()
    return order, ship_dated(db, order, None, days_ago, actor=WAREHOUSE)


def test_exposure_is_open_invoices_plus_uninvoiced_orders_on_account(db):
    globex = company(db)
    _, invoice = invoiced(db, globex, [("PAP-A4-80", 2)], days_ago=5, key="x-1")
    waiting = order_on_account(db, globex, [("PEN-G2-BLU", 3)], key="x-2")
    found = exposure(db, globex)
    assert found.limit == Decimal("1000.00")
    assert [i.number for i in found.invoices] == [invoice.number]
    assert found.open_receivables == invoice.amount_open == invoice.gross_total
    assert [(o.number, o.uninvoiced) for o in found.orders] == [(waiting.number,
                                                                 waiting.gross_total)]
    assert found.total == invoice.gross_total + waiting.gross_total
    assert found.headroom == Decimal("1000.00") - found.total
    assert found.overdue == [] and not found.over_limit
    assert all(isinstance(v, Decimal) for v in (found.total, found.headroom))


def test_a_partly_invoiced_order_counts_only_its_uninvoiced_part(db):
    globex = company(db)
    order = order_on_account(db, globex, [("PAP-A4-80", 4), ("PEN-G2-BLU", 2)], key="x-3")
    invoice = ship_dated(db, order, {"PAP-A4-80": 4}, 0, actor=WAREHOUSE)
    found = exposure(db, globex)
    assert found.open_receivables == invoice.gross_total
    assert found.uninvoiced_orders == order.gross_total - invoice.gross_total
    assert found.total == order.gross_total


def test_cancelled_and_card_orders_are_no_exposure(db):
    globex = company(db)
    order = order_on_account(db, globex, [("PAP-A4-80", 1)], key="x-4")
    order.status = "cancelled"
    db.flush()
    assert exposure(db, globex).total == 0


def test_exposure_costs_two_queries_however_many_documents(db, connection):
    globex = company(db)
    for i in range(4):
        invoiced(db, globex, [("PAP-A4-80", 1)], days_ago=3, key=f"q-{i}")
        order_on_account(db, globex, [("PEN-G2-BLU", 1)], key=f"q-o-{i}")
    db.flush()
    with QueryCounter(connection) as counter:
        found = exposure(db, globex)
    assert len(found.invoices) == 4 and len(found.orders) == 4
    assert counter.count == 2


def test_m8_an_order_on_account_over_the_limit_goes_on_a_credit_hold(db):
    """Review finding M8: limit X, open receivables >= X, a phone order on account."""
    globex = company(db)
    globex.credit_limit = Decimal("100.00")
    _, invoice = invoiced(db, globex, [("TON-TN3430", 2)], days_ago=2, key="m8-1")
    assert invoice.amount_open >= globex.credit_limit
    order = order_on_account(db, globex, [("PAP-A4-80", 1)], key="m8-2")
    assert order.status == "confirmed" and order.payment_state == "on_account"
    [hold] = order.active_holds
    assert (hold.kind, hold.reason_code) == ("credit", "over_limit")
    assert "is over the credit limit 100.00 EUR by" in hold.note
    assert order.number in hold.note and "open invoices" in hold.note


def test_within_the_limit_no_hold(db):
    globex = company(db)
    order = order_on_account(db, globex, [("PAP-A4-80", 1)], key="ok-1")
    assert order.active_holds == []
    assert checks.check_order(db, order, actor=WAREHOUSE, overdue_days=30) is None


def test_overdue_invoices_hold_even_without_a_limit(db):
    globex = company(db)
    globex.credit_limit = None
    invoiced(db, globex, [("PAP-A4-80", 1)], days_ago=65, key="od-1")  # due 35 days ago
    order = order_on_account(db, globex, [("PAP-A4-80", 1)], key="od-2")
    [hold] = order.active_holds
    assert (hold.kind, hold.reason_code) == ("credit", "overdue_items")
    assert "overdue more than 30 days" in hold.note


def test_overdue_within_the_grace_days_is_no_hold(db):
    globex = company(db)
    globex.credit_limit = None
    invoiced(db, globex, [("PAP-A4-80", 1)], days_ago=50, key="od-3")  # due 20 days ago
    order = order_on_account(db, globex, [("PAP-A4-80", 1)], key="od-4")
    assert order.active_holds == []
    found = exposure(db, globex)
    assert found.past_due_total > 0 and found.overdue == []


def test_no_limit_means_no_limit_check(db):
    globex = company(db)
    globex.credit_limit = None
    order = order_on_account(db, globex, [("TON-TN3430", 20)], key="nl-1")
    assert order.active_holds == []


def test_a_card_order_is_never_credit_checked(db):
    globex = company(db)
    globex.credit_limit = Decimal("1.00")
    order = order_on_account(db, globex, [("PAP-A4-80", 1)], key="c-1")
    order.active_holds[0].released_at = utcnow()
    order.payment_method = "card"
    assert checks.check_order(db, order, actor=WAREHOUSE, overdue_days=30) is None


def test_an_order_on_account_that_grows_past_the_limit_goes_on_hold(db):
    globex = company(db)
    order = order_on_account(db, globex, [("PAP-A4-80", 1)], key="g-1")
    assert order.active_holds == []
    line = order.lines[0]
    outcome = order_maintenance.change_lines(
        db, order, changes=order_maintenance.LineChanges(add=(("TON-TN3430", 20),)),
        actor=WAREHOUSE)
    assert outcome.credit is not None
    assert (outcome.credit.kind, outcome.credit.reason_code) == ("credit", "over_limit")
    assert line in order.lines


def test_an_order_on_account_that_shrinks_is_not_checked_again(db):
    globex = company(db)
    globex.credit_limit = Decimal("1.00")
    order = order_on_account(db, globex, [("PAP-A4-80", 3)], key="s-1")
    order.active_holds[0].released_at = utcnow()  # the credit team let it through
    db.flush()
    outcome = order_maintenance.change_lines(
        db, order, changes=order_maintenance.LineChanges(quantities={order.lines[0].id: 2}),
        actor=WAREHOUSE)
    assert outcome.credit is None and order.active_holds == []


def test_the_overdue_days_setting_reaches_the_phone_orders_check(db):
    """CREDIT_OVERDUE_DAYS at 15: a customer with an invoice 20 days overdue is held when
    the agent takes an order on account by phone (30 would let it pass)."""
    from core.workflows import phone_orders as phone
    from tests.unit.test_phone_orders import LIMITS
    globex = company(db)
    globex.credit_limit = None
    invoiced(db, globex, [("PAP-A4-80", 1)], days_ago=50, key="od15-1")  # due 20 days ago
    sku = dict(db.execute(select(Variant.sku, Variant.id)).all())
    address = db.scalar(select(CustomerAddress).where(CustomerAddress.customer_id == globex.id))

    def place(key, overdue_days):
        return phone.place_phone_order(
            db, customer=globex, agent=agent(db), lines=[(sku["PAP-A4-80"], 1)], overrides={},
            coupon_codes=[], shipping_address=address.as_dict(), shipping_method="standard",
            payment_method="on_account", settings_limits=LIMITS, idempotency_key=key,
            overdue_days=overdue_days)
    assert place("od15-2", 30).active_holds == []
    [hold] = place("od15-3", 15).active_holds
    assert (hold.kind, hold.reason_code) == ("credit", "overdue_items")
    assert "overdue more than 15 days" in hold.note


def test_the_overdue_days_setting_reaches_the_check_of_grown_lines(db):
    globex = company(db)
    globex.credit_limit = None
    invoiced(db, globex, [("PAP-A4-80", 1)], days_ago=50, key="odl-1")  # due 20 days ago
    order = order_on_account(db, globex, [("PAP-A4-80", 1)], key="odl-2")
    assert order.active_holds == []  # at the default 30 days
    outcome = order_maintenance.change_lines(
        db, order, changes=order_maintenance.LineChanges(quantities={order.lines[0].id: 2}),
        actor=WAREHOUSE, overdue_days=15)
    assert (outcome.credit.kind, outcome.credit.reason_code) == ("credit", "overdue_items")


def test_an_order_in_another_currency_is_held_for_a_credit_check_not_passed(db):
    """Exposure counts the customer's currency only: an order in another one cannot be
    judged against the limit, so it waits for the credit team instead of passing."""
    globex = company(db)
    order = order_on_account(db, globex, [("PAP-A4-80", 1)], key="cur-1")
    assert order.active_holds == []
    order.currency = "USD"
    db.flush()
    hold = checks.check_order(db, order, actor=WAREHOUSE, overdue_days=30)
    assert (hold.kind, hold.reason_code) == ("credit", "credit_check")
    assert "USD" in hold.note and "EUR" in hold.note and order.number in hold.note


def test_the_credit_check_locks_the_customers_row_first(db, connection):
    """Two orders of one customer checked at once queue on its row (a no-op on SQLite;
    tests/pg/test_credit_concurrency.py shows the race it closes)."""
    from sqlalchemy import event
    globex = company(db)
    order = order_on_account(db, globex, [("PAP-A4-80", 1)], key="lock-1")
    db.flush()
    seen = []
    listener = lambda conn, cursor, statement, *a: seen.append(statement)  # noqa: E731
    event.listen(connection, "before_cursor_execute", listener)
    try:
        checks.check_order(db, order, actor=WAREHOUSE, overdue_days=30)
    finally:
        event.remove(connection, "before_cursor_execute", listener)
    assert "FROM customers" in seen[0] and "invoices" in seen[1]
    if connection.dialect.name == "postgresql":
        assert seen[0].rstrip().endswith("FOR UPDATE")
