"""Gift cards: sold for money held as a liability, redeemed as a payment.

A card is sold only for money already recorded in billing: a bank transfer or cheque the
customer paid (core.billing.receivables.record_payment), whose unallocated part (customer
credit) pays for it. Nobody mints a card on a reference typed at the counter, nor on their
own word alone: a sale out of a payment the seller recorded themselves waits until a
colleague confirms the money came in (core.billing.giftcard_requests); `sell` refuses it.

  sale          Dr customer deposits        Cr gift-card liability
                (the payment received was   Dr bank, Cr customer deposits when recorded)
  redemption    Dr gift-card liability      Cr receivables (an invoice) or customer deposits
                                              (the prepayment of an order not yet invoiced)
  restored      Dr customer deposits        Cr gift-card liability (an order cancelled, or
                                            a credit note on an invoice the card paid)

The code is shown once, when the card is issued (and e-mailed); only its SHA-256 and last
four characters are stored. The balance moves only through one conditional UPDATE, so two
checkouts spending the same card can never take it below zero.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core import audit, clock
from core.billing import ledger, receivables
from core.billing.errors import BillingError
from core.billing.models import (GiftCard, GiftCardMovement, GiftCardRequest, Invoice,
                                 JournalEntry, Payment, Refund)
from core.billing.states import RefundStatus
from core.db import utcnow
from core.money import Money
from core.pricing.engine import round_money

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
SALE_METHODS = ("bank_transfer", "cheque")  # recorded payments a card may be sold for
MAX_AMOUNT = Decimal(1000)


class GiftCardError(BillingError):
    code = "gift_card"


class ConfirmationNeeded(GiftCardError):
    """The seller recorded the payment themselves: the sale waits for a colleague
    (core.billing.giftcard_requests.ask)."""

    code = "gift_card_confirmation_needed"


def normalise(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _hash(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def recorded_by(payment: Payment, actor: audit.Actor) -> bool:
    """Whether `actor` recorded the payment: by agent id when both are known, else by the
    label (payments recorded before ids were kept, actors without one)."""
    if payment.recorded_by_id is not None and actor.id is not None:
        return payment.recorded_by_id == actor.id
    return payment.recorded_by == actor.label


def check_sale(session: Session, payment: Payment, amount: Decimal, *,
               held: Decimal | None = None) -> None:
    """Raise GiftCardError (at its field) unless `amount` may be sold out of the payment,
    locked by the caller: a transfer or cheque held for no order, with that much not yet
    used nor `held` (default: what sales awaiting confirmation hold of it)."""
    currency = payment.currency
    if payment.method not in SALE_METHODS:
        raise GiftCardError("A gift card is sold for a bank transfer or cheque recorded in "
                            "billing.", field="payment")
    if payment.order_id is not None:
        raise GiftCardError("That money is held for an order; choose another payment.",
                            field="payment")
    if amount <= 0 or amount != round_money(amount, currency) or amount > MAX_AMOUNT:
        raise GiftCardError(f"Enter an amount from 0.01 to {MAX_AMOUNT} {currency}.",
                            field="amount")
    if held is None:
        held = receivables.held_for_gift_cards(session, payment)
    free = payment.amount_unallocated - held
    if amount > free:
        waiting = (f" ({Money(held, currency).format()} is held for a gift card sale awaiting "
                   "confirmation)") if held else ""
        raise GiftCardError(f"Only {Money(max(free, Decimal(0)), currency).format()} of that "
                            f"payment is not yet used{waiting}.", field="amount")


def sell(session: Session, *, amount: Decimal, payment: Payment, actor: audit.Actor,
         recipient_email: str = "", expires_on: dt.date | None = None) -> tuple[GiftCard, str]:
    """Issue a gift card of `amount` paid out of a bank transfer or cheque that someone
    else recorded: the payment's unallocated part (customer credit) shrinks by the amount,
    in the payment's currency, and the card belongs to the payment's customer. Returns the
    card and its code, which is never stored and cannot be shown again. Raises
    ConfirmationNeeded when `actor` recorded the payment (ask for the sale instead:
    core.billing.giftcard_requests). Flushes; the caller commits."""
    payment = session.scalar(receivables.locked(select(Payment).where(Payment.id == payment.id)))
    check_sale(session, payment, amount)
    if recorded_by(payment, actor):
        raise ConfirmationNeeded(
            "You recorded this payment yourself: a colleague with the credit or supervisor "
            "role confirms the money came in before the gift card is issued.", field="payment")
    return issue(session, payment=payment, amount=amount, actor=actor, sold_by=actor.label,
                 recipient_email=recipient_email, expires_on=expires_on)


def issue(session: Session, *, payment: Payment, amount: Decimal, actor: audit.Actor,
          sold_by: str, recipient_email: str = "", expires_on: dt.date | None = None,
          data: dict | None = None) -> tuple[GiftCard, str]:
    """Make the card and its code, out of the payment (locked and checked by the caller:
    `sell`, or a confirmed request), and post the sale. Flushes."""
    currency = payment.currency
    payment.amount_unallocated -= amount
    code = new_code()
    card = GiftCard(code_hash=_hash(code), last4=normalise(code)[-4:], currency=currency,
                    initial_amount=amount, balance=amount, customer_id=payment.customer_id,
                    recipient_email=recipient_email.strip()[:254], expires_on=expires_on,
                    active=True, sold_by=sold_by[:200], created_at=utcnow())
    session.add(card)
    session.flush()
    paid_with = f"{receivables.METHODS[payment.method]} {payment.reference}".strip()
    entry = ledger.post(session, "gift_card_sale", currency=currency, actor=actor.label,
                        reference=f"gift card …{card.last4}",
                        memo=f"Gift card sold for {paid_with} (payment {payment.id})",
                        postings=[ledger.dr(ledger.CUSTOMER_DEPOSITS, amount, payment.customer_id),
                                  ledger.cr(ledger.GIFT_CARD_LIABILITY, amount)])
    session.add(GiftCardMovement(gift_card_id=card.id, kind="issue", amount=amount,
                                 reference=paid_with[:60], entry_id=entry.id,
                                 payment_id=payment.id, at=clock.now()))
    audit.record(session, "gift_card.sold", actor=actor, channel="backoffice", subject=card,
                 data={"amount": str(amount), "currency": currency, "last4": card.last4,
                       "payment": payment.id, "recorded_by": payment.recorded_by,
                       **(data or {})})
    session.flush()
    return card, code


def sale_payments(session: Session, customer_id: int) -> list[Payment]:
    """The customer's recorded transfers and cheques with money not yet used, which a gift
    card may be sold for; oldest first. One query."""
    return [payment for payment, _ in free_for_sale(session, customer_id)]


def free_for_sale(session: Session, customer_id: int) -> list[tuple[Payment, Decimal]]:
    """sale_payments, each with what of it is free: not yet used, less what gift card
    sales awaiting confirmation hold. One query."""
    held = (select(func.coalesce(func.sum(GiftCardRequest.amount), 0))
            .where(GiftCardRequest.payment_id == Payment.id,
                   GiftCardRequest.status == "requested")
            .correlate(Payment).scalar_subquery())
    rows = session.execute(select(Payment, Payment.amount_unallocated - held).where(
        Payment.customer_id == customer_id, Payment.method.in_(SALE_METHODS),
        Payment.order_id.is_(None), Payment.amount_unallocated - held > 0)
        .order_by(Payment.received_on, Payment.id)).all()
    return [(payment, Decimal(free)) for payment, free in rows]


def lookup(session: Session, code: str, *, today: dt.date | None = None) -> GiftCard | None:
    """The usable card with this code, else None (unknown, disabled or expired)."""
    if len(normalise(code)) != 16:
        return None
    card = session.scalar(select(GiftCard).where(GiftCard.code_hash == _hash(code)))
    today = today or clock.business_date(utcnow())
    if card is None or not card.active or (card.expires_on and card.expires_on < today):
        return None
    return card


def redeem(session: Session, code: str, amount: Decimal, *, actor: audit.Actor,
           order=None, invoice: Invoice | None = None, customer_id: int | None = None,
           key: str | None = None) -> Payment:
    """Spend `amount` of the card on an order (a prepayment, applied when it is invoiced)
    or on an open invoice. Raises GiftCardError when the card cannot pay it. Idempotent by
    `key`: a repeated call answers with the first payment and takes nothing more."""
    card = lookup(session, code)
    if card is None:
        raise GiftCardError("That gift card code is not valid.", field="gift_card")
    # The card's row lock first, then the key: a concurrent redemption with the same key
    # waits here and then finds the first one's payment instead of spending again.
    card = session.scalar(receivables.locked(select(GiftCard).where(GiftCard.id == card.id)))
    if key and (existing := session.scalar(select(Payment).where(Payment.key == key))):
        return existing
    target_currency = invoice.currency if invoice is not None else order.currency
    if card.currency != target_currency:
        raise GiftCardError(f"This gift card is in {card.currency}.", field="gift_card")
    if amount <= 0 or amount != round_money(amount, card.currency):
        raise GiftCardError("Enter an amount above zero.", field="amount")
    taken = session.execute(
        update(GiftCard).where(GiftCard.id == card.id, GiftCard.balance >= amount)
        .values(balance=GiftCard.balance - amount)
        .execution_options(synchronize_session=False)).rowcount
    if taken != 1:
        session.refresh(card)
        raise GiftCardError(f"The gift card has only {Money(card.balance, card.currency).format()}"
                            " left.", field="gift_card")
    if invoice is not None:
        customer_id, order_id, allocations = invoice.customer_id, invoice.order_id, [(invoice.id, amount)]
    else:
        customer_id, order_id, allocations = order.customer_id, order.id, []
        order.amount_prepaid += amount
    payment = receivables.record_payment(
        session, customer_id=customer_id, method="gift_card", amount=amount,
        currency=card.currency, received_on=clock.today(), reference=f"gift card …{card.last4}",
        actor=actor, allocations=allocations, order_id=order_id, gift_card_id=card.id, key=key)
    session.add(GiftCardMovement(gift_card_id=card.id, kind="redeem", amount=-amount,
                                 reference=(invoice.number if invoice is not None
                                            else order.number), entry_id=payment.entry_id,
                                 at=clock.now()))
    session.flush()
    session.refresh(card)
    return payment


def restore(session: Session, payment: Payment, *, actor: audit.Actor, key: str) -> Refund | None:
    """Give a gift-card payment's unallocated part back to the card (its order was
    cancelled)."""
    if payment.method != "gift_card" or payment.gift_card_id is None:
        raise GiftCardError("That payment was not made with a gift card.")
    if existing := session.scalar(select(Refund).where(Refund.key == key)):
        return existing
    payment = session.scalar(receivables.locked(select(Payment).where(Payment.id == payment.id)))
    amount = payment.amount_unallocated
    if not amount:
        return None
    payment.amount_unallocated = Decimal(0)
    card, entry = _onto_card(session, payment, amount, actor=actor, currency=payment.currency,
                             customer_id=payment.customer_id, reference=None,
                             memo="Returned to the gift card", movement_reference=key[:60])
    refund = Refund(payment_id=payment.id, customer_id=payment.customer_id, method="gift_card",
                    amount=amount, currency=payment.currency, status=RefundStatus.SUCCEEDED,
                    reference=f"gift card …{card.last4}", key=key, recorded_by=actor.label,
                    entry_id=entry.id, recorded_at=clock.now())
    session.add(refund)
    session.flush()
    session.refresh(card)
    return refund


def give_back(session: Session, note: Invoice, amount: Decimal | None = None, *,
              actor: audit.Actor, key: str) -> list[Refund]:
    """Give (part of) a credit note's open amount back to the gift card(s) that paid the
    invoice it corrects, up to what each card paid of it (default: all of that): money
    goes back the way it came, never out by bank transfer. Each card's balance grows, with
    a refund movement and a balanced entry (Dr customer deposits, Cr gift-card liability).
    Idempotent by `key`. Raises GiftCardError at the amount. Flushes; the caller commits."""
    note = session.scalar(receivables.locked(select(Invoice).where(Invoice.id == note.id)))
    if note is None or note.kind != "credit_note":
        raise GiftCardError("Only a credit note's open amount goes back to a gift card.")
    backing = receivables.gift_card_backing(session, note)
    keys = {b.payment.id: f"{key}-{b.payment.id}"[:80] for b in backing}
    if done := list(session.scalars(select(Refund).where(Refund.key.in_(keys.values()))
                                    .order_by(Refund.id))):
        return done
    returnable = receivables.gift_card_returnable(session, note)
    if returnable <= 0:
        raise GiftCardError(f"Nothing of {note.number} is left to give back to a gift card.",
                            field="amount")
    amount = returnable if amount is None else amount
    if amount <= 0 or amount != round_money(amount, note.currency):
        raise GiftCardError("Enter an amount above zero.", field="amount")
    if amount > returnable:
        raise GiftCardError(f"At most {Money(returnable, note.currency).format()} of "
                            f"{note.number} goes back to the gift card.", field="amount")
    refunds, left = [], amount
    for found in backing:
        part = min(left, found.returnable)
        if part <= 0:
            continue
        refunds.append(_back_to_card(session, note, found.payment, part, actor=actor,
                                     key=keys[found.payment.id]))
        left -= part
        if left <= 0:
            break
    audit.record(session, "credit_note.given_back_to_gift_card", actor=actor,
                 channel="backoffice", subject=note,
                 data={"amount": str(amount), "refunds": [r.id for r in refunds]})
    session.flush()
    return refunds


def _back_to_card(session: Session, note: Invoice, payment: Payment, amount: Decimal, *,
                  actor: audit.Actor, key: str) -> Refund:
    """One card's part of give_back: out of the credit note, onto the card."""
    payment = session.scalar(receivables.locked(select(Payment).where(Payment.id == payment.id)))
    receivables._take_from(note, amount, reserved=receivables._pending_of(session, note))
    card, entry = _onto_card(session, payment, amount, actor=actor, currency=note.currency,
                             customer_id=note.customer_id, reference=note.number,
                             memo=f"{note.number} given back to the gift card",
                             movement_reference=note.number)
    refund = Refund(payment_id=payment.id, credit_note_id=note.id,
                    customer_id=note.customer_id, method="gift_card", amount=amount,
                    currency=note.currency, status=RefundStatus.SUCCEEDED,
                    reference=f"gift card …{card.last4}", key=key, reason=note.reason[:300],
                    recorded_by=actor.label, entry_id=entry.id, recorded_at=clock.now())
    session.add(refund)
    session.flush()
    session.refresh(card)
    return refund


def _onto_card(session: Session, payment: Payment, amount: Decimal, *, actor: audit.Actor,
               currency: str, customer_id: int | None, reference: str | None, memo: str,
               movement_reference: str) -> tuple[GiftCard, JournalEntry]:
    """Put `amount` of a gift-card payment back onto its card: the payment's refunded part
    and the card's balance grow, with a balanced entry (Dr customer deposits, Cr gift-card
    liability; `reference` defaults to the card) and a refund movement on the card."""
    payment.amount_refunded += amount
    session.execute(update(GiftCard).where(GiftCard.id == payment.gift_card_id)
                    .values(balance=GiftCard.balance + amount)
                    .execution_options(synchronize_session=False))
    card = session.get(GiftCard, payment.gift_card_id)
    entry = ledger.post(session, "refund", currency=currency, actor=actor.label,
                        reference=reference or f"gift card …{card.last4}", memo=memo,
                        postings=[ledger.dr(ledger.CUSTOMER_DEPOSITS, amount, customer_id),
                                  ledger.cr(ledger.GIFT_CARD_LIABILITY, amount)])
    session.add(GiftCardMovement(gift_card_id=card.id, kind="refund", amount=amount,
                                 reference=movement_reference, entry_id=entry.id, at=clock.now()))
    return card, entry
