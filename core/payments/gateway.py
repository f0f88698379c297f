"""The payment gateway port (PaymentGateway) and its Stripe adapter (official SDK).

Only parameters that both Stripe and localstripe accept are sent: a PaymentIntent is
created with amount, currency, customer, payment_method, payment_method_types,
capture_method, payment_method_options, metadata, confirm and off_session. Amounts cross
the boundary in minor units, converted in one place: core.money.Money.to_minor / from_minor.

Every call that moves money (authorise, capture, charge, refund) carries an idempotency
key: a retry after a lost answer gets Stripe's first answer instead of a second charge.

Saved cards: the card form turns the card into a PaymentMethod through a SetupIntent with
usage=off_session; the server attaches it to a Stripe Customer (`ensure_customer`,
`attach`) and authorises with customer + payment_method, so later shipments can be
charged to it with off_session=True (`charge_saved_card`, `reauthorise`).
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Protocol

import stripe

from core.config import Settings
from core.errors import DomainError
from core.money import Money


class PaymentDeclined(DomainError):
    """The card said no. `intent_id` names the PaymentIntent Stripe made, when it made one."""

    code = "payment_declined"

    def __init__(self, message: str, *, field: str | None = None, intent_id: str | None = None):
        super().__init__(message, field=field)
        self.intent_id = intent_id


class GatewayUnavailable(DomainError):
    code = "gateway_unavailable"


class UnknownCustomer(GatewayUnavailable):
    """A Stripe Customer we kept is gone (deleted, or another Stripe account)."""

    code = "unknown_customer"


# Shoppers and agents read these messages: they never name Stripe's ids (cus_, pm_, pi_ ...).
CARD_NOT_USABLE = ("These card details could not be used. Enter the card again or try "
                   "another card; nothing was charged.")
_STRIPE_ID = re.compile(r"\b(?:cus|pm|pi|seti|src|tok|ch|py|re|sub)_[A-Za-z0-9_]{6,}")
_PAYMENT_METHOD_ID = re.compile(r"pm_[A-Za-z0-9_]{1,250}")


def shopper_message(text: str, fallback: str = "The card was declined.") -> str:
    """`text` from Stripe, unless it names one of Stripe's ids: then `fallback`."""
    return fallback if _STRIPE_ID.search(text or "") else text


@dataclass(frozen=True)
class IntentResult:
    id: str
    status: str  # requires_action | requires_capture | succeeded | requires_payment_method | canceled
    client_secret: str
    amount: Money
    error: str = ""
    # What Stripe took from the card (a capture or an automatic charge), when known.
    captured: Money | None = None

    @property
    def authorised(self) -> bool:
        return self.status in ("requires_capture", "succeeded")


class PaymentGateway(Protocol):
    """What the services ask of a card payment service. StripeGateway is the one in
    production; tests pass a fake (tests/fakes.py) to create_app. Every method may raise
    PaymentDeclined or GatewayUnavailable."""

    authorisation_days: int  # how long an authorisation lives

    def setup_intent(self) -> tuple[str, str]: ...

    def authorise(self, *, amount: Decimal, currency: str, payment_method: str, key: str,
                  metadata: dict[str, str], moto: bool = False,
                  customer: str | None = None) -> IntentResult: ...

    def save_card(self, payment_method: str, *, email: str, name: str, existing: str | None,
                  key: str, metadata: dict[str, str] | None = None) -> str: ...

    def charge_saved_card(self, *, customer: str, payment_method: str, amount: Decimal,
                          currency: str, key: str, metadata: dict[str, str]) -> IntentResult: ...

    def reauthorise(self, *, customer: str, payment_method: str, amount: Decimal,
                    currency: str, key: str, metadata: dict[str, str]) -> IntentResult: ...

    def capture(self, intent_id: str, amount: Decimal, currency: str,
                key: str) -> IntentResult: ...

    def refund(self, intent_id: str, amount: Decimal, currency: str, key: str) -> str: ...

    def retrieve(self, intent_id: str) -> IntentResult: ...

    def cancel(self, intent_id: str) -> IntentResult: ...


def to_minor(amount: Decimal, currency: str) -> int:
    return Money(amount, currency).rounded().to_minor()


class StripeGateway:
    """Card payments through Stripe (or localstripe, by STRIPE_API_BASE)."""

    def __init__(self, settings: Settings):
        self.authorisation_days = settings.AUTHORISATION_DAYS  # how long an authorisation lives
        # Short timeouts and few retries: checkout, pay links, shipping and refunds call
        # Stripe inside a web request, and the SDK's default (80 s, in sync workers) would
        # let a slow Stripe hold every worker. Money-moving calls carry idempotency keys,
        # so a retry never charges twice.
        timeout = max(1, settings.STRIPE_TIMEOUT_SECONDS)
        http_client = stripe.RequestsClient(timeout=(min(3, timeout), timeout))
        self.client = stripe.StripeClient(
            settings.STRIPE_SECRET_KEY, base_addresses={"api": settings.STRIPE_API_BASE},
            max_network_retries=max(0, settings.STRIPE_MAX_RETRIES), http_client=http_client)

    def setup_intent(self) -> tuple[str, str]:
        """A SetupIntent for the card form: (id, client secret)."""
        intent = self._call(self.client.v1.setup_intents.create,
                            {"payment_method_types": ["card"], "usage": "off_session"})
        return intent.id, intent.client_secret

    def authorise(self, *, amount: Decimal, currency: str, payment_method: str, key: str,
                  metadata: dict[str, str], moto: bool = False,
                  customer: str | None = None) -> IntentResult:
        """Create and confirm a PaymentIntent with manual capture (authorise only). With
        `customer` (the card attached to it), the card can be charged again off-session."""
        params = {"amount": to_minor(amount, currency), "currency": currency.lower(),
                  "payment_method": payment_method, "payment_method_types": ["card"],
                  "capture_method": "manual", "confirm": True, "metadata": metadata}
        if customer:
            params["customer"] = customer
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

    # -- saved cards ------------------------------------------------------------------------

    def ensure_customer(self, email: str, name: str, *, existing: str | None = None,
                        key: str | None = None, metadata: dict[str, str] | None = None) -> str:
        """The Stripe Customer (cus_...) a card is saved to: `existing` when there is one,
        else a new one."""
        if existing:
            return existing
        params = {"email": email, "name": name[:200]}
        if metadata:
            params["metadata"] = metadata
        customer = self._call(self.client.v1.customers.create, params,
                              {"idempotency_key": key} if key else None)
        return customer.id

    def attach(self, payment_method: str, customer: str) -> None:
        """Save the card (a PaymentMethod from a SetupIntent) to the customer. The bank may
        refuse the card here already (CardError), or the PaymentMethod may not exist:
        PaymentDeclined. UnknownCustomer only when Stripe no longer knows the customer."""
        if not _PAYMENT_METHOD_ID.fullmatch(payment_method or ""):
            raise PaymentDeclined(CARD_NOT_USABLE)
        try:
            self.client.v1.payment_methods.attach(payment_method, {"customer": customer})
        except stripe.CardError as err:
            raise PaymentDeclined(_decline_message(err)) from None
        except stripe.InvalidRequestError as err:
            if err.code == "resource_missing" or err.http_status == 404:
                if self._customer_missing(customer, err):
                    raise UnknownCustomer("The payment service no longer knows the saved "
                                          "card holder.") from err
                raise PaymentDeclined(CARD_NOT_USABLE) from None
            raise GatewayUnavailable("The card could not be checked just now; nothing was "
                                     "charged. Please try again.") from err
        except stripe.StripeError as err:
            raise GatewayUnavailable("The card could not be checked just now; nothing was "
                                     "charged. Please try again.") from err

    def _customer_missing(self, customer: str, err: "stripe.InvalidRequestError") -> bool:
        """Which of the two was missing when attaching: the customer (True) or the card."""
        if err.param in ("customer", "payment_method"):
            return err.param == "customer"
        try:
            found = self.client.v1.customers.retrieve(customer)
        except stripe.InvalidRequestError as missing:
            if missing.code == "resource_missing" or missing.http_status == 404:
                return True
            raise GatewayUnavailable("The card could not be checked just now; nothing was "
                                     "charged. Please try again.") from missing
        except stripe.StripeError as down:
            raise GatewayUnavailable("The card could not be checked just now; nothing was "
                                     "charged. Please try again.") from down
        return bool(getattr(found, "deleted", False))

    def save_card(self, payment_method: str, *, email: str, name: str, existing: str | None,
                  key: str, metadata: dict[str, str] | None = None) -> str:
        """Attach the card to the holder's Stripe Customer (made when there is none, or when
        Stripe no longer knows the one we kept: never because the card is the problem);
        that customer's id."""
        if not _PAYMENT_METHOD_ID.fullmatch(payment_method or ""):
            raise PaymentDeclined(CARD_NOT_USABLE)  # before any Stripe Customer is made
        customer = self.ensure_customer(email, name, existing=existing, key=key,
                                        metadata=metadata)
        try:
            self.attach(payment_method, customer)
        except UnknownCustomer:
            if not existing:
                raise
            customer = self.ensure_customer(email, name, key=f"{key}-new", metadata=metadata)
            self.attach(payment_method, customer)
        return customer

    def charge_saved_card(self, *, customer: str, payment_method: str, amount: Decimal,
                          currency: str, key: str, metadata: dict[str, str]) -> IntentResult:
        """Charge a saved card with nobody present (off-session), captured at once."""
        return self._off_session(customer, payment_method, amount, currency, key, metadata,
                                 manual=False)

    def reauthorise(self, *, customer: str, payment_method: str, amount: Decimal,
                    currency: str, key: str, metadata: dict[str, str]) -> IntentResult:
        """Authorise a saved card again off-session (manual capture), before the first
        authorisation expires."""
        return self._off_session(customer, payment_method, amount, currency, key, metadata,
                                 manual=True)

    def _off_session(self, customer: str, payment_method: str, amount: Decimal, currency: str,
                     key: str, metadata: dict[str, str], *, manual: bool) -> IntentResult:
        params = {"amount": to_minor(amount, currency), "currency": currency.lower(),
                  "customer": customer, "payment_method": payment_method,
                  "payment_method_types": ["card"], "confirm": True, "off_session": True,
                  "metadata": metadata}
        if manual:
            params["capture_method"] = "manual"
        try:
            intent = self.client.v1.payment_intents.create(
                params, options={"idempotency_key": key})
        except stripe.CardError as err:
            # Stripe answers a card that wants 3-D Secure off-session with a CardError
            # (code authentication_required) too: nobody is there to authenticate.
            raise PaymentDeclined(_off_session_message(err),
                                  intent_id=_error_intent(err)) from None
        except stripe.StripeError as err:
            raise GatewayUnavailable("The payment service did not answer; nothing was "
                                     "charged. It will be tried again.") from err
        result = self._result(intent)
        if manual and result.status == "requires_capture":
            return result
        if not manual and result.status == "succeeded":
            return replace(result, captured=result.captured or result.amount)
        if result.status == "processing":  # the bank has not answered yet: ask again later
            raise GatewayUnavailable("The payment is still being processed; it will be "
                                     "checked again.")
        # Left waiting for the cardholder (requires_action) or refused: do not leave it open.
        try:
            self.client.v1.payment_intents.cancel(intent.id)
        except stripe.StripeError:
            pass
        raise PaymentDeclined("The bank asks the cardholder to confirm this payment, which "
                              "cannot be done while they are away." if result.status ==
                              "requires_action" else
                              (result.error or "The card was declined."), intent_id=intent.id)

    # -- money after the authorisation ------------------------------------------------------

    def capture(self, intent_id: str, amount: Decimal, currency: str, key: str) -> IntentResult:
        """Capture `amount` of an authorisation. A card PaymentIntent is captured once:
        Stripe releases whatever of the authorisation is not captured."""
        # Refused: expired, already captured or voided; nothing was captured now.
        with _answer_of(intent_id, refused="The card authorisation can no longer be captured",
                        unanswered="captured. It will be tried again."):
            try:
                intent = self.client.v1.payment_intents.capture(
                    intent_id, {"amount_to_capture": to_minor(amount, currency)},
                    options={"idempotency_key": key})
            except stripe.CardError as err:
                raise PaymentDeclined(_off_session_message(err), intent_id=intent_id) from None
        result = self._result(intent)
        if result.status != "succeeded":
            raise PaymentDeclined(result.error or f"Stripe left the payment {result.status}.",
                                  intent_id=intent_id)
        # Stripe reports amount_received; when it is missing, a succeeded capture took
        # exactly what was asked (Stripe refuses anything else).
        return replace(result, captured=result.captured or Money(amount, currency).rounded())

    def refund(self, intent_id: str, amount: Decimal, currency: str, key: str) -> str:
        """Give `amount` of a captured payment back to its card; the Refund's id (re_...).
        The caller makes sure no more is refunded than was captured: Stripe's own check is
        not relied on."""
        with _answer_of(intent_id, refused="Stripe refused the refund",
                        unanswered="refunded. Please try again."):
            refund = self.client.v1.refunds.create(
                {"payment_intent": intent_id, "amount": to_minor(amount, currency)},
                options={"idempotency_key": key})
        if refund.status in ("failed", "canceled"):
            raise PaymentDeclined(f"The refund {refund.status}.", intent_id=intent_id)
        return refund.id

    def retrieve(self, intent_id: str) -> IntentResult:
        return self._result(self._call(self.client.v1.payment_intents.retrieve, intent_id))

    def cancel(self, intent_id: str) -> IntentResult:
        """Void an authorisation."""
        return self._result(self._call(self.client.v1.payment_intents.cancel, intent_id))

    def _call(self, fn, *args):
        try:
            return fn(*[a for a in args if a is not None])
        except stripe.StripeError as err:
            raise GatewayUnavailable("The payment service did not answer; please try again.") from err

    @staticmethod
    def _result(intent) -> IntentResult:
        error = ""
        last = getattr(intent, "last_payment_error", None)
        if last:
            error = shopper_message(getattr(last, "message", "") or "")
        currency = intent.currency.upper()
        received = getattr(intent, "amount_received", None)
        captured = Money.from_minor(int(received), currency) if received else None
        return IntentResult(intent.id, intent.status, intent.client_secret or "",
                            Money.from_minor(int(intent.amount), currency), error, captured)


@contextmanager
def _answer_of(intent_id: str, *, refused: str, unanswered: str) -> Iterator[None]:
    """Stripe refusing a request on a PaymentIntent is PaymentDeclined ("`refused` (why)."),
    Stripe not answering is GatewayUnavailable ("... nothing was `unanswered`")."""
    try:
        yield
    except stripe.InvalidRequestError as err:
        raise PaymentDeclined(f"{refused} ({err.user_message or err.code or 'refused'}).",
                              intent_id=intent_id) from None
    except stripe.StripeError as err:
        raise GatewayUnavailable("The payment service did not answer; nothing was "
                                 f"{unanswered}") from err


def _off_session_message(err: "stripe.CardError") -> str:
    if err.code == "authentication_required":
        return ("The bank asks the cardholder to confirm this payment, which cannot be done "
                "while they are away.")
    detail = shopper_message((err.user_message or "").strip(), "").rstrip(".")
    return f"{detail}." if detail else f"The card was declined ({err.code or 'no reason given'})."


def _error_intent(err: "stripe.StripeError") -> str | None:
    intent = getattr(getattr(err, "error", None), "payment_intent", None)
    return getattr(intent, "id", None) if intent is not None else None


def _decline_message(err: "stripe.CardError") -> str:
    detail = shopper_message((err.user_message or "").strip(), "")
    if detail and not detail.endswith("."):
        detail += "."
    return (f"Your card was declined. {detail} Try another card or payment method; "
            "your cart is kept.").replace("  ", " ")


def for_task(context) -> PaymentGateway:
    """A task's gateway (core.tasks.context()): the app's when the task runs inline in it,
    else Stripe's, built from the worker's settings."""
    return context.gateway or StripeGateway(context.settings)
