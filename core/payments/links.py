"""Pay-by-link tokens: signed, expiring references to an unpaid order.

A token is "<order id>.<expiry unix time>.<HMAC-SHA256 signature>", signed with a key
derived from SECRET_KEY, so it cannot be forged or extended, and it names no e-mail.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac

from core.db import utcnow
from core.errors import DomainError

DEFAULT_LIFETIME = dt.timedelta(days=7)


class InvalidLink(DomainError):
    code = "invalid_link"

    def __init__(self, message: str = "This payment link is not valid. Ask us for a new one."):
        super().__init__(message)


def _signature(secret: str, payload: str) -> str:
    key = hashlib.sha256(f"pay-link:{secret}".encode()).digest()
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def make_token(secret: str, order_id: int, *, lifetime: dt.timedelta = DEFAULT_LIFETIME,
               now: dt.datetime | None = None) -> str:
    expires = int(((now or utcnow()) + lifetime).timestamp())
    payload = f"{order_id}.{expires}"
    return f"{payload}.{_signature(secret, payload)}"


def read_token(secret: str, token: str, *, now: dt.datetime | None = None) -> int:
    """The order id in a valid, unexpired token; InvalidLink otherwise."""
    try:
        order_id, expires, signature = token.split(".")
        payload = f"{int(order_id)}.{int(expires)}"
    except ValueError:
        raise InvalidLink() from None
    if not hmac.compare_digest(signature, _signature(secret, payload)):
        raise InvalidLink()
    if int(expires) < (now or utcnow()).timestamp():
        raise InvalidLink("This payment link has expired. Ask us for a new one.")
    return int(order_id)
