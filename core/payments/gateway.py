"""The payment gateway port and its Stripe adapter (official SDK).

Only parameters that both Stripe and localstripe accept are sent: a PaymentIntent is
created with amount, currency, payment_method, payment_method_types, capture_method,
payment_method_options, metadata and confirm. Amounts cross the boundary in minor units,
converted in one place: core.money.Money.to_minor / from_minor.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import stripe

from core.config import Settings
from core.errors import DomainError
from core.money import Money


class PaymentDeclined(DomainError):
    code = "payment_declined"


class GatewayUnavailable(DomainError):
    code = "gateway_unavailable"


@dataclass(frozen=True)
class IntentResult:
    id: str
    status: str  # requires_action | requires_capture | succeeded | requires_payment_method | canceled
    client_secret: str
    amount: Money
    error: str = ""

    @property
    def authorised(self) -> bool:
        return self.status in ("requires_capture", "succeeded")


def to_minor(amount: Decimal, currency: str) -> int:
    return Money(amount, currency).rounded().to_minor()


class StripeGateway:
    """Card payments through Stripe (or localstripe, by STRIPE_API_BASE)."""

    def __init__(self, settings: Settings):
        self.client = stripe.StripeClient(
            settings.STRIPE_SECRET_KEY, base_addresses={"api": settings.STRIPE_API_BASE},
            max_network_retries=2)

    def setup_intent(self) -> tuple[str, str]:
        """A SetupIntent for the card form: (id, client secret)."""
        intent = self._call(self.client.v1.setup_intents.create,
                            {"payment_method_types": ["card"], "usage": "off_session"})
        return intent.id, intent.client_secret

    def authorise(self, *, amount: Decimal, currency: str, payment_method: str, key: str,
                  metadata: dict[str, str], moto: bool = False) -> IntentResult:
        """Create and confirm a PaymentIntent with manual capture (authorise only)."""
        params = {"amount": to_minor(amount, currency), "currency": currency.lower(),
                  "payment_method": payment_method, "payment_method_types": ["card"],
                  "capture_method": "manual", "confirm": True, "metadata": metadata}
        if moto:
            params["payment_method_options"] = {"card": {"moto": True}}
        try:
            intent = self.client.v1.payment_intents.create(
                params, options={"idempotency_key": key})
        except stripe.CardError as err:
            raise PaymentDeclined(_decline_message(err)) from None
        except stripe.StripeError as err:
            raise GatewayUnavailable("The card could not be checked just now; nothing was "
                                     "charged. Please try again.") from err
        return self._result(intent)

    def retrieve(self, intent_id: str) -> IntentResult:
        return self._result(self._call(self.client.v1.payment_intents.retrieve, intent_id))

    def cancel(self, intent_id: str) -> IntentResult:
        """Void an authorisation."""
        return self._result(self._call(self.client.v1.payment_intents.cancel, intent_id))

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except stripe.StripeError as err:
            raise GatewayUnavailable("The payment service did not answer; please try again.") from err

    @staticmethod
    def _result(intent) -> IntentResult:
        error = ""
        last = getattr(intent, "last_payment_error", None)
        if last:
            error = getattr(last, "message", "") or ""
        return IntentResult(intent.id, intent.status, intent.client_secret or "",
                            Money.from_minor(int(intent.amount), intent.currency.upper()), error)


def _decline_message(err: "stripe.CardError") -> str:
    detail = (err.user_message or "").strip()
    if detail and not detail.endswith("."):
        detail += "."
    return (f"Your card was declined. {detail} Try another card or payment method; "
            "your cart is kept.").replace("  ", " ")
