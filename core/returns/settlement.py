"""What a return is worth to the customer: credit notes by line, the refund, the exchange.

    settle(session, gateway, rma.id, actor=actor, commit=db.commit)

runs after every step that may owe the customer something (a receipt, an approval of goods
they keep, an exchange to ship on approval), with no transaction of the caller's open:

1. Credit notes (core.billing.invoicing.issue_credit_note) for the units received (goods
   kept: all approved units) and not yet credited, on the invoices that billed them, with
   discounts as the invoice allocated them, the restocking fee of each line's reason kept
   as a fee line and, when the reason is ours, the shipping charge; commit.
2. Money back the way the return says (`refund_method`), never more than was captured:
   - card: a partial refund of the card payment behind the invoice (Stripe, through
     core.payments.refunds, which commits before and after asking Stripe);
   - gift_card: back onto the gift card(s) that paid (core.billing.giftcards.give_back);
   - invoices (orders on account): the credit note settled its own invoice's open amount
     when issued; what is left pays the customer's other open invoices, oldest first, and
     the rest stays their credit for the next ones;
   - store_credit: the credit note stays open as the customer's credit, used by their
     next invoices.
   Whatever the chosen way cannot take (a gift card paid part) goes the other way it
   was paid.
3. Exchange instead of money: a replacement order (core.orders.services.place_replacement)
   at the original prices, on approval or on receipt as the return says; its invoice is
   paid from the return's credit notes (`pay_replacement_invoice`), whichever comes first.
4. The return becomes refunded (or exchanged) once everything is in, credited and paid
   out; the customer is told (ReturnMoved "refunded"). A closed return is still credited
   and paid out for what was received (the rest never came), and stays closed.

Every step posts its balanced entry through billing, so invoiced - credited = captured -
refunded holds for the order.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from core import audit, events
from core.billing import accounts, giftcards, invoicing, receivables
from core.billing.errors import BillingError
from core.billing.models import Invoice, InvoiceLine
from core.catalog.models import Variant
from core.db import utcnow
from core.errors import DomainError
from core.money import minor_units
from core.orders import services as orders
from core.orders.models import Order
from core.orders.queries import lock_order
from core.payments import refunds
from core.payments.gateway import PaymentGateway
from core.returns.models import ReturnAuthorisation, ReturnCreditNote, ReturnLine
from core.returns.services import get_return
from core.returns.states import ReturnStatus, move_return

R = ReturnStatus
ZERO = Decimal(0)
log = logging.getLogger("marketline.returns")


@dataclass
class Settled:
    rma: ReturnAuthorisation
    credit_notes: list[str] = field(default_factory=list)
    refunded: Decimal = ZERO
    replacement: str = ""
    problem: str = ""  # a refund that did not go through (kept pending or to be retried)


# -- credit notes ---------------------------------------------------------------------------

def _creditable_units(rma: ReturnAuthorisation) -> dict[int, int]:
    """Per return line id, the units to credit now: received (goods kept: approved) less
    credited."""
    if rma.status in (R.REQUESTED, R.REJECTED) or rma.status == R.CLOSED and not rma.ship_back:
        return {}  # a request withdrawn or refused; goods kept were credited on approval
    due = {}
    for line in rma.lines:
        base = line.quantity_received if rma.ship_back else line.quantity
        if base > line.quantity_credited:
            due[line.id] = base - line.quantity_credited
    return due


def credit(session: Session, rma: ReturnAuthorisation, *, actor: audit.Actor) -> list[Invoice]:
    """Credit notes for what is due now (see the module's docstring, step 1). Flushes."""
    due = _creditable_units(rma)
    if not due:
        return []
    by_id = {l.id: l for l in rma.lines}
    order_line_ids = {by_id[lid].order_line_id for lid in due}
    invoices = list(session.scalars(
        select(Invoice).where(Invoice.order_id == rma.order_id, Invoice.kind == "invoice")
        .order_by(Invoice.id)))
    plans: dict[int, dict[int, int]] = {}
    fees: dict[int, Decimal] = {}
    room = _room_to_credit(session, rma, order_line_ids)
    left = {by_id[lid].order_line_id: (lid, min(q, room.get(by_id[lid].order_line_id, 0)))
            for lid, q in due.items()}
    shipping_credited = False
    for invoice in invoices:
        open_units = invoicing.creditable(session, invoice)
        for inv_line in invoice.lines:
            if inv_line.kind == "goods" and inv_line.order_line_id in order_line_ids:
                lid, wanted = left.get(inv_line.order_line_id, (None, 0))
                take = min(wanted, open_units.get(inv_line.id, 0))
                if take > 0:
                    plans.setdefault(invoice.id, {})[inv_line.id] = take
                    left[inv_line.order_line_id] = (lid, wanted - take)
                    if by_id[lid].fee_percent:
                        fees[inv_line.id] = by_id[lid].fee_percent
            elif (inv_line.kind == "shipping" and rma.refund_shipping and not shipping_credited
                  and open_units.get(inv_line.id, 0) > 0):
                plans.setdefault(invoice.id, {})[inv_line.id] = open_units[inv_line.id]
                shipping_credited = True
    # Units billing credited by hand before the goods came back are not credited twice:
    # they count as done (see _room_to_credit).
    for lid, q in due.items():
        by_id[lid].quantity_credited += q
    method = ("exchange" if rma.resolution == "exchange"
              else "store_credit" if rma.refund_method == "store_credit" else None)
    notes = []
    for invoice in invoices:
        if invoice.id not in plans:
            continue
        note = invoicing.issue_credit_note(
            session, invoice, lines=plans[invoice.id], reason=f"Return {rma.number}",
            actor=actor, fees=fees, payment_method=method)
        session.add(ReturnCreditNote(return_id=rma.id, credit_note_id=note.id))
        notes.append(note)
    if notes:
        audit.record(session, "return.credited", actor=actor, channel="backoffice", subject=rma,
                     data={"credit_notes": [n.number for n in notes],
                           "total": str(sum((n.gross_total for n in notes), ZERO))})
    session.flush()
    return notes


def _room_to_credit(session: Session, rma: ReturnAuthorisation, order_line_ids: set[int]
                    ) -> dict[int, int]:
    """Per order line, how many more units a return may credit: the units the order's
    returns have had back (or let the customer keep), this one's included, less every unit
    credit notes have already credited on the line, by a return or by hand. A unit billing
    credited before it came back is not credited again when it does. Two queries."""
    credited = dict(session.execute(
        select(InvoiceLine.order_line_id, func.sum(InvoiceLine.quantity))
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.order_id == rma.order_id, Invoice.kind == "credit_note",
               InvoiceLine.kind == "goods", InvoiceLine.order_line_id.in_(order_line_ids))
        .group_by(InvoiceLine.order_line_id)).all())
    back = case((ReturnAuthorisation.ship_back, ReturnLine.quantity_received),
                else_=ReturnLine.quantity)
    others = dict(session.execute(
        select(ReturnLine.order_line_id, func.sum(back))
        .join(ReturnAuthorisation, ReturnAuthorisation.id == ReturnLine.return_id)
        .where(ReturnAuthorisation.order_id == rma.order_id, ReturnAuthorisation.id != rma.id,
               ReturnAuthorisation.status.not_in((R.REQUESTED, R.REJECTED)),
               ReturnLine.order_line_id.in_(order_line_ids))
        .group_by(ReturnLine.order_line_id)).all())
    mine = {l.order_line_id: (l.quantity_received if rma.ship_back else l.quantity)
            for l in rma.lines}
    return {ol: max(int(others.get(ol) or 0) + mine.get(ol, 0) - int(credited.get(ol) or 0), 0)
            for ol in order_line_ids}


def credit_notes(session: Session, rma: ReturnAuthorisation) -> list[Invoice]:
    return list(session.scalars(
        select(Invoice).join(ReturnCreditNote, ReturnCreditNote.credit_note_id == Invoice.id)
        .where(ReturnCreditNote.return_id == rma.id).order_by(Invoice.id)))


# -- money back -----------------------------------------------------------------------------

def _refund_note(session: Session, gateway: PaymentGateway, rma: ReturnAuthorisation,
                 note: Invoice, *, actor: audit.Actor, commit: Callable[[], None]) -> Decimal:
    """Pay out what is open on one credit note the way the return says; returns the amount
    that went back. Commits (card refunds commit around the call to Stripe)."""
    note = session.scalar(receivables.locked(select(Invoice).where(Invoice.id == note.id)))
    open_amount = receivables.available(session, note)
    if open_amount <= 0 or rma.refund_method == "store_credit" or rma.resolution == "exchange":
        commit()
        return ZERO
    paid = ZERO
    order_of = [rma.refund_method] + [m for m in ("gift_card", "card", "invoices")
                                      if m != rma.refund_method]
    for method in order_of:
        left = receivables.available(session, note)
        if left <= 0:
            break
        if method == "gift_card" and receivables.gift_card_returnable(session, note) > 0:
            given = giftcards.give_back(session, note, None, actor=actor,
                                        key=f"{rma.number}-{note.number}-gift")
            paid += sum((r.amount for r in given), ZERO)
            commit()
        elif method == "card":
            for card in accounts.card_payments(session, note):
                left = receivables.available(session, note)
                amount = min(left, card.refundable)
                if amount <= 0:
                    continue
                refund = refunds.refund_to_card(
                    session, gateway, payment_id=card.payment.id, amount=amount, actor=actor,
                    commit=commit, credit_note_id=note.id, reason=f"Return {rma.number}")
                paid += refund.amount
        elif method == "invoices" and note.customer_id is not None:
            for invoice in accounts.open_invoices(session, note.customer_id, note.currency):
                left = receivables.available(session, note)
                part = min(left, invoice.amount_open)
                if part <= 0:
                    break
                receivables.allocate(session, invoice, part, actor=actor, credit_note=note)
                paid += part
            commit()
    return paid


def pay_replacement_invoice(session: Session, invoice: Invoice, *, actor: audit.Actor) -> Decimal:
    """A replacement order's invoice is paid from the credit notes of the return it
    replaces, as far as they reach. Flushes; returns what was used."""
    rma = session.scalar(select(ReturnAuthorisation).where(
        ReturnAuthorisation.replacement_order_id == invoice.order_id))
    if rma is None:
        return ZERO
    return _pay_replacement(session, rma, actor=actor)


def _pay_replacement(session: Session, rma: ReturnAuthorisation, *, actor: audit.Actor
                     ) -> Decimal:
    if rma.replacement_order_id is None:
        return ZERO
    used = ZERO
    invoices = list(session.scalars(select(Invoice).where(
        Invoice.order_id == rma.replacement_order_id, Invoice.kind == "invoice",
        Invoice.amount_open > 0).order_by(Invoice.id)))
    notes = credit_notes(session, rma)
    for invoice in invoices:
        for note in notes:
            note = session.scalar(receivables.locked(select(Invoice).where(Invoice.id == note.id)))
            part = min(receivables.available(session, note), invoice.amount_open)
            if part > 0:
                receivables.allocate(session, invoice, part, actor=actor, credit_note=note,
                                     replacement=True)
                used += part
        cent = Decimal(1).scaleb(-minor_units(invoice.currency))
        if notes and _all_credited(rma) and 0 < invoice.amount_open <= cent:
            # The credit of the last unit of a line takes what remains of it, the
            # replacement its share: a rounding difference of one minor unit is written off.
            receivables.write_off(session, invoice, invoice.amount_open, limit=cent,
                                  reason=f"Rounding: replacement for {rma.number}", actor=actor)
    session.flush()
    return used


def _all_credited(rma: ReturnAuthorisation) -> bool:
    return all(l.quantity_credited >= l.quantity for l in rma.lines)


def _replacement(session: Session, rma: ReturnAuthorisation, *, actor: audit.Actor) -> Order:
    """The replacement order for an exchange (once). Flushes."""
    if rma.replacement_order_id is not None:
        return session.get(Order, rma.replacement_order_id)
    original = lock_order(session, rma.order_id)
    by_line = {l.id: l for l in original.lines}
    variant_ids = {l.replacement_variant_id or l.variant_id for l in rma.lines}
    variants = {v.id: v for v in session.scalars(select(Variant).where(Variant.id.in_(variant_ids)))}
    lines = [orders.ReplacementLine(by_line[l.order_line_id],
                                    variants[l.replacement_variant_id or l.variant_id],
                                    l.quantity) for l in rma.lines]
    order = orders.place_replacement(session, original, lines, actor=actor,
                                     key=f"replacement-{rma.number}", reference=rma.number)
    rma.replacement_order_id = order.id
    audit.record(session, "return.replacement_ordered", actor=actor, channel="backoffice",
                 subject=rma, data={"order": order.number})
    session.flush()
    return order


# -- the step -------------------------------------------------------------------------------

def settle(session: Session, gateway: PaymentGateway, return_id: int, *, actor: audit.Actor,
           commit: Callable[[], None]) -> Settled:
    """Do what the return owes now (see the module's docstring). Refusals of the money
    (a declined refund, Stripe not answering) are reported in `problem`, never raised: the
    goods are in; billing retries from the return's page."""
    rma = get_return(session, return_id, lock=True)
    outcome = Settled(rma)
    if rma.status in (R.REQUESTED, R.REJECTED):
        commit()
        return outcome
    try:
        if rma.resolution == "exchange" and rma.status != R.CLOSED:
            due_now = rma.replace_on == "approval" or rma.status == R.RECEIVED or not rma.ship_back
            if due_now and rma.replacement_order_id is None:
                outcome.replacement = _replacement(session, rma, actor=actor).number
        notes = credit(session, rma, actor=actor)
        outcome.credit_notes = [n.number for n in notes]
        if rma.resolution == "exchange":
            _pay_replacement(session, rma, actor=actor)
        commit()
    except DomainError as err:
        session.rollback()
        outcome.problem = str(err)
        return outcome
    for note in credit_notes(session, rma):
        try:
            outcome.refunded += _refund_note(session, gateway, rma, note, actor=actor,
                                             commit=commit)
        except (refunds.RefundFailed, refunds.RefundNotAllowed, BillingError) as err:
            session.rollback()
            outcome.problem = str(err)
            log.warning("refund for %s (%s) did not go through: %s", rma.number, note.number, err)
    rma = get_return(session, return_id, lock=True)
    outcome.rma = rma
    if not outcome.problem and _complete(session, rma):
        target = R.EXCHANGED if rma.resolution == "exchange" else R.REFUNDED
        move_return(rma, target, audit=audit.Entry(
            session, f"return.{target.value}", actor, "backoffice",
            {"refunded": str(outcome.refunded), "method": rma.refund_method,
             "replacement": outcome.replacement}))
        rma.refunded_at = utcnow()
        events.record(session, events.ReturnMoved(rma.id, "refunded"))
    commit()
    return outcome


def _complete(session: Session, rma: ReturnAuthorisation) -> bool:
    """Everything is in (or kept), credited, and nothing is left to pay out (store credit
    and exchanges keep theirs on purpose)."""
    if rma.status not in (R.RECEIVED, R.APPROVED):
        return False
    if rma.status == R.APPROVED and rma.ship_back:
        return False
    if any(l.quantity_credited < l.quantity for l in rma.lines):
        return False
    if rma.resolution == "exchange":
        return rma.replacement_order_id is not None
    if rma.refund_method in ("store_credit", "invoices"):
        return True  # what no open invoice took stays the customer's credit
    return all(receivables.available(session, n) <= 0 for n in credit_notes(session, rma))

