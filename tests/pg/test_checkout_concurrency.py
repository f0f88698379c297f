"""Checkout under real concurrency: many buyers for little stock, many submits of one checkout.

Each test works on a product of its own, committed for real (threads need their own
connections, so the rolled-back `db` fixture cannot be used), and removes it afterwards.
"""
from __future__ import annotations

import threading
import time
import uuid
from decimal import Decimal

import pytest
import stripe
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from core.audit import Actor, AuditEvent
from core.catalog.models import Product, Variant
from core.config import load_settings
from core.inventory import services as inventory
from core.inventory.models import StockLevel, StockMovement
from core.inventory.services import OutOfStock
from core import numbering
from core.orders import services as orders
from core.orders.models import Order, OrderLine
from core.payments.gateway import StripeGateway
from core.payments.models import PaymentAttempt
from core.pricing import services as pricing
from core.pricing.models import PriceList, PriceListEntry, TaxCategory
from core.workflows.card_payments import authorise_order
from tests.helpers import run_threads

ADDRESS = {"full_name": "Rita Race", "company": "", "line1": "Hauptstraße 1", "line2": "",
           "city": "Berlin", "postal_code": "10115", "region": "", "country": "DE", "phone": ""}
ACTOR = Actor("anonymous", None, "guest")
SECRET_KEY = "sk_test_x"


# --- helpers -------------------------------------------------------------------------------

def place(session: Session, variant_id: int, quantity: int, key: str) -> Order:
    channel = pricing.get_channel(session, "web-b2c")
    ctx = pricing.make_context(channel)
    checkout = orders.Checkout(lines=[(variant_id, quantity)], email="rita@example.com",
                               shipping_address=ADDRESS, billing_address=ADDRESS,
                               shipping_method="standard")
    return orders.place_order(session, checkout=checkout, channel=channel, ctx=ctx,
                              customer_id=None, actor=ACTOR, idempotency_key=key)


def next_order_number(engine) -> int:
    with Session(engine) as s:
        return numbering.peek(s, "order")


def stock_of(engine, variant_id: int) -> StockLevel:
    with Session(engine, expire_on_commit=False) as s:
        return s.scalar(select(StockLevel).where(StockLevel.variant_id == variant_id,
                                                 StockLevel.warehouse == "MAIN"))


def orders_of(session: Session, variant_id: int):
    return session.scalars(select(Order).where(Order.id.in_(
        select(OrderLine.order_id).where(OrderLine.variant_id == variant_id)))
        .order_by(Order.id)).all()


@pytest.fixture
def make_variant(engine):
    """make_variant(on_hand) -> id of a new, committed, sellable variant priced 9.99 in
    retail-eur with on_hand units in MAIN. Removed, with its orders, after the test."""
    made: list[tuple[int, int]] = []

    def make(on_hand: int) -> int:
        tag = uuid.uuid4().hex[:10]
        with Session(engine) as s:
            standard = s.scalar(select(TaxCategory).where(TaxCategory.code == "standard"))
            retail = s.scalar(select(PriceList).where(PriceList.code == "retail-eur"))
            category_id = s.scalar(select(Product.category_id).join(Variant)
                                   .where(Variant.sku == "PAP-A4-80"))
            product = Product(slug=f"race-{tag}", name=f"Race test {tag}", category_id=category_id,
                              tax_category_id=standard.id)
            variant = Variant(product=product, sku=f"RACE-{tag}", name="", weight_grams=100)
            s.add_all([product, variant,
                       PriceListEntry(price_list=retail, variant=variant, min_quantity=1,
                                      unit_price=Decimal("9.99")),
                       StockLevel(variant=variant, warehouse="MAIN", on_hand=on_hand)])
            s.commit()
            made.append((product.id, variant.id))
            return variant.id

    yield make
    with Session(engine) as s:
        for product_id, variant_id in made:
            ids = list(s.scalars(select(OrderLine.order_id)
                                 .where(OrderLine.variant_id == variant_id).distinct()))
            if ids:
                s.execute(delete(PaymentAttempt).where(PaymentAttempt.order_id.in_(ids)))
                s.execute(delete(AuditEvent).where(AuditEvent.subject_type == "orders",
                                                   AuditEvent.subject_id.in_(map(str, ids))))
                s.execute(delete(OrderLine).where(OrderLine.order_id.in_(ids)))
                s.execute(delete(Order).where(Order.id.in_(ids)))
            s.execute(delete(StockMovement).where(StockMovement.variant_id == variant_id))
            s.execute(delete(StockLevel).where(StockLevel.variant_id == variant_id))
            s.execute(delete(PriceListEntry).where(PriceListEntry.variant_id == variant_id))
            s.execute(delete(Variant).where(Variant.id == variant_id))
            s.execute(delete(Product).where(Product.id == product_id))
        s.commit()


# --- many buyers, little stock --------------------------------------------------------------

def test_fifty_in_stock_two_hundred_attempts_from_twenty_threads_make_exactly_fifty_orders(
        engine, make_variant):
    variant_id = make_variant(on_hand=50)
    first_number = next_order_number(engine)
    run = uuid.uuid4().hex[:8]
    lowest_available = [50]
    done = threading.Event()

    def watch():  # reads the stock row all along, from outside the buyers' transactions
        with Session(engine) as s:
            while not done.is_set():
                available = s.scalar(select(StockLevel.on_hand - StockLevel.reserved)
                                     .where(StockLevel.variant_id == variant_id))
                lowest_available[0] = min(lowest_available[0], available)
                s.rollback()
                time.sleep(0.005)

    def buyer(thread_no: int) -> tuple[int, int]:
        placed = refused = 0
        for attempt in range(10):
            with Session(engine) as session:
                try:
                    place(session, variant_id, 1, key=f"race-{run}-{thread_no}-{attempt}")
                    session.commit()
                    placed += 1
                except OutOfStock:
                    session.rollback()
                    refused += 1
        return placed, refused

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        results = run_threads(20, buyer)
    finally:
        done.set()
        watcher.join(timeout=10)

    assert sum(p for p, _ in results) == 50
    assert sum(r for _, r in results) == 150
    with Session(engine) as s:
        made = orders_of(s, variant_id)
        assert len(made) == 50
        assert s.scalar(select(func.sum(OrderLine.quantity))
                        .where(OrderLine.variant_id == variant_id)) == 50
        assert all(o.status == "pending_payment" for o in made)
        # Order numbers come from a sequence: unique, from where the series stood; the 150
        # refused transactions leave gaps (invoice numbers stay gapless: test_invoice_numbering).
        numbers = sorted(int(o.number.removeprefix("SO-")) for o in made)
        assert len(set(numbers)) == 50 and numbers[0] >= first_number
        assert next_order_number(engine) > numbers[-1]
    level = stock_of(engine, variant_id)
    assert level.reserved == 50 == level.on_hand
    assert lowest_available[0] == 0  # reached zero, never below


# --- one checkout submitted twenty times at once ---------------------------------------------

@pytest.fixture
def stripe_settings(localstripe, database_url):
    return load_settings(environ={}, DATABASE_URL=database_url, STRIPE_API_BASE=localstripe,
                         STRIPE_SECRET_KEY=SECRET_KEY, SECRET_KEY="x" * 32, SMTP_URL="")


def intents_for(localstripe: str, number: str, since: int) -> list:
    """PaymentIntents in localstripe for this order number (made since `since`: the e2e
    server, on a database of its own, may use the same numbers in the same localstripe)."""
    client = stripe.StripeClient(SECRET_KEY, base_addresses={"api": localstripe})
    return [pi for pi in client.v1.payment_intents.list({"limit": 100}).auto_paging_iter()
            if pi.metadata and pi.metadata.to_dict().get("order") == number and pi.created >= since]


def test_twenty_simultaneous_submits_of_one_checkout_make_one_order_and_one_payment_intent(
        engine, make_variant, localstripe, stripe_settings):
    variant_id = make_variant(on_hand=5)
    client = stripe.StripeClient(SECRET_KEY, base_addresses={"api": localstripe})
    card = client.v1.payment_methods.create({"type": "card", "card": {
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}})
    key = f"checkout-{uuid.uuid4().hex}"
    first_number = next_order_number(engine)
    since = int(time.time()) - 1

    def submit(_):
        with Session(engine) as session:
            order = place(session, variant_id, 1, key=key)
            session.commit()
            outcome = authorise_order(session, StripeGateway(stripe_settings), order.id,
                                      payment_method=card.id, actor=ACTOR,
                                      commit=session.commit)
            return outcome.status, outcome.order.id, outcome.order.number

    results = run_threads(20, submit)

    assert {status for status, _, _ in results} <= {"authorised", "processing"}, results
    assert "authorised" in {status for status, _, _ in results}, results
    assert len({(order_id, number) for _, order_id, number in results}) == 1, results
    with Session(engine) as s:
        order = s.scalar(select(Order).where(Order.idempotency_key == key))
        assert s.scalar(select(func.count()).select_from(Order)
                        .where(Order.idempotency_key == key)) == 1
        assert (order.status, order.payment_state) == ("confirmed", "authorised")
        attempts = s.scalars(select(PaymentAttempt).where(PaymentAttempt.order_id == order.id)).all()
        assert len(attempts) == 1
        assert attempts[0].stripe_id and attempts[0].status == "authorised"
        intents = intents_for(localstripe, order.number, since)
        assert [pi.id for pi in intents] == [attempts[0].stripe_id]
        assert intents[0].status == "requires_capture"
        assert intents[0].amount == int(order.gross_total * 100)
        assert int(order.number.removeprefix("SO-")) >= first_number
    assert stock_of(engine, variant_id).reserved == 1  # the losing submits reserved nothing


def test_simultaneous_submits_of_one_checkout_take_one_order_number(engine, make_variant):
    variant_id = make_variant(on_hand=5)
    key = f"checkout-{uuid.uuid4().hex}"
    first_number = next_order_number(engine)

    def submit(_):
        with Session(engine) as session:
            order = place(session, variant_id, 1, key=key)
            session.commit()
            return order.number

    numbers = set(run_threads(20, submit))
    assert len(numbers) == 1  # one order; the losing submits' numbers are gaps, never orders
    (number,) = numbers
    assert first_number <= int(number.removeprefix("SO-")) < next_order_number(engine)


# --- two orders that together want more than there is -----------------------------------------

def test_two_orders_placed_at_once_that_together_exceed_the_stock_only_one_is_placed(
        engine, make_variant):
    variant_id = make_variant(on_hand=10)
    run = uuid.uuid4().hex[:8]

    def buy(i):
        with Session(engine) as session:
            try:
                place(session, variant_id, 6, key=f"pair-{run}-{i}")
                session.commit()
                return "placed"
            except OutOfStock as err:
                session.rollback()
                return str(err)

    results = run_threads(2, buy)
    assert results.count("placed") == 1, results
    refusal = next(r for r in results if r != "placed")
    assert "only 4 left" in refusal
    assert stock_of(engine, variant_id).reserved == 6
    with Session(engine) as s:
        assert len(orders_of(s, variant_id)) == 1


def _waiting_on_a_lock(engine, pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            kind = conn.execute(text("SELECT wait_event_type FROM pg_stat_activity "
                                     "WHERE pid = :pid"), {"pid": pid}).scalar()
            conn.rollback()
            if kind == "Lock":
                return
            time.sleep(0.01)
    raise AssertionError(f"backend {pid} never waited on a lock")


@pytest.mark.parametrize("first_ends_with", ["commit", "rollback"])
def test_a_reservation_queued_behind_another_is_rechecked_when_that_one_ends(
        engine, make_variant, first_ends_with):
    """The conditional UPDATE alone (no order-number lock to serialise the buyers): the
    second reservation waits on the row lock, then PostgreSQL re-evaluates its WHERE
    against the row the first one left."""
    variant_id = make_variant(on_hand=10)
    first, second = Session(engine), Session(engine)
    try:
        inventory.reserve(first, [(variant_id, 6)])  # holds the row lock, uncommitted
        pid = second.scalar(text("SELECT pg_backend_pid()"))
        outcome = {}

        def reserve_second():
            try:
                inventory.reserve(second, [(variant_id, 6)])
                second.commit()
                outcome["second"] = "reserved"
            except OutOfStock as err:
                second.rollback()
                outcome["second"] = str(err)

        thread = threading.Thread(target=reserve_second)
        thread.start()
        _waiting_on_a_lock(engine, pid)  # the second UPDATE is queued behind the first
        getattr(first, first_ends_with)()
        thread.join(timeout=10)
        assert not thread.is_alive()
    finally:
        first.close()
        second.close()

    if first_ends_with == "commit":
        assert "only 4 left" in outcome["second"], outcome
    else:
        assert outcome["second"] == "reserved", outcome
    assert stock_of(engine, variant_id).reserved == 6
