"""Credit notes and invoice cancellations in the console, within the issuer's limit or with
a second person's approval (segregation of duties, like write-offs).

An agent may credit an invoice (credit notes and a cancellation together, gross) up to the
largest limit among their roles (CREDIT_NOTE_LIMIT_BILLING, _SUPERVISOR; admin the largest).
Beyond it nothing is issued: a CreditNoteRequest records what was asked, and an agent with
the credit or supervisor role who did not ask approves it (the credit note is issued then,
exactly as it would have been, and checked again against the invoice as it is now) or
rejects it. While a request waits, the invoice takes no other credit note or cancellation.

Audit events: credit_request.requested, credit_request.approved, credit_request.rejected,
on the request, naming the invoice.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager

from core import audit, events
from core.billing import invoicing
from core.billing import states as billing_states
from core.billing.errors import BillingError
from core.billing.models import CreditNoteRequest, CreditRequestStatus, Invoice
from core.customers.models import Customer
from core.db import utcnow
from core.errors import NotFound
from core.money import Money

CHANNEL = "backoffice"
# Which role may credit how much of an invoice alone (settings, whole currency units).
LIMIT_SETTINGS = {"billing": "CREDIT_NOTE_LIMIT_BILLING",
                  "supervisor": "CREDIT_NOTE_LIMIT_SUPERVISOR"}
APPROVERS = frozenset({"credit", "supervisor"})
KIND_LABELS = {"credit_note": "Credit note", "cancellation": "Cancellation"}


IllegalTransition = billing_states.IllegalRequestTransition


class ApprovalNotAllowed(BillingError):
    """The agent may not decide this request; views answer 403 with the message."""

    code = "approval_not_allowed"


def credit_limit(roles: Collection[str], settings) -> Decimal | None:
    """The most the agent may credit on one invoice alone: the largest among their roles
    (admin: the largest of all); None when no role of theirs issues credit notes."""
    limits = {role: Decimal(getattr(settings, name)) for role, name in LIMIT_SETTINGS.items()}
    held = list(limits.values()) if "admin" in roles else [
        limit for role, limit in limits.items() if role in roles]
    return max(held) if held else None


def _m(amount: Decimal, currency: str) -> str:
    return Money(amount, currency).format()


# -- asking ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Credited:
    """What a credit or cancellation led to: the credit note, or the request waiting."""

    note: Invoice | None = None
    request: CreditNoteRequest | None = None


def credit(session: Session, invoice: Invoice, *, lines: dict[int, int] | None, reason: str,
           actor: audit.Actor, limit: Decimal, cancel: bool = False,
           send_email: bool = False) -> Credited:
    """Credit the invoice (whole, by line, or cancel it) when it stays within `limit`;
    beyond it, a request for approval instead. With `send_email`, a credit note issued is
    e-mailed to the customer once committed. Flushes; the caller commits."""
    reason = (reason or "").strip() or ("Cancelled" if cancel else "")
    if not reason:
        raise BillingError("Give the reason for the credit note.", field="reason")
    locked, built = invoicing.credit_lines(session, invoice, None if cancel else lines)
    if cancel:
        invoicing.check_cancellable(locked)
    _refuse_while_waiting(session, locked)
    amount = sum((l.gross for l in built), Decimal(0))
    before = invoicing.credited_total(session, locked)
    if amount <= 0 or before + amount <= limit:
        note = (invoicing.cancel_invoice(session, locked, reason=reason, actor=actor) if cancel
                else invoicing.issue_credit_note(session, locked, lines=lines, reason=reason,
                                                 actor=actor))
        if send_email:
            events.record(session, events.InvoiceEmailRequested(note.id))
        return Credited(note=note)
    request = CreditNoteRequest(
        invoice_id=locked.id, kind="cancellation" if cancel else "credit_note",
        lines=None if cancel or lines is None else {str(k): v for k, v in lines.items() if v},
        reason=reason[:300], amount=amount, currency=locked.currency,
        status=CreditRequestStatus.REQUESTED, requested_by=actor.label,
        requested_by_id=actor.id, requested_at=utcnow(), decided_by="", decision_note="")
    session.add(request)
    session.flush()
    audit.record(session, "credit_request.requested", actor=actor, channel=CHANNEL,
                 subject=request, data={"invoice": locked.number, "kind": request.kind,
                                        "amount": str(amount), "currency": locked.currency,
                                        "credited_before": str(before), "limit": str(limit),
                                        "reason": request.reason})
    return Credited(request=request)


def _refuse_while_waiting(session: Session, invoice: Invoice) -> None:
    waiting = session.scalar(select(CreditNoteRequest).where(
        CreditNoteRequest.invoice_id == invoice.id,
        CreditNoteRequest.status == CreditRequestStatus.REQUESTED).limit(1))
    if waiting is not None:
        raise BillingError(
            f"A {KIND_LABELS[waiting.kind].lower()} of {_m(waiting.amount, waiting.currency)} "
            f"for {invoice.number}, asked for by {waiting.requested_by}, is awaiting approval; "
            "it must be approved or rejected first.")


# -- deciding -------------------------------------------------------------------------------

def decision_refusal(request: CreditNoteRequest, *, actor: audit.Actor,
                     roles: Collection[str]) -> str | None:
    """Why the agent may not approve or reject the request; None when they may."""
    if "admin" not in roles and not APPROVERS.intersection(roles):
        return ("Only an agent with the credit or supervisor role can approve or reject a "
                "credit note request.")
    if asked_by(request, actor):
        return "You asked for this credit note; another colleague approves or rejects it."
    return None


def asked_by(request, actor: audit.Actor) -> bool:
    """Whether `actor` asked for the request (a credit note's or a gift card sale's): by
    agent id when both are known, else by label."""
    if request.requested_by_id is not None and actor.id is not None:
        return request.requested_by_id == actor.id
    return request.requested_by == actor.label


def change_status(session: Session, request, to: CreditRequestStatus, *, actor: audit.Actor,
                  action: str, noun: str, labels: Mapping[str, str], note: str = "",
                  **data) -> None:
    """The one door for the status of a request awaiting a second person (a credit note
    request, a gift card sale): the move must be in CREDIT_REQUEST_MOVES (the REQUEST
    machine of core.billing.states), refused first in the words of the request's own
    `labels` (a sale is "awaiting confirmation", a credit note "awaiting approval"); the
    audit event is `action`.<new status>; who decided and when are kept on the request."""
    current = CreditRequestStatus(request.status)
    if not billing_states.REQUEST.allows(current, to):
        raise IllegalTransition(f"{noun} that is {labels[current].lower()} cannot become "
                                f"{labels[to].lower()}.")
    billing_states.move_request(request, to, noun=noun, audit=audit.Entry(
        session, f"{action}.{to.value}", actor, CHANNEL,
        {"from": current.value, "amount": str(request.amount), "note": note, **data}))
    request.decided_by, request.decided_at, request.decision_note = actor.label, utcnow(), note


def find_request(session: Session, model, request_id: int, *, lock: bool, missing: str):
    """A request by id, read afresh under its row lock when `lock`; NotFound(`missing`)."""
    stmt = select(model).where(model.id == request_id)
    request = session.scalar(stmt.with_for_update().execution_options(populate_existing=True)
                             if lock else stmt)
    if request is None:
        raise NotFound(missing)
    return request


def decidable(session: Session, request, *, refusal: str | None, already: str,
              labels: Mapping[str, str]):
    """The request read afresh under its lock, when the agent may decide it (`refusal` is
    None) and nobody has yet: ApprovalNotAllowed, or BillingError naming who was first."""
    if refusal:
        raise ApprovalNotAllowed(refusal)
    request = find_request(session, type(request), request.id, lock=True,
                           missing="We could not find that request.")
    if request.status != CreditRequestStatus.REQUESTED:
        raise BillingError(f"{already} {labels[request.status].lower()} by "
                           f"{request.decided_by}.")
    return request


LABELS = {status.value: status.label for status in CreditRequestStatus}


def move(session: Session, request: CreditNoteRequest, to: CreditRequestStatus, *,
         actor: audit.Actor, note: str = "", **data) -> None:
    """Change the request's status if the table allows it, and say so in the audit trail."""
    change_status(session, request, to, actor=actor, action="credit_request",
                  noun="A request", labels=LABELS, note=note,
                  invoice=request.invoice.number, **data)


def get_request(session: Session, request_id: int, *, lock: bool = False) -> CreditNoteRequest:
    return find_request(session, CreditNoteRequest, request_id, lock=lock,
                        missing="We could not find that credit note request.")


def _decidable(session: Session, request: CreditNoteRequest, actor: audit.Actor,
               roles: Collection[str]) -> CreditNoteRequest:
    return decidable(session, request, refusal=decision_refusal(request, actor=actor, roles=roles),
                     already="This request was already", labels=LABELS)


def approve(session: Session, request: CreditNoteRequest, *, actor: audit.Actor,
            roles: Collection[str], note: str = "", send_email: bool = False) -> Invoice:
    """Issue the requested credit note (or cancel the invoice) as it was asked for, checked
    against the invoice as it is now, and with `send_email` e-mail it to the customer once
    committed. Raises ApprovalNotAllowed for the requester or a missing role, BillingError
    when the invoice can no longer take it (reject the request then). Flushes; the caller
    commits."""
    request = _decidable(session, request, actor, roles)
    invoice = invoicing.get_invoice(session, request.invoice_id, lock=True)
    if request.kind == "cancellation":
        credit_note = invoicing.cancel_invoice(session, invoice, reason=request.reason,
                                               actor=actor)
    else:
        credit_note = invoicing.issue_credit_note(session, invoice, lines=request.line_quantities,
                                                  reason=request.reason, actor=actor)
    request.credit_note_id = credit_note.id
    move(session, request, CreditRequestStatus.APPROVED, actor=actor, note=(note or "").strip()[:300],
         credit_note=credit_note.number, requested_by=request.requested_by)
    session.flush()
    if send_email:
        events.record(session, events.InvoiceEmailRequested(credit_note.id))
    return credit_note


def reject(session: Session, request: CreditNoteRequest, *, actor: audit.Actor,
           roles: Collection[str], note: str) -> CreditNoteRequest:
    """Refuse the request, saying why; nothing is credited. Flushes; the caller commits."""
    note = (note or "").strip()
    if not note:
        raise BillingError("Say why the credit note is rejected.", field="note")
    request = _decidable(session, request, actor, roles)
    move(session, request, CreditRequestStatus.REJECTED, actor=actor, note=note[:300],
         requested_by=request.requested_by)
    session.flush()
    return request


# -- lists ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RequestRow:
    request: CreditNoteRequest
    invoice_number: str
    customer_number: str | None
    customer_name: str | None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.request.kind, self.request.kind)

    def money(self, value: Decimal) -> Money:
        return Money(value, self.request.currency)


def waiting(session: Session, *, limit: int = 50) -> list[RequestRow]:
    """Requests awaiting approval, oldest first, with their invoice and customer. One
    query."""
    rows = session.execute(
        select(CreditNoteRequest, Invoice.number, Customer.number, Customer.name)
        .join(CreditNoteRequest.invoice).outerjoin(Customer, Customer.id == Invoice.customer_id)
        .options(contains_eager(CreditNoteRequest.invoice))
        .where(CreditNoteRequest.status == CreditRequestStatus.REQUESTED)
        .order_by(CreditNoteRequest.requested_at, CreditNoteRequest.id).limit(limit)).all()
    return [RequestRow(r, number, cnum, cname) for r, number, cnum, cname in rows]


def for_invoice(session: Session, invoice: Invoice) -> list[CreditNoteRequest]:
    """The invoice's requests, newest first. One query."""
    return list(session.scalars(select(CreditNoteRequest)
                                .where(CreditNoteRequest.invoice_id == invoice.id)
                                .order_by(CreditNoteRequest.requested_at.desc(),
                                          CreditNoteRequest.id.desc())))
