"""Dunning runs: levels by days overdue, the invoices no letter goes to (disputes, open
promises to pay), interest computed by hand, the charges document and its journal entry,
sending once, removed letters staying unsent, and statuses only through the tables."""
import datetime as dt
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from core import clock, events
from core.billing import invoicing, ledger
from core.billing.invoicing import FreeTextLine
from core.billing.models import Invoice, JournalEntry
from core.config import load_settings
from core.credit import dunning, letters
from core.credit.models import Dispute, DunningLetter, DunningRun, PromiseToPay
from core.credit.states import (DisputeStatus, IllegalCreditTransition, LetterStatus,
                                PromiseStatus, RunStatus)
from tests.billing_support import CLERK
from tests.factories import CustomerFactory

SETTINGS = load_settings(environ={})  # DUNNING_INTEREST_RATE 9.12


@pytest.fixture(autouse=True)
def back_to_today():
    yield
    clock.reset()


def customer(db, name):
    c = CustomerFactory(kind="company", name=name, payment_terms="net30",
                        on_account_allowed=True)
    db.flush()
    return c


def overdue(db, who, days: int, amount: str = "100.00") -> Invoice:
    """A net-30 free-text invoice (no VAT) `days` overdue today."""
    issued = clock.today() - dt.timedelta(days=30 + days)
    return invoicing.issue_free_text(db, customer=who, actor=CLERK, today=issued, terms="net30",
                                     lines=[FreeTextLine("Consulting", 1, D(amount), D(0))])


def run_now(db, as_of: dt.date | None = None) -> DunningRun:
    run = dunning.start_run(db, as_of=as_of or clock.today(), actor=CLERK)
    return dunning.propose(db, run, settings=SETTINGS)


def break_off_after_letters(run: DunningRun) -> None:
    """A progress report that fails once the run has proposed letters: the database went
    away half-way through a run."""
    if run.letters:
        raise ConnectionError("the database went away")


def letter_of(run, who) -> DunningLetter | None:
    found = [l for l in run.letters if l.customer_id == who.id]
    assert len(found) <= 1
    return found[0] if found else None


def skips_of(run, who) -> list[dict]:
    return [s for s in run.skipped if s["customer"] == who.name]


# -- levels -----------------------------------------------------------------------------------

def test_the_due_level_is_the_highest_whose_days_are_reached(db):
    ladder = dunning.levels(db)
    assert [(l.level, l.days_overdue, l.fee, l.charges_interest) for l in ladder] == [
        (1, 7, D(0), False), (2, 21, D(5), False), (3, 35, D(10), True), (4, 50, D(15), True)]
    got = {days: getattr(dunning.due_level(ladder, days), "level", None)
           for days in (0, 6, 7, 20, 21, 34, 35, 49, 50, 400)}
    assert got == {0: None, 6: None, 7: 1, 20: 1, 21: 2, 34: 2, 35: 3, 49: 3, 50: 4, 400: 4}


def test_one_letter_per_customer_at_the_highest_level_with_fee_and_interest_by_hand(db):
    """Level 3 (40 days) charges 10.00; interest only on the invoice whose OWN level charges
    it: 100.00 x 9.12 % x 40 / 365 = 0.99945 -> 1.00 (level 3); the 10-day invoice is at
    level 1 (a reminder): no interest on it, although the letter is a level-3 letter."""
    dora = customer(db, "Dora Dunning")
    old, young = overdue(db, dora, 40), overdue(db, dora, 10, "200.00")
    overdue(db, dora, 3)  # not yet a reminder
    run = run_now(db)
    assert run.status == RunStatus.PROPOSED and run.done == run.total >= 1
    letter = letter_of(run, dora)
    assert (letter.level, letter.fee, letter.interest, letter.amount_overdue) == (
        3, D("10.00"), D("1.00"), D("300.00"))
    assert [(i.invoice_id, i.level, i.days_overdue, i.interest) for i in letter.items] == [
        (old.id, 3, 40, D("1.00")), (young.id, 1, 10, D(0))]
    assert letter.email == dora.email and letter.status == LetterStatus.PROPOSED


def test_a_reminder_has_no_fee_and_no_interest(db):
    rita = customer(db, "Rita Reminder")
    overdue(db, rita, 8)
    letter = letter_of(run_now(db), rita)
    assert (letter.level, letter.fee, letter.interest) == (1, D(0), D(0))


def test_no_letter_for_an_invoice_under_dispute_or_an_open_promise(db):
    ada = customer(db, "Ada Disputed")
    disputed = overdue(db, ada, 25)
    db.add(Dispute(invoice_id=disputed.id, customer_id=ada.id, reason="Wrong goods",
                   status=DisputeStatus.OPEN))
    pia = customer(db, "Pia Promised")
    promised = overdue(db, pia, 25)
    db.add(PromiseToPay(customer_id=pia.id, amount=D("100.00"), currency="EUR",
                        promised_for=clock.today() + dt.timedelta(days=3),
                        status=PromiseStatus.OPEN, invoices=[promised]))
    # A promise whose date passed, or one broken, protects nothing.
    lou = customer(db, "Lou Lapsed")
    lapsed = overdue(db, lou, 25)
    db.add(PromiseToPay(customer_id=lou.id, amount=D("100.00"), currency="EUR",
                        promised_for=clock.today() - dt.timedelta(days=1),
                        status=PromiseStatus.OPEN, invoices=[lapsed]))
    ben = customer(db, "Ben Broken")
    broken = overdue(db, ben, 25)
    db.add(PromiseToPay(customer_id=ben.id, amount=D("100.00"), currency="EUR",
                        promised_for=clock.today() + dt.timedelta(days=3),
                        status=PromiseStatus.BROKEN, invoices=[broken]))
    # A resolved dispute no longer pauses dunning.
    rex = customer(db, "Rex Resolved")
    resolved = overdue(db, rex, 25)
    db.add(Dispute(invoice_id=resolved.id, customer_id=rex.id, reason="Price",
                   status=DisputeStatus.RESOLVED))
    db.flush()
    run = run_now(db)
    assert letter_of(run, ada) is None and letter_of(run, pia) is None
    assert skips_of(run, ada) == [{"invoice": disputed.number, "customer": ada.name,
                                   "reason": "under dispute"}]
    assert skips_of(run, pia) == [{"invoice": promised.number, "customer": pia.name,
                                   "reason": "promise to pay"}]
    for who in (lou, ben, rex):
        assert letter_of(run, who).level == 2, who.name


def test_credit_notes_paid_and_not_overdue_invoices_get_no_letter(db):
    nia = customer(db, "Nia Nothing")
    paid = overdue(db, nia, 30)
    paid.amount_open = D(0)  # as if paid (allocations are billing's)
    overdue(db, nia, 0)  # due today: not overdue
    invoice = overdue(db, nia, 30, "50.00")
    invoicing.issue_credit_note(db, invoice, lines=None, reason="Credited", actor=CLERK)
    db.flush()
    run = run_now(db)
    assert letter_of(run, nia) is None and skips_of(run, nia) == []


# -- over time ----------------------------------------------------------------------------------

def test_never_the_same_level_twice_a_wait_of_seven_days_and_a_missed_level_skipped(db):
    tom = customer(db, "Tom Later")
    invoice = overdue(db, tom, 8)
    run = run_now(db)
    dunning.send_run(db, run, actor=CLERK, settings=SETTINGS)
    assert (invoice.dunning_level, invoice.dunned_on) == (1, clock.today())
    clock.travel(days=10)  # 18 days overdue: still level 1, already had it
    again = run_now(db)
    assert letter_of(again, tom) is None and skips_of(again, tom) == []
    dunning.cancel_run(db, again, actor=CLERK)
    clock.travel(days=5)  # 23 days overdue (level 2), 15 days after the letter: proposed
    assert letter_of(run_now(db), tom).level == 2


def test_a_level_due_within_seven_days_of_the_last_letter_waits(db):
    wes = customer(db, "Wes Waiting")
    invoice = overdue(db, wes, 18)
    dunning.send_run(db, run_now(db), actor=CLERK, settings=SETTINGS)
    clock.travel(days=4)  # 22 days overdue: level 2 is due, but the letter was 4 days ago
    run = run_now(db)
    wait = (invoice.dunned_on + dt.timedelta(days=7)).isoformat()
    assert letter_of(run, wes) is None
    assert skips_of(run, wes) == [{"invoice": invoice.number, "customer": wes.name,
                                   "reason": f"letter sent on {invoice.dunned_on.isoformat()}; "
                                             f"the next from {wait}"}]


def test_a_late_run_goes_straight_to_the_due_level_and_interest_runs_from_the_last_charge(db):
    """Dunned at 36 days (level 3, interest for 36 days); 20 days later (56 days, level 4,
    levels 1 and 2 never sent) interest for the 20 days since: 1000.00 x 9.12 % x 36 / 365 =
    8.99506 -> 9.00, then 1000.00 x 9.12 % x 20 / 365 = 4.99726 -> 5.00."""
    kai = customer(db, "Kai Late")
    invoice = overdue(db, kai, 36, "1000.00")
    first = run_now(db)
    assert (letter_of(first, kai).level, letter_of(first, kai).interest) == (3, D("9.00"))
    dunning.send_run(db, first, actor=CLERK, settings=SETTINGS)
    clock.travel(days=20)
    second = run_now(db)
    letter = letter_of(second, kai)
    assert (letter.level, letter.fee, letter.interest) == (4, D("15.00"), D("5.00"))
    assert invoice.dunning_level == 3


# -- sending --------------------------------------------------------------------------------------

def test_sending_posts_one_charges_document_whose_entry_balances_and_grows_receivables(db):
    eva = customer(db, "Eva Charges")
    invoice = overdue(db, eva, 40, "500.00")  # 500 x 9.12 % x 40 / 365 = 4.99726 -> 5.00
    run = run_now(db)
    before = ledger.balance(db, ledger.RECEIVABLES, customer_id=eva.id)
    charges_before = ledger.balance(db, ledger.DUNNING_CHARGES)
    sent = dunning.send_run(db, run, actor=CLERK, settings=SETTINGS)
    letter = letter_of(run, eva)
    assert letter in sent and letter.status == LetterStatus.SENT and run.status == RunStatus.SENT
    doc = db.get(Invoice, letter.charges_invoice_id)
    assert doc.kind == "invoice" and doc.number.startswith("INV-")
    assert [(l.kind, l.net, l.tax_rate, l.tax, l.gross) for l in doc.lines] == [
        ("dunning_fee", D("10.00"), D(0), D(0), D("10.00")),
        ("interest", D("5.00"), D(0), D(0), D("5.00"))]
    assert (doc.gross_total, doc.tax_total, doc.amount_open) == (D("15.00"), D(0), D("15.00"))
    assert doc.due_date == clock.today() + dt.timedelta(days=14)
    entry = db.get(JournalEntry, doc.entry_id)
    assert sum(l.debit for l in entry.lines) == sum(l.credit for l in entry.lines) == D("15.00")
    lines = sorted((l.account_code, l.debit, l.credit) for l in entry.lines if l.debit or l.credit)
    assert lines == [("1200", D("15.00"), D(0)), ("4030", D(0), D("5.00")),
                     ("4030", D(0), D("10.00"))]
    assert ledger.balance(db, ledger.RECEIVABLES, customer_id=eva.id) - before == D("15.00")
    # 4030 grows by every letter's charges of the run (the demo's overdue accounts too).
    assert charges_before - ledger.balance(db, ledger.DUNNING_CHARGES) == sum(
        l.fee + l.interest for l in sent) >= D("15.00")
    assert (invoice.dunning_level, invoice.dunned_on) == (3, clock.today())
    assert events.DunningLetterSent(letter.id) in events.pending(db)
    # The charges document itself is never dunned (no fees on fees).
    clock.travel(days=60)
    later = run_now(db)
    assert all(i.invoice_id != doc.id for l in later.letters for i in l.items)


def test_a_reminder_posts_no_document(db):
    rob = customer(db, "Rob Reminded")
    overdue(db, rob, 9)
    run = run_now(db)
    count = db.scalar(select(func.count()).select_from(Invoice))
    dunning.send_run(db, run, actor=CLERK, settings=SETTINGS)
    letter = letter_of(run, rob)
    assert letter.status == LetterStatus.SENT and letter.charges_invoice_id is None
    assert db.scalar(select(func.count()).select_from(Invoice)) == count + sum(
        1 for l in run.letters if l.charges_invoice_id)


def test_a_run_is_sent_once_and_removed_letters_are_not_sent(db):
    one, two = customer(db, "One Kept"), customer(db, "Two Removed")
    overdue(db, one, 25)
    spared = overdue(db, two, 25)
    run = run_now(db)
    removed = letter_of(run, two)
    dunning.remove_letter(db, removed, actor=CLERK)
    dunning.restore_letter(db, removed, actor=CLERK)
    dunning.remove_letter(db, removed, actor=CLERK)
    sent = dunning.send_run(db, run, actor=CLERK, settings=SETTINGS)
    assert letter_of(run, one) in sent and removed not in sent
    assert removed.status == LetterStatus.REMOVED and removed.charges_invoice_id is None
    assert (spared.dunning_level, spared.dunned_on) == (0, None)
    assert events.DunningLetterSent(removed.id) not in events.pending(db)
    with pytest.raises(IllegalCreditTransition):
        dunning.send_run(db, run, actor=CLERK, settings=SETTINGS)
    with pytest.raises(dunning.DunningError):
        dunning.restore_letter(db, removed, actor=CLERK)


def test_statuses_move_only_through_the_transition_tables(db):
    run = dunning.start_run(db, as_of=clock.today(), actor=CLERK)
    with pytest.raises(IllegalCreditTransition):
        dunning.send_run(db, run, actor=CLERK, settings=SETTINGS)  # queued: nothing to send
    with pytest.raises(dunning.DunningError):
        dunning.start_run(db, as_of=clock.today(), actor=CLERK)  # one run at a time
    dunning.propose(db, run, settings=SETTINGS)
    with pytest.raises(IllegalCreditTransition):
        dunning.propose(db, run, settings=SETTINGS)  # proposed cannot run again
    dunning.cancel_run(db, run, actor=CLERK)
    with pytest.raises(IllegalCreditTransition):
        dunning.cancel_run(db, run, actor=CLERK)
    with pytest.raises(dunning.DunningError):
        dunning.start_run(db, as_of=clock.today() + dt.timedelta(days=1), actor=CLERK)


# -- the letter and the levels' texts -----------------------------------------------------------

def test_the_letter_fills_its_levels_text_and_renders_a_pdf(db):
    lea = customer(db, "Lea Letter")
    invoice = overdue(db, lea, 40)
    letter = letter_of(run_now(db), lea)
    doc = letters.describe(db, letter)
    assert doc.subject == "Second dunning letter: 100.00 EUR overdue"
    assert doc.paragraphs[0] == "Dear Lea Letter,"
    assert "dunning fee of 10.00 EUR and default interest of 1.00 EUR" in doc.paragraphs[1]
    assert "Please pay 111.00 EUR by" in doc.paragraphs[1]
    html = letters.letter_html(db, letter, seller=letters.Seller("Marketline", ("Street 1",),
                                                                 "DE123", "DE89 3704"))
    assert invoice.number in html and "DE89 3704" in html and "111.00 EUR" in html
    pdf = letters.letter_pdf(db, letter, seller=letters.Seller("Marketline", (), ""))
    assert pdf.startswith(b"%PDF")


def test_placeholders_are_filled_by_name_only():
    values = {"customer": "Acme", "fee": "5.00 EUR"}
    assert dunning.fill("{customer} owes {fee} {unknown} {customer.__class__}", values) == (
        "Acme owes 5.00 EUR {unknown} {customer.__class__}")


def change(level, **over):
    base = dict(level=level.level, name=level.name, days_overdue=level.days_overdue,
                fee=level.fee, charges_interest=level.charges_interest, subject=level.subject,
                body=level.body)
    return dunning.LevelChange(**{**base, **over})


def test_levels_are_edited_with_rising_days_and_known_placeholders(db):
    ladder = dunning.levels(db)
    with pytest.raises(dunning.DunningError) as err:
        dunning.update_levels(db, [change(ladder[0]), change(ladder[1], days_overdue=7),
                                   change(ladder[2]), change(ladder[3])], actor=CLERK)
    assert err.value.field == "level2-days_overdue"
    with pytest.raises(dunning.DunningError) as err:
        dunning.update_levels(db, [change(l, body=l.body + " {balance}") if l.level == 4
                                   else change(l) for l in ladder], actor=CLERK)
    assert err.value.field == "level4-body" and "{balance}" in str(err.value)
    assert ladder[1].days_overdue == 21  # nothing half-written
    dunning.update_levels(db, [change(ladder[0], days_overdue=5, name="Friendly reminder"),
                               *(change(l) for l in ladder[1:])], actor=CLERK)
    assert (ladder[0].days_overdue, ladder[0].name) == (5, "Friendly reminder")


def test_a_letter_whose_invoices_were_paid_since_the_proposal_is_not_sent(db):
    pam = customer(db, "Pam Paid Meanwhile")
    invoice = overdue(db, pam, 40)
    run = run_now(db)
    invoice.amount_open = D(0)  # as if paid in between (allocations are billing's)
    db.flush()
    sent = dunning.send_run(db, run, actor=CLERK, settings=SETTINGS)
    letter = letter_of(run, pam)
    assert letter not in sent and letter.status == LetterStatus.REMOVED
    assert letter.charges_invoice_id is None and invoice.dunning_level == 0


# -- checked again when sent ------------------------------------------------------------------

def test_a_promise_or_dispute_recorded_between_proposal_and_send_takes_the_invoice_out(db):
    """Pia promises to pay (her only invoice): her letter is removed, not sent. Dan disputes
    one of his two invoices: his letter goes out without it, priced again (level 3 -> 2)."""
    from core.credit import collections
    pia, dan = customer(db, "Pia Promised Later"), customer(db, "Dan Disputed Later")
    promised = overdue(db, pia, 40)
    disputed, other = overdue(db, dan, 40), overdue(db, dan, 25, "200.00")
    run = run_now(db)
    assert letter_of(run, pia).level == 3 and letter_of(run, dan).level == 3
    collections.promise_to_pay(db, pia, amount=D("100.00"), invoices=[promised.id],
                               promised_for=clock.today() + dt.timedelta(days=5),
                               note="", actor=CLERK)
    collections.open_dispute(db, disputed, reason="Never arrived", actor=CLERK)
    sent = dunning.send_run(db, run, actor=CLERK, settings=SETTINGS)
    pias, dans = letter_of(run, pia), letter_of(run, dan)
    assert pias not in sent and pias.status == LetterStatus.REMOVED
    assert pias.charges_invoice_id is None and promised.dunning_level == 0
    assert dans in sent and [i.invoice_id for i in dans.items] == [other.id]
    assert (dans.level, dans.fee, dans.interest, dans.amount_overdue) == (
        2, D("5.00"), D(0), D("200.00"))
    assert (disputed.dunning_level, other.dunning_level) == (0, 2)
    charges = db.get(Invoice, dans.charges_invoice_id)
    assert charges.gross_total == D("5.00") and [l.kind for l in charges.lines] == ["dunning_fee"]
    assert {"invoice": promised.number, "customer": pia.name,
            "reason": "promise to pay since the run proposed its letter"} in run.skipped
    assert {"invoice": disputed.number, "customer": dan.name,
            "reason": "under dispute since the run proposed its letter"} in run.skipped


def test_an_item_paid_since_is_dropped_and_a_part_paid_one_claims_what_is_open_now(db):
    """Two invoices at 40 days: one paid since (dropped), one part-paid down to 60.00:
    interest 60.00 x 9.12 % x 40 / 365 = 0.59967 -> 0.60."""
    pat = customer(db, "Pat Part Paid")
    paid, part = overdue(db, pat, 40), overdue(db, pat, 40)
    run = run_now(db)
    assert letter_of(run, pat).interest == D("2.00")
    paid.amount_open, part.amount_open = D(0), D("60.00")  # as if paid (allocations: billing)
    db.flush()
    dunning.send_run(db, run, actor=CLERK, settings=SETTINGS)
    letter = letter_of(run, pat)
    assert letter.status == LetterStatus.SENT
    assert [(i.invoice_id, i.amount_open, i.interest) for i in letter.items] == [
        (part.id, D("60.00"), D("0.60"))]
    assert (letter.amount_overdue, letter.fee, letter.interest) == (D("60.00"), D("10.00"),
                                                                     D("0.60"))
    assert (paid.dunning_level, part.dunning_level) == (0, 3)
    assert {"invoice": paid.number, "customer": pat.name,
            "reason": "paid since the run proposed its letter"} in run.skipped


def test_interest_per_item_by_its_own_level_by_hand(db):
    """Level 4 letter: 300.00 at 55 days (level 4) 300 x 9.12 % x 55 / 365 = 4.12274 -> 4.12;
    400.00 at 36 days (level 3) 400 x 9.12 % x 36 / 365 = 3.59803 -> 3.60; 500.00 at 22
    days (level 2: no interest). Total 7.72, fee 15.00."""
    ivy = customer(db, "Ivy Interest")
    overdue(db, ivy, 55, "300.00"), overdue(db, ivy, 36, "400.00"), overdue(db, ivy, 22, "500.00")
    letter = letter_of(run_now(db), ivy)
    assert [(i.level, i.interest) for i in letter.items] == [
        (4, D("4.12")), (3, D("3.60")), (2, D(0))]
    assert (letter.level, letter.fee, letter.interest) == (4, D("15.00"), D("7.72"))


# -- one run at a time, failures ----------------------------------------------------------------

def test_a_second_start_is_refused_while_a_run_is_busy_and_a_failed_run_is_tried_again(db):
    first = dunning.start_run(db, as_of=clock.today(), actor=CLERK)
    with pytest.raises(dunning.DunningError) as err:
        dunning.start_run(db, as_of=clock.today(), actor=CLERK)
    assert err.value.field == "as_of" and f"run {first.id}" in str(err.value)
    assert db.scalar(select(func.count()).select_from(DunningRun).where(
        DunningRun.status.in_(dunning.BUSY))) == 1
    # The proposal breaks off half-way: its letters go, the run is failed, not busy.
    overdue(db, customer(db, "Fay Failed"), 40)
    with pytest.raises(ConnectionError):  # the proposal breaks off after its first accounts
        dunning.propose(db, first, settings=SETTINGS, progress=break_off_after_letters)
    assert first.status == RunStatus.RUNNING and first.letters
    dunning.fail_run(db, first, "OperationalError: gone")
    assert first.status == RunStatus.FAILED and first.letters == [] and first.skipped == []
    assert db.scalar(select(func.count()).select_from(DunningLetter).where(
        DunningLetter.run_id == first.id)) == 0
    again = dunning.retry_run(db, first, actor=CLERK)
    assert again.status == RunStatus.QUEUED and again.error == ""
    with pytest.raises(dunning.DunningError):
        dunning.retry_run(db, first, actor=CLERK)  # busy now (itself): nothing twice
    dunning.propose(db, again, settings=SETTINGS)
    assert again.status == RunStatus.PROPOSED and again.letters


# -- the text as sent -----------------------------------------------------------------------------

def test_a_sent_letter_keeps_its_text_after_the_level_is_edited(db):
    sue = customer(db, "Sue Sent")
    overdue(db, sue, 40)
    run = run_now(db)
    dunning.send_run(db, run, actor=CLERK, settings=SETTINGS)
    letter = letter_of(run, sue)
    assert letter.subject == "Second dunning letter: 100.00 EUR overdue"
    assert letter.body.startswith("Dear Sue Sent,") and "111.00 EUR" in letter.body
    ladder = dunning.levels(db)
    dunning.update_levels(db, [change(l, subject="Pay now {customer}", body="New text.")
                               if l.level == 3 else change(l) for l in ladder], actor=CLERK)
    doc = letters.describe(db, letter)
    assert doc.subject == "Second dunning letter: 100.00 EUR overdue"
    assert doc.paragraphs[0] == "Dear Sue Sent," and "New text." not in doc.paragraphs
    # A proposed letter says the level's text as it is now.
    lee = customer(db, "Lee Later")
    overdue(db, lee, 40)
    proposed = letter_of(run_now(db), lee)
    assert letters.describe(db, proposed).subject == "Pay now Lee Later"


def test_the_letter_loads_its_invoices_with_its_items_whatever_their_number(db, connection):
    from tests.helpers import QueryCounter
    one, five = customer(db, "Una One"), customer(db, "Fiona Five")
    overdue(db, one, 40)
    for days in (40, 38, 36, 30, 25):
        overdue(db, five, days)
    run = run_now(db)
    dunning.send_run(db, run, actor=CLERK, settings=SETTINGS)
    counts = []
    for who in (one, five):
        letter = letter_of(run, who)
        db.expire_all()
        with QueryCounter(connection) as counter:
            html = letters.letter_html(db, letter, seller=letters.Seller("Marketline", (), ""))
        assert html.count("<td class=\"num\">") >= len(letter.items)
        counts.append(counter.count)
    assert counts[0] == counts[1]
