"""create_base_app: what the storefront and the console share."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from pathlib import Path

from jinja2 import BytecodeCache
from flask import Blueprint, Flask, has_request_context, request, send_from_directory
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response
from werkzeug.wsgi import get_host
from werkzeug.routing import IntegerConverter
from sqlalchemy.orm import sessionmaker

import core.notifications  # noqa: F401 - subscribes the e-mails to the domain events
import core.reporting  # noqa: F401 - records every issued document as sales facts
from core.config import PROJECT_ROOT, Settings, load_settings
from core.money import Money
from core.payments.gateway import PaymentGateway
from core.tasks import configure_celery
from core.web.auth import Realm, init_auth
from core.web.cli import init_cli
from core.web.db import init_db
from core.web.errors import init_errors
from core.web.htmx import htmx
from core.web.labels import init_labels
from core.web.payments import init_gateway
from core.web.security import init_security

core_blueprint = Blueprint("core", __name__, template_folder="templates",
                           static_folder="static", static_url_path="/static/core")


def _serve_media(app: Flask, settings: Settings) -> None:
    """Product pictures and other files under MEDIA_DIR, at /media/<path>."""
    media = Path(settings.MEDIA_DIR)

    @app.get("/media/<path:filename>", endpoint="media")
    def media_file(filename: str):
        response = send_from_directory(media, filename, max_age=86400)
        response.headers["Content-Security-Policy"] = "default-src 'none'"
        return response


class IdConverter(IntegerConverter):
    """`<int:…>` for ids: at most 18 ASCII digits, so the number fits a 64-bit column.

    Werkzeug's own takes any run of Unicode digits: 20 of them overflowed SQLite's
    INTEGER (a 500) and 5,000 raised in int(); here such a path is simply not found."""

    regex = r"[0-9]{1,18}"
    signed_regex = r"-?[0-9]{1,18}"


def money_filter(value, currency: str | None = None) -> str:
    """`money|money`, or `amount|money("EUR")`: the currency's decimal places, '5.49 EUR'."""
    if value is None:
        return ""
    if currency is not None:
        return Money(value, currency).format()
    return value.format() if isinstance(value, Money) else value


_UNTRUSTED_HOST_PAGE = (
    '<!doctype html><html lang="en"><meta charset="utf-8"><title>Unknown address</title>'
    "<h1>Unknown address</h1><p>This site does not answer to that address. Check the link "
    "or type the shop's address again.</p></html>")


def refuse_untrusted_hosts(wsgi_app, hosts: list[str]):
    """Answer 400 to a request whose Host (after ProxyFix) is not one of `hosts`.

    Flask's TRUSTED_HOSTS refuses them too, but only once the request context exists:
    hooks and error pages then run on a request that cannot build URLs (a 500). Here the
    request never reaches the app.
    """
    def app(environ, start_response):
        try:
            get_host(environ, trusted_hosts=hosts)
        except SecurityError:
            response = Response(_UNTRUSTED_HOST_PAGE, status=400, mimetype="text/html")
            response.headers["Content-Security-Policy"] = "default-src 'none'"
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["Cache-Control"] = "no-store"
            return response(environ, start_response)
        return wsgi_app(environ, start_response)

    return app


def _app_secret(secret: str, realm: str) -> str:
    # Each app signs its cookie with its own key, so one app's cookie means nothing to the other.
    return hmac.new(secret.encode(), f"marketline-{realm}".encode(), hashlib.sha256).hexdigest()


class _RootedSessionInterface(SecureCookieSessionInterface):
    """Signed cookie sessions whose cookie path, unless fixed by SESSION_COOKIE_PATH, is the
    root the app is served at: /agent for the console, whether wsgi:application mounts it
    there or it runs alone behind a proxy with SCRIPT_NAME=/agent; / on a host of its own."""

    def get_cookie_path(self, app: Flask) -> str:
        root = request.script_root if has_request_context() else ""
        return app.config["SESSION_COOKIE_PATH"] or root or "/"


def cookie_name_for(name: str, *, path: str | None, production: bool) -> str:
    """In production the browser itself vouches for the cookie: `__Host-` (Secure, Path=/,
    no Domain, so a sibling subdomain cannot plant or overwrite it) for a cookie at /,
    `__Secure-` for one under a path (the console's)."""
    if not production:
        return name
    return ("__Host-" if path == "/" else "__Secure-") + name


class _ProcessBytecodeCache(BytecodeCache):
    """Jinja's compiled templates, in memory, shared by the apps of one process. A bucket is
    keyed by template name and file and checked against the source's checksum, so an edited
    template is compiled again."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if (code := self._code.get(bucket.key)) is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED_TEMPLATES = _ProcessBytecodeCache()


def create_base_app(import_name: str, *, realm: Realm, cookie_name: str,
                    cookie_path: str | None = None,
                    settings: Settings | None = None,
                    session_factory: sessionmaker | None = None,
                    gateway: PaymentGateway | None = None) -> Flask:
    """A Flask app with database session, security, CSRF, auth realm, errors, CLI and the
    payment gateway (core.web.payments.gateway(); None: Stripe, from the settings).

    `cookie_path` fixes the session cookie's path; None takes the app's root per request.
    """
    settings = settings or load_settings()
    app = Flask(import_name, instance_path=str(PROJECT_ROOT / "instance"))
    # Before anything touches app.jinja_env: compiled templates are kept for every app the
    # process builds (the tests build one per test; compiling was a sixth of their time).
    app.jinja_options = {**app.jinja_options, "bytecode_cache": _COMPILED_TEMPLATES}
    app.url_map.converters["int"] = IdConverter  # before any route is added
    app.config.update(
        MARKETLINE=settings,
        SECRET_KEY=_app_secret(settings.SECRET_KEY, realm.name),
        SECRET_KEY_FALLBACKS=[_app_secret(old, realm.name)
                              for old in settings.secret_key_fallbacks],
        TRUSTED_HOSTS=settings.allowed_hosts,  # any other Host header: 400
        SESSION_COOKIE_NAME=cookie_name_for(cookie_name, path=cookie_path,
                                            production=settings.production),
        SESSION_COOKIE_PATH=cookie_path,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(minutes=settings.SESSION_LIFETIME_MINUTES),
        # The cookie is sent only when a request changes the session. Refreshed on every
        # answer, a slow answer (an order-entry suggestion still on its way when the agent
        # pressed Add line) would put back the cookie as it was before a faster request
        # changed it, and lose what that request kept (the draft's cart). Expiry and idle
        # time are the server's (LoginSession), so nothing needs the refresh.
        SESSION_REFRESH_EACH_REQUEST=False,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session that holds it
        WTF_CSRF_HEADERS=["X-CSRFToken"],
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        STRIPE_PUBLISHABLE_KEY=settings.STRIPE_PUBLISHABLE_KEY,
    )
    app.session_interface = _RootedSessionInterface()
    app.register_blueprint(core_blueprint)
    _serve_media(app, settings)
    init_db(app, settings.DATABASE_URL, session_factory)
    init_security(app, settings)
    init_auth(app, realm)
    init_errors(app)
    init_cli(app)
    init_gateway(app, gateway)
    htmx.init_app(app)
    configure_celery(settings)  # also sets the zones: e-mails' and the business day's
    app.wsgi_app = refuse_untrusted_hosts(app.wsgi_app, settings.allowed_hosts)
    if settings.TRUSTED_PROXIES:
        # Behind a load balancer: take the client's address (throttling) and scheme from the
        # X-Forwarded-* headers the trusted proxies set, and only from them. The host and
        # prefix only when PROXY_FORWARDS_HOST says the proxies set (and overwrite) them:
        # many load balancers pass a client's X-Forwarded-Host through untouched.
        n = settings.TRUSTED_PROXIES
        forwarded_host = n if settings.PROXY_FORWARDS_HOST else 0
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=forwarded_host,
                                x_prefix=forwarded_host)
    else:
        _warn_of_an_unseen_proxy(app)
    app.jinja_env.filters["money"] = money_filter
    init_labels(app, settings.CONSOLE_TIMEZONE if realm.name == "agent"
                else settings.SHOP_TIMEZONE, settings.SHOP_TIMEZONE)
    app.jinja_env.globals["settings"] = settings
    app.jinja_env.add_extension("jinja2.ext.do")
    return app


def _warn_of_an_unseen_proxy(app: Flask) -> None:
    """With TRUSTED_PROXIES=0 every request seems to come from the proxy in front, if there
    is one: one shared budget for sign-in and rate limits. Say so in the log (once per
    process) when a request arrives through a proxy."""
    warned = []

    @app.before_request
    def _forwarded():
        if not warned and request.headers.get("X-Forwarded-For"):
            warned.append(True)
            app.logger.warning(
                "A request came through a proxy (X-Forwarded-For), but TRUSTED_PROXIES is 0: "
                "rate limits and sign-in throttling count every client as the proxy's "
                "address %s. Set TRUSTED_PROXIES to the number of proxies in front.",
                request.remote_addr)


CONSOLE_PREFIX = "/agent"


def compose(storefront: Flask, console: Flask) -> DispatcherMiddleware:
    """One WSGI application: the storefront at /, the console under /agent."""
    return DispatcherMiddleware(storefront, {CONSOLE_PREFIX: console})
