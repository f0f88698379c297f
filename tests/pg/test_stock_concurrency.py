"""Stock under real concurrency: receipts (with backorder filling), sales reservations and
transfers between two warehouses on ONE variant from many threads keep on hand equal to
the sum of its movements, reserved equal to the sum of reservations, and never below zero
(the product does not allow backorders).

Committed for real (threads need their own connections); the variant, its warehouse and its
journal are removed afterwards."""
from __future__ import annotations

import random
import threading
import time
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.audit import Actor
from core.catalog.models import Product, Variant
from core.inventory import services as inventory
from core.inventory.models import StockLevel, StockMovement, Warehouse
from core.inventory.services import StockError
from core.pricing.models import PriceList, PriceListEntry, TaxCategory
from core.workflows import stock_receipts
from tests.helpers import run_threads

WES = Actor("agent", None, "wes@marketline.example")


@pytest.fixture
def contested(engine):
    """(variant id, sku, second warehouse code): a committed variant with 20 units in MAIN
    (an opening movement) and a second warehouse; all removed after the test."""
    tag = uuid.uuid4().hex[:8]
    code = f"PG{tag[:6]}".upper()
    with Session(engine) as s:
        standard = s.scalar(select(TaxCategory).where(TaxCategory.code == "standard"))
        retail = s.scalar(select(PriceList).where(PriceList.code == "retail-eur"))
        category_id = s.scalar(select(Product.category_id).join(Variant)
                               .where(Variant.sku == "PAP-A4-80"))
        product = Product(slug=f"stock-race-{tag}", name=f"Stock race {tag}",
                          category_id=category_id, tax_category_id=standard.id)
        variant = Variant(product=product, sku=f"STOCK-{tag}", name="", weight_grams=100)
        s.add_all([product, variant, Warehouse(code=code, name="Race", position=99),
                   PriceListEntry(price_list=retail, variant=variant, min_quantity=1,
                                  unit_price=Decimal("9.99"))])
        s.flush()
        inventory.receive(s, variant_id=variant.id, warehouse="MAIN", quantity=20,
                          reference="opening", by="tests")
        s.commit()
        ids = (product.id, variant.id, variant.sku)
    yield ids[1], ids[2], code
    with Session(engine) as s:
        s.execute(delete(StockMovement).where(StockMovement.variant_id == ids[1]))
        s.execute(delete(StockLevel).where(StockLevel.variant_id == ids[1]))
        s.execute(delete(PriceListEntry).where(PriceListEntry.variant_id == ids[1]))
        s.execute(delete(Variant).where(Variant.id == ids[1]))
        s.execute(delete(Product).where(Product.id == ids[0]))
        s.execute(delete(Warehouse).where(Warehouse.code == code))
        s.commit()


def test_receipts_sales_and_transfers_from_many_threads_keep_stock_equal_to_its_journal(
        engine, contested):
    variant_id, sku, other = contested
    warehouses = ["MAIN", other]
    lowest = [0]
    done = threading.Event()

    def watch():  # reads the rows all along, from outside the workers' transactions
        with Session(engine) as s:
            while not done.is_set():
                found = s.execute(select(func.min(StockLevel.on_hand),
                                         func.min(StockLevel.on_hand - StockLevel.reserved))
                                  .where(StockLevel.variant_id == variant_id)).one()
                lowest[0] = min(lowest[0], *(v for v in found if v is not None))
                s.rollback()
                time.sleep(0.005)

    def worker(thread_no: int) -> tuple[int, int, int]:
        rng = random.Random(thread_no)
        received = reserved = refused = 0
        for _ in range(12):
            step = rng.choice(["receive", "reserve", "reserve", "transfer", "transfer"])
            with Session(engine) as session:
                try:
                    if step == "receive":
                        units = rng.randint(1, 3)
                        stock_receipts.receive(session, sku=sku, warehouse=rng.choice(warehouses),
                                               quantity=units, reference="race", actor=WES)
                    elif step == "reserve":
                        units = rng.randint(1, 4)
                        inventory.reserve(session, [(variant_id, units)], warehouses=warehouses,
                                          reference="race", by=WES.label)
                    else:
                        source, target = rng.sample(warehouses, 2)
                        inventory.transfer(session, variant_id=variant_id, source=source,
                                           target=target, quantity=rng.randint(1, 5),
                                           by=WES.label)
                    session.commit()
                except StockError:
                    session.rollback()
                    refused += 1
                    continue
            if step == "receive":
                received += units
            elif step == "reserve":
                reserved += units
        return received, reserved, refused

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        results = run_threads(12, worker)
    finally:
        done.set()
        watcher.join(timeout=10)

    received = sum(r[0] for r in results)
    reserved = sum(r[1] for r in results)
    assert sum(r[2] for r in results) > 0  # the stock ran out: the race was real
    with Session(engine) as s:
        rows = {l.warehouse: l for l in s.scalars(
            select(StockLevel).where(StockLevel.variant_id == variant_id))}
        for warehouse, row in rows.items():
            assert (row.on_hand, row.reserved) == inventory.journal_balance(
                s, variant_id, warehouse), warehouse
            assert row.on_hand >= row.reserved >= 0 and row.backordered == 0
        assert sum(r.on_hand for r in rows.values()) == 20 + received
        assert sum(r.reserved for r in rows.values()) == reserved
    assert lowest[0] >= 0
