"""The sales order's transition tables (DESIGN.md, "States"): its status and its payment
state, two separate dimensions (holds, the third, are in core.orders.holds).

The transition functions here are the only code that changes an order's `status`
(`move`) or `payment_state` (`move_payment`). They check the table, change the value and
record the audit event the caller names (`audit=audit.Entry(...)`: the caller knows why the
order moved, order.cancelled, order.payment_authorised, ...) with the order as its subject.
A payment state re-stated from the money (core.payments.records) has no audit event of its
own.
"""
from __future__ import annotations

from enum import StrEnum

from core.audit import Entry
from core.errors import DomainError
from core.statemachine import Machine


class OrderStatus(StrEnum):
    DRAFT = "draft"
    PENDING_PAYMENT = "pending_payment"
    CONFIRMED = "confirmed"
    IN_FULFILMENT = "in_fulfilment"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class PaymentState(StrEnum):
    UNPAID = "unpaid"
    AUTHORISED = "authorised"
    PARTIALLY_CAPTURED = "partially_captured"
    CAPTURED = "captured"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    ON_ACCOUNT = "on_account"
    EXCHANGE = "exchange"  # a replacement, paid by what came back (core.returns)


S, P = OrderStatus, PaymentState

TRANSITIONS: dict[str, set[str]] = {
    S.DRAFT: {S.PENDING_PAYMENT, S.CONFIRMED, S.CANCELLED},
    S.PENDING_PAYMENT: {S.CONFIRMED, S.CANCELLED},
    S.CONFIRMED: {S.IN_FULFILMENT, S.CANCELLED},
    S.IN_FULFILMENT: {S.PARTIALLY_SHIPPED, S.SHIPPED, S.CANCELLED},
    S.PARTIALLY_SHIPPED: {S.SHIPPED},
    S.SHIPPED: {S.COMPLETED},
    S.COMPLETED: set(),
    S.CANCELLED: set(),
}
LABELS = {S.DRAFT: "Draft", S.PENDING_PAYMENT: "Awaiting payment", S.CONFIRMED: "Confirmed",
          S.IN_FULFILMENT: "Being prepared", S.PARTIALLY_SHIPPED: "Partly shipped",
          S.SHIPPED: "Shipped", S.COMPLETED: "Completed", S.CANCELLED: "Cancelled"}
CANCELLABLE = {s for s, targets in TRANSITIONS.items() if S.CANCELLED in targets}


class IllegalTransition(DomainError):
    code = "illegal_transition"


class IllegalPaymentTransition(IllegalTransition):
    code = "illegal_payment_transition"


ORDER = Machine("order", OrderStatus, TRANSITIONS, labels=LABELS, error=IllegalTransition,
                noun="An order", columns=("orders.status",),
                doc="""draft -> pending_payment -> confirmed -> in_fulfilment -> partially_shipped ->
shipped -> completed, as DESIGN has it. An order on account is confirmed from draft or
pending_payment at once; a shipment of everything left goes from in_fulfilment straight to
shipped. Cancelled from any state before the first shipment (partially_shipped and later
take a return instead).""")

_CARD = {P.AUTHORISED, P.PARTIALLY_CAPTURED, P.CAPTURED, P.PARTIALLY_REFUNDED, P.REFUNDED}
PAYMENT_TRANSITIONS: dict[str, set[str]] = {
    P.UNPAID: {P.UNPAID, P.ON_ACCOUNT, P.EXCHANGE, *_CARD},
    P.AUTHORISED: {P.UNPAID, *_CARD},
    P.PARTIALLY_CAPTURED: {P.UNPAID, *(_CARD - {P.AUTHORISED})},
    P.CAPTURED: {P.UNPAID, *(_CARD - {P.AUTHORISED})},
    P.PARTIALLY_REFUNDED: {P.PARTIALLY_REFUNDED, P.REFUNDED},
    P.REFUNDED: {P.PARTIALLY_REFUNDED, P.REFUNDED},
    P.ON_ACCOUNT: {P.ON_ACCOUNT},
    P.EXCHANGE: {P.EXCHANGE},
}
PAYMENT_LABELS = {P.UNPAID: "Unpaid", P.AUTHORISED: "Authorised",
                  P.PARTIALLY_CAPTURED: "Partly captured", P.CAPTURED: "Captured",
                  P.PARTIALLY_REFUNDED: "Partly refunded", P.REFUNDED: "Refunded",
                  P.ON_ACCOUNT: "On account", P.EXCHANGE: "Exchange (paid by a return)"}

PAYMENT = Machine("order_payment", PaymentState, PAYMENT_TRANSITIONS, labels=PAYMENT_LABELS,
                  error=IllegalPaymentTransition, noun="An order's payment",
                  columns=("orders.payment_state",),
                  doc="""The order's payment state, what its money has done so far (DESIGN's second
dimension).

- unpaid -> on_account: an order on account is confirmed without a card
  (core.orders.services.confirm_on_account); on_account never changes after that (its
  invoices are paid, not the order).
- unpaid -> authorised: the card authorisation arrived (mark_authorised).
- unpaid -> exchange: a replacement sent for a return (core.orders.services.place_replacement),
  paid by the return's credit note; it never changes after that.
- unpaid -> captured: paid in full by gift card before any card (mark_prepaid).
- card states among themselves: core.payments.records.update_payment_state derives the state
  from the captured and refunded amounts of the order's card attempts and its open invoices
  every time money moves, so it re-states the same value (hence the self-loops) and can
  reach any captured or refunded state from unpaid or authorised (an invoice of an order
  whose authorisation was voided, paid later by card). Refunds only grow: once refunded,
  partly or wholly, the order stays among the refunded states.
- captured -> refunded: a cancelled order paid by gift card alone gets it back
  (core.billing.prepayments.restore_order_prepayments).
- back to unpaid: an authorisation voided because the lines grew, the order was cancelled
  or it could not be renewed (the order then waits for a card), or a gift card that paid
  everything no longer covers the new total (workflows.order_maintenance); cancelling an order whose
  only attempts were waiting for 3-D Secure re-states unpaid.
""")


def check(current: str, target: str) -> None:
    """Raise IllegalTransition unless the order's table allows current -> target."""
    ORDER.check(current, target)


def move(order, target: str, *, audit: Entry | None = None) -> str:
    """Move `order` to status `target` after checking the table and record `audit` on it;
    returns the previous status."""
    return ORDER.move(order, target, audit=audit)


def move_payment(order, target: str, *, audit: Entry | None = None) -> str:
    """Move the order's payment state to `target` after checking PAYMENT's table and record
    `audit` on the order; returns the previous payment state."""
    return PAYMENT.move(order, target, "payment_state", audit=audit)
