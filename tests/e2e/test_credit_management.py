"""Credit management end to end (issue 15): Carla Credit finds Hartmann's past-due review on
the credit home, reads why its order waits on the credit page (with the exposure chart and
its table), and marks the credit reviewed; she cuts Acme's limit, and the warehouse's
release of an Acme order is refused with the credit hold's reason."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import make_engine
from core.orders.models import Order
from tests.e2e.conftest import assert_accessible, serve_shop
from tests.e2e.test_approvals_credit import console_sign_in


@pytest.fixture(scope="module")
def shop(tmp_path_factory, mail):
    with serve_shop(tmp_path_factory.mktemp("credit"), SECRET_KEY="e2e-credit-key",
                    SMTP_URL=mail[1]) as (base, settings):
        engine = make_engine(settings.DATABASE_URL)
        yield base, engine
        engine.dispose()


def order_with_po(engine, po) -> Order:
    with Session(engine) as s:
        order = s.scalar(select(Order).where(Order.po_number == po))
        order.active_holds  # loaded before the session closes
        return order


def test_carla_reviews_hartmanns_credit_from_the_credit_home(browser, shop):
    base, engine = shop
    carla, errors = console_sign_in(browser, base, "credit@marketline.example")
    carla.get_by_role("link", name="Credit", exact=True).click()
    expect(carla.get_by_role("heading", name="Credit control", level=1)).to_be_visible()
    reviews = carla.get_by_role("region", name=re.compile("Credit reviews due"))
    expect(reviews.get_by_role("row", name=re.compile("Hartmann"))).to_contain_text("Past due")
    held = order_with_po(engine, "HB-2231")
    holds = carla.get_by_role("region", name=re.compile("Orders on credit hold"))
    expect(holds.get_by_role("row", name=re.compile(held.number))).to_contain_text(
        "Credit review past due")
    assert_accessible(carla)

    reviews.get_by_role("link", name="Hartmann Bürobedarf KG").click()
    expect(carla.get_by_role("heading", name=re.compile("Credit: Hartmann"))).to_be_visible()
    blocking = carla.get_by_role("region", name="Blocking status")
    expect(blocking).to_contain_text("Credit review past due")
    expect(blocking.get_by_role("link", name=held.number)).to_be_visible()
    expect(carla.get_by_role("img", name=re.compile("Open receivables of Hartmann"))).to_be_visible()
    carla.get_by_text("Open receivables at each month end as a table").click()
    expect(carla.get_by_role("table", name="Month-end receivables and the limit in force")
           ).to_be_visible()
    assert_accessible(carla)

    review = carla.get_by_role("region", name="Mark reviewed")
    review.get_by_label("What the review looked at").fill("Accounts 2025 seen; limit stays")
    review.get_by_role("button", name="Mark reviewed").click()
    expect(carla.get_by_text(re.compile("Credit review recorded"))).to_be_visible()
    expect(carla.locator("#credit-review")).not_to_contain_text("Past due")
    history = carla.get_by_role("region", name="Limit history")
    expect(history).to_contain_text("Accounts 2025 seen; limit stays")
    assert errors == []


def test_a_cut_limit_stops_the_warehouses_release_with_the_reason(browser, shop):
    base, engine = shop
    carla, carla_errors = console_sign_in(browser, base, "credit@marketline.example")
    carla.goto("/agent/credit/")
    acme_order = order_with_po(engine, "PO-7781")  # Acme's, awaiting release
    with Session(engine) as s:
        from core.customers.models import Customer
        number = s.scalar(select(Customer.number).where(Customer.name == "Acme Corp"))
    carla.goto(f"/agent/credit/customers/{number}")
    form = carla.get_by_role("region", name="Change the limit or review date")
    form.get_by_label("Credit limit").fill("100")
    form.get_by_label("Why (optional)").fill("Insolvency rumours: stop deliveries")
    form.get_by_role("button", name="Save limit").click()
    expect(carla.get_by_text("Credit limit and review date saved.")).to_be_visible()
    expect(carla.locator("#credit-headroom")).to_contain_text("Over the limit")

    warehouse, warehouse_errors = console_sign_in(browser, base, "warehouse@marketline.example")
    warehouse.goto("/agent/fulfilment/release")
    warehouse.get_by_label(f"Release {acme_order.number}").check()
    warehouse.get_by_role("button", name="Release selected orders").click()
    expect(warehouse.get_by_text(re.compile(
        f"{acme_order.number} was not released: It is on credit hold"))).to_contain_text(
        "over the credit limit")
    after = order_with_po(engine, "PO-7781")
    assert after.status == "confirmed"
    assert [(h.kind, h.reason_code) for h in after.active_holds] == [("credit", "over_limit")]
    assert carla_errors == warehouse_errors == []
