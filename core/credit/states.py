"""The transition tables of credit control's documents (DESIGN.md, "States"). The `move_*`
functions here are the only code that changes their statuses.

Promise to pay:
    open -> kept (payments on its invoices since it was made reach its amount) |
            broken (its date passed short; seen the day after) | cancelled (withdrawn)
    kept, broken, cancelled: final.
Dispute:
    open -> resolved (with a resolution; dunning resumes if anything is still open)
    resolved: final.
Collection task:
    open -> done | cancelled
Dunning run:
    queued -> running -> proposed (letters to review) | failed
    proposed -> sending -> sent; proposed -> cancelled (nothing sent)
    failed -> queued (tried again)
Dunning letter:
    proposed -> removed (the controller took it out) | sent | failed (the send raised)
    removed -> proposed (put back before sending)
    failed -> sent (sent again)
"""
from __future__ import annotations

from enum import StrEnum

from core.audit import Entry
from core.errors import DomainError
from core.statemachine import Machine


class IllegalCreditTransition(DomainError):
    code = "illegal_credit_transition"


class PromiseStatus(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"
    CANCELLED = "cancelled"


class DisputeStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    PROPOSED = "proposed"
    SENDING = "sending"
    SENT = "sent"
    CANCELLED = "cancelled"
    FAILED = "failed"


class LetterStatus(StrEnum):
    PROPOSED = "proposed"
    REMOVED = "removed"
    SENT = "sent"
    FAILED = "failed"


P, D, T, R, L = PromiseStatus, DisputeStatus, TaskStatus, RunStatus, LetterStatus

PROMISE = Machine(
    "promise_to_pay", PromiseStatus,
    {P.OPEN: {P.KEPT, P.BROKEN, P.CANCELLED}, P.KEPT: set(), P.BROKEN: set(),
     P.CANCELLED: set()},
    labels={P.OPEN: "Open", P.KEPT: "Kept", P.BROKEN: "Broken", P.CANCELLED: "Withdrawn"},
    error=IllegalCreditTransition, noun="A promise to pay",
    columns=("promises_to_pay.status",), doc=__doc__)

DISPUTE = Machine(
    "invoice_dispute", DisputeStatus, {D.OPEN: {D.RESOLVED}, D.RESOLVED: set()},
    labels={D.OPEN: "Open", D.RESOLVED: "Resolved"},
    error=IllegalCreditTransition, noun="A dispute",
    columns=("invoice_disputes.status",), doc=__doc__)

TASK = Machine(
    "collection_task", TaskStatus,
    {T.OPEN: {T.DONE, T.CANCELLED}, T.DONE: set(), T.CANCELLED: set()},
    labels={T.OPEN: "Open", T.DONE: "Done", T.CANCELLED: "Cancelled"},
    error=IllegalCreditTransition, noun="A follow-up task",
    columns=("collection_tasks.status",), doc=__doc__)

RUN = Machine(
    "dunning_run", RunStatus,
    {R.QUEUED: {R.RUNNING, R.FAILED}, R.RUNNING: {R.PROPOSED, R.FAILED},
     R.PROPOSED: {R.SENDING, R.CANCELLED}, R.SENDING: {R.SENT},
     R.FAILED: {R.QUEUED}, R.SENT: set(), R.CANCELLED: set()},
    labels={R.QUEUED: "Queued", R.RUNNING: "Looking at accounts",
            R.PROPOSED: "Letters to review", R.SENDING: "Sending", R.SENT: "Sent",
            R.CANCELLED: "Cancelled", R.FAILED: "Failed"},
    error=IllegalCreditTransition, noun="A dunning run",
    columns=("dunning_runs.status",), doc=__doc__)

LETTER = Machine(
    "dunning_letter", LetterStatus,
    {L.PROPOSED: {L.REMOVED, L.SENT, L.FAILED}, L.REMOVED: {L.PROPOSED},
     L.FAILED: {L.SENT}, L.SENT: set()},
    labels={L.PROPOSED: "Proposed", L.REMOVED: "Removed", L.SENT: "Sent",
            L.FAILED: "Could not be sent"},
    error=IllegalCreditTransition, noun="A dunning letter",
    columns=("dunning_letters.status",), doc=__doc__)


def move_promise(promise, target: PromiseStatus, *, audit: Entry | None = None) -> str:
    return PROMISE.move(promise, target, audit=audit)


def move_dispute(dispute, target: DisputeStatus, *, audit: Entry | None = None) -> str:
    return DISPUTE.move(dispute, target, audit=audit)


def move_task(task, target: TaskStatus, *, audit: Entry | None = None) -> str:
    return TASK.move(task, target, audit=audit)


def move_run(run, target: RunStatus, *, audit: Entry | None = None) -> str:
    return RUN.move(run, target, audit=audit)


def move_letter(letter, target: LetterStatus, *, audit: Entry | None = None) -> str:
    return LETTER.move(letter, target, audit=audit)
