"""Holds: reason codes, who may release which kind, the fulfilment guard, the worklist."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from core.audit import Actor, AuditEvent
from core.orders import holds
from core.orders.holds import HoldError, HoldFilters, HoldNotAllowed, OrderOnHold
from tests.unit.test_orders import place, vid

AGENT = Actor("agent", 1, "alex@marketline.example")
SUPERVISOR = Actor("agent", 2, "sue@marketline.example")


@pytest.fixture
def order(db):
    return place(db, [(vid(db, "PAP-A4-80"), 1)], key="holds-1")


def test_placing_a_hold_records_it_and_audits_kind_reason_and_note(db, order):
    hold = holds.place_hold(db, order, kind="manual", reason_code="address_check",
                            note="Street number missing", actor=AGENT)
    assert order.on_hold and hold.placed_by == AGENT.label
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "order.hold_placed",
                                               AuditEvent.subject_id == str(order.id)))
    assert event.actor_label == AGENT.label
    assert event.data == {"hold": hold.id, "kind": "manual", "reason": "address_check",
                          "note": "Street number missing"}


def test_a_reason_must_fit_the_kind_of_hold(db, order):
    with pytest.raises(HoldError, match="fits a credit hold|fit a credit hold") as err:
        holds.place_hold(db, order, kind="credit", reason_code="address_check", note="",
                         actor=AGENT)
    assert err.value.field == "reason_code"
    with pytest.raises(HoldError):
        holds.place_hold(db, order, kind="whim", reason_code="other", note="", actor=AGENT)


def test_the_same_hold_twice_is_refused_and_a_cancelled_order_cannot_be_held(db, order):
    holds.place_hold(db, order, kind="manual", reason_code="other", note="", actor=AGENT)
    with pytest.raises(HoldError, match="already on hold"):
        holds.place_hold(db, order, kind="manual", reason_code="other", note="", actor=AGENT)
    order.status = "cancelled"
    with pytest.raises(HoldError, match="can no longer be held"):
        holds.place_hold(db, order, kind="credit", reason_code="over_limit", note="", actor=AGENT)


@pytest.mark.parametrize("kind, reason, roles, allowed", [
    ("manual", "other", {"agent"}, True),
    ("manual", "other", {"credit"}, True),
    ("approval", "spending_limit", {"agent"}, False),
    ("approval", "spending_limit", {"agent", "supervisor"}, True),
    ("approval", "spending_limit", {"admin"}, True),
    ("payment_review", "fraud_check", {"agent"}, False),
    ("payment_review", "fraud_check", {"credit"}, False),
    ("payment_review", "fraud_check", {"supervisor"}, True),
    ("credit", "over_limit", {"agent"}, False),
    ("credit", "over_limit", {"agent", "supervisor"}, True),
    ("credit", "over_limit", {"credit"}, True),
    ("credit", "over_limit", {"admin"}, True),
])
def test_who_may_release_which_hold(db, order, kind, reason, roles, allowed):
    hold = holds.place_hold(db, order, kind=kind, reason_code=reason, note="", actor=SUPERVISOR)
    if allowed:
        holds.release_hold(db, hold, actor=AGENT, note="checked", roles=roles)
        assert hold.released_at is not None and hold.released_by == AGENT.label
        assert not order.on_hold
    else:
        with pytest.raises(HoldNotAllowed, match="Only an agent with the"):
            holds.release_hold(db, hold, actor=AGENT, note="", roles=roles)
        assert hold.released_at is None and order.on_hold


def test_releasing_is_audited_with_agent_and_reason(db, order):
    hold = holds.place_hold(db, order, kind="approval", reason_code="large_order", note="",
                            actor=AGENT)
    holds.release_hold(db, hold, actor=SUPERVISOR, note="Approved by phone",
                       roles={"supervisor"})
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "order.hold_released",
                                               AuditEvent.subject_id == str(order.id)))
    assert event.actor_label == SUPERVISOR.label
    assert event.data == {"hold": hold.id, "kind": "approval", "reason": "large_order",
                          "note": "Approved by phone"}


def test_a_hold_is_released_once_and_the_system_may_release_any(db, order):
    hold = holds.place_hold(db, order, kind="credit", reason_code="over_limit", note="",
                            actor=Actor.system("credit"))
    holds.release_hold(db, hold, actor=Actor.system("credit"), note="paid")
    with pytest.raises(HoldError, match="already released"):
        holds.release_hold(db, hold, actor=SUPERVISOR, note="", roles={"admin"})


def test_a_held_order_cannot_go_to_fulfilment_and_the_error_names_the_holds(db, order):
    holds.assert_releasable(order)  # no hold: fine
    credit = holds.place_hold(db, order, kind="credit", reason_code="over_limit", note="",
                              actor=AGENT)
    holds.place_hold(db, order, kind="approval", reason_code="spending_limit", note="",
                     actor=AGENT)
    with pytest.raises(OrderOnHold) as err:
        holds.assert_releasable(order)
    assert "Credit: Over the credit limit" in str(err.value)
    assert "Approval: Above the buyer's spending limit" in str(err.value)
    assert order.number in str(err.value)
    holds.release_hold(db, credit, actor=AGENT, note="", roles={"credit"})
    with pytest.raises(OrderOnHold, match="Approval") as err:
        holds.assert_releasable(order)
    assert "Credit" not in str(err.value)


def test_the_worklist_filters_by_kind_reason_age_and_who_placed(db):
    paper = vid(db, "PAP-A4-80")
    first, second = place(db, [(paper, 1)], key="wl-1"), place(db, [(paper, 1)], key="wl-2")
    old = holds.place_hold(db, first, kind="credit", reason_code="over_limit", note="",
                           actor=AGENT)
    old.placed_at = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    holds.place_hold(db, second, kind="manual", reason_code="other", note="", actor=SUPERVISOR)
    released = holds.place_hold(db, second, kind="manual", reason_code="stock_check", note="",
                                actor=AGENT)
    holds.release_hold(db, released, actor=AGENT, note="", roles={"agent"})
    db.flush()

    def numbers(**filters):
        found = holds.worklist(db, HoldFilters(**filters))
        return sorted(r.order.number for r in found.items
                      if r.order.number in (first.number, second.number))

    assert numbers() == sorted([first.number, second.number])  # the released one is gone
    assert numbers(kind="credit") == [first.number]
    assert numbers(reason="other") == [second.number]
    assert numbers(placed_before=dt.date(2021, 1, 1)) == [first.number]
    assert numbers(placed_by=SUPERVISOR.label) == [second.number]
    assert SUPERVISOR.label in holds.hold_placers(db)


def test_a_supervisor_cannot_approve_their_own_discount(db):
    from core.audit import Actor
    from core.orders import holds
    from tests.unit.test_orders import place, vid
    order = place(db, [(vid(db, "PAP-A4-80"), 1)], key="self-approval")
    me = Actor("agent", 2, "supervisor@marketline.example")
    hold = holds.place_hold(db, order, kind="approval", reason_code="discount_over_limit",
                            note="25 %", actor=me)
    with pytest.raises(holds.HoldNotAllowed, match="another supervisor"):
        holds.release_hold(db, hold, actor=me, note="ok", roles={"supervisor"})
    other = Actor("agent", 3, "boss@marketline.example")
    assert holds.release_hold(db, hold, actor=other, note="ok", roles={"supervisor"}).released_at


def test_a_manual_hold_releases_itself_on_its_until_day_and_no_other_kind_does(db):
    from core import clock
    paper, today = vid(db, "PAP-A4-80"), clock.today()
    due, later, credit, gone = (place(db, [(paper, 1)], key=f"until-{n}") for n in range(4))
    wait = holds.place_hold(db, due, kind="manual", reason_code="customer_request", note="",
                            actor=AGENT, until=today)
    tomorrow = holds.place_hold(db, later, kind="manual", reason_code="stock_check", note="",
                                actor=AGENT, until=today + dt.timedelta(days=1))
    limit = holds.place_hold(db, credit, kind="credit", reason_code="over_limit", note="",
                             actor=AGENT, until=today)
    approval = holds.place_hold(db, credit, kind="approval", reason_code="large_order",
                                note="", actor=AGENT, until=today)
    by_hand = holds.place_hold(db, gone, kind="manual", reason_code="other", note="",
                               actor=AGENT, until=today)
    holds.release_hold(db, by_hand, actor=AGENT, note="checked", roles={"agent"})

    assert holds.release_due_holds(db) == 1
    assert wait.released_at is not None and not due.on_hold
    holds.assert_releasable(due)  # the warehouse may have it now
    assert [h.released_at for h in (tomorrow, limit, approval)] == [None, None, None]
    assert (by_hand.released_by, by_hand.release_note) == (AGENT.label, "checked")
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "order.hold_released",
                                               AuditEvent.subject_id == str(due.id)))
    assert (event.actor_kind, event.data["note"]) == ("system", holds.UNTIL_DAY_NOTE)
    # idempotent: a second run finds nothing, records nothing
    events = db.scalar(select(func.count()).select_from(AuditEvent))
    assert holds.release_due_holds(db) == 0
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == events
    assert holds.release_due_holds(db, today=today + dt.timedelta(days=1)) == 1
    assert tomorrow.released_at is not None and limit.released_at is None
