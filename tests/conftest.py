"""Fixtures shared by every test: a migrated database with the demo data, sessions that
roll back after each test, the two apps and their test clients.

Run on SQLite by default; `--db=postgresql` runs on a fresh database made on the server
named by TEST_DATABASE_URL (and dropped afterwards).
"""
from __future__ import annotations

import atexit
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

import core.reporting  # noqa: F401 - issued documents become sales facts, as in the app
from core.config import load_settings
from core.db import make_engine
from core.migrate import upgrade

# argon2id at its cheapest while testing (as Django's test settings swap in a fast hasher):
# with the library's recommended cost each sign-in spent about 0.14 s verifying, and the
# suite signs in thousands of times. The hash is still argon2id and verify still reads the
# cost from each hash; production keeps core.auth.passwords' own hasher.
import core.auth.passwords as _passwords  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402

_passwords._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)


def pytest_addoption(parser):
    parser.addoption("--db", choices=["sqlite", "postgresql"], default="sqlite",
                     help="database the suite runs on (postgresql needs TEST_DATABASE_URL)")


def pytest_report_header(config):
    return f"marketline database: {config.getoption('--db')}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory):
    """localstripe on a free port, with its state file in a private folder.

    Shared by tests/e2e (the live server pays through it) and the few web tests that
    check a real call to the payment service.
    """
    port = free_port()
    state = tmp_path_factory.mktemp("localstripe")
    binary = Path(sys.executable).with_name("localstripe")
    process = subprocess.Popen([str(binary), "--port", str(port), "--from-scratch"],
                               env={**os.environ, "TMPDIR": str(state)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/js.stripe.com/v3/")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(autouse=True)
def no_caches():
    """Every test reads the database: the per-process caches (core.cache) start empty and
    off, whatever an app built earlier in the run configured."""
    from core import cache
    cache.listings.configure(0)
    cache.reference.configure(0)


@pytest.fixture(scope="session")
def db_backend(pytestconfig) -> str:
    return pytestconfig.getoption("--db")


def _create_pg_database(base_url: str) -> tuple[str, callable]:
    name = f"marketline_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(base_url).set(drivername="postgresql+psycopg"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base_url).set(drivername="postgresql+psycopg", database=name)

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


def fresh_database(kind: str, tmp_dir) -> tuple[str, callable]:
    """A new empty database of `kind` and a function that removes it."""
    if kind == "postgresql":
        base = os.environ.get("TEST_DATABASE_URL")
        if not base:
            pytest.fail("--db=postgresql needs TEST_DATABASE_URL, e.g. "
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")
        return _create_pg_database(base)
    return f"sqlite:///{tmp_dir / f'marketline-{uuid.uuid4().hex[:8]}.db'}", lambda: None


@pytest.fixture(scope="session")
def database_url(db_backend, tmp_path_factory):
    """A migrated database holding the demo data, for the whole run."""
    url, drop = fresh_database(db_backend, tmp_path_factory.mktemp("db"))
    prepare_demo_database(url)
    yield url
    drop()


_SQLITE_TEMPLATES: dict[bool, Path] = {}


def prepare_demo_database(url: str, media_dir=None) -> None:
    """Migrate the database at `url` and load the demo shop into it (committed).

    SQLite: the first call in a process seeds a template file (and its pictures), every
    later one copies it. Seeding takes about ten seconds and every e2e module serves a
    demo database of its own; a copy holds exactly what a fresh seed would, on the same day.
    """
    target = make_url(url)
    if target.get_backend_name() != "sqlite" or not target.database:
        _seed_demo_database(url, media_dir)
        return
    with_media = media_dir is not None
    template = _SQLITE_TEMPLATES.get(with_media)
    if template is None:
        template = Path(tempfile.mkdtemp(prefix="marketline-template-"))
        atexit.register(shutil.rmtree, template, ignore_errors=True)
        _seed_demo_database(f"sqlite:///{template / 'demo.db'}",
                            template / "media" if with_media else None)
        _SQLITE_TEMPLATES[with_media] = template
    # The backup API copies what is committed, whether or not it is still in the WAL.
    with closing(sqlite3.connect(template / "demo.db")) as source, \
            closing(sqlite3.connect(target.database)) as copy:
        source.backup(copy)
    if with_media:
        shutil.copytree(template / "media", media_dir, dirs_exist_ok=True)


def _seed_demo_database(url: str, media_dir=None) -> None:
    from core.demo import load_demo
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        load_demo(session, media_dir)
        session.commit()
    engine.dispose()


@pytest.fixture(scope="session")
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine):
    """One connection per test inside a transaction that is rolled back at the end."""
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        if outer.is_active:
            outer.rollback()


@pytest.fixture
def session_factory(connection):
    # Sessions join the test's transaction through savepoints: a view's commit releases
    # a savepoint, and everything disappears with the outer rollback.
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                        expire_on_commit=False)


@pytest.fixture
def db(session_factory) -> Session:
    session = session_factory()
    from tests import factories
    factories.bind(session)
    yield session
    session.close()


@pytest.fixture
def settings(database_url):
    # No caches: each test's data is rolled back, so cached values would leak between tests.
    # SHOP_URL: the shop where the test client serves it, so e-mailed links can be followed.
    return load_settings(environ={}, DATABASE_URL=database_url, SECRET_KEY="test-secret-key",
                         SMTP_URL="", LISTING_CACHE_SECONDS=0, REFERENCE_CACHE_SECONDS=0,
                         SHOP_URL="http://localhost")


@pytest.fixture
def payment_gateway():
    """The apps' payment gateway: None is Stripe from the settings. A test module that needs
    another answer overrides this fixture with a fake (tests/fakes.py)."""
    return None


@pytest.fixture
def shop_app(settings, session_factory, payment_gateway):
    from storefront import create_app
    app = create_app(settings, session_factory=session_factory, gateway=payment_gateway)
    app.config.update(TESTING=True)
    return app


@pytest.fixture
def console_app(settings, session_factory, payment_gateway):
    from callcenter import create_app
    app = create_app(settings, session_factory=session_factory, gateway=payment_gateway)
    app.config.update(TESTING=True)
    return app


@pytest.fixture
def client(shop_app):
    return shop_app.test_client()


@pytest.fixture
def console_client(console_app):
    return console_app.test_client()


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_token(client, path: str = "/") -> str:
    """The CSRF token a page of this client's session carries, as a browser would read it."""
    page = client.get(path)
    match = CSRF_META.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client, email: str, password: str, path: str = "/account/sign-in"):
    token = csrf_token(client, path)
    return client.post(path, data={"email": email, "password": password, "csrf_token": token})


@pytest.fixture
def customer_client(client):
    """The storefront client, signed in as the demo shopper."""
    response = sign_in(client, "shopper@example.com", "demo-pass-1")
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


def agent_client_for(console_app, email: str):
    client = console_app.test_client()
    response = sign_in(client, email, "demo-pass-1", path="/sign-in")
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


@pytest.fixture
def agent_client(console_app):
    """The console client, signed in as the demo agent."""
    return agent_client_for(console_app, "agent@marketline.example")


@pytest.fixture
def supervisor_client(console_app):
    return agent_client_for(console_app, "supervisor@marketline.example")


# --- single sign-on: a real OpenID Connect provider -----------------------------------
from typing import NamedTuple


class OidcProvider(NamedTuple):
    """A running test OpenID Connect provider and the one client it knows."""

    issuer: str
    client_id: str
    client_secret: str

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"


# The console's callback as the Flask test client sees it, and as any live test server
# on loopback serves it under /agent.
OIDC_REDIRECT_URI = "http://localhost/sso/callback"
OIDC_REDIRECT_PATTERN = r"^http://127\.0\.0\.1:\d+/agent/sso/callback$"


@pytest.fixture(scope="session")
def oidc_provider():
    """node oidc-provider (tests/oidc/provider.mjs) on a free loopback port, for the whole run.

    Anyone signs in on its development login form with any password; the login typed is
    the e-mail address the console receives from userinfo.
    """
    root = Path(__file__).resolve().parent.parent
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: single sign-on tests need node oidc-provider")
    if not (root / "node_modules" / "oidc-provider").is_dir():
        pytest.skip("node_modules/oidc-provider is missing: run `npm install` (make test does)")
    port = free_port()
    provider = OidcProvider(f"http://127.0.0.1:{port}", "marketline-console",
                            "marketline-console-test-secret")
    env = {**os.environ, "OIDC_PORT": str(port), "OIDC_CLIENT_ID": provider.client_id,
           "OIDC_CLIENT_SECRET": provider.client_secret, "OIDC_REDIRECT_URI": OIDC_REDIRECT_URI,
           "OIDC_REDIRECT_PATTERN": OIDC_REDIRECT_PATTERN}
    process = subprocess.Popen([node, "tests/oidc/provider.mjs"], cwd=root, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(provider.discovery_url)
        yield provider
    finally:
        process.terminate()
        process.wait(timeout=10)
