"""The shop's authorisation matrix for company accounts (issue 13, review finding L9).

Acme Corp has a buyer (Bea), an approver (Abe) and an admin (Ada); Globex GmbH an admin
(Gina). Each company has orders placed by its logins, shipped and invoiced, and a return.

- a login of one company sees nothing of another's orders, invoices, returns or addresses;
- a buyer sees and acts on what they placed only; approvers and admins see the company's;
- only approvers and admins pay invoices;
- only admins reach the Company page, invite, change roles and limits, deactivate, and edit
  the address book; an approver cannot change roles.

Every refusal is a 404, as for a document that does not exist.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from core.billing import invoicing
from core.customers.models import Customer, CustomerAddress, CustomerUser
from core.db import utcnow
from core.demo import DEMO_PASSWORD
from core.returns import services as returns
from core.returns.services import Request, RequestLine
from tests.billing_support import CLERK, place, ship
from tests.conftest import csrf_token, sign_in

BEA, ABE, ADA, GINA = ("buyer@acme.example", "approver@acme.example", "admin@acme.example",
                       "gina@globex.example")


def login(db, email) -> CustomerUser:
    return db.scalar(select(CustomerUser).where(CustomerUser.email == email))


def placed_by(db, email: str, key: str, settings):
    """A shipped, invoiced order of `email`'s company placed in the shop by that login, with
    a return asked for; (order number, invoice number, return number)."""
    user = login(db, email)
    order = place(db, [("PAP-A4-80", 2)], key=key, customer=user.customer,
                  channel_code="web-b2b", payment_method="on_account")
    order.placed_by_kind, order.placed_by_id = "customer", user.id
    shipment = ship(db, order, {"PAP-A4-80": 2})
    shipment.shipped_at = utcnow() - dt.timedelta(days=1)
    invoice = invoicing.invoice_shipment(db, shipment, actor=CLERK)
    order.status = "shipped"
    db.flush()
    rma = returns.request_return(
        db, order, Request([RequestLine(order.lines[0].id, 1, "defective")]), actor=CLERK,
        channel="shop", key=f"rma-{key}", settings=settings)
    db.commit()
    return order.number, invoice.number, rma.number


@pytest.fixture
def world(db, settings):
    docs = {who: placed_by(db, who, f"authz-{who}", settings) for who in (BEA, ABE, GINA)}
    globex_address = db.scalar(select(CustomerAddress.id).join(Customer)
                               .where(Customer.name == "Globex GmbH"))
    acme_address = db.scalar(select(CustomerAddress.id).join(Customer)
                             .where(Customer.name == "Acme Corp"))
    return {"docs": docs, "globex_address": globex_address, "acme_address": acme_address}


@pytest.fixture
def as_(shop_app):
    def make(email):
        client = shop_app.test_client()
        assert sign_in(client, email, DEMO_PASSWORD).status_code == 303
        return client
    return make


def document_pages(order: str, invoice: str, rma: str) -> list[str]:
    return [f"/account/orders/{order}", f"/account/orders/{order}/cancel",
            f"/account/orders/{order}/return", f"/account/invoices/{invoice}",
            f"/account/invoices/{invoice}.pdf", f"/account/returns/{rma}"]


def status(client, path: str) -> int:
    return client.get(path).status_code


def reaches(client, path: str) -> bool:
    """The page answers (a shipped order's cancel page sends back to the order with why)."""
    return status(client, path) in (200, 303)


def post(client, path: str, data=None) -> int:
    token = csrf_token(client, "/account/")
    return client.post(path, data={**(data or {}), "csrf_token": token}).status_code


# -- across companies ---------------------------------------------------------------------------

@pytest.mark.parametrize("who", [BEA, ABE, ADA])
def test_no_login_of_acme_sees_anything_of_globex(world, as_, who):
    client = as_(who)
    order, invoice, rma = world["docs"][GINA]
    for path in document_pages(order, invoice, rma):
        assert status(client, path) == 404, path
    for path in ("/account/orders", "/account/invoices", "/account/returns", "/account/",
                 "/account/addresses"):
        html = client.get(path).get_data(as_text=True)
        assert order not in html and invoice not in html and rma not in html, path
        assert "Großer Grasbrook 9" not in html, path
    address = world["globex_address"]
    assert status(client, f"/account/addresses/{address}/edit") == 404
    assert post(client, f"/account/addresses/{address}/delete") == 404
    assert post(client, f"/account/addresses/{address}/bill-to") == 404
    gina = as_(GINA)  # Globex's own admin still sees and keeps them
    assert reaches(gina, f"/account/orders/{order}")
    assert status(gina, f"/account/addresses/{address}/edit") == 200


def test_globex_admin_cannot_manage_acmes_buyers(world, db, as_):
    gina = as_(GINA)
    bea = login(db, BEA)
    assert status(gina, f"/account/company/buyers/{bea.id}") == 404
    assert post(gina, f"/account/company/buyers/{bea.id}", {"role": "admin"}) == 404
    assert post(gina, f"/account/company/buyers/{bea.id}/deactivate") == 404
    assert login(db, BEA).role == "buyer" and login(db, BEA).active
    assert "Bea Buyer" not in gina.get("/account/company").get_data(as_text=True)


# -- inside a company: buyers and approvers ------------------------------------------------------

def test_a_buyer_sees_only_their_own_documents_and_an_approver_all_of_the_company(world, as_):
    mine, colleagues = world["docs"][BEA], world["docs"][ABE]
    bea, abe = as_(BEA), as_(ABE)
    for path in document_pages(*mine):
        assert reaches(bea, path) and reaches(abe, path), path
    for path in document_pages(*colleagues):
        assert status(bea, path) == 404, path
        assert reaches(abe, path), path
    listed = bea.get("/account/orders").get_data(as_text=True)
    assert mine[0] in listed and colleagues[0] not in listed
    listed = abe.get("/account/orders").get_data(as_text=True)
    assert mine[0] in listed and colleagues[0] in listed
    invoices = bea.get("/account/invoices").get_data(as_text=True)
    assert mine[1] in invoices and colleagues[1] not in invoices and "Balance" not in invoices
    assert "Balance" in abe.get("/account/invoices").get_data(as_text=True)
    assert colleagues[2] not in bea.get("/account/returns").get_data(as_text=True)
    assert colleagues[2] in abe.get("/account/returns").get_data(as_text=True)


def test_a_buyer_cannot_cancel_a_colleagues_order(world, as_, db):
    from core.orders.models import Order
    number = world["docs"][ABE][0]
    assert post(as_(BEA), f"/account/orders/{number}/cancel") == 404
    assert db.scalar(select(Order.status).where(Order.number == number)) == "shipped"


def test_only_approvers_and_admins_pay_invoices(world, as_):
    _, invoice, _ = world["docs"][BEA]
    bea = as_(BEA)
    assert status(bea, f"/account/invoices/{invoice}/pay") == 404
    assert post(bea, f"/account/invoices/{invoice}/pay", {"payment_method": "pm_card_visa"}) == 404
    assert "Pay " not in bea.get(f"/account/invoices/{invoice}").get_data(as_text=True)
    for who in (ABE, ADA):
        assert status(as_(who), f"/account/invoices/{invoice}/pay") == 200


# -- the Company page and the address book -------------------------------------------------------

@pytest.mark.parametrize("who", [BEA, ABE])
def test_buyers_and_approvers_cannot_reach_the_company_page_or_change_roles(world, db, as_, who):
    client = as_(who)
    bea = login(db, BEA)
    assert status(client, "/account/company") == 404
    assert 'href="/account/company"' not in client.get("/account/").get_data(as_text=True)
    assert status(client, f"/account/company/buyers/{bea.id}") == 404
    assert post(client, f"/account/company/buyers/{bea.id}",
                {"role": "admin", "order_limit": "", "monthly_limit": ""}) == 404
    assert post(client, "/account/company/invite",
                {"full_name": "Eve", "email": "eve@acme.example", "role": "admin"}) == 404
    for action in ("deactivate", "reactivate", "resend"):
        assert post(client, f"/account/company/buyers/{bea.id}/{action}") == 404
    bea = login(db, BEA)
    db.refresh(bea)
    assert bea.role == "buyer" and bea.active and login(db, "eve@acme.example") is None
    acme_address = world["acme_address"]
    assert status(client, "/account/addresses") == 200
    assert status(client, "/account/addresses/new") == 404
    assert status(client, f"/account/addresses/{acme_address}/edit") == 404
    assert post(client, f"/account/addresses/{acme_address}/bill-to") == 404


def test_the_admin_reaches_everything_of_the_company(world, db, as_):
    ada = as_(ADA)
    bea = login(db, BEA)
    for path in ("/account/company", f"/account/company/buyers/{bea.id}", "/account/addresses",
                 "/account/addresses/new", f"/account/addresses/{world['acme_address']}/edit"):
        assert status(ada, path) == 200, path
    for path in document_pages(*world["docs"][BEA]) + document_pages(*world["docs"][ABE]):
        assert reaches(ada, path), path


def test_signed_out_the_company_pages_ask_to_sign_in(client, world):
    for path in ("/account/company", "/account/addresses", "/account/profile",
                 "/account/email"):
        response = client.get(path)
        assert response.status_code == 302 and "/account/sign-in" in response.headers["Location"]
