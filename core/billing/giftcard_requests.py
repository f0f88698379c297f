"""Gift card sales confirmed by a second person (segregation of duties, review M5), in the
way of credit note requests (core.billing.credit_requests).

Billing records the transfers and cheques customers pay, and sells gift cards out of them.
Whoever does both alone could mint a spendable card on a cheque nobody saw. So a sale out
of a payment the seller recorded themselves issues nothing: a GiftCardRequest records what
was asked and holds its amount of the payment, and an agent with the credit or supervisor
role (not the seller) confirms the money came in or rejects the sale. On confirmation the
card is issued, exactly as a sale would have issued it (its seller is the one who asked),
and its code made then: shown once to the confirming agent and e-mailed to the recipient
(else to the customer) after commit; it exists nowhere before. A payment recorded by
someone else sells at once (core.billing.giftcards.sell): two people took part.

Audit events: gift_card_request.requested, .approved, .rejected, on the request; the card
itself gets gift_card.sold, by the confirming agent, naming the request.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager

from core import audit, clock
from core.billing import credit_requests, giftcards, receivables
from core.billing.credit_requests import ApprovalNotAllowed, IllegalTransition
from core.billing.errors import BillingError
from core.billing.giftcards import GiftCardError
from core.billing.models import (CreditRequestStatus, GiftCard,
                                 GiftCardRequest, Payment)
from core.customers.models import Customer
from core.db import utcnow
from core.errors import NotFound
from core.money import Money

__all__ = ["ApprovalNotAllowed", "IllegalTransition", "Sale", "approve", "ask", "reject",
           "sell_or_ask", "waiting"]

CHANNEL = "backoffice"
APPROVERS = credit_requests.APPROVERS  # credit, supervisor (admin holds every role)
STATUS_LABELS = {"requested": "Awaiting confirmation", "approved": "Confirmed",
                 "rejected": "Rejected"}


@dataclass(frozen=True)
class Sale:
    """What a sale led to: the card and its code (shown once), or the request waiting."""

    card: GiftCard | None = None
    code: str | None = None
    request: GiftCardRequest | None = None


def sell_or_ask(session: Session, *, amount: Decimal, payment: Payment, actor: audit.Actor,
                key: str, recipient_email: str = "", expires_on: dt.date | None = None) -> Sale:
    """Sell the card at once when someone else recorded the payment; when the seller did,
    ask for the sale instead (it waits for a colleague). Flushes; the caller commits."""
    if giftcards.recorded_by(payment, actor):
        return Sale(request=ask(session, amount=amount, payment=payment, actor=actor, key=key,
                                recipient_email=recipient_email, expires_on=expires_on))
    card, code = giftcards.sell(session, amount=amount, payment=payment, actor=actor,
                                recipient_email=recipient_email, expires_on=expires_on)
    return Sale(card=card, code=code)


def ask(session: Session, *, amount: Decimal, payment: Payment, actor: audit.Actor, key: str,
        recipient_email: str = "", expires_on: dt.date | None = None) -> GiftCardRequest:
    """Ask for a sale out of the payment: nothing is issued, and `amount` of the payment is
    held for it until it is decided. Idempotent by `key` (the sale form's). Raises
    GiftCardError at its field as a sale would. Flushes; the caller commits."""
    # The payment's lock first, then the key: a second submit of the same page waits here
    # and finds the first one's request; two different sales see each other's hold.
    payment = session.scalar(receivables.locked(select(Payment).where(Payment.id == payment.id)))
    if existing := session.scalar(select(GiftCardRequest).where(GiftCardRequest.key == key)):
        return existing
    giftcards.check_sale(session, payment, amount)
    request = GiftCardRequest(
        payment_id=payment.id, customer_id=payment.customer_id, amount=amount,
        currency=payment.currency, recipient_email=recipient_email.strip().lower()[:254],
        expires_on=expires_on, status=CreditRequestStatus.REQUESTED, key=key[:80],
        requested_by=actor.label, requested_by_id=actor.id, requested_at=utcnow(),
        decided_by="", decision_note="")
    session.add(request)
    session.flush()
    audit.record(session, "gift_card_request.requested", actor=actor, channel=CHANNEL,
                 subject=request, data={"amount": str(amount), "currency": payment.currency,
                                        "payment": payment.id,
                                        "recorded_by": payment.recorded_by})
    return request


# -- deciding -------------------------------------------------------------------------------

def decision_refusal(request: GiftCardRequest, *, actor: audit.Actor,
                     roles: Collection[str]) -> str | None:
    """Why the agent may not confirm or reject the sale; None when they may."""
    if credit_requests.asked_by(request, actor):
        return ("You asked for this gift card sale; another colleague confirms the money came "
                "in, or rejects it.")
    if "admin" not in roles and not APPROVERS.intersection(roles):
        return ("Only an agent with the credit or supervisor role can confirm or reject a "
                "gift card sale.")
    if giftcards.recorded_by(request.payment, actor):
        return ("You recorded the payment this gift card is sold out of; another colleague "
                "confirms the money came in, or rejects the sale.")
    return None


def move(session: Session, request: GiftCardRequest, to: CreditRequestStatus, *,
         actor: audit.Actor, note: str = "", **data) -> None:
    """Change the request's status if the table allows it, and say so in the audit trail."""
    credit_requests.change_status(session, request, to, actor=actor,
                                  action="gift_card_request", noun="A gift card sale",
                                  labels=STATUS_LABELS, note=note, payment=request.payment_id,
                                  requested_by=request.requested_by, **data)


def get_request(session: Session, request_id: int, *, lock: bool = False) -> GiftCardRequest:
    return credit_requests.find_request(session, GiftCardRequest, request_id, lock=lock,
                                        missing="We could not find that gift card sale.")


def _decidable(session: Session, request: GiftCardRequest, actor: audit.Actor,
               roles: Collection[str]) -> GiftCardRequest:
    return credit_requests.decidable(
        session, request, refusal=decision_refusal(request, actor=actor, roles=roles),
        already="This gift card sale was already", labels=STATUS_LABELS)


def approve(session: Session, request: GiftCardRequest, *, actor: audit.Actor,
            roles: Collection[str], note: str = "") -> tuple[GiftCard, str]:
    """Confirm the money came in: issue the card as asked, out of the payment as it is now.
    Returns the card and its code, made now and never stored: show it once and e-mail it
    after commit. Raises ApprovalNotAllowed for the seller, whoever recorded the payment or
    a missing role; GiftCardError when the sale can no longer be made (reject it then).
    Flushes; the caller commits."""
    request = _decidable(session, request, actor, roles)
    payment = session.scalar(receivables.locked(select(Payment)
                                                .where(Payment.id == request.payment_id)))
    held = receivables.held_for_gift_cards(session, payment) - request.amount  # others'
    giftcards.check_sale(session, payment, request.amount, held=held)
    if request.expires_on is not None and request.expires_on <= clock.business_date(utcnow()):
        raise GiftCardError("The expiry date asked for has passed; reject this sale and sell "
                            "the card again.")
    card, code = giftcards.issue(session, payment=payment, amount=request.amount, actor=actor,
                                 sold_by=request.requested_by,
                                 recipient_email=request.recipient_email,
                                 expires_on=request.expires_on,
                                 data={"request": request.id,
                                       "requested_by": request.requested_by})
    request.gift_card_id = card.id
    move(session, request, CreditRequestStatus.APPROVED, actor=actor,
         note=(note or "").strip()[:300], gift_card=card.last4)
    session.flush()
    return card, code


def reject(session: Session, request: GiftCardRequest, *, actor: audit.Actor,
           roles: Collection[str], note: str) -> GiftCardRequest:
    """Refuse the sale, saying why; nothing is issued and the payment's money is free
    again. Flushes; the caller commits."""
    note = (note or "").strip()
    if not note:
        raise BillingError("Say why the gift card sale is rejected.", field="note")
    request = _decidable(session, request, actor, roles)
    move(session, request, CreditRequestStatus.REJECTED, actor=actor, note=note[:300])
    session.flush()
    return request


def deliver_to(session: Session, request: GiftCardRequest) -> str:
    """Where the code of a confirmed sale is e-mailed: the recipient asked for, else the
    customer who paid; "" when neither has an address."""
    if request.recipient_email:
        return request.recipient_email
    customer = session.get(Customer, request.customer_id) if request.customer_id else None
    return (customer.email or "").strip().lower() if customer is not None else ""


# -- lists ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RequestRow:
    request: GiftCardRequest
    customer_number: str | None
    customer_name: str | None

    @property
    def paid_with(self) -> str:
        p = self.request.payment
        method = receivables.METHODS.get(p.method, p.method)
        return f"{method} {p.reference}".strip()

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.request.status]

    def money(self, value: Decimal) -> Money:
        return Money(value, self.request.currency)


def _rows(session: Session, stmt) -> list[RequestRow]:
    rows = session.execute(
        stmt.add_columns(Customer.number, Customer.name)
        .join(GiftCardRequest.payment)
        .outerjoin(Customer, Customer.id == GiftCardRequest.customer_id)
        .options(contains_eager(GiftCardRequest.payment))).all()
    return [RequestRow(r, number, name) for r, number, name in rows]


def waiting(session: Session, *, limit: int = 50) -> list[RequestRow]:
    """Sales awaiting confirmation, oldest first, with their payment and customer. One
    query."""
    return _rows(session, select(GiftCardRequest)
                 .where(GiftCardRequest.status == CreditRequestStatus.REQUESTED)
                 .order_by(GiftCardRequest.requested_at, GiftCardRequest.id).limit(limit))


def describe(session: Session, request_id: int) -> RequestRow:
    """One request with its payment and customer, for its page. NotFound otherwise."""
    found = _rows(session, select(GiftCardRequest).where(GiftCardRequest.id == request_id))
    if not found:
        raise NotFound("We could not find that gift card sale.")
    return found[0]
