"""Dunning in a browser: the credit controller starts a dunning run over the demo's overdue
invoices; the run page shows its progress and proposes letters, skips the invoice under
dispute, and sends the rest: the letters' PDFs arrive at the SMTP sink."""
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.billing.models import Invoice
from core.credit.models import DunningLetter, PromiseToPay
from core.credit.states import LetterStatus, PromiseStatus
from core.customers.models import Customer
from core.db import make_engine
from core.orders.models import Order
from tests.e2e.conftest import assert_accessible, serve_shop


@pytest.fixture(scope="module")
def shop(tmp_path_factory, localstripe, mail):
    with serve_shop(tmp_path_factory.mktemp("dunning"), SECRET_KEY="e2e-dunning-key",
                    STRIPE_API_BASE=localstripe, STRIPE_JS_URL=f"{localstripe}/js.stripe.com/v3/",
                    SMTP_URL=mail[1]) as (base, settings):
        engine = make_engine(settings.DATABASE_URL)
        yield base, engine
        engine.dispose()


def birch_takes_back_its_promise(engine) -> str:
    """The demo's Birch & Co promised to pay next week (core.demo.collections); Ms Birch calls
    back: the transfer is not coming after all, the promise is withdrawn, so Birch's overdue
    invoice is dunned again. Acme's overdue invoice (PO-7644) stays under dispute. Returns
    Acme's invoice number."""
    from core.audit import Actor
    from core.credit import collections
    from core.credit.models import Dispute
    with Session(engine) as s:
        birch = s.scalar(select(Customer).where(Customer.name.like("Birch%")))
        promise = s.scalar(select(PromiseToPay).where(PromiseToPay.customer_id == birch.id,
                                                      PromiseToPay.status == PromiseStatus.OPEN))
        collections.cancel_promise(s, promise, actor=Actor.system("e2e"),
                                   reason="The transfer is not coming after all.")
        order = s.scalar(select(Order).where(Order.po_number == "PO-7644"))
        invoice = s.scalar(select(Invoice).where(Invoice.order_id == order.id))
        assert invoice.due_date < clock.today() and invoice.amount_open > 0
        assert s.scalar(select(Dispute).where(Dispute.invoice_id == invoice.id,
                                              Dispute.status == "open")) is not None
        s.commit()
        return invoice.number


def test_a_dunning_run_proposes_skips_the_disputed_invoice_and_sends_the_rest(
        browser, shop, mail):
    base, engine = shop
    sink, _ = mail
    disputed = birch_takes_back_its_promise(engine)

    page = browser.new_context(base_url=base).new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("/agent/sign-in")
    page.get_by_label("Email").fill("billing@marketline.example")
    page.get_by_label("Password").fill("demo-pass-1")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Dunning", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dunning")
    expect(page.get_by_role("link", name=re.compile(r"^Run \d+$"))).to_have_count(1)  # the demo's
    assert_accessible(page)

    expect(page.get_by_label("As of")).to_have_value(clock.today().isoformat())
    page.get_by_role("button", name="Start a dunning run").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Dunning run \d+$"))
    # The run looked at every account with overdue invoices: Acme and Birch (at least).
    progress = page.get_by_text(re.compile(r"^Looked at (\d+) of \1 accounts$"))
    expect(progress).to_be_visible()
    bar = page.get_by_role("progressbar")
    expect(bar).to_be_visible()
    assert bar.get_attribute("value") == bar.get_attribute("max")
    expect(page.locator('[hx-trigger="every 1s"]')).to_have_count(0)  # proposed: polling stopped

    # Birch's 68-day-old invoice (38 days overdue, first letter sent by the demo's run two
    # weeks ago) is due the second letter: fee 10.00 and interest.
    expect(page.get_by_role("heading", name="Second dunning letter (level 3)")).to_be_visible()
    birch_row = page.get_by_role("row").filter(has_text="Birch & Co Architects")
    expect(birch_row).to_contain_text("10.00 EUR")
    # Acme's invoice is under dispute: skipped, with the reason.
    skipped = page.get_by_role("row").filter(has_text=disputed)
    expect(skipped).to_contain_text("under dispute")
    expect(page.get_by_role("row").filter(has_text="Acme Corp").filter(
        has=page.get_by_role("link", name=re.compile("PDF")))).to_have_count(0)
    pdf = page.get_by_role("link", name="Letter to Birch & Co Architects (PDF)")
    expect(pdf).to_be_visible()
    assert_accessible(page)

    send = page.get_by_role("button", name=re.compile(r"^Send \d+ letters?$"))
    count = int(re.search(r"\d+", send.inner_text()).group())
    send.click()
    expect(page.get_by_text(re.compile(rf"^Sent {count} letters?"))).to_be_visible()
    expect(birch_row).to_contain_text("Sent")
    charges = birch_row.get_by_role("link", name=re.compile(r"^INV-\d+$"))
    expect(charges).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Send"))).to_have_count(0)
    assert_accessible(page)

    message = sink.wait_for("accounts@birch.example", timeout=20,
                            subject="Second dunning letter")
    attachments = {p.get_filename(): p.get_content() for p in message.iter_attachments()}
    letter = next(name for name in attachments if name.startswith("dunning-letter-"))
    assert attachments[letter].startswith(b"%PDF")
    assert attachments[f"{charges.inner_text()}.pdf"].startswith(b"%PDF")
    assert not any("purchasing@acme.example" in m["To"] and "dunning" in m["Subject"].lower()
                   for m in sink.messages)

    with Session(engine) as s:
        acme = s.scalar(select(Customer).where(Customer.name == "Acme Corp"))
        assert s.scalar(select(DunningLetter).where(
            DunningLetter.customer_id == acme.id,
            DunningLetter.status == LetterStatus.SENT)) is None
        assert s.scalar(select(Invoice.dunning_level).where(Invoice.number == disputed)) == 0
        fee = s.scalar(select(Invoice).where(Invoice.number == charges.inner_text()))
        assert fee.gross_total > Decimal("10.00")  # the fee and the interest
    page.context.close()
    assert errors == [], errors  # a CSP violation or a script error shows up here


def test_the_run_page_polls_while_the_run_works_and_stops_once_proposed(browser, shop):
    """A run queued for a worker: the page polls (htmx, every second) and shows the letters
    as soon as the worker has proposed them, without a reload."""
    from core.audit import Actor
    from core.config import Settings
    from core.credit import dunning
    base, engine = shop
    with Session(engine) as s:
        run = dunning.start_run(s, as_of=clock.today(), actor=Actor.system("e2e worker"))
        s.commit()
        run_id = run.id
    page = browser.new_context(base_url=base).new_page()
    page.set_default_timeout(20_000)
    page.goto("/agent/sign-in")
    page.get_by_label("Email").fill("billing@marketline.example")
    page.get_by_label("Password").fill("demo-pass-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Dunning", exact=True)).to_be_visible()
    page.goto(f"/agent/dunning/runs/{run_id}")
    expect(page.get_by_text("Looked at 0 of 0 accounts…")).to_be_visible()
    expect(page.locator('[hx-trigger="every 1s"]')).to_have_count(1)
    assert_accessible(page)
    with Session(engine) as s:  # the worker
        dunning.propose(s, dunning.get_run(s, run_id), settings=Settings(DATABASE_URL=""))
        s.commit()
    expect(page.get_by_text(re.compile(r"^Looked at (\d+) of \1 accounts$"))).to_be_visible()
    expect(page.get_by_role("heading", name="Skipped invoices")).to_be_visible()
    expect(page.locator('[hx-trigger="every 1s"]')).to_have_count(0)
    page.get_by_role("button", name="Cancel the run").click()
    expect(page.get_by_text("The run is cancelled: no letter was sent.")).to_be_visible()

    # The levels' setup: days must rise with the level, said at the field.
    page.get_by_role("link", name="Dunning levels").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dunning levels")
    level3 = page.get_by_role("group", name="Level 3")
    level3.get_by_label("From days overdue").fill("10")
    assert_accessible(page)
    page.get_by_role("button", name="Save the levels").click()
    expect(level3.get_by_text("Days overdue must be more than the level before's (21).")
           ).to_be_visible()
    assert_accessible(page)
    page.context.close()
