"""An agent signs in to the console through single sign-on, in Chromium, against node
oidc-provider on loopback (its development login and consent pages)."""
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, serve_shop


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, oidc_provider):
    """The shop and the console with single sign-on configured (overrides the shared one).

    The provider allows any loopback callback under /agent/sso/callback, so the server may
    take any free port.
    """
    with serve_shop(tmp_path_factory.mktemp("e2e-sso"), SECRET_KEY="e2e-sso-secret-key",
                    OIDC_DISCOVERY_URL=oidc_provider.discovery_url,
                    OIDC_CLIENT_ID=oidc_provider.client_id,
                    OIDC_CLIENT_SECRET=oidc_provider.client_secret) as (base, _):
        yield base


@pytest.fixture
def sso_page(page, oidc_provider):
    # The provider's pages import a web font from the internet; answer that locally.
    page.route(re.compile(r"^https://fonts\.(googleapis|gstatic)\.com/"),
               lambda route: route.fulfill(status=200, content_type="text/css", body=""))
    page.oidc_issuer = oidc_provider.issuer
    return page


def sign_in_at_the_provider(page, login: str) -> None:
    """Type any login and password on the provider's form, then consent."""
    expect(page).to_have_url(re.compile("^" + re.escape(page.oidc_issuer) + "/interaction/"))
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password")
    page.locator("button[type=submit]").click()
    expect(page.locator("input[name=prompt][value=consent]")).to_be_attached()
    page.locator("button[type=submit]").click()


def test_an_agent_signs_in_through_single_sign_on(sso_page):
    page = sso_page
    page.goto("/agent/sign-in")
    expect(page.get_by_role("heading", name="Agent sign in")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Sign in with single sign-on").click()
    sign_in_at_the_provider(page, "agent@marketline.example")

    expect(page.get_by_role("heading", level=1)).to_contain_text("Alex Agent")
    expect(page).to_have_url(re.compile(r"/agent/$"))
    assert_accessible(page)


def test_an_unknown_e_mail_is_refused_with_a_message(sso_page):
    page = sso_page
    page.goto("/agent/sign-in")
    page.get_by_role("link", name="Sign in with single sign-on").click()
    sign_in_at_the_provider(page, "nobody@marketline.example")

    expect(page.get_by_role("heading", name="Agent sign in")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(
        "No active console account uses the e-mail address nobody@marketline.example")
    expect(page).to_have_url(re.compile(r"/agent/sign-in$"))
    assert_accessible(page)
