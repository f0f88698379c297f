"""The console's billing pages: invoices and credit notes, free-text invoices, payments with
allocation, customer credit, write-offs within role limits, the trial balance, the journal
and its CSV export; roles, CSRF and query counts."""
import datetime as dt
import re
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from core import clock
from core.auth.passwords import hash_password
from core.billing import invoicing, ledger, receivables
from core.billing.invoicing import FreeTextLine
from core.billing.models import Allocation, Invoice, Payment, Refund
from core.customers.models import Customer
from tests.fakes import FakeGateway
from tests.billing_support import CLERK, assert_books_reconcile, place, ship
from tests.conftest import agent_client_for, csrf_token
from tests.factories import AgentFactory, CustomerFactory
from tests.helpers import QueryCounter


@pytest.fixture
def payment_gateway():
    """The apps take card payments through the fake (tests/fakes.py)."""
    return FakeGateway()


ZERO = D(0)


@pytest.fixture(autouse=True)
def mails(monkeypatch):
    """Invoice e-mails queued after commit (ids), instead of rendering and sending them."""
    queued = []
    monkeypatch.setattr("core.notifications.queue_invoice_email",
                        lambda invoice_id, **kw: queued.append((invoice_id, kw)))
    return queued


def client_with_roles(console_app, db, roles: str):
    email = f"billing-{roles.replace(',', '-')}@test.example"
    AgentFactory(email=email, roles_text=roles, password_hash=hash_password("demo-pass-1"))
    db.commit()
    return agent_client_for(console_app, email)


@pytest.fixture
def billing_client(console_app, db):
    return client_with_roles(console_app, db, "billing")


@pytest.fixture
def clerk_client(console_app, db):
    """Billing and credit control in one person, as the demo's billing agent."""
    return client_with_roles(console_app, db, "billing,credit")


@pytest.fixture
def credit_client(console_app, db):
    return client_with_roles(console_app, db, "credit")


@pytest.fixture
def acme(db):
    """A company on account with a fresh ledger of its own (the demo's Acme Corp has
    invoices already)."""
    return CustomerFactory(name="Billing Buyer GmbH", kind="company", payment_terms="net30",
                           on_account_allowed=True)


@pytest.fixture
def demo_acme(db):
    return db.scalar(select(Customer).where(Customer.name == "Acme Corp"))


def free_text(db, customer, amount: str, *, terms=None, today=None) -> Invoice:
    invoice = invoicing.issue_free_text(db, customer=customer, actor=CLERK, terms=terms,
                                        today=today,
                                        lines=[FreeTextLine("Service", 1, D(amount), ZERO)])
    db.commit()
    return invoice


def pay(db, customer, invoice, amount: str) -> Payment:
    payment = receivables.record_payment(
        db, customer_id=customer.id, method="bank_transfer", amount=D(amount), currency="EUR",
        received_on=clock.today(), reference="SEPA test", actor=CLERK,
        allocations=[(invoice.id, D(amount))])
    db.commit()
    return payment


def post(client, path, data, *, token_from="/billing/invoices", prefix=None):
    token = csrf_token(client, token_from)
    if prefix:
        data = {(k if k.startswith(("qty-", "alloc-", "source", "key")) else f"{prefix}-{k}"): v
                for k, v in data.items()}
        data[f"{prefix}-csrf_token"] = token
    return client.post(path, data={**data, "csrf_token": token})


def text(response) -> str:
    return response.get_data(as_text=True)


def error_of(html: str, field_id: str) -> str:
    """The message shown at a field (core/forms.html: <p class="error" id="<id>-error">)."""
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error"( hidden)?>([^<]*)</p>',
                      html)
    assert match, f"no error slot for {field_id}"
    return "" if match.group(1) else match.group(2)


def count(db, model, *where) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where))


# -- roles and CSRF -----------------------------------------------------------------------------

def pages(number: str, customer: str) -> list[str]:
    return ["/billing/invoices", f"/billing/invoices/{number}", "/billing/payments/new",
            f"/billing/payments/new?customer={customer}", f"/billing/customers/{customer}",
            "/billing/ledger", "/billing/ledger/journal", "/billing/ledger/journal.csv"]


@pytest.mark.parametrize("roles", ["billing", "credit", "agent,supervisor"])
def test_every_billing_page_renders_for_billing_credit_and_supervisor(console_app, db, acme,
                                                                      roles):
    client = client_with_roles(console_app, db, roles)
    invoice = free_text(db, acme, "10.00")
    for path in pages(invoice.number, acme.number):
        response = client.get(path)
        assert response.status_code == 200, (roles, path, response.status_code)
        if response.mimetype == "text/html":
            assert text(response).count("<h1") == 1, path


@pytest.mark.parametrize("roles", ["agent", "warehouse", "catalog"])
def test_other_roles_are_refused_every_billing_page(console_app, db, acme, roles):
    client = client_with_roles(console_app, db, roles)
    invoice = free_text(db, acme, "10.00")
    for path in pages(invoice.number, acme.number) + ["/billing/invoices/new"]:
        assert client.get(path).status_code == 403, (roles, path)
    token = csrf_token(client, "/sign-in")
    for path in (f"/billing/invoices/{invoice.number}/write-off", "/billing/payments/new",
                 f"/billing/invoices/{invoice.number}/credit-note"):
        assert client.post(path, data={"csrf_token": token}).status_code == 403, path


def test_issuing_invoices_is_for_billing_and_refunding_credit_for_credit_control(
        billing_client, credit_client, db, acme):
    assert billing_client.get(f"/billing/invoices/new?customer={acme.number}").status_code == 200
    assert credit_client.get(f"/billing/invoices/new?customer={acme.number}").status_code == 403
    token = csrf_token(billing_client, "/billing/invoices")
    assert billing_client.post(f"/billing/customers/{acme.number}/refund",
                               data={"csrf_token": token}).status_code == 403
    html = text(billing_client.get(f"/billing/customers/{acme.number}"))
    assert "Refund by bank transfer" not in html


def test_posts_without_a_csrf_token_are_refused(billing_client, db, acme):
    invoice = free_text(db, acme, "40.00")
    before = count(db, Payment), count(db, Invoice), count(db, Allocation)
    assert billing_client.post("/billing/payments/new", data={
        "customer": acme.number, "amount": "40.00", "reference": "x", "method": "cheque",
        f"alloc-{invoice.id}": "40.00"}).status_code == 400
    assert billing_client.post("/billing/invoices/new", data={
        "customer": acme.number, "lines-0-description": "x", "lines-0-quantity": "1",
        "lines-0-unit_price": "5", "lines-0-tax_rate": "0.19"}).status_code == 400
    assert billing_client.post(f"/billing/invoices/{invoice.number}/cancel",
                               data={"cancel-reason": "x"}).status_code == 400
    assert billing_client.post(f"/billing/invoices/{invoice.number}/write-off",
                               data={"writeoff-amount": "1", "writeoff-reason": "x"}
                               ).status_code == 400
    assert (count(db, Payment), count(db, Invoice), count(db, Allocation)) == before


def test_an_unknown_invoice_or_customer_is_404(billing_client):
    assert billing_client.get("/billing/invoices/INV-999999").status_code == 404
    assert billing_client.get("/billing/invoices/INV-999999.pdf").status_code == 404
    assert billing_client.get("/billing/customers/C-999999").status_code == 404


def test_the_console_navigation_offers_billing_to_billing_agents_only(billing_client,
                                                                      agent_client):
    assert 'href="/billing/invoices">Billing</a>' in text(billing_client.get("/"))
    assert "/billing/invoices" not in text(agent_client.get("/"))


# -- the invoice list -----------------------------------------------------------------------------

def test_the_list_filters_open_overdue_paid_and_credit_notes(billing_client, db, acme):
    old = free_text(db, acme, "11.00", today=clock.today() - dt.timedelta(days=40))
    fresh = free_text(db, acme, "22.00")
    paid = free_text(db, acme, "33.00")
    pay(db, acme, paid, "33.00")
    note = invoicing.cancel_invoice(db, fresh, reason="mistake", actor=CLERK)
    db.commit()

    def numbers(query):
        html = text(billing_client.get(f"/billing/invoices?{query}"))
        return set(re.findall(r'href="/billing/invoices/((?:INV|CN)-\d+)"', html))

    assert numbers(f"status=open&customer={acme.number}") == {old.number}
    assert numbers(f"status=overdue&customer={acme.number}") == {old.number}
    assert {paid.number, fresh.number} <= numbers(f"status=paid&customer={acme.number}")
    assert numbers(f"status=credit_notes&customer={acme.number}") == {note.number}
    assert numbers(f"status=all&q={paid.number[-6:]}") == {paid.number}
    assert numbers("status=all&customer=billing+buyer") >= {old.number, fresh.number, paid.number,
                                                    note.number}


def test_overdue_invoices_stand_out_with_a_red_badge_and_their_days_overdue(
        billing_client, db, acme):
    old = free_text(db, acme, "11.00", today=clock.today() - dt.timedelta(days=40))
    fresh = free_text(db, acme, "22.00")
    db.commit()
    html = text(billing_client.get(f"/billing/invoices?status=open&customer={acme.number}"))

    def row(number):
        part = html[html.index(f'>{number}</a>'):]
        return part[:part.index("</tr>")]

    days = (clock.today() - old.due_date).days
    assert days > 0
    assert '<span class="badge badge-overdue">Overdue</span>' in row(old.number)
    assert f'<strong class="overdue-days">{days}</strong>' in row(old.number)
    assert "badge-overdue" not in row(fresh.number) and "overdue-days" not in row(fresh.number)
    assert '<th scope="col" class="num">Days overdue</th>' in html


def test_the_list_answers_htmx_with_the_results_only(billing_client, db, acme):
    free_text(db, acme, "10.00")
    response = billing_client.get("/billing/invoices?status=all", headers={"HX-Request": "true"})
    assert "<h1" not in text(response) and "INV-" in text(response)
    assert "HX-Request" in response.headers["Vary"]


def listed(page: str) -> int:
    """Invoices linked from the list, leaving out the credit notes awaiting approval above
    it (the demo has one)."""
    from tests.web.test_credit_note_approvals import waiting_list
    link = "/billing/invoices/INV-"
    return page.count(link) - waiting_list(page).count(link)


def test_the_list_runs_as_many_queries_for_30_invoices_as_for_1(billing_client, db, acme,
                                                                  connection):
    one, many = CustomerFactory(name="Lonely Ltd"), CustomerFactory(name="Busy Ltd")
    free_text(db, one, "5.00")
    for i in range(30):
        free_text(db, many, f"{i + 1}.00")
    billing_client.get(f"/billing/invoices?status=all&customer={one.number}")
    with QueryCounter(connection) as few:
        small = text(billing_client.get(f"/billing/invoices?status=all&customer={one.number}"))
    with QueryCounter(connection) as lots:
        big = text(billing_client.get(f"/billing/invoices?status=all&customer={many.number}"))
    assert listed(small) == 1 and listed(big) == 30
    assert few.count == lots.count


# -- the invoice page and its actions ---------------------------------------------------------

def test_the_invoice_page_shows_lines_taxes_history_and_links(billing_client, db, acme):
    invoice = invoicing.issue_free_text(db, customer=acme, actor=CLERK, lines=[
        FreeTextLine("Installation of the print server", 3, D("120.00"), D("0.19")),
        FreeTextLine("Delivery fee", 1, D("15.50"), D("0.07"), kind="fee")])
    db.commit()
    pay(db, acme, invoice, "100.00")
    html = text(billing_client.get(f"/billing/invoices/{invoice.number}"))
    assert f"<h1>Invoice {invoice.number}</h1>" in html
    for shown in ("Installation of the print server", "19 %", "7 %", "68.40 EUR", "1.09 EUR",
                  "444.99 EUR", "Payment (Bank transfer)", "SEPA test", "344.99 EUR",
                  f'href="/billing/customers/{acme.number}"',
                  f'href="/billing/invoices/{invoice.number}.pdf"', "Resend e-mail"):
        assert shown in html, shown


def test_the_pdf_is_the_printed_invoice(billing_client, db, acme):
    invoice = free_text(db, acme, "12.00")
    response = billing_client.get(f"/billing/invoices/{invoice.number}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert f'filename="{invoice.number}.pdf"' in response.headers["Content-Disposition"]


def test_resend_queues_the_e_mail_again(billing_client, db, acme, mails):
    invoice = free_text(db, acme, "12.00")
    response = post(billing_client, f"/billing/invoices/{invoice.number}/email", {},
                    prefix="resend")
    assert response.status_code == 303
    assert mails == [(invoice.id, {"resend": True})]


def test_a_credit_note_by_line_credits_the_chosen_quantity(billing_client, db, demo_acme, mails):
    order = place(db, [("PAP-A4-80", 4)], key="console-cn", customer=demo_acme,
                  channel_code="web-b2b", payment_method="on_account")
    invoice = invoicing.invoice_shipment(db, ship(db, order, {"PAP-A4-80": 4}), actor=CLERK)
    db.commit()
    goods = next(l for l in invoice.lines if l.kind == "goods")
    path = f"/billing/invoices/{invoice.number}/credit-note"
    html = text(post(billing_client, path, {"scope": "lines", f"qty-{goods.id}": "5",
                                            "reason": "damaged"}, prefix="credit"))
    assert "Enter 0 to 4." in html and 'value="5"' in html  # at the line, as typed
    assert count(db, Invoice, Invoice.credited_invoice_id == invoice.id) == 0
    html = text(post(billing_client, path, {"scope": "lines", f"qty-{goods.id}": "1",
                                            "reason": ""}, prefix="credit"))
    assert error_of(html, "credit-reason") == "Give the reason for the credit note."
    response = post(billing_client, path, {"scope": "lines", f"qty-{goods.id}": "1",
                                           "reason": "damaged"}, prefix="credit")
    assert response.status_code == 303
    note = db.scalar(select(Invoice).where(Invoice.credited_invoice_id == invoice.id))
    db.refresh(invoice)
    assert [(l.quantity, l.credited_line_id) for l in note.lines] == [(1, goods.id)]
    assert 0 < note.gross_total < goods.gross and note.reason == "damaged"
    assert invoice.amount_open == invoice.gross_total - note.gross_total
    assert response.headers["Location"].endswith(f"/billing/invoices/{note.number}")
    assert mails == [(note.id, {"resend": False})]
    html = text(billing_client.get(f"/billing/invoices/{invoice.number}"))
    assert note.number in html and "Credit note" in html
    assert 'max="3"' in html  # 3 left to credit
    assert_books_reconcile(db)


def test_cancelling_an_unpaid_invoice_credits_it_and_a_paid_one_offers_no_cancel(
        billing_client, db, acme, mails):
    unpaid, paid = free_text(db, acme, "40.00"), free_text(db, acme, "30.00")
    pay(db, acme, paid, "10.00")
    assert "Cancel invoice" not in text(billing_client.get(f"/billing/invoices/{paid.number}"))
    html = text(post(billing_client, f"/billing/invoices/{paid.number}/cancel",
                     {"reason": "mistake"}, prefix="cancel"))
    assert "Only an invoice with nothing paid" in html
    response = post(billing_client, f"/billing/invoices/{unpaid.number}/cancel",
                    {"reason": "ordered twice"}, prefix="cancel")
    assert response.status_code == 303
    db.refresh(unpaid)
    assert (unpaid.status, unpaid.amount_open) == ("paid", ZERO)
    note = db.scalar(select(Invoice).where(Invoice.credited_invoice_id == unpaid.id))
    assert note.reason == "ordered twice" and mails == [(note.id, {"resend": False})]


def test_a_write_off_over_the_roles_limit_is_refused_at_the_field(billing_client,
                                                                   credit_client, db, acme):
    invoice = free_text(db, acme, "100.00")
    pay(db, acme, invoice, "90.00")
    path = f"/billing/invoices/{invoice.number}/write-off"
    page = text(billing_client.get(f"/billing/invoices/{invoice.number}"))
    assert 'value="10"' in page and "up to 5.00 EUR" in page  # the remainder is offered
    html = text(post(billing_client, path, {"amount": "10.00", "reason": "short payment"},
                     prefix="writeoff"))
    assert error_of(html, "writeoff-amount").startswith("You may write off at most 5")
    assert 'value="10.00"' in html and "short payment" in html
    db.refresh(invoice)
    assert invoice.amount_open == D("10.00")
    response = post(credit_client, path, {"amount": "10.00", "reason": "short payment"},
                    prefix="writeoff")
    assert response.status_code == 303
    db.refresh(invoice)
    assert invoice.status == "paid" and ledger.balance(db, ledger.BAD_DEBT) >= D("10.00")
    assert_books_reconcile(db)


def test_refund_to_card_follows_a_credit_note_on_a_card_paid_invoice(clerk_client, db,
                                                                      payment_gateway):
    order = place(db, [("PAP-A4-80", 2)], key="console-card-refund")
    invoice = invoicing.invoice_shipment(db, ship(db, order, {"PAP-A4-80": 2}), actor=CLERK)
    payment = receivables.record_card_capture(db, invoice, amount=invoice.gross_total,
                                              stripe_id="pi_console", key="cap-console",
                                              actor=CLERK)
    db.commit()
    calls = payment_gateway.refunds
    page = text(clerk_client.get(f"/billing/invoices/{invoice.number}"))
    assert "Refund the credited amount to the card" in page
    response = post(clerk_client, f"/billing/invoices/{invoice.number}/credit-note",
                    {"scope": "whole", "reason": "returned", "refund_to_card": "y"},
                    prefix="credit")
    assert response.status_code == 303
    note = db.scalar(select(Invoice).where(Invoice.credited_invoice_id == invoice.id))
    assert calls == [("pi_console", invoice.gross_total, "EUR", f"refund-{payment.id}-1")]
    refund = db.scalar(select(Refund).where(Refund.credit_note_id == note.id))
    assert (refund.status, refund.amount, refund.stripe_id) == ("succeeded", invoice.gross_total,
                                                                "re_1")
    html = text(clerk_client.get(response.headers["Location"]))
    assert "refunded to the card" in html
    assert "Refund to card</button>" not in html  # nothing left to refund


def test_a_credit_note_page_offers_the_rest_of_its_credit_back_to_the_card(clerk_client, db,
                                                                          payment_gateway):
    order = place(db, [("PAP-A4-80", 2)], key="console-card-refund-2")
    invoice = invoicing.invoice_shipment(db, ship(db, order, {"PAP-A4-80": 2}), actor=CLERK)
    receivables.record_card_capture(db, invoice, amount=invoice.gross_total,
                                    stripe_id="pi_console_2", key="cap-console-2", actor=CLERK)
    note = invoicing.issue_credit_note(db, invoice, lines=None, reason="returned", actor=CLERK)
    db.commit()
    path = f"/billing/invoices/{note.number}/refund-to-card"
    page = text(clerk_client.get(f"/billing/invoices/{note.number}"))
    assert "Refund to card</button>" in page
    too_much = note.gross_total + D("0.01")
    html = text(post(clerk_client, path, {"amount": str(too_much)}, prefix="refund"))
    assert error_of(html, "refund-amount").startswith("At most")
    assert count(db, Refund, Refund.credit_note_id == note.id) == 0
    response = post(clerk_client, path, {"amount": "5.00"}, prefix="refund")
    assert response.status_code == 303
    db.refresh(note)
    assert note.amount_open == note.gross_total - D("5.00")
    html = text(clerk_client.get(f"/billing/invoices/{note.number}"))
    assert "5.00 EUR refunded to the card" in html and "5.00 EUR to the card, succeeded" in html
    assert_books_reconcile(db)


def test_money_goes_back_to_a_card_only_with_the_credit_role(billing_client, db):
    order = place(db, [("PAP-A4-80", 2)], key="console-card-refund-3")
    invoice = invoicing.invoice_shipment(db, ship(db, order, {"PAP-A4-80": 2}), actor=CLERK)
    receivables.record_card_capture(db, invoice, amount=invoice.gross_total,
                                    stripe_id="pi_console_3", key="cap-console-3", actor=CLERK)
    note = invoicing.issue_credit_note(db, invoice, lines=None, reason="returned", actor=CLERK)
    db.commit()
    assert "Refund the credited amount to the card" not in text(
        billing_client.get(f"/billing/invoices/{invoice.number}"))
    assert "Refund to card</button>" not in text(
        billing_client.get(f"/billing/invoices/{note.number}"))
    response = post(billing_client, f"/billing/invoices/{note.number}/refund-to-card",
                    {"amount": "5.00"}, prefix="refund")
    assert response.status_code == 403
    assert count(db, Refund, Refund.credit_note_id == note.id) == 0


# -- free-text invoices ----------------------------------------------------------------------------

def test_the_free_text_invoice_starts_with_finding_the_customer(billing_client, db, acme):
    html = text(billing_client.get("/billing/invoices/new?q=billing+buyer",
                                   headers={"HX-Request": "true"}))
    assert f'href="/billing/invoices/new?customer={acme.number}"' in html and "<h1" not in html
    html = text(billing_client.get(f"/billing/invoices/new?customer={acme.number}"))
    assert "Billing Buyer GmbH" in html and 'name="lines-0-description"' in html
    assert '<option selected value="0.19">DE VAT standard (19 %)</option>' in html
    assert 'value="0.07"' in html and 'value="0"' in html
    assert "We could not find" in text(billing_client.get("/billing/invoices/new?customer=C-0"))


def test_a_free_text_invoice_is_issued_with_the_right_totals_and_e_mailed(billing_client, db,
                                                                          acme, mails):
    response = post(billing_client, "/billing/invoices/new", {
        "customer": acme.number, "terms": "net14", "memo": "Thank you",
        "lines-0-description": "Installation of the print server", "lines-0-quantity": "3",
        "lines-0-unit_price": "120.00", "lines-0-tax_rate": "0.19", "lines-0-kind": "service",
        "lines-1-description": "", "lines-1-quantity": "", "lines-1-unit_price": "",
        "lines-1-tax_rate": "0.19", "lines-1-kind": "service",
        "lines-4-description": "Delivery fee", "lines-4-quantity": "1",
        "lines-4-unit_price": "15,50", "lines-4-tax_rate": "0.07", "lines-4-kind": "fee"},
        token_from="/billing/invoices/new")
    assert response.status_code == 303, text(response)
    invoice = db.scalar(select(Invoice).where(Invoice.customer_id == acme.id)
                        .order_by(Invoice.id.desc()))
    assert (invoice.net_total, invoice.tax_total, invoice.gross_total) == (
        D("375.50"), D("69.49"), D("444.99"))
    assert [(l.kind, l.quantity) for l in invoice.lines] == [("service", 3), ("fee", 1)]
    assert (invoice.terms, invoice.memo) == ("net14", "Thank you")
    assert response.headers["Location"].endswith(f"/billing/invoices/{invoice.number}")
    assert mails == [(invoice.id, {"resend": False})]
    assert_books_reconcile(db)


def test_bad_free_text_lines_are_shown_at_the_field_and_keep_what_was_typed(billing_client, db,
                                                                           acme):
    before = count(db, Invoice)
    html = text(post(billing_client, "/billing/invoices/new", {
        "customer": acme.number, "lines-0-description": "Consulting",
        "lines-0-quantity": "two", "lines-0-unit_price": "abc", "lines-0-tax_rate": "0.19",
        "lines-1-description": "Travel", "lines-1-quantity": "1", "lines-1-unit_price": "",
        "lines-1-tax_rate": "0.5"}))
    assert error_of(html, "lines-0-quantity") and error_of(html, "lines-0-unit_price")
    assert error_of(html, "lines-1-unit_price") == "Enter the unit price."
    assert error_of(html, "lines-1-tax_rate")  # not a rate on offer
    assert 'value="Consulting"' in html and 'value="two"' in html and 'value="abc"' in html
    assert count(db, Invoice) == before
    html = text(post(billing_client, "/billing/invoices/new", {
        "customer": acme.number, "lines-0-description": "", "lines-0-quantity": "",
        "lines-0-unit_price": "", "lines-0-tax_rate": "0.19"}))
    assert "Add at least one line." in html and count(db, Invoice) == before


def test_lines_are_added_with_htmx_or_by_posting_without_javascript(billing_client, db, acme):
    html = text(billing_client.get("/billing/invoices/new/line?index=3",
                                   headers={"HX-Request": "true"}))
    assert 'name="lines-3-description"' in html and 'id="lines-3-tax_rate"' in html
    assert "<h1" not in html
    html = text(post(billing_client, "/billing/invoices/new", {
        "customer": acme.number, "add_line": "1", "lines-0-description": "Kept",
        "lines-0-quantity": "2", "lines-0-unit_price": "9.99", "lines-0-tax_rate": "0.19"}))
    assert 'value="Kept"' in html and 'name="lines-1-description"' in html


# -- payments ------------------------------------------------------------------------------------

def test_the_payment_form_suggests_the_oldest_invoices_first_and_names_the_credit(
        billing_client, db, acme):
    older = free_text(db, acme, "100.00", today=clock.today() - dt.timedelta(days=5))
    newer = free_text(db, acme, "50.00")
    html = text(billing_client.get(f"/billing/payments/new?customer={acme.number}"
                                   "&amount=120.00", headers={"HX-Request": "true"}))
    assert "<h1" not in html
    assert re.search(rf'name="alloc-{older.id}"[^>]*\s+value="100.00"', html)
    assert re.search(rf'name="alloc-{newer.id}"[^>]*\s+value="20.00"', html)
    html = text(billing_client.get(f"/billing/payments/new?customer={acme.number}&amount=170"))
    assert "Not allocated: <output id=\"unallocated-total\">20.00 EUR</output>" in html
    assert "becomes customer credit" in html


def test_a_payment_with_allocation_pays_invoices_and_the_rest_is_customer_credit(
        billing_client, db, acme):
    a, b = free_text(db, acme, "100.00"), free_text(db, acme, "50.00")
    response = post(billing_client, "/billing/payments/new", {
        "customer": acme.number, "method": "bank_transfer", "amount": "170.00",
        "received_on": clock.today().isoformat(), "reference": "SEPA 4711", "key": "pay-1",
        f"alloc-{a.id}": "100.00", f"alloc-{b.id}": "50"},
        token_from="/billing/payments/new")
    assert response.status_code == 303, text(response)
    db.refresh(a)
    db.refresh(b)
    assert (a.status, b.status) == ("paid", "paid")
    payment = db.scalar(select(Payment).where(Payment.key == "pay-1"))
    assert (payment.amount, payment.amount_unallocated, payment.reference) == (
        D("170.00"), D("20.00"), "SEPA 4711")
    html = text(billing_client.get(response.headers["Location"]))
    assert "20.00 EUR is customer credit" in html
    assert '<dd id="credit-total">20.00 EUR</dd>' in html
    assert "Bank transfer of 170.00 EUR, SEPA 4711" in html
    assert_books_reconcile(db)


def test_a_bad_payment_keeps_what_was_typed_and_says_why_at_the_field(billing_client, db, acme):
    invoice = free_text(db, acme, "30.00")
    before = count(db, Payment)
    html = text(post(billing_client, "/billing/payments/new", {
        "customer": acme.number, "method": "cheque", "amount": "20.00",
        "received_on": clock.today().isoformat(), "reference": "",
        f"alloc-{invoice.id}": "20.00"}))
    assert error_of(html, "reference") == "Enter the bank reference or cheque number."
    html = text(post(billing_client, "/billing/payments/new", {
        "customer": acme.number, "method": "cheque", "amount": "20.00",
        "received_on": clock.today().isoformat(), "reference": "CHQ 1",
        f"alloc-{invoice.id}": "25.00"}))
    assert "25.00 EUR is allocated but only 20.00 EUR was received" in html
    assert re.search(rf'name="alloc-{invoice.id}"[^>]*\s+value="25.00"', html)
    html = text(post(billing_client, "/billing/payments/new", {
        "customer": acme.number, "method": "cheque", "amount": "20.00",
        "received_on": clock.today().isoformat(), "reference": "CHQ 1",
        f"alloc-{invoice.id}": "twenty"}))
    assert error_of(html, f"alloc-{invoice.id}") == "Enter an amount like 12.50, or 0."
    tomorrow = (clock.today() + dt.timedelta(days=1)).isoformat()
    html = text(post(billing_client, "/billing/payments/new", {
        "customer": acme.number, "method": "cheque", "amount": "20.00", "received_on": tomorrow,
        "reference": "CHQ 1", f"alloc-{invoice.id}": "20.00"}))
    assert error_of(html, "received_on") == "The money cannot have arrived after today."
    assert count(db, Payment) == before


def test_the_payment_form_shows_the_cash_discount_available(billing_client, db, acme):
    free_text(db, acme, "200.00", terms="2-10-net30")
    html = text(billing_client.get(f"/billing/payments/new?customer={acme.number}&amount=196"))
    assert "4.00 EUR if paid by" in html and "paying 196.00 EUR settles it" in html


# -- customer credit ------------------------------------------------------------------------------

def test_credit_from_a_credit_note_is_applied_to_another_invoice(billing_client, db, acme):
    paid = free_text(db, acme, "60.00")
    pay(db, acme, paid, "60.00")
    note = invoicing.issue_credit_note(db, paid, lines=None, reason="goodwill", actor=CLERK)
    db.commit()
    later = free_text(db, acme, "80.00")  # the credit note's 60.00 is used at once
    db.refresh(note)
    assert note.amount_open == 0 and later.amount_open == D("20.00")
    extra = receivables.record_payment(db, customer_id=acme.id, method="cheque",
                                       amount=D("15.00"), currency="EUR",
                                       received_on=clock.today(), reference="CHQ extra",
                                       actor=CLERK)
    db.commit()
    page = text(billing_client.get(f"/billing/customers/{acme.number}"))
    assert "Cheque of 15.00 EUR, CHQ extra" in page and "Apply to invoice" in page
    source = f"payment-{extra.id}"
    html = text(post(billing_client, f"/billing/customers/{acme.number}/apply",
                     {"source": source, "invoice": str(later.id), "amount": "16.00"},
                     prefix=f"apply-{source}"))
    assert "Only 15.00" in html or "only" in html.lower()
    response = post(billing_client, f"/billing/customers/{acme.number}/apply",
                    {"source": source, "invoice": str(later.id), "amount": "15.00"},
                    prefix=f"apply-{source}")
    assert response.status_code == 303
    db.refresh(later)
    db.refresh(extra)
    assert (later.amount_open, extra.amount_unallocated) == (D("5.00"), ZERO)
    assert_books_reconcile(db)


def test_credit_control_refunds_credit_by_bank_transfer(credit_client, db, acme):
    invoice = free_text(db, acme, "25.00")
    pay(db, acme, invoice, "25.00")
    note = invoicing.issue_credit_note(db, invoice, lines=None, reason="returned", actor=CLERK)
    db.commit()
    source = f"credit_note-{note.id}"
    html = text(post(credit_client, f"/billing/customers/{acme.number}/refund",
                     {"source": source, "amount": "25.00", "reference": ""},
                     prefix=f"refund-{source}"))
    assert error_of(html, f"refund-{source}-reference") == \
        "Enter the bank reference of the transfer."
    response = post(credit_client, f"/billing/customers/{acme.number}/refund",
                    {"source": source, "key": "refund-key-1", "amount": "25.00",
                     "reference": "SEPA back"}, prefix=f"refund-{source}")
    assert response.status_code == 303
    db.refresh(note)
    assert note.amount_open == 0
    refund = db.scalar(select(Refund).where(Refund.credit_note_id == note.id))
    assert (refund.method, refund.amount, refund.reference) == ("bank_transfer", D("25.00"),
                                                                "SEPA back")
    html = text(credit_client.get(f"/billing/customers/{acme.number}"))
    assert "Refund by bank transfer" in html and "No credit is held" in html
    assert_books_reconcile(db)


def test_another_customers_credit_cannot_be_used(billing_client, db, acme):
    other = CustomerFactory(name="Other Oy")
    payment = receivables.record_payment(db, customer_id=other.id, method="cheque",
                                         amount=D("5.00"), currency="EUR",
                                         received_on=clock.today(), reference="CHQ",
                                         actor=CLERK)
    invoice = free_text(db, acme, "5.00")
    source = f"payment-{payment.id}"
    response = post(billing_client, f"/billing/customers/{acme.number}/apply",
                    {"source": source, "invoice": str(invoice.id), "amount": "5.00"},
                    prefix=f"apply-{source}")
    assert response.status_code == 404


def test_the_receivables_page_runs_as_many_queries_for_many_documents_as_for_one(
        billing_client, db, connection):
    one, many = CustomerFactory(name="Single Sa"), CustomerFactory(name="Plenty Sa")
    free_text(db, one, "5.00")
    for i in range(12):
        invoice = free_text(db, many, f"{i + 10}.00")
        pay(db, many, invoice, "3.00")
    billing_client.get(f"/billing/customers/{one.number}")
    with QueryCounter(connection) as few:
        billing_client.get(f"/billing/customers/{one.number}")
    with QueryCounter(connection) as lots:
        html = text(billing_client.get(f"/billing/customers/{many.number}"))
    assert html.count("Bank transfer received") == 12
    assert few.count == lots.count


def test_the_customer_360_page_shows_the_receivables_panel(supervisor_client, agent_client,
                                                           db, acme):
    free_text(db, acme, "10.00", today=clock.today() - dt.timedelta(days=60))
    free_text(db, acme, "5.00")
    html = text(supervisor_client.get(f"/customers/{acme.number}"))
    assert '<dd id="receivables-open">15.00 EUR</dd>' in html
    assert '<dd id="receivables-overdue">10.00 EUR</dd>' in html
    assert f'href="/billing/customers/{acme.number}"' in html
    html = text(agent_client.get(f"/customers/{acme.number}"))
    assert "receivables-open" in html and "/billing/customers/" not in html


# -- the ledger ------------------------------------------------------------------------------------

def test_the_trial_balance_shows_equal_debits_and_credits_and_reconciles(billing_client, db,
                                                                         acme):
    invoice = free_text(db, acme, "119.00")
    pay(db, acme, invoice, "100.00")
    html = text(billing_client.get("/billing/ledger"))
    debits = re.search(r'id="debits-EUR">([^<]+)<', html).group(1)
    credits = re.search(r'id="credits-EUR">([^<]+)<', html).group(1)
    assert debits == credits and debits != "0.00 EUR"
    assert "Balanced" in html and "Everything reconciles" in html
    assert "1200" in html and "Accounts receivable" in html
    assert "does not reconcile" not in html


def test_the_trial_balance_puts_each_balance_in_a_debit_or_credit_column_that_add_up(
        billing_client, db, acme):
    invoice = free_text(db, acme, "119.00")
    pay(db, acme, invoice, "100.00")
    html = text(billing_client.get("/billing/ledger"))
    table = html[html.index('id="tb-EUR-h"'):]
    table = table[:table.index("</table>")]
    rows = re.findall(r'<th scope="row"><code>(\d+)</code></th>.*?<td class="num" data-testid="dr">'
                      r'([^<]*)</td>\s*<td class="num" data-testid="cr">([^<]*)</td>', table, re.S)
    amount = lambda cell: D(cell.replace(" EUR", "").replace(",", "")) if cell else D(0)
    sides = {code: (amount(dr), amount(cr)) for code, dr, cr in rows}
    # each account has its balance on one side only
    assert all(not (dr and cr) for dr, cr in sides.values())
    # receivables are a debit balance, sales tax payable a credit balance
    assert sides["1200"][0] > 0 and sides["1200"][1] == 0
    assert sides["2100"][1] > 0 and sides["2100"][0] == 0
    dr_total = re.search(r'id="dr-balances-EUR">([^<]+)<', html).group(1)
    cr_total = re.search(r'id="cr-balances-EUR">([^<]+)<', html).group(1)
    assert dr_total == cr_total != "0.00 EUR"
    assert amount(dr_total) == sum(dr for dr, _ in sides.values())
    assert amount(cr_total) == sum(cr for _, cr in sides.values())
    assert "Debit (Dr)" in table and "Credit (Cr)" in table


def test_a_control_account_that_does_not_reconcile_is_highlighted(billing_client, db, acme):
    ledger.post(db, "payment", currency="EUR", reference="stray",
                postings=[ledger.dr(ledger.RECEIVABLES, D("1.00"), acme.id),
                          ledger.cr(ledger.BANK, D("1.00"))])
    db.commit()
    html = text(billing_client.get("/billing/ledger"))
    assert "A control account does not match its open items." in html
    assert "does not reconcile" in html


def test_the_journal_lists_entries_with_lines_and_filters(billing_client, db, acme):
    invoice = free_text(db, acme, "10.00")
    pay(db, acme, invoice, "10.00")
    html = text(billing_client.get(f"/billing/ledger/journal?reference={invoice.number}"))
    assert invoice.number in html and "Accounts receivable" in html and acme.number in html
    html = text(billing_client.get("/billing/ledger/journal?kind=payment&reference=SEPA+test",
                                   headers={"HX-Request": "true"}))
    assert "SEPA test" in html and invoice.number not in html and "<h1" not in html


def test_the_journal_runs_as_many_queries_for_30_entries_as_for_1(billing_client, db, acme,
                                                                   connection):
    free_text(db, acme, "1.00")
    billing_client.get("/billing/ledger/journal?reference=XQ-")
    for i in range(30):
        ledger.post(db, "payment", currency="EUR", reference=f"XQ-{i:02d}",
                    postings=[ledger.dr(ledger.BANK, D("1.00")),
                              ledger.cr(ledger.CUSTOMER_DEPOSITS, D("1.00"), acme.id)])
    ledger.post(db, "payment", currency="EUR", reference="XZ-single",
                postings=[ledger.dr(ledger.BANK, D("1.00")),
                          ledger.cr(ledger.CUSTOMER_DEPOSITS, D("1.00"), acme.id)])
    db.commit()
    with QueryCounter(connection) as few:
        small = text(billing_client.get("/billing/ledger/journal?reference=XZ-"))
    with QueryCounter(connection) as lots:
        big = text(billing_client.get("/billing/ledger/journal?reference=XQ-"))
    assert small.count("XZ-single") == 1 and len(re.findall(r">XQ-\d\d", big)) == 30
    assert few.count == lots.count


def test_the_journal_csv_is_an_attachment_with_a_header_and_the_rows(billing_client, db, acme):
    invoice = free_text(db, acme, "10.00")
    today = clock.today().isoformat()
    response = billing_client.get(f"/billing/ledger/journal.csv?date_from={today}&date_to={today}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="journal-from-{today}-to-{today}.csv"'
    lines = text(response).splitlines()
    assert lines[0] == ",".join(ledger.EXPORT_HEADER)
    row = next(l for l in lines if invoice.number in l and ",1200," in l)
    assert ",10.00,0.00,EUR," in row and acme.number in row
    yesterday = (clock.today() - dt.timedelta(days=1)).isoformat()
    old = text(billing_client.get(f"/billing/ledger/journal.csv?date_to={yesterday}"))
    assert invoice.number not in old
    assert billing_client.get("/billing/ledger/journal.csv?date_from=nonsense").status_code == 400


def test_the_journal_exports_what_its_filters_show(billing_client, db, acme):
    """One set of filters: the page's link downloads the entries the page lists (kind and
    reference too), named for them."""
    invoice, other = free_text(db, acme, "10.00"), free_text(db, acme, "20.00")
    html = text(billing_client.get(f"/billing/ledger/journal?kind=invoice&reference={invoice.number}"))
    link = re.search(r'<a href="([^"]+)" download>Download these entries as CSV</a>', html)
    assert link, html
    response = billing_client.get(link.group(1).replace("&amp;", "&"))
    assert response.headers["Content-Disposition"] == 'attachment; filename="journal-invoice.csv"'
    body = text(response)
    assert invoice.number in body and other.number not in body
    kinds = {l.split(",")[2] for l in body.splitlines()[1:]}
    assert kinds == {"invoice"}
    assert "Export for the accountant" not in html  # one pair of dates, not two
    unfiltered = text(billing_client.get("/billing/ledger/journal"))
    assert 'href="/billing/ledger/journal.csv" download>Download the journal as CSV</a>' in unfiltered
