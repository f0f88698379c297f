"""The books as billing staff read them: invoice lists and detail, a customer's
receivables and statement, the allocation suggested for a payment received, the trial
balance and the journal. (core.billing.queries is what a customer sees of their invoices.)

Every list runs a fixed number of queries whatever its length (the docstrings say how
many); the console's tests count them.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from core import audit, clock, events
from core.billing import (ageing, credit_requests, invoicing, ledger, queries, receivables,
                          reconcile)
from core.billing.models import (Allocation, CreditNoteRequest, GiftCard, GiftCardMovement,
                                 Invoice, JournalEntry, Payment, Refund)
from core.customers.addresses import COUNTRIES
from core.customers.models import Customer
from core.errors import NotFound
from core.money import Money, minor_units
from core.orders.models import Order
from core.paging import Page, paginate
from core.parsing import parse_int
from core.pricing.models import TaxRate

ZERO = Decimal(0)
PER_PAGE = 50
STATEMENT_ROWS = 100

STATUS_FILTERS = {"open": "Open", "overdue": "Overdue", "paid": "Paid",
                  "credit_notes": "Credit notes", "all": "All documents"}
JOURNAL_KINDS = {"invoice": "Invoice", "credit_note": "Credit note", "payment": "Payment",
                 "allocation": "Credit used", "refund": "Refund", "write_off": "Write-off",
                 "cash_discount": "Cash discount", "gift_card_sale": "Gift card sold",
                 "gift_card_redemption": "Gift card redeemed", "reversal": "Reversal"}
# the invoice list's age filter: a bucket of core.billing.ageing (its one definition), in
# the words of a list of open invoices
AGE_FILTERS = {"current": "Not yet due", "d1_30": "1–30 days overdue",
               "d31_60": "31–60 days overdue", "d61_90": "61–90 days overdue",
               "over_90": "Over 90 days overdue"}
assert list(AGE_FILTERS) == list(ageing.BUCKETS)
ALLOCATION_LABELS = {"payment": "Payment", "credit_note": "Credit note",
                     "write_off": "Write-off", "cash_discount": "Cash discount"}


# -- invoices ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class InvoiceFilters:
    status: str = "all"  # a key of STATUS_FILTERS
    customer: str = ""  # a customer number, or part of a name
    number: str = ""  # part of an invoice or credit-note number
    age: str = ""  # a key of AGE_FILTERS: open invoices of that ageing bucket


@dataclass(frozen=True)
class InvoiceRow:
    invoice: Invoice
    customer_number: str | None
    customer_name: str | None
    order_number: str | None
    today: dt.date

    @property
    def overdue(self) -> bool:
        return queries.is_overdue(self.invoice, self.today)

    @property
    def days_overdue(self) -> int:
        """Days past the due date while money is open; 0 when not overdue."""
        return (self.today - self.invoice.due_date).days if self.overdue else 0

    @property
    def status_label(self) -> str:
        return queries.status_label(self.invoice)

    def money(self, value: Decimal) -> Money:
        return Money(value, self.invoice.currency)


_like = ledger.like_pattern


def _invoice_conditions(filters: InvoiceFilters, today: dt.date) -> list:
    is_invoice = Invoice.kind == "invoice"
    conditions = {
        "open": [is_invoice, Invoice.amount_open > 0],
        "overdue": [is_invoice, Invoice.amount_open > 0, Invoice.due_date < today],
        "paid": [is_invoice, Invoice.status == "paid"],
        "credit_notes": [Invoice.kind == "credit_note"],
    }.get(filters.status, [])
    if customer := " ".join(filters.customer.split())[:100]:
        conditions.append(or_(Customer.number == customer.upper(),
                              Customer.name.ilike(_like(customer), escape="\\")))
    if number := filters.number.strip()[:20]:
        conditions.append(Invoice.number.like(_like(number.upper()), escape="\\"))
    if filters.age in AGE_FILTERS:
        conditions += [is_invoice, Invoice.amount_open > 0,
                       *ageing.due_in(Invoice.due_date, filters.age, today)]
    return conditions


def invoice_list(session: Session, filters: InvoiceFilters, *, page: int = 1,
                 per_page: int = PER_PAGE,
                 today: dt.date | None = None) -> Page[InvoiceRow]:
    """One page of invoices and credit notes, newest first, with customer and order.
    Two queries."""
    today = today or queries.business_today()
    conditions = _invoice_conditions(filters, today)
    found = paginate(
        session, select(Invoice, Customer.number, Customer.name, Order.number)
        .outerjoin(Customer, Customer.id == Invoice.customer_id)
        .outerjoin(Order, Order.id == Invoice.order_id)
        .where(*conditions)
        .order_by(Invoice.issue_date.desc(), Invoice.id.desc()),
        page=page, per_page=per_page,
        count=select(func.count(Invoice.id)).select_from(Invoice)
        .outerjoin(Customer, Customer.id == Invoice.customer_id).where(*conditions))
    return found.map(lambda row: InvoiceRow(*row, today))


def invoice_ageing(session: Session, filters: InvoiceFilters, *,
                   today: dt.date | None = None) -> list[ageing.Buckets]:
    """What is open of the invoices the filters show, by age (the buckets of
    core.billing.ageing), per currency; the age filter is left out, so every bucket shows.
    One query."""
    today = today or queries.business_today()
    conditions = _invoice_conditions(replace(filters, age=""), today)
    rows = (select(Invoice.currency.label("currency"), Invoice.due_date.label("due_date"),
                   Invoice.amount_open.label("open"))
            .outerjoin(Customer, Customer.id == Invoice.customer_id)
            .where(*conditions, Invoice.kind == "invoice", Invoice.amount_open > 0)
            .subquery("shown"))
    found = session.execute(select(rows.c.currency, *ageing.bucket_sums(rows, today))
                            .group_by(rows.c.currency).order_by(rows.c.currency)).all()
    return [ageing.Buckets(cur, *(Decimal(v or 0) for v in sums)) for cur, *sums in found]


@dataclass(frozen=True)
class AllocationRow:
    """One step in settling a document: what settled it, how much, when, by whom."""

    kind: str
    amount: Decimal
    at: dt.datetime
    by: str
    note: str
    document: str | None = None  # the credit note used, or (on a credit note) the invoice
    method: str | None = None  # the payment's method
    reference: str = ""

    @property
    def label(self) -> str:
        if self.method:
            return f"Payment ({receivables.METHODS.get(self.method, self.method)})"
        return ALLOCATION_LABELS.get(self.kind, self.kind)


@dataclass(frozen=True)
class CardPayment:
    """A card payment behind an invoice, and what may still go back to the card."""

    payment: Payment
    refundable: Decimal


@dataclass(frozen=True)
class InvoiceDetail:
    invoice: Invoice
    view: queries.InvoiceView
    customer: Customer | None
    allocations: list[AllocationRow]
    credit_notes: list[Invoice]
    refunds: list[Refund]
    creditable: dict[int, int]  # invoice line id -> quantity not yet credited
    card_payments: list[CardPayment]
    requests: list[CreditNoteRequest] = field(default_factory=list)  # newest first
    # what of this credit note goes back to the gift card(s) that paid the invoice
    gift_card_returnable: Decimal = ZERO

    def money(self, value: Decimal) -> Money:
        return Money(value, self.invoice.currency)

    @property
    def waiting(self) -> list[CreditNoteRequest]:
        """Credit note requests awaiting approval (at most one at a time)."""
        return [r for r in self.requests if r.status == "requested"]

    @property
    def decided(self) -> list[CreditNoteRequest]:
        return [r for r in self.requests if r.status != "requested"]

    @property
    def nothing_paid(self) -> bool:
        """Nothing settled yet: the invoice may still be cancelled."""
        inv = self.invoice
        return not inv.is_credit_note and inv.amount_open == inv.gross_total > 0

    @property
    def can_credit(self) -> bool:
        return not self.invoice.is_credit_note and any(q > 0 for q in self.creditable.values())

    @property
    def card_refundable(self) -> Decimal:
        """What of this credit note may go back to the card it was paid with."""
        if not self.invoice.is_credit_note:
            return ZERO
        on_cards = sum((c.refundable for c in self.card_payments), ZERO)
        return max(ZERO, min(self.invoice.amount_open, on_cards))

    @property
    def paid_by_card(self) -> bool:
        return bool(self.card_payments)


def find_invoice(session: Session, number: str) -> Invoice:
    """An invoice or credit note by number, with its lines and taxes; NotFound otherwise."""
    invoice = session.scalar(
        select(Invoice).where(Invoice.number == number.strip().upper()[:20])
        .options(selectinload(Invoice.lines), selectinload(Invoice.tax_lines)))
    if invoice is None:
        raise NotFound(queries.NOT_FOUND)
    return invoice


def _allocations(session: Session, invoice: Invoice) -> list[AllocationRow]:
    other = aliased(Invoice)
    if invoice.is_credit_note:  # where this credit note's money went
        where = Allocation.credit_note_id == invoice.id
        join_on = other.id == Allocation.invoice_id
    else:
        where = Allocation.invoice_id == invoice.id
        join_on = other.id == Allocation.credit_note_id
    rows = session.execute(
        select(Allocation, other.number, Payment.method, Payment.reference)
        .outerjoin(other, join_on).outerjoin(Payment, Payment.id == Allocation.payment_id)
        .where(where).order_by(Allocation.at, Allocation.id)).all()
    return [AllocationRow(a.kind, a.amount, a.at, a.by, a.note, doc, method, ref or "")
            for a, doc, method, ref in rows]


def card_payments(session: Session, invoice: Invoice) -> list[CardPayment]:
    """The card payments of the invoice (or of the invoice a credit note corrects): those
    allocated to it and those taken for its order."""
    target = invoice.credited_invoice_id if invoice.is_credit_note else invoice.id
    order_id = invoice.order_id
    scope = [Payment.id.in_(select(Allocation.payment_id).where(Allocation.invoice_id == target,
                                                                Allocation.payment_id.is_not(None)))]
    if order_id is not None:
        scope.append(Payment.order_id == order_id)
    payments = session.scalars(select(Payment).where(
        Payment.method == "card", Payment.stripe_id.is_not(None), or_(*scope))
        .order_by(Payment.id)).all()
    found = []
    for payment in payments:
        refundable = receivables.refundable_to_card(session, payment)
        found.append(CardPayment(payment, refundable))
    return found


def invoice_detail(session: Session, number: str, *, today: dt.date | None = None
                   ) -> InvoiceDetail:
    """Everything the invoice page shows. NotFound for an unknown number."""
    invoice = find_invoice(session, number)
    customer = session.get(Customer, invoice.customer_id) if invoice.customer_id else None
    notes = [] if invoice.is_credit_note else list(session.scalars(
        select(Invoice).where(Invoice.credited_invoice_id == invoice.id)
        .order_by(Invoice.issue_date, Invoice.id)))
    refunds = list(session.scalars(select(Refund).where(Refund.credit_note_id == invoice.id)
                                   .order_by(Refund.recorded_at, Refund.id))) \
        if invoice.is_credit_note else []
    return InvoiceDetail(
        invoice=invoice, view=queries.describe(session, invoice, today=today),
        customer=customer, allocations=_allocations(session, invoice), credit_notes=notes,
        refunds=refunds,
        creditable={} if invoice.is_credit_note else invoicing.creditable(session, invoice),
        card_payments=card_payments(session, invoice),
        requests=[] if invoice.is_credit_note else credit_requests.for_invoice(session, invoice),
        gift_card_returnable=receivables.gift_card_returnable(session, invoice)
        if invoice.is_credit_note and invoice.amount_open > 0 else ZERO)


def note_email_resent(session: Session, invoice: Invoice, *, actor: audit.Actor) -> None:
    """Record that an agent asked for the document to be e-mailed again; it goes once this
    commits."""
    audit.record(session, "invoice.email_requested", actor=actor, channel="backoffice",
                 subject=invoice, data={"number": invoice.number, "to": invoice.email})
    events.record(session, events.InvoiceEmailRequested(invoice.id, resend=True))


# -- free-text invoices: the tax rates to choose from --------------------------------------

@dataclass(frozen=True)
class TaxOption:
    value: str  # the rate as a fraction, "0.19"
    label: str
    country: str


def tax_rate_options(session: Session, *, home_country: str, on: dt.date | None = None
                     ) -> list[TaxOption]:
    """The catalogue's tax rates valid on the day: the home country's first (highest rate
    first), then the other countries', then no tax. One query."""
    on = on or queries.business_today()
    rates = session.scalars(select(TaxRate).where(
        TaxRate.valid_from <= on, or_(TaxRate.valid_to.is_(None), TaxRate.valid_to >= on),
        TaxRate.region == "").order_by(TaxRate.country, TaxRate.rate.desc())).all()
    rates = sorted(rates, key=lambda r: (r.country != home_country, r.country, -r.rate))
    options, seen = [], set()
    for rate in rates:
        value = format(rate.rate.normalize(), "f")
        if (rate.country, value) in seen:
            continue
        seen.add((rate.country, value))
        country = COUNTRIES.get(rate.country, rate.country)
        options.append(TaxOption(value, f"{rate.name} ({queries.tax_percent(rate.rate)})", country))
    options.append(TaxOption("0", "No tax (0 %)", "Other"))
    return options


# -- a customer's receivables ------------------------------------------------------------

@dataclass(frozen=True)
class CreditSource:
    """Customer credit: a payment's unallocated part, or a credit note's open amount."""

    kind: str  # payment | credit_note
    id: int
    currency: str
    available: Decimal
    date: dt.date
    label: str
    order_number: str | None = None  # a prepayment held for this order

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.id}"

    def money(self, value: Decimal | None = None) -> Money:
        return Money(self.available if value is None else value, self.currency)


@dataclass(frozen=True)
class StatementRow:
    date: dt.date
    kind: str  # invoice | credit_note | payment | refund | gift_card
    reference: str
    description: str
    currency: str
    charge: Decimal  # what the customer owes more
    credit: Decimal  # what the customer owes less
    number: str | None = None  # a document to link to

    def money(self, value: Decimal) -> Money:
        return Money(value, self.currency)


@dataclass(frozen=True)
class Receivables:
    customer: Customer
    balance: receivables.Balance
    open_invoices: list[Invoice]
    credit: list[CreditSource]
    statement: list[StatementRow]
    today: dt.date

    def money(self, value: Decimal) -> Money:
        return Money(value, self.balance.currency)

    def overdue(self, invoice: Invoice) -> bool:
        return queries.is_overdue(invoice, self.today)


def find_customer(session: Session, number: str) -> Customer:
    customer = session.scalar(select(Customer).where(
        Customer.number == " ".join(number.split()).upper()[:20]))
    if customer is None:
        raise NotFound("We could not find that customer.")
    return customer


def customer_invoice(session: Session, customer_id: int, invoice_id: str) -> Invoice | None:
    """The customer's invoice with this id (as a form sends it); None for any other."""
    if (found := parse_int(invoice_id, low=1)) is None:  # "²" is a digit to isdigit()
        return None
    invoice = session.get(Invoice, found)
    return invoice if invoice is not None and invoice.customer_id == customer_id else None


def open_invoices(session: Session, customer_id: int, currency: str | None = None
                  ) -> list[Invoice]:
    """The customer's invoices with money open, oldest due first. One query."""
    stmt = select(Invoice).where(Invoice.customer_id == customer_id, Invoice.kind == "invoice",
                                 Invoice.amount_open > 0)
    if currency:
        stmt = stmt.where(Invoice.currency == currency)
    return list(session.scalars(stmt.order_by(Invoice.due_date, Invoice.issue_date, Invoice.id)))


def credit_sources(session: Session, customer_id: int) -> list[CreditSource]:
    """Unallocated payments and open credit notes, oldest first. Two queries."""
    payments = session.execute(
        select(Payment, Order.number).outerjoin(Order, Order.id == Payment.order_id)
        .where(Payment.customer_id == customer_id, Payment.amount_unallocated > 0)
        .order_by(Payment.received_on, Payment.id)).all()
    notes = session.scalars(
        select(Invoice).where(Invoice.customer_id == customer_id,
                              Invoice.kind == "credit_note", Invoice.amount_open > 0)
        .order_by(Invoice.issue_date, Invoice.id)).all()
    found = [CreditSource("payment", p.id, p.currency, p.amount_unallocated, p.received_on,
                          f"{receivables.METHODS.get(p.method, p.method)} of "
                          f"{Money(p.amount, p.currency).format()}"
                          + (f", {p.reference}" if p.reference else ""), order_number)
             for p, order_number in payments]
    found += [CreditSource("credit_note", n.id, n.currency, n.amount_open, n.issue_date,
                           f"Credit note {n.number}") for n in notes]
    return found


def find_credit_source(session: Session, customer_id: int, key: str
                       ) -> tuple[Payment | None, Invoice | None]:
    """The payment or credit note named by a CreditSource key, if it is this customer's."""
    kind, _, raw = key.partition("-")
    source_id = parse_int(raw, low=1)  # "payment-²" is no credit, nor 20 digits
    if source_id is None or kind not in ("payment", "credit_note"):
        raise NotFound("We could not find that credit.")
    if kind == "payment":
        payment = session.get(Payment, source_id)
        if payment is None or payment.customer_id != customer_id:
            raise NotFound("We could not find that credit.")
        return payment, None
    note = session.get(Invoice, source_id)
    if note is None or note.customer_id != customer_id or note.kind != "credit_note":
        raise NotFound("We could not find that credit.")
    return None, note


def statement(session: Session, customer_id: int, *, limit: int = STATEMENT_ROWS
              ) -> list[StatementRow]:
    """The customer's latest documents, payments, refunds and gift cards bought with their
    payments, newest first. Four queries."""
    docs = session.scalars(select(Invoice).where(Invoice.customer_id == customer_id)
                           .order_by(Invoice.issue_date.desc(), Invoice.id.desc())
                           .limit(limit)).all()
    payments = session.scalars(select(Payment).where(Payment.customer_id == customer_id)
                               .order_by(Payment.received_on.desc(), Payment.id.desc())
                               .limit(limit)).all()
    refunds = session.scalars(select(Refund).where(Refund.customer_id == customer_id,
                                                   Refund.status == "succeeded")
                              .order_by(Refund.recorded_at.desc(), Refund.id.desc())
                              .limit(limit)).all()
    cards = session.execute(
        select(GiftCardMovement, GiftCard.last4, GiftCard.currency)
        .join(GiftCard, GiftCard.id == GiftCardMovement.gift_card_id)
        .join(Payment, Payment.id == GiftCardMovement.payment_id)
        .where(Payment.customer_id == customer_id, GiftCardMovement.kind == "issue")
        .order_by(GiftCardMovement.at.desc(), GiftCardMovement.id.desc()).limit(limit)).all()
    rows = [StatementRow(clock.business_date(m.at), "gift_card", f"Gift card …{last4}",
                         f"Gift card bought with {m.reference}", currency, m.amount, ZERO)
            for m, last4, currency in cards]
    for d in docs:
        if d.is_credit_note:
            rows.append(StatementRow(d.issue_date, d.kind, d.number, d.reason or "Credit note",
                                     d.currency, ZERO, d.gross_total, d.number))
        else:
            rows.append(StatementRow(d.issue_date, d.kind, d.number,
                                     f"Invoice, due {d.due_date:%d %b %Y}", d.currency,
                                     d.gross_total, ZERO, d.number))
    rows += [StatementRow(p.received_on, "payment", p.reference,
                          receivables.METHODS.get(p.method, p.method) + " received",
                          p.currency, ZERO, p.amount) for p in payments]
    rows += [StatementRow(clock.business_date(r.recorded_at), "refund",
                          r.reference or r.stripe_id or "",
                          "Refund " + receivables.REFUND_LABELS.get(r.method, r.method),
                          r.currency, r.amount, ZERO) for r in refunds]
    rows.sort(key=lambda r: r.date, reverse=True)
    return rows[:limit]


def customer_receivables(session: Session, customer: Customer, *,
                         today: dt.date | None = None) -> Receivables:
    """The receivables page: balance, open invoices, credit and statement. Nine queries."""
    today = today or queries.business_today()
    return Receivables(customer=customer,
                       balance=receivables.customer_balance(session, customer.id,
                                                            customer.currency, today),
                       open_invoices=open_invoices(session, customer.id),
                       credit=credit_sources(session, customer.id),
                       statement=statement(session, customer.id), today=today)


# -- recording a payment: the allocation offered ----------------------------------------------

@dataclass(frozen=True)
class SuggestedRow:
    invoice: Invoice
    amount: Decimal  # suggested (or typed) allocation
    cash_discount: Decimal  # available on the day the money was received
    overdue: bool

    def money(self, value: Decimal) -> Money:
        return Money(value, self.invoice.currency)

    @property
    def amount_text(self) -> str:
        """The amount as an input shows it: the currency's decimal places, no separators."""
        return format(self.money(self.amount).rounded().amount, "f")


@dataclass(frozen=True)
class Suggestion:
    currency: str
    amount: Decimal
    rows: list[SuggestedRow]

    @property
    def allocated(self) -> Decimal:
        return sum((r.amount for r in self.rows), ZERO)

    @property
    def unallocated(self) -> Decimal:
        return max(ZERO, self.amount - self.allocated)

    @property
    def places(self) -> int:
        return minor_units(self.currency)

    def money(self, value: Decimal) -> Money:
        return Money(value, self.currency)


def suggest(session: Session, customer: Customer, amount: Decimal | None, *,
            received_on: dt.date | None = None, typed: dict[int, Decimal] | None = None,
            first: str = "") -> Suggestion:
    """The customer's open invoices with the allocation to offer: what was typed, else the
    oldest-first suggestion for `amount`. The invoice numbered `first` (when it is open)
    comes first, and with no amount given its open amount is the amount. One query."""
    on = received_on or queries.business_today()
    rows = receivables.suggest_allocation(session, customer.id, amount or ZERO,
                                          customer.currency, first=first)
    if amount is None and first and rows and rows[0][0].number == first:
        amount = rows[0][0].amount_open
        rows = [(inv, amount if i == 0 else ZERO) for i, (inv, _) in enumerate(rows)]
    return Suggestion(customer.currency, amount or ZERO, [
        SuggestedRow(inv, typed.get(inv.id, ZERO) if typed is not None else part,
                     receivables.cash_discount_available(inv, on), inv.due_date < on)
        for inv, part in rows])


def payment_summary(session: Session, payment: Payment) -> str:
    """What a recorded payment settled, in words: "264.54 EUR recorded: INV-000003 paid,
    INV-000001 part-paid (112.81 EUR paid, 87.19 EUR still open); 14.00 EUR is customer
    credit." One query."""
    settled = session.execute(
        select(Invoice.number, Invoice.amount_open, Allocation.amount)
        .join(Invoice, Invoice.id == Allocation.invoice_id)
        .where(Allocation.payment_id == payment.id, Allocation.entry_id == payment.entry_id,
               Allocation.kind == "payment")
        .order_by(Allocation.id)).all()

    def m(value: Decimal) -> str:
        return Money(value, payment.currency).format()

    parts = [f"{number} paid" if left <= 0 else
             f"{number} part-paid ({m(part)} paid, {m(left)} still open)"
             for number, left, part in settled]
    said = f"{m(payment.amount)} recorded"
    if not parts:
        return f"{said}; all of it is customer credit."
    credit = (f"{m(payment.amount_unallocated)} is customer credit"
              if payment.amount_unallocated > 0 else "nothing is left as customer credit")
    return f"{said}: {', '.join(parts)}; {credit}."


# -- the ledger -----------------------------------------------------------------------------

@dataclass(frozen=True)
class TrialCurrency:
    currency: str
    rows: list[ledger.TrialRow]

    @property
    def debit_total(self) -> Decimal:
        return sum((r.debit for r in self.rows), ZERO)

    @property
    def credit_total(self) -> Decimal:
        return sum((r.credit for r in self.rows), ZERO)

    @property
    def debit_balance_total(self) -> Decimal:
        return sum((r.debit_balance for r in self.rows), ZERO)

    @property
    def credit_balance_total(self) -> Decimal:
        return sum((r.credit_balance for r in self.rows), ZERO)

    @property
    def balanced(self) -> bool:
        return (self.debit_total == self.credit_total
                and self.debit_balance_total == self.credit_balance_total)

    def money(self, value: Decimal) -> Money:
        return Money(value, self.currency)


@dataclass(frozen=True)
class TrialBalance:
    currencies: list[TrialCurrency]
    controls: list[reconcile.Control]

    @property
    def reconciled(self) -> bool:
        return not any(c.difference for c in self.controls)


def trial_balance(session: Session, *, as_of: dt.date | None = None) -> TrialBalance:
    """The trial balance per currency and the control accounts against their open items.
    Seven queries."""
    by_currency: dict[str, list[ledger.TrialRow]] = {}
    for row in ledger.trial_balance(session, as_of=as_of):
        by_currency.setdefault(row.currency, []).append(row)
    return TrialBalance([TrialCurrency(c, rows) for c, rows in sorted(by_currency.items())],
                        reconcile.controls(session))


@dataclass(frozen=True)
class JournalFilters:
    kind: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    reference: str = ""


def journal(session: Session, filters: JournalFilters, *, page: int = 1,
            per_page: int = PER_PAGE) -> Page[JournalEntry]:
    """Journal entries with their lines, newest first. Three queries."""
    conditions = ledger.entry_conditions(kind=filters.kind, date_from=filters.date_from,
                                         date_to=filters.date_to, reference=filters.reference)
    return paginate(session, select(JournalEntry).where(*conditions)
                    .order_by(JournalEntry.posted_at.desc(), JournalEntry.id.desc())
                    .options(selectinload(JournalEntry.lines)),
                    page=page, per_page=per_page,
                    count=select(func.count(JournalEntry.id)).where(*conditions))


def journal_customers(session: Session, entries: list[JournalEntry]) -> dict[int, str]:
    """The numbers of the customers the entries' lines name (customer id -> number). One
    query."""
    ids = {l.customer_id for e in entries for l in e.lines if l.customer_id}
    return dict(session.execute(select(Customer.id, Customer.number)
                                .where(Customer.id.in_(ids))).all())


def account_name(code: str) -> str:
    return ledger.CHART.get(code, (code, ""))[0]
