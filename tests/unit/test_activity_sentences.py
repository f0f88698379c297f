"""Recent activity in words (core.reporting.activity): each audit event told as a sentence,
the documents it names marked as links, unknown events in a readable form of their name."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from core import audit
from core.audit import AuditEvent
from core.customers.models import Customer
from core.money import Money
from core.orders.models import Order
from core.reporting.activity import Part, Subject, describe, load_subjects, readable, \
    recent_activity
from tests.helpers import QueryCounter

AT = dt.datetime(2026, 12, 6, 9, 30, tzinfo=dt.timezone.utc)


def event(action: str, subject_type: str | None = None, subject_id: str | None = "1", *,
          actor_kind: str = "customer", actor_label: str = "", **data) -> AuditEvent:
    return AuditEvent(at=AT, actor_kind=actor_kind, actor_label=actor_label, channel="web",
                      action=action, subject_type=subject_type, subject_id=subject_id,
                      data=data)


def links(activity) -> list[tuple[str, str, str]]:
    return [(p.kind, p.key, p.text) for p in activity.parts if p.kind]


ADA = Subject("SO-000012", "Ada Guest", "", Money(Decimal("413.90"), "EUR"))
ACME_INVOICE = Subject("INV-000005", "Acme Corp", "C-000002", Money(Decimal("1190"), "EUR"),
                       kind="invoice")


def test_an_order_placed_in_the_shop_names_the_buyer_and_the_total():
    a = describe(event("order.placed", "orders"), ADA)
    assert a.text == "Order SO-000012 placed by Ada Guest, 413.90 EUR"
    assert links(a) == [("order", "SO-000012", "SO-000012")]  # a guest has no customer page


def test_an_order_taken_on_the_phone_names_the_agent_and_links_the_customer():
    acme = Subject("SO-000013", "Acme Corp", "C-000002", Money(Decimal("50"), "EUR"))
    a = describe(event("order.placed", "orders", actor_kind="agent",
                       actor_label="agent@marketline.example"), acme)
    assert a.text == "Order SO-000013 taken by agent@marketline.example for Acme Corp, 50.00 EUR"
    assert links(a) == [("order", "SO-000013", "SO-000013"),
                        ("customer", "C-000002", "Acme Corp")]


def test_an_invoice_and_a_credit_note_issued():
    a = describe(event("invoice.issued", "invoices", actor_kind="system"), ACME_INVOICE)
    assert a.text == "Invoice INV-000005 issued to Acme Corp, 1,190.00 EUR"
    assert links(a)[0] == ("invoice", "INV-000005", "INV-000005")
    note = Subject("CN-000001", "Acme Corp", "C-000002", Money(Decimal("-10"), "EUR"),
                   kind="credit_note")
    assert describe(event("credit_note.issued", "invoices"), note).text.startswith(
        "Credit note CN-000001 issued to Acme Corp")


def test_a_return_requested_and_approved():
    rosa = Subject("RMA-000001", "Rosa Return", "C-000009", Money(Decimal("279"), "EUR"))
    assert describe(event("return.requested", "returns"), rosa).text == \
        "Return RMA-000001 requested by Rosa Return, 279.00 EUR"
    approved = describe(event("return.approved", "returns", actor_kind="agent",
                              actor_label="Alex"), rosa)
    assert approved.text == "Return RMA-000001 of Rosa Return approved by Alex"


def test_a_payment_received_from_a_customer():
    paid = Subject("", "Acme Corp", "C-000002", Money(Decimal("100"), "EUR"), kind="bank_transfer")
    a = describe(event("payment.recorded", "payments", actor_kind="agent"), paid)
    assert a.text == "Payment of 100.00 EUR received from Acme Corp"
    assert links(a) == [("customer", "C-000002", "Acme Corp")]


def test_a_quote_requested_and_a_hold_placed():
    quote = Subject("QT-000001", "Acme Corp", "C-000002", Money(Decimal("0"), "EUR"))
    assert describe(event("quote.requested", "quotes"), quote).text == \
        "Quote QT-000001 requested by Acme Corp"
    held = describe(event("order.hold_placed", "orders", actor_kind="system",
                          kind="credit", reason="over_limit"), ADA)
    assert held.text == "Order SO-000012 of Ada Guest put on credit hold by the system"


def test_an_event_whose_document_is_gone_uses_what_the_event_remembers():
    a = describe(event("order.placed", "orders", number="SO-000099", total="12.50",
                       currency="EUR"), None)
    assert a.text == "Order SO-000099 placed by a guest, 12.50 EUR"


def test_other_events_read_as_their_labels():
    assert readable("agent.mfa_enrolled") == "Two-step sign-in turned on"
    assert readable("shipping_method.created") == "Shipping method created"
    assert readable("widget.frobbed") == "Widget frobbed"  # no label yet: still words
    a = describe(event("agent.mfa_enrolled", "agents"), None)
    assert a.parts == (Part("Two-step sign-in turned on"),)


def test_subjects_are_read_with_their_customers_in_one_query(db, connection):
    acme = db.scalar(select(Customer).where(Customer.name == "Acme Corp"))
    orders = db.scalars(select(Order).where(Order.customer_id == acme.id).limit(3)).all()
    system = audit.Actor.system("test")
    events = [audit.record(db, "order.placed", actor=system, channel="web", subject=o)
              for o in orders]
    events.append(audit.record(db, "customer.updated", actor=system, channel="console",
                               subject=acme))
    db.flush()
    with QueryCounter(connection) as counted:
        subjects = load_subjects(db, events)
    assert counted.count == 1
    assert subjects[("orders", str(orders[0].id))].number == orders[0].number
    assert subjects[("orders", str(orders[0].id))].party == "Acme Corp"
    assert subjects[("customers", str(acme.id))].customer_number == acme.number
    latest = recent_activity(db, limit=1)[0]
    assert latest.text == f"Acme Corp ({acme.number}) updated by test"
