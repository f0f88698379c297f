"""Credit notes and cancellations beyond the billing clerk's limit wait for a second person
with the credit or supervisor role, who approves or rejects them in the console (security
review M5, segregation of duties)."""
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from core.audit import AuditEvent
from core.billing import credit_requests, invoicing
from core.billing.invoicing import FreeTextLine
from core.billing.models import CreditNoteRequest, Invoice
from core.config import load_settings
from tests.billing_support import CLERK, assert_books_reconcile
from tests.factories import CustomerFactory
from tests.web.test_console_billing import client_with_roles, count, error_of, free_text, post, text


@pytest.fixture(autouse=True)
def mails(monkeypatch):
    queued = []
    monkeypatch.setattr("core.notifications.queue_invoice_email",
                        lambda invoice_id, **kw: queued.append(invoice_id))
    return queued


@pytest.fixture
def buyer(db):
    return CustomerFactory(name="Approval Buyer GmbH", kind="company", payment_terms="net30",
                           on_account_allowed=True)


@pytest.fixture
def billing_client(console_app, db):
    """Billing only: issues and corrects invoices, approves nothing."""
    return client_with_roles(console_app, db, "billing")


@pytest.fixture
def credit_client(console_app, db):
    return client_with_roles(console_app, db, "credit")


@pytest.fixture
def clerk_client(console_app, db):
    """Billing and credit control in one person, as the demo's billing agent."""
    return client_with_roles(console_app, db, "billing,credit")


def credit_whole(client, invoice, reason="goods returned"):
    return post(client, f"/billing/invoices/{invoice.number}/credit-note",
                {"scope": "whole", "reason": reason}, prefix="credit")


def waiting_list(page: str) -> str:
    """The billing start page's table of credit notes awaiting approval ("" when none)."""
    if "Credit notes awaiting approval" not in page:
        return ""
    return page.split("Credit notes awaiting approval", 1)[1].split("</table>", 1)[0]


def requests_of(db, invoice) -> list[CreditNoteRequest]:
    db.expire_all()
    return list(db.scalars(select(CreditNoteRequest)
                           .where(CreditNoteRequest.invoice_id == invoice.id)))


def notes_of(db, invoice) -> int:
    return count(db, Invoice, Invoice.credited_invoice_id == invoice.id)


def decide(client, request, verb, note=""):
    return post(client, f"/billing/credit-requests/{request.id}/{verb}", {"note": note},
                prefix=f"{verb}-{request.id}")


def audit_actions(db, request) -> list[str]:
    return list(db.scalars(select(AuditEvent.action).where(
        AuditEvent.subject_type == "credit_note_requests",
        AuditEvent.subject_id == str(request.id)).order_by(AuditEvent.id)))


def test_a_billing_clerks_whole_credit_note_on_1000_eur_waits_for_approval(billing_client, db,
                                                                          buyer, mails):
    invoice = free_text(db, buyer, "1000.00")

    response = credit_whole(billing_client, invoice)

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/billing/invoices/{invoice.number}")
    assert notes_of(db, invoice) == 0 and mails == []
    [request] = requests_of(db, invoice)
    assert (request.status, request.kind, request.amount, request.lines) == (
        "requested", "credit_note", D("1000.00"), None)
    assert request.requested_by == "billing-billing@test.example"
    db.refresh(invoice)
    assert invoice.amount_open == D("1000.00")
    assert audit_actions(db, request) == ["credit_request.requested"]
    page = text(billing_client.get(response.headers["Location"]))
    assert "Nothing is credited yet" in page and "Awaiting approval" in page
    assert "Approve and issue" not in page  # a billing clerk approves nothing
    start = text(billing_client.get("/billing/invoices"))
    assert invoice.number in waiting_list(start)


def test_credit_control_approves_and_the_credit_note_is_issued_as_asked(
        billing_client, credit_client, db, buyer, mails):
    invoice = free_text(db, buyer, "1000.00")
    credit_whole(billing_client, invoice)
    [request] = requests_of(db, invoice)
    page = text(credit_client.get(f"/billing/invoices/{invoice.number}"))
    assert "Approve and issue" in page and 'for="approve-%d-note"' % request.id in page

    response = decide(credit_client, request, "approve", "checked the return")

    assert response.status_code == 303, text(response)
    [request] = requests_of(db, invoice)
    note = db.scalar(select(Invoice).where(Invoice.credited_invoice_id == invoice.id))
    assert request.status == "approved" and request.credit_note_id == note.id
    assert request.decided_by == "billing-credit@test.example"
    assert (note.gross_total, note.reason) == (D("1000.00"), "goods returned")
    db.refresh(invoice)
    assert (invoice.amount_open, invoice.status) == (D(0), "paid")
    assert mails == [note.id]
    assert audit_actions(db, request) == ["credit_request.requested", "credit_request.approved"]
    assert_books_reconcile(db)
    assert invoice.number not in waiting_list(text(credit_client.get("/billing/invoices")))


def test_nobody_approves_their_own_request(clerk_client, credit_client, db, buyer):
    invoice = free_text(db, buyer, "1000.00")
    credit_whole(clerk_client, invoice)  # billing and credit: may approve, but not this
    [request] = requests_of(db, invoice)
    assert "another colleague approves" in text(clerk_client.get(
        f"/billing/invoices/{invoice.number}"))

    response = decide(clerk_client, request, "approve")

    assert response.status_code == 403
    assert "You asked for this credit note" in text(response)
    assert requests_of(db, invoice)[0].status == "requested" and notes_of(db, invoice) == 0
    assert decide(clerk_client, request, "reject", "no").status_code == 403
    assert decide(credit_client, request, "approve").status_code == 303
    assert notes_of(db, invoice) == 1


def test_a_billing_only_agent_cannot_decide_requests(billing_client, clerk_client, db, buyer):
    invoice = free_text(db, buyer, "1000.00")
    credit_whole(clerk_client, invoice)
    [request] = requests_of(db, invoice)
    assert decide(billing_client, request, "approve").status_code == 403
    assert requests_of(db, invoice)[0].status == "requested"


def test_a_rejection_says_why_and_credits_nothing(billing_client, credit_client, db, buyer):
    invoice = free_text(db, buyer, "1000.00")
    credit_whole(billing_client, invoice)
    [request] = requests_of(db, invoice)

    html = text(decide(credit_client, request, "reject", ""))
    assert error_of(html, f"reject-{request.id}-note") == "Say why the credit note is rejected."
    response = decide(credit_client, request, "reject", "return not received")

    assert response.status_code == 303
    [request] = requests_of(db, invoice)
    assert (request.status, request.decision_note) == ("rejected", "return not received")
    assert notes_of(db, invoice) == 0
    assert audit_actions(db, request) == ["credit_request.requested", "credit_request.rejected"]
    # decided: the invoice can be credited again (and asks again beyond the limit)
    assert credit_whole(billing_client, invoice).status_code == 303
    assert [r.status for r in requests_of(db, invoice)].count("requested") == 1


def test_while_a_request_waits_the_invoice_takes_no_other_credit(billing_client, db, buyer):
    invoice = free_text(db, buyer, "1000.00")
    credit_whole(billing_client, invoice)
    html = text(post(billing_client, f"/billing/invoices/{invoice.number}/cancel",
                     {"reason": "typo"}, prefix="cancel"))
    assert "is awaiting approval; it must be approved or rejected first" in html
    assert notes_of(db, invoice) == 0 and len(requests_of(db, invoice)) == 1


def test_a_cancellation_beyond_the_limit_is_approved_by_a_supervisor(
        billing_client, supervisor_client, db, buyer):
    invoice = free_text(db, buyer, "600.00")
    response = post(billing_client, f"/billing/invoices/{invoice.number}/cancel",
                    {"reason": "ordered twice"}, prefix="cancel")
    assert response.status_code == 303 and notes_of(db, invoice) == 0
    [request] = requests_of(db, invoice)
    assert (request.kind, request.amount) == ("cancellation", D("600.00"))
    assert decide(supervisor_client, request, "approve").status_code == 303
    db.refresh(invoice)
    assert invoice.status == "paid" and notes_of(db, invoice) == 1
    assert_books_reconcile(db)


def test_small_credit_notes_add_up_towards_the_limit(billing_client, credit_client, db, buyer):
    invoice = invoicing.issue_free_text(db, customer=buyer, actor=CLERK,
                                        lines=[FreeTextLine("Consulting hour", 10, D("40.00"), D(0))])
    db.commit()
    line = invoice.lines[0]
    path = f"/billing/invoices/{invoice.number}/credit-note"
    assert post(billing_client, path, {"scope": "lines", f"qty-{line.id}": "5", "reason": "a"},
                prefix="credit").status_code == 303
    assert notes_of(db, invoice) == 1  # 200.00 is within the clerk's 250.00
    assert post(billing_client, path, {"scope": "lines", f"qty-{line.id}": "2", "reason": "b"},
                prefix="credit").status_code == 303
    assert notes_of(db, invoice) == 1  # 80.00 more is 280.00 on this invoice: approval
    [request] = requests_of(db, invoice)
    assert (request.amount, request.lines) == (D("80.00"), {str(line.id): 2})
    page = text(credit_client.get(f"/billing/invoices/{invoice.number}"))
    assert "2 × Consulting hour" in page
    assert decide(credit_client, request, "approve").status_code == 303
    db.refresh(invoice)
    assert notes_of(db, invoice) == 2 and invoice.amount_open == D("120.00")


def test_the_limit_of_each_role_comes_from_settings():
    settings = load_settings(environ={"CREDIT_NOTE_LIMIT_BILLING": "50",
                                      "CREDIT_NOTE_LIMIT_SUPERVISOR": "5000"})
    assert credit_requests.credit_limit({"billing"}, settings) == 50
    assert credit_requests.credit_limit({"billing", "supervisor"}, settings) == 5000
    assert credit_requests.credit_limit({"admin"}, settings) == 5000
    assert credit_requests.credit_limit({"credit"}, settings) is None
