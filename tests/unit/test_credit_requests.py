"""Credit-note requests: the transition table, and approval checked against the invoice as
it is when approved (security review M5)."""
from decimal import Decimal as D

import pytest

from core import clock
from core.audit import Actor
from core.billing import credit_requests, invoicing, receivables
from core.billing.errors import BillingError
from core.billing.invoicing import FreeTextLine
from core.billing.models import CREDIT_REQUEST_MOVES, CreditRequestStatus
from tests.billing_support import CLERK, assert_books_reconcile
from tests.factories import CustomerFactory

ASKER = Actor("agent", 9001, "asker@test.example")
APPROVER = Actor("agent", 9002, "approver@test.example")


@pytest.fixture
def invoice(db):
    buyer = CustomerFactory(kind="company", payment_terms="net30", on_account_allowed=True)
    return invoicing.issue_free_text(db, customer=buyer, actor=CLERK,
                                     lines=[FreeTextLine("Service", 1, D("900.00"), D(0))])


def ask(db, invoice, *, cancel=False):
    done = credit_requests.credit(db, invoice, lines=None, reason="mistake", actor=ASKER,
                                  limit=D(250), cancel=cancel)
    assert done.note is None
    return done.request


def test_a_request_is_decided_once_and_only_as_the_table_allows(db, invoice):
    assert CREDIT_REQUEST_MOVES[CreditRequestStatus.REQUESTED] == {
        CreditRequestStatus.APPROVED, CreditRequestStatus.REJECTED}
    request = ask(db, invoice)
    credit_requests.reject(db, request, actor=APPROVER, roles={"credit"}, note="no")
    with pytest.raises(credit_requests.IllegalTransition, match="rejected cannot become approved"):
        credit_requests.move(db, request, CreditRequestStatus.APPROVED, actor=APPROVER)
    with pytest.raises(BillingError, match="already rejected"):
        credit_requests.approve(db, request, actor=APPROVER, roles={"supervisor"})


def test_within_the_limit_the_credit_note_is_issued_at_once(db, invoice):
    done = credit_requests.credit(db, invoice, lines=None, reason="mistake", actor=ASKER,
                                  limit=D(1000))
    assert done.request is None and done.note.gross_total == D("900.00")


def test_a_cancellation_approved_after_a_payment_arrived_is_refused_and_waits(db, invoice):
    request = ask(db, invoice, cancel=True)
    receivables.record_payment(db, customer_id=invoice.customer_id, method="bank_transfer",
                               amount=D("100.00"), currency="EUR", received_on=clock.today(),
                               reference="SEPA", actor=CLERK, allocations=[(invoice.id, D("100.00"))])
    with pytest.raises(BillingError, match="Only an invoice with nothing paid"):
        credit_requests.approve(db, request, actor=APPROVER, roles={"credit"})
    assert request.status == "requested" and request.credit_note_id is None


def test_an_approved_request_issues_the_credit_note_and_keeps_the_books(db, invoice):
    request = ask(db, invoice)
    note = credit_requests.approve(db, request, actor=APPROVER, roles={"credit"}, note="ok")
    assert request.status == "approved" and request.credit_note_id == note.id
    assert note.issued_by == APPROVER.label and invoice.amount_open == 0
    assert_books_reconcile(db)


def test_the_requester_is_refused_whatever_their_roles_but_admin_is_not_exempt(db, invoice):
    request = ask(db, invoice)
    for roles in ({"credit"}, {"supervisor"}, {"admin"}):
        with pytest.raises(credit_requests.ApprovalNotAllowed, match="You asked"):
            credit_requests.approve(db, request, actor=ASKER, roles=roles)
    with pytest.raises(credit_requests.ApprovalNotAllowed, match="credit or supervisor role"):
        credit_requests.approve(db, request, actor=APPROVER, roles={"billing"})
