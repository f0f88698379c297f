"""Customer 360: everything an agent needs while the customer is on the line.

A read model over customers, orders, carts, payments, notes, interactions and the audit
trail, in a fixed number of queries whatever the number of orders, notes or events: each
list is one statement, newest first and limited, and counts come from one aggregate.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import String, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session, selectinload

from core.agents.models import Agent
from core.audit import AuditEvent
from core.billing import receivables
from core.billing.receivables import Balance
from core.credit.exposure import OVERDUE_DAYS, Exposure, exposure
from core.customers.models import Customer, CustomerAddress, CustomerNote, Interaction
from core.customers.queries import addresses, customer_by_number
from core.money import Money
from core.orders.models import Cart, CartLine, Order
from core.payments.models import PaymentAttempt
from core.returns.models import ReturnAuthorisation
from core.returns.services import for_customer

ORDERS_SHOWN = 20
PAYMENTS_SHOWN = 20
NOTES_SHOWN = 20
INTERACTIONS_SHOWN = 20
EVENTS_SHOWN = 30
RETURNS_SHOWN = 20


@dataclass(frozen=True)
class OpenCart:
    id: int
    updated_at: dt.datetime
    lines: int
    units: int


@dataclass(frozen=True)
class PaymentRow:
    attempt: PaymentAttempt
    order_number: str

    @property
    def amount(self) -> Money:
        return Money(self.attempt.amount, self.attempt.currency)

    @property
    def captured(self) -> Money:
        return Money(self.attempt.amount_captured, self.attempt.currency)

    @property
    def refunded(self) -> Money:
        return Money(self.attempt.amount_refunded, self.attempt.currency)


@dataclass(frozen=True)
class NoteRow:
    note: CustomerNote
    agent_name: str


@dataclass(frozen=True)
class InteractionRow:
    interaction: Interaction
    agent_name: str


@dataclass(frozen=True)
class Customer360:
    customer: Customer
    addresses: list[CustomerAddress]
    orders: list[Order]
    order_count: int
    on_account_open: list[Money]  # one per currency; empty when there is none
    carts: list[OpenCart]
    payments: list[PaymentRow]
    notes: list[NoteRow]
    interactions: list[InteractionRow]
    events: list[AuditEvent] = field(default_factory=list)
    receivables: Balance | None = None  # what they owe and hold (two queries)
    # (return, its order's number), newest first (two queries)
    returns: list[tuple[ReturnAuthorisation, str]] = field(default_factory=list)
    credit: Exposure | None = None  # limit, exposure and what makes it up (two queries)


def _order_totals(session: Session, customer_id: int) -> tuple[int, list[Money]]:
    """How many orders the customer has, and the open on-account total per currency."""
    open_on_account = case((and_(Order.payment_method == "on_account",
                                 Order.status != "cancelled"), Order.gross_total),
                           else_=Decimal(0))
    rows = session.execute(select(Order.currency, func.count(), func.sum(open_on_account))
                           .where(Order.customer_id == customer_id).group_by(Order.currency)
                           .order_by(Order.currency)).all()
    count = sum(r[1] for r in rows)
    totals = [Money(Decimal(r[2]), r[0]) for r in rows if r[2]]
    return count, totals


def _orders(session: Session, customer_id: int) -> list[Order]:
    """Orders from every channel, newest first, with their holds (one more query)."""
    return list(session.scalars(
        select(Order).where(Order.customer_id == customer_id)
        .order_by(Order.placed_at.desc(), Order.id.desc()).limit(ORDERS_SHOWN)
        .options(selectinload(Order.holds))))


def _carts(session: Session, customer_id: int) -> list[OpenCart]:
    """The customer's carts that hold something."""
    rows = session.execute(
        select(Cart.id, Cart.updated_at, func.count(CartLine.id), func.sum(CartLine.quantity))
        .join(CartLine, CartLine.cart_id == Cart.id).where(Cart.customer_id == customer_id)
        .group_by(Cart.id, Cart.updated_at).order_by(Cart.updated_at.desc()))
    return [OpenCart(r[0], r[1], r[2], int(r[3] or 0)) for r in rows]


def _payments(session: Session, customer_id: int) -> list[PaymentRow]:
    rows = session.execute(
        select(PaymentAttempt, Order.number).join(Order, Order.id == PaymentAttempt.order_id)
        .where(Order.customer_id == customer_id)
        .order_by(PaymentAttempt.created_at.desc(), PaymentAttempt.id.desc())
        .limit(PAYMENTS_SHOWN))
    return [PaymentRow(attempt, number) for attempt, number in rows]


def _notes(session: Session, customer_id: int) -> list[NoteRow]:
    return [NoteRow(note, name)
            for note, name in _by_agents(session, CustomerNote, customer_id, NOTES_SHOWN)]


def _interactions(session: Session, customer_id: int) -> list[InteractionRow]:
    return [InteractionRow(interaction, name) for interaction, name
            in _by_agents(session, Interaction, customer_id, INTERACTIONS_SHOWN)]


def _by_agents(session: Session, model, customer_id: int, limit: int):
    """The customer's latest `model` rows (notes, interactions), each with the name of the
    agent who wrote it ("" when none did)."""
    return session.execute(
        select(model, func.coalesce(Agent.full_name, ""))
        .outerjoin(Agent, Agent.id == model.agent_id)
        .where(model.customer_id == customer_id)
        .order_by(model.at.desc(), model.id.desc()).limit(limit))


def audit_trail(session: Session, customer_id: int, *, limit: int = EVENTS_SHOWN
                ) -> list[AuditEvent]:
    """Events on the customer and on any of their orders, newest first (the page tells
    each with its document: core.reporting.activity.tell)."""
    order_ids = select(cast(Order.id, String)).where(Order.customer_id == customer_id)
    return list(session.scalars(
        select(AuditEvent).where(or_(
            and_(AuditEvent.subject_type == Customer.__tablename__,
                 AuditEvent.subject_id == str(customer_id)),
            and_(AuditEvent.subject_type == Order.__tablename__,
                 AuditEvent.subject_id.in_(order_ids))))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)))


def customer_360(session: Session, number: str, *,
                 overdue_days: int = OVERDUE_DAYS) -> Customer360:
    """Everything about one customer for the agent on the phone; NotFound if unknown."""
    customer = customer_by_number(session, number)
    order_count, on_account_open = _order_totals(session, customer.id)
    return Customer360(customer=customer, addresses=addresses(session, customer.id),
                       orders=_orders(session, customer.id), order_count=order_count,
                       on_account_open=on_account_open, carts=_carts(session, customer.id),
                       payments=_payments(session, customer.id),
                       notes=_notes(session, customer.id),
                       interactions=_interactions(session, customer.id),
                       events=audit_trail(session, customer.id),
                       receivables=receivables.customer_balance(session, customer.id,
                                                                customer.currency),
                       returns=for_customer(session, customer.id, limit=RETURNS_SHOWN),
                       credit=exposure(session, customer, overdue_days=overdue_days))
