"""Company accounts in the browser: Acme's admin invites a buyer, the buyer follows the
e-mailed link, chooses a password and is signed in."""
import re

import pytest
from playwright.sync_api import expect

from core.demo import DEMO_PASSWORD
from tests.e2e.conftest import assert_accessible, serve_shop
from tests.web.conftest import text_of


@pytest.fixture(scope="module")
def shop_with_mail(tmp_path_factory, mail):
    """The shop on its own database, its e-mail going to the test's SMTP sink."""
    with serve_shop(tmp_path_factory.mktemp("company"), SECRET_KEY="e2e-company-key",
                    SMTP_URL=mail[1]) as (base, _):
        yield base


@pytest.fixture
def new_page(browser, shop_with_mail):
    contexts, errors = [], []

    def make():
        context = browser.new_context(base_url=shop_with_mail)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        return page
    yield make
    for context in contexts:
        context.close()
    # The spent link answers 400 on purpose (the last step); anything else is a fault.
    assert [e for e in errors if "status of 400" not in e] == [], errors


def test_the_acme_admin_invites_a_buyer_who_sets_a_password_and_is_signed_in(new_page, mail):
    sink, _ = mail
    ada = new_page()
    ada.goto("/account/sign-in")
    ada.get_by_label("Email").fill("admin@acme.example")
    ada.get_by_label("Password").fill(DEMO_PASSWORD)
    ada.get_by_role("button", name="Sign in").click()
    expect(ada.get_by_role("heading", name="My account")).to_be_visible()

    ada.get_by_role("navigation", name="Account").get_by_role("link", name="Company").click()
    expect(ada.get_by_role("heading", name="Company: Acme Corp")).to_be_visible()
    assert_accessible(ada)
    ada.get_by_label("Full name").fill("Nico Neubuyer")
    ada.get_by_label("E-mail").fill("nico@acme.example")
    ada.get_by_label("Role").select_option("buyer")
    ada.get_by_label("Spending limit per order (optional)").fill("400")
    ada.get_by_role("button", name="Invite buyer").click()
    expect(ada.get_by_text("Invitation sent to nico@acme.example")).to_be_visible()
    row = ada.get_by_role("row").filter(has_text="Nico Neubuyer")
    expect(row).to_contain_text("Invited")
    expect(row).to_contain_text("400.00")

    text = text_of(sink.wait_for("nico@acme.example", subject="Acme Corp"))
    assert "Ada Admin invited you to buy for Acme Corp" in text
    link = re.search(r"https?://[^/\s]+(/account/invitation/[\w-]+)", text).group(1)

    nico = new_page()
    nico.goto(link)
    expect(nico.get_by_role("heading", name="Set up your login")).to_be_visible()
    assert_accessible(nico)
    nico.get_by_label("Choose a password").fill("copper-kettle-58")
    nico.get_by_label("Repeat the password").fill("copper-kettle-58")
    nico.get_by_role("button", name="Set password and sign in").click()
    expect(nico.get_by_role("heading", name="My account")).to_be_visible()
    expect(nico.get_by_text("Welcome, Nico Neubuyer. You buy for Acme Corp.")).to_be_visible()
    # A buyer: no Company page offered.
    expect(nico.get_by_role("navigation", name="Account")
           .get_by_role("link", name="Company")).to_have_count(0)

    ada.reload()
    expect(ada.get_by_role("row").filter(has_text="Nico Neubuyer")).to_contain_text("Active")

    nico.goto(link)  # the link works once
    expect(nico.get_by_role("heading", name="This link cannot be used")).to_be_visible()


def test_the_admins_buyer_and_address_pages_and_every_account_page_are_accessible(new_page):
    ada = new_page()
    ada.goto("/account/sign-in")
    ada.get_by_label("Email").fill("admin@acme.example")
    ada.get_by_label("Password").fill(DEMO_PASSWORD)
    ada.get_by_role("button", name="Sign in").click()
    expect(ada.get_by_role("heading", name="My account")).to_be_visible()

    ada.goto("/account/company")
    ada.get_by_role("link", name="Manage Bea Buyer").click()
    expect(ada.get_by_role("heading", name="Bea Buyer")).to_be_visible()
    assert_accessible(ada)
    ada.get_by_label("Spending limit per order (optional)").fill("-3")
    ada.get_by_role("button", name="Save role and limits").click()  # htmx: the form answers
    expect(ada.get_by_text("Enter an amount of 0 or more")).to_be_visible()
    assert_accessible(ada)

    ada.goto("/account/")
    ada.get_by_role("link", name="Addresses").click()
    expect(ada.get_by_role("heading", name="Acme Corp's address book")).to_be_visible()
    expect(ada.get_by_text("Am Sandtorkai 40")).to_be_visible()  # the demo's second ship-to
    assert_accessible(ada)
    ada.get_by_role("link", name="Add address").click()
    assert_accessible(ada)

    for link, heading in (("Profile", "Your profile"), ("Change e-mail", "Change your e-mail address")):
        ada.goto("/account/")
        ada.get_by_role("main").get_by_role("link", name=link, exact=True).click()
        expect(ada.get_by_role("heading", name=heading)).to_be_visible()
        assert_accessible(ada)
