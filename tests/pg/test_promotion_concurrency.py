"""A promotion limited to one use per customer, raced for by simultaneous orders of one
customer (and of one guest e-mail): exactly one order gets the discount.

Committed data (threads need their own connections); removed afterwards.
"""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.audit import AuditEvent
from core.catalog.models import Variant
from core.customers.models import Customer
from core.orders import services as orders
from core.orders.models import Order, OrderLine
from core.pricing import services as pricing
from core.pricing.models import Promotion, PromotionRedemption
from tests.helpers import run_threads
from tests.pg.test_checkout_concurrency import ACTOR, ADDRESS, make_variant, orders_of  # noqa: F401

THREADS = 6


@pytest.fixture
def once_per_customer(engine, make_variant):  # noqa: F811 (the imported fixture)
    """(variant id, promotion id): 1 EUR off the variant, once per customer."""
    variant_id = make_variant(on_hand=50)
    with Session(engine) as s:
        product_id = s.scalar(select(Variant.product_id).where(Variant.id == variant_id))
        promotion = Promotion(name=f"Once each {uuid.uuid4().hex[:6]}", kind="amount_off",
                              value=Decimal(1), product_ids=[product_id], channels=["web-b2c"],
                              usage_limit_per_customer=1)
        s.add(promotion)
        s.commit()
        promotion_id = promotion.id
    yield variant_id, promotion_id
    with Session(engine) as s:
        s.execute(delete(PromotionRedemption).where(PromotionRedemption.promotion_id == promotion_id))
        s.execute(delete(Promotion).where(Promotion.id == promotion_id))
        s.commit()


@pytest.fixture
def customer_id(engine):
    """A committed customer; removed afterwards with its orders."""
    tag = uuid.uuid4().hex[:8]
    with Session(engine) as s:
        customer = Customer(number=f"C-RACE-{tag}", name="Rita Race",
                            email=f"rita.{tag}@example.com")
        s.add(customer)
        s.commit()
        made = customer.id
    yield made
    with Session(engine) as s:
        ids = list(s.scalars(select(Order.id).where(Order.customer_id == made)))
        s.execute(delete(PromotionRedemption).where(PromotionRedemption.customer_id == made))
        s.execute(delete(AuditEvent).where(AuditEvent.subject_type == "orders",
                                           AuditEvent.subject_id.in_(map(str, ids))))
        s.execute(delete(OrderLine).where(OrderLine.order_id.in_(ids)))
        s.execute(delete(Order).where(Order.id.in_(ids)))
        s.execute(delete(Customer).where(Customer.id == made))
        s.commit()


def race(engine, variant_id: int, *, customer_id: int | None, email: str) -> list[str]:
    run = uuid.uuid4().hex[:8]

    def buyer(i: int) -> str:
        with Session(engine) as session:
            customer = session.get(Customer, customer_id) if customer_id else None
            channel = pricing.get_channel(session, "web-b2c")
            ctx = pricing.make_context(channel, customer=customer)  # guests: e-mail unknown yet
            checkout = orders.Checkout(lines=[(variant_id, 1)], email=email,
                                       shipping_address=ADDRESS, billing_address=ADDRESS,
                                       shipping_method="standard")
            try:
                order = orders.place_order(session, checkout=checkout, channel=channel, ctx=ctx,
                                           customer_id=customer_id, actor=ACTOR,
                                           idempotency_key=f"promo-race-{run}-{i}")
            except orders.OrderError as err:
                session.rollback()
                return f"refused: {err}"
            session.commit()
            return "discounted" if order.discount_total > 0 else "full price"

    return run_threads(THREADS, buyer)


def uses(engine, promotion_id: int) -> tuple[int, int]:
    with Session(engine) as s:
        rows = s.scalars(select(PromotionRedemption)
                         .where(PromotionRedemption.promotion_id == promotion_id)).all()
        return len(rows), s.scalar(select(Promotion.times_used).where(Promotion.id == promotion_id))


def test_simultaneous_orders_of_one_customer_get_a_once_per_customer_discount_once(
        engine, once_per_customer, customer_id):
    variant_id, promotion_id = once_per_customer
    results = race(engine, variant_id, customer_id=customer_id, email="rita.race@example.com")
    assert results.count("discounted") == 1, results
    # The others are refused where the use is counted, or (priced after the first commit)
    # see the promotion used already and pay the full price.
    assert all(r in ("discounted", "full price") or "already been used" in r
               for r in results), results
    assert uses(engine, promotion_id) == (1, 1)
    with Session(engine) as s:
        assert sum(o.discount_total > 0 for o in orders_of(s, variant_id)) == 1


def test_simultaneous_guest_orders_with_one_email_get_a_once_per_customer_discount_once(
        engine, once_per_customer):
    variant_id, promotion_id = once_per_customer
    results = race(engine, variant_id, customer_id=None, email=f"{uuid.uuid4().hex[:8]}@example.com")
    assert results.count("discounted") == 1, results
    assert uses(engine, promotion_id) == (1, 1)
