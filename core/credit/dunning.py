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
* not while the invoice is paused for collections: an open dispute, or an open promise to
  pay covering it (core.credit.collections.paused_invoices on the run's day: one rule for
  collections and dunning). Those are recorded in `DunningRun.skipped` with the reason, as
  is an invoice waiting out the 7 days.

One letter per customer and run: its invoices, its level the highest of their due levels,
the fee that level's fee (in the customer's currency), and default interest on each invoice
whose OWN due level charges interest (a reminder-level invoice on a second letter bears
none): amount open x DUNNING_INTEREST_RATE / 100 x days overdue since the last interest
charged on it (else since its due date) / 365, rounded half-up to the cent per invoice.

One run at a time: a run is busy from queued to sending; starting one locks the dunning
levels' rows first, so two concurrent starts cannot both see none busy. A run that failed
proposes nothing (its letters are deleted) and can be tried again (failed -> queued).

When the run is sent, every letter is checked again: an invoice paid since the proposal,
or disputed or promised since, drops out (noted in `skipped`), the others claim what is open
now and the letter is priced again; a letter left with nothing is removed, not sent.

Sending a run posts each letter's fee and interest as ONE charges document through
core.billing.invoicing.issue_free_text (an invoice with lines of kind "dunning_fee" and
"interest", tax rate 0: not subject to VAT, net 14 days, numbered from the invoice series;
Dr receivables / Cr 4030 ledger.DUNNING_CHARGES), raises the invoices' levels, stores the
letter's text as sent (subject and body, placeholders filled: editing a level later rewrites
no sent letter), and records DunningLetterSent, on which core.notifications e-mails the
letter's PDF after the commit.
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
from core.credit.collections import paused_invoices
from core.credit.models import DunningLetter, DunningLetterItem, DunningLevel, DunningRun
from core.credit.states import LetterStatus, RunStatus, move_letter, move_run
from core.customers.models import Customer
from core.db import utcnow
from core.errors import DomainError, NotFound
from core.money import Money
from core.pricing.engine import round_money

ZERO = Decimal(0)
MIN_DAYS_BETWEEN = 7  # days after a letter before the next level's letter
PAY_WITHIN_DAYS = 14  # the letter's pay-by date and the charges document's terms
PROGRESS_EVERY = 25  # accounts between progress reports (the task commits each)
CHANNEL = "backoffice"
LETTERS_PER_PAGE = 100  # the run page's letters per page
SKIPPED_SHOWN = 100  # the run page lists this many skipped invoices, then says how many more
PAUSED = {"dispute": "under dispute", "promise": "promise to pay"}  # paused_invoices' reasons
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
    _refuse_if_busy(session)
    run = DunningRun(as_of=as_of, status=RunStatus.QUEUED, created_by=actor.label,
                     created_by_id=actor.id, skipped=[])
    session.add(run)
    session.flush()
    audit.record(session, "dunning.run_started", actor=actor, channel=CHANNEL, subject=run,
                 data={"as_of": as_of.isoformat()})
    return run


def _refuse_if_busy(session: Session) -> None:
    """Two runs must never be busy at once. Every start (and retry) first locks the same
    fixed rows, the dunning levels (SELECT ... FOR UPDATE), so two concurrent starts queue up
    here: the second sees the first's run once that commits, and is refused."""
    session.execute(select(DunningLevel.id).order_by(DunningLevel.id).with_for_update())
    busy = session.scalar(select(DunningRun.id).where(DunningRun.status.in_(BUSY)).limit(1))
    if busy is not None:
        raise DunningError(f"Dunning run {busy} is not finished: send or cancel its letters "
                           "first.", field="as_of")


def retry_run(session: Session, run: DunningRun, *, actor: audit.Actor) -> DunningRun:
    """A failed run queued again (failed -> queued); the caller queues its proposal after
    the commit. Refused while another run is busy."""
    _refuse_if_busy(session)
    run = get_run(session, run.id, lock=True)
    move_run(run, RunStatus.QUEUED, audit=audit.Entry(session, "dunning.run_retried", actor,
                                                       CHANNEL, {"error": run.error}))
    run.error, run.total, run.done, run.skipped, run.finished_at = "", 0, 0, [], None
    session.flush()
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
    paused = paused_invoices(session, today=run.as_of, invoice_ids=ids)
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
        if reason := paused.get(invoice.id):
            skip(PAUSED[reason])
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
        account.items.append(DunningLetterItem(invoice=invoice, level=level.level,
                                               days_overdue=days,
                                               amount_open=invoice.amount_open))
        if account.level is None or level.level > account.level.level:
            account.level = level
    ladder_by = {l.level: l for l in ladder}
    for account in accounts.values():
        _letter(session, run, account, since, rate, ladder_by)


def _letter(session: Session, run: DunningRun, account: _Account, since: dict[int, dt.date],
            rate: Decimal, ladder: dict[int, DunningLevel]) -> DunningLetter:
    customer = account.customer
    letter = DunningLetter(
        run=run, customer_id=customer.id, level=account.level.level,
        currency=customer.currency, amount_overdue=ZERO, fee=ZERO, interest=ZERO,
        email=customer.email, status=LetterStatus.PROPOSED, items=account.items)
    _price(letter, run, ladder, since, rate)
    session.add(letter)
    return letter


def _price(letter: DunningLetter, run: DunningRun, ladder: dict[int, DunningLevel],
           since: dict[int, dt.date], rate: Decimal) -> None:
    """The letter's level (the highest of its items'), fee, interest and amount overdue from
    its items. Interest only on an item whose OWN level charges it: from its due date, or
    from the day up to which interest was last charged on it, to the run's day."""
    currency = letter.currency
    for item in letter.items:
        level = ladder.get(item.level)
        item.interest = ZERO
        if level is not None and level.charges_interest:
            due = item.invoice.due_date
            start = max(since.get(item.invoice.id, due), due)
            item.interest = interest_on(item.amount_open, rate=rate,
                                        days=(run.as_of - start).days, currency=currency)
    letter.level = max(item.level for item in letter.items)
    top = ladder.get(letter.level)
    letter.fee = round_money(top.fee, currency) if top is not None else ZERO
    letter.interest = sum((i.interest for i in letter.items), ZERO)
    letter.amount_overdue = sum((i.amount_open for i in letter.items), ZERO)


def fail_run(session: Session, run: DunningRun, error: str) -> None:
    """The proposal broke off (the task calls this in a fresh transaction): the letters it
    had proposed (committed with its progress) go, so a failed run proposes nothing. It can
    be tried again (retry_run)."""
    run = get_run(session, run.id, lock=True)
    move_run(run, RunStatus.FAILED)
    run.letters.clear()  # delete-orphan: the letters and their items go
    run.error = error[:1000]
    run.skipped = []
    run.finished_at = utcnow()
    session.flush()


def _review(run: DunningRun) -> None:
    if run.status != RunStatus.PROPOSED:
        raise DunningError("The run's letters can be changed only while they wait for review.")


def remove_letter(session: Session, letter: DunningLetter, *, actor: audit.Actor) -> None:
    """Take a proposed letter out of its run: it is not sent. The run's row is locked first,
    so a send under way finishes (and this is refused) before the letter changes."""
    _review(get_run(session, letter.run_id, lock=True))
    session.refresh(letter)
    move_letter(letter, LetterStatus.REMOVED, audit=audit.Entry(
        session, "dunning.letter_removed", actor, CHANNEL, {"run": letter.run_id}))
    session.flush()


def restore_letter(session: Session, letter: DunningLetter, *, actor: audit.Actor) -> None:
    """Put a removed letter back into its run (the run's row locked first, as above)."""
    _review(get_run(session, letter.run_id, lock=True))
    session.refresh(letter)
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
    """The run's letters with their items and invoices, as they are in the database now."""
    return list(session.scalars(
        select(DunningLetter).where(DunningLetter.run_id == run.id)
        .options(selectinload(DunningLetter.items).selectinload(DunningLetterItem.invoice))
        .order_by(DunningLetter.id).execution_options(populate_existing=True)))


def send_run(session: Session, run: DunningRun, *, actor: audit.Actor,
             settings: Settings) -> list[DunningLetter]:
    """Send the run's proposed letters (removed ones stay unsent): post each letter's
    charges document, raise its invoices' levels, and have it e-mailed after the commit.
    Once: the run moves proposed -> sending -> sent (a second send is an illegal move).

    Each letter is checked again first (see `_recheck`): invoices paid, disputed or promised
    since the proposal drop out, the rest are priced afresh, and a letter left with none is
    removed, not sent. The letters are dated the clock's today."""
    today = clock.today()
    run = get_run(session, run.id, lock=True)  # two clicks: the second waits, then refuses
    move_run(run, RunStatus.SENDING, audit=audit.Entry(session, "dunning.run_sending", actor,
                                                        CHANNEL))
    customers = {c.id: c for c in session.scalars(select(Customer).where(
        Customer.id.in_(select(DunningLetter.customer_id).where(
            DunningLetter.run_id == run.id))))}
    proposed = [l for l in _load_letters(session, run) if l.status == LetterStatus.PROPOSED]
    ids = [item.invoice_id for letter in proposed for item in letter.items]
    paused = paused_invoices(session, today=today, invoice_ids=ids)
    since = _interest_since(session, ids)
    ladder = {l.level: l for l in levels(session)}
    skipped = list(run.skipped or [])
    sent = []
    for letter in proposed:
        customer = customers[letter.customer_id]
        if not _recheck(session, letter, customer, run, paused=paused, since=since,
                        ladder=ladder, rate=settings.interest_rate, skipped=skipped):
            move_letter(letter, LetterStatus.REMOVED, audit=audit.Entry(
                session, "dunning.letter_removed", actor, CHANNEL,
                {"run": letter.run_id, "why": "nothing left to claim when sent"}))
            continue
        _send_letter(session, letter, customer, ladder=ladder, actor=actor, today=today)
        sent.append(letter)
    run.skipped = skipped
    move_run(run, RunStatus.SENT, audit=audit.Entry(session, "dunning.run_sent", actor,
                                                     CHANNEL, {"letters": len(sent)}))
    run.sent_by, run.sent_at = actor.label, utcnow()
    session.flush()
    return sent


def _recheck(session: Session, letter: DunningLetter, customer: Customer, run: DunningRun, *,
             paused: dict[int, str], since: dict[int, dt.date], ladder: dict[int, DunningLevel],
             rate: Decimal, skipped: list[dict]) -> bool:
    """Before a letter goes out: drop its items whose invoice was paid since the proposal
    (nothing open), or got an open dispute or an open promise to pay (the collections rule,
    core.credit.collections.paused_invoices); note each in the run's skipped list with why.
    The rest take the invoice's amount open now, and the letter is priced again (level, fee,
    interest, amount overdue). False: nothing is left, the letter must not be sent (its items
    stay as proposed, for the record)."""
    keep, drop = [], []
    for item in letter.items:
        invoice = item.invoice
        if invoice.amount_open <= 0:
            reason = "paid since the run proposed its letter"
        elif why := paused.get(invoice.id):
            reason = PAUSED[why] + " since the run proposed its letter"
        else:
            keep.append(item)
            continue
        drop.append(item)
        skipped.append({"invoice": invoice.number, "customer": customer.name,
                        "reason": reason})
    if not keep:
        return False
    for item in drop:
        letter.items.remove(item)  # delete-orphan
    for item in keep:
        item.amount_open = item.invoice.amount_open
    _price(letter, run, ladder, since, rate)
    session.flush()
    return True


def _send_letter(session: Session, letter: DunningLetter, customer: Customer, *,
                 ladder: dict[int, DunningLevel], actor: audit.Actor, today: dt.date) -> None:
    lines = []
    level = ladder.get(letter.level)
    level_name = level.name if level is not None else f"Level {letter.level}"
    if letter.fee > 0:
        lines.append(invoicing.FreeTextLine(f"Dunning fee: {level_name}", 1, letter.fee, ZERO,
                                            kind="dunning_fee"))
    for item in letter.items:
        if item.interest > 0:
            lines.append(invoicing.FreeTextLine(
                f"Default interest on {item.invoice.number}: {item.amount_open} "
                f"{letter.currency} for {item.days_overdue} days overdue", 1, item.interest,
                ZERO, kind="interest"))
    pay_by = today + dt.timedelta(days=PAY_WITHIN_DAYS)
    if lines:
        charges = invoicing.issue_free_text(
            session, customer=customer, lines=lines, actor=actor, currency=letter.currency,
            prices_include_tax=False, terms=f"net{PAY_WITHIN_DAYS}", today=today,
            use_credit=False,
            memo=f"Dunning charges: {level_name} of dunning run {letter.run_id}")
        letter.charges_invoice_id = charges.id
        pay_by = charges.due_date
    for item in letter.items:
        item.invoice.dunning_level = max(item.invoice.dunning_level, item.level)
        item.invoice.dunned_on = today
    # The text as sent: a later edit of the level rewrites no sent letter.
    letter.subject, letter.body = letter_text(letter, customer.name, level, pay_by)
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


def letter_text(letter: DunningLetter, customer_name: str, level: DunningLevel | None,
                pay_by: dt.date) -> tuple[str, str]:
    """The level's subject and body with the letter's placeholders filled."""
    cur = letter.currency
    total = letter.amount_overdue + letter.fee + letter.interest
    values = {"customer": customer_name,
              "overdue_total": Money(letter.amount_overdue, cur).format(),
              "fee": Money(letter.fee, cur).format(),
              "interest": Money(letter.interest, cur).format(),
              "total_due": Money(total, cur).format(), "pay_by": pay_by.strftime("%d %b %Y")}
    subject = fill(level.subject if level else "Overdue invoices", values)
    return subject[:200], fill(level.body if level else "", values)[:4000]


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
    # This page's letters by level: (level, its letters on this page, its letters in all).
    by_level: list[tuple[DunningLevel | None, list[LetterRow], int]]
    to_send: int
    letters: int  # in the run, all pages
    page: int
    pages: int

    @property
    def working(self) -> bool:
        return self.run.status in (RunStatus.QUEUED, RunStatus.RUNNING)

    @property
    def first(self) -> int:  # the first letter on this page, counting from 1
        return (self.page - 1) * LETTERS_PER_PAGE + 1

    @property
    def last(self) -> int:
        return min(self.page * LETTERS_PER_PAGE, self.letters)

    @property
    def skipped(self) -> list[dict]:
        return list(self.run.skipped or [])[:SKIPPED_SHOWN]

    @property
    def skipped_more(self) -> int:
        return max(len(self.run.skipped or []) - SKIPPED_SHOWN, 0)


def run_view(session: Session, run_id: int, *, page: int = 1) -> RunView:
    """A run with one page of its letters (LETTERS_PER_PAGE, by level then id), grouped by
    level, with their customers, invoices and charges documents, and the letters counted by
    level and status: a fixed number of queries, whatever the number of letters."""
    run = get_run(session, run_id)
    per_level: dict[int, int] = defaultdict(int)
    to_send = 0
    for level, status, n in session.execute(
            select(DunningLetter.level, DunningLetter.status, func.count())
            .where(DunningLetter.run_id == run.id)
            .group_by(DunningLetter.level, DunningLetter.status)):
        per_level[level] += n
        to_send += n if status == LetterStatus.PROPOSED else 0
    total = sum(per_level.values())
    pages = max(1, -(-total // LETTERS_PER_PAGE))
    page = min(max(page, 1), pages)
    letters = list(session.scalars(
        select(DunningLetter).where(DunningLetter.run_id == run.id)
        .options(selectinload(DunningLetter.items).selectinload(DunningLetterItem.invoice))
        .order_by(DunningLetter.level, DunningLetter.id)
        .offset((page - 1) * LETTERS_PER_PAGE).limit(LETTERS_PER_PAGE))) if total else []
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
    by_level = [(ladder.get(level), rows, per_level[level])
                for level, rows in sorted(grouped.items())]
    return RunView(run, ladder, by_level, to_send, total, page, pages)
