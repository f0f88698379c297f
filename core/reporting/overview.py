"""The day-to-day figures of the business (customers, products, low stock, the latest
events), for the console's start page: a fixed handful of queries."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit import AuditEvent
from core.catalog.models import Product
from core.customers.models import Customer
from core.inventory import queries as stock_queries


@dataclass(frozen=True)
class OperationsOverview:
    customers: int
    companies: int
    products: int
    low_stock: list[tuple[str, str, int]]  # (sku, product name, available)
    recent_events: list[AuditEvent]


def operations_overview(session: Session, *, low_stock_below: int = 5) -> OperationsOverview:
    customers, companies = session.execute(
        select(func.count(), func.count().filter(Customer.kind == "company")).select_from(Customer)
    ).one()
    products = session.scalar(select(func.count()).select_from(Product).where(Product.active))
    # At or below each level's reorder point, summed over the warehouses (inventory.queries).
    low_stock = stock_queries.low_stock(session, limit=10)
    recent = list(session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(10)))
    return OperationsOverview(customers or 0, companies or 0, products or 0, low_stock, recent)
