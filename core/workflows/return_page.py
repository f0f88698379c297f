"""The return page: a return as its buyer reads it (status, the lines with their reasons and
what has arrived, the credit notes it led to, the replacement order of an exchange, whether
the goods are to be sent back with a label), found only for the buyer it belongs to.

A read model over returns, orders and billing; deciding and settling are core.returns.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.billing.models import Invoice
from core.customers import roles
from core.customers.models import CustomerUser
from core.errors import NotFound
from core.orders.models import Order
from core.returns import policy, settlement
from core.returns.models import ReturnAuthorisation
from core.returns.services import awaits_goods, by_number
from core.returns.states import ReturnStatus, label

NOT_FOUND = "We could not find that return."


@dataclass(frozen=True)
class ReturnDetail:
    rma: ReturnAuthorisation
    order_number: str
    credit_notes: list[Invoice] = field(default_factory=list)
    replacement_number: str = ""

    @property
    def status_label(self) -> str:
        return label(self.rma.status)

    @property
    def resolution_label(self) -> str:
        return policy.RESOLUTIONS.get(self.rma.resolution, self.rma.resolution)

    @property
    def refund_method_label(self) -> str:
        return policy.refund_method_label(self.rma.refund_method)

    @property
    def rejected(self) -> bool:
        return self.rma.status == ReturnStatus.REJECTED

    @property
    def label_ready(self) -> bool:
        return awaits_goods(self.rma)


def return_detail(session: Session, rma: ReturnAuthorisation) -> ReturnDetail:
    """The return with its order's number, its credit notes and its replacement order's
    number: three queries (the lines come with the return)."""
    order_number = session.scalar(select(Order.number).where(Order.id == rma.order_id))
    replacement = (session.scalar(select(Order.number)
                                  .where(Order.id == rma.replacement_order_id))
                   if rma.replacement_order_id is not None else None)
    return ReturnDetail(rma, order_number or "", settlement.credit_notes(session, rma),
                        replacement or "")


def customer_return(session: Session, viewer: CustomerUser, number: str
                    ) -> ReturnAuthorisation:
    """A return the signed-in login sees, by number (core.customers.roles: a company buyer
    those of the orders they placed); NotFound when it is someone else's or unknown."""
    rma = by_number(session, number)
    order = session.execute(select(Order.placed_by_kind, Order.placed_by_id)
                            .where(Order.id == rma.order_id)).one_or_none()
    if order is None or not roles.owns(viewer, customer_id=rma.customer_id,
                                       placed_by_kind=order.placed_by_kind,
                                       placed_by_id=order.placed_by_id):
        raise NotFound(NOT_FOUND)
    return rma


def guest_return(session: Session, number: str, order_numbers: Collection[str]
                 ) -> ReturnAuthorisation:
    """A guest's return by number, of one of the guest orders `order_numbers` (the ones
    this browser proved by the order look-up); NotFound for any other."""
    rma = by_number(session, number)
    order = session.execute(select(Order.number, Order.customer_id)
                            .where(Order.id == rma.order_id)).one_or_none()
    if (rma.customer_id is not None or order is None or order.customer_id is not None
            or order.number not in order_numbers):
        raise NotFound(NOT_FOUND)
    return rma
