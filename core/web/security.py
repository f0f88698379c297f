"""CSRF protection, security headers, the Content-Security-Policy and its violation reports."""
from __future__ import annotations

import json
import logging
import threading
import time
from urllib.parse import urlsplit

from flask import Flask, request
from flask_wtf.csrf import CSRFProtect

from core.config import Settings

csrf = CSRFProtect()
log = logging.getLogger("marketline.csp")

STRIPE_JS_ORIGIN = "https://js.stripe.com"
# What Stripe's integration security guide (docs.stripe.com/security/guide, "Content
# Security Policy") lists for Stripe.js, Elements and 3-D Secure: Stripe.js loads from
# js.stripe.com and *.js.stripe.com, frames those and hooks.stripe.com (the 3-D Secure
# challenge), and talks to api.stripe.com.
STRIPE_SCRIPT_SOURCES = ("https://js.stripe.com", "https://*.js.stripe.com")
STRIPE_FRAME_SOURCES = ("https://js.stripe.com", "https://*.js.stripe.com",
                        "https://hooks.stripe.com")
STRIPE_CONNECT_SOURCES = ("https://api.stripe.com",)

CSP_REPORT_PATH = "/csp-report"
CSP_REPORT_GROUP = "csp"
CSP_REPORT_MAX_BYTES = 8 * 1024
CSP_REPORTS_LOGGED_PER_MINUTE = 30


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _sources(*groups) -> str:
    return " ".join(dict.fromkeys(s for group in groups for s in group if s))


def content_security_policy(settings: Settings) -> str:
    """A strict policy: our own scripts and styles only (no 'unsafe-inline'), plus Stripe.js
    (what Stripe documents when STRIPE_JS_URL is Stripe's; localstripe's origin otherwise),
    and violations reported to CSP_REPORT_PATH."""
    stripe_js = _origin(settings.STRIPE_JS_URL)
    stripe_api = _origin(settings.STRIPE_API_BASE)
    real_stripe = stripe_js == STRIPE_JS_ORIGIN
    scripts = _sources(["'self'", stripe_js], STRIPE_SCRIPT_SOURCES if real_stripe else ())
    frames = _sources(["'self'", stripe_js], STRIPE_FRAME_SOURCES if real_stripe else ())
    connect = _sources(["'self'", stripe_js, stripe_api],
                       STRIPE_CONNECT_SOURCES if real_stripe else ())
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
        "frame-ancestors 'none'; "
        f"report-uri {CSP_REPORT_PATH}; "
        f"report-to {CSP_REPORT_GROUP}"
    )


def init_security(app: Flask, settings: Settings) -> None:
    csrf.init_app(app)
    policy = content_security_policy(settings)
    app.add_url_rule(CSP_REPORT_PATH, endpoint="csp_report", view_func=csp_report,
                     methods=["POST"])

    @app.after_request
    def _headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy)
        headers.setdefault("Reporting-Endpoints", f'{CSP_REPORT_GROUP}="{CSP_REPORT_PATH}"')
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        if request.view_args and "token" in request.view_args:
            # A reset or pay-by-link token in the address: never sent on as a Referer.
            headers["Referrer-Policy"] = "no-referrer"
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if settings.production:
            headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        if response.mimetype == "text/html":
            headers.setdefault("Cache-Control", "no-store")
        return response


# -- violation reports ---------------------------------------------------------------------

class _LogBudget:
    """At most `per_minute` reports logged per process; a flood is counted, not logged."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self.window, self.used, self.dropped = 0, 0, 0
        self.lock = threading.Lock()

    def take(self) -> tuple[bool, int]:
        """(may log now, reports dropped in the previous minute)."""
        with self.lock:
            window = int(time.monotonic() // 60)
            dropped = 0
            if window != self.window:
                self.window, self.used, dropped, self.dropped = window, 0, self.dropped, 0
            if self.used < self.per_minute:
                self.used += 1
                return True, dropped
            self.dropped += 1
            return False, dropped


_budget = _LogBudget(CSP_REPORTS_LOGGED_PER_MINUTE)


def _printable(value: object, limit: int) -> str:
    """What a browser reported, cut to `limit` and without control characters: a report is
    anyone's text, and a newline in it would forge a line in the log."""
    return "".join(ch if ch.isprintable() else "?" for ch in str(value or "")[:limit])


def _page(url: object) -> str:
    """A reported address without query and without long path segments (tokens)."""
    parts = urlsplit(str(url or ""))
    path = "/".join("…" if len(seg) >= 20 else seg for seg in parts.path.split("/"))
    return _printable(f"{parts.scheme}://{parts.netloc}{path}" if parts.scheme else url,
                      200 if parts.scheme else 60)


def _violations(body: object):
    """(page, directive, blocked) of each violation in a report-uri or report-to body."""
    items = body if isinstance(body, list) else [body]
    for item in items[:20]:
        if not isinstance(item, dict):
            continue
        report = item.get("csp-report") or item.get("body") or {}
        if not isinstance(report, dict):
            continue
        yield (_page(report.get("document-uri") or report.get("documentURL")),
               _printable(report.get("effective-directive") or report.get("effectiveDirective")
                          or report.get("violated-directive"), 80),
               _page(report.get("blocked-uri") or report.get("blockedURL")))


@csrf.exempt  # browsers send reports without our token (like Stripe's webhook)
def csp_report():
    """Log what a browser says our Content-Security-Policy blocked; answer 204."""
    if (request.content_length or 0) > CSP_REPORT_MAX_BYTES:
        return "", 413
    raw = request.stream.read(CSP_REPORT_MAX_BYTES + 1)
    if len(raw) > CSP_REPORT_MAX_BYTES:
        return "", 413
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return "", 400
    may_log, dropped = _budget.take()
    if dropped:
        log.warning("CSP: %d more violation reports in the last minute were not logged", dropped)
    if may_log:
        for page, directive, blocked in _violations(body):
            log.warning("CSP violation on %s: %s blocked %s", page, directive, blocked)
    return "", 204
