"""create_base_app: what the storefront and the console share."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from pathlib import Path

from flask import Blueprint, Flask, send_from_directory
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter
from sqlalchemy.orm import sessionmaker

from core.config import PROJECT_ROOT, Settings, load_settings
from core.money import Money
from core.tasks import configure_celery
from core.web.auth import Realm, init_auth
from core.web.cli import init_cli
from core.web.db import init_db
from core.web.errors import init_errors
from core.web.htmx import htmx
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


def _app_secret(secret: str, realm: str) -> str:
    # Each app signs its cookie with its own key, so one app's cookie means nothing to the other.
    return hmac.new(secret.encode(), f"marketline-{realm}".encode(), hashlib.sha256).hexdigest()


def create_base_app(import_name: str, *, realm: Realm, cookie_name: str,
                    settings: Settings | None = None,
                    session_factory: sessionmaker | None = None) -> Flask:
    """A Flask app with database session, security, CSRF, auth realm, errors and CLI."""
    settings = settings or load_settings()
    app = Flask(import_name, instance_path=str(PROJECT_ROOT / "instance"))
    app.url_map.converters["int"] = IdConverter  # before any route is added
    app.config.update(
        MARKETLINE=settings,
        SECRET_KEY=_app_secret(settings.SECRET_KEY, realm.name),
        SESSION_COOKIE_NAME=cookie_name,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(minutes=settings.SESSION_LIFETIME_MINUTES),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session that holds it
        WTF_CSRF_HEADERS=["X-CSRFToken"],
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        STRIPE_PUBLISHABLE_KEY=settings.STRIPE_PUBLISHABLE_KEY,
    )
    app.register_blueprint(core_blueprint)
    _serve_media(app, settings)
    init_db(app, settings.DATABASE_URL, session_factory)
    init_security(app, settings)
    init_auth(app, realm)
    init_errors(app)
    init_cli(app)
    htmx.init_app(app)
    configure_celery(settings)
    if settings.TRUSTED_PROXIES:
        # Behind a load balancer: take the client's address (throttling), scheme and host
        # from the X-Forwarded-* headers the trusted proxies set, and only from them.
        n = settings.TRUSTED_PROXIES
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_prefix=n)
    app.jinja_env.filters["money"] = money_filter
    app.jinja_env.globals["settings"] = settings
    app.jinja_env.add_extension("jinja2.ext.do")
    return app


CONSOLE_PREFIX = "/agent"


def compose(storefront: Flask, console: Flask) -> DispatcherMiddleware:
    """One WSGI application: the storefront at /, the console under /agent."""
    return DispatcherMiddleware(storefront, {CONSOLE_PREFIX: console})
