"""Collections: promises to pay (validation, kept and broken as the clock moves, the daily
review idempotent), calls, disputes and follow-up tasks through their transition tables, and
the risk score by hand and as the worklist ranks it in SQL."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from core import clock
from core.audit import AuditEvent
from core.credit import collections as coll
from core.credit import risk, worklist
from core.credit.models import PromiseToPay
from core.credit.states import IllegalCreditTransition, PromiseStatus
from core.errors import DomainError, NotFound
from core.tasks import celery_app
from tests.collections_support import CLERK, account_customer, overdue_invoice, pay
from tests.factories import AgentFactory


@pytest.fixture
def travel():
    """Move core.clock; back to real time after the test."""
    yield clock.travel
    clock.reset()


def days(n: int) -> dt.date:
    return clock.today() + dt.timedelta(days=n)


# -- promises to pay ------------------------------------------------------------------------

def test_a_promise_covers_all_overdue_invoices_by_default(db):
    c = account_customer(db, "Promise Default")
    a, b = overdue_invoice(db, c, "100.00", 10), overdue_invoice(db, c, "50.00", 3)
    overdue_invoice(db, c, "70.00", -5)  # not yet due
    promise = coll.promise_to_pay(db, c, amount=D("150.00"), promised_for=days(7), actor=CLERK,
                                  log_call=True, note="Pays Friday")
    assert {i.id for i in promise.invoices} == {a.id, b.id}
    assert promise.status == PromiseStatus.OPEN and promise.currency == "EUR"
    account = worklist.account(db, c)
    assert [v.promise.id for v in account.promises] == [promise.id]
    assert account.contacts[0].outcome == "promised" and account.contacts[0].promise_id == promise.id
    assert {i.invoice.id for i in account.items if i.promise} == {a.id, b.id}


@pytest.mark.parametrize("amount, when, field, message", [
    ("0", 5, "amount", "more than 0"),
    ("-3", 5, "amount", "more than 0"),
    ("10.005", 5, "amount", "whole cents"),
    ("150.01", 5, "amount", "at most that"),
    ("50.00", -1, "promised_for", "past"),
    ("50.00", 61, "promised_for", "at most 60 days ahead"),
    (None, 5, "amount", "Enter the amount"),
])
def test_a_promise_refuses_a_bad_amount_or_day_at_its_field(db, amount, when, field, message):
    c = account_customer(db, "Promise Bad")
    overdue_invoice(db, c, "150.00", 10)
    with pytest.raises(DomainError) as err:
        coll.promise_to_pay(db, c, amount=None if amount is None else D(amount),
                            promised_for=days(when), actor=CLERK)
    assert err.value.field == field and message in str(err.value)
    assert db.scalar(select(func.count()).select_from(PromiseToPay)
                     .where(PromiseToPay.customer_id == c.id)) == 0


def test_sixty_days_ahead_is_the_latest_day_and_today_the_earliest(db):
    c = account_customer(db, "Promise Edges")
    overdue_invoice(db, c, "150.00", 10)
    coll.promise_to_pay(db, c, amount=D("10"), promised_for=days(60), actor=CLERK)
    coll.promise_to_pay(db, c, amount=D("10"), promised_for=days(0), actor=CLERK)


def test_a_promise_covers_only_the_customers_own_open_invoices(db):
    c, other = account_customer(db, "Promise Own"), account_customer(db, "Promise Other")
    mine = overdue_invoice(db, c, "100.00", 10)
    theirs = overdue_invoice(db, other, "100.00", 10)
    with pytest.raises(DomainError) as err:
        coll.promise_to_pay(db, c, amount=D("10"), promised_for=days(3),
                            invoices=[mine.id, theirs.id], actor=CLERK)
    assert err.value.field == "invoices"
    with pytest.raises(DomainError, match="Nothing is overdue"):
        coll.promise_to_pay(db, other, amount=D("10"), promised_for=days(3), actor=CLERK,
                            invoices=None) if pay(db, theirs, "100.00") else None
    chosen = coll.promise_to_pay(db, c, amount=D("100.00"), promised_for=days(3),
                                 invoices=[mine.id], actor=CLERK)
    assert [i.number for i in chosen.invoices] == [mine.number]


def test_a_promise_is_broken_the_day_after_its_day_passes_short(db, travel):
    c = account_customer(db, "Promise Broken")
    invoice = overdue_invoice(db, c, "200.00", 20)
    promise = coll.promise_to_pay(db, c, amount=D("150.00"), promised_for=days(3), actor=CLERK)
    pay(db, invoice, "100.00")  # short of 150
    paid = coll.paid_towards(db, [promise.id])[promise.id]
    assert paid == D("100.00")
    travel(days=3)  # its day: still open
    assert coll.promise_state(promise, paid, clock.today()) == PromiseStatus.OPEN
    assert coll.review_promises(db)["broken"] == 0 and promise.status == "open"
    travel(days=1)  # the day after
    assert coll.promise_state(promise, paid, clock.today()) == PromiseStatus.BROKEN
    assert worklist.account(db, c).broken[0].promise.id == promise.id  # before the review ran
    coll.review_promises(db)
    assert promise.status == PromiseStatus.BROKEN
    assert promise.settled_on == promise.promised_for + dt.timedelta(days=1)


def test_a_promise_is_kept_when_payments_since_it_was_made_reach_its_amount(db, travel):
    c = account_customer(db, "Promise Kept")
    a, b = overdue_invoice(db, c, "100.00", 20), overdue_invoice(db, c, "80.00", 5)
    pay(db, a, "30.00")  # before the promise: does not count
    promise = coll.promise_to_pay(db, c, amount=D("120.00"), promised_for=days(5), actor=CLERK)
    pay(db, a, "70.00")
    assert coll.review_promises(db)["open"] >= 1 and promise.status == "open"  # 70 < 120
    pay(db, b, "50.00")
    travel(days=30)  # even long after its day: kept, because paid
    assert coll.review_promises(db)["kept"] == 1
    assert promise.status == PromiseStatus.KEPT and promise.settled_on == clock.today()


def test_the_daily_review_is_idempotent(db, travel):
    c = account_customer(db, "Promise Review")
    overdue_invoice(db, c, "100.00", 10)
    promise = coll.promise_to_pay(db, c, amount=D("100.00"), promised_for=days(1), actor=CLERK)
    travel(days=2)
    first = coll.review_promises(db)
    events = db.scalar(select(func.count()).select_from(AuditEvent)
                       .where(AuditEvent.action == "collections.promise_broken"))
    second = coll.review_promises(db)
    assert first["broken"] >= 1 and second["broken"] == 0
    assert promise.status == "broken"
    assert db.scalar(select(func.count()).select_from(AuditEvent)
                     .where(AuditEvent.action == "collections.promise_broken")) == events


def test_the_review_runs_daily_on_celery_beat():
    entry = next(e for e in celery_app.conf.beat_schedule.values()
                 if e["task"] == "marketline.review_promises")
    assert entry["schedule"] == 86400.0
    import core.credit.promise_tasks  # noqa: F401 (registers the task)
    assert "marketline.review_promises" in celery_app.tasks


def test_a_settled_promise_cannot_be_withdrawn(db):
    c = account_customer(db, "Promise Cancel")
    overdue_invoice(db, c, "100.00", 10)
    promise = coll.promise_to_pay(db, c, amount=D("100.00"), promised_for=days(1), actor=CLERK)
    coll.cancel_promise(db, promise, actor=CLERK, reason="Recorded twice")
    assert promise.status == PromiseStatus.CANCELLED
    with pytest.raises(IllegalCreditTransition):
        coll.cancel_promise(db, promise, actor=CLERK)


# -- calls, disputes, tasks -----------------------------------------------------------------

def test_a_call_needs_a_known_outcome_and_channel(db):
    c = account_customer(db, "Caller")
    with pytest.raises(DomainError) as err:
        coll.record_call(db, c, outcome="shouted", actor=CLERK)
    assert err.value.field == "outcome"
    with pytest.raises(DomainError):
        coll.record_call(db, c, outcome="reached", channel="pigeon", actor=CLERK)
    contact = coll.record_call(db, c, outcome="no_answer", note="Rang twice", actor=CLERK)
    assert contact.id and contact.by == CLERK.label
    assert db.scalar(select(AuditEvent.action).where(
        AuditEvent.action == "collections.call", AuditEvent.subject_id == str(c.id)))


def test_a_dispute_is_opened_assigned_and_resolved_once(db):
    c = account_customer(db, "Disputer")
    invoice = overdue_invoice(db, c, "300.00", 15)
    billing = AgentFactory(roles_text="billing")
    warehouse = AgentFactory(roles_text="warehouse")
    with pytest.raises(DomainError) as err:
        coll.open_dispute(db, invoice, reason="", actor=CLERK)
    assert err.value.field == "reason"
    with pytest.raises(DomainError) as err:
        coll.open_dispute(db, invoice, reason="Wrong rate", assign_to=warehouse.id, actor=CLERK)
    assert err.value.field == "assign_to"
    with pytest.raises(DomainError) as err:
        coll.open_dispute(db, invoice, reason="Wrong rate", amount=D("300.01"), actor=CLERK)
    assert err.value.field == "amount"
    dispute = coll.open_dispute(db, invoice, reason="Wrong rate", amount=D("120.00"),
                                actor=CLERK)
    with pytest.raises(DomainError, match="already under dispute"):
        coll.open_dispute(db, invoice, reason="Again", actor=CLERK)
    coll.assign_dispute(db, dispute, agent_id=billing.id, actor=CLERK)
    assert dispute.assigned_to_id == billing.id
    account = worklist.account(db, c)
    assert account.items[0].dispute.id == dispute.id and account.row.disputes == 1
    assert any("1 open dispute" in p.reason and p.points == 0 for p in account.row.risk.parts)
    with pytest.raises(DomainError) as err:
        coll.resolve_dispute(db, dispute, resolution=" ", actor=CLERK)
    assert err.value.field == "resolution"
    coll.resolve_dispute(db, dispute, resolution="Rate confirmed; customer pays", actor=CLERK)
    assert dispute.status == "resolved" and dispute.resolved_by == CLERK.label
    with pytest.raises(IllegalCreditTransition):
        coll.resolve_dispute(db, dispute, resolution="Again", actor=CLERK)
    with pytest.raises(DomainError):
        coll.assign_dispute(db, dispute, agent_id=billing.id, actor=CLERK)
    coll.open_dispute(db, invoice, reason="New objection", actor=CLERK)  # a new one may open


def test_a_follow_up_is_due_today_or_later_for_someone_who_collects(db):
    c = account_customer(db, "Follow Up")
    credit = AgentFactory(roles_text="credit")
    with pytest.raises(DomainError) as err:
        coll.add_task(db, c, agent_id=credit.id, due_on=days(-1), note="Call", actor=CLERK)
    assert err.value.field == "due_on"
    with pytest.raises(DomainError) as err:
        coll.add_task(db, c, agent_id=AgentFactory(roles_text="catalog").id, due_on=days(1),
                      note="Call", actor=CLERK)
    assert err.value.field == "agent"
    with pytest.raises(DomainError) as err:
        coll.add_task(db, c, agent_id=credit.id, due_on=days(1), note="", actor=CLERK)
    assert err.value.field == "note"
    task = coll.add_task(db, c, agent_id=credit.id, due_on=days(1), note="Call back",
                         actor=CLERK)
    later = coll.add_task(db, c, agent_id=credit.id, due_on=days(9), note="Check", actor=CLERK)
    mine = worklist.my_tasks(db, credit.id)
    assert [t.id for t, _ in mine.items] == [task.id, later.id]
    coll.complete_task(db, task, actor=CLERK)
    assert task.status == "done" and task.done_by == CLERK.label
    with pytest.raises(IllegalCreditTransition):
        coll.cancel_task(db, task, actor=CLERK)
    coll.cancel_task(db, later, actor=CLERK)
    assert worklist.my_tasks(db, credit.id).items == []


def test_look_ups_are_scoped_to_the_customer(db):
    c, other = account_customer(db, "Scope One"), account_customer(db, "Scope Two")
    overdue_invoice(db, other, "100.00", 10)
    promise = coll.promise_to_pay(db, other, amount=D("10"), promised_for=days(2), actor=CLERK)
    with pytest.raises(NotFound):
        coll.promise_of(db, c, promise.id)
    assert coll.promise_of(db, other, promise.id) is promise
    with pytest.raises(NotFound):
        coll.customer_numbered(db, "C-999999")


# -- the risk score -------------------------------------------------------------------------

def test_the_risk_score_adds_its_parts_by_hand():
    found = risk.explain(days=38, amount=D("1500.00"), currency="EUR", late_days=20, paid=2,
                         broken=1, disputes=2)
    assert [p.points for p in found.parts] == [12, 15, 5, 10, 0]
    assert found.score == 42
    assert [p.reason for p in found.parts] == [
        "Oldest item 38 days overdue", "1,500.00 EUR overdue",
        "Pays 10 days late on average (2 invoices paid)",
        "1 broken promise to pay in 12 months", "2 open disputes (no points)"]


@pytest.mark.parametrize("days_, amount, late, paid, broken, expected", [
    (2, "99.99", 0, 0, 0, [0, 0, 0, 0]),
    (3, "100", 1, 1, 0, [1, 5, 0, 0]),
    (119, "299.99", 3, 1, 0, [39, 5, 1, 0]),
    (120, "300", 80, 2, 1, [40, 10, 20, 10]),
    (900, "10000", 999, 1, 5, [40, 25, 20, 20]),
])
def test_each_part_has_its_ceiling(days_, amount, late, paid, broken, expected):
    found = risk.explain(days=days_, amount=D(amount), currency="EUR", late_days=late,
                         paid=paid, broken=broken)
    assert [p.points for p in found.parts] == expected
    assert found.score == min(100, sum(expected))


def test_the_worklist_ranks_every_account_by_the_same_score_in_sql(db, travel):
    old = account_customer(db, "Rank Old")  # 100 days, small
    overdue_invoice(db, old, "50.00", 100)
    big = account_customer(db, "Rank Big")  # 10 days, large
    overdue_invoice(db, big, "20000.00", 10)
    late = account_customer(db, "Rank Late")  # pays late, 31 days overdue
    paid_late = overdue_invoice(db, late, "500.00", 60)
    pay(db, paid_late, "500.00", received_on=clock.today() - dt.timedelta(days=20))  # 40 late
    overdue_invoice(db, late, "500.00", 31)
    broke = account_customer(db, "Rank Broke")
    overdue_invoice(db, broke, "500.00", 12)
    coll.promise_to_pay(db, broke, amount=D("100"), promised_for=days(1), actor=CLERK)
    coll.promise_to_pay(db, broke, amount=D("100"), promised_for=days(2), actor=CLERK)
    travel(days=3)  # both broken (not yet reviewed); every account 3 days older
    found = worklist.worklist(db, worklist.Filters(query="Rank "), per_page=2)
    page2 = worklist.worklist(db, worklist.Filters(query="Rank "), page=2, per_page=2)
    rows = found.items + page2.items
    assert found.total == 4
    assert [r.name for r in rows] == ["Rank Late", "Rank Broke", "Rank Old", "Rank Big"]  # 41 35 34 29
    assert [r.rank for r in rows] == [1, 2, 3, 4]
    assert all(r.sql_score == r.score for r in rows)
    by_name = {r.name: r for r in rows}
    assert [p.points for p in by_name["Rank Old"].risk.parts] == [34, 0, 0, 0]
    assert [p.points for p in by_name["Rank Big"].risk.parts] == [4, 25, 0, 0]
    assert [p.points for p in by_name["Rank Late"].risk.parts] == [11, 10, 20, 0]
    assert [p.points for p in by_name["Rank Broke"].risk.parts] == [5, 10, 0, 20]
    assert by_name["Rank Broke"].broken_promises == 2


def test_the_worklist_filters_by_days_name_number_and_my_follow_ups(db):
    a = account_customer(db, "Filter Alpha")
    overdue_invoice(db, a, "50.00", 40)
    b = account_customer(db, "Filter Beta")
    overdue_invoice(db, b, "50.00", 5)
    credit = AgentFactory(roles_text="credit")
    coll.add_task(db, b, agent_id=credit.id, due_on=days(0), note="Call", actor=CLERK)
    names = lambda f: [r.name for r in worklist.worklist(db, f).items]  # noqa: E731
    assert names(worklist.Filters(query="Filter ", min_days=30)) == ["Filter Alpha"]
    assert names(worklist.Filters(query=b.number.lower())) == ["Filter Beta"]
    assert names(worklist.Filters(mine=credit.id)) == ["Filter Beta"]
    row = worklist.worklist(db, worklist.Filters(mine=credit.id)).items[0]
    assert row.next_task == days(0)


# -- the demo -------------------------------------------------------------------------------

def test_the_demo_has_a_promise_a_broken_one_a_dispute_and_a_follow_up(db):
    from core.agents.models import Agent
    from core.credit.models import CollectionTask, Dispute
    from core.customers.models import Customer
    birch = db.scalar(select(Customer).where(Customer.name.like("Birch%")))
    acme = db.scalar(select(Customer).where(Customer.name == "Acme Corp"))
    billing = db.scalar(select(Agent).where(Agent.email == "billing@marketline.example"))
    birch_account, acme_account = worklist.account(db, birch), worklist.account(db, acme)
    (promise,) = [v for v in birch_account.promises if v.state == PromiseStatus.OPEN]
    assert promise.promise.promised_for == days(7)
    assert birch_account.contacts[0].outcome == "promised"
    assert all(i.promise for i in birch_account.items if i.days)  # covers what is overdue
    assert [v.state for v in acme_account.promises] == [PromiseStatus.BROKEN]
    assert acme_account.row.broken_promises == 1
    dispute = db.scalar(select(Dispute).where(Dispute.customer_id == acme.id))
    assert dispute.status == "open" and dispute.assigned_to_id == billing.id
    task = db.scalar(select(CollectionTask).where(CollectionTask.agent_id == billing.id))
    assert task.due_on == days(1) and task.customer_id == birch.id


def test_dunning_leaves_disputed_and_promised_invoices_alone(db, travel):
    c = account_customer(db, "Paused")
    disputed, promised, plain = (overdue_invoice(db, c, "100.00", 20) for _ in range(3))
    coll.open_dispute(db, disputed, reason="Quality", actor=CLERK)
    coll.promise_to_pay(db, c, amount=D("100"), promised_for=days(2), invoices=[promised.id],
                        actor=CLERK)
    ids = [disputed.id, promised.id, plain.id]
    assert coll.paused_invoices(db, invoice_ids=ids) == {disputed.id: "dispute",
                                                         promised.id: "promise"}
    travel(days=3)  # the promise broke: dunning resumes for it
    assert coll.paused_invoices(db, invoice_ids=ids) == {disputed.id: "dispute"}


# -- one promise per form, one open dispute per invoice ------------------------------------

def test_a_promise_form_submitted_twice_makes_one_promise_and_one_call(db):
    from core.credit.models import CollectionContact
    c = account_customer(db, "Promise Twice")
    overdue_invoice(db, c, "100.00", 10)
    first = coll.promise_to_pay(db, c, amount=D("60.00"), promised_for=days(5), actor=CLERK,
                                log_call=True, key="a" * 32)
    again = coll.promise_to_pay(db, c, amount=D("70.00"), promised_for=days(6), actor=CLERK,
                                log_call=True, key="a" * 32)
    assert again is first and first.key == "a" * 32 and first.amount == D("60.00")
    assert db.scalar(select(func.count()).select_from(PromiseToPay)
                     .where(PromiseToPay.customer_id == c.id)) == 1
    assert db.scalar(select(func.count()).select_from(CollectionContact)
                     .where(CollectionContact.customer_id == c.id)) == 1
    other = coll.promise_to_pay(db, c, amount=D("10.00"), promised_for=days(5), actor=CLERK,
                                key="b" * 32)  # another page: another promise
    assert other is not first
    stranger = account_customer(db, "Promise Stranger")
    overdue_invoice(db, stranger, "100.00", 10)
    with pytest.raises(DomainError, match="already used"):  # never someone else's promise
        coll.promise_to_pay(db, stranger, amount=D("10.00"), promised_for=days(5),
                            actor=CLERK, key="a" * 32)


def test_two_submits_racing_with_one_key_give_the_first_promise(db, monkeypatch):
    """The loser's look-up ran before the winner's insert was there: its insert fails on
    the unique key, in a savepoint, and it answers with the winner's promise."""
    c = account_customer(db, "Promise Race")
    overdue_invoice(db, c, "100.00", 10)
    first = coll.promise_to_pay(db, c, amount=D("60.00"), promised_for=days(5), actor=CLERK,
                                key="c" * 32)
    looked = []
    real = coll._promise_keyed

    def late_look(session, customer, key):
        looked.append(key)
        return None if len(looked) == 1 else real(session, customer, key)

    monkeypatch.setattr(coll, "_promise_keyed", late_look)
    again = coll.promise_to_pay(db, c, amount=D("60.00"), promised_for=days(5), actor=CLERK,
                                key="c" * 32, log_call=True)
    assert again is first and len(looked) == 2
    assert db.scalar(select(func.count()).select_from(PromiseToPay)
                     .where(PromiseToPay.customer_id == c.id)) == 1
    assert coll.record_call(db, c, outcome="reached", actor=CLERK).id  # the session goes on


def test_a_second_open_dispute_is_refused_even_when_the_check_is_raced(db, monkeypatch):
    c = account_customer(db, "Dispute Race")
    invoice = overdue_invoice(db, c, "100.00", 10)
    first = coll.open_dispute(db, invoice, reason="Damaged", actor=CLERK)
    with pytest.raises(DomainError, match="already under dispute") as err:
        coll.open_dispute(db, invoice, reason="Again", actor=CLERK)
    assert err.value.field == "invoice"
    # as if a dispute opened at the same time had not been there for the check: the index
    monkeypatch.setattr(coll, "open_dispute_on", lambda session, invoice_id: None)
    with pytest.raises(DomainError, match="already under dispute") as err:
        coll.open_dispute(db, invoice, reason="At once", actor=CLERK)
    assert err.value.field == "invoice"
    from core.credit.models import Dispute
    assert db.scalars(select(Dispute.id).where(Dispute.invoice_id == invoice.id)).all() == [
        first.id]
    coll.resolve_dispute(db, first, resolution="Replaced", actor=CLERK)  # the session goes on
    assert coll.open_dispute(db, invoice, reason="New", actor=CLERK).id != first.id


# -- the worklist counts the customer's own currency -----------------------------------------

def test_the_worklist_sums_only_invoices_in_the_customers_currency(db):
    from core.billing import invoicing
    c = account_customer(db, "Currency Mix")
    overdue_invoice(db, c, "100.00", 10)
    invoicing.issue_free_text(  # 50 days overdue, but in dollars
        db, customer=c, actor=CLERK, terms="net30", currency="USD",
        today=clock.today() - dt.timedelta(days=80),
        lines=[invoicing.FreeTextLine("Consulting", 1, D("5000.00"), D(0))])
    [row] = worklist.worklist(db, worklist.Filters(query="Currency Mix")).items
    assert (row.overdue, row.currency, row.days, row.items) == (D("100.00"), "EUR", 10, 1)
    assert worklist.account(db, c).row.overdue == D("100.00")
    assert len(worklist.account(db, c).items) == 2  # the page still lists the dollar invoice
    dollars_only = account_customer(db, "Currency Dollars")
    invoicing.issue_free_text(
        db, customer=dollars_only, actor=CLERK, terms="net30", currency="USD",
        today=clock.today() - dt.timedelta(days=80),
        lines=[invoicing.FreeTextLine("Consulting", 1, D("50.00"), D(0))])
    assert worklist.worklist(db, worklist.Filters(query="Currency Dollars")).items == []


# -- paid means paid by payments, the same for the score and the credit page ------------------

def test_payment_history_counts_payments_on_their_day_received_not_credit_notes(db):
    from core.billing import receivables
    from core.credit.behaviour import payment_behaviour
    c = account_customer(db, "History Mix")
    late = overdue_invoice(db, c, "100.00", 30)  # due 30 days ago
    pay(db, late, "100.00", received_on=clock.today() - dt.timedelta(days=10))  # 20 late
    written = overdue_invoice(db, c, "80.00", 25)
    receivables.write_off(db, written, D("80.00"), limit=D("100.00"), reason="Small balance",
                          actor=CLERK)  # settled, but not paid
    overdue_invoice(db, c, "10.00", 5)  # keeps the account on the worklist
    [row] = worklist.worklist(db, worklist.Filters(query="History Mix")).items
    found = payment_behaviour(db, [c.id])[c.id]
    assert found.paid_count == 1 and found.days_beyond_terms == D("20.0")
    assert found.days_to_pay == D("50.0")  # issued 60 days ago, money in 10 days ago
    assert row.risk.parts[2].reason == "Pays 20 days late on average (1 invoice paid)"
    assert row.risk.parts[2].points == 10 == row.sql_score - row.risk.parts[0].points \
        - row.risk.parts[1].points - row.risk.parts[3].points


# -- the demo keeps an outer clock offset --------------------------------------------------------

def test_the_demos_broken_promise_moves_the_clock_back_and_forth_never_resets_it(db, travel):
    from core.demo import collections as demo
    c = account_customer(db, "Demo Clock")
    overdue_invoice(db, c, "300.00", 40)
    travel(days=3)  # an offset the demo did not set (flask clock, a test)
    demo._broken_promise(db, c, CLERK)
    assert clock.offset_days() == 3
    [view] = worklist.account(db, c).promises
    assert view.state == PromiseStatus.BROKEN and view.promise.status == PromiseStatus.BROKEN
    assert clock.business_date(view.promise.made_at) == clock.today() - dt.timedelta(days=demo.AGO)
    assert view.promise.promised_for == clock.today() - dt.timedelta(days=demo.AGO - 3)
