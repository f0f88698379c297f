"""What the pages that take one card payment share (an open invoice, in the account or by
link, and an order by link; the checkout too): the card form's part of the page, the
SetupIntent made when the card form is used, and the JSON answers the card form
(checkout.js) understands."""
from __future__ import annotations

from collections.abc import Container

from flask import jsonify, request

from core.payments.gateway import GatewayUnavailable, PaymentGateway
from core.ratelimit import RateLimited
from storefront.limits import count, problem

CHALLENGED = ("requires_action", "processing")  # 3-D Secure, or the bank still deciding


def gave_up() -> bool:
    """The card form reports that the 3-D Secure challenge was closed or failed (checkout.js
    posts gave_up=1); a poll from a second submit does not, and never cancels it."""
    return request.form.get("gave_up") == "1"


def card_setup_answer(stripe: PaymentGateway, *, subject: str, account: int | None = None):
    """A SetupIntent's client secret for a card form that is being used, counted per
    address, per `subject` (the cart, order or invoice) and per account: 429 past the
    limit, 503 when Stripe cannot be reached."""
    try:
        count("card_setup", subject=subject, account=account)
    except RateLimited as err:
        return problem(err)
    try:
        _, client_secret = stripe.setup_intent()
    except GatewayUnavailable as err:
        response = jsonify({"type": "about:blank", "title": "Payment service unavailable",
                            "status": 503, "detail": str(err)})
        response.mimetype = "application/problem+json"
        return response, 503
    return jsonify({"status": "ready", "client_secret": client_secret})


def no_card():
    """The answer to a payment posted without card details."""
    return jsonify({"status": "invalid", "errors": {"card": "Enter your card details."}}), 422


def card_answer(outcome, *, confirmed: Container[str], redirect: str, complete_url: str):
    """The answer to a payment's outcome: go to `redirect` when its status is one of
    `confirmed`; authenticate (3-D Secure) and report to `complete_url`; or the decline."""
    if outcome.status in confirmed:
        return jsonify({"status": "confirmed", "redirect": redirect})
    if outcome.status in CHALLENGED:
        return jsonify({"status": outcome.status, "client_secret": outcome.client_secret,
                        "message": outcome.message, "complete_url": complete_url})
    return jsonify({"status": "declined", "message": outcome.message}), 402
