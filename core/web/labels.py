"""Jinja filters that show names instead of codes and local times instead of UTC.

`{{ order.placed_at|localtime }}` shows a timestamp in the app's time zone (the console's
for the console, the shop's for the shop: core.labels), `{{ at|localtime("%H:%M") }}` in a
format of its own; `{{ method|code_label }}` names an enum-like code; `{{ e.action|event_label }}`
tells an audit event in words. `{{ order.channel_code|channel_name }}`, `price_list_name`,
`shipping_name` and `terms_name` name a reference code as the database names it: the names are
read once per request (core.orders.names, one query or the reference cache).
"""
from __future__ import annotations

from flask import Flask, g

from core import labels
from core.orders.names import Names, reference_names
from core.web.db import db_session


def _names() -> Names:
    if "reference_names" not in g:
        g.reference_names = reference_names(db_session)
    return g.reference_names


def init_labels(app: Flask, timezone: str, shop_timezone: str) -> None:
    labels.zone(timezone)  # an unknown zone fails here, at start-up, not on a page
    labels.set_shop_timezone(shop_timezone)  # e-mails and PDFs, rendered by core

    def localtime(value, fmt: str = labels.TIME_FORMAT) -> str:
        return labels.local_time(value, fmt, timezone)

    app.jinja_env.filters.update(
        localtime=localtime, code_label=labels.code_label, event_label=labels.event_label,
        channel_name=lambda code: _names().channel(code),
        price_list_name=lambda code: _names().price_list(code),
        shipping_name=lambda code: _names().shipping_method(code),
        terms_name=Names.terms)
    app.jinja_env.globals["timezone"] = timezone
