"""Switching a customer between person and company changes the prices they buy at, so it
is decided by a supervisor or credit control, not any agent; so is creating a company
(security review L5)."""
import pytest
from sqlalchemy import select

from core.audit import AuditEvent
from core.auth.passwords import hash_password
from core.customers.models import Customer
from tests.conftest import agent_client_for
from tests.factories import AgentFactory
from tests.web.test_console_customers import ADDRESS, SHOPPER, _count, _post, _shopper

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


NEW_COMPANY = {"kind": "company", "name": "Nora New Trading", "email": "orders@noranew.example",
               "phone": "+49 30 9999 0000", "price_group": "retail", "payment_terms": "card",
               **ADDRESS, "address-company": "Nora New Trading"}


def created_events(db) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == "customer.created")))


@pytest.mark.parametrize("data", [
    NEW_COMPANY,
    # a likely duplicate of Sam Shopper, confirmed: "create anyway" decides nothing more
    {**NEW_COMPANY, "email": SHOPPER, "create_anyway": "y"}])
def test_an_agent_cannot_create_a_company(agent_client, db, data):
    customers_before, events_before = _count(db, Customer), len(created_events(db))

    response = _post(agent_client, "/customers/new", data)

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert ('id="kind-error">Only an agent with the supervisor or credit role can choose this '
            'for a new customer.' in html)
    assert 'value="Nora New Trading"' in html  # what was typed is kept
    assert _count(db, Customer) == customers_before
    assert len(created_events(db)) == events_before


def test_an_agent_still_creates_a_person(agent_client, db):
    response = _post(agent_client, "/customers/new",
                     {**NEW_COMPANY, "kind": "person", "name": "Nora New"})
    assert response.status_code == 303, response.get_data(as_text=True)
    assert db.scalar(select(Customer.kind).where(Customer.name == "Nora New")) == "person"


@pytest.mark.parametrize("roles", ["agent,supervisor", "credit"])
def test_a_supervisor_or_credit_control_creates_a_company(console_app, db, roles):
    client = client_with_roles(console_app, db, roles)

    response = _post(client, "/customers/new", NEW_COMPANY)

    assert response.status_code == 303, response.get_data(as_text=True)
    created = db.scalar(select(Customer).where(Customer.name == "Nora New Trading"))
    assert created.kind == "company"
    [event] = [e for e in created_events(db) if e.subject_id == str(created.id)]
    assert event.data["kind"] == "company"
