"""Composition root: the storefront at /, the console at /agent.

    gunicorn wsgi:application   # both
    gunicorn wsgi:storefront    # the shop alone
    gunicorn wsgi:callcenter    # the console alone
    python wsgi.py              # development server for both on 127.0.0.1:5000
"""
from __future__ import annotations

import os

import callcenter
import storefront
from core.config import load_settings
from core.web.app import compose

settings = load_settings()
storefront = storefront.create_app(settings)
callcenter = callcenter.create_app(settings)
application = compose(storefront, callcenter)
app = storefront  # `flask --app wsgi ...` commands (migrate, seed) run on the storefront app


if __name__ == "__main__":
    from werkzeug.serving import run_simple

    port = int(os.environ.get("PORT", "5000"))
    run_simple("127.0.0.1", port, application, use_reloader=True, use_debugger=False,
               threaded=True, extra_files=None)
