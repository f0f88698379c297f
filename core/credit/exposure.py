"""What a customer owes us and may yet owe: the figures behind every credit decision.

Read side only, in a fixed number of queries whatever the number of invoices and orders
(two: open invoices, uninvoiced orders on account). What orders on account owe beyond
their invoices is split in two: confirmed, not yet shipped, and shipped, not yet invoiced
(the shipped units of a line beyond its invoiced ones, at the line's gross price per unit,
rounded half-up to the currency's minor unit by core.pricing.engine.round_money; the rest,
with any shipping charge not yet invoiced, is "not yet shipped"). Decimal throughout, in
the customer's currency (documents in other currencies are not the limit's).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.billing.models import Invoice
from core import clock
from core.config import Settings
from core.customers.models import Customer
from core.money import Money
from core.orders.models import Order, OrderLine
from core.pricing.engine import round_money

ZERO = Decimal(0)
OVERDUE_DAYS = Settings.CREDIT_OVERDUE_DAYS  # the setting's default; callers pass theirs
# Orders on account that have stopped waiting and may still be invoiced.
OPEN_STATUSES = ("confirmed", "in_fulfilment", "partially_shipped", "shipped")


@dataclass(frozen=True)
class OpenInvoice:
    number: str
    issue_date: dt.date
    due_date: dt.date
    amount_open: Decimal
    days_overdue: int  # 0 when not yet due


@dataclass(frozen=True)
class UninvoicedOrder:
    number: str
    placed_at: dt.datetime
    gross_total: Decimal
    uninvoiced: Decimal  # what no invoice covers yet
    shipped_uninvoiced: Decimal = ZERO  # of it, the value of goods shipped, not invoiced

    @property
    def unshipped(self) -> Decimal:
        """Confirmed, not yet shipped (with any shipping charge not yet invoiced)."""
        return self.uninvoiced - self.shipped_uninvoiced


@dataclass(frozen=True)
class Exposure:
    """The customer's credit position on `today`."""

    currency: str
    limit: Decimal | None  # None: no limit set
    invoices: list[OpenInvoice] = field(default_factory=list)
    orders: list[UninvoicedOrder] = field(default_factory=list)
    overdue_days: int = OVERDUE_DAYS

    @property
    def open_receivables(self) -> Decimal:
        return sum((i.amount_open for i in self.invoices), ZERO)

    @property
    def uninvoiced_orders(self) -> Decimal:
        return sum((o.uninvoiced for o in self.orders), ZERO)

    @property
    def confirmed_not_shipped(self) -> Decimal:
        return sum((o.unshipped for o in self.orders), ZERO)

    @property
    def shipped_not_invoiced(self) -> Decimal:
        return sum((o.shipped_uninvoiced for o in self.orders), ZERO)

    @property
    def total(self) -> Decimal:
        return self.open_receivables + self.uninvoiced_orders

    @property
    def headroom(self) -> Decimal | None:
        """What may still be ordered on account (negative: over the limit); None: no limit."""
        return None if self.limit is None else self.limit - self.total

    @property
    def over_limit(self) -> bool:
        return self.limit is not None and self.total > self.limit

    @property
    def overdue(self) -> list[OpenInvoice]:
        """Invoices overdue more than `overdue_days`: these block new orders on account."""
        return [i for i in self.invoices if i.days_overdue > self.overdue_days]

    @property
    def overdue_total(self) -> Decimal:
        return sum((i.amount_open for i in self.overdue), ZERO)

    @property
    def past_due_total(self) -> Decimal:
        """Everything past its due date, however recently."""
        return sum((i.amount_open for i in self.invoices if i.days_overdue > 0), ZERO)

    def money(self, value: Decimal) -> Money:
        return Money(value, self.currency)


def exposure(session: Session, customer: Customer, *, today: dt.date | None = None,
             overdue_days: int = OVERDUE_DAYS) -> Exposure:
    """The customer's exposure: two queries."""
    today = today or clock.today()
    invoices = [OpenInvoice(number, issued, due, Decimal(amount), max(0, (today - due).days))
                for number, issued, due, amount in session.execute(
                    select(Invoice.number, Invoice.issue_date, Invoice.due_date,
                           Invoice.amount_open)
                    .where(Invoice.customer_id == customer.id, Invoice.kind == "invoice",
                           Invoice.currency == customer.currency, Invoice.amount_open > 0)
                    .order_by(Invoice.due_date, Invoice.id))]
    invoiced = (select(Invoice.order_id, func.sum(Invoice.gross_total).label("gross"))
                .where(Invoice.kind == "invoice", Invoice.customer_id == customer.id)
                .group_by(Invoice.order_id).subquery())
    # One row per order and line shipped beyond what is invoiced (or one with no line).
    found: dict[int, list] = {}
    for order_id, number, placed_at, gross, done, line_gross, qty, shipped, billed in \
            session.execute(
            select(Order.id, Order.number, Order.placed_at, Order.gross_total, invoiced.c.gross,
                   OrderLine.gross, OrderLine.quantity, OrderLine.quantity_shipped,
                   OrderLine.quantity_invoiced)
            .outerjoin(invoiced, invoiced.c.order_id == Order.id)
            .outerjoin(OrderLine, (OrderLine.order_id == Order.id)
                       & (OrderLine.quantity_shipped > OrderLine.quantity_invoiced))
            .where(Order.customer_id == customer.id, Order.payment_method == "on_account",
                   Order.currency == customer.currency, Order.status.in_(OPEN_STATUSES))
            .order_by(Order.placed_at, Order.id)):
        row = found.setdefault(order_id, [number, placed_at, Decimal(gross),
                                          Decimal(done or 0), ZERO])
        if line_gross is not None and qty:
            row[4] += round_money(Decimal(line_gross) * (shipped - billed) / qty,
                                  customer.currency)
    orders = []
    for number, placed_at, gross, done, shipped_value in found.values():
        left = gross - done
        if left > 0:
            orders.append(UninvoicedOrder(number, placed_at, gross, left,
                                          min(max(shipped_value, ZERO), left)))
    return Exposure(customer.currency, customer.credit_limit, invoices, orders, overdue_days)
