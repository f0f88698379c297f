"""Payment behaviour (issue 15): days to pay, days beyond terms, worked out by hand."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import count

from core.billing.models import Allocation, Invoice
from core.credit.behaviour import Behaviour, payment_behaviour, window_start
from tests.factories import CustomerFactory
from tests.helpers import QueryCounter

TODAY = dt.date(2026, 6, 15)
_numbers = count(1)


def invoice(db, customer, *, issued, due, gross="100.00", paid=None, open_="0.00",
            kind="invoice", by="payment"):
    """An invoice issued on `issued`, due on `due`; `paid`: the dates of its allocations
    (the last settles it when nothing is left open)."""
    doc = Invoice(kind=kind, number=f"T-{next(_numbers):06d}", customer_id=customer.id,
                  currency="EUR", payment_method="on_account", terms="net30",
                  issue_date=issued, due_date=due, net_total=Decimal(gross),
                  tax_total=Decimal(0), gross_total=Decimal(gross),
                  amount_open=Decimal(open_), status="paid" if Decimal(open_) == 0 else "open")
    db.add(doc)
    db.flush()
    for on in paid or ():
        db.add(Allocation(invoice_id=doc.id, kind=by, amount=Decimal("50.00"),
                          at=dt.datetime.combine(on, dt.time(10), dt.timezone.utc)))
    db.flush()
    return doc


def d(month, day, year=2026):
    return dt.date(year, month, day)


def test_averages_by_hand(db):
    who = CustomerFactory(kind="company")
    # issued 1 Mar, due 31 Mar, paid 10 Apr: 40 days to pay, 10 late
    invoice(db, who, issued=d(3, 1), due=d(3, 31), paid=[d(3, 20), d(4, 10)])
    # issued 1 Apr, due 1 May, paid 21 Apr: 20 days, early (0 beyond terms)
    invoice(db, who, issued=d(4, 1), due=d(5, 1), paid=[d(4, 21)])
    # issued 1 May, due 31 May, paid 31 May: 30 days, on time
    invoice(db, who, issued=d(5, 1), due=d(5, 31), paid=[d(5, 31)])
    # issued 1 Jan, due 31 Jan, paid 6 Mar: 64 days, 34 late
    invoice(db, who, issued=d(1, 1), due=d(1, 31), paid=[d(3, 6)])
    found = payment_behaviour(db, [who.id], today=TODAY)[who.id]
    assert found.paid_count == 4
    assert found.paid_late_count == 2
    assert found.paid_on_time_count == 2
    assert found.days_to_pay == Decimal("38.5")  # (40 + 20 + 30 + 64) / 4
    assert found.days_beyond_terms == Decimal("11.0")  # (10 + 0 + 0 + 34) / 4
    assert found.on_time_share == Decimal("0.50") and found.on_time_percent == 50
    assert found.overdue_count == 0


def test_only_settled_invoices_of_the_last_twelve_months_count(db):
    who = CustomerFactory(kind="company")
    invoice(db, who, issued=d(3, 1), due=d(3, 31), paid=[d(4, 2)])  # 32 days, 2 late
    # settled 13 months ago: out of the window
    invoice(db, who, issued=d(4, 1, 2025), due=d(5, 1, 2025), paid=[d(5, 14, 2025)])
    # partly paid, still open: not settled, and overdue today
    invoice(db, who, issued=d(4, 1), due=d(5, 1), paid=[d(5, 3)], open_="50.00")
    # open, not yet due
    invoice(db, who, issued=d(6, 1), due=d(7, 1), open_="100.00")
    # open and overdue
    invoice(db, who, issued=d(1, 2), due=d(2, 1), open_="100.00")
    # a credit note is no invoice paid
    invoice(db, who, issued=d(3, 1), due=d(3, 1), paid=[d(3, 9)], kind="credit_note")
    found = payment_behaviour(db, [who.id], today=TODAY)[who.id]
    assert (found.paid_count, found.paid_late_count) == (1, 1)
    assert found.days_to_pay == Decimal("32.0")
    assert found.days_beyond_terms == Decimal("2.0")
    assert found.overdue_count == 2


def test_a_customer_with_no_history_gets_an_empty_behaviour(db):
    who = CustomerFactory(kind="company")
    found = payment_behaviour(db, [who.id], today=TODAY)
    assert found == {who.id: Behaviour(customer_id=who.id)}
    assert found[who.id].days_to_pay is None and found[who.id].on_time_share is None


def test_two_queries_for_any_number_of_customers(db, connection):
    people = [CustomerFactory(kind="company") for _ in range(5)]
    for i, who in enumerate(people):
        invoice(db, who, issued=d(3, 1), due=d(3, 31), paid=[d(4, 1 + i)])
        invoice(db, who, issued=d(1, 1), due=d(1, 31), open_="10.00")
    with QueryCounter(connection) as counter:
        found = payment_behaviour(db, [p.id for p in people], today=TODAY)
    assert counter.count == 2
    assert [found[p.id].days_beyond_terms for p in people] == [
        Decimal(i) for i in ("1.0", "2.0", "3.0", "4.0", "5.0")]
    assert all(found[p.id].overdue_count == 1 for p in people)


def test_today_comes_from_the_clock(db):
    from core import clock
    who = CustomerFactory(kind="company")
    today = clock.today()
    invoice(db, who, issued=today - dt.timedelta(days=40), due=today - dt.timedelta(days=10),
            open_="10.00")
    assert payment_behaviour(db, [who.id])[who.id].overdue_count == 1
    try:
        clock.travel(days=-20)
        assert payment_behaviour(db, [who.id])[who.id].overdue_count == 0
    finally:
        clock.reset()


def test_the_window_starts_a_year_ago():
    assert window_start(d(6, 15)) == d(6, 15, 2025)
    assert window_start(d(2, 29, 2028)) == d(2, 28, 2027)


def test_only_payments_make_an_invoice_paid_and_date_it(db):
    """Credit notes, write-offs and cash discounts settle, but are no payment: an invoice
    they settled alone is not paid; after a payment they do not move its day paid."""
    from core.billing.models import Payment
    who = CustomerFactory(kind="company")
    invoice(db, who, issued=d(3, 1), due=d(3, 31), paid=[d(5, 20)], by="credit_note")
    invoice(db, who, issued=d(3, 1), due=d(3, 31), paid=[d(5, 20)], by="write_off")
    mixed = invoice(db, who, issued=d(4, 1), due=d(5, 1), paid=[d(4, 20)])
    db.add(Allocation(invoice_id=mixed.id, kind="write_off", amount=Decimal("50.00"),
                      at=dt.datetime(2026, 6, 1, 10, tzinfo=dt.timezone.utc)))
    # recorded on 10 Jun, received on 3 Jun: paid on the 3rd (33 days to pay, 3 late)
    money = Payment(customer_id=who.id, method="bank_transfer", amount=Decimal("100.00"),
                    amount_unallocated=Decimal(0), currency="EUR", received_on=d(6, 3))
    db.add(money)
    db.flush()
    received = invoice(db, who, issued=d(5, 1), due=d(5, 31))
    db.add(Allocation(invoice_id=received.id, kind="payment", payment_id=money.id,
                      amount=Decimal("100.00"),
                      at=dt.datetime(2026, 6, 10, 10, tzinfo=dt.timezone.utc)))
    db.flush()
    found = payment_behaviour(db, [who.id], today=TODAY)[who.id]
    assert (found.paid_count, found.paid_late_count) == (2, 1)
    assert found.days_to_pay == Decimal("26.0")  # (19 + 33) / 2
    assert found.days_beyond_terms == Decimal("1.5")  # (0 + 3) / 2
