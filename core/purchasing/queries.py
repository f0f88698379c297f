"""The read side of purchase orders: the console's list, open ones first."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from core.inventory.models import Supplier
from core.orders.models import Order
from core.paging import Page, paginate
from core.purchasing.models import PurchaseOrder
from core.purchasing.states import PURCHASE_ORDER, PurchaseOrderStatus

OPEN = (PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTIALLY_SHIPPED)
STATUSES = [(s.value, PURCHASE_ORDER.label(s)) for s in PurchaseOrderStatus]


@dataclass(frozen=True)
class Filters:
    supplier_id: int | None = None
    status: str = ""  # "" | open | one of PurchaseOrderStatus


@dataclass(frozen=True)
class Row:
    po: PurchaseOrder
    supplier: str
    order_number: str


def purchase_orders(session: Session, filters: Filters, *, page: int = 1,
                    per_page: int = 50) -> Page[Row]:
    """Purchase orders, open ones first and the newest first among each; with their lines.
    Three queries: the count, the rows (with supplier and order number), the lines."""
    conditions = []
    if filters.supplier_id:
        conditions.append(PurchaseOrder.supplier_id == filters.supplier_id)
    if filters.status == "open":
        conditions.append(PurchaseOrder.status.in_(OPEN))
    elif filters.status in {s.value for s in PurchaseOrderStatus}:
        conditions.append(PurchaseOrder.status == filters.status)
    stmt = (select(PurchaseOrder, Supplier.name, Order.number)
            .join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
            .join(Order, Order.id == PurchaseOrder.order_id)
            .where(*conditions).options(selectinload(PurchaseOrder.lines))
            .order_by(case((PurchaseOrder.status.in_(OPEN), 0), else_=1),
                      PurchaseOrder.id.desc()))
    found = paginate(session, stmt, page=page, per_page=per_page,
                     count=select(func.count()).select_from(PurchaseOrder).where(*conditions))
    return found.map(lambda row: Row(row[0], row[1], row[2]))


def suppliers(session: Session) -> list[tuple[int, str]]:
    """(id, name) of every supplier, by name, for the list's filter."""
    return list(session.execute(select(Supplier.id, Supplier.name).order_by(Supplier.name)).all())
