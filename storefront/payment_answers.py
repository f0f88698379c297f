"""What the pages that take one card payment share (an open invoice, in the account or by
link, and an order by link): the card form's part of the page, and the JSON answers the
card form (checkout.js) understands."""
from __future__ import annotations

from collections.abc import Container

from flask import current_app, jsonify, request

from core.payments.gateway import GatewayUnavailable, StripeGateway

CHALLENGED = ("requires_action", "processing")  # 3-D Secure, or the bank still deciding


def gateway() -> StripeGateway:
    return StripeGateway(current_app.config["MARKETLINE"])


def card_form_context(payable: bool) -> dict:
    """What the card form needs on the page: a SetupIntent's client secret (empty when there
    is nothing to pay, or with the problem when Stripe cannot be reached), Stripe.js and the
    publishable key."""
    client_secret, problem = "", None
    if payable:
        try:
            _, client_secret = gateway().setup_intent()
        except GatewayUnavailable as err:
            problem = str(err)
    return {"client_secret": client_secret, "problem": problem,
            "stripe_js": current_app.config["MARKETLINE"].STRIPE_JS_URL,
            "publishable_key": current_app.config["STRIPE_PUBLISHABLE_KEY"]}


def gave_up() -> bool:
    """The card form reports that the 3-D Secure challenge was closed or failed (checkout.js
    posts gave_up=1); a poll from a second submit does not, and never cancels it."""
    return request.form.get("gave_up") == "1"


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
