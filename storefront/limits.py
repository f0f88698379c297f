"""The shop's rate limits (core.ratelimit) as its views use them: count a request, and
answer a refusal with 429 and Retry-After (a JSON problem document for the card forms'
fetch calls; a form with its message for HTML)."""
from __future__ import annotations

from flask import Response, current_app, jsonify, request

from core import ratelimit
from core.ratelimit import RateLimited
from core.web.db import db_session
from core.web.htmx import htmx


def limits() -> ratelimit.Limits:
    return ratelimit.limits_for(current_app.config["MARKETLINE"])


def count(action: str, **subjects) -> None:
    """Count one request of `action` from this client (and per `subjects`) and commit, so
    it stays counted whatever the request does next. Raises RateLimited."""
    limits().hit(db_session, action, address=request.remote_addr, **subjects)
    db_session.commit()


def problem(err: RateLimited) -> Response:
    """429 as a JSON problem document, with the wait in Retry-After and in the text."""
    response = jsonify({"type": "about:blank", "title": "Slow down", "status": 429,
                        "detail": str(err), "retry_after": err.retry_after})
    response.status_code = 429
    response.mimetype = "application/problem+json"
    response.headers["Retry-After"] = str(err.retry_after)
    return response


def form_status() -> int:
    """The status of a form page that shows a refusal: 429; but 200 to htmx, which swaps
    only successful answers (the message must still reach the form)."""
    return 200 if htmx else 429


def with_retry_after(response: Response, err: RateLimited | None) -> Response:
    if err is not None:
        response.headers["Retry-After"] = str(err.retry_after)
    return response
