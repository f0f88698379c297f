"""The console's dunning pages: starting a run (proposed inline, its progress on the page,
polling only while it works), reviewing letters (remove, put back, PDF), sending them (the
customers e-mailed the PDFs, the charges documents linked), the levels' setup (errors at the
field, nothing half-written); roles, CSRF, and the run page's fixed number of queries."""
import re

import pytest
from sqlalchemy import select

from core import clock
from core.credit import dunning
from core.credit.models import DunningLetter, DunningLevel, DunningRun
from core.credit.states import LetterStatus, RunStatus
from core.auth.passwords import hash_password
from tests.billing_support import CLERK
from tests.conftest import agent_client_for, csrf_token
from tests.factories import AgentFactory
from tests.helpers import QueryCounter
from tests.unit.test_dunning import SETTINGS, break_off_after_letters, customer, overdue


@pytest.fixture
def credit_client(console_app):
    return agent_client_for(console_app, "billing@marketline.example")  # billing + credit


@pytest.fixture
def reader_client(console_app, db):
    """An agent with the billing role only: reads dunning, changes nothing."""
    AgentFactory(email="dunning-reader@test.example", roles_text="billing",
                 password_hash=hash_password("demo-pass-1"))
    db.commit()
    return agent_client_for(console_app, "dunning-reader@test.example")


def page(client, path) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def post(client, path, data=None, page_path="/dunning/"):
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, page_path)})


def fresh(db, model, id_):
    db.expire_all()
    return db.get(model, id_)


def start(client) -> int:
    response = post(client, "/dunning/runs", {"as_of": clock.today().isoformat()})
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(re.search(r"/dunning/runs/(\d+)$", response.headers["Location"]).group(1))


def letter_for(db, run_id, who) -> DunningLetter:
    db.expire_all()
    return db.scalar(select(DunningLetter).where(DunningLetter.run_id == run_id,
                                                 DunningLetter.customer_id == who.id))


# -- roles and CSRF -----------------------------------------------------------------------------

def test_credit_and_supervisors_run_dunning_billing_reads_agents_see_nothing(
        credit_client, supervisor_client, agent_client, reader_client, db):
    for client in (credit_client, supervisor_client):
        assert "Start a dunning run" in page(client, "/dunning/")
        assert 'href="/dunning/"' in page(client, "/")  # the nav link
        page(client, "/dunning/levels")
    html = page(reader_client, "/dunning/")
    assert "Start a dunning run" not in html and 'href="/dunning/"' in page(reader_client, "/")
    assert post(reader_client, "/dunning/runs", {"as_of": clock.today().isoformat()}
                ).status_code == 403
    assert reader_client.get("/dunning/levels").status_code == 403
    assert agent_client.get("/dunning/").status_code == 403
    assert 'href="/dunning/"' not in page(agent_client, "/")
    assert db.scalar(select(DunningRun).where(DunningRun.status != RunStatus.SENT)) is None


def test_without_a_csrf_token_nothing_starts(credit_client, db):
    response = credit_client.post("/dunning/runs", data={"as_of": clock.today().isoformat()})
    assert response.status_code in (200, 400)
    assert db.scalar(select(DunningRun).where(DunningRun.status != RunStatus.SENT)) is None


def test_unknown_runs_and_letters_are_404(credit_client):
    assert credit_client.get("/dunning/runs/999999").status_code == 404
    assert credit_client.get("/dunning/letters/999999/pdf").status_code == 404


# -- a run --------------------------------------------------------------------------------------

def test_a_run_is_proposed_during_the_post_and_shows_its_letters_and_skips(credit_client, db):
    dora = customer(db, "Dora Web")
    invoice = overdue(db, dora, 40)
    sam = customer(db, "Sam Skipped")
    disputed = overdue(db, sam, 25)
    from core.credit.models import Dispute
    from core.credit.states import DisputeStatus
    db.add(Dispute(invoice_id=disputed.id, customer_id=sam.id, reason="Broken",
                   status=DisputeStatus.OPEN))
    db.commit()
    run_id = start(credit_client)
    run = fresh(db, DunningRun, run_id)
    assert run.status == RunStatus.PROPOSED and run.done == run.total >= 2
    html = page(credit_client, f"/dunning/runs/{run_id}")
    assert f"Looked at {run.total} of {run.total} accounts" in html
    assert re.search(r'<progress [^>]*max="%d" value="%d"' % (run.total, run.total), html)
    assert 'hx-trigger="every 1s"' not in html  # done: no more polling
    assert "Second dunning letter (level 3)" in html and "Dora Web" in html
    assert invoice.number in html and "10.00 EUR" in html
    assert disputed.number in html and "under dispute" in html
    letter = letter_for(db, run_id, dora)
    assert f'href="/dunning/letters/{letter.id}/pdf"' in html
    response = credit_client.get(f"/dunning/letters/{letter.id}/pdf")
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")


def test_a_working_run_polls_its_progress_and_answers_htmx_with_the_fragment(credit_client, db):
    run = dunning.start_run(db, as_of=clock.today(), actor=CLERK)  # queued: nobody proposed it
    db.commit()
    html = page(credit_client, f"/dunning/runs/{run.id}")
    assert f'hx-get="/dunning/runs/{run.id}" hx-trigger="every 1s"' in html
    assert "Looked at 0 of 0 accounts" in html and "<progress" in html
    fragment = credit_client.get(f"/dunning/runs/{run.id}", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="run"') and "<h1>" not in body


def test_removing_putting_back_and_sending_letters(credit_client, db, smtp_sink):
    kept, spared = customer(db, "Kim Kept"), customer(db, "Sid Spared")
    kept.email, spared.email = "kim@dunning.example", "sid@dunning.example"
    invoice = overdue(db, kept, 40)
    overdue(db, spared, 40)
    db.commit()
    run_id = start(credit_client)
    removed = letter_for(db, run_id, spared)
    assert post(credit_client, f"/dunning/letters/{removed.id}/remove").status_code == 303
    assert letter_for(db, run_id, spared).status == LetterStatus.REMOVED
    assert "Put back" in page(credit_client, f"/dunning/runs/{run_id}")
    post(credit_client, f"/dunning/letters/{removed.id}/restore")
    assert letter_for(db, run_id, spared).status == LetterStatus.PROPOSED
    post(credit_client, f"/dunning/letters/{removed.id}/remove")
    run = fresh(db, DunningRun, run_id)
    to_send = sum(1 for l in run.letters if l.status == LetterStatus.PROPOSED)
    html = page(credit_client, f"/dunning/runs/{run_id}")
    assert f">Send {to_send} letter{'' if to_send == 1 else 's'}</button>" in html
    response = post(credit_client, f"/dunning/runs/{run_id}/send")
    assert response.status_code == 303
    sent = letter_for(db, run_id, kept)
    assert sent.status == LetterStatus.SENT and sent.emailed_at is not None
    assert letter_for(db, run_id, spared).status == LetterStatus.REMOVED
    message = smtp_sink.wait_for("kim@dunning.example", subject="Second dunning letter")
    pdfs = [p.get_filename() for p in message.iter_attachments()]
    charges = fresh(db, type(invoice), sent.charges_invoice_id)
    assert pdfs == [f"dunning-letter-DL-{sent.id:06d}.pdf", f"{charges.number}.pdf"]
    assert not any("sid@dunning.example" in m["To"] for m in smtp_sink.messages)
    html = page(credit_client, f"/dunning/runs/{run_id}")
    assert f'href="/billing/invoices/{charges.number}"' in html and ">Remove</button>" not in html
    assert post(credit_client, f"/dunning/runs/{run_id}/send").status_code == 303  # refused
    assert "Sent" in page(credit_client, "/dunning/")


def test_the_run_page_costs_the_same_queries_for_few_letters_or_many(
        credit_client, db, connection):
    def count(run_id) -> int:
        path = f"/dunning/runs/{run_id}"
        credit_client.get(path)  # warm-up
        with QueryCounter(connection) as counter:
            assert credit_client.get(path).status_code == 200
        return counter.count

    demo = db.scalar(select(DunningRun).order_by(DunningRun.id))  # sent: one letter
    few_sent = count(demo.id)
    overdue(db, customer(db, "Count one"), 40)  # the demo's own are promised or disputed
    db.commit()
    few = start(credit_client)
    assert len(fresh(db, DunningRun, few).letters) == 1
    few_proposed = count(few)
    assert post(credit_client, f"/dunning/runs/{few}/cancel").status_code == 303
    for i in range(12):
        overdue(db, customer(db, f"Count {i}"), 20 + i * 3)
    db.commit()
    many = start(credit_client)
    assert len(fresh(db, DunningRun, many).letters) >= 12 + len(fresh(db, DunningRun, few).letters)
    assert count(many) == few_proposed
    post(credit_client, f"/dunning/runs/{many}/send")
    assert count(many) == few_sent
    assert page(credit_client, f"/dunning/runs/{many}").count("(PDF)") >= 12


# -- levels -----------------------------------------------------------------------------------

def levels_form(db, **over) -> dict:
    data = {}
    for level in db.scalars(select(DunningLevel).order_by(DunningLevel.level)):
        prefix = f"level{level.level}-"
        data.update({prefix + "name": level.name, prefix + "days_overdue": str(level.days_overdue),
                     prefix + "fee": str(level.fee), prefix + "subject": level.subject,
                     prefix + "body": level.body})
        if level.charges_interest:
            data[prefix + "charges_interest"] = "y"
    data.update(over)
    return data


def test_levels_are_edited_with_errors_at_the_field(credit_client, db):
    html = page(credit_client, "/dunning/levels")
    assert '<label for="level2-days_overdue">' in html and "Final demand" in html
    response = post(credit_client, "/dunning/levels",
                    levels_form(db, **{"level3-days_overdue": "20"}), "/dunning/levels")
    assert response.status_code == 200
    assert 'id="level3-days_overdue-error">Days overdue must be more than the level before' in (
        response.get_data(as_text=True))
    response = post(credit_client, "/dunning/levels",
                    levels_form(db, **{"level1-fee": "lots"}), "/dunning/levels")
    assert response.status_code == 200 and 'aria-invalid="true"' in response.get_data(as_text=True)
    db.expire_all()
    assert db.scalar(select(DunningLevel.days_overdue).where(DunningLevel.level == 3)) == 35
    response = post(credit_client, "/dunning/levels",
                    levels_form(db, **{"level2-fee": "7.50", "level1-name": "Friendly nudge"}),
                    "/dunning/levels")
    assert response.status_code == 303
    db.expire_all()
    assert db.scalar(select(DunningLevel.fee).where(DunningLevel.level == 2)) == 7.50
    assert db.scalar(select(DunningLevel.name).where(DunningLevel.level == 1)) == "Friendly nudge"
    assert db.scalar(select(DunningLevel.charges_interest).where(DunningLevel.level == 3))


# -- the demo's story, failures, long runs -------------------------------------------------------

def test_the_demo_run_was_sent_on_its_day_and_today_birch_is_promised_and_acme_disputed(
        credit_client, db):
    from core.billing.models import Invoice, JournalEntry
    from core.credit.models import Dispute
    from core.customers.models import Customer
    demo = db.scalar(select(DunningRun).order_by(DunningRun.id))
    assert demo.status == RunStatus.SENT and demo.as_of < clock.today()
    (letter,) = demo.letters
    charges = db.get(Invoice, letter.charges_invoice_id)
    entry = db.get(JournalEntry, charges.entry_id)
    assert charges.issue_date == demo.as_of == clock.business_date(entry.posted_at)
    assert letter.subject.startswith("First dunning letter") and "Birch" in letter.body
    birch = db.scalar(select(Customer).where(Customer.name.like("Birch%")))
    acme = db.scalar(select(Customer).where(Customer.name == "Acme Corp"))
    birchs = letter.items[0].invoice
    acmes = db.scalar(select(Invoice).join(Dispute, Dispute.invoice_id == Invoice.id)
                      .where(Dispute.customer_id == acme.id, Dispute.status == "open"))
    run_id = start(credit_client)
    assert letter_for(db, run_id, birch) is None and letter_for(db, run_id, acme) is None
    html = page(credit_client, f"/dunning/runs/{run_id}")
    assert f"<th scope=\"row\">{birchs.number}</th>" in html and "promise to pay" in html
    assert f"<th scope=\"row\">{acmes.number}</th>" in html and "under dispute" in html


def test_a_failed_run_is_tried_again_from_its_page(credit_client, reader_client, db):
    overdue(db, customer(db, "Fiona Failed"), 40)
    run = dunning.start_run(db, as_of=clock.today(), actor=CLERK)
    with pytest.raises(ConnectionError):  # the proposal breaks off after its first accounts
        dunning.propose(db, run, settings=SETTINGS, progress=break_off_after_letters)
    dunning.fail_run(db, run, "OperationalError: the database went away")
    db.commit()
    html = page(credit_client, f"/dunning/runs/{run.id}")
    assert "The run failed: OperationalError" in html and ">Try again</button>" in html
    assert ">Try again</button>" not in page(reader_client, f"/dunning/runs/{run.id}")
    assert post(reader_client, f"/dunning/runs/{run.id}/retry").status_code == 403
    assert post(credit_client, f"/dunning/runs/{run.id}/retry").status_code == 303
    run = fresh(db, DunningRun, run.id)
    assert run.status == RunStatus.PROPOSED and run.error == "" and len(run.letters) >= 1
    assert post(credit_client, f"/dunning/runs/{run.id}/retry").status_code == 303  # refused
    assert fresh(db, DunningRun, run.id).status == RunStatus.PROPOSED


def test_the_task_proposes_only_a_queued_run(db, session_factory, monkeypatch):
    from core.workflows import dunning_runs
    run = dunning.start_run(db, as_of=clock.today(), actor=CLERK)
    dunning.propose(db, run, settings=SETTINGS)  # proposed: a redelivered task must wait
    db.commit()
    called = []
    monkeypatch.setattr(dunning, "propose", lambda *a, **k: called.append(a))
    assert dunning_runs.propose_dunning_run(run.id) == RunStatus.PROPOSED
    assert called == []


def test_a_long_run_pages_its_letters_and_caps_the_skipped_list(credit_client, db, monkeypatch):
    monkeypatch.setattr(dunning, "LETTERS_PER_PAGE", 2)
    monkeypatch.setattr(dunning, "SKIPPED_SHOWN", 1)
    names = [f"Pager {i}" for i in range(3)]
    for name in names:
        overdue(db, customer(db, name), 40)
    db.commit()
    run_id = start(credit_client)
    run = fresh(db, DunningRun, run_id)
    letters_in_run, skipped = len(run.letters), len(run.skipped)
    assert letters_in_run >= 3 and skipped >= 2  # the demo's promised and disputed invoices
    first = page(credit_client, f"/dunning/runs/{run_id}")
    assert f"Letters 1 to 2 of {letters_in_run}." in first and 'rel="next"' in first
    assert first.count("(PDF)") == 2 and f"And {skipped - 1} more." in first
    assert f">Send {letters_in_run} letters</button>" in first  # all pages
    last = page(credit_client, f"/dunning/runs/{run_id}?page=999")  # clamped
    assert 'rel="prev"' in last and 'rel="next"' not in last
    shown = sum(page(credit_client, f"/dunning/runs/{run_id}?page={n}").count("(PDF)")
                for n in range(1, -(-letters_in_run // 2) + 1))
    assert shown == letters_in_run
