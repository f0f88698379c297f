"""An order taken by phone: find the caller, enter lines by SKU, discount within and beyond
the agent's limit, a supervisor releases the approval hold, the card is taken by phone, and
the customer sees the order in the shop."""
import re

from playwright.sync_api import expect

from core import clock
from tests.e2e.conftest import assert_accessible


def agent_signs_in(page, email):
    page.goto("/agent/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("demo-pass-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Customers", exact=True)).to_be_visible()


def add_line(page, sku, quantity):
    # The quantity first, the SKU last, then Enter: the SKU's suggestions (htmx) open the
    # browser's list under the box, and typing into another field while it opens could land
    # in the SKU box instead ("STP-302"), as happened on a busy machine.
    page.get_by_label("Quantity", exact=True).fill(str(quantity))
    sku_box = page.get_by_label("SKU", exact=True)
    sku_box.fill(sku)
    expect(sku_box).to_have_value(sku)
    sku_box.press("Enter")
    expect(page.get_by_role("cell", name=re.compile(sku)).first).to_be_visible()


def discount(page, sku, percent):
    page.get_by_text(f"Change price of {sku}").click()
    row = page.get_by_role("row").filter(has=page.get_by_text(f"Change price of {sku}"))
    row.get_by_label("Discount %").fill(str(percent))
    row.get_by_label("Reason").select_option("loyalty")
    row.get_by_role("button", name="Apply price").click()
    expect(page.get_by_role("row").filter(has=page.get_by_text(f"Change price of {sku}"))
           ).to_contain_text(f"−{percent} %")


def test_a_phone_order_with_an_approved_discount_paid_by_card(browser, live_server):
    agent = browser.new_context(base_url=live_server).new_page()
    agent.set_default_timeout(15_000)
    agent_signs_in(agent, "agent@marketline.example")

    agent.get_by_role("link", name="Customers", exact=True).click()
    agent.wait_for_load_state()  # htmx starts on DOMContentLoaded; typing earlier is not seen
    agent.get_by_label("Search customers").fill("1234 56")  # part of +49 30 1234 5678
    result = agent.get_by_role("link", name=re.compile("Sam Shopper"))
    expect(result).to_be_visible()
    assert_accessible(agent)
    result.click()
    expect(agent.get_by_role("heading", level=1)).to_contain_text("Sam Shopper")
    assert_accessible(agent)

    agent.get_by_role("button", name="New order").click()
    expect(agent.get_by_role("heading", level=1)).to_contain_text("Phone order for Sam Shopper")
    add_line(agent, "PAP-A4-80", 3)
    add_line(agent, "PEN-G2-BLU", 1)
    add_line(agent, "STP-30", 2)
    assert_accessible(agent)

    discount(agent, "STP-30", 5)  # within the agent's 10 %
    expect(agent.get_by_text("needs approval")).to_have_count(0)
    discount(agent, "STP-30", 25)  # beyond it: approval
    expect(agent.get_by_text("needs approval").first).to_be_visible()

    agent.get_by_label("Card by phone").check()
    agent.get_by_role("button", name="Place order").click()
    heading = agent.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Card payment for SO-")
    number = re.search(r"SO-\d{6}", heading.inner_text()).group(0)

    # A supervisor releases the approval hold from the worklist.
    supervisor = browser.new_context(base_url=live_server).new_page()
    supervisor.set_default_timeout(15_000)
    agent_signs_in(supervisor, "supervisor@marketline.example")
    supervisor.get_by_role("link", name="Holds", exact=True).click()
    assert_accessible(supervisor)
    supervisor.get_by_role("link", name=number).click()
    supervisor.get_by_role("button", name="Release hold").click()
    expect(supervisor.get_by_text(re.compile("released", re.I)).first).to_be_visible()
    supervisor.context.close()

    # The card is taken by phone (MOTO) through localstripe.
    agent.reload()
    box = agent.locator("#card-element")
    box.get_by_placeholder("number").fill("4242424242424242")
    box.get_by_placeholder("exp_month").fill("12")
    box.get_by_placeholder("exp_year").fill("30")
    box.get_by_placeholder("cvc").fill("123")
    box.get_by_placeholder("postal_code").fill("10115")
    agent.get_by_role("button", name="Authorise card").click()
    expect(agent.get_by_role("heading", level=1)).to_contain_text(number)
    expect(agent.get_by_text(re.compile("authorised", re.I)).first).to_be_visible()
    agent.context.close()

    # The customer sees it in the shop.
    shop = browser.new_context(base_url=live_server).new_page()
    shop.goto("/account/sign-in")
    shop.get_by_label("Email").fill("shopper@example.com")
    shop.get_by_label("Password").fill("demo-pass-1")
    shop.get_by_role("button", name="Sign in").click()
    expect(shop.get_by_role("heading", name="My account")).to_be_visible()
    expect(shop.get_by_role("link", name=number).first).to_be_visible()
    shop.context.close()


def test_a_hold_until_a_day_and_a_cancel_that_asks_once(page):
    """The hold form folds behind its button and its reason implies the kind; Cancel order
    is a danger button that asks once (window.confirm under the strict CSP), and its
    no-JavaScript box stays hidden and is ticked by the script."""
    import datetime as dt
    agent_signs_in(page, "agent@marketline.example")
    page.get_by_role("link", name="Customers", exact=True).click()
    page.wait_for_load_state()
    page.get_by_label("Search customers").fill("1234 56")
    page.get_by_role("link", name=re.compile("Sam Shopper")).click()
    page.get_by_role("button", name="New order").click()
    # Let the SKU suggestions answer before Enter: an answer that comes after the added
    # line's would carry the session cookie from before it.
    page.get_by_label("Quantity", exact=True).fill("1")
    page.get_by_label("SKU", exact=True).fill("PAP-A4-80")
    page.wait_for_load_state("networkidle")
    page.get_by_label("SKU", exact=True).press("Enter")
    expect(page.get_by_role("cell", name=re.compile("PAP-A4-80")).first).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.reload()  # the draft as the server keeps it
    expect(page.get_by_role("cell", name=re.compile("PAP-A4-80")).first).to_be_visible()
    page.get_by_label("Card by phone").check()
    page.get_by_role("button", name="Place order").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Card payment for SO-")
    number = re.search(r"SO-\d{6}", heading.inner_text()).group(0)

    page.goto(f"/agent/orders/{number}")
    hold_reason = page.locator("#hold-reason_code")
    expect(hold_reason).to_be_hidden()  # folded
    page.locator("summary", has_text="Place a hold").click()
    expect(hold_reason).to_be_visible()
    expect(hold_reason).to_have_value("customer_request")  # Manual first, the default
    until = (clock.today() + dt.timedelta(days=10)).isoformat()
    page.get_by_label("Hold until (optional)").fill(until)
    page.get_by_role("button", name="Place hold").click()
    expect(page.get_by_text(f"Until {until}")).to_be_visible()
    expect(page.get_by_role("heading", name="Manual: Customer asked us to wait")).to_be_visible()
    assert_accessible(page)

    expect(page.get_by_label("Yes, cancel this order")).to_be_hidden()
    page.locator("#cancel-reason_code").select_option("duplicate")
    asked = []

    def answer(accept):
        def handle(dialog):
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()
        return handle

    page.once("dialog", answer(False))
    page.get_by_role("button", name="Cancel order").click()
    expect(page.get_by_label("Yes, cancel this order")).not_to_be_checked()
    assert len(asked) == 1 and number in asked[0]
    page.once("dialog", answer(True))
    page.get_by_role("button", name="Cancel order").click()
    expect(page.get_by_text(f"Order {number} is cancelled")).to_be_visible()
    assert len(asked) == 2


def test_the_figures_pages_pass_axe(page):
    """Trial balance (Dr/Cr columns), the invoice list (overdue badge, days overdue), the
    warehouse worklists (one promised day, Late badge) and the hold worklist (until, due)."""
    agent_signs_in(page, "supervisor@marketline.example")
    for path, heading in [("/agent/billing/ledger", "Trial balance"),
                          ("/agent/billing/invoices?status=overdue", "Invoices and credit notes"),
                          ("/agent/fulfilment/ship", "Orders to ship"),
                          ("/agent/fulfilment/release", None),
                          ("/agent/orders/holds", "Orders on hold")]:
        page.goto(path)
        if heading:
            expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        assert_accessible(page)
    page.goto("/agent/billing/ledger")
    expect(page.get_by_role("columnheader", name="Debit (Dr)").first).to_be_visible()
    page.goto("/agent/billing/invoices?status=overdue")
    expect(page.locator(".badge-overdue").first).to_be_visible()
