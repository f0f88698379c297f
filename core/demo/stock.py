"""Demo stock work, all through the services: a second warehouse in Hamburg that every channel
sources from after MAIN, two suppliers, receipts, a transfer, an adjustment and a count (so
stock pages have history), and expected arrivals next week, one of them for a paper shredder
that is sold out and now taken on backorder."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, clock
from core.catalog.models import Channel, Product, Variant
from core.db import utcnow
from core.inventory import bins
from core.inventory import services as inventory
from core.inventory.models import ChannelWarehouse, StockLevel, Supplier, Warehouse
from core.workflows import stock_receipts

WES = audit.Actor.system("Wes Warehouse (demo)")
BACKORDERED = "SHR-P4-12"  # the paper shredder: sold out, backorderable, 6 expected next week


def _variant(session: Session, sku: str) -> Variant:
    return session.scalar(select(Variant).where(Variant.sku == sku))


def _warehouse(session: Session) -> Warehouse:
    hamburg = session.scalar(select(Warehouse).where(Warehouse.code == "HAM"))
    if hamburg is None:
        hamburg = Warehouse(code="HAM", name="Hamburg", position=1, address={
            "line1": "Am Sandtorkai 40", "postcode": "20457", "city": "Hamburg",
            "country": "DE"})
        session.add(hamburg)
    main = session.scalar(select(Warehouse).where(Warehouse.code == inventory.WAREHOUSE))
    session.flush()
    linked = set(session.execute(select(ChannelWarehouse.channel_id,
                                        ChannelWarehouse.warehouse_id)).all())
    for channel_id in session.scalars(select(Channel.id).order_by(Channel.id)):
        for position, warehouse in enumerate((main, hamburg)):
            if (channel_id, warehouse.id) not in linked:
                session.add(ChannelWarehouse(channel_id=channel_id, warehouse_id=warehouse.id,
                                             position=position))
    session.flush()
    return hamburg


def _suppliers(session: Session) -> tuple[Supplier, Supplier]:
    paper = Supplier(code="NORDPAPIER", name="Nordpapier GmbH",
                     email="orders@nordpapier.example", phone="+49 40 555 0101", lead_days=8,
                     address={"line1": "Billstraße 12", "postcode": "20539", "city": "Hamburg",
                              "country": "DE"})
    machines = Supplier(code="BUEROTECH", name="Bürotechnik Süd GmbH", lead_days=12,
                        phone="+49 89 555 0199",
                       address={"line1": "Landsberger Str. 300", "postcode": "80687",
                                "city": "München", "country": "DE"})
    session.add_all([paper, machines])
    session.flush()
    return paper, machines


def load_stock(session: Session) -> str:
    """The demo's warehouse work. Flushes; the caller commits."""
    _warehouse(session)
    paper, machines = _suppliers(session)
    for sku, warehouse, units, reference, cost in (
            ("ENV-C5-500", "MAIN", 60, "DN-NP-4471", Decimal("14.20")),
            ("NTB-A4-SQ", "MAIN", 100, "DN-NP-4471", Decimal("2.85")),
            ("PAP-A4-100", "HAM", 40, "DN-NP-4480", Decimal("4.10"))):
        stock_receipts.receive(session, sku=sku, warehouse=warehouse, quantity=units,
                               reference=reference, actor=WES, unit_cost=cost)
    notebooks = _variant(session, "NTB-A4-SQ")
    inventory.transfer(session, variant_id=notebooks.id, source="MAIN", target="HAM",
                       quantity=30, by=WES.label, note="Stock for the north")
    inventory.adjust(session, variant_id=_variant(session, "MRK-PERM-10").id, warehouse="MAIN",
                     change=-2, reason="damaged", by=WES.label, note="Box dropped at goods-in")
    inventory.count(session, variant_id=_variant(session, "PCL-05").id, warehouse="MAIN",
                    counted=93, by=WES.label, note="Cycle count, aisle 3")
    # The shredder is sold out (counted 0) and now taken on backorder against its arrival.
    shredder = _variant(session, BACKORDERED)
    inventory.count(session, variant_id=shredder.id, warehouse="MAIN", counted=0, by=WES.label,
                    note="Cycle count: none on the shelf")
    product = session.get(Product, shredder.product_id)
    product.backorderable, product.supplier_id = True, machines.id
    next_week = clock.business_date(utcnow()) + dt.timedelta(days=7)
    stock_receipts.add_arrival(session, supplier_id=machines.id, sku=BACKORDERED, quantity=6,
                               warehouse="MAIN", expected_on=next_week, reference="AN-20931",
                               actor=WES)
    stock_receipts.add_arrival(session, supplier_id=paper.id, sku="ENV-C5-500", quantity=200,
                               warehouse="MAIN", expected_on=next_week + dt.timedelta(days=2),
                               reference="NP-PO-7710", actor=WES)
    # The yellow toner is sold out and takes no backorders; the shop and the console say
    # when more are expected.
    stock_receipts.add_arrival(session, supplier_id=machines.id, sku="TON-415A-Y", quantity=12,
                               warehouse="MAIN", expected_on=next_week + dt.timedelta(days=3),
                               reference="BT-TON-2291", actor=WES)
    # Acme orders two by phone: they wait on backorder for that arrival.
    from core.agents.models import Agent
    from core.customers.models import Customer
    from core.demo.orders import take_phone_order
    acme = session.scalar(select(Customer).where(Customer.name == "Acme Corp"))
    agent = session.scalar(select(Agent).where(Agent.email == "agent@marketline.example"))
    waiting = take_phone_order(session, acme, agent, [(BACKORDERED, 2)], 0,
                               key="demo-backordered-shredders", po="PO-7790")
    session.flush()
    placed = _bins(session)
    return ("Stock: a Hamburg warehouse after MAIN, two suppliers, receipts, a transfer, an "
            "adjustment and counts; the sold-out paper shredder is on backorder for Acme's "
            f"{waiting.number} against an arrival next week; {placed} stock rows have a bin, "
            "so the pick list walks the aisles.")


# The items of the orders on the demo's pick list: the walk is neither SKU order nor text
# order (A-2-3 before A-10-1), and the sticky notes have no bin yet, so they come last.
PICKED_BINS = {("PEN-G2-BLU", "MAIN"): "A-2-3", ("PAP-A4-80", "MAIN"): "A-10-1",
               ("STN-76-YEL", "MAIN"): ""}


def _bins(session: Session) -> int:
    """Bins for the demo's stock rows, as the warehouse sets them on the stock page: aisles A
    to C, shelves 1 to 12 unpadded (so "A-2-1" walks before "A-10-1"), not in SKU order; every
    ninth row has none yet (it comes last on the pick list)."""
    rows = session.execute(select(Variant.id, Variant.sku, StockLevel.warehouse)
                           .join(StockLevel, StockLevel.variant_id == Variant.id)
                           .order_by(StockLevel.warehouse, Variant.sku)).all()
    placed = 0
    for i, (variant_id, sku, warehouse) in enumerate(rows):
        shelf = "" if i % 9 == 8 else f"{'ABC'[i // 12 % 3]}-{i * 5 % 12 + 1}-{i % 3 + 1}"
        where = PICKED_BINS.get((sku, warehouse), shelf)
        if not where:
            continue
        bins.set_bin(session, variant_id=variant_id, warehouse=warehouse, bin_location=where,
                     actor=WES)
        placed += 1
    return placed
