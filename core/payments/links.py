"""Pay-by-link: signed, expiring tokens that reference an unpaid order or an open invoice,
and the shop links that carry them (core.links builds the address from SHOP_URL).

An order's token is "<order id>.<expiry unix time>.<HMAC-SHA256 signature>"; an invoice's
is "inv<invoice id>.<expiry>.<signature>". Each kind is signed with its own key derived
from SECRET_KEY, so a token cannot be forged or extended, an order's token never opens an
invoice (nor the other way round), and neither names an e-mail. While a new SECRET_KEY is
rolled out, tokens signed with one of SECRET_KEY_FALLBACKS are still read (`secrets`).

Links are not revocable one by one: a link only lets its holder pay the order or invoice
it names, and only while that is unpaid; changing SECRET_KEY (without the old key in the
fallbacks) revokes every link at once.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from collections.abc import Sequence

from core import links
from core.db import utcnow
from core.errors import DomainError

DEFAULT_LIFETIME = dt.timedelta(days=7)
INVOICE_LIFETIME = dt.timedelta(days=30)  # an invoice is open for weeks, not days
_PREFIX = {"order": "", "invoice": "inv"}
MAX_TOKEN_LENGTH = 200  # a real token is about 70 characters
_PURPOSE = {"order": "pay-link", "invoice": "invoice-pay-link"}


class InvalidLink(DomainError):
    code = "invalid_link"

    def __init__(self, message: str = "This payment link is not valid. Ask us for a new one."):
        super().__init__(message)


def _signature(secret: str, payload: str, kind: str = "order") -> str:
    key = hashlib.sha256(f"{_PURPOSE[kind]}:{secret}".encode()).digest()
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def make_token(secret: str, order_id: int, *, lifetime: dt.timedelta = DEFAULT_LIFETIME,
               now: dt.datetime | None = None, kind: str = "order") -> str:
    """A link token for an order (or, with kind="invoice", an invoice)."""
    expires = int(((now or utcnow()) + lifetime).timestamp())
    payload = f"{_PREFIX[kind]}{int(order_id)}.{expires}"
    return f"{payload}.{_signature(secret, payload, kind)}"


def secrets(settings) -> list[str]:
    """The keys a token may be signed with: SECRET_KEY, then SECRET_KEY_FALLBACKS."""
    return [settings.SECRET_KEY, *settings.secret_key_fallbacks]


def _signed_by(keys: Sequence[str], payload: str, signature: str, kind: str) -> bool:
    given = signature.encode("utf-8", "replace")
    return any(hmac.compare_digest(given, _signature(key, payload, kind).encode())
               for key in keys)


def read_token(secret: str | Sequence[str], token: str, *, now: dt.datetime | None = None,
               kind: str = "order") -> int:
    """The id in a valid, unexpired token of `kind`; InvalidLink otherwise. `secret` is a
    key, or several (`secrets(settings)`): the current one and the fallbacks."""
    prefix = _PREFIX[kind]
    if not token.isascii() or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidLink()  # compare_digest refuses non-ASCII text with a TypeError
    try:
        ident, expires, signature = token.split(".")
        if not ident.startswith(prefix) or not ident[len(prefix):].isdigit():
            raise ValueError(ident)
        payload = f"{prefix}{int(ident[len(prefix):])}.{int(expires)}"
    except ValueError:
        raise InvalidLink() from None
    keys = [secret] if isinstance(secret, str) else list(secret)
    if not _signed_by(keys, payload, signature, kind):
        raise InvalidLink()
    if int(expires) < (now or utcnow()).timestamp():
        raise InvalidLink("This payment link has expired. Ask us for a new one.")
    return int(ident[len(prefix):])


def make_invoice_token(secret: str, invoice_id: int, *,
                       lifetime: dt.timedelta = INVOICE_LIFETIME,
                       now: dt.datetime | None = None) -> str:
    """The token of /pay/invoice/<token>."""
    return make_token(secret, invoice_id, lifetime=lifetime, now=now, kind="invoice")


def read_invoice_token(secret: str | Sequence[str], token: str, *,
                       now: dt.datetime | None = None) -> int:
    """The invoice id in a valid, unexpired invoice token; InvalidLink otherwise (an order's
    token included)."""
    return read_token(secret, token, now=now, kind="invoice")


def order_pay_link(settings, order_id: int) -> str:
    """The shop's /pay/<token>: pay an order waiting for a card (the token lives 7 days)."""
    return links.order_pay_page(settings, make_token(settings.SECRET_KEY, order_id))


def invoice_pay_link(settings, invoice_id: int) -> str:
    """The shop's /pay/invoice/<token>: pay an open invoice by card (the token lives 30 days)."""
    return links.invoice_pay_page(settings, make_invoice_token(settings.SECRET_KEY, invoice_id))
