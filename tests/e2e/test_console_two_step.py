"""A supervisor sets up two-step sign-in right after the password, then signs in again with
the password and the authenticator's code, in Chromium. pyotp plays the phone."""
import re
import time

import pyotp
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, serve_shop


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The shop and the console with two-step sign-in required (overrides the shared one)."""
    with serve_shop(tmp_path_factory.mktemp("e2e-two-step"), SECRET_KEY="e2e-two-step-key",
                    CONSOLE_REQUIRE_MFA="on") as (base, _):
        yield base


def sign_in_with_password(page, email: str) -> None:
    page.goto("/agent/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("demo-pass-1")
    page.get_by_role("button", name="Sign in").click()


def test_a_supervisor_enrols_then_signs_in_with_a_code(page):
    sign_in_with_password(page, "supervisor@marketline.example")

    expect(page.get_by_role("heading", name="Set up two-step sign-in")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/agent/sign-in/set-up$"))
    assert_accessible(page)
    key = page.locator("#totp-key").inner_text().replace(" ", "")
    phone = pyotp.TOTP(key)
    page.get_by_label("Code the app shows").fill(phone.now())
    page.get_by_role("button", name="Turn on two-step sign-in").click()

    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    assert_accessible(page)
    page.get_by_role("link", name="I have kept them: go to the console").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sue Supervisor")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Agent sign in")).to_be_visible()

    sign_in_with_password(page, "supervisor@marketline.example")
    expect(page.get_by_role("heading", name="Two-step sign-in")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Verify and sign in").click()
    expect(page.get_by_text("That code is not right")).to_be_visible()
    # The code of the next 30 seconds: the one used to enrol is never accepted again.
    page.get_by_label("Code").fill(phone.at(time.time() + 30))
    page.get_by_role("button", name="Verify and sign in").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Sue Supervisor")
    expect(page).to_have_url(re.compile(r"/agent/$"))
    page.get_by_role("link", name="Sue Supervisor").click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    expect(page.get_by_text("Recovery codes left: 10")).to_be_visible()
    assert_accessible(page)
