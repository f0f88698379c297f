"""Jinja filters that show names instead of codes and local times instead of UTC.

`{{ order.placed_at|localtime }}` shows a timestamp in the app's time zone (the console's
for the console, the shop's for the shop: core.labels), `{{ at|localtime("%H:%M") }}` in a
format of its own; `{{ method|code_label }}` names an enum-like code; `{{ e.action|event_label }}`
tells an audit event in words. `{{ order.channel_code|channel_name }}`, `price_list_name`,
`shipping_name` and `terms_name` name a reference code as the database names it: the names are
read once per request (core.orders.names, one query or the reference cache).
"""
from __future__ import annotations

from flask import Flask, current_app, g, has_request_context
from flask_login import current_user

from core import labels
from core.orders.names import Names, reference_names
from core.web.db import db_session


def _names() -> Names:
    if "reference_names" not in g:
        g.reference_names = reference_names(db_session)
    return g.reference_names


def display_zone() -> str:
    """The zone this request shows times in (and reads typed times in): the signed-in
    agent's own (their account page), else the app's (CONSOLE_TIMEZONE or SHOP_TIMEZONE)."""
    default = current_app.extensions["marketline.timezone"]
    if not has_request_context():
        return default
    if "display_zone" not in g:
        user = current_user.user if current_user.is_authenticated else None
        g.display_zone = getattr(user, "time_zone", None) or default
    return g.display_zone


def init_labels(app: Flask, timezone: str, shop_timezone: str) -> None:
    labels.zone(timezone)  # an unknown zone fails here, at start-up, not on a page
    labels.set_shop_timezone(shop_timezone)  # e-mails and PDFs, rendered by core
    app.extensions["marketline.timezone"] = timezone

    def localtime(value, fmt: str = labels.TIME_FORMAT) -> str:
        return labels.local_time(value, fmt, display_zone())

    app.jinja_env.filters.update(
        localtime=localtime, code_label=labels.code_label, event_label=labels.event_label,
        channel_name=lambda code: _names().channel(code),
        price_list_name=lambda code: _names().price_list(code),
        shipping_name=lambda code: _names().shipping_method(code),
        terms_name=Names.terms)
    app.jinja_env.globals["timezone"] = timezone
