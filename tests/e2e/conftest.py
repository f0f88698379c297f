"""A real server on a free loopback port, localstripe beside it, and Chromium driving both.

Every page a test visits is scanned by axe: no serious or critical violation passes.
"""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from core.config import load_settings
from core.db import make_engine
from core.migrate import upgrade
from tests.conftest import free_port, wait_for  # localstripe is a fixture of tests/conftest.py

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, localstripe):
    """Both apps, as wsgi.py composes them, on a free port over a fresh demo database."""
    from callcenter import create_app as create_console
    from core.demo import load_demo
    from core.web.app import compose
    from storefront import create_app as create_shop

    url = f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / 'e2e.db'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        load_demo(session)
        session.commit()
    engine.dispose()
    settings = load_settings(environ={}, DATABASE_URL=url, SECRET_KEY="e2e-secret-key",
                             STRIPE_API_BASE=localstripe,
                             STRIPE_JS_URL=f"{localstripe}/js.stripe.com/v3/")
    application = compose(create_shop(settings), create_console(settings))
    server = make_server("127.0.0.1", free_port(), application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    wait_for(base + "/")
    yield base
    server.shutdown()


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
