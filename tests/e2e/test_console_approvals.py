"""Second pairs of eyes in the console: a billing clerk's large credit note waits until a
supervisor approves it on the invoice page; a gift card sold out of a bank transfer the
seller recorded waits until a supervisor confirms the money came in. The pages pass axe."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.billing import invoicing
from core.billing.invoicing import FreeTextLine
from core.customers.models import Customer
from core.db import make_engine
from tests.billing_support import CLERK
from tests.e2e.conftest import assert_accessible, serve_shop


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    with serve_shop(tmp_path_factory.mktemp("approvals"),
                    SECRET_KEY="e2e-approvals-key") as (base, settings):
        engine = make_engine(settings.DATABASE_URL)
        yield base, engine
        engine.dispose()


def signed_in(browser, base, email):
    page = browser.new_context(base_url=base).new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("/agent/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("demo-pass-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Billing", exact=True)).to_be_visible()
    return page, errors


def customer_named(engine, name) -> str:
    with Session(engine) as s:
        return s.scalar(select(Customer.number).where(Customer.name == name))


def test_a_large_credit_note_waits_for_a_supervisors_approval(browser, console):
    base, engine = console
    with Session(engine) as s:
        acme = s.scalar(select(Customer).where(Customer.name == "Acme Corp"))
        number = invoicing.issue_free_text(s, customer=acme, actor=CLERK, lines=[
            FreeTextLine("Installation day", 1, Decimal("1000.00"), Decimal("0.19"))]).number
        s.commit()

    clerk, clerk_errors = signed_in(browser, base, "billing@marketline.example")
    clerk.goto(f"/agent/billing/invoices/{number}")
    form = clerk.get_by_role("form", name="Issue a credit note")
    form.get_by_label("Everything not yet credited").check()
    form.get_by_label("Reason").fill("Installation cancelled")
    form.get_by_role("button", name="Issue credit note").click()
    expect(clerk.get_by_text("Nothing is credited yet")).to_be_visible()
    expect(clerk.get_by_text("another colleague approves or rejects it")).to_be_visible()
    assert_accessible(clerk)
    clerk.context.close()

    boss, boss_errors = signed_in(browser, base, "supervisor@marketline.example")
    boss.get_by_role("link", name="Billing", exact=True).click()
    worklist = boss.get_by_role("region", name="Credit notes awaiting approval")
    expect(worklist).to_contain_text("Installation cancelled")
    assert_accessible(boss)
    worklist.get_by_role("link", name=number).click()
    boss.get_by_role("button", name="Approve and issue").click()
    expect(boss.get_by_text(re.compile(r"Approved: credit note CN-\d+ issued for 1,190\.00 EUR"))
           ).to_be_visible()
    expect(boss.locator("#amount-open")).to_have_text("0.00 EUR")
    boss.context.close()
    assert clerk_errors == [] and boss_errors == []


def test_a_gift_card_is_sold_for_a_recorded_bank_transfer(browser, console):
    """Billing sells a card out of a transfer billing recorded itself: no code yet, the sale
    waits on the billing start page; a supervisor confirms it and sees the code, once."""
    base, engine = console
    birch = customer_named(engine, "Birch & Co Architects")  # overpaid 15.00 EUR in the demo
    seller, errors = signed_in(browser, base, "billing@marketline.example")
    seller.goto("/agent/gift-cards/")
    seller.get_by_role("textbox", name="Customer who paid").fill(birch)
    seller.get_by_role("button", name="Show their payments").click()
    payment = seller.get_by_label(re.compile(r"Bank transfer SEPA BIRCH 2210.*15\.00 EUR not yet used"))
    expect(payment).to_be_checked()
    assert_accessible(seller)
    seller.get_by_label("Amount").fill("15.00")
    seller.get_by_role("button", name="Sell gift card").click()
    expect(seller.get_by_role("heading", name="Gift card sale of 15.00 EUR")).to_be_visible()
    expect(seller.get_by_text("waits for a colleague with the credit or supervisor role")
           ).to_be_visible()
    expect(seller.get_by_text("You asked for this gift card sale")).to_be_visible()
    expect(seller.locator("#gift-card-code")).to_have_count(0)
    assert_accessible(seller)
    seller.goto("/agent/gift-cards/")
    seller.get_by_role("textbox", name="Customer who paid").fill(birch)
    seller.get_by_role("button", name="Show their payments").click()
    expect(seller.get_by_text("No bank transfer or cheque of Birch & Co Architects has money "
                              "not yet used")).to_be_visible()  # held for the sale
    seller.context.close()

    boss, boss_errors = signed_in(browser, base, "supervisor@marketline.example")
    boss.get_by_role("link", name="Billing", exact=True).click()
    worklist = boss.get_by_role("region", name="Gift card sales awaiting confirmation")
    expect(worklist).to_contain_text("SEPA BIRCH 2210")
    worklist.get_by_role("link", name="Gift card of 15.00 EUR").click()
    assert_accessible(boss)
    boss.get_by_role("button", name="Confirm and issue the card").click()
    expect(boss.get_by_role("heading", name="Gift card sold")).to_be_visible()
    expect(boss.locator("#gift-card-code")).to_have_text(re.compile(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){3}"))
    assert_accessible(boss)
    boss.goto("/agent/billing/invoices")
    expect(boss.get_by_role("region", name="Gift card sales awaiting confirmation")
           ).to_have_count(0)
    boss.context.close()
    assert errors == [] and boss_errors == []
