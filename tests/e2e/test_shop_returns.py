"""A signed-in shopper returns one of two units of a shipped order: Return items on the
order's page, the policy, Quantity to return and Reason for the line, Request return; the
return then shows with its RMA number and state, on its page and on the order's. A guest
does the same through the order look-up."""
from __future__ import annotations

import datetime as dt
import os
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.billing import invoicing, receivables
from core.customers.models import Customer, CustomerUser
from core.db import make_engine, utcnow
from core.orders.models import Order
from core.returns.models import ReturnAuthorisation
from tests.billing_support import CLERK, place, ship
from tests.e2e.conftest import assert_accessible, serve_shop

SHOPPER, PASSWORD = "shopper@example.com", "demo-pass-1"
PAPER = "Everyday Copy Paper A4 80 g"
SHOTS = os.environ.get("E2E_SCREENSHOTS")  # a folder: keep screenshots to look at


@pytest.fixture(scope="module")
def shop(tmp_path_factory, localstripe):
    with serve_shop(tmp_path_factory.mktemp("returns"), SECRET_KEY="e2e-returns-key",
                    STRIPE_API_BASE=localstripe,
                    STRIPE_JS_URL=f"{localstripe}/js.stripe.com/v3/") as (base, settings):
        engine = make_engine(settings.DATABASE_URL)
        yield base, engine
        engine.dispose()


@pytest.fixture
def shop_page(browser, shop):
    context = browser.new_context(base_url=shop[0])
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert errors == [], errors


def shipped_order(engine, key: str, *, email: str | None = SHOPPER) -> str:
    """A card order of 2 reams of paper and a pad of notes, shipped yesterday, invoiced and
    paid; for the demo shopper, or a guest (email None). Returns its number."""
    with Session(engine) as session:
        customer = session.scalar(select(Customer).join(CustomerUser).where(
            CustomerUser.email == email)) if email else None
        lines = [("PAP-A4-80", 2), ("STN-76-YEL", 1)]
        order = place(session, lines, key=key, customer=customer)
        shipment = ship(session, order, dict(lines))
        shipment.shipped_at = utcnow() - dt.timedelta(days=1)
        invoice = invoicing.invoice_shipment(session, shipment, actor=CLERK)
        receivables.record_card_capture(session, invoice, amount=invoice.gross_total,
                                        stripe_id=f"pi_{key}", key=f"cap-{key}", actor=CLERK)
        order.status = "shipped"
        session.commit()
        return order.number


def returns_of(engine, number: str) -> list[ReturnAuthorisation]:
    """The order's returns, with their lines loaded."""
    with Session(engine, expire_on_commit=False) as session:
        return list(session.scalars(
            select(ReturnAuthorisation).join(Order, Order.id == ReturnAuthorisation.order_id)
            .where(Order.number == number).options(selectinload(ReturnAuthorisation.lines))))


def shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def request_one_ream(page) -> None:
    """On the return form: 1 ream of paper back, as defective, money back; submit."""
    expect(page.get_by_role("heading", name="Our returns policy")).to_be_visible()
    paper = page.get_by_role("group", name=re.compile(PAPER))
    paper.get_by_label("Quantity to return").fill("1")
    paper.get_by_label("Reason").select_option(label="Defective or doesn't work")
    page.get_by_role("radio", name="Money back").check()
    assert_accessible(page)
    shot(page, "return-form")
    page.get_by_role("button", name="Request return").click()


def test_a_shopper_returns_one_of_two_units_of_a_shipped_order(shop, shop_page):
    base, engine = shop
    number = shipped_order(engine, "e2e-return-1")
    page = shop_page
    page.goto("/account/sign-in")
    page.get_by_label("Email").fill(SHOPPER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()

    page.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", name=f"Order {number}")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Return items").click()
    expect(page.get_by_role("heading", name=f"Return items from order {number}")).to_be_visible()

    # Asking for more than was shipped is refused at the field; what was typed stays.
    paper = page.get_by_role("group", name=re.compile(PAPER))
    paper.get_by_label("Quantity to return").fill("3")
    paper.get_by_label("Reason").select_option(label="Changed my mind")
    page.get_by_role("button", name="Request return").click()
    paper = page.get_by_role("group", name=re.compile(PAPER))
    expect(paper.get_by_text(re.compile(r"At most 2 of"))).to_be_visible()
    expect(paper.get_by_label("Quantity to return")).to_have_value("3")
    expect(paper.get_by_label("Reason")).to_have_value("changed_mind")
    assert returns_of(engine, number) == []

    request_one_ream(page)
    rma = returns_of(engine, number)[0]
    expect(page.get_by_role("heading", name=f"Return {rma.number}")).to_be_visible()
    expect(page.get_by_text("Label sent")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=PAPER)).to_contain_text("Defective")
    assert_accessible(page)
    shot(page, "return-page")
    label = page.request.get(page.get_by_role("link", name="Download return label")
                             .get_attribute("href"))
    assert label.status == 200 and label.headers["content-type"] == "application/pdf"
    assert label.body().startswith(b"%PDF")
    assert [(l.quantity, l.reason) for l in rma.lines] == [(1, "defective")]

    page.get_by_role("link", name=f"Back to order {number}").click()
    returns = page.get_by_role("region", name="Returns")
    expect(returns).to_contain_text(rma.number)
    expect(returns).to_contain_text("Label sent")
    page.get_by_role("link", name="My account").first.click()
    expect(page.get_by_role("region", name="Returns")).to_contain_text(rma.number)
    assert_accessible(page)


def test_a_guest_returns_an_item_through_the_order_lookup(shop, shop_page):
    base, engine = shop
    number = shipped_order(engine, "e2e-return-guest", email=None)
    page = shop_page
    page.goto("/orders/lookup")
    page.get_by_label("Order number").fill(number)
    page.get_by_label("Email").fill("ola@example.com")
    page.get_by_label("Postcode").fill("10115")
    page.get_by_role("button", name="Find the order").click()
    expect(page.get_by_role("heading", name=f"Order {number}")).to_be_visible()
    page.get_by_role("link", name="Return items").click()
    request_one_ream(page)
    rma = returns_of(engine, number)[0]
    expect(page.get_by_role("heading", name=f"Return {rma.number}")).to_be_visible()
    expect(page.get_by_text("Label sent")).to_be_visible()
    assert_accessible(page)
