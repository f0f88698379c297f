"""A business customer's admin opens an invoice in the shop and downloads its e-invoice: the
XML on its own (the 'E-invoice (XML)' link) and the PDF with the same XML embedded."""
from __future__ import annotations

import re
from pathlib import Path

import facturx
from lxml import etree
from playwright.sync_api import expect

from core.billing import einvoice
from tests.e2e.conftest import assert_accessible


def test_a_company_admin_downloads_an_invoices_xml_and_its_factur_x_pdf(page):
    page.goto("/account/sign-in")
    page.get_by_label("Email").fill("admin@acme.example")
    page.get_by_label("Password").fill("demo-pass-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    page.goto("/account/invoices")
    first = page.get_by_role("link", name=re.compile(r"^INV-\d+$")).first
    number = first.inner_text()
    first.click()
    expect(page.get_by_role("heading", name=f"Invoice {number}")).to_be_visible()
    assert_accessible(page)

    with page.expect_download() as download:
        page.get_by_role("link", name="E-invoice (XML)").click()
    assert download.value.suggested_filename == f"{number}.xml"
    xml = Path(download.value.path()).read_bytes()
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    tree = etree.fromstring(xml)
    assert tree.xpath("//rsm:ExchangedDocument/ram:ID/text()", namespaces=einvoice.NS) == [number]
    assert tree.xpath("//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID/text()",
                      namespaces=einvoice.NS) == ["DE129753100"]

    pdf = page.request.get(page.get_by_role("link", name="Download PDF").get_attribute("href"))
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    filename, embedded = facturx.get_xml_from_pdf(pdf.body())
    assert filename == "factur-x.xml" and embedded == xml
