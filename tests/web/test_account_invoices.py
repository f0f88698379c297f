"""The customer's invoices in the shop: the list with the balance, one document, its PDF,
another customer's documents answering 404, guests' PDFs through the order look-up, and
the e-mail that carries the PDF."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal as D

import pytest

from core import clock
from core.billing import invoicing, receivables
from core.billing.invoicing import FreeTextLine
from core.billing.models import Invoice
from core.notifications import queue_invoice_email
from core.tasks import inline_with
from tests.billing_support import CLERK, place, ship
from tests.conftest import csrf_token
from tests.helpers import QueryCounter

TODAY = clock.today()
LONG_AGO = TODAY - dt.timedelta(days=90)


def text(response) -> str:
    return " ".join(response.get_data(as_text=True).split())


def invoice_for(db, customer, amount: str = "100.00", *, issued=TODAY, terms="net30",
                description="Espresso machine service") -> Invoice:
    return invoicing.issue_free_text(db, customer=customer, actor=CLERK, today=issued,
                                     terms=terms, lines=[FreeTextLine(description, 1, D(amount),
                                                                      D("0.19"))])


def pay(db, invoice, amount: str) -> None:
    receivables.record_payment(db, customer_id=invoice.customer_id, method="bank_transfer",
                               amount=D(amount), currency=invoice.currency, received_on=TODAY,
                               reference="SEPA", actor=CLERK,
                               allocations=[(invoice.id, D(amount))])


@pytest.fixture
def shopper(db):
    """A customer of their own (the demo's customers come with orders and invoices)."""
    from tests import factories
    return factories.CustomerUserFactory(email="ida@invoices.example").customer


@pytest.fixture
def customer_client(client, shopper):
    """The storefront client, signed in as `shopper`."""
    from tests import factories
    from tests.conftest import sign_in
    assert sign_in(client, "ida@invoices.example", factories.PASSWORD).status_code == 303
    return client


@pytest.fixture
def stranger(db):
    from tests import factories
    return factories.CustomerUserFactory().customer


# -- the list ----------------------------------------------------------------------------

def test_list_shows_open_paid_and_overdue_invoices_credit_notes_and_the_balance(
        customer_client, db, shopper):
    overdue = invoice_for(db, shopper, "50.00", issued=LONG_AGO)       # 59.50 open, overdue
    paid = invoice_for(db, shopper, "20.00")                            # 23.80 paid
    pay(db, paid, "23.80")
    credited = invoice_for(db, shopper, "10.00")                        # 11.90
    pay(db, credited, "11.90")
    note = invoicing.issue_credit_note(db, credited, lines=None, reason="Not needed",
                                       actor=CLERK)                     # 11.90 credit
    page = text(customer_client.get("/account/invoices"))
    for doc in (overdue, paid, credited, note):
        assert f'href="/account/invoices/{doc.number}"' in page
    assert "Open</dt><dd>59.50 EUR" in page
    assert 'Overdue</dt><dd><strong class="error">59.50 EUR</strong>' in page
    assert "Credit available</dt><dd>11.90 EUR" in page
    row = re.search(rf"<tr> <td><a href=\"/account/invoices/{overdue.number}\">.*?</tr>", page)
    assert "59.50 EUR" in row.group(0) and "Overdue" in row.group(0)
    row = re.search(rf"<tr> <td><a href=\"/account/invoices/{paid.number}\">.*?</tr>", page)
    assert "Paid" in row.group(0) and "Overdue" not in row.group(0) and "/pay" not in row.group(0)
    row = re.search(rf"<tr> <td><a href=\"/account/invoices/{note.number}\">.*?</tr>", page)
    assert "(credit note)" in row.group(0) and "Credit available" in row.group(0)


def test_list_shows_only_the_signed_in_customers_documents(customer_client, db, stranger):
    other = invoice_for(db, stranger)
    page = text(customer_client.get("/account/invoices"))
    assert other.number not in page
    assert "You have no invoices yet." in page


def test_list_pages_twenty_documents_at_a_time_newest_first(customer_client, db, shopper):
    docs = [invoice_for(db, shopper, issued=LONG_AGO + dt.timedelta(days=i)) for i in range(23)]
    first = text(customer_client.get("/account/invoices"))
    assert docs[-1].number in first and docs[3].number in first and docs[2].number not in first
    assert "page 1 of 2" in first and 'rel="next"' in first
    second = text(customer_client.get("/account/invoices?page=2"))
    assert all(d.number in second for d in docs[:3]) and docs[3].number not in second


def test_list_runs_the_same_number_of_queries_for_one_invoice_or_twenty(customer_client, db,
                                                                       shopper, connection):
    invoice_for(db, shopper, issued=LONG_AGO)
    customer_client.get("/account/invoices")  # warm up
    with QueryCounter(connection) as one:
        assert customer_client.get("/account/invoices").status_code == 200
    for i in range(19):
        invoice_for(db, shopper, issued=LONG_AGO)
    with QueryCounter(connection) as many:
        assert customer_client.get("/account/invoices").status_code == 200
    assert many.count == one.count


def test_invoices_need_a_signed_in_customer(client):
    response = client.get("/account/invoices")
    assert response.status_code in (302, 303) and "/account/sign-in" in response.location


def test_account_overview_links_to_the_invoices(customer_client):
    assert 'href="/account/invoices"' in text(customer_client.get("/account/"))


# -- one document ------------------------------------------------------------------------

def test_detail_shows_lines_tax_summary_totals_and_terms(customer_client, db, shopper):
    invoice = invoice_for(db, shopper, "100.00")
    pay(db, invoice, "19.00")
    page = text(customer_client.get(f"/account/invoices/{invoice.number}"))
    assert f"<h1>Invoice {invoice.number}</h1>" in page
    assert "Espresso machine service" in page
    assert "<tr><td>19 %</td><td>100.00 EUR</td><td>19.00 EUR</td></tr>" in page
    assert "Total</dt><dd><strong>119.00 EUR</strong>" in page
    assert "Amount paid</dt><dd>19.00 EUR" in page
    assert "Amount open</dt><dd><strong>100.00 EUR</strong>" in page
    assert "Partly paid" in page
    assert f'href="/account/invoices/{invoice.number}.pdf"' in page


def test_pdf_downloads_inline_with_its_file_name(customer_client, db, shopper):
    invoice = invoice_for(db, shopper)
    response = customer_client.get(f"/account/invoices/{invoice.number}.pdf")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == f'inline; filename="{invoice.number}.pdf"'
    assert response.data.startswith(b"%PDF")


@pytest.mark.parametrize("suffix", ["", ".pdf", "/pay"])
def test_other_customers_invoice_returns_404(customer_client, db, stranger, suffix):
    other = invoice_for(db, stranger)
    assert customer_client.get(f"/account/invoices/{other.number}{suffix}").status_code == 404


def test_unknown_invoice_returns_404(customer_client):
    assert customer_client.get("/account/invoices/INV-999999").status_code == 404


def test_an_approver_of_a_company_sees_the_companys_invoices_and_a_buyer_does_not(client, db):
    """Review finding L9: the company's documents are its approvers' and admins'; a buyer
    sees those of the orders they placed (a free-text invoice has none)."""
    from tests import factories
    from tests.conftest import csrf_token, sign_in
    company = factories.CustomerFactory(kind="company", name="Beans Ltd")
    invoice = invoice_for(db, company)
    approver = factories.CustomerUserFactory(customer=company, email="b2@beans.example",
                                             role="approver")
    factories.CustomerUserFactory(customer=company, email="b3@beans.example")
    assert sign_in(client, approver.email, factories.PASSWORD).status_code == 303
    assert client.get(f"/account/invoices/{invoice.number}").status_code == 200
    assert invoice.number in client.get("/account/invoices").get_data(as_text=True)
    client.post("/account/sign-out", data={"csrf_token": csrf_token(client, "/account/")})
    assert sign_in(client, "b3@beans.example", factories.PASSWORD).status_code == 303
    assert client.get(f"/account/invoices/{invoice.number}").status_code == 404
    assert client.get(f"/account/invoices/{invoice.number}.pdf").status_code == 404
    assert invoice.number not in client.get("/account/invoices").get_data(as_text=True)


# -- on the order page -------------------------------------------------------------------

def shipped_invoice(db, customer=None, *, key):
    order = place(db, [("PAP-A4-80", 2)], key=key, customer=customer)
    invoice = invoicing.invoice_shipment(db, ship(db, order, {"PAP-A4-80": 2}), actor=CLERK)
    return order, invoice


def test_owners_order_page_links_to_its_invoices(customer_client, db, shopper):
    order, invoice = shipped_invoice(db, shopper, key="owner-order")
    page = text(customer_client.get(f"/account/orders/{order.number}"))
    assert f'href="/account/invoices/{invoice.number}"' in page
    assert f'href="/account/invoices/{invoice.number}.pdf"' in page


def guest_lookup(client, order):
    token = csrf_token(client, "/orders/lookup")
    return client.post("/orders/lookup", data={"number": order.number, "email": order.email,
                                               "postcode": "10115", "csrf_token": token})


def test_guest_sees_the_orders_invoices_and_gets_each_pdf_by_the_lookup_rules(client, db):
    order, invoice = shipped_invoice(db, key="guest-order")
    page = text(guest_lookup(client, order))
    assert f"Invoice {invoice.number}" in page
    assert 'action="/orders/lookup/invoice.pdf"' in page
    token = csrf_token(client, "/orders/lookup")
    response = client.post("/orders/lookup/invoice.pdf", data={
        "order": order.number, "email": order.email.upper(), "postcode": "10115",
        "invoice": invoice.number, "csrf_token": token})
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert response.headers["Content-Type"] == "application/pdf"


def test_guest_pdf_needs_the_orders_email_and_an_invoice_of_that_order(client, db, shopper):
    order, invoice = shipped_invoice(db, key="guest-order-2")
    _, elsewhere = shipped_invoice(db, shopper, key="someone-elses")
    token = csrf_token(client, "/orders/lookup")
    wrong_email = client.post("/orders/lookup/invoice.pdf", data={
        "order": order.number, "email": "not-me@example.com", "postcode": "10115",
        "invoice": invoice.number, "csrf_token": token})
    assert wrong_email.status_code == 404
    other_invoice = client.post("/orders/lookup/invoice.pdf", data={
        "order": order.number, "email": order.email, "postcode": "10115",
        "invoice": elsewhere.number, "csrf_token": token})
    assert other_invoice.status_code == 404


def test_guest_pdf_needs_the_postcode_and_a_guest_order(client, db, shopper):
    order, invoice = shipped_invoice(db, key="guest-order-4")
    customers_order, customers_invoice = shipped_invoice(db, shopper, key="customers-order")
    page = text(guest_lookup(client, order))
    assert '<input type="hidden" name="postcode" value="10115">' in page
    token = csrf_token(client, "/orders/lookup")
    wrong_postcode = client.post("/orders/lookup/invoice.pdf", data={
        "order": order.number, "email": order.email, "postcode": "99999",
        "invoice": invoice.number, "csrf_token": token})
    assert wrong_postcode.status_code == 404
    registered = client.post("/orders/lookup/invoice.pdf", data={
        "order": customers_order.number, "email": customers_order.email, "postcode": "10115",
        "invoice": customers_invoice.number, "csrf_token": token})
    assert registered.status_code == 404 and not registered.data.startswith(b"%PDF")


def test_guest_pdf_refuses_a_post_without_csrf_token(client, db):
    order, invoice = shipped_invoice(db, key="guest-order-3")
    response = client.post("/orders/lookup/invoice.pdf", data={
        "order": order.number, "email": order.email, "postcode": "10115",
        "invoice": invoice.number})
    assert response.status_code in (400, 404) and not response.data.startswith(b"%PDF")


# -- the e-mail --------------------------------------------------------------------------

def test_invoice_email_carries_the_pdf_and_is_sent_once(smtp_sink, db, shopper, session_factory):
    invoice = invoice_for(db, shopper, "100.00")
    db.commit()
    with inline_with(session_factory):  # the task reads the test's data
        queue_invoice_email(invoice.id)
    message = smtp_sink.wait_for(invoice.email)
    assert message["Subject"].startswith(f"Invoice {invoice.number} from ")
    body = message.get_body(("plain",)).get_content()
    assert "Total: 119.00 EUR" in body and f"/account/invoices/{invoice.number}" in body
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"{invoice.number}.pdf"
    assert attachment.get_content().startswith(b"%PDF")
    db.refresh(invoice)
    assert invoice.emailed_at is not None
    with inline_with(session_factory):
        queue_invoice_email(invoice.id)  # a redelivered task sends nothing
    assert len([m for m in smtp_sink.messages if invoice.number in m["Subject"]]) == 1


def test_queueing_an_invoice_email_never_raises(monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("broker down")
    monkeypatch.setattr("core.notifications.send_invoice_email.delay", broken)
    queue_invoice_email(1)


# -- paying by card (localstripe) --------------------------------------------------------

ACME_BUYER = "buyer@pay.example"


@pytest.fixture
def acme(db):
    """A company that buys on account (net 30), with no credit to use up its invoices."""
    from tests import factories
    company = factories.CustomerFactory(kind="company", name="Pay Corp", payment_terms="net30",
                                        on_account_allowed=True)
    # An approver: a company's approvers and admins pay its invoices (core.customers.roles).
    factories.CustomerUserFactory(customer=company, email=ACME_BUYER, role="approver")
    return company


@pytest.fixture
def acme_client(acme, settings, session_factory, localstripe):
    """The shop talking to localstripe, signed in as Acme's buyer."""
    import dataclasses
    from storefront import create_app
    from tests import factories
    from tests.conftest import sign_in
    app = create_app(dataclasses.replace(settings, STRIPE_API_BASE=localstripe),
                     session_factory=session_factory)
    app.config.update(TESTING=True)
    client = app.test_client()
    assert sign_in(client, ACME_BUYER, factories.PASSWORD).status_code == 303
    return client


def on_account_invoice(db, acme, key):
    order = place(db, [("PAP-A4-80", 4)], key=key, customer=acme, channel_code="web-b2b",
                  payment_method="on_account")
    invoice = invoicing.invoice_shipment(db, ship(db, order, {"PAP-A4-80": 4}), actor=CLERK)
    db.commit()
    return invoice


def card(localstripe, number):
    import stripe
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": localstripe})
    return client.v1.payment_methods.create({"type": "card", "card": {
        "number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"}}).id


def post_pay(client, invoice, payment_method):
    token = csrf_token(client, f"/account/invoices/{invoice.number}/pay")
    return client.post(f"/account/invoices/{invoice.number}/pay",
                       data={"payment_method": payment_method},
                       headers={"X-CSRFToken": token, "Accept": "application/json"})


def test_pay_page_offers_the_card_form_for_an_open_order_invoice(acme_client, db, acme):
    invoice = on_account_invoice(db, acme, "pay-page")
    page = text(acme_client.get(f"/account/invoices/{invoice.number}"))
    assert f'href="/account/invoices/{invoice.number}/pay"' in page
    pay = f"/account/invoices/{invoice.number}/pay"
    page = text(acme_client.get(pay))
    # The card form's SetupIntent is made when the form is used, not for the view (M3).
    assert 'id="card-element"' in page and f'data-setup-url="{pay}/card-setup"' in page
    assert "seti_" not in page
    assert f"Pay {invoice.amount_open:,.2f} EUR</button>" in page
    setup = acme_client.post(f"{pay}/card-setup", headers={
        "X-CSRFToken": csrf_token(acme_client, pay), "Accept": "application/json"})
    assert setup.status_code == 200 and setup.json["client_secret"].startswith("seti_")


def test_paying_an_open_invoice_by_card_settles_it(acme_client, db, acme, localstripe):
    invoice = on_account_invoice(db, acme, "pay-ok")
    response = post_pay(acme_client, invoice, card(localstripe, "4242424242424242"))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json == {"status": "confirmed",
                             "redirect": f"/account/invoices/{invoice.number}?paid=1"}
    db.refresh(invoice)
    assert (invoice.status, invoice.amount_open) == ("paid", D(0))
    page = text(acme_client.get(f"/account/invoices/{invoice.number}?paid=1"))
    assert f"Thank you: {invoice.number} is paid." in page


def test_a_declined_card_leaves_the_invoice_open(acme_client, db, acme, localstripe):
    invoice = on_account_invoice(db, acme, "pay-declined")
    response = post_pay(acme_client, invoice, card(localstripe, "4000000000000341"))
    assert response.status_code == 402 and response.json["status"] == "declined"
    db.refresh(invoice)
    assert invoice.status == "open" and invoice.amount_open == invoice.gross_total


def test_paying_needs_a_card_and_a_payable_invoice(acme_client, db, acme):
    invoice = on_account_invoice(db, acme, "pay-nothing")
    response = post_pay(acme_client, invoice, "")
    assert response.status_code == 422 and response.json["errors"] == {
        "card": "Enter your card details."}
    free = invoice_for(db, acme)  # no order: bank transfer only
    db.commit()
    assert f"/account/invoices/{free.number}/pay" not in text(
        acme_client.get(f"/account/invoices/{free.number}"))
    response = post_pay(acme_client, free, "pm_card_visa")
    assert response.status_code == 422 and response.json["status"] == "declined"


def test_paying_another_customers_invoice_returns_404(customer_client, db, acme):
    invoice = on_account_invoice(db, acme, "pay-other")
    token = csrf_token(customer_client, "/account/invoices")
    for path in (f"/account/invoices/{invoice.number}/pay",
                 f"/account/invoices/{invoice.number}/pay/complete"):
        response = customer_client.post(path, data={"payment_method": "pm_x"},
                                        headers={"X-CSRFToken": token})
        assert response.status_code == 404
