"""Dunning: collection letters by level, their fees and default interest, and dunning runs.

The levels are the DunningLevel rows (seeded: 1 reminder from 7 days overdue, 2 first letter
from 21, 3 second from 35, 4 final demand from 50; levels 3 and 4 charge interest).

Which invoices a run duns, on its `as_of` day D:

* an invoice (not a credit note) of a customer, with something open, past its due date on D
  (dunning charges documents themselves are not dunned: no fees on fees);
* its *due level* is the highest level whose `days_overdue` <= its days overdue on D; a
  letter is proposed only when that is above the invoice's `dunning_level` (never the same
  level twice). A level the runs missed is skipped: the invoice goes straight to its due
  level;
* at least MIN_DAYS_BETWEEN (7) days after the last letter (`dunned_on`): the customer gets
  time to answer one letter before the next;
* not while the invoice has an open dispute, nor while an open promise to pay covers it
  (status open and `promised_for` today or later: a promise whose date passed protects
  nothing). Those are recorded in `DunningRun.skipped` with the reason, as is an invoice
  waiting out the 7 days.

One letter per customer and run: its invoices, its level the highest of their due levels,
the fee that level's fee (in the customer's currency), and, when that level charges
interest, default interest per invoice: amount open x DUNNING_INTEREST_RATE / 100 x days
overdue since the last interest charged on it (else since its due date) / 365, rounded
half-up to the cent per invoice.

Sending a run posts each letter's fee and interest as ONE charges document through
core.billing.invoicing.issue_free_text (an invoice with lines of kind "dunning_fee" and
"interest", tax rate 0: not subject to VAT, net 14 days, numbered from the invoice series;
Dr receivables / Cr 4030 ledger.DUNNING_CHARGES), raises the invoices' levels, and records
DunningLetterSent, on which core.notifications e-mails the letter's PDF after the commit.
A letter with nothing to charge (a reminder) posts no document.

Statuses move only through core.credit.states. Services flush; the caller commits.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from core import audit, clock, events
from core.billing import invoicing
from core.billing.models import Invoice
from core.config import Settings
from core.credit.models import (DunningLetter, DunningLetterItem, DunningLevel, DunningRun,
                                Dispute, PromiseToPay, promise_invoices)
from core.credit.states import (DisputeStatus, LetterStatus, PromiseStatus, RunStatus,
                                move_letter, move_run)
from core.customers.models import Customer
from core.db import utcnow
from core.errors import DomainError, NotFound
from core.pricing.engine import round_money

ZERO = Decimal(0)
MIN_DAYS_BETWEEN = 7  # days after a letter before the next level's letter
PAY_WITHIN_DAYS = 14  # the letter's pay-by date and the charges document's terms
PROGRESS_EVERY = 25  # accounts between progress reports (the task commits each)
CHANNEL = "backoffice"
PLACEHOLDERS = ("customer", "overdue_total", "fee", "interest", "total_due", "pay_by")
_PLACEHOLDER = re.compile(r"\{([a-z_]*)\}")
# Runs that stop another from starting: their letters are still to be decided.
BUSY = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.PROPOSED, RunStatus.SENDING)


class DunningError(DomainError):
    code = "dunning"


# -- levels ---------------------------------------------------------------------------------

def levels(session: Session) -> list[DunningLevel]:
    return list(session.scalars(select(DunningLevel).order_by(DunningLevel.level)))


def due_level(ladder: list[DunningLevel], days_overdue: int) -> DunningLevel | None:
    """The highest level whose days_overdue <= `days_overdue` (None: not yet a reminder)."""
    due = None
    for level in ladder:
        if level.days_overdue <= days_overdue:
            due = level
    return due


@dataclass(frozen=True)
class LevelChange:
    level: int
    name: str
    days_overdue: int
    fee: Decimal
    charges_interest: bool
    subject: str
    body: str


def unknown_placeholders(text: str) -> list[str]:
    return sorted({name for name in _PLACEHOLDER.findall(text) if name not in PLACEHOLDERS})


def update_levels(session: Session, changes: list[LevelChange], *,
                  actor: audit.Actor) -> list[DunningLevel]:
    """Save the levels' names, days, fees, interest and texts. Days must rise with the
    level (from 1); placeholders must be known ones. DunningError names the field
    ("level<N>-<field>")."""
    rows = {row.level: row for row in levels(session)}
    ordered = sorted(changes, key=lambda c: c.level)
    previous = 0
    for change in ordered:
        if change.level not in rows:
            raise DunningError(f"There is no dunning level {change.level}.")
        prefix = f"level{change.level}-"
        if not change.name.strip():
            raise DunningError("Name the level.", field=prefix + "name")
        if change.days_overdue < 1 or change.days_overdue <= previous:
            raise DunningError("Days overdue must be more than the level before's "
                               f"({previous})." if previous else
                               "Days overdue must be at least 1.",
                               field=prefix + "days_overdue")
        previous = change.days_overdue
        if change.fee < 0 or change.fee != change.fee.quantize(Decimal("0.01")):
            raise DunningError("Enter a fee of 0 or more in whole cents.", field=prefix + "fee")
        for name in ("subject", "body"):
            text = getattr(change, name)
            if not text.strip():
                raise DunningError("Write the letter's " + name + ".", field=prefix + name)
            if bad := unknown_placeholders(text):
                raise DunningError(
                    f"Unknown placeholder {{{bad[0]}}}: use "
                    + ", ".join("{" + p + "}" for p in PLACEHOLDERS) + ".", field=prefix + name)
    for change in ordered:
        row = rows[change.level]
        row.name, row.days_overdue, row.fee = change.name.strip(), change.days_overdue, change.fee
        row.charges_interest, row.subject = change.charges_interest, change.subject.strip()
        row.body = change.body.strip()
    audit.record(session, "dunning.levels_changed", actor=actor, channel=CHANNEL,
                 data={"levels": [{"level": c.level, "days": c.days_overdue, "fee": str(c.fee),
                                   "interest": c.charges_interest} for c in ordered]})
    session.flush()
    return [rows[c.level] for c in ordered]


# -- runs -----------------------------------------------------------------------------------

def get_run(session: Session, run_id: int, *, lock: bool = False) -> DunningRun:
    stmt = select(DunningRun).where(DunningRun.id == run_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    run = session.scalar(stmt)
    if run is None:
        raise NotFound("We could not find that dunning run.")
    return run


def get_letter(session: Session, letter_id: int) -> DunningLetter:
    letter = session.get(DunningLetter, letter_id)
    if letter is None:
        raise NotFound("We could not find that dunning letter.")
    return letter


def start_run(session: Session, *, as_of: dt.date, actor: audit.Actor) -> DunningRun:
    """A queued run for `as_of` (today or earlier). Refused while another run's letters are
    still to be proposed, reviewed or sent: two runs would propose the same letters."""
    if as_of > clock.today():
        raise DunningError("A dunning run looks at today or a day before, not the future.",
                           field="as_of")
    busy = session.scalar(select(DunningRun.id).where(DunningRun.status.in_(BUSY)).limit(1))
    if busy is not None:
        raise DunningError(f"Dunning run {busy} is not finished: send or cancel its letters "
                           "first.", field="as_of")
    run = DunningRun(as_of=as_of, status=RunStatus.QUEUED, created_by=actor.label,
                     created_by_id=actor.id, skipped=[])
    session.add(run)
    session.flush()
    audit.record(session, "dunning.run_started", actor=actor, channel=CHANNEL, subject=run,
                 data={"as_of": as_of.isoformat()})
    return run


@dataclass
class _Account:
    customer: Customer
    items: list[DunningLetterItem] = field(default_factory=list)
    level: DunningLevel | None = None


def _accounts_to_look_at(session: Session, as_of: dt.date) -> list[int]:
    return list(session.scalars(
        select(Invoice.customer_id).where(*_overdue(as_of)).distinct()
        .order_by(Invoice.customer_id)))


def _overdue(as_of: dt.date) -> tuple:
    charges = select(DunningLetter.charges_invoice_id).where(
        DunningLetter.charges_invoice_id.is_not(None))
    return (Invoice.kind == "invoice", Invoice.customer_id.is_not(None),
            Invoice.amount_open > 0, Invoice.due_date < as_of, Invoice.id.not_in(charges))


def _protected(session: Session, invoice_ids: list[int]) -> dict[int, str]:
    """Why some of these invoices get no letter: an open dispute, an open promise to pay."""
    reasons: dict[int, str] = {}
    if not invoice_ids:
        return reasons
    for invoice_id, promised_for in session.execute(
            select(promise_invoices.c.invoice_id, func.max(PromiseToPay.promised_for))
            .join(PromiseToPay, PromiseToPay.id == promise_invoices.c.promise_id)
            .where(promise_invoices.c.invoice_id.in_(invoice_ids),
                   PromiseToPay.status == PromiseStatus.OPEN,
                   PromiseToPay.promised_for >= clock.today())
            .group_by(promise_invoices.c.invoice_id)):
        reasons[invoice_id] = f"promise to pay by {promised_for.isoformat()}"
    for invoice_id in session.scalars(
            select(Dispute.invoice_id).where(Dispute.invoice_id.in_(invoice_ids),
                                             Dispute.status == DisputeStatus.OPEN).distinct()):
        reasons[invoice_id] = "under dispute"
    return reasons


def _interest_since(session: Session, invoice_ids: list[int]) -> dict[int, dt.date]:
    """The day up to which interest was last charged on each invoice (a sent letter's as_of)."""
    if not invoice_ids:
        return {}
    return dict(session.execute(
        select(DunningLetterItem.invoice_id, func.max(DunningRun.as_of))
        .join(DunningLetter, DunningLetter.id == DunningLetterItem.letter_id)
        .join(DunningRun, DunningRun.id == DunningLetter.run_id)
        .where(DunningLetterItem.invoice_id.in_(invoice_ids), DunningLetterItem.interest > 0,
               DunningLetter.status == LetterStatus.SENT)
        .group_by(DunningLetterItem.invoice_id)).all())


def interest_on(amount_open: Decimal, *, rate: Decimal, days: int, currency: str) -> Decimal:
    """Default interest: amount x rate % a year x days / 365, half-up to the minor unit."""
    if days <= 0 or rate <= 0:
        return ZERO
    return round_money(amount_open * rate / Decimal(100) * Decimal(days) / Decimal(365),
                       currency)


def propose(session: Session, run: DunningRun, *, settings: Settings,
            progress: Callable[[DunningRun], None] | None = None) -> DunningRun:
    """Look at every account with an overdue invoice on the run's day and propose its
    letters (running -> proposed). `progress(run)` is called after the count and every
    PROGRESS_EVERY accounts (the background task commits there, so a page sees
    run.done of run.total)."""
    move_run(run, RunStatus.RUNNING)
    customer_ids = _accounts_to_look_at(session, run.as_of)
    run.total, run.done, run.skipped = len(customer_ids), 0, []
    session.flush()
    if progress:
        progress(run)
    ladder = levels(session)
    skipped: list[dict] = []
    for start in range(0, len(customer_ids), PROGRESS_EVERY):
        chunk = customer_ids[start:start + PROGRESS_EVERY]
        _propose_for(session, run, chunk, ladder, settings.interest_rate, skipped)
        run.done = start + len(chunk)
        run.skipped = list(skipped)
        session.flush()
        if progress:
            progress(run)
    move_run(run, RunStatus.PROPOSED)
    run.finished_at = utcnow()
    session.flush()
    return run


def _propose_for(session: Session, run: DunningRun, customer_ids: list[int],
                 ladder: list[DunningLevel], rate: Decimal, skipped: list[dict]) -> None:
    invoices = list(session.scalars(
        select(Invoice).where(*_overdue(run.as_of), Invoice.customer_id.in_(customer_ids))
        .order_by(Invoice.customer_id, Invoice.due_date, Invoice.id)))
    customers = {c.id: c for c in session.scalars(
        select(Customer).where(Customer.id.in_(customer_ids)))}
    ids = [i.id for i in invoices]
    protected = _protected(session, ids)
    since = _interest_since(session, ids)
    accounts: dict[int, _Account] = {}
    for invoice in invoices:
        customer = customers[invoice.customer_id]
        days = (run.as_of - invoice.due_date).days
        level = due_level(ladder, days)

        def skip(reason: str) -> None:
            skipped.append({"invoice": invoice.number, "customer": customer.name,
                            "reason": reason})

        if level is None or level.level <= invoice.dunning_level:
            continue  # not yet due a (new) letter: nothing to say
        if reason := protected.get(invoice.id):
            skip(reason)
            continue
        if invoice.dunned_on and (run.as_of - invoice.dunned_on).days < MIN_DAYS_BETWEEN:
            wait = invoice.dunned_on + dt.timedelta(days=MIN_DAYS_BETWEEN)
            skip(f"letter sent on {invoice.dunned_on.isoformat()}; the next from "
                 f"{wait.isoformat()}")
            continue
        if invoice.currency != customer.currency:
            skip(f"in {invoice.currency}, not the customer's currency {customer.currency}")
            continue
        if not customer.email:
            skip("the customer has no e-mail address")
            continue
        account = accounts.setdefault(customer.id, _Account(customer))
        account.items.append(DunningLetterItem(invoice_id=invoice.id, level=level.level,
                                               days_overdue=days,
                                               amount_open=invoice.amount_open))
        if account.level is None or level.level > account.level.level:
            account.level = level
    for account in accounts.values():
        _letter(session, run, account, since, rate)


def _letter(session: Session, run: DunningRun, account: _Account, since: dict[int, dt.date],
            rate: Decimal) -> DunningLetter:
    level, customer = account.level, account.customer
    currency = customer.currency
    interest = ZERO
    if level.charges_interest:
        for item in account.items:
            due = session.get(Invoice, item.invoice_id).due_date
            start = max(since.get(item.invoice_id, due), due)
            item.interest = interest_on(item.amount_open, rate=rate,
                                        days=(run.as_of - start).days, currency=currency)
            interest += item.interest
    letter = DunningLetter(
        run=run, customer_id=customer.id, level=level.level, currency=currency,
        amount_overdue=sum((i.amount_open for i in account.items), ZERO),
        fee=round_money(level.fee, currency), interest=interest, email=customer.email,
        status=LetterStatus.PROPOSED, items=account.items)
    session.add(letter)
    return letter


def fail_run(session: Session, run: DunningRun, error: str) -> None:
    """The proposal broke off (the task calls this in a fresh transaction)."""
    move_run(run, RunStatus.FAILED)
    run.error = error[:1000]
    run.finished_at = utcnow()
    session.flush()


def _review(run: DunningRun) -> None:
    if run.status != RunStatus.PROPOSED:
        raise DunningError("The run's letters can be changed only while they wait for review.")


def remove_letter(session: Session, letter: DunningLetter, *, actor: audit.Actor) -> None:
    """Take a proposed letter out of its run: it is not sent."""
    _review(letter.run)
    move_letter(letter, LetterStatus.REMOVED, audit=audit.Entry(
        session, "dunning.letter_removed", actor, CHANNEL, {"run": letter.run_id}))
    session.flush()


def restore_letter(session: Session, letter: DunningLetter, *, actor: audit.Actor) -> None:
    """Put a removed letter back into its run."""
    _review(letter.run)
    move_letter(letter, LetterStatus.PROPOSED, audit=audit.Entry(
        session, "dunning.letter_restored", actor, CHANNEL, {"run": letter.run_id}))
    session.flush()


def cancel_run(session: Session, run: DunningRun, *, actor: audit.Actor) -> None:
    """Drop a proposed run: nothing is sent, the next run proposes afresh."""
    move_run(run, RunStatus.CANCELLED, audit=audit.Entry(session, "dunning.run_cancelled",
                                                         actor, CHANNEL))
    session.flush()


# -- sending --------------------------------------------------------------------------------

def _load_letters(session: Session, run: DunningRun) -> list[DunningLetter]:
    return list(session.scalars(
        select(DunningLetter).where(DunningLetter.run_id == run.id)
        .options(selectinload(DunningLetter.items).selectinload(DunningLetterItem.invoice))
        .order_by(DunningLetter.id)))


def send_run(session: Session, run: DunningRun, *, actor: audit.Actor, settings: Settings,
             today: dt.date | None = None) -> list[DunningLetter]:
    """Send the run's proposed letters (removed ones stay unsent, and so does a letter whose
    invoices were all paid since it was proposed: it is removed): post each letter's
    charges document, raise its invoices' levels, and have it e-mailed after the commit.
    Once: the run moves proposed -> sending -> sent (a second send is an illegal move).
    `today` is the letters' date (default: the clock's today)."""
    today = today or clock.today()
    run = get_run(session, run.id, lock=True)  # two clicks: the second waits, then refuses
    move_run(run, RunStatus.SENDING, audit=audit.Entry(session, "dunning.run_sending", actor,
                                                        CHANNEL))
    sent = []
    customers = {c.id: c for c in session.scalars(select(Customer).where(
        Customer.id.in_(select(DunningLetter.customer_id).where(
            DunningLetter.run_id == run.id))))}
    for letter in _load_letters(session, run):
        if letter.status != LetterStatus.PROPOSED:
            continue
        if all(item.invoice.amount_open <= 0 for item in letter.items):
            # Paid since the run proposed it: nothing to claim any more.
            move_letter(letter, LetterStatus.REMOVED, audit=audit.Entry(
                session, "dunning.letter_removed", actor, CHANNEL,
                {"run": letter.run_id, "why": "paid since proposed"}))
            continue
        _send_letter(session, letter, customers[letter.customer_id], actor=actor, today=today)
        sent.append(letter)
    move_run(run, RunStatus.SENT, audit=audit.Entry(session, "dunning.run_sent", actor,
                                                     CHANNEL, {"letters": len(sent)}))
    run.sent_by, run.sent_at = actor.label, utcnow()
    session.flush()
    return sent


def _send_letter(session: Session, letter: DunningLetter, customer: Customer, *,
                 actor: audit.Actor, today: dt.date) -> None:
    lines = []
    level_name = session.scalar(select(DunningLevel.name).where(
        DunningLevel.level == letter.level)) or f"Level {letter.level}"
    if letter.fee > 0:
        lines.append(invoicing.FreeTextLine(f"Dunning fee: {level_name}", 1, letter.fee, ZERO,
                                            kind="dunning_fee"))
    for item in letter.items:
        if item.interest > 0:
            lines.append(invoicing.FreeTextLine(
                f"Default interest on {item.invoice.number}: {item.amount_open} "
                f"{letter.currency} for {item.days_overdue} days overdue", 1, item.interest,
                ZERO, kind="interest"))
    if lines:
        charges = invoicing.issue_free_text(
            session, customer=customer, lines=lines, actor=actor, currency=letter.currency,
            prices_include_tax=False, terms=f"net{PAY_WITHIN_DAYS}", today=today,
            use_credit=False,
            memo=f"Dunning charges: {level_name} of dunning run {letter.run_id}")
        letter.charges_invoice_id = charges.id
    for item in letter.items:
        item.invoice.dunning_level = max(item.invoice.dunning_level, item.level)
        item.invoice.dunned_on = today
    letter.sent_at = utcnow()
    move_letter(letter, LetterStatus.SENT, audit=audit.Entry(
        session, "dunning.letter_sent", actor, CHANNEL,
        {"run": letter.run_id, "level": letter.level, "fee": str(letter.fee),
         "interest": str(letter.interest), "charges": letter.charges_invoice_id}))
    session.flush()
    events.record(session, events.DunningLetterSent(letter.id))


def mark_emailed(session: Session, letter: DunningLetter, *, to: str) -> None:
    letter.emailed_at = utcnow()
    audit.record(session, "dunning.letter_emailed", actor=audit.Actor.system("dunning mail"),
                 channel="email", subject=letter, data={"to": to})
    session.flush()


# -- the letter's text ----------------------------------------------------------------------

def fill(template: str, values: dict[str, str]) -> str:
    """Replace the known {placeholders}; anything else stays as written (no str.format:
    the text is typed by people, and format would reach into objects)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


# -- read side: the console's pages -----------------------------------------------------------

@dataclass(frozen=True)
class RunRow:
    run: DunningRun
    proposed: int
    sent: int
    removed: int


def runs(session: Session, *, limit: int = 50) -> list[RunRow]:
    """The newest runs with their letters counted by status: two queries."""
    found = list(session.scalars(select(DunningRun).order_by(DunningRun.id.desc()).limit(limit)))
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    if found:
        for run_id, status, n in session.execute(
                select(DunningLetter.run_id, DunningLetter.status, func.count())
                .where(DunningLetter.run_id.in_([r.id for r in found]))
                .group_by(DunningLetter.run_id, DunningLetter.status)):
            counts[run_id][status] = n
    return [RunRow(r, counts[r.id].get(LetterStatus.PROPOSED, 0),
                   counts[r.id].get(LetterStatus.SENT, 0),
                   counts[r.id].get(LetterStatus.REMOVED, 0)) for r in found]


@dataclass(frozen=True)
class LetterRow:
    letter: DunningLetter
    customer: Customer
    charges_number: str | None

    @property
    def total(self) -> Decimal:
        return self.letter.amount_overdue + self.letter.fee + self.letter.interest


@dataclass(frozen=True)
class RunView:
    run: DunningRun
    levels: dict[int, DunningLevel]
    by_level: list[tuple[DunningLevel | None, list[LetterRow]]]
    to_send: int

    @property
    def working(self) -> bool:
        return self.run.status in (RunStatus.QUEUED, RunStatus.RUNNING)


def run_view(session: Session, run_id: int) -> RunView:
    """A run with its letters (grouped by level), their customers, invoices and charges
    documents: a fixed number of queries, whatever the number of letters."""
    run = get_run(session, run_id)
    letters = _load_letters(session, run)
    customers = {c.id: c for c in session.scalars(select(Customer).where(
        Customer.id.in_({l.customer_id for l in letters})))} if letters else {}
    charge_ids = [l.charges_invoice_id for l in letters if l.charges_invoice_id]
    numbers = dict(session.execute(select(Invoice.id, Invoice.number).where(
        Invoice.id.in_(charge_ids))).all()) if charge_ids else {}
    ladder = {l.level: l for l in levels(session)}
    grouped: dict[int, list[LetterRow]] = defaultdict(list)
    for letter in letters:
        grouped[letter.level].append(LetterRow(letter, customers[letter.customer_id],
                                               numbers.get(letter.charges_invoice_id)))
    by_level = [(ladder.get(level), rows) for level, rows in sorted(grouped.items())]
    to_send = sum(1 for l in letters if l.status == LetterStatus.PROPOSED)
    return RunView(run, ladder, by_level, to_send)
