"""Keeping the sales facts: every issued invoice and credit note becomes facts (one per line)
and updates the daily roll-up, in the transaction that issues it.

core.billing calls `record` through `core.billing.invoicing.issued_hooks` (billing knows
nothing of reporting; importing core.reporting registers it). `rebuild` records the
documents that have no facts yet (a database older than the facts) and recomputes the
roll-up; facts once recorded keep what was true at issue.

Cost of a unit sold: the unit cost of the variant's latest stock receipt that carried one
(core.inventory, receipts are in EUR), else the variant's standard cost price, else unknown
(cost 0, unit_cost None: the margin report says how much revenue has no cost); unknown too
in any currency but EUR (nothing is converted). A credit note's line takes back the cost
its invoice line was sold at, and is filed under that sale's channel, agent, customer
group, product and category.
"""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import (and_, case, delete, func, insert as core_insert, literal,
                        literal_column, select)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.billing.models import Invoice, InvoiceLine
from core.catalog.models import Product, Variant
from core.customers.models import Customer
from core.inventory.models import StockMovement
from core.orders.models import Order, OrderLine
from core.reporting.models import NOT_SALES, SalesDay, SalesFact

ZERO = Decimal(0)
# The currency of stock receipts' unit costs and of standard cost prices. A document in
# another currency has no known cost (unit_cost None): converting would need a rate.
COST_CURRENCY = "EUR"


def record(session: Session, doc: Invoice) -> list[SalesFact]:
    """Write the facts of an issued invoice or credit note and add them to the roll-up."""
    lines = [l for l in doc.lines if l.kind not in NOT_SALES]
    if not lines:
        return []
    with session.no_autoflush:
        facts = _facts(session, doc, lines)
    session.add_all(facts)
    session.flush()
    add_to_days(session, facts)
    return facts


def _facts(session: Session, doc: Invoice, lines: list[InvoiceLine]) -> list[SalesFact]:
    sign = 1 if doc.kind == "invoice" else -1
    channel, agent_id = "", None
    if doc.order_id is not None:
        channel, by_kind, by_id = session.execute(
            select(Order.channel_code, Order.placed_by_kind, Order.placed_by_id)
            .where(Order.id == doc.order_id)).one()
        agent_id = by_id if by_kind == "agent" else None
    group = ""
    if doc.customer_id is not None:
        group = session.scalar(select(Customer.price_group)
                               .where(Customer.id == doc.customer_id)) or ""
    variants = _variants(session, lines)
    product = {}
    if variants:
        product = {vid: (pid, cid, std) for vid, pid, cid, std in session.execute(
            select(Variant.id, Variant.product_id, Product.category_id, Variant.cost_price)
            .join(Product, Product.id == Variant.product_id)
            .where(Variant.id.in_(set(variants.values()))))}
    costs = _costs(session, doc, lines, variants, product)
    # A credit note is filed where the sale it takes back was: the channel, agent, group,
    # product and category its invoice's facts recorded, not today's (a product moved to
    # another category since, a customer in another group).
    sold: dict[int, SalesFact] = {}
    if doc.kind == "credit_note" and doc.credited_invoice_id is not None:
        by_line = {f.invoice_line_id: f for f in session.scalars(
            select(SalesFact).where(SalesFact.invoice_id == doc.credited_invoice_id))}
        credited_of = {l.order_line_id: l.credited_line_id for l in lines
                       if l.credited_line_id and l.order_line_id}
        for line in lines:  # a restocking fee line belongs to the line it keeps a fee of
            taken = line.credited_line_id or credited_of.get(line.order_line_id)
            if taken in by_line:
                sold[line.id] = by_line[taken]
        if by_line:
            any_fact = next(iter(by_line.values()))
            channel, agent_id, group = (any_fact.channel_code, any_fact.agent_id,
                                        any_fact.customer_group)
    first = (doc.kind == "invoice" and doc.order_id is not None and not session.scalar(
        select(SalesFact.id).where(SalesFact.order_id == doc.order_id,
                                   SalesFact.first_of_order).limit(1)))
    # Categories this order already has an invoiced line in (first_in_category).
    seen: set[int] = set()
    categories = {c for _p, c, _s in product.values() if c is not None}
    if doc.kind == "invoice" and doc.order_id is not None and categories:
        seen = set(session.scalars(select(SalesFact.category_id).distinct().where(
            SalesFact.order_id == doc.order_id, SalesFact.document == "invoice",
            SalesFact.category_id.in_(categories))))
    facts = []
    for line in lines:
        vid = variants.get(line.id)
        pid, cid, _std = product.get(vid, (None, None, None))
        if line.id in sold:
            vid, pid, cid = sold[line.id].variant_id, sold[line.id].product_id, \
                sold[line.id].category_id
        units = sign * line.quantity if line.kind == "goods" else 0
        unit_cost = costs.get(line.id)
        new_category = doc.kind == "invoice" and cid is not None and doc.order_id is not None \
            and cid not in seen
        if new_category:
            seen.add(cid)
        facts.append(SalesFact(
            invoice_id=doc.id, invoice_line_id=line.id, document=doc.kind, line_kind=line.kind,
            day=doc.issue_date, currency=doc.currency, channel_code=channel,
            customer_id=doc.customer_id, customer_group=group, agent_id=agent_id,
            order_id=doc.order_id, product_id=pid, variant_id=vid, category_id=cid,
            sku=line.sku or "", quantity=units, revenue=sign * line.net,
            cost=units * unit_cost if unit_cost is not None else ZERO, unit_cost=unit_cost,
            first_of_order=first, first_in_category=new_category))
        first = False
    return facts


def _variants(session: Session, lines: list[InvoiceLine]) -> dict[int, int]:
    """Invoice line id -> variant id: through the order line, else by the line's SKU."""
    by_order_line = {l.id: l.order_line_id for l in lines if l.order_line_id}
    found = {}
    if by_order_line:
        variant_of = dict(session.execute(select(OrderLine.id, OrderLine.variant_id)
                                          .where(OrderLine.id.in_(set(by_order_line.values())))).all())
        found = {lid: variant_of[olid] for lid, olid in by_order_line.items() if olid in variant_of}
    by_sku = {l.id: l.sku for l in lines if l.id not in found and l.sku and l.kind == "goods"}
    if by_sku:
        variant_of = dict(session.execute(select(Variant.sku, Variant.id)
                                          .where(Variant.sku.in_(set(by_sku.values())))).all())
        found |= {lid: variant_of[sku] for lid, sku in by_sku.items() if sku in variant_of}
    return found


def _costs(session: Session, doc: Invoice, lines: list[InvoiceLine], variants: dict[int, int],
           product: dict[int, tuple]) -> dict[int, Decimal]:
    """Invoice line id -> unit cost, for goods lines whose cost is known."""
    goods = [l for l in lines if l.kind == "goods"]
    if doc.kind == "credit_note":
        credited = {l.id: l.credited_line_id for l in goods if l.credited_line_id}
        if not credited:
            return {}
        sold_at = dict(session.execute(
            select(SalesFact.invoice_line_id, SalesFact.unit_cost)
            .where(SalesFact.invoice_line_id.in_(set(credited.values())))).all())
        return {lid: sold_at[cl] for lid, cl in credited.items() if sold_at.get(cl) is not None}
    if doc.currency != COST_CURRENCY:
        return {}  # costs are kept in EUR and never converted: unknown in other currencies
    wanted = {variants[l.id] for l in goods if l.id in variants}
    received = latest_receipt_costs(session, wanted)
    out = {}
    for line in goods:
        vid = variants.get(line.id)
        if vid is None:
            continue
        cost = received.get(vid, product[vid][2] if vid in product else None)
        if cost is not None:
            out[line.id] = cost
    return out


def latest_receipt_costs(session: Session, variant_ids: set[int]) -> dict[int, Decimal]:
    """Variant id -> the unit cost of its latest stock receipt that carried a cost."""
    if not variant_ids:
        return {}
    latest = (select(func.max(StockMovement.id))
              .where(StockMovement.variant_id.in_(variant_ids),
                     StockMovement.unit_cost.is_not(None))
              .group_by(StockMovement.variant_id))
    return dict(session.execute(select(StockMovement.variant_id, StockMovement.unit_cost)
                                .where(StockMovement.id.in_(latest))).all())


# -- the daily roll-up ------------------------------------------------------------------------

def _cell(f: SalesFact) -> tuple:
    return (f.day, f.currency, f.channel_code, f.category_id or 0, f.customer_group,
            f.agent_id or 0)


def add_to_days(session: Session, facts: list[SalesFact]) -> None:
    """Add facts to their roll-up cells: one upsert per cell, cells in key order."""
    sums: dict[tuple, list] = defaultdict(lambda: [ZERO, ZERO, 0, 0, 0, 0, ZERO])
    for f in facts:
        s = sums[_cell(f)]
        s[0] += f.revenue
        s[1] += f.cost
        s[2] += f.quantity
        s[3] += 1 if f.first_of_order else 0
        s[4] += 1
        s[5] += 1 if f.first_in_category else 0
        s[6] += f.revenue if f.line_kind == "goods" and f.unit_cost is None else ZERO
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for key in sorted(sums, key=lambda k: (k[0], k[1], k[2], k[3], k[4], k[5])):
        revenue, cost, units, orders, n, category_orders, uncosted = sums[key]
        day, currency, channel, category, group, agent = key
        stmt = insert(SalesDay).values(day=day, currency=currency, channel_code=channel,
                                       category_id=category, customer_group=group,
                                       agent_id=agent, revenue=revenue, cost=cost, units=units,
                                       orders=orders, lines=n,
                                       category_orders=category_orders,
                                       uncosted_revenue=uncosted)
        table = SalesDay.__table__
        session.execute(stmt.on_conflict_do_update(
            index_elements=["day", "currency", "channel_code", "category_id", "customer_group",
                            "agent_id"],
            set_={"revenue": table.c.revenue + stmt.excluded.revenue,
                  "cost": table.c.cost + stmt.excluded.cost,
                  "units": table.c.units + stmt.excluded.units,
                  "orders": table.c.orders + stmt.excluded.orders,
                  "category_orders": table.c.category_orders + stmt.excluded.category_orders,
                  "uncosted_revenue": table.c.uncosted_revenue + stmt.excluded.uncosted_revenue,
                  "lines": table.c.lines + stmt.excluded.lines}))


def rebuild_days(session: Session) -> int:
    """Recompute the whole roll-up from the facts (set-based); returns the cells written."""
    session.execute(delete(SalesDay))
    f = SalesFact
    # literal_column, not a bound 0: PostgreSQL sees two parameters as two expressions and
    # refuses the SELECT ("must appear in the GROUP BY clause").
    category = func.coalesce(f.category_id, literal_column("0"))
    agent = func.coalesce(f.agent_id, literal_column("0"))
    cells = (select(f.day, f.currency, f.channel_code, category, f.customer_group, agent,
                    func.sum(f.revenue), func.sum(f.cost), func.sum(f.quantity),
                    func.sum(case((f.first_of_order, 1), else_=0)), func.count(),
                    func.sum(case((f.first_in_category, 1), else_=0)),
                    func.sum(case((and_(f.line_kind == "goods", f.unit_cost.is_(None)),
                                   f.revenue), else_=literal(ZERO, type_=f.revenue.type))))
             .group_by(f.day, f.currency, f.channel_code, category, f.customer_group, agent))
    session.execute(core_insert(SalesDay).from_select(
        ["day", "currency", "channel_code", "category_id", "customer_group", "agent_id",
         "revenue", "cost", "units", "orders", "lines", "category_orders",
         "uncosted_revenue"], cells))
    # counted, not rowcount: PostgreSQL's driver reports -1 for INSERT ... SELECT here
    return session.scalar(select(func.count()).select_from(SalesDay)) or 0


def rebuild(session: Session, *, everything: bool = False) -> int:
    """Record every invoice and credit note that has no sales facts yet, oldest first (a
    database with invoices from before migration 0018), then recompute the roll-up from all
    the facts. Facts already recorded stay as they were at issue: the cost, category and
    group of that moment, which a rebuild could no longer know. `everything` throws all
    facts away first and records every document again (with today's costs and categories).
    Returns how many documents it recorded."""
    if everything:
        session.execute(delete(SalesFact))
    session.execute(delete(SalesDay))
    recorded = select(SalesFact.invoice_id)
    ids = list(session.scalars(select(Invoice.id).where(Invoice.id.not_in(recorded))
                               .order_by(Invoice.id)))
    recorded = 0  # documents with nothing but dunning charges have no facts, ever
    for start in range(0, len(ids), 500):
        for doc in session.scalars(select(Invoice).where(Invoice.id.in_(ids[start:start + 500]))
                                   .order_by(Invoice.id)):
            recorded += bool(record(session, doc))
    rebuild_days(session)
    return recorded
