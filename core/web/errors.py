"""Friendly error pages (and JSON problem documents for API clients)."""
from __future__ import annotations

import logging

from flask import Flask, g, jsonify, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import StatementError
from werkzeug.exceptions import HTTPException, InternalServerError

from core.errors import DomainError, NotFound
from core.web.render import render_page, wants_json

log = logging.getLogger("marketline.web")

MESSAGES = {
    400: ("That request did not work", "Something in what was sent did not make sense to us. "
          "Go back, check the form and try again."),
    403: ("You cannot open this page", "Your account does not have access to this page. "
          "If you think it should, ask an administrator."),
    404: ("Page not found", "We could not find that page. It may have moved, or the link "
          "may be mistyped."),
    405: ("That did not work", "This page cannot be used that way."),
    413: ("Too large", "What you sent is larger than we accept."),
    429: ("Slow down", "Too many requests in a short time. Wait a minute and try again."),
    500: ("Something went wrong on our side", "We have been told about it. Please try again "
          "in a moment."),
}


def _answer(status: int, detail: str | None = None):
    title, text = MESSAGES.get(status, MESSAGES[500] if status >= 500 else MESSAGES[400])
    if wants_json():
        body = {"type": "about:blank", "title": title, "status": status, "detail": detail or text}
        response = jsonify(body)
        response.status_code = status
        response.mimetype = "application/problem+json"
        return response
    return render_page("core/error.html", status=status, title=title, text=detail or text,
                       code=status)


NUL_REFUSED = ("What was sent contains a character we cannot accept (a NUL byte). "
               "Remove it and try again.")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _carries_nul() -> bool:
    """A NUL byte in the path, the query or a form field (not in an uploaded file).

    No text we keep may contain one, and PostgreSQL refuses it in every string: refused
    here once, for every view, rather than as a database error deep in one of them."""
    values = [*(request.view_args or {}).values(), *request.args.keys(),
              *request.args.values()]
    if request.mimetype in FORM_TYPES:
        values += [*request.form.keys(), *request.form.values()]
    return any(isinstance(v, str) and "\x00" in v for v in values)


def init_errors(app: Flask) -> None:
    @app.before_request
    def _refuse_nul():
        if _carries_nul():
            return _answer(400, NUL_REFUSED)

    @app.errorhandler(CSRFError)
    def _csrf(_err):
        return _answer(400, "Your form had expired or was sent from somewhere else, so we did "
                            "not act on it. Reload the page and try again.")

    @app.errorhandler(NotFound)
    def _not_found(err):
        return _answer(404, str(err))

    @app.errorhandler(DomainError)
    def _refused(err):
        # A rule said no where the view did not expect it: tell the person, not a 500.
        session = g.get("db_session")
        if session is not None:
            session.rollback()
        return _answer(400, str(err))

    @app.errorhandler(StatementError)
    def _statement(err: StatementError):
        # A domain rule raised while binding a value to SQL (core.db.Amount refusing an
        # amount no column holds): the person is told, as for any DomainError.
        if not isinstance(err.orig, DomainError):
            raise err
        session = g.get("db_session")
        if session is not None:
            session.rollback()
        return _answer(400, str(err.orig))

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        if err.code is None or err.code < 400:
            return err
        return _answer(err.code)

    @app.errorhandler(InternalServerError)
    def _server_error(err):
        session = g.get("db_session")
        if session is not None:
            session.rollback()
        log.exception("unhandled error", exc_info=getattr(err, "original_exception", err))
        return _answer(500)
