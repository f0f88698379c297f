"""Issue 18: the shop on a 390×844 phone (DPR 2, touch), the quantity typed and clicked at
once, and adding from a category list or a product page without leaving it."""
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, serve_shop
from tests.e2e.test_checkout import fill_card, view_cart_after_adding

PHONE = dict(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
             has_touch=True)
PRODUCT = "/p/lavazza-espresso-beans-crema-1-kg"
A3_ADD = re.compile(r"^Add to cart\W+Copy Paper A3 80 g$")


@pytest.fixture(scope="module")
def shop(tmp_path_factory, localstripe):
    """The shop on its own database (these tests fill carts and place an order)."""
    with serve_shop(tmp_path_factory.mktemp("phone"), SECRET_KEY="e2e-phone-key",
                    STRIPE_API_BASE=localstripe,
                    STRIPE_JS_URL=f"{localstripe}/js.stripe.com/v3/") as (base, _):
        yield base


def _page(browser, base, **options):
    context = browser.new_context(base_url=base, **options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # A CSP violation is a console error; the checkout's refused submit (422) is expected.
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and "status of 422" not in m.text else None)
    page.script_errors = errors
    return context, page


@pytest.fixture
def phone(browser, shop):
    context, page = _page(browser, shop, **PHONE)
    yield page
    context.close()
    assert page.script_errors == [], page.script_errors


@pytest.fixture
def desktop(browser, shop):
    context, page = _page(browser, shop)
    yield page
    context.close()
    assert page.script_errors == [], page.script_errors


def no_sideways_scroll(page) -> None:
    width, inner = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"{page.url}: {width} px wide on a {inner} px screen"


def in_first_screen(locator) -> None:
    """The element is on the first screen without scrolling: top and bottom within it."""
    box = locator.evaluate("e => { const r = e.getBoundingClientRect();"
                           " return {top: r.top + scrollY, bottom: r.bottom + scrollY}; }")
    height = locator.page.evaluate("() => window.innerHeight")
    assert 0 <= box["top"] and box["bottom"] <= height, (locator, box, height)


def test_every_shop_page_fits_a_phone_with_products_and_the_buy_button_first(phone):
    page = phone
    page.goto("/")
    no_sideways_scroll(page)
    assert_accessible(page)

    # The categories sit behind a menu button that says whether it is open.
    menu = page.get_by_role("button", name="Categories")
    expect(menu).to_have_attribute("aria-expanded", "false")
    categories = page.get_by_role("navigation", name="Categories")
    expect(categories.get_by_role("link", name="Paper & Notebooks")).to_be_hidden()
    menu.tap()
    expect(menu).to_have_attribute("aria-expanded", "true")
    assert_accessible(page)
    categories.get_by_role("link", name="Paper & Notebooks").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("Paper & Notebooks")
    no_sideways_scroll(page)
    results = page.get_by_role("region", name="Products")
    in_first_screen(results.locator(".card").first)
    # Two products a row; the filters wait in their drawer.
    first, second = results.locator(".card").nth(0), results.locator(".card").nth(1)
    assert first.bounding_box()["y"] == second.bounding_box()["y"]
    expect(page.get_by_label("Sort by")).to_be_hidden()
    page.get_by_text("Filters and sort").tap()
    expect(page.get_by_label("Sort by")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("searchbox", name="Search").fill("espresso")
    page.get_by_role("searchbox", name="Search").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("espresso")
    no_sideways_scroll(page)
    in_first_screen(page.get_by_role("region", name="Search results").locator(".card").first)
    assert_accessible(page)

    page.goto(PRODUCT)
    no_sideways_scroll(page)
    in_first_screen(page.get_by_role("button", name="Add to cart", exact=True))
    assert_accessible(page)
    page.get_by_label("Quantity", exact=True).fill("2")
    page.get_by_role("button", name="Add to cart", exact=True).tap()
    view_cart_after_adding(page, 2)
    no_sideways_scroll(page)
    assert_accessible(page)
    # The line is a card on the screen, its total and Remove within reach.
    expect(page.get_by_role("button", name=re.compile("^Remove Espresso Beans"))).to_be_in_viewport()
    in_first_screen(page.locator("#cart").get_by_text("Total", exact=True).first)

    page.get_by_role("button", name="Checkout").tap()
    expect(page.get_by_role("heading", name="Checkout", exact=True)).to_be_visible()
    no_sideways_scroll(page)
    assert_accessible(page, exclude=["#card-element"])
    # The order with its shipping comes first; Place order comes after the card.
    review = page.get_by_role("region", name="Your order")
    expect(review).to_contain_text("Shipping")
    card_box = page.locator("#card-element").bounding_box()
    assert page.get_by_role("button", name="Place order").bounding_box()["y"] > card_box["y"]
    assert review.bounding_box()["y"] < page.get_by_label("Email").bounding_box()["y"]

    # Errors after Place order: focus on the FIRST invalid field (the name, not the city).
    page.get_by_label("Email").fill("phone@example.com")
    fill_card(page)
    page.get_by_role("button", name="Place order").tap()
    expect(page.locator("#city-error")).to_be_visible()
    expect(page.get_by_label("Full name")).to_be_focused()

    page.get_by_label("Full name").fill("Pia Phone")
    page.get_by_label("Address", exact=True).fill("Hauptstraße 5")
    page.get_by_label("Postal code").fill("10115")
    page.get_by_label("City").fill("Berlin")
    page.get_by_role("button", name="Place order").tap()
    expect(page.get_by_role("heading", name=re.compile(r"Thank you|Order SO-"))).to_be_visible()
    no_sideways_scroll(page)
    assert_accessible(page)


def test_a_customers_order_page_fits_a_phone(phone):
    page = phone
    page.goto("/account/sign-in")
    expect(page.get_by_label("Email")).to_be_focused()  # the sign-in page focuses the e-mail
    page.get_by_label("Email").fill("buyer@acme.example")  # the demo shopper has no orders
    page.get_by_label("Password").fill("demo-pass-1")
    page.get_by_role("button", name="Sign in").tap()
    expect(page).not_to_have_url(re.compile("sign-in"))
    page.goto("/account/orders")
    page.get_by_role("link", name=re.compile(r"^SO-")).first.tap()
    expect(page.get_by_role("heading", level=1)).to_contain_text("SO-")
    no_sideways_scroll(page)
    assert_accessible(page)


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_a_quantity_typed_and_clicked_at_once_is_the_quantity_added(device, request):
    page = request.getfixturevalue(device)
    page.goto(PRODUCT)
    quantity = page.get_by_label("Quantity", exact=True)
    quantity.fill("3")
    page.get_by_role("button", name="Add to cart", exact=True).click()  # no wait
    added = page.get_by_role("status").filter(has_text="Added")
    expect(added).to_contain_text("Added 3 × Espresso Beans")
    # Enter in the quantity field adds too.
    page.get_by_label("Quantity", exact=True).fill("4")
    page.get_by_label("Quantity", exact=True).press("Enter")
    expect(added).to_contain_text("Added 4 × Espresso Beans")
    expect(page.get_by_role("link", name=re.compile(r"^Cart"))).to_contain_text("7")
    view_cart_after_adding(page, 4)
    expect(page.get_by_label(re.compile("^Quantity of Espresso Beans"))).to_have_value("7")


def test_the_product_page_adds_in_place_from_the_sticky_button_and_refuses_at_the_field(phone):
    page = phone
    page.goto(PRODUCT)
    page.evaluate("window.__marker = 'same page'")
    page.get_by_label("Quantity", exact=True).fill("2")
    page.get_by_role("button", name="Add to cart", exact=True).tap()
    added = page.get_by_role("status").filter(has_text="Added")
    expect(added).to_have_text(
        re.compile(r"Added 2 × Espresso Beans Crema 1 kg – 1 kg · View cart"))
    expect(page.get_by_role("link", name=re.compile(r"^Cart"))).to_contain_text("2")
    assert page.evaluate("window.__marker") == "same page"
    assert page.url.split("?")[0].endswith(PRODUCT)
    # The confirmation sits above the sticky Add to cart, which stays within reach.
    button = page.get_by_role("button", name="Add to cart", exact=True)
    in_first_screen(button)
    assert added.bounding_box()["y"] + added.bounding_box()["height"] <= button.bounding_box()["y"]
    assert_accessible(page)
    # More than the shop has: said at the quantity field, nothing added.
    page.get_by_label("Quantity", exact=True).fill("9000")
    button.tap()
    expect(page.locator("#quantity-error")).to_have_text(
        re.compile(r"Only \d+ of Espresso Beans Crema 1 kg – 1 kg are in stock\."))
    expect(page.get_by_label("Quantity", exact=True)).to_have_accessible_description(
        re.compile("are in stock"))
    expect(page.get_by_label("Quantity", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("link", name=re.compile(r"^Cart"))).to_contain_text("2")


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_adding_from_a_category_list_confirms_and_stays_on_the_list(device, request):
    page = request.getfixturevalue(device)
    page.goto("/c/paper")
    page.evaluate("window.__marker = 'same page'")
    page.get_by_label("Quantity of Copy Paper A3 80 g").fill("2")
    page.get_by_role("button", name=A3_ADD).click()
    status = page.get_by_role("status").filter(has_text="Added")
    expect(status).to_have_text(re.compile(r"Added 2 × Copy Paper A3 80 g – 1 ream · View cart"))
    expect(page.get_by_role("link", name=re.compile(r"^Cart"))).to_contain_text("2")
    assert page.evaluate("window.__marker") == "same page"
    assert_accessible(page)
    page.get_by_label("Quantity of Copy Paper A3 80 g").fill("1")
    page.get_by_role("button", name=A3_ADD).click()
    expect(page.get_by_role("link", name=re.compile(r"^Cart"))).to_contain_text("3")
    expect(status).to_contain_text("Added 1 × Copy Paper A3 80 g")
    status.get_by_role("link", name="View cart").click()
    expect(page.get_by_label(re.compile("^Quantity of Copy Paper A3"))).to_have_value("3")
