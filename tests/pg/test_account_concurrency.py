"""One password-reset link posted by several requests at once: exactly one sets a password.

Committed data (threads need their own connections); removed afterwards.
"""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.audit import AuditEvent
from core.auth.models import LoginSession
from core.customers import services
from core.customers.errors import InvalidResetLink
from core.customers.models import Customer, CustomerUser, PasswordReset
from tests.helpers import run_threads

THREADS = 6


@pytest.fixture
def reset_link(engine):
    """(e-mail, reset token) of a new committed customer login."""
    email = f"rena.{uuid.uuid4().hex[:8]}@example.com"
    with Session(engine) as s:
        user = services.register_customer(s, email=email, full_name="Rena Reset",
                                          password="first-pass-123")
        s.commit()
        user_id, customer_id = user.id, user.customer_id
        _, token = services.request_password_reset(s, email)
        s.commit()
    yield email, token
    with Session(engine) as s:
        s.execute(delete(PasswordReset).where(PasswordReset.user_id == user_id))
        s.execute(delete(LoginSession).where(LoginSession.user_id == user_id,
                                             LoginSession.realm == "customer"))
        s.execute(delete(AuditEvent).where(AuditEvent.subject_type == "customers",
                                           AuditEvent.subject_id == str(customer_id)))
        s.execute(delete(CustomerUser).where(CustomerUser.id == user_id))
        s.execute(delete(Customer).where(Customer.id == customer_id))
        s.commit()


def test_simultaneous_posts_of_one_reset_link_set_exactly_one_password(engine, reset_link):
    email, token = reset_link

    def post(i: int) -> str:
        with Session(engine) as session:
            try:
                services.reset_password(session, token=token, new_password=f"racer-{i}-pass")
            except InvalidResetLink:
                session.rollback()
                return "refused"
            session.commit()
            return f"racer-{i}-pass"

    results = run_threads(THREADS, post)
    winners = [r for r in results if r != "refused"]
    assert len(winners) == 1, results
    with Session(engine) as s:
        user = services.authenticate(s, email=email, password=winners[0], remote_addr=None,
                                     limit=100)
        assert user.email == email
        assert s.scalar(select(PasswordReset.used_at).where(PasswordReset.user_id == user.id))
