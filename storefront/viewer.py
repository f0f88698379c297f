"""Who is looking: the channel and pricing context of this request's viewer.

Guests and consumers shop in web-b2c (prices including tax); a signed-in buyer of a
company shops in web-b2b at the company's prices, excluding tax.
"""
from __future__ import annotations

from flask import g

from core.pricing import services as pricing
from core.pricing.engine import PricingContext
from core.web.auth import current_account
from core.web.db import db_session

B2C, B2B = "web-b2c", "web-b2b"


def viewer():
    """(channel, pricing context) for this request, computed once."""
    if "viewer" not in g:
        user = current_account()
        customer = user.customer if user is not None else None
        code = B2B if customer is not None and customer.is_company else B2C
        channel = pricing.get_channel(db_session, code)
        g.viewer = (channel, pricing.make_context(channel, customer=customer))
    return g.viewer


def viewer_context() -> PricingContext:
    return viewer()[1]
