"""The warehouse's worklists in a browser: "Tick every order on this page" ticks each order,
shows mixed when one is unticked, and the pick list takes exactly the ticked orders."""
import re
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible


def test_tick_every_order_then_untick_one_and_the_pick_list_takes_the_rest(page):
    page.goto("/agent/sign-in")
    page.get_by_label("Email").fill("warehouse@marketline.example")
    page.get_by_label("Password").fill("demo-pass-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Stock", exact=True)).to_be_visible()
    page.goto("/agent/fulfilment/ship")
    orders = page.get_by_role("checkbox", name=re.compile(r"^Pick SO-"))
    every = page.get_by_role("checkbox", name="Tick every order on this page")
    expect(every).to_be_visible()  # shown once the page's script runs
    count = orders.count()
    assert count >= 2
    every.check()
    for i in range(count):
        expect(orders.nth(i)).to_be_checked()
    orders.first.uncheck()
    expect(every).not_to_be_checked()
    assert every.evaluate("box => box.indeterminate")
    assert_accessible(page)
    page.get_by_role("button", name="Pick list for the ticked orders").click()
    expect(page.get_by_role("heading", name="Pick list", level=1)).to_be_visible()
    assert len(parse_qs(urlparse(page.url).query)["order"]) == count - 1
