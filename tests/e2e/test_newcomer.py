"""A newcomer's path through both apps, as a person would click it."""
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, serve_shop
from tests.web.conftest import text_of


@pytest.fixture(scope="module")
def shop_with_mail(tmp_path_factory, mail):
    """The shop on its own database, its e-mail going to the test's SMTP sink."""
    with serve_shop(tmp_path_factory.mktemp("newcomer"), SECRET_KEY="e2e-newcomer-key",
                    SMTP_URL=mail[1]) as (base, _):
        yield base


@pytest.fixture
def mail_page(browser, shop_with_mail):
    context = browser.new_context(base_url=shop_with_mail)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert errors == [], errors


def test_a_newcomer_creates_an_account_confirms_it_signs_out_and_signs_in_again(mail_page, mail):
    page, (sink, _) = mail_page, mail
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Office and coffee equipment")
    assert_accessible(page)

    page.get_by_role("link", name="Create account").click()
    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Full name").fill("Nora Newcomer")
    page.get_by_label("Email").fill("nora@example.com")
    page.get_by_label("Password").fill("nora-pass-123")
    page.get_by_role("button", name="Create account").click()

    # The address is confirmed by the e-mailed link, with the password chosen.
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    assert_accessible(page)
    text = text_of(sink.wait_for("nora@example.com"))
    link = re.search(r"https?://[^/\s]+(/account/confirm/[\w-]+)", text).group(1)
    page.goto(link)
    expect(page.get_by_role("heading", name="Confirm your e-mail address")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Password").fill("nora-pass-123")
    page.get_by_role("button", name="Confirm and sign in").click()

    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    expect(page.get_by_text("nora@example.com")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Change password").click()
    expect(page.get_by_role("heading", name="Change your password")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Back to my account").click()
    page.get_by_role("button", name="Sign out everywhere else").click()
    expect(page.get_by_text("You are signed out on every other device.")).to_be_visible()

    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Sign in").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Email").fill("nora@example.com")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("do not match")).to_be_visible()  # swapped in by htmx
    assert_accessible(page)
    page.get_by_label("Password").fill("nora-pass-123")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()


def test_a_shopper_browses_a_category_searches_and_opens_a_product(page):
    page.goto("/")
    page.get_by_role("navigation", name="Categories").get_by_role("link", name="Coffee Machines").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Coffee Machines")
    assert_accessible(page)

    page.get_by_label("Search").fill("COF-MM-KBG")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/search\?q=COF-MM-KBG"))
    assert_accessible(page)
    page.get_by_role("link", name="Filter Coffee Brewer 1.8 l").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Filter Coffee Brewer 1.8 l")
    expect(page.get_by_text("239.00 EUR").first).to_be_visible()
    assert_accessible(page)


def test_an_agent_signs_in_to_the_console(page):
    page.goto("/agent/")
    expect(page.get_by_role("heading", name="Agent sign in")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Email").fill("agent@marketline.example")
    page.get_by_label("Password").fill("demo-pass-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Alex Agent")
    assert_accessible(page)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Agent sign in")).to_be_visible()


def test_the_not_found_page_is_friendly(page):
    response = page.goto("/no-such-page")
    assert response.status == 404
    page.console_errors.remove(
        "Failed to load resource: the server responded with a status of 404 (NOT FOUND)")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    assert_accessible(page)
