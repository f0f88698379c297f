"""One render helper: a whole page, or one block of it for htmx."""
from __future__ import annotations

from flask import make_response, redirect, render_template, request
from jinja2_fragments.flask import render_block

from core.web.htmx import htmx


def render_page(template: str, *, block: str | None = None, status: int = 200,
                fragment: bool = False, **context):
    """Render `template`; for an htmx request (not a history restore) only its `block`, and
    only the block for any request when `fragment` (an endpoint that answers a piece of a
    page, such as a list's options)."""
    if block and (fragment or (htmx and not htmx.history_restore_request)):
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


def redirect_to(url: str):
    """Redirect that htmx follows as a full navigation, and a browser as a 303."""
    if htmx:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, code=303)


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json",
                                                "application/problem+json"])
    return best in ("application/json", "application/problem+json")
