"""Fakes for the answers localstripe cannot give (a void that fails, a decline on demand, a
refund noted). Pass one to create_app(..., gateway=fake); with the shared fixtures, override
`payment_gateway` in the test module:

    @pytest.fixture
    def payment_gateway():
        return FakeGateway()
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from core.money import Money
from core.payments.gateway import GatewayUnavailable, IntentResult, PaymentDeclined


class FakeGateway:
    """Stripe without the network (core.payments.gateway.PaymentGateway).

    A card form gets a SetupIntent; a card is saved and authorised, or declined when
    `decline`; a void answers `cancel_status` (`fail`: the service does not answer), and
    with `db` notes the order's status at that moment; a refund is noted. `intent_status`
    is what retrieve() reports, until a cancel makes it "canceled"."""

    authorisation_days = 7

    def __init__(self, *, decline: bool = False, cancel_status: str = "canceled",
                 fail: bool = False, db=None, intent_status: str = "requires_action"):
        self.decline, self.cancel_status, self.fail, self.db = decline, cancel_status, fail, db
        self.intent_status = intent_status
        self.setups = 0
        self.authorised: list[Decimal] = []  # amounts, including declined tries
        self.cancelled: list[str] = []
        self.refunds: list[tuple] = []  # (intent_id, amount, currency, key)
        self.status_seen: list[str] = []

    def setup_intent(self) -> tuple[str, str]:
        self.setups += 1
        return f"seti_{self.setups}", f"seti_{self.setups}_secret_x"

    def save_card(self, payment_method, **kwargs) -> str:
        return "cus_test"

    def authorise(self, *, amount, currency, key, **kwargs) -> IntentResult:
        self.authorised.append(amount)
        if self.decline:
            raise PaymentDeclined("Your card was declined.")
        return IntentResult(f"pi_{key}", "requires_capture", "", Money(amount, currency))

    def retrieve(self, intent_id: str) -> IntentResult:
        return IntentResult(intent_id, self.intent_status, f"{intent_id}_secret_abc",
                            Money("1", "EUR"))

    def cancel(self, intent_id: str) -> IntentResult:
        self.cancelled.append(intent_id)
        if self.db is not None:
            from core.orders.models import Order
            from core.payments.models import PaymentAttempt
            self.status_seen.append(self.db.execute(
                select(Order.status).join(PaymentAttempt, PaymentAttempt.order_id == Order.id)
                .where(PaymentAttempt.stripe_id == intent_id)).scalar_one())
        if self.fail:
            raise GatewayUnavailable("The payment service did not answer; please try again.")
        self.intent_status = "canceled"
        return IntentResult(intent_id, self.cancel_status, "", Money("0", "EUR"))

    def refund(self, intent_id, amount, currency, key) -> str:
        self.refunds.append((intent_id, amount, currency, key))
        return f"re_{len(self.refunds)}"
