"""CSRF protection, security headers and the Content-Security-Policy."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from core.config import Settings

csrf = CSRFProtect()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy(settings: Settings) -> str:
    """A strict policy: our own scripts and styles only (no 'unsafe-inline'), plus Stripe.js."""
    stripe_js = _origin(settings.STRIPE_JS_URL)
    stripe_api = _origin(settings.STRIPE_API_BASE)
    scripts = " ".join(filter(None, ["'self'", stripe_js]))
    frames = " ".join(filter(None, ["'self'", stripe_js]))
    connect = " ".join(dict.fromkeys(filter(None, ["'self'", stripe_js, stripe_api])))
    return (
        "default-src 'self'; "
        f"script-src {scripts}; "
        "style-src 'self'; "
        "img-src 'self' data:; "
        "font-src 'self'; "
        f"connect-src {connect}; "
        f"frame-src {frames}; "
        "object-src 'none'; "
        "base-uri 'self'; "
        "form-action 'self'; "
        "frame-ancestors 'none'"
    )


def init_security(app: Flask, settings: Settings) -> None:
    csrf.init_app(app)
    policy = content_security_policy(settings)

    @app.after_request
    def _headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if settings.production:
            headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        if response.mimetype == "text/html":
            headers.setdefault("Cache-Control", "no-store")
        return response
