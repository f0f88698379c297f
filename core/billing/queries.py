"""Read side of invoices and credit notes for the customer they were issued to: the list
(the balance above it is core.billing.receivables.customer_balance), one document with what the printed copy says, and the
documents of one order (what a guest sees on the order page).

Every function is scoped: a signed-in login reaches only documents of its customer, and of
those what core.customers.roles lets it see (a person and a company's approvers and admins
every one, a company buyer the documents of orders they placed themselves). Anything else
is NotFound, so a URL says nothing about documents that are not the asker's.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased, selectinload

from core import clock
from core.billing.invoicing import TERMS
from core.billing.models import Allocation, Invoice, Refund
from core.customers import roles
from core.customers.models import Customer, CustomerUser
from core.db import utcnow
from core.errors import NotFound
from core.money import Money
from core.orders.models import Order
from core.paging import Page, paginate

PER_PAGE = 20
NOT_FOUND = "We could not find that invoice."

SETTLEMENT_LABELS = {"payment": "Amount paid", "credit_note": "Credited",
                     "cash_discount": "Cash discount", "write_off": "Written off"}
CREDIT_USE_LABELS = {"applied": "Set against invoices", "refunded": "Refunded"}
STATUS_LABELS = {"open": "Open", "partially_paid": "Partly paid", "paid": "Paid"}
# A credit note's open amount is money held for the customer, so its words differ.
CREDIT_STATUS_LABELS = {"open": "Credit available", "partially_paid": "Partly used",
                        "paid": "Settled"}


def business_today() -> dt.date:
    """The business date of the real now (core.clock's zone; not moved by clock.travel)."""
    return clock.business_date(utcnow())


def status_label(invoice: Invoice) -> str:
    labels = CREDIT_STATUS_LABELS if invoice.is_credit_note else STATUS_LABELS
    return labels.get(invoice.status, invoice.status.replace("_", " "))


def is_overdue(invoice: Invoice, today: dt.date) -> bool:
    """An invoice with money still open after its due date (credit notes are never overdue)."""
    return (not invoice.is_credit_note and invoice.amount_open > 0
            and invoice.due_date < today)


class _DocumentStatus:
    """What the list row and the detail view both say about their document's status."""

    invoice: Invoice

    @property
    def status_label(self) -> str:
        return status_label(self.invoice)

    @property
    def payable(self) -> bool:
        return not self.invoice.is_credit_note and self.invoice.amount_open > 0


@dataclass(frozen=True)
class InvoiceRow(_DocumentStatus):
    """One line of the customer's list: the document and the number of its order."""

    invoice: Invoice
    order_number: str | None
    today: dt.date

    @property
    def overdue(self) -> bool:
        return is_overdue(self.invoice, self.today)


def _seen_by(viewer: CustomerUser):
    """The documents `viewer` may see (core.customers.roles); Order is outer-joined."""
    if not isinstance(viewer, CustomerUser):
        raise TypeError("pass the signed-in CustomerUser: what it sees depends on its role "
                        "(core.customers.roles)")
    return roles.owned_by(viewer, Invoice.customer_id, Order.placed_by_kind,
                          Order.placed_by_id)


def customer_invoices(session: Session, viewer: CustomerUser, *, page: int = 1,
                      per_page: int = PER_PAGE,
                      today: dt.date | None = None) -> Page[InvoiceRow]:
    """One page of the invoices and credit notes the login sees, newest first. Two queries."""
    today = today or business_today()
    scope = _seen_by(viewer)
    found = paginate(session, select(Invoice, Order.number)
                     .outerjoin(Order, Order.id == Invoice.order_id)
                     .where(scope).order_by(Invoice.issue_date.desc(), Invoice.id.desc()),
                     page=page, per_page=per_page,
                     count=select(func.count()).select_from(Invoice)
                     .outerjoin(Order, Order.id == Invoice.order_id).where(scope))
    return found.map(lambda row: InvoiceRow(row[0], row[1], today))


def _invoice_numbered(session: Session, number: str, scope) -> Invoice:
    """The invoice or credit note with this number within scope (Order outer-joined), with
    its lines and taxes; NotFound for any other."""
    invoice = session.scalar(
        select(Invoice).outerjoin(Order, Order.id == Invoice.order_id)
        .where(Invoice.number == number.strip().upper(), scope)
        .options(selectinload(Invoice.lines), selectinload(Invoice.tax_lines)))
    if invoice is None:
        raise NotFound(NOT_FOUND)
    return invoice


def customer_invoice(session: Session, viewer: CustomerUser, number: str) -> Invoice:
    """An invoice or credit note the login sees, by number; NotFound otherwise."""
    return _invoice_numbered(session, number, _seen_by(viewer))


def order_invoice(session: Session, order_id: int, number: str) -> Invoice:
    """An invoice or credit note of this order by number; NotFound for any other."""
    return _invoice_numbered(session, number, Invoice.order_id == order_id)


def order_invoices(session: Session, order_id: int) -> list[Invoice]:
    """The invoices and credit notes issued for one order, oldest first. One query."""
    return list(session.scalars(select(Invoice).where(Invoice.order_id == order_id)
                                .order_by(Invoice.issue_date, Invoice.id)))


@dataclass(frozen=True)
class InvoiceView(_DocumentStatus):
    """An invoice or credit note with what its printed copy and detail page say about it."""

    invoice: Invoice
    order_number: str | None = None
    po_number: str = ""
    credited_number: str | None = None
    customer_number: str | None = None
    today: dt.date | None = None
    # What settled the invoice so far, by allocation kind (payment, credit_note,
    # cash_discount, write_off); empty when not looked up.
    settled: dict[str, Decimal] = field(default_factory=dict)

    def money(self, value: Decimal) -> Money:
        return Money(value, self.invoice.currency)

    @property
    def title(self) -> str:
        return "Credit note" if self.invoice.is_credit_note else "Invoice"

    @property
    def amount_paid(self) -> Decimal:
        """What was settled on the document so far (for a credit note: what was used)."""
        return self.invoice.gross_total - self.invoice.amount_open

    @property
    def settlements(self) -> list[tuple[str, Decimal]]:
        """How the document was settled so far, printed above the amount open: an invoice
        paid, credited, discounted, written off; a credit note set against invoices or
        refunded."""
        labels = CREDIT_USE_LABELS if self.invoice.is_credit_note else SETTLEMENT_LABELS
        rows = [(label, self.settled[kind]) for kind, label in labels.items()
                if self.settled.get(kind)]
        if rows:
            return rows
        return [("Used or refunded" if self.invoice.is_credit_note else "Amount paid",
                 self.amount_paid)]

    @property
    def overdue(self) -> bool:
        return is_overdue(self.invoice, self.today or business_today())

    @property
    def has_discounts(self) -> bool:
        return any(line.discount for line in self.invoice.lines)

    @property
    def cash_discount(self) -> Money | None:
        """The cash discount on the whole amount, when the terms give one."""
        inv = self.invoice
        if inv.is_credit_note or not inv.cash_discount_percent or not inv.cash_discount_until:
            return None
        return Money(inv.gross_total * inv.cash_discount_percent / 100, inv.currency).rounded()

    @property
    def terms(self) -> list[str]:
        """The payment terms in sentences, as printed under the totals."""
        inv = self.invoice
        if inv.is_credit_note:
            if inv.amount_open <= 0:
                return ["This credit note is settled in full."]
            return [f"The credit of {self.money(inv.amount_open).format()} is set against "
                    "your next invoices, or refunded to you on request."]
        if inv.status == "paid":
            return ["Paid in full. Thank you."]
        if inv.payment_method == "card" and inv.terms == "card":
            return ["Payable by card on receipt."]
        terms = TERMS.get(inv.terms)
        sentences = [f"Terms: {terms.label}."] if terms and terms.code != "card" else []
        if discount := self.cash_discount:
            due = self.money(inv.amount_open)
            discount = min(discount, due)
            sentences.append(
                f"{_percent(inv.cash_discount_percent)} cash discount ({discount.format()}) "
                f"if paid by {inv.cash_discount_until:%d %b %Y}: pay {(due - discount).format()}; "
                f"net {due.format()} by {inv.due_date:%d %b %Y}.")
        elif inv.due_date <= inv.issue_date:
            sentences.append("Payable on receipt, without deduction.")
        else:
            days = (inv.due_date - inv.issue_date).days
            sentences.append(f"Payable without deduction within {days} days, "
                             f"by {inv.due_date:%d %b %Y}.")
        sentences.append(f"Please quote {inv.number} with your payment.")
        return sentences


def _percent(value: Decimal) -> str:
    """2.0000 -> '2 %', 1.5000 -> '1.5 %'."""
    text = format(value.normalize(), "f")
    return f"{text} %"


def tax_percent(rate: Decimal) -> str:
    """A tax rate kept as a fraction (0.19) as people print it ('19 %')."""
    return _percent(rate * 100)


def describe(session: Session, invoice: Invoice, *, today: dt.date | None = None) -> InvoiceView:
    """The document with its order and PO number, the invoice it credits, the customer
    number and what settled it. Two queries."""
    credited = aliased(Invoice)
    row = session.execute(
        select(Order.number, Order.po_number, credited.number, Customer.number)
        .select_from(Invoice)
        .outerjoin(Order, Order.id == Invoice.order_id)
        .outerjoin(credited, credited.id == Invoice.credited_invoice_id)
        .outerjoin(Customer, Customer.id == Invoice.customer_id)
        .where(Invoice.id == invoice.id)).one()
    if invoice.is_credit_note:
        settled = {
            "applied": session.scalar(select(func.sum(Allocation.amount))
                                      .where(Allocation.credit_note_id == invoice.id)),
            "refunded": session.scalar(select(func.sum(Refund.amount))
                                       .where(Refund.credit_note_id == invoice.id,
                                              Refund.status == "succeeded"))}
    else:
        settled = dict(session.execute(
            select(Allocation.kind, func.sum(Allocation.amount))
            .where(Allocation.invoice_id == invoice.id).group_by(Allocation.kind)).all())
    return InvoiceView(invoice, order_number=row[0], po_number=row[1] or "",
                       credited_number=row[2], customer_number=row[3], today=today,
                       settled=settled)
