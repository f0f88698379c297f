"""Printed invoices and credit notes: what the HTML document says (number, parties, lines,
tax summary per rate, totals, terms), that the PDF is a PDF saying the same, and that
rendering never reaches the network."""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from core.billing import documents, invoicing, queries, receivables
from core.billing.invoicing import FreeTextLine
from core.config import load_settings
from core.customers.models import Customer
from tests.billing_support import CLERK, place, ship

TODAY = dt.date(2026, 11, 25)
SELLER = documents.Seller.from_settings(load_settings(
    environ={}, SELLER_NAME="Kaffee & Co <Handel> GmbH",
    SELLER_ADDRESS="Hafenstraße 12; 20457 Hamburg; Germany", SELLER_VAT_ID="DE811111111"))


@pytest.fixture
def acme(db):
    return db.scalar(select(Customer).where(Customer.name == "Acme Corp"))


def free_text(db, customer, *, terms=None, lines=None):
    """3 x 120.00 at 19 % and 1 x 15.50 at 7 %, net prices: net 375.50, VAT 69.49."""
    return invoicing.issue_free_text(db, customer=customer, actor=CLERK, today=TODAY, terms=terms,
                                     lines=lines or [
                                         FreeTextLine("Installation of the print server", 3,
                                                      D("120.00"), D("0.19")),
                                         FreeTextLine("Delivery fee", 1, D("15.50"), D("0.07"),
                                                      kind="fee")])


def squash(html: str) -> str:
    return " ".join(html.split())


def test_invoice_html_shows_number_parties_lines_tax_summary_totals_and_terms(db, acme):
    invoice = free_text(db, acme)
    html = squash(documents.invoice_html(invoice, seller=SELLER))
    assert f"<title>Invoice {invoice.number}</title>" in html
    # seller (escaped), VAT id, the customer's number and name
    assert "Kaffee &amp; Co &lt;Handel&gt; GmbH" in html and "<Handel>" not in html
    assert "VAT ID DE811111111" in html
    assert acme.number in html and "Acme Corp" in html
    assert "Issue date</th><td>25 Nov 2026" in html
    assert "Due date</th><td>25 Dec 2026" in html
    # lines: description, quantity, unit price, net, rate, amount
    assert ("<td>Installation of the print server</td> <td class=\"num\">3</td> "
            "<td class=\"num\">120.00 EUR</td> <td class=\"num\">360.00 EUR</td> "
            "<td class=\"num\">19 %</td> <td class=\"num\">428.40 EUR</td>") in html
    # the tax summary: one row per rate
    assert ("<tr><td>7 %</td><td class=\"num\">15.50 EUR</td>"
            "<td class=\"num\">1.09 EUR</td></tr>") in html
    assert ("<tr><td>19 %</td><td class=\"num\">360.00 EUR</td>"
            "<td class=\"num\">68.40 EUR</td></tr>") in html
    assert "Net total</th><td>375.50 EUR" in html
    assert "VAT</th><td>69.49 EUR" in html
    assert "Total</th><td>444.99 EUR" in html
    assert "Amount paid</th><td>0.00 EUR" in html
    assert "Amount open</th><td>444.99 EUR" in html
    assert "Terms: Net 30 days." in html
    assert "Payable without deduction within 30 days, by 25 Dec 2026." in html
    assert "Unit prices exclude VAT." in html


def test_cash_discount_terms_name_the_discount_its_date_and_the_net_date(db, acme):
    invoice = free_text(db, acme, terms="2-10-net30")
    html = squash(documents.invoice_html(invoice, seller=SELLER))
    # 2 % of 444.99 = 8.8998 -> 8.90
    assert ("2 % cash discount (8.90 EUR) if paid by 05 Dec 2026: pay 436.09 EUR; "
            "net 444.99 EUR by 25 Dec 2026.") in html


def test_partly_paid_invoice_shows_paid_and_open_amounts(db, acme):
    invoice = free_text(db, acme)
    receivables.record_payment(db, customer_id=acme.id, method="bank_transfer",
                               amount=D("100.00"), currency="EUR", received_on=TODAY,
                               reference="SEPA 1", actor=CLERK, allocations=[(invoice.id,
                                                                              D("100.00"))])
    html = squash(documents.invoice_html(invoice, seller=SELLER))
    assert "Amount paid</th><td>100.00 EUR" in html
    assert "Amount open</th><td>344.99 EUR" in html


def test_an_invoice_paid_in_part_and_credited_in_part_shows_each(db, acme):
    invoice = free_text(db, acme)
    receivables.record_payment(db, customer_id=acme.id, method="bank_transfer",
                               amount=D("100.00"), currency="EUR", received_on=TODAY,
                               reference="SEPA 1", actor=CLERK, allocations=[(invoice.id,
                                                                              D("100.00"))])
    fee = next(line for line in invoice.lines if line.description == "Delivery fee")
    invoicing.issue_credit_note(db, invoice, lines={fee.id: 1}, reason="No delivery",
                                actor=CLERK, today=TODAY)                # 15.50 + 1.09
    html = squash(documents.invoice_html(invoice, seller=SELLER))
    assert "Amount paid</th><td>100.00 EUR" in html
    assert "Credited</th><td>16.59 EUR" in html
    assert "Amount open</th><td>328.40 EUR" in html


def test_shipment_invoice_names_the_order_and_po_number_and_the_discount(db):
    order = place(db, [("PAP-A4-80", 3)], key="doc-order")
    order.po_number = "PO-4711"
    invoice = invoicing.invoice_shipment(db, ship(db, order, {"PAP-A4-80": 3}), actor=CLERK,
                                         today=TODAY)
    html = squash(documents.invoice_html(invoice, seller=SELLER))
    assert f"Order number</th><td>{order.number}" in html
    assert "Your PO number</th><td>PO-4711" in html
    assert "<td class=\"sku\">PAP-A4-80</td>" in html
    assert "Ola Order" in html and "10115 Berlin" in html and "Germany" in html
    assert "Unit prices include VAT." in html
    # a card order's invoice is paid by the capture; until then it asks for the card
    assert "Payable by card on receipt." in html or "Paid in full." in html


def test_credit_note_names_the_invoice_it_credits_and_the_reason(db, acme):
    invoice = free_text(db, acme)
    note = invoicing.issue_credit_note(db, invoice, lines=None, reason="Installation cancelled",
                                       actor=CLERK, today=TODAY)
    html = squash(documents.invoice_html(note, seller=SELLER))
    assert f"<title>Credit note {note.number}</title>" in html
    assert f"Credit note for {invoice.number}" in html
    assert "Reason: Installation cancelled" in html
    assert "Total credit</th><td>444.99 EUR" in html
    # nothing was paid: all of it settled the invoice
    assert "Set against invoices</th><td>444.99 EUR" in html
    assert "Credit remaining</th><td>0.00 EUR" in html
    assert "This credit note is settled in full." in html
    assert "Due date" not in html


def test_text_from_the_database_is_escaped(db, acme):
    invoice = free_text(db, acme, lines=[FreeTextLine("<img src=http://evil.example/x>", 1,
                                                      D("10.00"), D("0.19"))])
    html = documents.invoice_html(invoice, seller=SELLER)
    assert "<img" not in html and "&lt;img src=http://evil.example/x&gt;" in html


def test_footer_text_in_css_cannot_break_out_of_the_style_element():
    seller = documents.Seller('Evil"; } </style><script>x</script>', ("a",), "V")
    css = documents._css_string(" · ".join([seller.name, *seller.address]))
    assert '"' not in str(css)[1:-1] and "<" not in css and "}" not in css


def test_invoice_pdf_is_a_pdf_that_shows_the_number_and_total(db, acme, tmp_path):
    invoice = free_text(db, acme)
    pdf = documents.invoice_pdf(invoice, seller=SELLER)
    assert pdf.startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert invoice.number in text
    assert "444.99 EUR" in text
    assert "Installation of the print server" in text


def test_the_pdf_renderer_fetches_nothing_from_the_network():
    import weasyprint
    fetcher = documents._local_fetcher(weasyprint)
    for url in ("http://example.com/logo.png", "https://fonts.example/x.woff2",
                "ftp://example.com/x", "file:///etc/passwd"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain,ok").read() == b"ok"


def test_a_document_with_a_remote_image_renders_without_fetching_it(monkeypatch):
    import urllib.request
    import weasyprint
    reached = []
    monkeypatch.setattr(urllib.request.OpenerDirector, "open",
                        lambda self, *a, **k: reached.append(a) or 1 / 0)
    html = weasyprint.HTML(string='<img src="http://127.0.0.1:9/x.png"><p>Hi</p>',
                           url_fetcher=documents._local_fetcher(weasyprint))
    assert html.write_pdf().startswith(b"%PDF")
    assert reached == []


def test_overdue_only_when_money_is_open_after_the_due_date(db, acme):
    invoice = free_text(db, acme)
    assert not queries.is_overdue(invoice, invoice.due_date)
    assert queries.is_overdue(invoice, invoice.due_date + dt.timedelta(days=1))
    note = invoicing.issue_credit_note(db, invoice, lines=None, reason="x", actor=CLERK,
                                       today=TODAY)
    assert invoice.amount_open == 0
    assert not queries.is_overdue(invoice, invoice.due_date + dt.timedelta(days=1))
    assert not queries.is_overdue(note, note.due_date + dt.timedelta(days=99))
