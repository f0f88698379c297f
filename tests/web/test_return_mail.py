"""A return's customer hears of it by e-mail at each step, after the commit and never on a
rollback: the request waiting for a decision, the approval (the return label PDF attached
when the goods come back, "keep it" when they need not), the rejection and why, what
arrived, and what went back where (credit notes, the card) or the exchange's replacement."""
import datetime as dt
import shutil
import subprocess
import time

import pytest
from sqlalchemy import select

from core import clock
from core.audit import AuditEvent
from core.customers.models import Customer
from core.db import utcnow
from core.notifications import queue_return_email
from core.returns import services as returns
from core.returns import settlement
from core.returns.services import Received, Request, RequestLine
from core.tasks import inline_with
from tests.billing_support import CLERK, place, ship
from tests.fakes import FakeGateway
from tests.unit.test_returns import AGENT, WAREHOUSE, shipped_card_order
from tests.web.conftest import text_of

GUEST = "ola@example.com"  # tests.billing_support.place's guest
SHOPPER = "shopper@example.com"
SUPERVISOR_ROLES = {"agent", "supervisor"}


def ask(db, settings, order, quantity=1, reason="defective", *, key, **request):
    line = order.lines[0]
    rma = returns.request_return(
        db, order, Request([RequestLine(line.id, quantity, reason)], **request),
        actor=AGENT, channel="phone", key=key, settings=settings)
    db.commit()
    return rma


def mails_to(sink, address, wait=0.2):
    time.sleep(wait)  # anything sent late or twice would have arrived by now
    return [m for m in sink.messages if address in m["To"]]


def about(sink, address, number):
    return [m for m in mails_to(sink, address) if number in m["Subject"]]


def machine_order(db, key, *, customer=None, quantity=2):
    """A shipped, invoiced and captured card order of coffee machines (399.00 each): a
    return of one is above the auto-approval limit, so an agent decides."""
    order = place(db, [("COF-DL-MAG", quantity)], key=key, customer=customer)
    invoice = _invoice_and_capture(db, order, {"COF-DL-MAG": quantity}, key)
    return order, invoice


def _invoice_and_capture(db, order, quantities, key):
    from core.billing import invoicing, receivables
    shipment = ship(db, order, quantities)
    shipment.shipped_at = utcnow() - dt.timedelta(days=2)
    invoice = invoicing.invoice_shipment(db, shipment, actor=CLERK)
    receivables.record_card_capture(db, invoice, amount=invoice.gross_total,
                                    stripe_id=f"pi_{key}", key=f"cap-{key}", actor=CLERK)
    order.status = "shipped"
    db.flush()
    return invoice


def pdf_text(pdf: bytes, tmp_path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "label.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def shopper(db):
    return db.scalar(select(Customer).where(Customer.email == SHOPPER))


# -- the request ------------------------------------------------------------------------------

def test_a_request_waiting_for_a_decision_is_confirmed_with_its_lines_and_next_steps(
        db, settings, smtp_sink):
    order, _ = machine_order(db, "mail-req")
    rma = ask(db, settings, order, key="mail-req-r")
    assert rma.status == "requested"
    message = smtp_sink.wait_for(GUEST, subject=rma.number)
    assert message["Subject"] == f"We have your return request {rma.number}"
    body = text_of(message)
    assert order.number in body
    assert "1 x Bean-to-Cup Machine Home" in body and "(COF-DL-MAG)" in body
    assert "Defective or doesn't work" in body
    assert "What happens next: our team checks your request" in body
    assert "with a return label" in body
    assert "/orders/lookup" in body  # a guest follows it through the order look-up
    html = message.get_body(("html",)).get_content()
    assert f"<h1 style=\"font-size: 20px;\">We have your return request {rma.number}</h1>" in html
    assert list(message.iter_attachments()) == []
    assert len(about(smtp_sink, GUEST, rma.number)) == 1  # no approval yet


def test_nothing_is_sent_when_the_request_is_rolled_back(db, settings, smtp_sink):
    order, _ = machine_order(db, "mail-rb")
    db.commit()
    line = order.lines[0]
    rma = returns.request_return(db, order, Request([RequestLine(line.id, 1, "defective")]),
                                 actor=AGENT, channel="phone", key="mail-rb-r",
                                 settings=settings)
    number = rma.number
    db.rollback()
    assert about(smtp_sink, GUEST, number) == []
    assert mails_to(smtp_sink, GUEST, wait=0) == []


def test_a_customer_with_an_account_is_sent_to_the_return_in_the_account(db, settings,
                                                                          smtp_sink):
    order, _ = machine_order(db, "mail-acct", customer=shopper(db))
    rma = ask(db, settings, order, key="mail-acct-r")
    body = text_of(smtp_sink.wait_for(SHOPPER, subject=rma.number))
    assert f"http://localhost/account/returns/{rma.number}" in body
    assert "/orders/lookup" not in body


# -- the decision ------------------------------------------------------------------------------

def test_the_approval_carries_the_return_label_as_a_pdf_and_how_to_send_it(db, settings,
                                                                            smtp_sink, tmp_path):
    order, _ = machine_order(db, "mail-ok")
    rma = ask(db, settings, order, key="mail-ok-r")
    returns.approve(db, rma, actor=AGENT, roles=SUPERVISOR_ROLES, note="Fine")
    db.commit()
    message = smtp_sink.wait_for(GUEST, subject=f"Your return {rma.number} is approved")
    body = text_of(message)
    assert "1. Print the return label attached to this e-mail." in body
    assert "Marketline Returns, Hafenstraße 12, Tor 3, 20457 Hamburg, Germany" in body
    assert "Once the items reach us, your money goes back to the card you paid with." in body
    assert "The delivery charge is refunded too." in body  # a defect
    [label] = list(message.iter_attachments())
    assert label.get_content_type() == "application/pdf"
    assert label.get_filename() == f"{rma.number}-return-label.pdf"
    assert label.get_content().startswith(b"%PDF")
    assert rma.number in pdf_text(label.get_content(), tmp_path)  # the label of this return
    assert len(about(smtp_sink, GUEST, rma.number)) == 2  # the request, then the approval


def test_a_request_approved_at_once_gets_the_approval_alone(db, settings, smtp_sink):
    order, _ = shipped_card_order(db, "mail-auto")  # 2 x 5.49 of paper
    rma = ask(db, settings, order, quantity=2, reason="changed_mind", key="mail-auto-r")
    assert rma.status == "label_sent"
    [message] = about(smtp_sink, GUEST, rma.number)
    assert message["Subject"] == f"Your return {rma.number} is approved"
    body = text_of(message)
    assert "restocking fee of 1.10 EUR is kept" in body
    assert "delivery charge" not in body  # the customer changed their mind
    assert [a.get_content_type() for a in message.iter_attachments()] == ["application/pdf"]


def test_goods_worth_too_little_to_send_back_are_kept_and_no_label_is_sent(db, settings,
                                                                           smtp_sink):
    order = place(db, [("FIL-LA-80-BLU", 1)], key="mail-keep")  # 3.99
    _invoice_and_capture(db, order, {"FIL-LA-80-BLU": 1}, "mail-keep")
    rma = ask(db, settings, order, key="mail-keep-r")
    assert not rma.ship_back
    message = smtp_sink.wait_for(GUEST, subject=f"Your return {rma.number} is approved")
    body = text_of(message)
    assert "There is no need to send it back: please keep the item." in body
    assert "Print the return label" not in body
    assert list(message.iter_attachments()) == []


def test_the_rejection_gives_the_agents_reason(db, settings, smtp_sink):
    order, _ = machine_order(db, "mail-no")
    rma = ask(db, settings, order, key="mail-no-r")
    returns.reject(db, rma, actor=AGENT, roles=SUPERVISOR_ROLES,
                   note="The machine was used for six months; that is wear, not a defect.")
    db.commit()
    message = smtp_sink.wait_for(GUEST, subject=f"Your return {rma.number} could not be approved")
    body = text_of(message)
    assert "Why: The machine was used for six months; that is wear, not a defect." in body
    assert "Please do not send the items to us." in body
    assert list(message.iter_attachments()) == []


# -- the goods and the money -------------------------------------------------------------------

def test_receipt_and_refund_say_what_arrived_and_where_the_money_went(db, settings,
                                                                        smtp_sink):
    order, invoice = machine_order(db, "mail-money")
    rma = ask(db, settings, order, quantity=2, key="mail-money-r")
    returns.approve(db, rma, actor=AGENT, roles=SUPERVISOR_ROLES)
    db.commit()
    lines = {rma.lines[0].id: Received(1)}
    returns.receive(db, rma, lines, actor=WAREHOUSE, key="mail-money-1")
    db.commit()
    first = smtp_sink.wait_for(GUEST, subject=f"Your return {rma.number} has arrived")
    body = text_of(first)
    assert "Part of what you are sending back" in body
    assert "1 x Bean-to-Cup Machine Home – Magnifica S (COF-DL-MAG)" in body
    assert "Still on its way to us:\r\n1 x Bean-to-Cup Machine Home" in body
    assert "the rest follows when the remaining items arrive" in body
    gateway = FakeGateway()
    settlement.settle(db, gateway, rma.id, actor=WAREHOUSE, commit=db.commit)
    assert [m for m in about(smtp_sink, GUEST, rma.number) if "refunded" in m["Subject"]] == []

    returns.receive(db, rma, lines, actor=WAREHOUSE, key="mail-money-2")
    db.commit()
    settled = settlement.settle(db, gateway, rma.id, actor=WAREHOUSE, commit=db.commit)
    assert settled.rma.status == "refunded"
    arrived = [m for m in about(smtp_sink, GUEST, rma.number) if "arrived" in m["Subject"]]
    assert len(arrived) == 2 and "Everything you sent back" in text_of(arrived[1])
    message = smtp_sink.wait_for(GUEST, subject=f"Your return {rma.number} is refunded")
    body = text_of(message)
    notes = settlement.credit_notes(db, settled.rma)
    assert len(notes) == 2
    total = sum(n.gross_total for n in notes)
    assert total == invoice.gross_total  # both machines and the shipping: a defect
    assert f"We have credited {total:.2f} EUR" in body
    assert f"on credit notes {notes[0].number}, {notes[1].number}" in body
    assert f"Refunded to your card: {total:.2f} EUR" in body
    assert "A card refund takes a few working days" in body
    assert sum(r[1] for r in gateway.refunds) == total


def test_an_exchange_names_its_replacement_order(db, settings, smtp_sink):
    order, _ = shipped_card_order(db, "mail-swap")
    rma = ask(db, settings, order, key="mail-swap-r", resolution="exchange",
              replace_on="receipt")
    approved = text_of(smtp_sink.wait_for(GUEST, subject=f"Your return {rma.number} is approved"))
    assert "We send your replacement as soon as the items reach us." in approved
    returns.receive(db, rma, {rma.lines[0].id: Received(1)}, actor=WAREHOUSE, key="mail-swap-1")
    db.commit()
    received = text_of(smtp_sink.wait_for(GUEST, subject=f"Your return {rma.number} has arrived"))
    assert "Your replacement ships now" in received
    settled = settlement.settle(db, FakeGateway(), rma.id, actor=AGENT, commit=db.commit)
    assert settled.rma.status == "exchanged" and settled.replacement
    message = smtp_sink.wait_for(GUEST, subject=f"Your exchange {rma.number}")
    assert message["Subject"] == (f"Your exchange {rma.number}: replacement order "
                                  f"{settled.replacement}")
    body = text_of(message)
    assert f"Your replacement order is {settled.replacement}" in body
    confirmation = smtp_sink.wait_for(GUEST, subject=f"Your Marketline order {settled.replacement}")
    assert "This order replaces items you returned, and they pay for it." in text_of(confirmation)
    assert settled.credit_notes[0] in body
    assert "Kept for your replacement order" in body  # paid when the replacement ships


def test_a_gift_card_or_store_credit_refund_says_so(db, settings, smtp_sink):
    buyer = shopper(db)
    order, _ = shipped_card_order(db, "mail-credit")
    order.customer_id, order.email = buyer.id, SHOPPER
    db.flush()
    rma = ask(db, settings, order, key="mail-credit-r", refund_method="store_credit")
    returns.receive(db, rma, {rma.lines[0].id: Received(1)}, actor=WAREHOUSE, key="mail-cr-1")
    db.commit()
    settled = settlement.settle(db, FakeGateway(), rma.id, actor=WAREHOUSE, commit=db.commit)
    assert settled.rma.status == "refunded"
    body = text_of(smtp_sink.wait_for(SHOPPER, subject=f"Your return {rma.number} is refunded"))
    assert "Kept as store credit for your next orders" in body
    assert "card refund" not in body


# -- once each ---------------------------------------------------------------------------------

def test_a_redelivered_task_sends_nothing_twice(db, settings, smtp_sink, session_factory):
    order, _ = machine_order(db, "mail-once")
    rma = ask(db, settings, order, key="mail-once-r")
    smtp_sink.wait_for(GUEST, subject=rma.number)
    with inline_with(session_factory):
        queue_return_email(rma.id, "requested")
    assert len(about(smtp_sink, GUEST, rma.number)) == 1
    sent = db.scalars(select(AuditEvent).where(AuditEvent.action == "return.emailed",
                                               AuditEvent.subject_id == str(rma.id))).all()
    assert [e.data["what"] for e in sent] == ["requested"]


def test_queueing_a_return_email_never_raises(monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("broker down")
    monkeypatch.setattr("core.notifications.send_return_email.delay", broken)
    queue_return_email(1, "approved")


@pytest.mark.parametrize("what", ["requested", "approved", "rejected", "received", "refunded"])
def test_every_return_mail_has_a_text_and_an_html_template(what):
    from core.notifications import TEMPLATES
    assert (TEMPLATES / f"return_{what}.txt").exists()
    assert (TEMPLATES / f"return_{what}.html").exists()


def test_on_account_credit_no_open_invoice_took_is_kept_for_the_next_invoices(db, settings,
                                                                              smtp_sink):
    from core.billing import receivables
    from tests.factories import CustomerFactory
    from tests.unit.test_returns import on_account_order
    buyer = CustomerFactory(on_account_allowed=True, email="accounts@paid.example")
    order, invoice = on_account_order(db, "mail-paid", buyer)
    receivables.record_payment(db, customer_id=buyer.id, method="bank_transfer",
                               amount=invoice.gross_total, currency="EUR",
                               received_on=clock.today(), reference="SEPA", actor=CLERK,
                               allocations=[(invoice.id, invoice.gross_total)])
    rma = ask(db, settings, order, reason="wrong_item", key="mail-paid-r")
    returns.receive(db, rma, {rma.lines[0].id: Received(1)}, actor=WAREHOUSE, key="mail-p1")
    db.commit()
    settlement.settle(db, FakeGateway(), rma.id, actor=WAREHOUSE, commit=db.commit)
    body = text_of(smtp_sink.wait_for(buyer.email,
                                      subject=f"Your return {rma.number} is refunded"))
    assert "Kept as credit for your next invoices" in body
