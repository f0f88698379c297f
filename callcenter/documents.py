"""A document number typed into a console search box opens that document: the order,
invoice, return or quote, if the agent's role may open it; else the agent is told so."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, url_for

from core.web.auth import current_account
from core.web.db import db_session
from core.web.render import redirect_to, render_page
from core.workflows.document_search import DocumentRef, find_document

# Where each kind of document opens, and the name of its URL argument (as console.LINKS).
PAGES = {"order": ("console_orders.detail", "number"), "invoice": ("billing.invoice", "number"),
         "return": ("returns.detail", "rma"), "quote": ("quotes.editor", "quote")}


@dataclass(frozen=True)
class DocumentHit:
    ref: DocumentRef
    url: str | None  # None: the agent's role may not open it
    roles: tuple[str, ...]  # the roles that may


def _roles_of(endpoint: str) -> frozenset[str]:
    return getattr(current_app.view_functions[endpoint], "required_roles", frozenset())


def document_hit(text: str) -> DocumentHit | None:
    """The document `text` names, with its address when the agent may open it (one query,
    only when the text looks like a document number)."""
    ref = find_document(db_session, text)
    if ref is None:
        return None
    endpoint, arg = PAGES[ref.kind]
    roles = _roles_of(endpoint)
    allowed = current_account().has_role(*roles)
    return DocumentHit(ref, url_for(endpoint, **{arg: ref.number}) if allowed else None,
                       tuple(sorted(roles)))


def open_document(text: str):
    """A redirect to the document `text` names, a page saying the agent's role may not open
    it (403), or None when the text names no document."""
    hit = document_hit(text)
    if hit is None:
        return None
    if hit.url is not None:
        return redirect_to(hit.url)
    return render_page("console/document_refused.html", status=403, hit=hit)
