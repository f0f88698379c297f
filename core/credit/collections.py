"""Collections: the collector's calls, promises to pay, disputes and follow-up tasks.

Services flush and never commit; every change is audited (core.audit) and every status
moves through core.credit.states. "Today" is core.clock's, so tests can move time.

A promise to pay is **kept** once the payments allocated to its invoices since it was made
(allocations of kind payment or credit_note: money received, a credit note, customer
credit) reach its amount; it is **broken** the day after its date passes short. The daily
task (`review_promises`, Celery beat) settles open promises; until it has run, every page
judges a promise by `promise_state`, so a broken promise shows the day after whatever the
task did.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit, clock
from core.agents.models import Agent
from core.audit import Actor, Entry
from core.billing.models import Allocation, Invoice
from core.credit.models import (CollectionContact, CollectionTask, Dispute, PromiseToPay,
                                promise_invoices)
from core.credit.states import (DisputeStatus, PromiseStatus, TaskStatus, move_dispute,
                                move_promise, move_task)
from core.customers.models import Customer
from core.errors import InvalidInput, NotFound

CHANNEL = "console"
OUTCOMES = {"reached": "Reached", "no_answer": "No answer", "left_message": "Left a message",
            "wrong_number": "Wrong number", "promised": "Promised to pay",
            "disputed": "Disputed", "refused": "Refused to pay"}
CONTACT_CHANNELS = {"phone": "Phone", "email": "E-mail", "letter": "Letter", "visit": "Visit"}
PROMISE_DAYS_AHEAD = 60
# Allocations that count towards a promise: money in, a credit note, customer credit.
PAYING_KINDS = ("payment", "credit_note")
DISPUTE_ROLES = ("credit", "billing")
TASK_ROLES = ("credit", "billing", "supervisor")
CENT = Decimal("0.01")
ZERO = Decimal(0)


class CollectionsError(InvalidInput):
    code = "collections"


# --- look-ups (404 for what is not there, or not this customer's) -------------------------

def customer_numbered(session: Session, number: str) -> Customer:
    found = session.scalar(select(Customer).where(Customer.number == (number or "")[:20]))
    if found is None:
        raise NotFound("No such customer.")
    return found


def _owned(session: Session, model, record_id: int, customer: Customer):
    found = session.get(model, record_id) if 0 < record_id < 2**31 else None
    if found is None or found.customer_id != customer.id:
        raise NotFound("Not found.")
    return found


def promise_of(session: Session, customer: Customer, promise_id: int) -> PromiseToPay:
    return _owned(session, PromiseToPay, promise_id, customer)


def dispute_of(session: Session, customer: Customer, dispute_id: int) -> Dispute:
    return _owned(session, Dispute, dispute_id, customer)


def task_of(session: Session, customer: Customer, task_id: int) -> CollectionTask:
    return _owned(session, CollectionTask, task_id, customer)


def open_invoices(session: Session, customer: Customer) -> list[Invoice]:
    """The customer's invoices with money open, the oldest due first."""
    return list(session.scalars(
        select(Invoice).where(Invoice.customer_id == customer.id, Invoice.kind == "invoice",
                              Invoice.amount_open > 0)
        .order_by(Invoice.due_date, Invoice.id)))


def assignable_agents(session: Session, roles: Sequence[str] = TASK_ROLES) -> list[Agent]:
    """Active agents holding one of `roles` (admin holds them all), by name."""
    agents = session.scalars(select(Agent).where(Agent.active).order_by(Agent.full_name))
    return [a for a in agents if a.has_role(*roles)]


def _entry(session: Session, action: str, actor: Actor, **data) -> Entry:
    return Entry(session, action, actor, CHANNEL, data or None)


def _text(value: str | None, *, field: str, limit: int, required: str | None = None) -> str:
    value = (value or "").strip()
    if required and not value:
        raise CollectionsError(required, field=field)
    if len(value) > limit:
        raise CollectionsError(f"Keep it to {limit} characters.", field=field)
    return value


# --- calls -------------------------------------------------------------------------------

def record_call(session: Session, customer: Customer, *, outcome: str, note: str = "",
                channel: str = "phone", actor: Actor,
                promise: PromiseToPay | None = None) -> CollectionContact:
    """Log a contact with the customer about what they owe, and how it went."""
    if outcome not in OUTCOMES:
        raise CollectionsError("Choose how the call went.", field="outcome")
    if channel not in CONTACT_CHANNELS:
        raise CollectionsError("Choose phone, e-mail, letter or visit.", field="channel")
    contact = CollectionContact(
        customer_id=customer.id, channel=channel, outcome=outcome,
        note=_text(note, field="note", limit=1000), promise_id=promise.id if promise else None,
        by=actor.label, by_id=actor.id, at=clock.now())
    session.add(contact)
    session.flush()
    audit.record(session, "collections.call", actor=actor, channel=CHANNEL, subject=customer,
                 data={"outcome": outcome, "channel": channel, "contact": contact.id})
    return contact


# --- promises to pay ---------------------------------------------------------------------

def _promise_invoices(session: Session, customer: Customer, invoice_ids: Iterable[int] | None,
                      today: dt.date) -> list[Invoice]:
    candidates = open_invoices(session, customer)
    if invoice_ids is None:
        chosen = [i for i in candidates if i.due_date < today]
        if not chosen:
            raise CollectionsError("Nothing is overdue: choose the invoices it covers.",
                                   field="invoices")
        return chosen
    wanted = set(invoice_ids)
    chosen = [i for i in candidates if i.id in wanted]
    if not wanted:
        raise CollectionsError("Choose the invoices the promise covers.", field="invoices")
    if len(chosen) != len(wanted):
        raise CollectionsError("Choose among the customer's open invoices.", field="invoices")
    if len({i.currency for i in chosen}) > 1:
        raise CollectionsError("Choose invoices in one currency.", field="invoices")
    return chosen


def check_promise(amount: Decimal | None, promised_for: dt.date | None, open_total: Decimal,
                  currency: str, today: dt.date) -> None:
    """Refuse a promise's amount or date, with the field it is about."""
    if amount is None or amount <= 0:
        raise CollectionsError("Enter the amount promised, more than 0.", field="amount")
    if amount != amount.quantize(CENT):
        raise CollectionsError("Enter the amount in whole cents, like 120.50.", field="amount")
    if amount > open_total:
        raise CollectionsError(f"The invoices chosen have {open_total:,.2f} {currency} open: "
                               "promise at most that.", field="amount")
    if promised_for is None:
        raise CollectionsError("Enter the day they promise to pay by.", field="promised_for")
    if promised_for < today:
        raise CollectionsError("The day promised cannot be in the past.", field="promised_for")
    latest = today + dt.timedelta(days=PROMISE_DAYS_AHEAD)
    if promised_for > latest:
        raise CollectionsError(f"A promise may be at most {PROMISE_DAYS_AHEAD} days ahead "
                               f"(by {latest.isoformat()}).", field="promised_for")


def _promise_keyed(session: Session, customer: Customer, key: str) -> PromiseToPay | None:
    found = session.scalar(select(PromiseToPay).where(PromiseToPay.key == key))
    if found is not None and found.customer_id != customer.id:
        raise CollectionsError("This form was already used for another customer: reload the "
                               "page and enter the promise again.", field="amount")
    return found


def promise_to_pay(session: Session, customer: Customer, *, amount: Decimal | None,
                   promised_for: dt.date | None, invoices: Iterable[int] | None = None,
                   note: str = "", actor: Actor, log_call: bool = False,
                   channel: str = "phone", key: str | None = None) -> PromiseToPay:
    """Record the customer's promise to pay `amount` by `promised_for`, covering
    `invoices` (ids of their open invoices; None: every overdue one). With `log_call`, the
    call it was made on is logged too (outcome "promised"), in the same step.

    Idempotent by `key` (the form's, one per rendered page; PromiseToPay.key is unique):
    a key already used gives back the promise made with it, and nothing more is written
    (no second promise, no second call), even when two submits race (the loser's insert
    fails in a savepoint and it returns the winner's promise)."""
    key = (key or "").strip()[:80] or None
    if key and (existing := _promise_keyed(session, customer, key)):
        return existing
    today = clock.today()
    chosen = _promise_invoices(session, customer, invoices, today)
    open_total = sum((i.amount_open for i in chosen), ZERO)
    currency = chosen[0].currency
    check_promise(amount, promised_for, open_total, currency, today)
    promise = PromiseToPay(
        customer_id=customer.id, amount=amount, currency=currency, promised_for=promised_for,
        status=PromiseStatus.OPEN, note=_text(note, field="note", limit=500),
        made_by=actor.label, made_by_id=actor.id, invoices=chosen, key=key,
        made_at=clock.now())  # core.clock's, as allocations' `at` is: payments since count
    try:
        with session.begin_nested():
            session.add(promise)
            session.flush()
    except IntegrityError:
        # Another submit of the same form got there first (the unique key): that is it.
        if key and (existing := _promise_keyed(session, customer, key)):
            return existing
        raise
    audit.record(session, "collections.promise", actor=actor, channel=CHANNEL, subject=promise,
                 data={"amount": str(amount), "promised_for": promised_for.isoformat(),
                       "invoices": [i.number for i in chosen]})
    if log_call:
        record_call(session, customer, outcome="promised", note=note, channel=channel,
                    actor=actor, promise=promise)
    return promise


def promise_state(promise: PromiseToPay, paid: Decimal, today: dt.date) -> PromiseStatus:
    """What a promise is on `today`, given what was `paid` towards it since it was made:
    the one rule every page and the daily review use. A settled promise stays as it is."""
    if promise.status != PromiseStatus.OPEN:
        return PromiseStatus(promise.status)
    if paid >= promise.amount:
        return PromiseStatus.KEPT
    if today > promise.promised_for:
        return PromiseStatus.BROKEN
    return PromiseStatus.OPEN


def paid_towards_sql(promise_model=PromiseToPay):
    """What was allocated to a promise's invoices since it was made (a correlated scalar
    subquery over `promise_model`)."""
    covered = select(promise_invoices.c.invoice_id).where(
        promise_invoices.c.promise_id == promise_model.id)
    return (select(func.coalesce(func.sum(Allocation.amount), 0))
            .where(Allocation.invoice_id.in_(covered), Allocation.at >= promise_model.made_at,
                   Allocation.kind.in_(PAYING_KINDS))
            .correlate(promise_model).scalar_subquery())


def paid_towards(session: Session, promise_ids: Sequence[int]) -> dict[int, Decimal]:
    """What was paid towards each promise since it was made: one query."""
    if not promise_ids:
        return {}
    rows = session.execute(
        select(promise_invoices.c.promise_id, func.sum(Allocation.amount))
        .join(Allocation, Allocation.invoice_id == promise_invoices.c.invoice_id)
        .join(PromiseToPay, PromiseToPay.id == promise_invoices.c.promise_id)
        .where(promise_invoices.c.promise_id.in_(promise_ids),
               Allocation.at >= PromiseToPay.made_at, Allocation.kind.in_(PAYING_KINDS))
        .group_by(promise_invoices.c.promise_id))
    paid = {pid: ZERO for pid in promise_ids}
    paid.update({pid: Decimal(total or 0) for pid, total in rows})
    return paid


def review_promises(session: Session, *, today: dt.date | None = None,
                    actor: Actor | None = None) -> dict[str, int]:
    """Settle every open promise that is kept or broken on `today` (the daily task).
    Idempotent: a settled promise is never looked at again."""
    today = today or clock.today()
    actor = actor or Actor.system("promise review")
    promises = list(session.scalars(select(PromiseToPay).where(
        PromiseToPay.status == PromiseStatus.OPEN).order_by(PromiseToPay.id)))
    paid = paid_towards(session, [p.id for p in promises])
    counts = {"kept": 0, "broken": 0, "open": 0}
    for promise in promises:
        state = promise_state(promise, paid[promise.id], today)
        counts[state.value] += 1
        if state == PromiseStatus.OPEN:
            continue
        move_promise(promise, state, audit=_entry(
            session, f"collections.promise_{state.value}", actor,
            paid=str(paid[promise.id]), promised_for=promise.promised_for.isoformat()))
        promise.settled_on = (today if state == PromiseStatus.KEPT
                              else promise.promised_for + dt.timedelta(days=1))
    session.flush()
    return counts


def cancel_promise(session: Session, promise: PromiseToPay, *, actor: Actor,
                   reason: str = "") -> PromiseToPay:
    """Withdraw an open promise (the customer took it back, or it was recorded wrongly)."""
    move_promise(promise, PromiseStatus.CANCELLED,
                 audit=_entry(session, "collections.promise_cancelled", actor,
                              reason=_text(reason, field="reason", limit=300)))
    promise.settled_on = clock.today()
    session.flush()
    return promise


# --- disputes ----------------------------------------------------------------------------

def _assignee(session: Session, agent_id: int | None, roles: Sequence[str],
              field: str) -> Agent | None:
    if not agent_id:
        return None
    agent = session.get(Agent, agent_id) if 0 < agent_id < 2**31 else None
    if agent is None or not agent.active or not agent.has_role(*roles):
        raise CollectionsError(f"Choose someone with the {' or '.join(roles)} role.",
                               field=field)
    return agent


def open_dispute_on(session: Session, invoice_id: int) -> int | None:
    """The id of the invoice's open dispute, if it has one."""
    return session.scalar(select(Dispute.id).where(Dispute.invoice_id == invoice_id,
                                                   Dispute.status == DisputeStatus.OPEN))


def open_dispute(session: Session, invoice: Invoice, *, reason: str,
                 amount: Decimal | None = None, assign_to: int | None = None,
                 actor: Actor) -> Dispute:
    """The customer disputes `invoice` (all of it, or `amount`): dunning pauses for it
    while the dispute is open; `assign_to` (an agent id) sorts it out. At most one dispute
    per invoice is open: a second is refused (CollectionsError at "invoice"), checked first
    for the message and enforced by the partial unique index when two race."""
    if invoice.kind != "invoice" or invoice.amount_open <= 0:
        raise CollectionsError(f"{invoice.number} has nothing open to dispute.",
                               field="invoice")
    if open_dispute_on(session, invoice.id):  # first, for the message; the index races
        raise CollectionsError(f"{invoice.number} is already under dispute.", field="invoice")
    reason = _text(reason, field="reason", limit=500, required="Say what the customer disputes.")
    if amount is not None:
        if amount <= 0 or amount != amount.quantize(CENT):
            raise CollectionsError("Enter the amount disputed in whole cents, more than 0.",
                                   field="amount")
        if amount > invoice.amount_open:
            raise CollectionsError(f"{invoice.number} has {invoice.amount_open:,.2f} "
                                   f"{invoice.currency} open: dispute at most that.",
                                   field="amount")
    agent = _assignee(session, assign_to, DISPUTE_ROLES, "assign_to")
    dispute = Dispute(invoice_id=invoice.id, customer_id=invoice.customer_id, reason=reason,
                      amount=amount, status=DisputeStatus.OPEN,
                      assigned_to_id=agent.id if agent else None, opened_by=actor.label,
                      opened_at=clock.now())
    try:  # the partial unique index uq_invoice_disputes_open_invoice: one open per invoice
        with session.begin_nested():
            session.add(dispute)
            session.flush()
    except IntegrityError:  # a dispute opened at the same time got there first
        raise CollectionsError(f"{invoice.number} is already under dispute.",
                               field="invoice") from None
    audit.record(session, "collections.dispute_opened", actor=actor, channel=CHANNEL,
                 subject=dispute, data={"invoice": invoice.number,
                                        "amount": None if amount is None else str(amount),
                                        "assigned_to": agent.email if agent else None})
    return dispute


def assign_dispute(session: Session, dispute: Dispute, *, agent_id: int | None,
                   actor: Actor) -> Dispute:
    if dispute.status != DisputeStatus.OPEN:
        raise CollectionsError("A resolved dispute is not assigned any more.", field="assign_to")
    agent = _assignee(session, agent_id, DISPUTE_ROLES, "assign_to")
    dispute.assigned_to_id = agent.id if agent else None
    audit.record(session, "collections.dispute_assigned", actor=actor, channel=CHANNEL,
                 subject=dispute, data={"assigned_to": agent.email if agent else None})
    session.flush()
    return dispute


def resolve_dispute(session: Session, dispute: Dispute, *, resolution: str,
                    actor: Actor) -> Dispute:
    """Close the dispute with what was decided; dunning resumes for what is still open."""
    resolution = _text(resolution, field="resolution", limit=500,
                       required="Say how the dispute was resolved.")
    move_dispute(dispute, DisputeStatus.RESOLVED,
                 audit=_entry(session, "collections.dispute_resolved", actor,
                              resolution=resolution))
    dispute.resolution, dispute.resolved_by = resolution, actor.label
    dispute.resolved_at = clock.now()
    session.flush()
    return dispute


# --- follow-up tasks ---------------------------------------------------------------------

def add_task(session: Session, customer: Customer, *, agent_id: int | None,
             due_on: dt.date | None, note: str, actor: Actor) -> CollectionTask:
    """A follow-up on the account for `agent_id`, due on `due_on` (today or later)."""
    agent = _assignee(session, agent_id, TASK_ROLES, "agent")
    if agent is None:
        raise CollectionsError("Choose who follows up.", field="agent")
    if due_on is None:
        raise CollectionsError("Enter the day to follow up.", field="due_on")
    if due_on < clock.today():
        raise CollectionsError("The follow-up cannot be due in the past.", field="due_on")
    if due_on > clock.today() + dt.timedelta(days=366):
        raise CollectionsError("Plan a follow-up at most a year ahead.", field="due_on")
    task = CollectionTask(customer_id=customer.id, agent_id=agent.id, due_on=due_on,
                          note=_text(note, field="note", limit=500,
                                     required="Say what to follow up."),
                          status=TaskStatus.OPEN, created_by=actor.label,
                          created_at=clock.now())
    session.add(task)
    session.flush()
    audit.record(session, "collections.task_added", actor=actor, channel=CHANNEL, subject=task,
                 data={"agent": agent.email, "due_on": due_on.isoformat()})
    return task


def complete_task(session: Session, task: CollectionTask, *, actor: Actor) -> CollectionTask:
    move_task(task, TaskStatus.DONE, audit=_entry(session, "collections.task_done", actor))
    task.done_by, task.done_at = actor.label, clock.now()
    session.flush()
    return task


def cancel_task(session: Session, task: CollectionTask, *, actor: Actor) -> CollectionTask:
    move_task(task, TaskStatus.CANCELLED,
              audit=_entry(session, "collections.task_cancelled", actor))
    task.done_by, task.done_at = actor.label, clock.now()
    session.flush()
    return task


# --- what dunning leaves alone -------------------------------------------------------------

def paused_invoices(session: Session, *, today: dt.date | None = None,
                    invoice_ids: Sequence[int] | None = None) -> dict[int, str]:
    """Invoices no collection letter goes to on `today`: invoice id -> "dispute" (an open
    dispute) or "promise" (covered by a promise to pay that is still open by
    promise_state). Two queries; `invoice_ids` narrows them."""
    today = today or clock.today()
    disputed = select(Dispute.invoice_id).where(Dispute.status == DisputeStatus.OPEN)
    promised = (select(promise_invoices.c.invoice_id, PromiseToPay.amount,
                       PromiseToPay.promised_for, paid_towards_sql().label("paid"))
                .join(PromiseToPay, PromiseToPay.id == promise_invoices.c.promise_id)
                .where(PromiseToPay.status == PromiseStatus.OPEN,
                       PromiseToPay.promised_for >= today))
    if invoice_ids is not None:
        disputed = disputed.where(Dispute.invoice_id.in_(invoice_ids))
        promised = promised.where(promise_invoices.c.invoice_id.in_(invoice_ids))
    paused = {invoice_id: "promise" for invoice_id, amount, _, paid
              in session.execute(promised) if Decimal(paid or 0) < amount}
    paused.update({invoice_id: "dispute" for invoice_id in session.scalars(disputed)})
    return paused
