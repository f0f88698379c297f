"""Customer payments and what they settle: allocation to invoices (oldest first offered),
partial payments, cash discounts, customer credit, refunds and write-offs.

Journal entries:
  payment received     Dr bank / card clearing / gift-card liability
                       Cr receivables (allocated)  Cr customer deposits (not allocated)
  credit used          Dr customer deposits        Cr receivables
  cash discount        Dr sales discounts          Cr receivables
  write-off            Dr bad debt                 Cr receivables
  refund of credit     Dr customer deposits        Cr bank / card clearing / gift-card liability

Every function flushes and leaves the commit to the caller. Rows whose amounts move are
locked first (SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises writers).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from core import audit, clock
from core.billing import ledger
from core.billing import states as billing_states
from core.billing.errors import BillingError, NothingAllocated
from core.billing.states import RefundStatus
from core.billing.models import Allocation, GiftCardRequest, Invoice, Payment, Refund
from core.customers.models import Customer
from core.errors import NotFound
from core.money import Money
from core.orders import holds
from core.orders.models import OrderHold
from core.pricing.engine import round_money

ZERO = Decimal(0)
SETTLED = audit.Actor.system("receivables")
METHODS = {"card": "Card", "bank_transfer": "Bank transfer", "cheque": "Cheque",
           "gift_card": "Gift card"}
DEBIT_ACCOUNT = {"card": ledger.CARD_CLEARING, "bank_transfer": ledger.BANK,
                 "cheque": ledger.BANK, "gift_card": ledger.GIFT_CARD_LIABILITY}
REFUND_METHODS = {"card": ledger.CARD_CLEARING, "bank_transfer": ledger.BANK,
                  "gift_card": ledger.GIFT_CARD_LIABILITY}
REFUND_LABELS = {"card": "to the card", "bank_transfer": "by bank transfer",
                 "gift_card": "to the gift card"}


def _m(amount: Decimal, currency: str) -> str:
    """An amount as people read it in a message: "12.50 EUR"."""
    return Money(amount, currency).format()


def _reduce(invoice: Invoice, amount: Decimal) -> None:
    invoice.amount_open -= amount
    if invoice.amount_open < 0:
        raise BillingError(f"{invoice.number} would be paid more than it is owed.")
    billing_states.restate(invoice)


def release_collection_hold(session: Session, order_id: int | None) -> bool:
    """Once nothing is open on any invoice of the order, however it was settled (card,
    transfer, credit, write-off), the hold placed when its card could not be charged goes.
    Returns whether a hold was released."""
    if order_id is None or Decimal(session.scalar(
            select(func.coalesce(func.sum(Invoice.amount_open), 0)).where(
                Invoice.order_id == order_id, Invoice.kind == "invoice")) or 0) > 0:
        return False
    released = False
    for hold in session.scalars(locked(select(OrderHold).where(
            OrderHold.order_id == order_id, OrderHold.released_at.is_(None),
            OrderHold.kind == "payment_review", OrderHold.reason_code == "capture_failed"))):
        holds.release_hold(session, hold, actor=SETTLED, note="The open invoices are paid.")
        released = True
    return released


def locked(stmt):
    """The statement with its rows locked and read afresh: a copy the session loaded
    before the lock (a view's page) must not hide what another transaction changed."""
    return stmt.with_for_update().execution_options(populate_existing=True)


def _check_amount(amount: Decimal, currency: str, *, field: str = "amount") -> None:
    if amount <= 0 or amount != round_money(amount, currency):
        raise BillingError(f"Enter an amount above zero in whole {currency} cents.", field=field)


def _open_invoices(session: Session, ids: Sequence[int]) -> dict[int, Invoice]:
    found = {i.id: i for i in session.scalars(
        locked(select(Invoice).where(Invoice.id.in_(ids)).order_by(Invoice.id)))}
    if missing := set(ids) - found.keys():
        raise NotFound(f"{len(missing)} invoice(s) could not be found.")
    return found


def cash_discount_available(invoice: Invoice, on: dt.date) -> Decimal:
    """The early-payment discount still to be had on `on`: a share of the gross total,
    never more than what is open."""
    if not invoice.cash_discount_percent or invoice.cash_discount_until is None \
            or on > invoice.cash_discount_until or invoice.amount_open <= 0:
        return ZERO
    discount = round_money(invoice.gross_total * invoice.cash_discount_percent / 100,
                           invoice.currency)
    return min(discount, invoice.amount_open)


# -- money received -------------------------------------------------------------------------

def record_payment(session: Session, *, customer_id: int | None, method: str, amount: Decimal,
                   currency: str, received_on: dt.date, reference: str, actor: audit.Actor,
                   allocations: Sequence[tuple[int, Decimal]] = (), order_id: int | None = None,
                   stripe_id: str | None = None, key: str | None = None,
                   gift_card_id: int | None = None, ask_before_credit: bool = False
                   ) -> Payment:
    """Record money received and allocate it to the given invoices (id, amount); the rest is
    customer credit (or the prepayment of `order_id`). An invoice that a payment within its
    cash-discount period settles but for the discount gets the discount too. Idempotent by
    `key`. With `ask_before_credit`, a payment allocated to nothing while the customer has
    invoices open raises NothingAllocated and writes nothing."""
    if key and (existing := session.scalar(select(Payment).where(Payment.key == key))):
        return existing
    if method not in METHODS:
        raise BillingError("Choose how the money was paid.", field="method")
    _check_amount(amount, currency)
    if method in ("bank_transfer", "cheque") and not reference.strip():
        raise BillingError("Enter the bank reference or cheque number.", field="reference")
    wanted = [(iid, Decimal(a)) for iid, a in allocations if a]
    if len({iid for iid, _ in wanted}) != len(wanted):
        raise BillingError("An invoice appears twice in the allocation.", field="allocations")
    invoices = _open_invoices(session, [iid for iid, _ in wanted]) if wanted else {}
    total = ZERO
    for iid, part in wanted:
        invoice = invoices[iid]
        _check_allocation(invoice, part, customer_id=customer_id, order_id=order_id,
                          currency=currency)
        total += part
    if total > amount:
        raise BillingError(f"{_m(total, currency)} is allocated but only {_m(amount, currency)} was received.",
                           field="allocations")
    if ask_before_credit and not wanted and customer_id is not None:
        _ask_before_credit(session, customer_id, amount, currency)
    payment = Payment(customer_id=customer_id, order_id=order_id, method=method, amount=amount,
                      amount_unallocated=amount - total, amount_refunded=ZERO,
                      currency=currency, received_on=received_on, reference=reference.strip()[:120],
                      stripe_id=stripe_id, key=key, gift_card_id=gift_card_id,
                      recorded_by=actor.label,
                      recorded_by_id=actor.id if actor.kind == "agent" else None,
                      recorded_at=clock.now())
    session.add(payment)
    session.flush()
    entry = ledger.post(session, "payment", currency=currency, actor=actor.label,
                        reference=reference.strip()[:60] or f"payment {payment.id}",
                        memo=f"{METHODS[method]} received",
                        postings=[ledger.dr(DEBIT_ACCOUNT[method], amount, customer_id),
                                  ledger.cr(ledger.RECEIVABLES, total, customer_id),
                                  ledger.cr(ledger.CUSTOMER_DEPOSITS, amount - total, customer_id)])
    payment.entry_id = entry.id
    for iid, part in wanted:
        invoice = invoices[iid]
        session.add(Allocation(invoice_id=iid, kind="payment", payment_id=payment.id, amount=part,
                               by=actor.label, entry_id=entry.id, at=clock.now()))
        _reduce(invoice, part)
        _take_cash_discount(session, invoice, received_on, actor)
    audit.record(session, "payment.recorded", actor=actor, channel="backoffice", subject=payment,
                 data={"method": method, "amount": str(amount), "currency": currency,
                       "allocated": {invoices[i].number: str(a) for i, a in wanted}})
    session.flush()
    for order_id in {i.order_id for i in invoices.values() if i.amount_open == 0}:
        release_collection_hold(session, order_id)
    return payment


def _ask_before_credit(session: Session, customer_id: int, amount: Decimal,
                       currency: str) -> None:
    """NothingAllocated, asking whether it all is customer credit, when the customer has
    invoices open in the payment's currency."""
    count, total = session.execute(
        select(func.count(Invoice.id), func.coalesce(func.sum(Invoice.amount_open), 0))
        .where(Invoice.customer_id == customer_id, Invoice.kind == "invoice",
               Invoice.amount_open > 0, Invoice.currency == currency)).one()
    if not count:
        return
    name = session.scalar(select(Customer.name).where(Customer.id == customer_id))
    invoices = "1 open invoice of" if count == 1 else f"{count} open invoices totalling"
    raise NothingAllocated(f"Nothing of {_m(amount, currency)} is allocated, and {name} has "
                           f"{invoices} {_m(Decimal(total), currency)}. Record it all as "
                           "customer credit?", field="allocations")


def _check_allocation(invoice: Invoice, part: Decimal, *, customer_id: int | None,
                      order_id: int | None, currency: str) -> None:
    if invoice.kind != "invoice":
        raise BillingError(f"{invoice.number} is a credit note; money is allocated to invoices.",
                           field="allocations")
    if invoice.customer_id != customer_id or (customer_id is None and invoice.order_id != order_id):
        raise BillingError(f"{invoice.number} belongs to another customer.", field="allocations")
    if invoice.currency != currency:
        raise BillingError(f"{invoice.number} is in {invoice.currency}.", field="allocations")
    _check_amount(part, currency, field="allocations")
    if part > invoice.amount_open:
        raise BillingError(f"{invoice.number} has only {_m(invoice.amount_open, currency)} open.",
                           field="allocations")


def _take_cash_discount(session: Session, invoice: Invoice, on: dt.date,
                        actor: audit.Actor) -> None:
    """Paid within the discount period and all but the discount is settled: the discount
    settles the rest."""
    discount = cash_discount_available(invoice, on)
    if not discount or invoice.amount_open > discount:
        return
    rest = invoice.amount_open
    entry = ledger.post(session, "cash_discount", currency=invoice.currency, actor=actor.label,
                        reference=invoice.number, memo="Cash discount for early payment",
                        postings=[ledger.dr(ledger.SALES_DISCOUNTS, rest),
                                  ledger.cr(ledger.RECEIVABLES, rest, invoice.customer_id)])
    session.add(Allocation(invoice_id=invoice.id, kind="cash_discount", amount=rest,
                           by=actor.label, entry_id=entry.id, at=clock.now(),
                           note=f"{invoice.cash_discount_percent.normalize()} % cash discount"))
    _reduce(invoice, rest)


def record_card_capture(session: Session, invoice: Invoice, *, amount: Decimal, stripe_id: str,
                        key: str, actor: audit.Actor) -> Payment:
    """A card capture for an invoice (idempotent by key): settles what is open, and any
    excess is customer credit on the order, refundable to the card."""
    invoice = session.scalar(locked(select(Invoice).where(Invoice.id == invoice.id)))
    if key and (existing := session.scalar(select(Payment).where(Payment.key == key))):
        return existing
    part = min(amount, invoice.amount_open)
    return record_payment(session, customer_id=invoice.customer_id, method="card", amount=amount,
                          currency=invoice.currency, received_on=clock.today(),
                          reference=stripe_id, actor=actor, order_id=invoice.order_id,
                          allocations=[(invoice.id, part)] if part else [],
                          stripe_id=stripe_id, key=key)


# -- customer credit ------------------------------------------------------------------------

def allocate(session: Session, invoice: Invoice, amount: Decimal, *, actor: audit.Actor,
             payment: Payment | None = None, credit_note: Invoice | None = None,
             on: dt.date | None = None, replacement: bool = False) -> Allocation:
    """Use customer credit (a payment's unallocated part, or a credit note's open amount)
    on an invoice. A guest's credit pays only their order's invoices, and with
    `replacement` those of the order sent in exchange for a return of it (the caller,
    core.returns.settlement, has matched the two)."""
    if (payment is None) == (credit_note is None):
        raise BillingError("Choose the credit to use.", field="source")
    invoice = _open_invoices(session, [invoice.id])[invoice.id]
    source = _lock_source(session, payment, credit_note)
    available = _available(session, source)  # less what is on its way back to a card
    _check_allocation(invoice, amount, customer_id=source.customer_id,
                      order_id=invoice.order_id if replacement else getattr(source, "order_id", None),
                      currency=source.currency)
    if amount > available:
        raise BillingError(f"Only {_m(max(available, ZERO), source.currency)} of that credit is "
                           "left.", field="amount")
    entry = ledger.post(session, "allocation", currency=invoice.currency, actor=actor.label,
                        reference=invoice.number, memo="Customer credit used",
                        postings=[ledger.dr(ledger.CUSTOMER_DEPOSITS, amount, source.customer_id),
                                  ledger.cr(ledger.RECEIVABLES, amount, invoice.customer_id)])
    if payment is not None:
        source.amount_unallocated -= amount
    else:
        source.amount_open -= amount
        billing_states.restate(source)
    allocation = Allocation(invoice_id=invoice.id, kind="payment" if payment else "credit_note",
                            payment_id=payment.id if payment else None,
                            credit_note_id=credit_note.id if credit_note else None,
                            amount=amount, by=actor.label, entry_id=entry.id, at=clock.now())
    session.add(allocation)
    _reduce(invoice, amount)
    _take_cash_discount(session, invoice, on or clock.today(), actor)
    session.flush()
    release_collection_hold(session, invoice.order_id)
    return allocation


def credit_sources(session: Session, invoice: Invoice, *, customer_credit: bool
                   ) -> list[Payment | Invoice]:
    """Credit that may settle `invoice`, in the order it is used: the invoice's order's
    prepayments first, then (when `customer_credit`) the customer's other credit, oldest
    first."""
    scope = [Payment.order_id == invoice.order_id] if invoice.order_id else []
    if customer_credit and invoice.customer_id:
        # The customer's own credit; money held for another order (its gift card, the rest
        # of a card capture) stays with that order.
        scope.append((Payment.customer_id == invoice.customer_id) & Payment.order_id.is_(None))
    if not scope:
        return []
    order_by = [Payment.received_on, Payment.id]
    if invoice.order_id:  # the order's own prepayments first
        order_by.insert(0, case((Payment.order_id == invoice.order_id, 0), else_=1))
    payments = list(session.scalars(
        select(Payment).where(or_(*scope), Payment.amount_unallocated > 0,
                              Payment.currency == invoice.currency)
        .order_by(*order_by)))
    notes: list[Invoice] = []
    if customer_credit and invoice.customer_id:
        notes = list(session.scalars(
            select(Invoice).where(Invoice.customer_id == invoice.customer_id,
                                  Invoice.kind == "credit_note", Invoice.amount_open > 0,
                                  Invoice.payment_method != "card",  # those go to the card
                                  Invoice.currency == invoice.currency)
            .order_by(Invoice.issue_date, Invoice.id)))
    return [*payments, *notes]


def apply_credit(session: Session, invoice: Invoice, *, actor: audit.Actor,
                 customer_credit: bool) -> Decimal:
    """Settle a new invoice from credit already held (see credit_sources). Returns the
    amount used."""
    used = ZERO
    for found in credit_sources(session, invoice, customer_credit=customer_credit):
        if invoice.amount_open <= 0:
            break
        payment = found if isinstance(found, Payment) else None
        # Locked and read afresh before its amount is judged, less pending card refunds.
        source = _lock_source(session, payment, None if payment else found)
        part = min(_available(session, source), invoice.amount_open)
        if part <= 0:
            continue
        if payment is not None:
            allocate(session, invoice, part, actor=actor, payment=source)
        else:
            allocate(session, invoice, part, actor=actor, credit_note=source)
        used += part
    return used


def settle_with_credit_note(session: Session, invoice: Invoice, credit_note: Invoice,
                            amount: Decimal, *, entry_id: int | None, actor: audit.Actor) -> None:
    """A new credit note settles `amount` of the invoice it corrects (its journal entry has
    already credited receivables); the rest of the credit note stays open as credit."""
    if amount:
        session.add(Allocation(invoice_id=invoice.id, kind="credit_note",
                               credit_note_id=credit_note.id, amount=amount, by=actor.label,
                               entry_id=entry_id, at=clock.now()))
        _reduce(invoice, amount)
    credit_note.amount_open = credit_note.gross_total - amount
    billing_states.restate(credit_note)
    session.flush()
    release_collection_hold(session, invoice.order_id)


# -- write-offs and refunds ------------------------------------------------------------------

# Which role may write off how much (settings WRITE_OFF_LIMIT_*, whole currency units).
WRITE_OFF_SETTINGS = {"billing": "WRITE_OFF_LIMIT_BILLING", "credit": "WRITE_OFF_LIMIT_CREDIT",
                      "supervisor": "WRITE_OFF_LIMIT_SUPERVISOR"}


def write_off_limit(roles: frozenset[str], settings) -> Decimal | None:
    """The largest write-off among the agent's roles (admin: the largest of all); None
    when no role of theirs may write off."""
    limits = {role: Decimal(getattr(settings, name)) for role, name in WRITE_OFF_SETTINGS.items()}
    held = list(limits.values()) if "admin" in roles else [
        limit for role, limit in limits.items() if role in roles]
    return max(held) if held else None


def write_off(session: Session, invoice: Invoice, amount: Decimal, *, limit: Decimal,
              reason: str, actor: audit.Actor) -> Allocation:
    """Write off a small remainder of an invoice, within the actor's limit."""
    invoice = _open_invoices(session, [invoice.id])[invoice.id]
    _check_amount(amount, invoice.currency)
    if invoice.kind != "invoice":
        raise BillingError("Only an invoice can be written off.")
    if amount > invoice.amount_open:
        raise BillingError(f"Only {_m(invoice.amount_open, invoice.currency)} is open on {invoice.number}.",
                           field="amount")
    before = Decimal(session.scalar(select(func.coalesce(func.sum(Allocation.amount), 0)).where(
        Allocation.invoice_id == invoice.id, Allocation.kind == "write_off")) or 0)
    if before + amount > limit:
        left = max(limit - before, ZERO)
        raise BillingError(f"You may write off at most {_m(limit, invoice.currency)} of an invoice"
                           f"{f' ({_m(before, invoice.currency)} already written off)' if before else ''}; "
                           f"{'at most ' + _m(left, invoice.currency) + ' more, or ' if left else ''}ask a "
                           "supervisor.", field="amount")
    if not reason.strip():
        raise BillingError("Give the reason for the write-off.", field="reason")
    entry = ledger.post(session, "write_off", currency=invoice.currency, actor=actor.label,
                        reference=invoice.number, memo=reason.strip()[:300],
                        postings=[ledger.dr(ledger.BAD_DEBT, amount),
                                  ledger.cr(ledger.RECEIVABLES, amount, invoice.customer_id)])
    allocation = Allocation(invoice_id=invoice.id, kind="write_off", amount=amount,
                            by=actor.label, entry_id=entry.id, note=reason.strip()[:300],
                            at=clock.now())
    session.add(allocation)
    _reduce(invoice, amount)
    audit.record(session, "invoice.written_off", actor=actor, channel="backoffice",
                 subject=invoice, data={"amount": str(amount), "reason": reason.strip()})
    session.flush()
    release_collection_hold(session, invoice.order_id)
    return allocation


def _lock_source(session: Session, payment: Payment | None, credit_note: Invoice | None):
    if credit_note is not None:
        note = session.scalar(locked(select(Invoice).where(Invoice.id == credit_note.id)))
        if note.kind != "credit_note":
            raise BillingError("Only a credit note's open amount can be used.", field="source")
        return note
    return session.scalar(locked(select(Payment).where(Payment.id == payment.id)))


def _pending_of(session: Session, source: Payment | Invoice) -> Decimal:
    """What of this credit is spoken for: card refunds recorded but not yet answered by
    Stripe that will take from it, and (a transfer or cheque) gift card sales out of it
    awaiting a colleague's confirmation. Held until they succeed, fail or are decided."""
    if isinstance(source, Payment):
        return _pending_from(session, source, None) + held_for_gift_cards(session, source)
    return _pending_from(session, None, source)


def held_for_gift_cards(session: Session, payment: Payment) -> Decimal:
    """What of a transfer or cheque gift card sales awaiting confirmation hold (see
    core.billing.giftcard_requests). One query."""
    return Decimal(session.scalar(select(func.coalesce(func.sum(GiftCardRequest.amount), 0))
                                  .where(GiftCardRequest.payment_id == payment.id,
                                         GiftCardRequest.status == "requested")) or 0)


def available(session: Session, source: Payment | Invoice) -> Decimal:
    """What of the credit may still be used or paid out now (see _available)."""
    return _available(session, source)


def _available(session: Session, source: Payment | Invoice) -> Decimal:
    """What of the credit may still be used or paid out: a payment's unallocated part or
    a credit note's open amount, less pending card refunds from it. Lock the source first."""
    held = source.amount_unallocated if isinstance(source, Payment) else source.amount_open
    return held - _pending_of(session, source)


def _take_from(source, amount: Decimal, *, reserved: Decimal = ZERO) -> None:
    """Take refunded money out of the credit it came from; `reserved` of it is spoken for
    by pending card refunds (or, a transfer or cheque, by gift card sales awaiting
    confirmation)."""
    if isinstance(source, Payment):
        if amount > source.amount_unallocated - reserved:
            held_for = ("a gift card sale awaiting confirmation"
                        if source.method in ("bank_transfer", "cheque") else None)
            raise BillingError(_only_left(source.amount_unallocated, reserved, source.currency,
                                          "of that payment is credit", held_for),
                               field="amount")
        source.amount_unallocated -= amount
    else:
        if amount > source.amount_open - reserved:
            raise BillingError(_only_left(source.amount_open, reserved, source.currency,
                                          f"of {source.number} is open"), field="amount")
        source.amount_open -= amount
        billing_states.restate(source)


def _only_left(held: Decimal, reserved: Decimal, currency: str, what: str,
               held_for: str | None = None) -> str:
    if not reserved:
        return f"Only {_m(held, currency)} {what}."
    why = f"is held for {held_for}" if held_for else "is on its way back to the card"
    return (f"Only {_m(max(held - reserved, ZERO), currency)} {what}: "
            f"{_m(reserved, currency)} {why}.")


def _card_backed(session: Session, note: Invoice) -> Decimal:
    """What of a credit note may still go back to the card(s) the invoice it corrects was
    paid with (card payments allocated to that invoice or taken for its order)."""
    scope = [Payment.id.in_(select(Allocation.payment_id).where(
        Allocation.invoice_id == note.credited_invoice_id, Allocation.payment_id.is_not(None)))]
    if note.order_id is not None:
        scope.append(Payment.order_id == note.order_id)
    cards = session.scalars(select(Payment).where(
        Payment.method == "card", Payment.stripe_id.is_not(None), or_(*scope)))
    return sum((max(refundable_to_card(session, p), ZERO) for p in cards), ZERO)


@dataclass(frozen=True)
class GiftCardBacking:
    """A gift-card payment allocated to the invoice a credit note corrects, and what of
    it may still go back to its card."""

    payment: Payment
    returnable: Decimal


def gift_card_backing(session: Session, note: Invoice) -> list[GiftCardBacking]:
    """The gift-card payments allocated to the invoice the credit note corrects, each with
    what of its allocation there has not yet gone back to the card (from this or another
    credit note of that invoice): never more than the payment has spent. Three queries."""
    if note.credited_invoice_id is None:
        return []
    rows = session.execute(
        select(Payment, func.sum(Allocation.amount))
        .join(Allocation, Allocation.payment_id == Payment.id)
        .where(Allocation.invoice_id == note.credited_invoice_id,
               Payment.method == "gift_card", Payment.gift_card_id.is_not(None))
        .group_by(Payment.id).order_by(Payment.id)).all()
    if not rows:
        return []
    notes = select(Invoice.id).where(Invoice.credited_invoice_id == note.credited_invoice_id)
    given_back = dict(session.execute(
        select(Refund.payment_id, func.sum(Refund.amount))
        .where(Refund.payment_id.in_([p.id for p, _ in rows]), Refund.method == "gift_card",
               Refund.credit_note_id.in_(notes), Refund.status == "succeeded")
        .group_by(Refund.payment_id)).all())
    found = []
    for payment, allocated in rows:
        spent = payment.amount - payment.amount_refunded - payment.amount_unallocated
        left = Decimal(allocated) - Decimal(given_back.get(payment.id) or 0)
        found.append(GiftCardBacking(payment, max(min(left, spent), ZERO)))
    return found


def gift_card_returnable(session: Session, note: Invoice) -> Decimal:
    """What of the credit note goes back to the gift card(s) the invoice was paid with:
    their part, never more than the note has open."""
    backed = sum((b.returnable for b in gift_card_backing(session, note)), ZERO)
    return max(ZERO, min(backed, _available(session, note)))


def _transfer_refusal(session: Session, source: Payment | Invoice, amount: Decimal
                      ) -> str | None:
    """Why (part of) this credit may not be paid out by bank transfer: money goes back the
    way it came (README: refunds go to the card a payment came from), so a stolen card or
    a gift card cannot be turned into cash in a bank account."""
    if isinstance(source, Payment):
        if source.method == "card":
            return ("This credit came from a card payment; it can only be refunded to that "
                    "card, not by bank transfer.")
        if source.method == "gift_card":
            return ("This credit came from a gift card; it goes back to the gift card (when "
                    "its order is cancelled), not to a bank account.")
        if source.order_id is not None:
            return ("This money pays an order placed in advance; it can only be refunded "
                    "the way it was paid.")
        return None
    held = _available(session, source)
    on_card = min(_card_backed(session, source), held)
    on_gift = min(gift_card_returnable(session, source), held - on_card)
    by_transfer = held - on_card - on_gift
    if on_card + on_gift <= 0 or amount <= by_transfer:
        return None
    m = lambda value: _m(value, source.currency)  # noqa: E731
    if by_transfer <= 0 and not on_gift:
        return (f"{source.number} corrects an invoice paid by card; refund it to the card "
                f"from the credit note's page, not by bank transfer.")
    if by_transfer <= 0 and not on_card:
        return (f"{source.number} corrects an invoice paid with a gift card; give it back to "
                "the gift card from the credit note's page, not by bank transfer.")
    back = []
    if on_card:
        back.append(f"{m(on_card)} goes back to the card the invoice was paid with")
    if on_gift:
        back.append(f"{m(on_gift)} goes back to the gift card it was paid with")
    back = " and ".join(back)
    if by_transfer <= 0:
        return f"None of {source.number} can be refunded by bank transfer: {back}."
    return (f"At most {m(by_transfer)} of {source.number} can be refunded by bank transfer; "
            f"{back}.")


def refund_credit(session: Session, *, amount: Decimal, method: str, reference: str,
                  actor: audit.Actor, key: str, payment: Payment | None = None,
                  credit_note: Invoice | None = None, reason: str = "") -> Refund:
    """Pay customer credit back by bank transfer (card refunds go through the card:
    begin_card_refund / record_card_refund; gift cards through
    core.billing.giftcards.give_back). Only money that came by transfer or cheque (or the
    part of a credit note not backed by a card or gift-card payment) goes out this way, and
    never what pending card refunds or gift card sales awaiting confirmation hold."""
    if existing := session.scalar(select(Refund).where(Refund.key == key)):
        return existing
    if method != "bank_transfer":
        raise BillingError("Customer credit is refunded by bank transfer here; card refunds go "
                           "back to the card.", field="method")
    if (payment is None) == (credit_note is None):
        raise BillingError("Choose the credit to refund.", field="source")
    source = _lock_source(session, payment, credit_note)
    _check_amount(amount, source.currency)
    if not reference.strip():
        raise BillingError("Enter the bank reference of the transfer.", field="reference")
    if problem := _transfer_refusal(session, source, amount):
        raise BillingError(problem, field="amount")
    _take_from(source, amount, reserved=_pending_of(session, source))
    entry = ledger.post(session, "refund", currency=source.currency, actor=actor.label,
                        reference=reference.strip()[:60], memo="Customer credit refunded",
                        postings=[ledger.dr(ledger.CUSTOMER_DEPOSITS, amount, source.customer_id),
                                  ledger.cr(ledger.BANK, amount)])
    refund = Refund(payment_id=payment.id if payment else None,
                    credit_note_id=credit_note.id if credit_note else None,
                    customer_id=source.customer_id, method=method, amount=amount,
                    currency=source.currency, status=RefundStatus.SUCCEEDED,
                    reference=reference.strip(), key=key, reason=reason[:300],
                    recorded_by=actor.label, entry_id=entry.id, recorded_at=clock.now())
    session.add(refund)
    audit.record(session, "credit.refunded", actor=actor, channel="backoffice", subject=refund,
                 data={"amount": str(amount), "method": method})
    session.flush()
    return refund


def refundable_to_card(session: Session, payment: Payment) -> Decimal:
    """What may still go back to the card of a card payment: captured minus refunded,
    counting refunds still waiting for Stripe."""
    pending = session.scalar(select(func.coalesce(func.sum(Refund.amount), 0)).where(
        Refund.payment_id == payment.id, Refund.status == "pending")) or 0
    return payment.amount - payment.amount_refunded - Decimal(pending)


def _pending_from(session: Session, payment: Payment | None, credit_note: Invoice | None
                  ) -> Decimal:
    """Refunds waiting for Stripe that will take from this credit note, or else from the
    payment's own unallocated part."""
    source = (Refund.credit_note_id == credit_note.id) if credit_note is not None else (
        (Refund.payment_id == payment.id) & Refund.credit_note_id.is_(None))
    return Decimal(session.scalar(select(func.coalesce(func.sum(Refund.amount), 0)).where(
        source, Refund.status == "pending")) or 0)


def begin_card_refund(session: Session, *, payment: Payment, amount: Decimal, key: str,
                      actor: audit.Actor, credit_note: Invoice | None = None,
                      reason: str = "") -> Refund:
    """Record a card refund before Stripe is asked (status pending). The money comes out of
    the credit note's open amount, or else out of the payment's unallocated part."""
    if existing := session.scalar(select(Refund).where(Refund.key == key)):
        return existing
    payment = session.scalar(locked(select(Payment).where(Payment.id == payment.id)))
    if payment.method != "card" or not payment.stripe_id:
        raise BillingError("Only a card payment can be refunded to the card.")
    _check_amount(amount, payment.currency)
    if amount > refundable_to_card(session, payment):
        raise BillingError(f"At most {_m(refundable_to_card(session, payment), payment.currency)} can go back to "
                           "this card.", field="amount")
    source = _lock_source(session, payment, credit_note)
    available = (source.amount_open if credit_note is not None else source.amount_unallocated) \
        - _pending_from(session, payment, credit_note)
    if amount > available:
        raise BillingError(f"Only {_m(available, payment.currency)} of credit is there to refund.", field="amount")
    refund = Refund(payment_id=payment.id, credit_note_id=credit_note.id if credit_note else None,
                    customer_id=payment.customer_id, method="card", amount=amount,
                    currency=payment.currency, status=RefundStatus.PENDING, key=key,
                    reason=reason[:300],
                    recorded_by=actor.label, recorded_at=clock.now())
    session.add(refund)
    session.flush()
    return refund


def record_card_refund(session: Session, *, payment: Payment, amount: Decimal, stripe_id: str,
                       key: str, actor: audit.Actor, credit_note: Invoice | None = None
                       ) -> Refund:
    """Stripe refunded the card: take the money out of the credit and post it. Completes
    the pending refund of `key` (or records one); safe to repeat."""
    refund = session.scalar(locked(select(Refund).where(Refund.key == key)))
    if refund is None:
        refund = begin_card_refund(session, payment=payment, amount=amount, key=key, actor=actor,
                                   credit_note=credit_note)
    if refund.status == "succeeded":
        return refund
    if refund.amount != amount:
        raise BillingError("The refund amount does not match what was asked of Stripe.")
    payment = session.scalar(locked(select(Payment).where(Payment.id == refund.payment_id)))
    note = session.get(Invoice, refund.credit_note_id) if refund.credit_note_id else None
    source = _lock_source(session, payment, note)
    _take_from(source, amount)
    payment.amount_refunded += amount
    if payment.amount_refunded > payment.amount:
        raise BillingError("A card payment cannot be refunded more than was captured.")
    entry = ledger.post(session, "refund", currency=payment.currency, actor=actor.label,
                        reference=stripe_id[:60], memo="Refunded to the card",
                        postings=[ledger.dr(ledger.CUSTOMER_DEPOSITS, amount, payment.customer_id),
                                  ledger.cr(ledger.CARD_CLEARING, amount)])
    billing_states.move_refund(refund, RefundStatus.SUCCEEDED, audit=audit.Entry(
        session, "payment.refunded", actor, "backoffice",
        {"amount": str(amount), "payment": payment.stripe_id}))
    refund.stripe_id, refund.entry_id = stripe_id, entry.id
    session.flush()
    return refund


def fail_card_refund(session: Session, refund: Refund, message: str) -> None:
    """Stripe refused the refund: nothing moved; the credit stays."""
    if refund.status == RefundStatus.PENDING:
        billing_states.move_refund(refund, RefundStatus.FAILED)
        refund.reason = (refund.reason + " | " if refund.reason else "") + message[:200]


# -- what a customer owes ---------------------------------------------------------------------

def suggest_allocation(session: Session, customer_id: int, amount: Decimal, currency: str,
                       *, first: str = "") -> list[tuple[Invoice, Decimal]]:
    """Open invoices oldest due first, each filled until the amount runs out (what the
    payment form offers; the agent may change it). The invoice numbered `first`, when open,
    comes before the others (a payment recorded from its page)."""
    left = amount
    suggestion = []
    for invoice in session.scalars(
            select(Invoice).where(Invoice.customer_id == customer_id, Invoice.kind == "invoice",
                                  Invoice.amount_open > 0, Invoice.currency == currency)
            .order_by(case((Invoice.number == first, 0), else_=1), Invoice.due_date,
                      Invoice.issue_date, Invoice.id)):
        part = min(left, invoice.amount_open) if left > 0 else ZERO
        suggestion.append((invoice, part))
        left -= part
    return suggestion


@dataclass(frozen=True)
class Balance:
    currency: str
    open_total: Decimal  # invoices not yet paid
    overdue_total: Decimal  # of which past their due date
    open_count: int
    credit: Decimal  # customer credit available (unallocated payments, open credit notes)

    @property
    def net(self) -> Decimal:
        """What the customer owes after their credit."""
        return self.open_total - self.credit


def customer_balance(session: Session, customer_id: int, currency: str,
                     today: dt.date | None = None) -> Balance:
    """Two queries, whatever the number of invoices."""
    today = today or clock.today()
    open_total, overdue, count, notes = session.execute(
        select(func.coalesce(func.sum(case((Invoice.kind == "invoice", Invoice.amount_open),
                                           else_=0)), 0),
               func.coalesce(func.sum(case(((Invoice.kind == "invoice")
                                            & (Invoice.due_date < today), Invoice.amount_open),
                                           else_=0)), 0),
               func.count(case((Invoice.kind == "invoice", Invoice.id))),
               func.coalesce(func.sum(case((Invoice.kind == "credit_note", Invoice.amount_open),
                                           else_=0)), 0))
        .where(Invoice.customer_id == customer_id, Invoice.currency == currency,
               Invoice.amount_open > 0)).one()
    unallocated = session.scalar(
        select(func.coalesce(func.sum(Payment.amount_unallocated), 0))
        .where(Payment.customer_id == customer_id, Payment.currency == currency)) or 0
    return Balance(currency, Decimal(open_total), Decimal(overdue), int(count),
                   Decimal(notes) + Decimal(unallocated))
