"""Helpers for the collections tests: customers on account with invoices overdue by a given
number of days (issued the real way, back-dated through issue_free_text's `today`), and
payments on them."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from core import clock
from core.audit import Actor
from core.billing import invoicing, receivables
from core.billing.models import Invoice
from core.customers.models import Customer
from core.numbering import next_number

CLERK = Actor("agent", None, "collections clerk")


def account_customer(db, name: str, **kwargs) -> Customer:
    customer = Customer(number=next_number(db, "customer"), kind="company", name=name,
                        email=f"{name.lower().replace(' ', '.')}@collections.example",
                        payment_terms="net30", on_account_allowed=True, price_group="business",
                        **kwargs)
    db.add(customer)
    db.flush()
    return customer


def overdue_invoice(db, customer: Customer, amount: str, days_overdue: int) -> Invoice:
    """An invoice of `amount` (no tax) due `days_overdue` days before clock.today()
    (negative: not yet due)."""
    issued = clock.today() - dt.timedelta(days=30 + days_overdue)
    return invoicing.issue_free_text(
        db, customer=customer, actor=CLERK, terms="net30", today=issued,
        lines=[invoicing.FreeTextLine("Consulting", 1, Decimal(amount), Decimal(0))])


def pay(db, invoice: Invoice, amount: str, *, received_on: dt.date | None = None):
    return receivables.record_payment(
        db, customer_id=invoice.customer_id, method="bank_transfer", amount=Decimal(amount),
        currency=invoice.currency, received_on=received_on or clock.today(),
        reference=f"SEPA {invoice.number}", actor=CLERK,
        allocations=[(invoice.id, Decimal(amount))])
