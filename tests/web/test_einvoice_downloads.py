"""E-invoice downloads: a business customer's login downloads the Factur-X XML of its own
documents in the shop (a link on the invoice page); another customer, and a person, get
404; the console's invoice page offers the XML to billing, credit control and supervisors
only; the VAT id is edited on the console's customer form and checked at the field."""
from __future__ import annotations

import re
from decimal import Decimal as D

import facturx
import pytest
from lxml import etree
from sqlalchemy import select

from core.auth.passwords import hash_password
from core.billing import einvoice, invoicing
from core.billing.invoicing import FreeTextLine
from core.billing.models import Invoice
from core.customers.models import Customer
from tests.billing_support import CLERK
from tests.conftest import agent_client_for, csrf_token, sign_in
from tests.factories import AgentFactory

VAT_ID = "//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID"


def text(response) -> str:
    return " ".join(response.get_data(as_text=True).split())


def customer(db, name: str) -> Customer:
    return db.scalar(select(Customer).where(Customer.name == name))


def free_text(db, owner: Customer) -> Invoice:
    invoice = invoicing.issue_free_text(db, customer=owner, actor=CLERK, lines=[
        FreeTextLine("Espresso machine service", 2, D("60.00"), D("0.19"))])
    db.commit()
    return invoice


def signed_in(client, email: str):
    assert sign_in(client, email, "demo-pass-1").status_code == 303
    return client


def assert_xml_download(response, invoice: Invoice) -> etree._Element:
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="{invoice.number}.xml"'
    assert "no-store" in response.headers["Cache-Control"]
    xml = response.get_data()
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    tree = etree.fromstring(xml)
    assert tree.xpath("//rsm:ExchangedDocument/ram:ID/text()",
                      namespaces=einvoice.NS) == [invoice.number]
    return tree


# -- the shop -------------------------------------------------------------------------------

def test_a_company_admin_downloads_the_xml_of_its_invoice_from_the_invoice_page(client, db):
    invoice = free_text(db, customer(db, "Acme Corp"))
    signed_in(client, "admin@acme.example")
    page = text(client.get(f"/account/invoices/{invoice.number}"))
    link = f'href="/account/invoices/{invoice.number}.xml"'
    assert link in page and "E-invoice (XML)" in page
    tree = assert_xml_download(client.get(f"/account/invoices/{invoice.number}.xml"), invoice)
    assert tree.xpath(f"{VAT_ID}/text()", namespaces=einvoice.NS) == ["DE129753100"]


def test_the_demo_invoices_of_acme_download_as_valid_xml(client, db):
    signed_in(client, "admin@acme.example")
    acme = customer(db, "Acme Corp")
    numbers = db.scalars(select(Invoice.number).where(Invoice.customer_id == acme.id)).all()
    assert numbers
    for number in numbers:
        response = client.get(f"/account/invoices/{number}.xml")
        assert response.status_code == 200, number
        assert facturx.xml_check_xsd(response.get_data(), flavor="factur-x", level="en16931")


def test_another_companys_invoice_xml_is_404(client, db):
    invoice = free_text(db, customer(db, "Acme Corp"))
    signed_in(client, "gina@globex.example")
    assert client.get(f"/account/invoices/{invoice.number}.xml").status_code == 404
    assert client.get(f"/account/invoices/{invoice.number}").status_code == 404


def test_a_person_gets_no_xml_not_even_of_their_own_invoice(client, db):
    """XML on its own is for business customers; a person's PDF carries the same XML."""
    from tests import factories
    person = factories.CustomerUserFactory(email="pia@einvoice.example")
    invoice = free_text(db, person.customer)
    assert sign_in(client, "pia@einvoice.example", factories.PASSWORD).status_code == 303
    page = text(client.get(f"/account/invoices/{invoice.number}"))
    assert "E-invoice (XML)" not in page and ".xml" not in page
    assert client.get(f"/account/invoices/{invoice.number}.xml").status_code == 404


def test_the_xml_needs_a_signed_in_customer(client, db):
    invoice = free_text(db, customer(db, "Acme Corp"))
    response = client.get(f"/account/invoices/{invoice.number}.xml")
    assert response.status_code in (302, 303) and "/account/sign-in" in response.location


# -- the console ----------------------------------------------------------------------------

def console_as(console_app, db, roles: str):
    email = f"einvoice-{roles.replace(',', '-')}@test.example"
    AgentFactory(email=email, roles_text=roles, password_hash=hash_password("demo-pass-1"))
    db.commit()
    return agent_client_for(console_app, email)


@pytest.mark.parametrize("roles", ["billing", "credit", "agent,supervisor"])
def test_billing_credit_and_supervisors_download_the_xml_in_the_console(console_app, db, roles):
    invoice = free_text(db, customer(db, "Acme Corp"))
    console = console_as(console_app, db, roles)
    page = text(console.get(f"/billing/invoices/{invoice.number}"))
    assert f'href="/billing/invoices/{invoice.number}.xml"' in page
    assert "E-invoice (XML)" in page
    assert_xml_download(console.get(f"/billing/invoices/{invoice.number}.xml"), invoice)


@pytest.mark.parametrize("roles", ["agent", "warehouse", "catalog"])
def test_other_console_roles_are_refused_the_xml(console_app, db, roles):
    invoice = free_text(db, customer(db, "Acme Corp"))
    console = console_as(console_app, db, roles)
    assert console.get(f"/billing/invoices/{invoice.number}.xml").status_code == 403


def test_an_unknown_document_xml_is_404_in_the_console(console_app, db):
    console = console_as(console_app, db, "billing")
    assert console.get("/billing/invoices/INV-999999.xml").status_code == 404


# -- the VAT id on the console's customer form ------------------------------------------------

def form_values(page: str) -> dict[str, str]:
    """The customer form's fields as the page fills them (inputs, selected options)."""
    values = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page):
        values[name] = value
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page,
                                 re.S):
        chosen = [re.search(r'value="([^"]*)"', o).group(1)
                  for o in re.findall(r"<option[^>]*>", body) if " selected" in o]
        values[name] = chosen[0] if chosen else ""
    values.pop("create_anyway", None)
    values.pop("on_account_allowed", None)
    return values


def test_the_vat_id_is_edited_on_the_customer_form_and_checked_at_the_field(console_app, db):
    console = console_as(console_app, db, "agent,supervisor,credit")
    acme = customer(db, "Acme Corp")
    path = f"/customers/{acme.number}/edit"
    page = console.get(path).get_data(as_text=True)
    assert 'for="vat_id"' in page and 'value="DE129753100"' in page
    values = form_values(page)
    values["on_account_allowed"] = "y"

    values["vat_id"] = "DE 123456789"  # wrong check digit
    response = console.post(path, data=values)
    html = text(response)
    assert re.search(r'id="vat_id-error">Enter a valid EU VAT ID', html)
    db.expire_all()
    assert customer(db, "Acme Corp").vat_id == "DE129753100"  # nothing half-written

    values["vat_id"] = "de 271 846 320"
    response = console.post(path, data=values)
    assert response.status_code in (302, 303), text(response)[:2000]
    db.expire_all()
    assert customer(db, "Acme Corp").vat_id == "DE271846320"
    assert "<dt>VAT ID</dt><dd>DE271846320</dd>" in text(console.get(f"/customers/{acme.number}"))
    invoice = free_text(db, customer(db, "Acme Corp"))
    assert invoice.bill_to["vat_id"] == "DE271846320"


# -- the VAT id on the shop's Company page ------------------------------------------------------

def test_a_company_admin_sets_the_vat_id_on_the_company_page(client, db):
    signed_in(client, "admin@acme.example")
    page = text(client.get("/account/company"))
    assert 'for="vat_id"' in page and 'value="DE129753100"' in page
    token = csrf_token(client, "/account/company")
    refused = client.post("/account/company/vat-id", data={"csrf_token": token,
                                                           "vat_id": "DE129753101"})
    assert refused.status_code == 422
    assert re.search(r'id="vat_id-error">Enter a valid EU VAT ID', text(refused))
    assert 'value="DE129753101"' in text(refused)  # the typed value stays
    db.expire_all()
    assert customer(db, "Acme Corp").vat_id == "DE129753100"
    saved = client.post("/account/company/vat-id", data={"csrf_token": token,
                                                         "vat_id": "de271846320"})
    assert saved.status_code in (302, 303)
    db.expire_all()
    assert customer(db, "Acme Corp").vat_id == "DE271846320"
    assert "VAT ID DE271846320 saved" in text(client.get("/account/company"))


def test_a_buyer_cannot_set_the_vat_id_and_a_post_without_csrf_is_refused(client, db):
    signed_in(client, "buyer@acme.example")
    token = csrf_token(client, "/account/")
    response = client.post("/account/company/vat-id", data={"csrf_token": token,
                                                            "vat_id": "DE271846320"})
    assert response.status_code == 404
    signed_in(client, "admin@acme.example")
    assert client.post("/account/company/vat-id",
                       data={"vat_id": "DE271846320"}).status_code in (400, 422)
    db.expire_all()
    assert customer(db, "Acme Corp").vat_id == "DE129753100"
