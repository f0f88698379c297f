"""A credit controller records a promise to pay from the collections worklist; the day after
its date passes unpaid (the test moves core.clock, which the in-process server reads too),
the account shows a broken promise and rises in the list."""
import datetime as dt
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from core import clock
from core.db import make_engine
from tests.collections_support import account_customer, overdue_invoice
from tests.e2e.conftest import assert_accessible, serve_shop


@pytest.fixture(scope="module")
def shop(tmp_path_factory, localstripe, mail):
    with serve_shop(tmp_path_factory.mktemp("collections"), SECRET_KEY="e2e-collections-key",
                    STRIPE_API_BASE=localstripe, STRIPE_JS_URL=f"{localstripe}/js.stripe.com/v3/",
                    SMTP_URL=mail[1]) as (base, settings):
        engine = make_engine(settings.DATABASE_URL)
        with Session(engine) as db:
            # Steady: 45 days and 500 EUR overdue (score 25); Promiser: 30 days, 500 EUR (20).
            overdue_invoice(db, account_customer(db, "Steady Supplies GmbH"), "500.00", 45)
            overdue_invoice(db, account_customer(db, "Promiser Print AG"), "500.00", 30)
            db.commit()
        yield base
        engine.dispose()


@pytest.fixture
def travel():
    yield clock.travel
    clock.reset()


def rank_of(page, name: str) -> int:
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name, exact=True))
    expect(row).to_have_count(1)
    return int(row.get_by_role("cell").first.inner_text().strip())


def test_a_broken_promise_shows_the_day_after_and_the_account_rises(browser, shop, travel):
    page = browser.new_context(base_url=shop).new_page()
    page.set_default_timeout(15_000)
    page.goto("/agent/sign-in")
    page.get_by_label("Email").fill("billing@marketline.example")
    page.get_by_label("Password").fill("demo-pass-1")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Collections", exact=True).click()
    expect(page.get_by_role("heading", name="Collections worklist")).to_be_visible()
    assert_accessible(page)
    steady, promiser = rank_of(page, "Steady Supplies GmbH"), rank_of(page, "Promiser Print AG")
    assert promiser > steady

    page.get_by_role("link", name="Promiser Print AG", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("Promiser Print AG"))).to_be_visible()
    assert_accessible(page)
    promised_for = clock.today() + dt.timedelta(days=2)
    form = page.get_by_role("form", name="Promise to pay")
    form.get_by_label("Pays by").fill(promised_for.isoformat())
    form.get_by_label("Amount promised").fill("200.00")
    expect(form.get_by_role("checkbox")).to_be_checked()  # the overdue invoice, preselected
    form.get_by_label("Note").fill("Pays 200 on Friday, the rest next month")
    form.get_by_role("button", name="Record promise").click()
    expect(page.get_by_text(f"Promise to pay 200.00 EUR by {promised_for.isoformat()} "
                            "recorded")).to_be_visible()
    history = page.get_by_role("table", name="Promises to pay")
    expect(history.get_by_text("Open", exact=True)).to_be_visible()
    expect(page.get_by_role("table", name="Calls").get_by_text("Promised to pay")).to_be_visible()

    travel(days=2)  # its day: still open
    page.reload()
    expect(history.get_by_text("Open", exact=True)).to_be_visible()
    travel(days=1)  # the day after, unpaid
    page.reload()
    expect(history.get_by_text("Broken", exact=True)).to_be_visible()
    expect(page.get_by_text("Broken promise", exact=True)).to_be_visible()
    expect(page.get_by_text("1 broken promise to pay in 12 months").first).to_be_visible()

    page.get_by_role("link", name="Collections", exact=True).first.click()
    expect(page.get_by_role("heading", name="Collections worklist")).to_be_visible()
    now = rank_of(page, "Promiser Print AG")
    assert now < promiser and now < rank_of(page, "Steady Supplies GmbH")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Promiser Print AG"))
    expect(row.get_by_text("Broken promise: 1")).to_be_visible()
