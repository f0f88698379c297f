"""Credit management (issue 15): limits with review dates and their history, the exposure
split, the review-due rule, the credit check at release and at invoicing, exposure over
time and the credit home's lists."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from core import audit, clock
from core.audit import AuditEvent
from core.config import Settings
from core.credit import checks, limits, queries
from core.credit.exposure import exposure
from core.credit.models import CreditLimitChange
from core.fulfilment import services as fulfilment
from core.workflows import credit_gates
from tests.helpers import QueryCounter
from tests.unit.test_credit import WAREHOUSE, company, invoiced, order_on_account

CREDIT = audit.Actor("agent", 7, "carla@marketline.example")
ROLES = ("credit",)
SETTINGS = Settings()


@pytest.fixture(autouse=True)
def _clock():
    yield
    clock.reset()


# -- limits and review dates -------------------------------------------------------------------

def test_a_limit_set_without_a_review_date_is_reviewed_in_twelve_months(db):
    who = company(db)
    change = limits.set_credit_limit(db, who, Decimal("2500"), note="Annual accounts fine",
                                     actor=CREDIT, roles=ROLES, settings=SETTINGS)
    today = clock.today()
    assert who.credit_limit == Decimal("2500")
    assert who.credit_review_on == limits.add_months(today, 12)
    assert (change.limit_before, change.limit_after) == (Decimal("1000.00"), Decimal("2500"))
    assert (change.review_before, change.review_after) == (None, who.credit_review_on)
    assert change.note == "Annual accounts fine"
    assert (change.changed_by, change.changed_by_id) == ("carla@marketline.example", 7)
    event = db.scalar(select(AuditEvent).where(
        AuditEvent.action == "customer.credit_limit_changed",
        AuditEvent.subject_id == str(who.id)))
    assert event.data["after"] == "2500" and event.data["review_after"] == \
        who.credit_review_on.isoformat()


def test_every_change_is_kept_in_the_history_newest_first(db):
    who = company(db)
    first = clock.today() + dt.timedelta(days=30)
    limits.set_credit_limit(db, who, Decimal("2000"), review_on=first, note="one",
                            actor=CREDIT, roles=ROLES, settings=SETTINGS)
    clock.travel(days=1)
    limits.set_credit_limit(db, who, Decimal("2000"), review_on=first + dt.timedelta(days=5),
                            note="two", actor=CREDIT, roles=ROLES, settings=SETTINGS)
    clock.travel(days=1)
    limits.mark_reviewed(db, who, note="three", actor=CREDIT, roles=ROLES, settings=SETTINGS)
    found = limits.history(db, who.id)
    assert [c.note for c in found] == ["three", "two", "one"]
    assert found[1].review_before == first and found[1].limit_before == found[1].limit_after
    assert found[0].limit_before == found[0].limit_after == Decimal("2000")
    assert found[0].review_after == limits.add_months(clock.today(), 12)
    assert who.credit_review_on == found[0].review_after


def test_nothing_changed_writes_no_history(db):
    who = company(db)
    on = clock.today() + dt.timedelta(days=40)
    limits.set_credit_limit(db, who, Decimal("1000.00"), review_on=on, actor=CREDIT,
                            roles=ROLES, settings=SETTINGS)
    assert limits.set_credit_limit(db, who, Decimal("1000.00"), review_on=on, actor=CREDIT,
                                   roles=ROLES, settings=SETTINGS) is None
    assert len(limits.history(db, who.id)) == 1


def test_a_review_date_in_the_past_is_refused(db):
    who = company(db)
    with pytest.raises(limits.CreditLimitError) as err:
        limits.set_credit_limit(db, who, Decimal("5"), review_on=clock.today()
                                - dt.timedelta(days=1), actor=CREDIT, roles=ROLES,
                                settings=SETTINGS)
    assert err.value.field == "review_on"
    with pytest.raises(limits.CreditLimitError) as err:
        limits.mark_reviewed(db, who, review_on=clock.today(), note="x", actor=CREDIT,
                             roles=ROLES, settings=SETTINGS)
    assert err.value.field == "review_on"
    with pytest.raises(limits.CreditLimitError) as err:
        limits.mark_reviewed(db, who, note="  ", actor=CREDIT, roles=ROLES, settings=SETTINGS)
    assert err.value.field == "note"
    assert who.credit_limit == Decimal("1000.00") and who.credit_review_on is None
    assert db.scalar(select(CreditLimitChange).where(
        CreditLimitChange.customer_id == who.id)) is None


def test_only_credit_roles_set_limits_or_review(db):
    who = company(db)
    with pytest.raises(limits.CreditLimitNotAllowed):
        limits.set_credit_limit(db, who, Decimal("5"), actor=CREDIT, roles=("billing",),
                                settings=SETTINGS)
    with pytest.raises(limits.CreditLimitNotAllowed):
        limits.mark_reviewed(db, who, note="ok", actor=CREDIT, roles=("agent",),
                             settings=SETTINGS)


def test_add_months_keeps_the_day_or_takes_the_last():
    assert limits.add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert limits.add_months(dt.date(2026, 12, 6), 12) == dt.date(2027, 12, 6)
    assert limits.add_months(dt.date(2026, 11, 30), 3) == dt.date(2027, 2, 28)


# -- exposure split --------------------------------------------------------------------------

def test_exposure_splits_not_shipped_and_shipped_not_invoiced(db):
    who = company(db)
    who.credit_limit = None
    order = order_on_account(db, who, [("PAP-A4-80", 4), ("PEN-G2-BLU", 2)], key="sp-1")
    found = exposure(db, who)
    assert found.confirmed_not_shipped == order.gross_total
    assert found.shipped_not_invoiced == 0
    # Goods shipped, no invoice yet (as between the parcel and its invoice): 3 of 4 units
    paper = next(l for l in order.lines if l.sku == "PAP-A4-80")
    paper.quantity_shipped = 3
    db.flush()
    found = exposure(db, who)
    shipped_value = (paper.gross * 3 / 4).quantize(Decimal("0.01"))
    assert found.shipped_not_invoiced == shipped_value
    assert found.confirmed_not_shipped == order.gross_total - shipped_value
    assert found.uninvoiced_orders == order.gross_total == found.total


def test_the_value_shipped_not_invoiced_rounds_half_up(db):
    who = company(db)
    who.credit_limit = None
    order = order_on_account(db, who, [("PAP-A4-80", 4)], key="sp-3")
    paper = order.lines[0]
    paper.gross, paper.quantity_shipped = Decimal("10.10"), 1  # 10.10 / 4 = 2.525
    db.flush()
    assert exposure(db, who).shipped_not_invoiced == Decimal("2.53")  # half-even: 2.52


def test_an_invoiced_shipment_is_neither(db):
    from core.demo.orders import ship_dated
    who = company(db)
    who.credit_limit = None
    order = order_on_account(db, who, [("PAP-A4-80", 4), ("PEN-G2-BLU", 2)], key="sp-2")
    invoice = ship_dated(db, order, {"PAP-A4-80": 4}, 0, actor=WAREHOUSE)
    found = exposure(db, who)
    assert found.open_receivables == invoice.gross_total
    assert found.shipped_not_invoiced == 0
    assert found.confirmed_not_shipped == order.gross_total - invoice.gross_total


# -- the review-due rule -----------------------------------------------------------------------

def test_an_order_of_a_customer_whose_review_is_past_due_is_held(db):
    who = company(db)
    who.credit_review_on = clock.today() - dt.timedelta(days=3)
    order = order_on_account(db, who, [("PAP-A4-80", 1)], key="rv-1")
    [hold] = order.active_holds
    assert (hold.kind, hold.reason_code) == ("credit", "review_due")
    since = who.credit_review_on.isoformat()
    assert f"past due since {since} (3 days)" in hold.note


def test_a_review_due_today_is_not_past_due(db):
    who = company(db)
    who.credit_review_on = clock.today()
    assert order_on_account(db, who, [("PAP-A4-80", 1)], key="rv-2").active_holds == []
    clock.travel(days=1)  # the day after, it is
    [hold] = order_on_account(db, who, [("PAP-A4-80", 1)], key="rv-3").active_holds
    assert hold.reason_code == "review_due"


def test_blocking_lists_every_rule_that_bites(db):
    who = company(db)
    who.credit_limit = Decimal("10.00")
    who.credit_review_on = clock.today() - dt.timedelta(days=1)
    invoiced(db, who, [("PAP-A4-80", 2)], days_ago=65, key="bl-1")  # 35 days overdue
    found = exposure(db, who)
    assert [b.reason for b in checks.blocking(found, who)] == [
        "overdue_items", "over_limit", "review_due"]


# -- at release and at invoicing ----------------------------------------------------------------

def _passing_order(db, who, lines=(("PAP-A4-80", 1),), key="r-1"):
    order = order_on_account(db, who, list(lines), key=key)
    assert order.active_holds == []
    return order


def test_release_checks_credit_and_holds_with_the_reason(db):
    who = company(db)
    order = _passing_order(db, who)
    who.credit_limit = Decimal("1.00")  # the limit was cut after the order was taken
    db.flush()
    result = credit_gates.release_orders(db, [order.id], actor=WAREHOUSE, overdue_days=30)
    assert result.released == []
    [(number, why)] = result.refused
    assert number == order.number and "credit hold" in why and "over the credit limit" in why
    assert order.status == "confirmed"
    [hold] = order.active_holds
    assert (hold.kind, hold.reason_code, hold.placed_by) == ("credit", "over_limit",
                                                             "credit check")


def test_release_of_an_order_within_its_credit_goes_ahead(db):
    who = company(db)
    order = _passing_order(db, who, key="r-2")
    result = credit_gates.release_orders(db, [order.id], actor=WAREHOUSE, overdue_days=30)
    assert result.released == [order] and order.status == "in_fulfilment"


def test_release_holds_for_a_review_that_fell_due_since_the_order(db):
    who = company(db)
    order = _passing_order(db, who, key="r-3")
    who.credit_review_on = clock.today() - dt.timedelta(days=1)
    result = credit_gates.release_orders(db, [order.id], actor=WAREHOUSE, overdue_days=30)
    assert result.released == [] and result.refused[0][0] == order.number
    assert order.active_holds[0].reason_code == "review_due" and order.status == "confirmed"


def test_a_released_credit_hold_is_the_credit_teams_decision(db):
    from core.orders import holds
    who = company(db)
    who.credit_limit = Decimal("1.00")
    order = order_on_account(db, who, [("PAP-A4-80", 1)], key="r-4")
    [hold] = order.active_holds
    holds.release_hold(db, hold, actor=CREDIT, roles=ROLES, note="Paid in advance")
    result = credit_gates.release_orders(db, [order.id], actor=WAREHOUSE, overdue_days=30)
    assert result.released == [order]


def test_a_card_order_is_never_checked_at_release(db):
    who = company(db)
    order = _passing_order(db, who, key="r-5")
    order.payment_method, order.payment_state = "card", "authorized"
    who.credit_limit = Decimal("1.00")
    db.flush()
    assert checks.check_at_release(db, order, overdue_days=30) is None


def test_at_invoicing_the_invoice_is_issued_and_the_rest_of_the_order_held(db):
    who = company(db)
    order = _passing_order(db, who, [("PAP-A4-80", 4)], key="i-1")
    fulfilment.release_order(db, order, actor=WAREHOUSE)
    # an invoice of another order fell 35 days overdue meanwhile
    other, _ = invoiced(db, who, [("PEN-G2-BLU", 1)], days_ago=65, key="i-2")
    checked = credit_gates.ship_order(db, None, order.id, {order.lines[0].id: 2},
                                      carrier="own", tracking_number="", actor=WAREHOUSE,
                                      commit=db.flush, overdue_days=30)
    assert checked.outcome.invoice.gross_total > 0  # goods left: invoiced
    assert order.status == "partially_shipped"
    assert checked.credit_hold.reason_code == "overdue_items"
    assert "Nothing more of it ships" in checked.credit_problem
    with pytest.raises(Exception, match="on hold"):
        fulfilment.ship_and_invoice(db, order, {order.lines[0].id: 2}, carrier="own",
                                    tracking_number="", actor=WAREHOUSE)


def test_at_invoicing_a_fully_shipped_order_gets_no_hold(db):
    who = company(db)
    order = _passing_order(db, who, [("PAP-A4-80", 2)], key="i-3")
    fulfilment.release_order(db, order, actor=WAREHOUSE)
    who.credit_limit = Decimal("1.00")
    db.flush()
    checked = credit_gates.ship_order(db, None, order.id, {order.lines[0].id: 2},
                                      carrier="own", tracking_number="", actor=WAREHOUSE,
                                      commit=db.flush, overdue_days=30)
    assert order.status == "shipped" and checked.credit_hold is None
    assert checked.outcome.invoice is not None


# -- exposure over time and the home's lists --------------------------------------------------

def test_month_ends():
    assert queries.month_ends(dt.date(2026, 3, 15), 3) == [
        dt.date(2025, 12, 31), dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 15)]


def test_exposure_over_time_follows_the_ledger_and_the_limit_then(db, connection):
    from core.billing.models import JournalEntry
    who = company(db)
    _, old = invoiced(db, who, [("PAP-A4-80", 2)], days_ago=0, key="t-1")
    _, new = invoiced(db, who, [("PEN-G2-BLU", 1)], days_ago=0, key="t-2")
    today = clock.today()
    two_months_ago = queries.month_ends(today)[-3]
    db.flush()
    db.execute(update(JournalEntry).where(JournalEntry.id == old.entry_id).values(
        posted_at=dt.datetime.combine(two_months_ago, dt.time(12), dt.timezone.utc)))
    change = limits.set_credit_limit(db, who, Decimal("3000"), actor=CREDIT, roles=ROLES,
                                     settings=SETTINGS)
    change.changed_at = dt.datetime.combine(two_months_ago + dt.timedelta(days=10),
                                            dt.time(), dt.timezone.utc)
    db.flush()
    with QueryCounter(connection) as counter:
        points = queries.exposure_over_time(db, who)
    assert counter.count == 2
    assert len(points) == 13 and points[-1].on == today
    assert points[-4].balance == 0 and points[-3].balance == old.gross_total
    assert points[-1].balance == old.gross_total + new.gross_total
    assert points[-3].limit == Decimal("1000.00")  # before the change
    assert points[-2].limit == points[-1].limit == Decimal("3000")
    chart = queries.chart(points)
    assert len(chart.bars) == 13 and chart.limit_path


def test_the_home_lists_reviews_holds_and_over_limit(db):
    who = company(db)
    who.credit_review_on = clock.today() + dt.timedelta(days=10)
    who.credit_limit = Decimal("5.00")
    order = order_on_account(db, who, [("PAP-A4-80", 2)], key="h-1")
    invoiced(db, who, [("PEN-G2-BLU", 1)], days_ago=1, key="h-2")
    far = company(db)
    far.credit_review_on = clock.today() + dt.timedelta(days=60)
    db.flush()
    reviews = queries.reviews_due(db, page=1, per_page=50)
    numbers = [r.number for r in reviews.items]
    assert who.number in numbers and far.number not in numbers
    held = queries.credit_holds(db, page=1, per_page=50)
    assert order.number in [h.order_number for h in held.items]
    over = {r.number: r for r in queries.over_limit(db, page=1, per_page=50).items}
    found = exposure(db, who)
    assert over[who.number].exposure == found.total
    assert over[who.number].over_by == found.total - Decimal("5.00")


def test_a_drop_shipped_parcel_is_invoiced_and_the_rest_of_the_order_held(db):
    from core.purchasing import services as purchasing
    who = company(db)
    who.credit_limit = None
    order = _passing_order(db, who, [("ACO-DIV-160", 2), ("PAP-A4-80", 1)], key="d-1")
    result = credit_gates.release_orders(db, [order.id], actor=WAREHOUSE, overdue_days=30)
    assert result.released == [order]
    [po] = purchasing.for_order(db, order.id)
    invoiced(db, who, [("PEN-G2-BLU", 1)], days_ago=65, key="d-2")  # 35 days overdue now
    checked = credit_gates.record_supplier_shipment(
        db, object(), po.number, {l.id: l.quantity for l in po.lines}, carrier="dhl",
        tracking_number="JD0141", actor=WAREHOUSE, commit=db.flush, overdue_days=30)
    assert checked.outcome.invoice.gross_total > 0
    assert order.status == "partially_shipped"
    assert checked.credit_hold.reason_code == "overdue_items"
