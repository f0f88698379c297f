"""A real server on a free loopback port, localstripe beside it, and Chromium driving both.

Every page a test visits is scanned by axe: no serious or critical violation passes.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from core.config import load_settings
from tests.conftest import free_port, prepare_demo_database, wait_for  # and the localstripe fixture

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def mail():
    """A real SMTP server on loopback: (sink, SMTP_URL) for the module's shop."""
    from aiosmtpd.controller import Controller

    from tests.web.conftest import Sink
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield sink, f"smtp://127.0.0.1:{controller.port}"
    controller.stop()


@contextmanager
def serve_shop(tmp_dir, **overrides):
    """Both apps, as wsgi.py composes them, on a free port over a fresh demo database
    (with its product pictures). Yields (base URL, settings)."""
    from callcenter import create_app as create_console
    from core.web.app import compose
    from storefront import create_app as create_shop

    url = f"sqlite:///{tmp_dir / 'shop.db'}"
    prepare_demo_database(url, media_dir=tmp_dir / "media")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # Links in e-mails and the SSO redirect URI come from SHOP_URL: this server's address.
    settings = load_settings(environ={}, DATABASE_URL=url, MEDIA_DIR=str(tmp_dir / "media"),
                             **{"SHOP_URL": base, **overrides})
    application = compose(create_shop(settings), create_console(settings))
    server = make_server("127.0.0.1", port, application, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    wait_for(base + "/")
    try:
        yield base, settings
    finally:
        server.shutdown()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, localstripe):
    """The shop and the console on a free port, with localstripe."""
    with serve_shop(tmp_path_factory.mktemp("e2e"), SECRET_KEY="e2e-secret-key",
                    STRIPE_API_BASE=localstripe,
                    STRIPE_JS_URL=f"{localstripe}/js.stripe.com/v3/") as (base, _):
        yield base


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.console_errors = errors  # a test that expects an error removes it from here
    yield page
    context.close()
    # A CSP violation or a script error shows up here: the page must run clean.
    assert errors == [], errors


def assert_accessible(page, *, exclude: list[str] | None = None) -> None:
    """Run axe on the page as it is now; fail on any serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe
    context = {"exclude": [[sel] for sel in exclude]} if exclude else None
    results = Axe().run(page, context=context)
    bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"{page.url}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in bad)
