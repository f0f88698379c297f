"""Role checks for console views."""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required


def requires_role(*roles: str):
    """Signed-in agent holding one of `roles` (admin holds every role), else 403."""
    def decorate(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)
        wrapped.required_roles = frozenset(roles)  # read by the authorisation matrix test
        return wrapped
    return decorate
