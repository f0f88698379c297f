"""Jinja filters that show names instead of codes and local times instead of UTC.

`{{ order.placed_at|localtime }}` shows a timestamp in the app's time zone (the console's
for the console, the shop's for the shop: core.labels), `{{ at|localtime("%H:%M") }}` in a
format of its own; `{{ method|code_label }}` names an enum-like code; `{{ e.action|event_label }}`
tells an audit event in words.
"""
from __future__ import annotations

from flask import Flask

from core import labels


def init_labels(app: Flask, timezone: str, shop_timezone: str) -> None:
    labels.zone(timezone)  # an unknown zone fails here, at start-up, not on a page
    labels.set_shop_timezone(shop_timezone)  # e-mails and PDFs, rendered by core

    def localtime(value, fmt: str = labels.TIME_FORMAT) -> str:
        return labels.local_time(value, fmt, timezone)

    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["code_label"] = labels.code_label
    app.jinja_env.filters["event_label"] = labels.event_label
    app.jinja_env.globals["timezone"] = timezone
