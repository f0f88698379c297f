"""Issue 13's first story in one go, as the people do it: Acme's admin invites a buyer with
a 400 EUR order limit; the buyer sets a password from the e-mailed link, quick-orders five
SKUs of which one is unknown (that line is reported, four are added), checks out on
account over the limit and the order waits; the approver approves it on the Approvals page;
it stays on account and the warehouse releases it to fulfilment."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import make_engine
from core.demo import DEMO_PASSWORD
from core.orders.models import Order
from tests.e2e.conftest import serve_shop
from tests.web.conftest import text_of

PASTE = "TON-TN3480 3\nTON-TN3430\t2\nNOPE-404 1\nPAP-A4-80-BOX,2\nPEN-G2-BLU;5"


@pytest.fixture(scope="module")
def shop(tmp_path_factory, mail):
    with serve_shop(tmp_path_factory.mktemp("journey"), SECRET_KEY="e2e-journey-key",
                    SMTP_URL=mail[1]) as (base, settings):
        engine = make_engine(settings.DATABASE_URL)
        yield base, engine
        engine.dispose()


@pytest.fixture
def new_page(browser, shop):
    contexts, errors = [], []

    def make():
        context = browser.new_context(base_url=shop[0])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("pageerror", lambda e: errors.append(str(e)))
        return page
    yield make
    for context in contexts:
        context.close()
    assert errors == []


def sign_in(page, email: str, path: str = "/account/sign-in") -> None:
    page.goto(path)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def order(engine, number: str) -> Order:
    with Session(engine) as s:
        found = s.scalar(select(Order).where(Order.number == number))
        found.active_holds  # loaded before the session closes
        return found


def test_invited_buyer_quick_orders_over_the_limit_approved_then_released(new_page, shop, mail):
    base, engine = shop
    sink = mail[0]

    ada = new_page()
    sign_in(ada, "admin@acme.example")
    ada.get_by_role("navigation", name="Account").get_by_role("link", name="Company").click()
    ada.get_by_label("Full name").fill("Olga Orderly")
    ada.get_by_label("E-mail").fill("olga@acme.example")
    ada.get_by_label("Role").select_option("buyer")
    ada.get_by_label("Spending limit per order (optional)").fill("400")
    ada.get_by_role("button", name="Invite buyer").click()
    expect(ada.get_by_text("Invitation sent to olga@acme.example")).to_be_visible()
    link = re.search(r"https?://[^/\s]+(/account/invitation/[\w-]+)",
                     text_of(sink.wait_for("olga@acme.example"))).group(1)

    olga = new_page()
    olga.goto(link)
    olga.get_by_label("Choose a password").fill("walnut-lantern-73")
    olga.get_by_label("Repeat the password").fill("walnut-lantern-73")
    olga.get_by_role("button", name="Set password and sign in").click()
    expect(olga.get_by_role("heading", name="My account")).to_be_visible()

    olga.get_by_role("link", name="Quick order", exact=True).click()
    olga.get_by_label("SKU and quantity").fill(PASTE)
    olga.get_by_role("button", name="Add to cart").click()
    expect(olga.get_by_text("Added 4 lines (12 units) to your cart.")).to_be_visible()
    refused = olga.get_by_role("table", name=re.compile("Not added"))
    expect(refused.get_by_role("row")).to_have_count(2)  # its header and line 3
    expect(refused.get_by_role("row", name=re.compile(r"Line 3 NOPE-404 1 Unknown SKU"))
           ).to_be_visible()
    olga.get_by_role("link", name="Go to the cart").click()
    expect(olga.get_by_label(re.compile(r"Quantity of "))).to_have_count(4)

    olga.get_by_role("button", name="Checkout").click()
    expect(olga.get_by_label("On account (net 30)")).to_be_checked()
    olga.get_by_role("button", name="Place order").click()
    heading = olga.get_by_role("heading", level=1)
    expect(heading).to_contain_text("awaits approval")
    number = re.search(r"SO-\d+", heading.inner_text()).group(0)
    placed = order(engine, number)
    assert placed.gross_total > 400 and placed.payment_state == "on_account"
    assert [(h.kind, h.reason_code) for h in placed.active_holds] == [("approval", "spending_limit")]

    abe = new_page()
    sign_in(abe, "approver@acme.example")
    sink.wait_for("approver@acme.example", subject=number)
    abe.get_by_role("link", name="Approvals").click()
    section = abe.get_by_role("region", name=re.compile(f"Order {number}"))
    expect(section).to_contain_text("Olga Orderly")
    section.get_by_role("button", name=f"Approve {number}").click()
    expect(abe.get_by_text(f"Order {number} is approved")).to_be_visible()
    approved = order(engine, number)
    assert not approved.on_hold and approved.payment_state == "on_account"

    warehouse = new_page()
    sign_in(warehouse, "warehouse@marketline.example", "/agent/sign-in")
    expect(warehouse.get_by_role("button", name="Sign out")).to_be_visible()
    warehouse.goto("/agent/fulfilment/release")
    warehouse.get_by_label(f"Release {number}").check()
    warehouse.get_by_role("button", name="Release selected orders").click()
    expect(warehouse.get_by_role("main")).not_to_contain_text(f"Release {number}")
    assert order(engine, number).status == "in_fulfilment"
