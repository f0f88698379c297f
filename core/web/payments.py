"""The app's payment gateway, and what a card form needs on its page."""
from __future__ import annotations

from flask import Flask, current_app

from core.payments.gateway import PaymentGateway, StripeGateway

EXTENSION = "marketline.gateway"


def init_gateway(app: Flask, gateway: PaymentGateway | None) -> None:
    """Keep `gateway` on the app; None builds the Stripe gateway from the app's settings."""
    app.extensions[EXTENSION] = gateway or StripeGateway(app.config["MARKETLINE"])


def gateway() -> PaymentGateway:
    """The payment gateway of the current app (create_app's `gateway`)."""
    return current_app.extensions[EXTENSION]


def card_form_context(payable: bool, setup_url: str = "") -> dict:
    """What the card form needs on the page: where to ask for a SetupIntent once the card is
    being entered (empty when there is nothing to pay), Stripe.js and the publishable key.
    No SetupIntent is made for merely viewing the page."""
    return {"setup_url": setup_url if payable else "",
            "stripe_js": current_app.config["MARKETLINE"].STRIPE_JS_URL,
            "publishable_key": current_app.config["STRIPE_PUBLISHABLE_KEY"]}
