"""Two admins of a company demoting (or deactivating) each other at the same moment: one
wins, the other is told the company needs an admin, and one active admin is left. One
invitation link posted twice at once sets one password.

Committed data (threads need their own connections); removed afterwards.
"""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.audit import AuditEvent
from core.auth.models import LoginSession
from core.customers import company
from core.customers.models import BuyerInvitation, Customer, CustomerUser
from core.numbering import next_number
from tests.factories import _PASSWORD_HASH
from tests.helpers import run_threads


@pytest.fixture
def two_admins(engine):
    """(customer id, [admin ids]) of a new committed company with two admins."""
    tag = uuid.uuid4().hex[:8]
    with Session(engine) as s:
        customer = Customer(number=next_number(s, "customer"), kind="company",
                            name=f"Race {tag}", email=f"office.{tag}@race.example")
        s.add(customer)
        admins = [CustomerUser(customer=customer, email=f"admin{i}.{tag}@race.example",
                               full_name=f"Admin {i}", password_hash=_PASSWORD_HASH,
                               role="admin") for i in range(2)]
        s.add_all(admins)
        s.commit()
        customer_id, ids = customer.id, [a.id for a in admins]
    yield customer_id, ids
    with Session(engine) as s:
        users = list(s.scalars(select(CustomerUser.id).where(
            CustomerUser.customer_id == customer_id)))
        s.execute(delete(BuyerInvitation).where(BuyerInvitation.user_id.in_(users)))
        s.execute(delete(LoginSession).where(LoginSession.user_id.in_(users),
                                             LoginSession.realm == "customer"))
        s.execute(delete(AuditEvent).where(AuditEvent.subject_type == "customers",
                                           AuditEvent.subject_id == str(customer_id)))
        s.execute(delete(CustomerUser).where(CustomerUser.customer_id == customer_id))
        s.execute(delete(Customer).where(Customer.id == customer_id))
        s.commit()


@pytest.mark.parametrize("how", ["demote", "deactivate"])
def test_two_admins_taking_each_other_out_at_once_leave_one_admin(engine, two_admins, how):
    customer_id, ids = two_admins

    def act(i: int) -> str:
        with Session(engine) as session:
            customer = session.get(Customer, customer_id)
            me = session.get(CustomerUser, ids[i])
            other = ids[1 - i]
            try:
                if how == "demote":
                    company.change_role(session, customer, other, "buyer", actor=me)
                else:
                    company.deactivate_buyer(session, customer, other, actor=me)
            except (company.LastAdmin, company.NotAllowed):
                session.rollback()
                return "refused"
            session.commit()
            return "done"

    results = run_threads(2, act)
    assert sorted(results) == ["done", "refused"], results
    with Session(engine) as s:
        admins = s.scalars(select(CustomerUser).where(
            CustomerUser.customer_id == customer_id, CustomerUser.role == "admin",
            CustomerUser.active.is_(True))).all()
        assert len(admins) == 1


def test_one_invitation_link_posted_twice_at_once_sets_one_password(engine, two_admins):
    customer_id, ids = two_admins
    with Session(engine) as s:
        token = company.invite_buyer(s, s.get(Customer, customer_id), email=f"new.{uuid.uuid4().hex[:6]}@race.example",
                                     full_name="Nia New", role="buyer",
                                     actor=s.get(CustomerUser, ids[0]))
        s.commit()

    def accept(i: int) -> str:
        with Session(engine) as session:
            try:
                company.accept_invitation(session, token, f"racer-{i}-meadow")
            except company.InvalidInvitation:
                session.rollback()
                return "refused"
            session.commit()
            return "accepted"

    assert sorted(run_threads(4, accept)) == ["accepted", "refused", "refused", "refused"]
