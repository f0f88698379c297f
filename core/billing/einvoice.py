"""E-invoices: an invoice or credit note as Cross Industry Invoice XML (UN/CEFACT CII D16B,
EN 16931 profile of Factur-X / ZUGFeRD), the XML that core.billing.documents embeds in the
PDF/A-3 of every invoice and credit note, and that B2B customers may download on its own.

What the XML says is what the printed document says, from the stored document alone:
  - every line net (after its discount), whatever the document's price mode: the line's
    stored `net` is its LineTotalAmount, a discount becomes a line allowance, and the net
    unit price is (net + allowance) / quantity to four decimals;
  - the tax breakdown is the document's InvoiceTax rows (tax rounded per line, as the
    pricing engine does; EN 16931 allows the sum to differ from basis x rate by under one
    currency unit, BR-S-09), so BR-CO-10 (sum of line nets = LineTotalAmount) and BR-CO-15
    (GrandTotal = TaxBasisTotal + TaxTotal) hold to the cent;
  - 0 % lines: dunning fees and interest are compensation for late payment, outside the
    scope of VAT, but category "O" forbids VAT ids and any other category on the same
    document (BR-O-*), so they are "E" (exempt) with the reason said; other 0 % lines
    are "Z" (zero rated);
  - a negative line (a restocking fee kept on a credit note) has a negative quantity and
    a positive price (BR-27: no negative net price);
  - the XML of an issued document never changes: an invoice's paid amount (BT-113,
    TotalPrepaidAmount) is what was paid AT ISSUE (paid_at_issue: a prepayment or card
    capture the issuing transaction applied), its DuePayableAmount the rest; whatever
    settles it later (payments, write-offs, cash discounts, credit notes) is not in it.
    A credit note's DuePayableAmount is its total.
No Flask here, and no network: the checks (xml_check_xsd) use the schemas the factur-x
package ships.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import object_session

from core.billing import queries
from core.billing.invoicing import TERMS
from core.billing.models import Allocation, Invoice, InvoiceLine, Payment
from core.customers.addresses import COUNTRIES
from core.customers.models import Customer, CustomerAddress
from core.errors import NotFound
from core.money import minor_units
from core.orders.models import Order

PROFILE = "urn:cen.eu:en16931:2017"
FLAVOR, LEVEL = "factur-x", "en16931"
XML_FILENAME = "factur-x.xml"  # the name Factur-X gives the embedded file

NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
      "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
      "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"}
INVOICE, CREDIT_NOTE = "380", "381"
SEPA_CREDIT_TRANSFER, BANK_CARD = "58", "48"
OUT_OF_SCOPE_KINDS = ("dunning_fee", "interest")
EXEMPTION_REASON = "Not subject to VAT: compensation for late payment (dunning fee, interest)"
ZERO = Decimal(0)
PRICE_PLACES = Decimal("0.0001")
# How long after `issued_at` the issuing transaction may still apply credit to the invoice
# (core.billing.receivables.apply_credit stamps those allocations a moment after issue).
ISSUE_WINDOW = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Party:
    name: str
    line1: str = ""
    line2: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = ""
    vat_id: str = ""
    id: str = ""
    email: str = ""


@dataclass(frozen=True)
class BankAccount:
    iban: str = ""
    bic: str = ""


def parse_bank(text: str) -> BankAccount:
    """'IBAN DE89 3704 0044 0532 0130 00 · BIC COBADEFFXXX' -> the IBAN and BIC, spaces gone."""
    iban = re.search(r"IBAN[:\s]*([A-Z]{2}\d{2}[A-Z0-9 ]{10,40}?)\s*(?:[·,;|/]|BIC|$)",
                     text or "", re.I)
    bic = re.search(r"BIC[:\s]*([A-Z0-9]{8}(?:[A-Z0-9]{3})?)\b", text or "", re.I)
    return BankAccount(re.sub(r"\s", "", iban.group(1)).upper() if iban else "",
                       bic.group(1).upper() if bic else "")


def _country_code(text: str) -> str:
    text = text.strip()
    if len(text) == 2 and text.isalpha():
        return text.upper()
    by_name = {name.lower(): code for code, name in COUNTRIES.items()}
    return by_name.get(text.lower(), "")


def seller_party(seller) -> Party:
    """The seller from core.billing.documents.Seller: 'street; postcode city; country'."""
    lines = list(seller.address)
    country = _country_code(lines[-1]) if lines else ""
    if country:
        lines = lines[:-1]
    postal_code = city = ""
    if lines and (m := re.fullmatch(r"([A-Z]{0,2}-?\d[\dA-Z -]{2,9}?)\s+(.+)", lines[-1])):
        postal_code, city = m.group(1), m.group(2)
        lines = lines[:-1]
    return Party(name=seller.name, line1=lines[0] if lines else "",
                 line2=", ".join(lines[1:]), postal_code=postal_code, city=city,
                 country=country or "DE", vat_id=seller.vat_id)


def buyer_party(invoice: Invoice, customer_number: str | None = None) -> Party:
    """The buyer as billed: the document's bill-to snapshot (its VAT id snapshotted at
    issue); a document without an address in it (a free-text invoice) takes the customer's
    billing address."""
    bill_to = dict(invoice.bill_to or {})
    if not bill_to.get("country"):
        bill_to = {**_customer_address(invoice), **{k: v for k, v in bill_to.items() if v}}
    name = (bill_to.get("company") or bill_to.get("full_name") or bill_to.get("name")
            or invoice.email or "Customer")
    return Party(name=name, line1=bill_to.get("line1", ""), line2=bill_to.get("line2", ""),
                 postal_code=bill_to.get("postal_code", ""), city=bill_to.get("city", ""),
                 country=(bill_to.get("country") or "").upper(),
                 vat_id=bill_to.get("vat_id", ""), id=customer_number or "",
                 email=invoice.email or "")


def _customer_address(invoice: Invoice) -> dict:
    session = object_session(invoice)
    if session is None or invoice.customer_id is None:
        return {}
    address = session.scalar(
        select(CustomerAddress).where(CustomerAddress.customer_id == invoice.customer_id)
        .order_by(CustomerAddress.default_billing.desc(), CustomerAddress.id).limit(1))
    found = address.as_dict() if address else {}
    customer = session.get(Customer, invoice.customer_id)
    if customer is not None and customer.is_company:
        found["company"] = customer.name
    return found


def category(line: InvoiceLine) -> str:
    """The line's VAT category code (UNTDID 5305) under EN 16931."""
    if line.tax_rate:
        return "S"
    return "E" if line.kind in OUT_OF_SCOPE_KINDS else "Z"


@dataclass(frozen=True)
class TaxGroup:
    category: str
    rate: Decimal
    basis: Decimal
    tax: Decimal


def tax_breakdown(invoice: Invoice) -> list[TaxGroup]:
    """One group per category and rate: the stored InvoiceTax rows for the taxed rates, the
    lines' nets for 0 % (split by category: zero rated or exempt)."""
    groups = [TaxGroup("S", t.rate, t.net, t.tax) for t in invoice.tax_lines if t.rate]
    zero: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for line in invoice.lines:
        if not line.tax_rate:
            zero[category(line)] += line.net
    return groups + [TaxGroup(code, ZERO, basis, ZERO) for code, basis in sorted(zero.items())]


# -- building the XML -----------------------------------------------------------------------

def _q(tag: str) -> str:
    prefix, name = tag.split(":")
    return f"{{{NS[prefix]}}}{name}"


def _el(parent, tag: str, text=None, **attrs):
    node = etree.SubElement(parent, _q(tag), {k: str(v) for k, v in attrs.items()})
    if text is not None:
        node.text = str(text)
    return node


class _Amounts:
    """Amounts as text in the currency's minor unit ('12.30' for EUR)."""

    def __init__(self, currency: str):
        self.places = Decimal(1).scaleb(-minor_units(currency))

    def __call__(self, value: Decimal) -> str:
        return str(Decimal(value).quantize(self.places, ROUND_HALF_UP))


def _date(parent, tag: str, day: dt.date, kind: str = "udt") -> None:
    _el(_el(parent, tag), f"{kind}:DateTimeString", day.strftime("%Y%m%d"), format="102")


def _percent(rate: Decimal) -> str:
    return str((Decimal(rate) * 100).quantize(Decimal("0.01"), ROUND_HALF_UP))


def line_allowance(invoice: Invoice, line: InvoiceLine) -> Decimal:
    """The line's discount as a net amount (a gross discount less the tax in it)."""
    if not line.discount:
        return ZERO
    if invoice.prices_include_tax:
        amount = Decimal(line.discount) / (1 + Decimal(line.tax_rate))
        return amount.quantize(Decimal(1).scaleb(-minor_units(invoice.currency)), ROUND_HALF_UP)
    return Decimal(line.discount)


def net_unit_price(invoice: Invoice, line: InvoiceLine) -> Decimal:
    """The net price of one unit before the line's discount, to four decimals, never
    negative (a negative line has a negative quantity instead)."""
    quantity = abs(line.quantity) or 1
    return (abs(Decimal(line.net) + line_allowance(invoice, line) * _sign(line)) / quantity
            ).quantize(PRICE_PLACES, ROUND_HALF_UP)


def _sign(line: InvoiceLine) -> int:
    return -1 if line.net < 0 else 1


def _party(parent, tag: str, party: Party) -> None:
    node = _el(parent, tag)
    if party.id:
        _el(node, "ram:ID", party.id)
    _el(node, "ram:Name", party.name)
    address = _el(node, "ram:PostalTradeAddress")
    if party.postal_code:
        _el(address, "ram:PostcodeCode", party.postal_code)
    if party.line1:
        _el(address, "ram:LineOne", party.line1)
    if party.line2:
        _el(address, "ram:LineTwo", party.line2)
    if party.city:
        _el(address, "ram:CityName", party.city)
    _el(address, "ram:CountryID", party.country or "DE")
    if party.email:
        _el(_el(node, "ram:URIUniversalCommunication"), "ram:URIID", party.email, schemeID="EM")
    if party.vat_id:
        _el(_el(node, "ram:SpecifiedTaxRegistration"), "ram:ID", party.vat_id, schemeID="VA")


def _line(parent, invoice: Invoice, line: InvoiceLine, number: int, money: _Amounts) -> None:
    item = _el(parent, "ram:IncludedSupplyChainTradeLineItem")
    _el(_el(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", number)
    product = _el(item, "ram:SpecifiedTradeProduct")
    if line.sku:
        _el(product, "ram:SellerAssignedID", line.sku)
    _el(product, "ram:Name", line.description or line.kind)
    agreement = _el(item, "ram:SpecifiedLineTradeAgreement")
    _el(_el(agreement, "ram:NetPriceProductTradePrice"), "ram:ChargeAmount",
        net_unit_price(invoice, line))
    _el(_el(item, "ram:SpecifiedLineTradeDelivery"), "ram:BilledQuantity",
        abs(line.quantity) * _sign(line), unitCode="H87" if line.kind == "goods" else "C62")
    settlement = _el(item, "ram:SpecifiedLineTradeSettlement")
    tax = _el(settlement, "ram:ApplicableTradeTax")
    _el(tax, "ram:TypeCode", "VAT")
    _el(tax, "ram:CategoryCode", category(line))
    _el(tax, "ram:RateApplicablePercent", _percent(line.tax_rate))
    if allowance := line_allowance(invoice, line):
        charge = _el(settlement, "ram:SpecifiedTradeAllowanceCharge")
        _el(_el(charge, "ram:ChargeIndicator"), "udt:Indicator", "false")
        _el(charge, "ram:ActualAmount", money(allowance))
        _el(charge, "ram:ReasonCode", "95")
        _el(charge, "ram:Reason", "Discount")
    _el(_el(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation"),
        "ram:LineTotalAmount", money(line.net))


def _terms_text(invoice: Invoice) -> str:
    """The payment terms as printed, stable over the document's life; a cash discount is
    also given in the machine-readable '#SKONTO#' line German receivers read."""
    if invoice.is_credit_note:
        return "Credit: set against your next invoices, or refunded to you on request."
    terms = TERMS.get(invoice.terms)
    if terms is None:
        return f"Due by {invoice.due_date.isoformat()}."
    text = terms.describe(invoice.issue_date)
    if invoice.cash_discount_percent and invoice.cash_discount_until:
        days = (invoice.cash_discount_until - invoice.issue_date).days
        text += (f"\n#SKONTO#TAGE={days}#PROZENT="
                 f"{Decimal(invoice.cash_discount_percent).quantize(Decimal('0.01'))}#\n")
    return text


def build(invoice: Invoice, *, seller, view: queries.InvoiceView | None = None,
          credited: Invoice | None = None) -> etree._Element:
    """The document's CII tree. `view` (queries.describe) gives the order, PO and customer
    numbers; `credited` is the invoice a credit note credits (looked up when not given)."""
    view = view or _view(invoice)
    if invoice.is_credit_note and credited is None and invoice.credited_invoice_id:
        session = object_session(invoice)
        credited = session.get(Invoice, invoice.credited_invoice_id) if session else None
    money = _Amounts(invoice.currency)
    root = etree.Element(_q("rsm:CrossIndustryInvoice"), nsmap=NS)
    context = _el(root, "rsm:ExchangedDocumentContext")
    _el(_el(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", PROFILE)
    document = _el(root, "rsm:ExchangedDocument")
    _el(document, "ram:ID", invoice.number)
    _el(document, "ram:TypeCode", CREDIT_NOTE if invoice.is_credit_note else INVOICE)
    _date(document, "ram:IssueDateTime", invoice.issue_date)
    for note in (f"Reason: {invoice.reason}" if invoice.reason else "", invoice.memo):
        if note:
            _el(_el(document, "ram:IncludedNote"), "ram:Content", note)
    transaction = _el(root, "rsm:SupplyChainTradeTransaction")
    for number, line in enumerate(invoice.lines, start=1):
        _line(transaction, invoice, line, number, money)
    _agreement(transaction, invoice, seller, view)
    _delivery(transaction, invoice)
    _settlement(transaction, invoice, seller, money, credited)
    return root


def _agreement(transaction, invoice: Invoice, seller, view: queries.InvoiceView) -> None:
    agreement = _el(transaction, "ram:ApplicableHeaderTradeAgreement")
    _party(agreement, "ram:SellerTradeParty", seller_party(seller))
    _party(agreement, "ram:BuyerTradeParty", buyer_party(invoice, view.customer_number))
    if view.order_number:
        _el(_el(agreement, "ram:SellerOrderReferencedDocument"), "ram:IssuerAssignedID",
            view.order_number)
    if view.po_number:
        _el(_el(agreement, "ram:BuyerOrderReferencedDocument"), "ram:IssuerAssignedID",
            view.po_number)


def _delivery(transaction, invoice: Invoice) -> None:
    """Where the goods went (the order's shipping address), else when the service was
    supplied: on the document's date, as the printed copy implies."""
    delivery = _el(transaction, "ram:ApplicableHeaderTradeDelivery")
    session = object_session(invoice)
    order = session.get(Order, invoice.order_id) if session and invoice.order_id else None
    address = (order.shipping_address or {}) if order is not None else {}
    if address.get("country"):
        _party(delivery, "ram:ShipToTradeParty", Party(
            name=address.get("company") or address.get("full_name") or "Recipient",
            line1=address.get("line1", ""), line2=address.get("line2", ""),
            postal_code=address.get("postal_code", ""), city=address.get("city", ""),
            country=address["country"].upper()))
    else:
        _date(_el(delivery, "ram:ActualDeliverySupplyChainEvent"), "ram:OccurrenceDateTime",
              invoice.issue_date)


def _settlement(transaction, invoice: Invoice, seller, money: _Amounts,
                credited: Invoice | None) -> None:
    settlement = _el(transaction, "ram:ApplicableHeaderTradeSettlement")
    _el(settlement, "ram:PaymentReference", invoice.number)
    _el(settlement, "ram:InvoiceCurrencyCode", invoice.currency)
    if not invoice.is_credit_note:
        _payment_means(settlement, invoice, seller)
    for group in tax_breakdown(invoice):
        tax = _el(settlement, "ram:ApplicableTradeTax")
        _el(tax, "ram:CalculatedAmount", money(group.tax))
        _el(tax, "ram:TypeCode", "VAT")
        if group.category == "E":
            _el(tax, "ram:ExemptionReason", EXEMPTION_REASON)
        _el(tax, "ram:BasisAmount", money(group.basis))
        _el(tax, "ram:CategoryCode", group.category)
        _el(tax, "ram:RateApplicablePercent", _percent(group.rate))
    terms = _el(settlement, "ram:SpecifiedTradePaymentTerms")
    _el(terms, "ram:Description", _terms_text(invoice))
    if not invoice.is_credit_note:
        _date(terms, "ram:DueDateDateTime", invoice.due_date)
    _totals(settlement, invoice, money)
    if credited is not None:
        reference = _el(settlement, "ram:InvoiceReferencedDocument")
        _el(reference, "ram:IssuerAssignedID", credited.number)
        _date(reference, "ram:FormattedIssueDateTime", credited.issue_date, kind="qdt")


def _payment_means(settlement, invoice: Invoice, seller) -> None:
    bank = parse_bank(seller.bank)
    means = _el(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
    if invoice.payment_method == "card" or not bank.iban:
        _el(means, "ram:TypeCode", BANK_CARD if invoice.payment_method == "card" else "1")
        return
    _el(means, "ram:TypeCode", SEPA_CREDIT_TRANSFER)
    _el(_el(means, "ram:PayeePartyCreditorFinancialAccount"), "ram:IBANID", bank.iban)
    if bank.bic:
        _el(_el(means, "ram:PayeeSpecifiedCreditorFinancialInstitution"), "ram:BICID", bank.bic)


def paid_at_issue(invoice: Invoice) -> Decimal:
    """What was paid on the invoice when it was issued: its allocations of kind payment made
    by the issuing transaction, i.e. money received at or before issue (a prepayment, a card
    capture, customer credit: Payment.recorded_at <= issued_at) applied at issue (the
    allocation at or within ISSUE_WINDOW after issued_at). Money received later, and
    write-offs, cash discounts and credit notes whenever they came, are not "paid" here, so
    the XML reads the same for the document's whole life.

    A document not in a database (built in memory, about to be issued) has no history: what
    it was given as settled (gross_total - amount_open) is what was paid at issue."""
    if invoice.is_credit_note:
        return ZERO
    session = object_session(invoice)
    if session is None or invoice.id is None:
        return Decimal(invoice.gross_total) - Decimal(invoice.amount_open)
    issued = invoice.issued_at
    paid = session.scalar(
        select(func.coalesce(func.sum(Allocation.amount), 0))
        .join(Payment, Payment.id == Allocation.payment_id)
        .where(Allocation.invoice_id == invoice.id, Allocation.kind == "payment",
               Payment.recorded_at <= issued, Allocation.at <= issued + ISSUE_WINDOW))
    return Decimal(paid or 0)


def _totals(settlement, invoice: Invoice, money: _Amounts) -> None:
    lines = sum((Decimal(l.net) for l in invoice.lines), ZERO)
    tax = sum((g.tax for g in tax_breakdown(invoice)), ZERO)
    grand = lines + tax
    paid = paid_at_issue(invoice)
    due = grand - paid
    totals = _el(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _el(totals, "ram:LineTotalAmount", money(lines))
    _el(totals, "ram:TaxBasisTotalAmount", money(lines))
    _el(totals, "ram:TaxTotalAmount", money(tax), currencyID=invoice.currency)
    _el(totals, "ram:GrandTotalAmount", money(grand))
    if paid:
        _el(totals, "ram:TotalPrepaidAmount", money(paid))
    _el(totals, "ram:DuePayableAmount", money(due))


def _view(invoice: Invoice) -> queries.InvoiceView:
    session = object_session(invoice)
    if session is None or invoice.id is None:
        return queries.InvoiceView(invoice)
    return queries.describe(session, invoice)


def invoice_xml(invoice: Invoice, *, seller, view: queries.InvoiceView | None = None,
                credited: Invoice | None = None) -> bytes:
    """The document as Factur-X (EN 16931) XML, UTF-8 with its declaration."""
    return etree.tostring(build(invoice, seller=seller, view=view, credited=credited),
                          xml_declaration=True, encoding="UTF-8", pretty_print=True)


def xml_filename(invoice: Invoice) -> str:
    return f"{invoice.number}.xml"


def check(xml: bytes) -> None:
    """Raise when the XML does not pass the Factur-X EN 16931 schema (offline)."""
    import facturx
    facturx.xml_check_xsd(xml, flavor=FLAVOR, level=LEVEL)


def embed(pdf: bytes, xml: bytes, *, title: str, author: str, subject: str) -> bytes:
    """A PDF/A-3 (WeasyPrint's pdf/a-3b) with the XML embedded as Factur-X EN 16931, the
    schema checked on the way."""
    import facturx
    return facturx.generate_from_binary(
        pdf, xml, flavor=FLAVOR, level=LEVEL, check_xsd=True, lang="en",
        pdf_metadata={"author": author, "keywords": "Factur-X, e-invoice",
                      "title": title, "subject": subject})


# -- downloads ------------------------------------------------------------------------------

def offered_to(viewer) -> bool:
    """Whether the shop offers the XML on its own: to business customers' logins (a person's
    invoice is the PDF; the same XML is inside it)."""
    customer = getattr(viewer, "customer", None)
    return bool(customer is not None and customer.is_company)


def customer_einvoice(session, viewer, number: str) -> Invoice:
    """A document the shop login sees (core.billing.queries.customer_invoice) whose XML it
    may download; NotFound otherwise, for persons too."""
    invoice = queries.customer_invoice(session, viewer, number)
    if not offered_to(viewer):
        raise NotFound(queries.NOT_FOUND)
    return invoice
