"""Credit control: the ageing report ties to the ledger; the controller finds Acme, opens its
statement of account (last month's already sent by the demo), and e-mails this period's; the
PDF arrives at the SMTP sink."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, serve_shop


@pytest.fixture(scope="module")
def console(tmp_path_factory, mail):
    sink, smtp_url = mail
    with serve_shop(tmp_path_factory.mktemp("ageing"), SECRET_KEY="e2e-ageing-key",
                    SMTP_URL=smtp_url) as (base, _):
        yield base, sink


@pytest.fixture
def controller(browser, console):
    base, sink = console
    context = browser.new_context(base_url=base)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("/agent/sign-in")
    page.get_by_label("Email").fill("billing@marketline.example")
    page.get_by_label("Password").fill("demo-pass-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Ageing", exact=True)).to_be_visible()
    yield page, sink
    context.close()
    assert errors == [], errors


def test_the_ageing_ties_to_the_ledger_and_a_statement_is_emailed(controller):
    page, sink = controller
    page.get_by_role("link", name="Ageing", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ageing of receivables")
    expect(page.get_by_text("ties to the ledger")).to_be_visible()
    assert_accessible(page)

    page.wait_for_load_state()
    page.get_by_role("searchbox", name="Customer", exact=True).fill("Acme")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name="1 customer with open invoices")).to_be_visible()
    page.get_by_role("link", name="Acme Corp").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Statement of account of Acme Corp")
    expect(page.get_by_text("Opening balance")).to_be_visible()
    expect(page.get_by_role("heading", name="Statements sent")).to_be_visible()
    expect(page.get_by_role("link", name="Download PDF")).to_be_visible()
    assert_accessible(page)
    sent_before = page.locator("#sent-h + ul li").count()
    assert sent_before == 1  # the demo's, for last month

    page.get_by_role("button", name="E-mail statement").click()
    expect(page.get_by_text("is on its way to")).to_be_visible()
    expect(page.locator("#sent-h + ul li")).to_have_count(2)  # the monthly one, and this
    expect(page.get_by_text("(on demand)")).to_be_visible()
    message = sink.wait_for("acme", subject="statement of account", timeout=15)
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content().startswith(b"%PDF")
