"""Issue 13 under real concurrency (PostgreSQL, READ COMMITTED):

* two approvers deciding one waiting order at once: one wins, the other is told the order
  was already decided (the hold is read again once the order's row lock is taken);
* two orders on account of one customer credit-checked at once: each passes alone, both
  together go over the limit, so the second waits for the first (the customer's row lock)
  and is held.

The first transaction does its work and keeps its locks while the second starts and must
wait; then the first commits. Without the locks the second decides on what it read
before the first committed. Committed data (threads need their own connections) on a
company of its own, removed afterwards.
"""
from __future__ import annotations

import threading
import time
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.audit import Actor, AuditEvent
from core.catalog.models import Variant
from core.credit import checks
from core.customers.models import Customer, CustomerAddress, CustomerUser
from core.customers.services import actor_for
from core.numbering import next_number
from core.orders import services as orders
from core.orders.models import Order, OrderHold, OrderLine
from core.pricing import services as pricing
from core.workflows import approvals, b2b_checkout
from tests.factories import _PASSWORD_HASH
from tests.fakes import FakeGateway

CREDIT = Actor.system("credit check")
ADDRESS = {"full_name": "Rita Race", "company": "Race AG", "line1": "Hauptstraße 1",
           "line2": "", "city": "Berlin", "postal_code": "10115", "region": "",
           "country": "DE", "phone": ""}


@pytest.fixture
def race_company(engine):
    """(customer id, {role: login id}) of a new committed company on account: a buyer with
    an order limit of 1 EUR (every order of theirs waits for approval), an approver and an
    admin."""
    tag = uuid.uuid4().hex[:8]
    with Session(engine) as s:
        customer = Customer(number=next_number(s, "customer"), kind="company",
                            name=f"Race {tag}", email=f"office.{tag}@race.example",
                            payment_terms="net30", on_account_allowed=True)
        s.add(customer)
        s.add(CustomerAddress(customer=customer, label="Office", default_shipping=True,
                              default_billing=True, **{k: v for k, v in ADDRESS.items()}))
        logins = {role: CustomerUser(customer=customer, email=f"{role}.{tag}@race.example",
                                     full_name=f"{role.title()} {tag}", role=role,
                                     password_hash=_PASSWORD_HASH)
                  for role in ("buyer", "approver", "admin")}
        logins["buyer"].order_limit = Decimal("1.00")
        s.add_all(logins.values())
        s.commit()
        customer_id, ids = customer.id, {r: u.id for r, u in logins.items()}
    yield customer_id, ids
    with Session(engine) as s:
        for order in s.scalars(select(Order).where(Order.customer_id == customer_id)):
            if order.status != "cancelled":  # gives the stock back
                orders.cancel_order(s, order, actor=CREDIT, reason="test over")
        s.flush()
        order_ids = list(s.scalars(select(Order.id).where(Order.customer_id == customer_id)))
        if order_ids:
            s.execute(delete(AuditEvent).where(AuditEvent.subject_type == "orders",
                                               AuditEvent.subject_id.in_(map(str, order_ids))))
            s.execute(delete(OrderHold).where(OrderHold.order_id.in_(order_ids)))
            s.execute(delete(OrderLine).where(OrderLine.order_id.in_(order_ids)))
            s.execute(delete(Order).where(Order.id.in_(order_ids)))
        s.execute(delete(AuditEvent).where(AuditEvent.subject_type == "customers",
                                           AuditEvent.subject_id == str(customer_id)))
        s.execute(delete(CustomerUser).where(CustomerUser.customer_id == customer_id))
        s.execute(delete(CustomerAddress).where(CustomerAddress.customer_id == customer_id))
        s.execute(delete(Customer).where(Customer.id == customer_id))
        s.commit()


def place(session: Session, customer_id: int, buyer_id: int, sku: str, quantity: int,
          *, confirm: bool) -> Order:
    """An order on account of the buyer's in the shop; confirmed (and so checked for
    credit and spending limits) when `confirm`, else left waiting to be confirmed."""
    buyer = session.get(CustomerUser, buyer_id)
    customer = session.get(Customer, customer_id)
    channel = pricing.get_channel(session, "web-b2b")
    ctx = pricing.make_context(channel, customer=customer)
    variant_id = session.scalar(select(Variant.id).where(Variant.sku == sku))
    order = orders.place_order(
        session, checkout=orders.Checkout(lines=[(variant_id, quantity)], email=buyer.email,
                                          shipping_address=ADDRESS, billing_address=ADDRESS,
                                          shipping_method="standard",
                                          payment_method="on_account"),
        channel=channel, ctx=ctx, customer_id=customer_id, actor=actor_for(buyer),
        idempotency_key=f"race-{uuid.uuid4().hex}")
    if confirm:
        b2b_checkout.confirm_on_account(session, order, buyer, actor=actor_for(buyer),
                                        overdue_days=30)
    return order


def second_waits_for_first(engine, first, second) -> object:
    """Run `first(session)` and keep its transaction open; start `second(session)` in a
    thread, check that it is blocked, commit the first; the second's result (committed),
    or the error it raised."""
    result: list = []
    errors: list = []

    def run_second():
        with Session(engine) as session:
            try:
                result.append(second(session))
                session.commit()
            except Exception as err:  # noqa: BLE001 - asserted by the caller
                session.rollback()
                errors.append(err)

    with Session(engine) as session:
        first(session)
        session.flush()
        thread = threading.Thread(target=run_second)
        thread.start()
        time.sleep(0.7)
        blocked = thread.is_alive()
        session.commit()
    thread.join(timeout=30)
    assert not thread.is_alive(), "the second transaction never finished"
    assert blocked, "the second transaction did not wait for the first's lock"
    return errors[0] if errors else result[0]


@pytest.mark.parametrize("first_action", ["approve", "reject"])
def test_approve_and_reject_at_once_one_wins_the_other_is_told(engine, race_company,
                                                                 first_action):
    customer_id, ids = race_company
    with Session(engine) as s:
        order = place(s, customer_id, ids["buyer"], "PAP-A4-80", 1, confirm=True)
        assert [h.reason_code for h in order.active_holds] == ["spending_limit"]
        s.commit()
        number = order.number

    def decide(action, who):
        def run(session):
            user = session.get(CustomerUser, ids[who])
            if action == "approve":
                approvals.approve(session, user, number, overdue_days=30)
            else:
                approvals.reject(session, user, number, comment="Not now",
                                 gateway=FakeGateway())
            return "done"
        return run

    other = "reject" if first_action == "approve" else "approve"
    outcome = second_waits_for_first(engine, decide(first_action, "approver"),
                                     decide(other, "admin"))
    assert isinstance(outcome, approvals.AlreadyDecided), outcome
    assert f"Order {number} was already decided" in str(outcome)
    with Session(engine) as s:
        order = s.scalar(select(Order).where(Order.number == number))
        assert order.status == ("confirmed" if first_action == "approve" else "cancelled")
        [hold] = order.holds
        assert hold.released_by.startswith("approver.")
        decided = s.scalars(select(AuditEvent.action).where(
            AuditEvent.subject_type == "orders", AuditEvent.subject_id == str(order.id),
            AuditEvent.action.in_(["order.approved", "order.rejected"]))).all()
        assert decided == [{"approve": "order.approved", "reject": "order.rejected"}[
            first_action]]


def test_two_orders_on_account_checked_at_once_cannot_pass_the_limit_together(
        engine, race_company):
    customer_id, ids = race_company
    with Session(engine) as s:
        first = place(s, customer_id, ids["admin"], "PAP-A4-80", 2, confirm=False)
        second = place(s, customer_id, ids["admin"], "PEN-G2-BLU", 2, confirm=False)
        # Each fits alone, both together do not.
        s.get(Customer, customer_id).credit_limit = (
            max(first.gross_total, second.gross_total) + Decimal("0.01"))
        s.commit()
        ids_ = first.id, second.id

    def confirm_and_check(order_id):
        def run(session):
            order = orders.get_order(session, order_id, lock=True)
            orders.confirm_on_account(session, order, actor=CREDIT)
            hold = checks.check_order(session, order, actor=CREDIT, overdue_days=30)
            return hold.reason_code if hold else None
        return run

    outcome = second_waits_for_first(engine, confirm_and_check(ids_[0]),
                                     confirm_and_check(ids_[1]))
    assert outcome == "over_limit"
    with Session(engine) as s:
        held = [bool(s.get(Order, i).active_holds) for i in ids_]
        assert held == [False, True]
