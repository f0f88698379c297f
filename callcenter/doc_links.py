"""Links to documents named in sentences (recent activity, audit trails): a link kind of
core.reporting.activity and its key become a console URL, for a role that may open it."""
from __future__ import annotations

from flask import current_app

from core.web.auth import current_account

LINKS = {"order": ("console_orders.detail", "number"), "invoice": ("billing.invoice", "number"),
         "return": ("returns.detail", "rma"), "quote": ("quotes.editor", "quote"),
         "customer": ("customers.show", "number"),
         "account": ("collections.account", "number"),
         "shipping": ("fulfilment.order", "number")}


def may_open(endpoint: str) -> bool:
    roles = getattr(current_app.view_functions[endpoint], "required_roles", frozenset())
    return current_account().has_role(*roles)


def links_for_agent() -> dict[str, tuple[str, str]]:
    """The link kinds the signed-in agent may follow."""
    return {kind: link for kind, link in LINKS.items() if may_open(link[0])}
