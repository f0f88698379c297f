"""Issuing invoices and credit notes.

One invoice per shipped shipment, for exactly what left the warehouse; free-text invoices
for services and fees; credit notes (whole or by line) are the only way to correct an
issued invoice. Each document takes the next number of its gapless series inside the
caller's transaction and posts its journal entry:

  invoice       Dr receivables (gross)      Cr revenue, shipping revenue (net), tax payable
  credit note   Dr revenue, shipping revenue, tax payable
                Cr receivables (what the invoice still has open) and customer deposits (the rest)

Amounts of a partly shipped order line: the shipped share of the line's amount (gross in a
tax-inclusive channel, net otherwise) is rounded half-up, its tax is computed from it with
the pricing engine's rule (per line, half-up), and the last share of a line takes exactly
what remains, so an order's invoices always add up to the order.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from core import audit, clock, events
from core.billing import ledger, receivables
from core.billing.errors import BillingError
from core.billing.states import derived_status
from core.billing.models import Invoice, InvoiceLine, InvoiceTax
from core.customers.models import Customer
from core.errors import NotFound
from core.money import minor_units
from core.numbering import next_number
from core.orders.models import Order, OrderLine
from core.pricing.engine import round_money

ZERO = Decimal(0)


@dataclass(frozen=True)
class Terms:
    code: str
    label: str
    days: int  # due this many days after the invoice date
    discount_percent: Decimal = ZERO  # cash discount for paying early
    discount_days: int = 0

    def due_date(self, issued: dt.date) -> dt.date:
        return issued + dt.timedelta(days=self.days)

    def discount_until(self, issued: dt.date) -> dt.date | None:
        return issued + dt.timedelta(days=self.discount_days) if self.discount_percent else None

    def describe(self, issued: dt.date) -> str:
        """The terms as printed on the invoice."""
        if self.code == "card":
            return "Paid by card."
        due = self.due_date(issued).isoformat()
        if self.discount_percent:
            until = self.discount_until(issued).isoformat()
            return (f"{self.discount_percent.normalize()} % cash discount if paid by {until}; "
                    f"net amount due by {due}.")
        return f"Net {self.days} days: due by {due}."


TERMS: dict[str, Terms] = {
    "card": Terms("card", "Card (paid when ordering)", 0),
    "net14": Terms("net14", "Net 14 days", 14),
    "net30": Terms("net30", "Net 30 days", 30),
    "net60": Terms("net60", "Net 60 days", 60),
    "2-10-net30": Terms("2-10-net30", "2 % 10 days, net 30", 30, Decimal(2), 10),
}


def terms_for(customer: Customer | None, payment_method: str) -> Terms:
    """Card orders are paid when they ship; on-account customers get their terms."""
    if payment_method == "card" or customer is None:
        return TERMS["card"]
    return TERMS.get(customer.payment_terms) or TERMS["net30"]


@dataclass(frozen=True)
class FreeTextLine:
    description: str
    quantity: int
    unit_price: Decimal  # net, or gross when the invoice's prices include tax
    tax_rate: Decimal  # a fraction: 0.19
    kind: str = "service"  # service | fee | dunning_fee | interest (core.credit.dunning)


# Lines of these kinds are dunning charges: their net goes to ledger.DUNNING_CHARGES.
CHARGE_KINDS = ("dunning_fee", "interest")

# Called with (session, document) for every invoice and credit note issued, in the issuing
# transaction, after its lines are written. Code above billing that keeps figures derived
# from the documents registers here (core.reporting: the sales facts); billing knows no more.
issued_hooks: list[Callable[[Session, Invoice], None]] = []


def get_invoice(session: Session, invoice_id: int, *, lock: bool = False) -> Invoice:
    stmt = (select(Invoice).where(Invoice.id == invoice_id)
            .options(selectinload(Invoice.lines), selectinload(Invoice.tax_lines)))
    if lock:  # read afresh under the lock: a copy loaded earlier may be stale
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    invoice = session.scalar(stmt)
    if invoice is None:
        raise NotFound("We could not find that invoice.")
    return invoice


# -- invoices for shipments --------------------------------------------------------------

def invoice_shipment(session: Session, shipment, *, actor: audit.Actor,
                     today: dt.date | None = None) -> Invoice:
    """Invoice a shipped shipment (once: a second call returns the same invoice).
    The caller holds the order's lock; flushes, the caller commits."""
    if existing := session.scalar(select(Invoice).where(Invoice.shipment_id == shipment.id)):
        return existing
    order: Order = session.get(Order, shipment.order_id)
    by_line = {l.id: l for l in order.lines}
    already = _invoiced_so_far(session, order)
    lines: list[InvoiceLine] = []
    for sl in shipment.lines:
        ol = by_line[sl.order_line_id]
        if ol.quantity_invoiced + sl.quantity > ol.quantity:
            raise BillingError(f"{ol.sku}: more would be invoiced than was ordered.")
        lines.append(_share_of_line(order, ol, sl.quantity, already.get(ol.id)))
        ol.quantity_invoiced += sl.quantity
    if order.shipping_amount and not already.get(None):
        gross, tax = order.shipping_amount, order.shipping_tax
        lines.append(InvoiceLine(kind="shipping", description=f"Shipping ({order.shipping_method})",
                                 quantity=1, unit_price=gross if order.prices_include_tax
                                 else gross - tax, discount=ZERO, net=gross - tax,
                                 tax_rate=_shipping_rate(order, tax), tax=tax, gross=gross))
    customer = session.get(Customer, order.customer_id) if order.customer_id else None
    invoice = _issue(session, kind="invoice", lines=lines, customer=customer,
                     currency=order.currency, prices_include_tax=order.prices_include_tax,
                     terms=terms_for(customer, order.payment_method),
                     payment_method=order.payment_method, email=order.email,
                     bill_to=order.billing_address or order.shipping_address, order=order,
                     actor=actor, today=today, shipment_id=shipment.id,
                     memo=f"Shipment {shipment.number}")
    receivables.apply_credit(session, invoice, actor=actor,
                             customer_credit=order.payment_method != "card")
    return invoice


def _invoiced_so_far(session: Session, order: Order) -> dict[int | None, tuple[Decimal, ...]]:
    """(discount, net, tax, gross) invoiced per order line (None: shipping), one query."""
    rows = session.execute(
        select(InvoiceLine.order_line_id, InvoiceLine.kind, func.sum(InvoiceLine.discount),
               func.sum(InvoiceLine.net), func.sum(InvoiceLine.tax), func.sum(InvoiceLine.gross))
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.order_id == order.id, Invoice.kind == "invoice",
               InvoiceLine.kind.in_(["goods", "shipping"]))
        .group_by(InvoiceLine.order_line_id, InvoiceLine.kind)).all()
    return {(line_id if kind == "goods" else None): tuple(Decimal(v or 0) for v in sums)
            for line_id, kind, *sums in rows}


def _share_of_line(order: Order, ol: OrderLine, quantity: int,
                   before: tuple[Decimal, ...] | None) -> InvoiceLine:
    currency = order.currency
    last = ol.quantity_invoiced + quantity == ol.quantity
    discount_before, net_before, tax_before, gross_before = before or (ZERO,) * 4
    if last:  # the last share takes exactly what remains
        discount = ol.discount - discount_before
        net, tax, gross = ol.net - net_before, ol.tax - tax_before, ol.gross - gross_before
    else:
        discount, net, tax, gross = _share(ol, Decimal(quantity) / Decimal(ol.quantity),
                                           order.prices_include_tax, currency)
    return InvoiceLine(kind="goods", order_line_id=ol.id, sku=ol.sku, description=ol.name,
                       quantity=quantity, unit_price=ol.unit_price, discount=discount, net=net,
                       tax_rate=ol.tax_rate, tax=tax, gross=gross)


def _share(line, share: Decimal, include_tax: bool, currency: str) -> tuple[Decimal, ...]:
    """(discount, net, tax, gross) of a share of an order or invoice line: the share of the
    amount the price mode states (gross or net) rounded half-up, its tax from it per line."""
    discount = round_money(line.discount * share, currency)
    if include_tax:
        gross = round_money(line.gross * share, currency)
        tax = round_money(gross * line.tax_rate / (1 + line.tax_rate), currency)
        return discount, gross - tax, tax, gross
    net = round_money(line.net * share, currency)
    tax = round_money(net * line.tax_rate, currency)
    return discount, net, tax, net + tax


def _shipping_rate(order: Order, tax: Decimal) -> Decimal:
    """Shipping was taxed at the highest rate among the order's lines (core.orders)."""
    return max((l.tax_rate for l in order.lines), default=ZERO) if tax else ZERO


# -- free-text invoices ---------------------------------------------------------------------

def issue_free_text(session: Session, *, customer: Customer, lines: Sequence[FreeTextLine],
                    actor: audit.Actor, memo: str = "", currency: str | None = None,
                    prices_include_tax: bool = False, terms: str | None = None,
                    today: dt.date | None = None, send_email: bool = False,
                    use_credit: bool = True) -> Invoice:
    """An invoice for services or fees, not for goods shipped; with `send_email`, e-mailed
    to the customer once committed. Credit the customer holds settles it at once, unless
    not `use_credit` (dunning charges wait to be paid, or credited, by hand)."""
    currency = currency or customer.currency
    minor_units(currency)
    if not lines:
        raise BillingError("Add at least one line.", field="lines")
    built = []
    for i, line in enumerate(lines):
        if not line.description.strip():
            raise BillingError(f"Line {i + 1}: describe what is invoiced.", field="lines")
        if line.quantity < 1:
            raise BillingError(f"Line {i + 1}: the quantity must be at least 1.", field="lines")
        if line.unit_price <= 0 or line.unit_price != round_money(line.unit_price, currency):
            raise BillingError(f"Line {i + 1}: enter a unit price above zero in whole cents.",
                               field="lines")
        if not ZERO <= line.tax_rate < 1:
            raise BillingError(f"Line {i + 1}: choose a tax rate.", field="lines")
        if line.kind not in ("service", "fee", *CHARGE_KINDS):
            raise BillingError(f"Line {i + 1}: a line is a service or a fee.", field="lines")
        amount = line.unit_price * line.quantity
        if prices_include_tax:
            gross = amount
            tax = round_money(gross * line.tax_rate / (1 + line.tax_rate), currency)
            net = gross - tax
        else:
            net = amount
            tax = round_money(net * line.tax_rate, currency)
            gross = net + tax
        built.append(InvoiceLine(kind=line.kind, description=line.description.strip()[:300],
                                 quantity=line.quantity, unit_price=line.unit_price,
                                 discount=ZERO, net=net, tax_rate=line.tax_rate, tax=tax,
                                 gross=gross))
    if terms is not None and terms not in TERMS:
        raise BillingError("Choose payment terms.", field="terms")
    chosen = TERMS[terms] if terms else terms_for(customer, "on_account" if
                                                   customer.payment_terms != "card" else "card")
    invoice = _issue(session, kind="invoice", lines=built, customer=customer, currency=currency,
                     prices_include_tax=prices_include_tax, terms=chosen,
                     payment_method="on_account", email=customer.email,
                     bill_to={"full_name": customer.name}, order=None, actor=actor,
                     today=today, memo=memo)
    if use_credit:
        receivables.apply_credit(session, invoice, actor=actor, customer_credit=True)
    if send_email:
        events.record(session, events.InvoiceEmailRequested(invoice.id))
    return invoice


# -- credit notes ---------------------------------------------------------------------------

def _credited_so_far(session: Session, invoice: Invoice) -> dict[int, tuple]:
    """Per invoice line id, what credit notes took from it: (quantity, discount, net, tax,
    gross), in one query."""
    rows = session.execute(
        select(InvoiceLine.credited_line_id, func.sum(InvoiceLine.quantity),
               func.sum(InvoiceLine.discount), func.sum(InvoiceLine.net),
               func.sum(InvoiceLine.tax), func.sum(InvoiceLine.gross))
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.credited_invoice_id == invoice.id)
        .group_by(InvoiceLine.credited_line_id))
    return {line_id: (int(q or 0), *(Decimal(v or 0) for v in sums))
            for line_id, q, *sums in rows}


def creditable(session: Session, invoice: Invoice) -> dict[int, int]:
    """Per invoice line id, the quantity not yet credited."""
    credited = _credited_so_far(session, invoice)
    return {l.id: l.quantity - credited.get(l.id, (0,))[0] for l in invoice.lines}


def issue_credit_note(session: Session, invoice: Invoice, *, lines: dict[int, int] | None,
                      reason: str, actor: audit.Actor, today: dt.date | None = None,
                      fees: Mapping[int, Decimal] | None = None,
                      payment_method: str | None = None) -> Invoice:
    """Credit an issued invoice, whole (`lines` None) or by line (invoice line id ->
    quantity). What the invoice still has open is settled by the credit note; the rest
    becomes customer credit, to be refunded or used by later invoices.

    `fees` (invoice line id -> percent) keeps a restocking fee of a credited line: a fee
    line on the note takes that percent of the line's credited net and tax back, posted as
    restocking-fee revenue. `payment_method` marks what the note's credit is for ("store
    credit" stays with the customer; default: the invoice's).

    No limit applies here: the console goes through core.billing.credit_requests, which
    asks for a second person's approval beyond the agent's limit."""
    if not reason.strip():
        raise BillingError("Give the reason for the credit note.", field="reason")
    invoice, built = credit_lines(session, invoice, lines)
    built += [_fee_line(line, Decimal(fees[line.credited_line_id]), invoice.currency)
              for line in list(built) if fees and fees.get(line.credited_line_id)]
    customer = session.get(Customer, invoice.customer_id) if invoice.customer_id else None
    order = session.get(Order, invoice.order_id) if invoice.order_id else None
    note = _issue(session, kind="credit_note", lines=built, customer=customer,
                  currency=invoice.currency, prices_include_tax=invoice.prices_include_tax,
                  terms=TERMS["card"], payment_method=payment_method or invoice.payment_method,
                  email=invoice.email, bill_to=invoice.bill_to, order=order, actor=actor,
                  today=today, credited=invoice, reason=reason.strip()[:300])
    return note


def _fee_line(credited: InvoiceLine, percent: Decimal, currency: str) -> InvoiceLine:
    """A restocking fee: `percent` of a credited line's net and tax, kept (negative)."""
    net = round_money(credited.net * percent / 100, currency)
    tax = round_money(credited.tax * percent / 100, currency)
    return InvoiceLine(kind="fee", order_line_id=credited.order_line_id, credited_line_id=None,
                       sku=credited.sku,
                       description=f"Restocking fee {percent.normalize():f} %: {credited.description}",
                       quantity=1, unit_price=-net, discount=ZERO, net=-net,
                       tax_rate=credited.tax_rate, tax=-tax, gross=-(net + tax))


def credit_lines(session: Session, invoice: Invoice, lines: dict[int, int] | None
                 ) -> tuple[Invoice, list[InvoiceLine]]:
    """The invoice read afresh under its lock, and the lines a credit note for `lines`
    (None: everything left) would have; nothing is written. BillingError when the
    quantities cannot be credited."""
    if invoice.kind != "invoice":
        raise BillingError("Only an invoice can be credited.")
    invoice = get_invoice(session, invoice.id, lock=True)
    credited = _credited_so_far(session, invoice)
    left = {l.id: l.quantity - credited.get(l.id, (0,))[0] for l in invoice.lines}
    wanted = {lid: q for lid, q in left.items() if q > 0} if lines is None else {
        lid: q for lid, q in lines.items() if q}
    if not wanted:
        raise BillingError("Nothing is left to credit on this invoice." if lines is None
                           else "Choose at least one line and quantity to credit.", field="lines")
    by_id = {l.id: l for l in invoice.lines}
    built = []
    for lid, quantity in wanted.items():
        line = by_id.get(lid)
        if line is None:
            raise NotFound("That line is not on this invoice.")
        if not 0 < quantity <= left[lid]:
            raise BillingError(f"{line.description}: at most {left[lid]} can be credited.",
                               field="lines")
        built.append(_credit_share(invoice, line, quantity, left[lid], credited.get(lid)))
    return invoice, built


def credited_total(session: Session, invoice: Invoice) -> Decimal:
    """What credit notes have credited on the invoice so far (gross)."""
    return Decimal(session.scalar(select(func.coalesce(func.sum(Invoice.gross_total), 0))
                                  .where(Invoice.credited_invoice_id == invoice.id)) or 0)


def _credit_share(invoice: Invoice, line: InvoiceLine, quantity: int, left: int,
                  before: tuple | None) -> InvoiceLine:
    if quantity == left:  # the last credit of a line takes exactly what remains
        taken = before[1:] if before else (ZERO,) * 4
        discount, net, tax, gross = (getattr(line, f) - b for f, b in
                                     zip(("discount", "net", "tax", "gross"), taken))
    else:
        discount, net, tax, gross = _share(line, Decimal(quantity) / Decimal(line.quantity),
                                           invoice.prices_include_tax, invoice.currency)
    return InvoiceLine(kind=line.kind, order_line_id=line.order_line_id, credited_line_id=line.id,
                       sku=line.sku, description=line.description, quantity=quantity,
                       unit_price=line.unit_price, discount=discount, net=net,
                       tax_rate=line.tax_rate, tax=tax, gross=gross)


def cancel_invoice(session: Session, invoice: Invoice, *, reason: str,
                   actor: audit.Actor) -> Invoice:
    """Cancel an invoice nothing has been paid on: a credit note for all of it."""
    check_cancellable(invoice)
    return issue_credit_note(session, invoice, lines=None, reason=reason or "Cancelled",
                             actor=actor)


def check_cancellable(invoice: Invoice) -> None:
    if invoice.kind != "invoice" or invoice.amount_open != invoice.gross_total:
        raise BillingError("Only an invoice with nothing paid or credited on it can be "
                           "cancelled; issue a credit note instead.")


# -- the document and its journal entry ---------------------------------------------------

def _issue(session: Session, *, kind: str, lines: list[InvoiceLine], customer: Customer | None,
           currency: str, prices_include_tax: bool, terms: Terms, payment_method: str,
           email: str, bill_to: dict, order: Order | None, actor: audit.Actor,
           today: dt.date | None, shipment_id: int | None = None,
           credited: Invoice | None = None, reason: str = "", memo: str = "") -> Invoice:
    today = today or clock.today()
    if customer is not None and customer.vat_id:  # the buyer's VAT id as of issue (e-invoice)
        bill_to = {**(bill_to or {}), "vat_id": customer.vat_id}
    taxes: dict[Decimal, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for line in lines:
        taxes[line.tax_rate][0] += line.net
        taxes[line.tax_rate][1] += line.tax
    gross = sum((l.gross for l in lines), ZERO)
    doc = Invoice(
        kind=kind, number=next_number(session, "invoice" if kind == "invoice" else "credit_note"),
        customer_id=customer.id if customer else None, order_id=order.id if order else None,
        shipment_id=shipment_id, credited_invoice_id=credited.id if credited else None,
        email=email, bill_to=bill_to or {}, currency=currency,
        prices_include_tax=prices_include_tax, payment_method=payment_method, terms=terms.code,
        issue_date=today, due_date=terms.due_date(today),
        cash_discount_percent=terms.discount_percent,
        cash_discount_until=terms.discount_until(today),
        net_total=sum((l.net for l in lines), ZERO), tax_total=sum((l.tax for l in lines), ZERO),
        gross_total=gross, amount_open=gross, status=derived_status(gross, gross),
        reason=reason, memo=memo[:1000], issued_by=actor.label, issued_at=clock.now(),
        lines=lines, tax_lines=[InvoiceTax(rate=rate, net=n, tax=t)
                                for rate, (n, t) in sorted(taxes.items())])
    session.add(doc)
    session.flush()
    cid = doc.customer_id
    # A credit note's restocking fee (_fee_line: a fee line crediting no line) is income kept,
    # not revenue given back; an invoice's fee line (a free-text delivery fee) is revenue.
    kept = [l for l in lines if kind == "credit_note" and l.kind == "fee"
            and l.credited_line_id is None]
    revenue = [ledger.Posting(ledger.SHIPPING_REVENUE if l.kind == "shipping" else
                              ledger.DUNNING_CHARGES if l.kind in CHARGE_KINDS else ledger.REVENUE,
                              credit=l.net) for l in lines if not any(l is k for k in kept)]
    if kind == "invoice":
        postings = [ledger.dr(ledger.RECEIVABLES, gross, cid), *revenue,
                    ledger.cr(ledger.TAX_PAYABLE, doc.tax_total)]
    else:
        settles = min(gross, credited.amount_open)
        fees = [ledger.cr(ledger.RESTOCKING_FEES, -l.net) for l in kept]
        postings = [*(ledger.Posting(p.account, debit=p.credit) for p in revenue), *fees,
                    ledger.dr(ledger.TAX_PAYABLE, doc.tax_total),
                    ledger.cr(ledger.RECEIVABLES, settles, cid),
                    ledger.cr(ledger.CUSTOMER_DEPOSITS, gross - settles, cid)]
    if gross:
        entry = ledger.post(session, kind, currency=currency, postings=postings,
                            reference=doc.number, actor=actor.label,
                            memo=(f"Credit note for {credited.number}" if credited
                                  else f"Invoice to {customer.number if customer else email}"))
        doc.entry_id = entry.id
    if credited is not None:
        receivables.settle_with_credit_note(session, credited, doc, min(gross, credited.amount_open),
                                            entry_id=doc.entry_id, actor=actor)
    audit.record(session, f"{kind}.issued", actor=actor, channel="backoffice", subject=doc,
                 data={"number": doc.number, "total": str(gross), "currency": currency,
                       **({"credits": credited.number} if credited else {})})
    session.flush()
    for hook in issued_hooks:
        hook(session, doc)
    return doc
