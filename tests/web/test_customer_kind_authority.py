"""Switching a customer between person and company changes the prices they buy at, so it
is decided by a supervisor or credit control, not any agent (security review L5)."""
import pytest
from sqlalchemy import select

from core.audit import AuditEvent
from core.auth.passwords import hash_password
from core.customers.models import Customer
from tests.conftest import agent_client_for
from tests.factories import AgentFactory
from tests.web.test_console_customers import SHOPPER, _post, _shopper

PROFILE = {"name": "Sam Shopper", "email": SHOPPER, "phone": "+49 30 1234 5678",
           "price_group": "retail", "payment_terms": "card",
           "address-full_name": "Sam Shopper", "address-line1": "Invalidenstraße 12",
           "address-postal_code": "10115", "address-city": "Berlin", "address-country": "DE"}


def client_with_roles(console_app, db, roles: str):
    email = f"kind-{roles.replace(',', '-')}@test.example"
    AgentFactory(email=email, roles_text=roles, password_hash=hash_password("demo-pass-1"))
    db.commit()
    return agent_client_for(console_app, email)


def updated_events(db, customer: Customer) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == "customer.updated",
                                                    AuditEvent.subject_id == str(customer.id))))


def test_an_agent_cannot_switch_a_person_to_a_company(agent_client, db):
    shopper = _shopper(db)
    response = _post(agent_client, f"/customers/{shopper.number}/edit",
                     {**PROFILE, "kind": "company", "name": "Sam Shopper Trading"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert ('id="kind-error">Only an agent with the supervisor or credit role can change this.'
            in html)
    assert 'value="Sam Shopper Trading"' in html  # what was typed is kept
    db.expire_all()
    shopper = _shopper(db)
    assert (shopper.kind, shopper.name) == ("person", "Sam Shopper")
    assert updated_events(db, shopper) == []


@pytest.mark.parametrize("roles", ["agent,supervisor", "credit"])
def test_a_supervisor_or_credit_control_switches_a_person_to_a_company(console_app, db, roles):
    client = client_with_roles(console_app, db, roles)
    shopper = _shopper(db)
    response = _post(client, f"/customers/{shopper.number}/edit", {**PROFILE, "kind": "company"})
    assert response.status_code == 303, response.get_data(as_text=True)
    db.expire_all()
    shopper = _shopper(db)
    assert shopper.kind == "company"
    [event] = updated_events(db, shopper)
    assert event.data["changes"]["kind"] == ["person", "company"]


def test_an_agent_still_edits_the_rest_of_a_customer(agent_client, db):
    shopper = _shopper(db)
    response = _post(agent_client, f"/customers/{shopper.number}/edit",
                     {**PROFILE, "kind": "person", "phone": "+49 30 1234 9999"})
    assert response.status_code == 303, response.get_data(as_text=True)
    db.expire_all()
    assert _shopper(db).phone == "+49 30 1234 9999"
