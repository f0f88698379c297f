"""The console's returns desk: the worklist (Returns), one return's page, and what the
return form offers as replacements. Read models over returns, orders, customers, billing
and the audit trail, each in a fixed number of queries.

The worklist shows, by default, the returns that need someone: requested ones (an agent
or a supervisor decides) first, then those whose goods are on their way or in (the
warehouse receives, billing settles), oldest first.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session, selectinload

from core.audit import AuditEvent
from core.labels import event_label
from core.billing import receivables
from core.billing.models import Invoice, Refund
from core.catalog.models import Variant
from core.customers.models import Customer
from core.db import like_escape
from core.money import Money
from core.orders.models import Order
from core.paging import Page, paginate
from core.returns import policy
from core.returns.models import ReturnAuthorisation, ReturnLine, ReturnReceipt
from core.returns.services import awaits_goods, by_number
from core.returns.settlement import credit_notes
from core.returns.states import OPEN, ReturnStatus, label

R = ReturnStatus
NEEDING_ACTION = ""  # the worklist's default filter
ANY_STATE = "all"
STATE_FILTERS = {NEEDING_ACTION: "Needing action", ANY_STATE: "Any state",
                 **{s.value: label(s) for s in ReturnStatus}}

HISTORY_LABELS = {
    "return.requested": "Requested",
    "return.approved": "Approved",
    "return.label_sent": "Return label sent",
    "return.rejected": "Rejected",
    "return.partly_received": "Partly received",
    "return.received": "Received",
    "return.credited": "Credit note issued",
    "return.replacement_ordered": "Replacement ordered",
    "return.refunded": "Refunded",
    "return.exchanged": "Exchanged",
    "return.closed": "Closed",
}


# -- the worklist ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ReturnFilters:
    state: str = NEEDING_ACTION  # "" needing action | "all" | a status
    query: str = ""  # part of an RMA or order number


@dataclass(frozen=True)
class WorklistRow:
    rma: ReturnAuthorisation
    order_number: str
    customer: str  # the customer's name, or a guest's e-mail

    @property
    def value(self) -> Money:
        return self.rma.money(self.rma.value)


def _conditions(filters: ReturnFilters) -> list:
    found = []
    if filters.state == NEEDING_ACTION:
        found.append(ReturnAuthorisation.status.in_([s.value for s in OPEN]))
    elif filters.state in {s.value for s in ReturnStatus}:
        found.append(ReturnAuthorisation.status == filters.state)
    query = " ".join((filters.query or "").split()).upper()
    if query:
        pattern = f"%{like_escape(query)}%"
        found.append(or_(ReturnAuthorisation.number.like(pattern, escape="\\"),
                         Order.number.like(pattern, escape="\\")))
    return found


def worklist(session: Session, filters: ReturnFilters, *, page: int = 1, per_page: int = 50
             ) -> Page[WorklistRow]:
    """Returns matching `filters`: needing action, requested first and oldest first; any
    other filter, newest first. Two queries, whatever the page holds."""
    conditions = _conditions(filters)
    if filters.state == NEEDING_ACTION:
        order_by = (case((ReturnAuthorisation.status == R.REQUESTED, 0), else_=1),
                    ReturnAuthorisation.requested_at, ReturnAuthorisation.id)
    else:
        order_by = (ReturnAuthorisation.requested_at.desc(), ReturnAuthorisation.id.desc())
    stmt = (select(ReturnAuthorisation, Order.number,
                   func.coalesce(Customer.name, ReturnAuthorisation.email))
            .join(Order, Order.id == ReturnAuthorisation.order_id)
            .outerjoin(Customer, Customer.id == ReturnAuthorisation.customer_id)
            .where(*conditions).order_by(*order_by))
    count = (select(func.count()).select_from(ReturnAuthorisation)
             .join(Order, Order.id == ReturnAuthorisation.order_id).where(*conditions))
    found = paginate(session, stmt, page=page, per_page=per_page, count=count)
    return found.map(lambda row: WorklistRow(row[0], row[1], row[2]))


# -- one return -----------------------------------------------------------------------------

@dataclass(frozen=True)
class HistoryEntry:
    at: dt.datetime
    what: str
    who: str
    note: str


@dataclass(frozen=True)
class CreditNoteRow:
    note: Invoice
    open_amount: Decimal  # what of it is not yet paid out or used


@dataclass
class ReturnPage:
    """Everything the console's return page shows."""

    rma: ReturnAuthorisation
    order: Order
    customer: Customer | None
    replacement: Order | None
    credit_notes: list[CreditNoteRow]
    refunds: list[Refund]
    receipts: dict[int, list[ReturnReceipt]]  # by return line id, oldest first
    variants: dict[int, Variant]  # the replacement variants named by the lines
    history: list[HistoryEntry] = field(default_factory=list)

    @property
    def status_label(self) -> str:
        return label(self.rma.status)

    @property
    def awaiting_goods(self) -> bool:
        return awaits_goods(self.rma)

    @property
    def credited(self) -> Money:
        return self.rma.money(sum((r.note.gross_total for r in self.credit_notes), Decimal(0)))

    @property
    def refunded(self) -> Money:
        return self.rma.money(sum((r.amount for r in self.refunds if r.status == "succeeded"),
                                  Decimal(0)))

    @property
    def money_owed(self) -> Decimal:
        """What the return still owes the customer in money: open credit notes of a refund
        that pays out (store credit and exchanges keep theirs on purpose)."""
        if self.rma.resolution == "exchange" or self.rma.refund_method == "store_credit":
            return Decimal(0)
        return sum((r.open_amount for r in self.credit_notes), Decimal(0))

    @property
    def settling_due(self) -> bool:
        """Something the settlement should have done and has not (a refund that did not go
        through, a replacement that could not be placed): what "Retry refund" is for."""
        rma = self.rma
        if rma.status in (R.REQUESTED, R.REJECTED):
            return False  # settling does nothing for these
        if self.money_owed > 0:
            return True
        kept = not rma.ship_back
        if rma.status == R.CLOSED:  # what was received is still credited and paid out
            return any(l.quantity_received > l.quantity_credited for l in rma.lines)
        if any((l.quantity if kept else l.quantity_received) > l.quantity_credited
               for l in rma.lines):
            return True
        if rma.resolution == "exchange" and rma.replacement_order_id is None and (
                rma.replace_on == "approval" or rma.status == R.RECEIVED or kept):
            return True
        return rma.status == R.RECEIVED or (rma.status == R.APPROVED and kept)


def return_page(session: Session, number: str) -> ReturnPage:
    """The return numbered `number` and everything around it; NotFound if unknown. A fixed
    number of queries, plus one per credit note for its open amount."""
    rma = by_number(session, number)
    order = session.get(Order, rma.order_id)
    customer = session.get(Customer, rma.customer_id) if rma.customer_id else None
    replacement = (session.get(Order, rma.replacement_order_id)
                   if rma.replacement_order_id else None)
    notes = credit_notes(session, rma)
    refunds = list(session.scalars(
        select(Refund).where(Refund.credit_note_id.in_([n.id for n in notes]))
        .order_by(Refund.id))) if notes else []
    receipts: dict[int, list[ReturnReceipt]] = {}
    for receipt in session.scalars(
            select(ReturnReceipt).join(ReturnLine, ReturnLine.id == ReturnReceipt.return_line_id)
            .where(ReturnLine.return_id == rma.id).order_by(ReturnReceipt.id)):
        receipts.setdefault(receipt.return_line_id, []).append(receipt)
    wanted = {l.replacement_variant_id for l in rma.lines if l.replacement_variant_id}
    variants = ({v.id: v for v in session.scalars(select(Variant).where(Variant.id.in_(wanted)))}
                if wanted else {})
    return ReturnPage(rma=rma, order=order, customer=customer, replacement=replacement,
                      credit_notes=[CreditNoteRow(n, receivables.available(session, n))
                                    for n in notes],
                      refunds=refunds, receipts=receipts, variants=variants,
                      history=history(session, rma))


def history(session: Session, rma: ReturnAuthorisation) -> list[HistoryEntry]:
    """The return's audit trail, oldest first. One query."""
    events = session.scalars(select(AuditEvent).where(
        AuditEvent.subject_type == ReturnAuthorisation.__tablename__,
        AuditEvent.subject_id == str(rma.id)).order_by(AuditEvent.at, AuditEvent.id))
    return [HistoryEntry(e.at, HISTORY_LABELS.get(e.action) or event_label(e.action),
                         e.actor_label or e.actor_kind, _note(e)) for e in events]


def _note(event: AuditEvent) -> str:
    data = event.data or {}
    if data.get("note"):
        return str(data["note"])
    if event.action in ("return.received", "return.partly_received"):
        parts = [f"{q} × {sku} restocked" for sku, q in (data.get("restocked") or {}).items()]
        parts += [f"{q} × {sku} scrapped" for sku, q in (data.get("scrapped") or {}).items()]
        return ", ".join(parts)
    if event.action == "return.credited":
        return ", ".join(data.get("credit_notes") or [])
    if event.action == "return.replacement_ordered":
        return str(data.get("order", ""))
    if event.action == "return.requested":
        return ", ".join(f"{q} × {sku}" for sku, q in (data.get("lines") or {}).items())
    return ""


# -- the return form ------------------------------------------------------------------------

def replacement_choices(session: Session, order: Order) -> dict[int, list[tuple[int, str]]]:
    """Per order line, what an exchange may send instead: the active variants of the same
    product (the line's own first). One query."""
    variant_ids = {l.variant_id for l in order.lines}
    if not variant_ids:
        return {}
    own = select(Variant.product_id).where(Variant.id.in_(variant_ids))
    variants = list(session.scalars(
        select(Variant).where(Variant.product_id.in_(own))
        .options(selectinload(Variant.product)).order_by(Variant.position, Variant.id)))
    by_product: dict[int, list[Variant]] = {}
    for v in variants:
        by_product.setdefault(v.product_id, []).append(v)
    by_id = {v.id: v for v in variants}
    found = {}
    for line in order.lines:
        product_id = by_id[line.variant_id].product_id if line.variant_id in by_id else None
        siblings = by_product.get(product_id, [])
        same = [v for v in siblings if v.id == line.variant_id]
        others = [v for v in siblings if v.id != line.variant_id and v.active]
        found[line.id] = [(v.id, _variant_label(v, same=v.id == line.variant_id))
                          for v in same + others]
    return found


def _variant_label(variant: Variant, *, same: bool) -> str:
    name = variant.name or variant.product.name
    return f"{name} ({variant.sku})" + (", the same" if same else "")


def policy_summary(settings, currency: str) -> list[str]:
    """The returns policy as the customer is told it, amounts in the order's currency."""
    return policy.summary(settings, lambda amount: Money(amount, currency).format())


def reason_labels() -> dict[str, str]:
    return dict(policy.describe_reasons())
