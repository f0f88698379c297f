"""The shop's statements of account: the signed-in customer downloads their own statement
of a month (default last month; this month to date), never another customer's; a company
buyer who does not see all the company's documents gets none."""
import datetime as dt
import subprocess
from decimal import Decimal as D

import pytest

from core import clock
from core.billing import invoicing
from core.billing.invoicing import FreeTextLine
from tests.billing_support import CLERK
from tests.conftest import sign_in


def invoice_for(db, customer, amount: str, description: str):
    return invoicing.issue_free_text(db, customer=customer, actor=CLERK, terms="net30",
                                     lines=[FreeTextLine(description, 1, D(amount), D(0))])


@pytest.fixture
def shopper(db):
    from tests import factories
    customer = factories.CustomerUserFactory(email="sam@statements.example").customer
    db.flush()
    return customer


@pytest.fixture
def customer_client(client, shopper):
    from tests import factories
    assert sign_in(client, "sam@statements.example", factories.PASSWORD).status_code == 303
    return client


def pdf_text(response) -> str:
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"] == "application/pdf"
    return subprocess.run(["pdftotext", "-", "-"], input=response.data, capture_output=True,
                          check=True).stdout.decode()


def test_the_customer_downloads_this_months_statement_with_their_invoice_only(
        customer_client, db, shopper):
    from tests import factories
    mine = invoice_for(db, shopper, "75.00", "Mine")
    other = invoice_for(db, factories.CustomerUserFactory().customer, "33.00", "Theirs")
    db.commit()
    page = customer_client.get("/account/statements").get_data(as_text=True)
    month = clock.today().strftime("%Y-%m")
    assert f'href="/account/statements/{month}.pdf"' in page
    assert 'aria-label="Choose a month"' in page and '<label for="month">Month</label>' in page
    words = pdf_text(customer_client.get(f"/account/statements/{month}.pdf"))
    assert mine.number in words and "75.00" in words
    assert other.number not in words and shopper.number in words


def test_choosing_a_month_defaults_to_last_month_and_leads_to_its_pdf(customer_client):
    page = customer_client.get("/account/statements").get_data(as_text=True)
    last = (clock.today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    assert f'<option value="{last}" selected>' in page
    answer = customer_client.get(f"/account/statements?month={last}")
    assert answer.status_code in (302, 303)
    assert answer.headers["Location"].endswith(f"/account/statements/{last}.pdf")


@pytest.mark.parametrize("month", ["2026-13", "1999-12", "abcd-ef", "2999-01", "2026-1"])
def test_a_month_that_is_not_one_or_not_yet_begun_is_404(customer_client, month):
    assert customer_client.get(f"/account/statements/{month}.pdf").status_code == 404


def test_statements_need_a_signed_in_customer(client):
    month = clock.today().strftime("%Y-%m")
    for path in ("/account/statements", f"/account/statements/{month}.pdf"):
        answer = client.get(path)
        assert answer.status_code in (302, 303, 401)
        assert "sign-in" in answer.headers.get("Location", "sign-in")


def test_a_company_buyer_who_does_not_see_all_its_documents_gets_404(client, db):
    from tests import factories
    company = factories.CustomerFactory(kind="company", name="Beans Statements Ltd")
    factories.CustomerUserFactory(customer=company, email="buyer@beans-st.example")
    approver = factories.CustomerUserFactory(customer=company, email="ap@beans-st.example",
                                             role="approver")
    invoice = invoice_for(db, company, "12.00", "Beans")
    db.commit()
    month = clock.today().strftime("%Y-%m")
    assert sign_in(client, "buyer@beans-st.example", factories.PASSWORD).status_code == 303
    assert client.get("/account/statements").status_code == 404
    assert client.get(f"/account/statements/{month}.pdf").status_code == 404
    client2 = client.application.test_client()
    assert sign_in(client2, approver.email, factories.PASSWORD).status_code == 303
    assert invoice.number in pdf_text(client2.get(f"/account/statements/{month}.pdf"))


def test_the_invoices_page_links_to_the_statements(customer_client):
    assert 'href="/account/statements"' in customer_client.get("/account/invoices").get_data(
        as_text=True)
