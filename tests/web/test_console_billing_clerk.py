"""The billing clerk's day (UX review 2026-12, job 3): a payment allocated to nothing is
asked about once while invoices are open, the flash says what a payment settled, "Record a
payment" from an invoice's page, the open amounts by age above the invoice list (each a
filter), and the way from an overdue invoice to the customer's collections page."""
import datetime as dt
import functools
import re
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from core import clock
from core.billing import accounts, invoicing
from core.billing.models import Allocation, Invoice, JournalEntry, Payment
from tests.billing_support import CLERK
from tests.factories import CustomerFactory
from tests.helpers import QueryCounter
from tests.web.test_console_billing import (  # noqa: F401 (fixtures)
    acme, billing_client, count, free_text, mails, pay, post, text)


def today_minus(days: int) -> dt.date:
    return clock.today() - dt.timedelta(days=days)


def payment_data(customer, amount: str, allocations: dict, **more) -> dict:
    return {"customer": customer.number, "method": "bank_transfer", "amount": amount,
            "received_on": clock.today().isoformat(), "reference": "SEPA 0815",
            **{f"alloc-{invoice.id}": value for invoice, value in allocations.items()}, **more}


def flash_of(client, response) -> str:
    """The success message on the page the post redirected to."""
    html = text(client.get(response.headers["Location"]))
    match = re.search(r'class="flash[^"]*success[^"]*"[^>]*>\s*([^<]*)<', html)
    assert match, "no success message"
    return " ".join(match.group(1).split())


# -- nothing allocated: ask once -------------------------------------------------------------

def test_a_payment_allocated_to_nothing_is_asked_about_and_writes_nothing_until_confirmed(
        billing_client, db, acme):
    a, b = free_text(db, acme, "100.00"), free_text(db, acme, "50.25")
    before = count(db, Payment), count(db, JournalEntry), count(db, Allocation)
    data = payment_data(acme, "264.54", {a: "0", b: "0.00"}, key="ask-1")
    html = text(post(billing_client, "/billing/payments/new", data,
                     token_from="/billing/payments/new"))
    assert ("Nothing of 264.54 EUR is allocated, and Billing Buyer GmbH has 2 open invoices "
            "totalling 150.25 EUR. Record it all as customer credit?") in html
    assert re.search(r'<button type="submit" name="confirm_credit" value="1">'
                     r'Record as customer credit</button>', html)
    # everything typed is kept
    assert re.search(r'name="amount"[^>]*value="264.54"', html)
    assert re.search(r'name="reference"[^>]*value="SEPA 0815"', html)
    assert re.search(rf'name="alloc-{a.id}"[^>]*\s+value="0"', html)
    assert re.search(rf'name="alloc-{b.id}"[^>]*\s+value="0.00"', html)
    assert (count(db, Payment), count(db, JournalEntry), count(db, Allocation)) == before

    response = post(billing_client, "/billing/payments/new", {**data, "confirm_credit": "1"},
                    token_from="/billing/payments/new")
    assert response.status_code == 303, text(response)
    payment = db.scalar(select(Payment).where(Payment.key == "ask-1"))
    assert (payment.amount, payment.amount_unallocated) == (D("264.54"), D("264.54"))
    assert count(db, JournalEntry) == before[1] + 1
    db.refresh(a)
    assert a.amount_open == D("100.00")
    assert flash_of(billing_client, response) == \
        "264.54 EUR recorded; all of it is customer credit."


def test_a_payment_to_a_customer_without_open_invoices_is_recorded_without_a_question(
        billing_client, db, acme):
    paid = free_text(db, acme, "30.00")
    pay(db, acme, paid, "30.00")
    response = post(billing_client, "/billing/payments/new",
                    payment_data(acme, "25.00", {}, key="no-question"),
                    token_from="/billing/payments/new")
    assert response.status_code == 303, text(response)
    assert db.scalar(select(Payment.amount_unallocated).where(Payment.key == "no-question")) \
        == D("25.00")


def test_a_partly_allocated_payment_is_recorded_without_a_question_and_says_what_it_settled(
        billing_client, db, acme):
    first = free_text(db, acme, "151.73", today=today_minus(20))
    second = free_text(db, acme, "200.00", today=today_minus(10))
    untouched = free_text(db, acme, "80.00")
    response = post(billing_client, "/billing/payments/new", payment_data(
        acme, "264.54", {first: "151.73", second: "112.81", untouched: "0"}),
        token_from="/billing/payments/new")
    assert response.status_code == 303, text(response)
    assert flash_of(billing_client, response) == (
        f"264.54 EUR recorded: {first.number} paid, {second.number} part-paid "
        "(112.81 EUR paid, 87.19 EUR still open); nothing is left as customer credit.")


def test_the_flash_names_the_customer_credit_left_over(billing_client, db, acme):
    invoice = free_text(db, acme, "40.00")
    response = post(billing_client, "/billing/payments/new",
                    payment_data(acme, "50.00", {invoice: "40.00"}),
                    token_from="/billing/payments/new")
    assert flash_of(billing_client, response) == \
        f"50.00 EUR recorded: {invoice.number} paid; 10.00 EUR is customer credit."


# -- "Record a payment" from the invoice page ---------------------------------------------------

def test_an_open_invoice_offers_record_a_payment_with_itself_allocated_first(
        billing_client, db, acme):
    older = free_text(db, acme, "70.00", today=today_minus(30))
    invoice = free_text(db, acme, "125.50")
    pay(db, acme, invoice, "25.50")  # 100.00 left open
    html = text(billing_client.get(f"/billing/invoices/{invoice.number}"))
    link = f"/billing/payments/new?customer={acme.number}&amp;first={invoice.number}"
    assert f'<a class="button" href="{link}">Record a payment for this invoice</a>' in html

    html = text(billing_client.get(link.replace("&amp;", "&")))
    assert re.search(r'name="amount"[^>]*value="100"', html)  # as the write-off form shows it
    assert re.search(rf'name="first"[^>]*value="{invoice.number}"', html)
    rows = re.findall(r'name="alloc-(\d+)"[^>]*\s+value="([^"]*)"', html)
    assert rows == [(str(invoice.id), "100.00"), (str(older.id), "0.00")]
    # with an amount typed, this invoice still comes first
    html = text(billing_client.get(f"/billing/payments/new?customer={acme.number}"
                                   f"&first={invoice.number}&amount=120",
                                   headers={"HX-Request": "true"}))
    rows = re.findall(r'name="alloc-(\d+)"[^>]*\s+value="([^"]*)"', html)
    assert rows == [(str(invoice.id), "100.00"), (str(older.id), "20.00")]


def test_a_paid_invoice_and_a_credit_note_offer_no_payment(billing_client, db, acme):
    paid, cancelled = free_text(db, acme, "20.00"), free_text(db, acme, "30.00")
    pay(db, acme, paid, "20.00")
    note = invoicing.cancel_invoice(db, cancelled, reason="mistake", actor=CLERK)
    db.commit()
    for number in (paid.number, cancelled.number, note.number):
        html = text(billing_client.get(f"/billing/invoices/{number}"))
        assert "first=" not in html, number


# -- collections from an overdue invoice ------------------------------------------------------

def test_an_overdue_invoice_links_to_the_customers_collections_page(billing_client, db, acme):
    overdue = free_text(db, acme, "60.00", today=today_minus(45))
    fresh = free_text(db, acme, "60.00")
    link = f'href="/collections/{acme.number}"'
    html = text(billing_client.get(f"/billing/invoices/{overdue.number}"))
    assert link in html and '<span class="badge badge-overdue">Overdue</span>' in html
    assert billing_client.get(f"/collections/{acme.number}").status_code == 200
    assert link not in text(billing_client.get(f"/billing/invoices/{fresh.number}"))


# -- the invoice list: open amounts by age ------------------------------------------------------

def aged_invoices(db, customer) -> dict[str, Invoice]:
    """One invoice per ageing bucket (net 30: due 30 days after issue)."""
    return {"current": free_text(db, customer, "10.00", today=today_minus(5)),
            "d1_30": free_text(db, customer, "20.00", today=today_minus(40)),
            "d31_60": free_text(db, customer, "30.00", today=today_minus(80)),
            "d61_90": free_text(db, customer, "40.00", today=today_minus(110)),
            "over_90": free_text(db, customer, "50.00", today=today_minus(200))}


def summary_of(html: str) -> str:
    start = html.index('<section class="ageing-summary"')
    return html[start:html.index("</section>", start)]


def numbers(html: str) -> set[str]:
    results = html[html.index('<div id="results"'):] if '<div id="results"' in html else html
    results = results[results.find("</section>") + 1:] if "ageing-summary" in results else results
    return set(re.findall(r'href="/billing/invoices/(INV-\d+)"', results))


def test_the_invoice_list_shows_open_amounts_by_age_and_each_filters_the_list(
        billing_client, db, acme):
    invoices = aged_invoices(db, acme)
    pay(db, acme, invoices["d31_60"], "12.50")  # 17.50 left open
    html = text(billing_client.get(f"/billing/invoices?status=open&customer={acme.number}"))
    summary = summary_of(html)
    assert "<h2" in summary and "Open amounts by age" in summary
    assert "<strong>137.50 EUR</strong>" in summary
    for label in ("Not yet due", "1–30 days overdue", "31–60 days overdue",
                  "61–90 days overdue", "Over 90 days overdue"):
        assert f'<th scope="col" class="num">{label}</th>' in summary
    links = dict((key, amount) for key, amount in re.findall(
        r'href="/billing/invoices\?[^"]*age=(\w+)[^"]*"[^>]*>([^<]+)</a>', summary))
    assert links == {"current": "10.00 EUR", "d1_30": "20.00 EUR", "d31_60": "17.50 EUR",
                     "d61_90": "40.00 EUR", "over_90": "50.00 EUR"}
    for key, invoice in invoices.items():
        page = text(billing_client.get(
            f"/billing/invoices?status=open&customer={acme.number}&age={key}"))
        assert numbers(page) == {invoice.number}, key
        assert 'aria-current="true"' in summary_of(page)
        assert "Show every age" in page
    # the age filter with "all documents" still lists only what is open in that bucket
    pay(db, acme, invoices["over_90"], "50.00")
    page = text(billing_client.get(f"/billing/invoices?status=all&customer={acme.number}"
                                   "&age=over_90"))
    assert numbers(page) == set()


def test_a_bucket_with_nothing_open_is_no_link_and_paid_invoices_show_no_summary(
        billing_client, db, acme):
    invoice = free_text(db, acme, "10.00")
    html = text(billing_client.get(f"/billing/invoices?status=open&customer={acme.number}"))
    summary = summary_of(html)
    assert 'age=current' in summary and 'age=over_90' not in summary
    pay(db, acme, invoice, "10.00")
    html = text(billing_client.get(f"/billing/invoices?status=paid&customer={acme.number}"))
    assert "ageing-summary" not in html


def test_the_pager_keeps_the_age_filter(billing_client, db, acme, monkeypatch):
    for _ in range(3):
        free_text(db, acme, "10.00", today=today_minus(45))
    monkeypatch.setattr("callcenter.billing.accounts.invoice_list",
                        functools.partial(accounts.invoice_list, per_page=2))
    html = text(billing_client.get(f"/billing/invoices?customer={acme.number}&age=d1_30"))
    pager = html[html.index('<nav class="pager"'):]
    assert re.search(r'href="/billing/invoices\?[^"]*age=d1_30[^"]*page=2"', pager)
    assert re.search(r'<option selected value="d1_30">1–30 days overdue</option>', html)


def test_the_demo_shows_overdue_buckets_on_the_open_invoices(billing_client):
    summary = summary_of(text(billing_client.get("/billing/invoices")))
    overdue = re.findall(r'age=(d1_30|d31_60|d61_90|over_90)', summary)
    assert overdue, "the demo has overdue invoices"


def test_the_list_and_its_ageing_run_as_many_queries_for_30_invoices_as_for_1(
        billing_client, db, connection):
    one = CustomerFactory(name="Lonely Ltd", payment_terms="net30")
    many = CustomerFactory(name="Busy Ltd", payment_terms="net30")
    free_text(db, one, "5.00", today=today_minus(45))
    for i in range(30):
        free_text(db, many, f"{i + 1}.00", today=today_minus(45 + 5 * i))
    billing_client.get(f"/billing/invoices?customer={one.number}")
    for age in ("", "&age=d1_30"):
        with QueryCounter(connection) as few:
            small = text(billing_client.get(f"/billing/invoices?customer={one.number}{age}"))
        with QueryCounter(connection) as lots:
            big = text(billing_client.get(f"/billing/invoices?customer={many.number}{age}"))
        assert "ageing-summary" in small and "ageing-summary" in big
        assert few.count == lots.count, age
    assert len(numbers(big)) == 4  # 15, 20, 25 and 30 days overdue


@pytest.mark.parametrize("age", ["nonsense", "current'--"])
def test_an_unknown_age_is_ignored(billing_client, db, acme, age):
    invoice = free_text(db, acme, "10.00")
    response = billing_client.get(f"/billing/invoices?customer={acme.number}&age={age}")
    assert response.status_code == 200 and invoice.number in numbers(text(response))
