"""An order's prepayments: a gift card spent when the order is placed (web checkout, phone
order), applied to the order's invoices when it ships (core.billing.receivables
credit_sources takes the order's own prepayments first), and given back to the card when
the order is cancelled or its checkout abandoned before that.

The card pays what the order owes, or its whole balance when that is less; the rest is
authorised on a card (core.workflows.card_payments authorises gross_total - amount_prepaid), paid by
link, or put on account.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.billing import giftcards
from core.billing.giftcards import GiftCardError
from core.billing.models import Payment
from core.orders import states as order_states
from core.orders.models import Order
from core.orders.states import PaymentState

ZERO = Decimal(0)
INVALID = "That gift card code is not valid."


def gift_card_key(order: Order) -> str:
    """The idempotency key of the order's gift-card payment: one card per order."""
    return f"{order.number}-gift"


@dataclass(frozen=True)
class GiftCardQuote:
    """What a card would pay of a total, before anything is taken."""

    last4: str
    currency: str
    balance: Decimal
    covers: Decimal  # what the card pays
    rest: Decimal  # what is left for the card, the link or the account

    @property
    def covers_all(self) -> bool:
        return self.rest <= 0


def quote(session: Session, code: str, *, total: Decimal, currency: str) -> GiftCardQuote:
    """What the card with `code` would pay of `total`. Raises GiftCardError (field
    "gift_card") for an unknown, disabled, expired, empty or foreign-currency card."""
    card = giftcards.lookup(session, code or "")
    if card is None:
        raise GiftCardError(INVALID, field="gift_card")
    session.refresh(card)  # the balance as it is now, not as this session first saw it
    if card.currency != currency:
        raise GiftCardError(f"This gift card is in {card.currency}; the order is in "
                            f"{currency}.", field="gift_card")
    if card.balance <= 0:
        raise GiftCardError("This gift card has no balance left.", field="gift_card")
    covers = min(card.balance, max(total, ZERO))
    return GiftCardQuote(card.last4, card.currency, card.balance, covers, total - covers)


def pay_with_gift_card(session: Session, order: Order, code: str, *,
                       actor: audit.Actor) -> Payment:
    """Spend the card on the order, in the transaction that places it: what the order
    still owes, or the card's balance when that is less (order.amount_prepaid grows by it).
    Idempotent per order: a retried checkout that finds its order takes nothing more.
    Raises GiftCardError (field "gift_card"); the caller rolls back."""
    key = gift_card_key(order)
    if existing := session.scalar(select(Payment).where(Payment.key == key)):
        return existing  # giftcards.redeem would take the balance again before it saw the key
    if order.status != "pending_payment":
        raise GiftCardError(f"Order {order.number} no longer awaits payment.", field="gift_card")
    found = quote(session, code, total=order.gross_total - order.amount_prepaid,
                  currency=order.currency)
    if found.covers <= 0:
        raise GiftCardError("This order is already paid.", field="gift_card")
    payment = giftcards.redeem(session, code, found.covers, actor=actor, order=order, key=key)
    audit.record(session, "order.gift_card_applied", actor=actor, channel=order.channel_code,
                 subject=order, data={"amount": str(found.covers), "last4": found.last4,
                                      "payment": payment.id})
    session.flush()
    return payment


def gift_card_payments(session: Session, order: Order) -> list[Payment]:
    return list(session.scalars(select(Payment).where(Payment.order_id == order.id,
                                                      Payment.method == "gift_card")
                                .order_by(Payment.id)))


def restore_order_prepayments(session: Session, order: Order, actor: audit.Actor) -> Decimal:
    """Give every gift-card payment of the order what it has not yet paid of an invoice
    back to its card (the order was cancelled or its checkout abandoned). Returns the total
    given back; safe to repeat. Flushes; the caller commits."""
    restored = ZERO
    for payment in gift_card_payments(session, order):
        if payment.amount_unallocated <= 0:
            continue
        refund = giftcards.restore(session, payment, actor=actor,
                                   key=f"{order.number}-gift-back-{payment.id}")
        if refund is not None:
            restored += refund.amount
    if not restored:
        return ZERO
    order.amount_prepaid = max(order.amount_prepaid - restored, ZERO)
    if order.payment_state == PaymentState.CAPTURED:  # paid by the card alone, nothing shipped
        order_states.move_payment(order, PaymentState.REFUNDED)
    audit.record(session, "order.gift_card_restored", actor=actor, channel=order.channel_code,
                 subject=order, data={"amount": str(restored)})
    session.flush()
    return restored
