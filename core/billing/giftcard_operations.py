"""Gift cards in daily use, beside core.billing.giftcards (sell, lookup, redeem, restore):
selling a card for a customer's recorded payment (at once, or waiting for a colleague's
confirmation: core.billing.giftcard_requests), a card found by its code whatever its
state, what it is worth now and what moved it, a supervisor disabling a card, a throttled
balance check for the shop, and paying an open invoice with a card.

Codes are secrets that pay: a page shows a card by its last four characters only, and a
guessing visitor is slowed down like the guest order look-up (core.orders.queries).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, clock
from core.billing import giftcard_requests, giftcards, receivables
from core.billing import states as billing_states
from core.billing.giftcards import GiftCardError
from core.billing.models import GiftCard, GiftCardMovement, Invoice, Payment
from core.config import Settings
from core.customers import queries as customers
from core.customers.models import Customer
from core.db import utcnow
from core.errors import NotFound
from core.money import Money
from core.parsing import parse_int
from core.ratelimit import Limits, RateLimited, default_limits

CHECKS_PER_MINUTE = Settings.RATE_LIMIT_CODES_PER_MINUTE  # per address, by default
NOT_FOUND = "We could not find a gift card with that code."
STATUS_LABELS = {"active": "Active", "used": "Used up", "expired": "Expired",
                 "disabled": "Disabled"}
MOVEMENT_LABELS = {"issue": "Sold", "redeem": "Paid with", "refund": "Given back"}


BalanceCheckThrottled = RateLimited  # what count_check raises (kept for its callers)


def sell_card(session: Session, *, amount: Decimal, customer_number: str, payment_id: str,
              actor: audit.Actor, key: str, recipient_email: str = "",
              expires_on: dt.date | None = None) -> giftcard_requests.Sale:
    """A sale in the console: the customer who paid, by number, and one of their recorded
    payments (as the form sends its id). Returns the card and its code, to be shown once;
    or, when the seller recorded that payment themselves, the request that waits for a
    colleague to confirm the money came in (giftcard_requests.sell_or_ask)."""
    customer = payer(session, customer_number)
    found = parse_int(payment_id, low=1)
    payment = session.get(Payment, found) if found is not None else None
    if payment is None or payment.customer_id != customer.id:
        raise GiftCardError("Choose one of the customer's recorded payments.", field="payment")
    if expires_on is not None and expires_on <= clock.business_date(utcnow()):
        raise GiftCardError("Choose an expiry date in the future, or none.", field="expires_on")
    return giftcard_requests.sell_or_ask(session, amount=amount, payment=payment, actor=actor,
                                         key=key, recipient_email=recipient_email,
                                         expires_on=expires_on)


def payer(session: Session, customer_number: str) -> Customer:
    """The customer who paid for a gift card, by number; GiftCardError at the field."""
    if not customer_number.strip():
        raise GiftCardError("Enter the number of the customer who paid.", field="customer")
    try:
        return customers.customer_by_number(session, customer_number)
    except NotFound:
        raise GiftCardError("There is no customer with that number.", field="customer") from None


@dataclass(frozen=True)
class SalePayment:
    """A recorded payment a gift card may be sold for, as the sell form offers it, with
    what of it is free (not yet used nor held for a sale awaiting confirmation)."""

    payment: Payment
    free: Decimal

    @property
    def label(self) -> str:
        p = self.payment
        method = receivables.METHODS.get(p.method, p.method)
        reference = f" {p.reference}" if p.reference else ""
        return (f"{method}{reference}, received {p.received_on:%d %b %Y}: "
                f"{Money(self.free, p.currency).format()} not yet used "
                f"(of {Money(p.amount, p.currency).format()})")


def sale_payments(session: Session, customer: Customer) -> list[SalePayment]:
    """What the customer paid that a gift card may be sold for (one query)."""
    return [SalePayment(p, free) for p, free in giftcards.free_for_sale(session, customer.id)]


@dataclass(frozen=True)
class CardRow:
    card: GiftCard
    customer_number: str | None

    @property
    def status(self) -> str:
        return status(self.card)


def recent_cards(session: Session, *, limit: int = 50) -> list[CardRow]:
    """The cards sold last, newest first, with their buyer's number: one query."""
    rows = session.execute(select(GiftCard, Customer.number)
                           .outerjoin(Customer, Customer.id == GiftCard.customer_id)
                           .order_by(GiftCard.created_at.desc(), GiftCard.id.desc())
                           .limit(limit))
    return [CardRow(card, number) for card, number in rows]


def card_for_code(session: Session, code: str) -> GiftCard | None:
    """The card with this code in any state (disabled, expired, used up), else None."""
    if len(giftcards.normalise(code)) != 16:
        return None
    return session.scalar(select(GiftCard).where(GiftCard.code_hash == giftcards._hash(code)))


def status(card: GiftCard, today: dt.date | None = None) -> str:
    """active | used | expired | disabled (see STATUS_LABELS; core.billing.states)."""
    return billing_states.gift_card_status(card, today or clock.business_date(utcnow()))


@dataclass(frozen=True)
class CardView:
    """What a page shows of a card: never its code."""

    card: GiftCard
    status: str
    movements: list[GiftCardMovement]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def usable(self) -> bool:
        return self.status == "active"


def describe(session: Session, card: GiftCard, *, with_movements: bool = True) -> CardView:
    """The card, its status and its movements oldest first (one query)."""
    moves = list(session.scalars(select(GiftCardMovement)
                                 .where(GiftCardMovement.gift_card_id == card.id)
                                 .order_by(GiftCardMovement.at, GiftCardMovement.id))) \
        if with_movements else []
    return CardView(card, status(card), moves)


def get_card(session: Session, card_id: int, *, lock: bool = False) -> GiftCard:
    stmt = select(GiftCard).where(GiftCard.id == card_id)
    card = session.scalar(receivables.locked(stmt) if lock else stmt)
    if card is None:
        raise NotFound("We could not find that gift card.")
    return card


def disable(session: Session, card: GiftCard, *, actor: audit.Actor, reason: str) -> GiftCard:
    """Stop a card from paying (lost, stolen, sold by mistake). Its balance stays a
    liability until refunded or written off by accounting. Flushes; the caller commits."""
    reason = (reason or "").strip()
    if not reason:
        raise GiftCardError("Give the reason the card is disabled.", field="reason")
    card = get_card(session, card.id, lock=True)
    if not card.active:
        raise GiftCardError(f"Gift card …{card.last4} is already disabled.")
    billing_states.disable_gift_card(card, clock.business_date(utcnow()), audit=audit.Entry(
        session, "gift_card.disabled", actor, "backoffice",
        {"last4": card.last4, "balance": str(card.balance), "reason": reason[:300]}))
    session.flush()
    return card


def count_check(session: Session, remote_addr: str | None, *,
                limits: Limits | None = None) -> None:
    """Count one use of a code from this address (a balance check, a code tried at
    checkout): core.ratelimit's "gift_card" limit (RATE_LIMIT_CODES_PER_MINUTE). Raises
    RateLimited, counting nothing, when it is spent. The caller commits."""
    (limits or default_limits()).hit(session, "gift_card", address=remote_addr)


def check_balance(session: Session, code: str, *, remote_addr: str | None,
                  limits: Limits | None = None) -> CardView:
    """A shopper's balance check. Every check counts against the address (found or not), so
    codes cannot be tried one after another; the caller commits so the count is kept.
    Raises RateLimited, or NotFound."""
    count_check(session, remote_addr, limits=limits)
    card = card_for_code(session, code)
    if card is None:
        raise NotFound(NOT_FOUND)
    return describe(session, card, with_movements=False)


def pay_invoice(session: Session, *, invoice_number: str, code: str, amount: Decimal,
                actor: audit.Actor, key: str) -> Payment:
    """Pay (part of) an open invoice with a gift card. Idempotent by `key`: a repeated
    submit returns the first payment and takes nothing more from the card."""
    if existing := session.scalar(select(Payment).where(Payment.key == key)):
        return existing
    invoice = session.scalar(select(Invoice).where(
        Invoice.number == invoice_number.strip().upper(), Invoice.kind == "invoice"))
    if invoice is None:
        raise NotFound("There is no invoice with that number.", field="invoice")
    if invoice.amount_open <= 0:
        raise GiftCardError(f"{invoice.number} is already paid.", field="invoice")
    if amount > invoice.amount_open:
        raise GiftCardError(f"Only {Money(invoice.amount_open, invoice.currency).format()} is "
                            f"open on {invoice.number}.", field="amount")
    card = giftcards.lookup(session, code)
    if card is None:
        raise GiftCardError("That gift card code is not valid.", field="code")
    session.refresh(card)
    if card.currency == invoice.currency and card.balance < amount:
        raise GiftCardError(f"The gift card has only {Money(card.balance, card.currency).format()}"
                            " left.", field="code")
    payment = giftcards.redeem(session, code, amount, actor=actor, invoice=invoice, key=key)
    audit.record(session, "invoice.paid_by_gift_card", actor=actor, channel="backoffice",
                 subject=invoice, data={"amount": str(amount), "payment": payment.id})
    session.flush()
    return payment
