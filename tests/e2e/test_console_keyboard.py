"""Done when (issue 18): a phone order entered and paid by keyboard only. Sign in, find the
caller, open a new order, enter lines by SKU with Enter, Ctrl+Enter to place it and go to
the card, type the card into the (localstripe) card field and authorise: keyboard.press and
keyboard.type only, no clicks and no fills."""
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible

MAX_TABS = 80


@pytest.fixture(autouse=True)
def patient_expect():
    """Navigations and htmx answers take their time on a busy machine; back to the default
    for the other tests afterwards."""
    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=5_000)


def focused(page, script: str):
    return page.evaluate(f"() => {{ const e = document.activeElement; return {script}; }}")


def tab_to(page, matches, what: str) -> None:
    """Press Tab until the focused element is the one `matches` (a JS expression over `e`)."""
    for _ in range(MAX_TABS):
        if focused(page, f"!!e && ({matches})"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {what}")


def tab_to_button(page, name: str) -> None:
    tab_to(page, f"(e.tagName === 'BUTTON' || e.tagName === 'A') && e.textContent.trim() === {name!r}",
           name)


def add_line(page, sku: str, quantity: int) -> None:
    """From the focused SKU box: the quantity, back to SKU, the SKU, Enter."""
    # A SKU suggestion of the line before may still be on its way: it fills the SKU box's
    # list and could take the next Tab. A person looks up first; so does the test.
    expect(page.locator(".htmx-request")).to_have_count(0)
    expect(page.get_by_label("SKU", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Quantity", exact=True)).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type(str(quantity))
    page.keyboard.press("Shift+Tab")
    sku_box = page.get_by_label("SKU", exact=True)
    expect(sku_box).to_be_focused()
    page.keyboard.type(sku)
    expect(sku_box).to_have_value(sku)
    page.keyboard.press("Enter")
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=re.compile(sku)))
    expect(row).to_be_visible()
    expect(row.get_by_label(f"Quantity of {sku}", exact=True)).to_have_value(str(quantity))


def type_card_field(page, placeholder: str, text: str) -> None:
    """The stand-in card field moves focus on by itself when a part is complete; follow it
    with Tab only when it did not."""
    tab_to(page, f"e.placeholder === {placeholder!r}", f"the card's {placeholder}")
    page.keyboard.type(text)


def test_a_phone_order_entered_and_paid_by_keyboard_only(page):
    page.set_default_timeout(15_000)
    page.goto("/agent/sign-in")
    expect(page.get_by_label("Email")).to_be_focused()  # no Tabs to reach it
    page.keyboard.type("agent@marketline.example")
    page.keyboard.press("Tab")
    page.keyboard.type("demo-pass-1")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Good to see you")

    # The start page's search box has the focus; Enter opens the one customer found.
    expect(page.get_by_label("Search customers")).to_be_focused()
    page.keyboard.type("shopper@example.com")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sam Shopper")
    assert_accessible(page)
    # "/" jumps to the header's search box from anywhere on a page.
    page.keyboard.press("/")
    expect(page.get_by_label("Find a customer or document")).to_be_focused()

    tab_to_button(page, "New order")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Phone order for Sam Shopper")
    page.wait_for_load_state()  # htmx starts on DOMContentLoaded
    add_line(page, "PAP-A4-80", 5)
    add_line(page, "PEN-G2-BLU", 12)
    add_line(page, "STP-30", 2)
    assert_accessible(page)

    # The shortcut: Ctrl+Enter presses Place order (card by phone is preselected).
    expect(page.get_by_label("Card by phone")).to_be_checked()
    page.keyboard.press("Control+Enter")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Card payment for SO-")
    number = re.search(r"SO-\d{6}", heading.inner_text()).group(0)
    expect(page.locator("#card-element input").first).to_be_visible()
    assert_accessible(page, exclude=["#card-element"])

    type_card_field(page, "number", "4242424242424242")
    type_card_field(page, "exp_month", "12")
    type_card_field(page, "exp_year", "30")
    type_card_field(page, "cvc", "123")
    type_card_field(page, "postal_code", "10115")
    page.keyboard.press("Control+Enter")  # Authorise card

    expect(page.get_by_role("heading", level=1)).to_contain_text(number)
    expect(page.get_by_text(re.compile(f"Card authorised for order {number}"))).to_be_visible()
    # The order page links its customer, under a breadcrumb that names them.
    breadcrumb = page.get_by_role("navigation", name="Breadcrumb")
    expect(breadcrumb.get_by_role("link", name="Sam Shopper")).to_be_visible()
    assert_accessible(page)

    # The order is no longer awaiting payment.
    page.goto("/agent/orders/awaiting-payment")
    expect(page.get_by_role("heading", level=1)).to_have_text("Orders awaiting payment")
    expect(page.get_by_role("link", name=number)).to_have_count(0)
    assert_accessible(page)
