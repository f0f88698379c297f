"""Recent activity in words: audit events told as sentences with links to their documents.

"Order SO-000012 placed by Ada Guest, 413.90 EUR", "Invoice INV-000005 issued to Acme Corp,
1,190.00 EUR". A sentence is a tuple of parts; a part that names a document carries a link
kind (order, invoice, return, quote, customer) and its key (the number people read aloud).
Core knows no URLs: the console turns a kind and a key into a link (url_for), and shows it
only to a role that may open it.

`recent_activity` reads the latest events, then every subject they name (orders, invoices
and credit notes, returns, payments, quotes, customers, and the credit-control records told
by their customer: promises to pay, disputes, follow-ups, dunning letters) with its
customer in one more query, a UNION ALL of a branch per kind: two queries whatever the
events. `describe` is
pure (no session): a known event name has its sentence below, any other a readable form
of its name, from core.labels ("agent.mfa_enrolled" -> "Two-step sign-in turned on").
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Callable, Iterable

from sqlalchemy import Numeric, Select, String, literal, null, select, union_all
from sqlalchemy.orm import Session

from core.audit import AuditEvent
from core.labels import code_label, event_label
from core.billing.models import Invoice, Payment
from core.credit.models import CollectionTask, Dispute, DunningLetter, PromiseToPay
from core.customers.models import Customer
from core.money import Money
from core.orders.holds import KIND_LABELS as HOLD_KINDS
from core.orders.models import Order
from core.quotes.models import Quote
from core.returns.models import ReturnAuthorisation

LINK_KINDS = ("order", "invoice", "return", "quote", "customer")


@dataclass(frozen=True)
class Part:
    """A piece of a sentence; `kind` and `key` make it a link to that document."""

    text: str
    kind: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class Subject:
    """What a sentence needs to know about the document an event is about."""

    number: str = ""
    party: str = ""  # the customer's name (or the guest's, or the e-mail)
    customer_number: str = ""  # for a link to the customer; empty for a guest
    amount: Money | None = None
    kind: str = ""  # invoices: invoice | credit_note; payments: the method
    currency: str = ""  # the customer's, for the amounts an event's data holds


@dataclass(frozen=True)
class Activity:
    at: dt.datetime
    action: str
    actor: str
    parts: tuple[Part, ...]
    channel: str = ""  # where it was done, in words ("Console", "Shop")

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts)


# --- what each kind of subject is: all of them read in one query ----------------------------

def _text(value=None):
    return literal(value, String) if value is not None else null().cast(String)


def _columns(kind: str, model, *, number=None, amount=None, currency=None, guest=None,
             email=None, customer_id=None, subkind=None) -> Callable[[list[int]], Select]:
    """A branch of the subjects' UNION ALL: the same columns for every kind of subject."""
    def branch(ids: list[int]) -> Select:
        return select(
            _text(kind).label("kind"), model.id.label("id"),
            (number if number is not None else _text("")).label("number"),
            (amount if amount is not None else null().cast(Numeric(14, 4))).label("amount"),
            (currency if currency is not None else _text()).label("currency"),
            (guest if guest is not None else _text()).label("guest"),
            (email if email is not None else _text()).label("email"),
            (customer_id if customer_id is not None else model.customer_id).label("customer_id"),
            (subkind if subkind is not None else _text()).label("subkind"),
        ).where(model.id.in_(ids))
    return branch


R = ReturnAuthorisation
BRANCHES: dict[str, Callable[[list[int]], Select]] = {
    "orders": _columns("orders", Order, number=Order.number, amount=Order.gross_total,
                       currency=Order.currency, email=Order.email,
                       guest=Order.shipping_address["full_name"].as_string()),
    "invoices": _columns("invoices", Invoice, number=Invoice.number, amount=Invoice.gross_total,
                         currency=Invoice.currency, email=Invoice.email,
                         guest=Invoice.bill_to["full_name"].as_string(), subkind=Invoice.kind),
    "returns": _columns("returns", R, number=R.number, amount=R.value, currency=R.currency,
                        email=R.email),
    "payments": _columns("payments", Payment, amount=Payment.amount, currency=Payment.currency,
                         subkind=Payment.method),
    "quotes": _columns("quotes", Quote, number=Quote.number, amount=Quote.gross_total,
                       currency=Quote.currency),
    "customers": _columns("customers", Customer, customer_id=Customer.id),
    # Credit-control records, told by their customer.
    "promises_to_pay": _columns("promises_to_pay", PromiseToPay),
    "invoice_disputes": _columns("invoice_disputes", Dispute),
    "collection_tasks": _columns("collection_tasks", CollectionTask),
    "dunning_letters": _columns("dunning_letters", DunningLetter),
}


def load_subjects(session: Session, events: Iterable[AuditEvent]
                  ) -> dict[tuple[str, str], Subject]:
    """The subjects of `events`, keyed by (subject_type, subject_id), with their customers:
    one query (a UNION ALL of a branch per kind of subject), none without subjects."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for e in events:
        if e.subject_type in BRANCHES and (e.subject_id or "").isdigit():
            wanted[e.subject_type].add(int(e.subject_id))
    if not wanted:
        return {}
    branches = [BRANCHES[kind](sorted(ids)) for kind, ids in wanted.items()]
    u = (union_all(*branches) if len(branches) > 1 else branches[0]).subquery()
    rows = session.execute(
        select(u.c.kind, u.c.id, u.c.number, u.c.amount, u.c.currency, u.c.guest, u.c.email,
               u.c.subkind, Customer.name, Customer.number, Customer.currency)
        .outerjoin(Customer, Customer.id == u.c.customer_id))
    found: dict[tuple[str, str], Subject] = {}
    for kind, sid, number, amount, currency, guest, email, subkind, name, cnumber, ccy in rows:
        currency = currency or ccy or ""
        found[(kind, str(sid))] = Subject(
            number=number or cnumber or "", party=name or guest or email or "",
            customer_number=cnumber or "",
            amount=Money(Decimal(amount), currency) if amount is not None and currency else None,
            kind=subkind or "", currency=currency)
    return found


def recent_activity(session: Session, *, limit: int = 10) -> list[Activity]:
    """The latest `limit` events, newest first, told in words."""
    # Newest first by time (the demo backdates its history), then by id within a moment.
    events = list(session.scalars(select(AuditEvent)
                                  .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                                  .limit(limit)))
    return tell(session, events)


def tell(session: Session, events: list[AuditEvent]) -> list[Activity]:
    """`events` told in words, their subjects read in one query (customer 360's trail)."""
    subjects = load_subjects(session, events)
    return [describe(e, subjects.get((e.subject_type or "", e.subject_id or ""))) for e in events]


# --- the sentences ------------------------------------------------------------------------------

def _money(data: dict, amount_key: str, currency: str | None) -> Money | None:
    try:
        return Money(Decimal(str(data[amount_key])), currency) if currency else None
    except (KeyError, InvalidOperation, ValueError, TypeError):
        return None


def _doc(kind: str, number: str) -> Part:
    return Part(number, kind, number) if number else Part("(unknown)")


def _who(s: Subject) -> Part:
    if s.customer_number:
        return Part(s.party or s.customer_number, "customer", s.customer_number)
    return Part(s.party or "a guest")


def _amount(s: Subject) -> list[Part]:
    return [Part(f", {s.amount.format()}")] if s.amount is not None else []


def _actor(e: AuditEvent) -> str:
    return e.actor_label or {"system": "the system", "anonymous": "a guest"}.get(e.actor_kind,
                                                                                "someone")


def readable(action: str) -> str:
    """'order.hold_placed' -> 'Hold placed', for events without a sentence (core.labels)."""
    return event_label(action)


def _what(e: AuditEvent) -> str:
    """The event's label as the end of a sentence: ': hold placed'."""
    label = event_label(e.action)
    return f": {label[0].lower()}{label[1:]}"


ORDER_VERBS = {"confirmed": "confirmed", "in_fulfilment": "released to the warehouse",
               "partially_shipped": "partly shipped", "shipped": "shipped",
               "completed": "completed", "cancelled": "cancelled", "approved": "approved",
               "rejected": "rejected by the approver", "shipment_delivered": "delivered",
               "note_added": "annotated", "lines_changed": "changed",
               "confirmation_emailed": "confirmation e-mailed",
               "confirmation_resent": "confirmation sent again",
               "approval_requested": "sent for approval", "repriced": "repriced",
               "price_overridden": "given an agreed price",
               "pay_link_sent": "payment link sent", "delivery_moved": "delivery date moved"}
RETURN_VERBS = {"approved": "approved", "rejected": "rejected", "label_sent": "label sent",
                "partly_received": "partly received", "received": "received",
                "refunded": "refunded", "exchanged": "exchanged", "closed": "closed",
                "credited": "credited", "emailed": "e-mailed"}
QUOTE_VERBS = {"sent": "sent", "accepted": "accepted", "rejected": "declined",
               "expired": "expired", "emailed": "e-mailed", "line_added": "given a line",
               "price_changed": "repriced", "terms_set": "given terms"}


def _order(e: AuditEvent, s: Subject, verb: str) -> list[Part]:
    if verb == "placed":
        if e.actor_kind == "agent":
            return [Part("Order "), _doc("order", s.number), Part(f" taken by {_actor(e)} for "),
                    _who(s), *_amount(s)]
        return [Part("Order "), _doc("order", s.number), Part(" placed by "), _who(s),
                *_amount(s)]
    if verb == "hold_placed":
        kind = HOLD_KINDS.get(str(e.data.get("kind", "")), "a").lower()
        return [Part("Order "), _doc("order", s.number), Part(" of "), _who(s),
                Part(f" put on {kind} hold by {_actor(e)}")]
    if verb == "hold_released":
        kind = HOLD_KINDS.get(str(e.data.get("kind", "")), "").lower()
        return [Part(f"{(kind + ' hold').capitalize()} on order "), _doc("order", s.number),
                Part(f" released by {_actor(e)}")]
    if verb in ORDER_VERBS:
        return [Part("Order "), _doc("order", s.number), Part(" of "), _who(s),
                Part(f" {ORDER_VERBS[verb]}")]
    return [Part("Order "), _doc("order", s.number), Part(" of "), _who(s), Part(_what(e))]


def _invoice(e: AuditEvent, s: Subject, verb: str, noun: str) -> list[Part]:
    if verb == "issued":
        return [Part(f"{noun} "), _doc("invoice", s.number), Part(" issued to "), _who(s),
                *_amount(s)]
    words = {"emailed": "e-mailed to", "written_off": "written off for",
             "paid_by_gift_card": "paid by gift card by"}.get(verb)
    if words:
        return [Part(f"{noun} "), _doc("invoice", s.number), Part(f" {words} "), _who(s)]
    return [Part(f"{noun} "), _doc("invoice", s.number), Part(_what(e))]


def _return(e: AuditEvent, s: Subject, verb: str) -> list[Part]:
    if verb == "requested":
        return [Part("Return "), _doc("return", s.number), Part(" requested by "), _who(s),
                *_amount(s)]
    if verb in RETURN_VERBS:
        return [Part("Return "), _doc("return", s.number), Part(" of "), _who(s),
                Part(f" {RETURN_VERBS[verb]} by {_actor(e)}")]
    return [Part("Return "), _doc("return", s.number), Part(_what(e))]


def _quote(e: AuditEvent, s: Subject, verb: str) -> list[Part]:
    if verb == "requested":
        return [Part("Quote "), _doc("quote", s.number), Part(" requested by "), _who(s)]
    if verb == "created":
        return [Part("Quote "), _doc("quote", s.number), Part(f" started by {_actor(e)} for "),
                _who(s)]
    if verb in QUOTE_VERBS:
        return [Part("Quote "), _doc("quote", s.number), Part(" for "), _who(s),
                Part(f" {QUOTE_VERBS[verb]}"), *(_amount(s) if verb in ("sent", "accepted")
                                                else [])]
    return [Part("Quote "), _doc("quote", s.number), Part(_what(e))]


def _customer(e: AuditEvent, s: Subject, verb: str) -> list[Part]:
    who = [_who(s), Part(f" ({s.number})")] if s.number else [Part("A customer")]
    words = {"created": f" created by {_actor(e)}", "registered": " registered in the shop",
             "updated": f" updated by {_actor(e)}", "note_added": f": note added by {_actor(e)}",
             "interaction_logged": f": call logged by {_actor(e)}",
             "credit_limit_changed": f": credit limit changed by {_actor(e)}",
             "password_reset_requested": " asked for a password reset"}
    return [*who, Part(words.get(verb, _what(e)))]


def _collections(e: AuditEvent, s: Subject, verb: str) -> list[Part]:
    data = e.data or {}
    if verb == "call":
        return [Part("Collection call with "), _who(s), Part(f" logged by {_actor(e)}")]
    if verb == "promise":
        amount = _money(data, "amount", s.currency)
        return [_who(s), Part(f" promised to pay {amount.format() if amount else 'an amount'}"
                              + (f" by {data['promised_for']}" if data.get("promised_for")
                                 else ""))]
    if verb.startswith("promise_"):
        return [Part("Promise to pay of "), _who(s), Part(f" {verb[8:].replace('_', ' ')}")]
    if verb == "task_added":
        return [Part("Follow-up with "), _who(s), Part(
            f" due {data.get('due_on', 'soon')} for {data.get('agent') or 'anyone'}")]
    if verb in ("task_done", "task_cancelled"):
        return [Part("Follow-up with "), _who(s),
                Part(f" {'done' if verb == 'task_done' else 'cancelled'} by {_actor(e)}")]
    if verb == "dispute_opened":
        invoice = str(data.get("invoice", ""))
        return [_who(s), Part(" disputes invoice "), _doc("invoice", invoice)]
    if verb.startswith("dispute_"):
        return [Part("Dispute of "), _who(s), Part(f" {verb[8:].replace('_', ' ')}")]
    return [Part(f"{readable(e.action)}: "), _who(s)]


def _with_data(e: AuditEvent, s: Subject | None) -> Subject:
    """The subject as loaded, or what the event itself remembers of it (deleted, or not
    loaded: the number and total many events carry in their data)."""
    if s is not None:
        return s
    data = e.data or {}
    total = _money(data, "total", data.get("currency")) or _money(data, "amount",
                                                                  data.get("currency"))
    return Subject(str(data.get("number", "")), "", "", total)


def describe(event: AuditEvent, subject: Subject | None) -> Activity:
    """The event as a sentence; `subject` is its document as load_subjects read it."""
    head, _, verb = event.action.partition(".")
    s = _with_data(event, subject)
    parts: list[Part]
    if head == "order" and event.subject_type == "orders":
        parts = _order(event, s, verb)
    elif head in ("invoice", "credit_note") and event.subject_type == "invoices":
        noun = "Credit note" if (s.kind or head) == "credit_note" else "Invoice"
        parts = _invoice(event, s, verb, noun)
    elif head == "return" and event.subject_type == "returns":
        parts = _return(event, s, verb)
    elif head == "quote" and event.subject_type == "quotes":
        parts = _quote(event, s, verb)
    elif event.action == "payment.recorded":
        amount = s.amount.format() if s.amount is not None else "money"
        parts = [Part(f"Payment of {amount} received from "), _who(s)] if s.party else [
            Part(f"Payment of {amount} received")]
    elif head == "customer" and event.subject_type == "customers":
        parts = _customer(event, s, verb)
    elif head == "collections" and s.number:
        parts = _collections(event, s, verb)
    elif event.action == "dunning.letter_sent" and s.number:
        level = (event.data or {}).get("level")
        parts = [Part(f"Dunning letter{f' (level {level})' if level else ''} sent to "),
                 _who(s)]
    elif event.action == "dunning.run_sent":
        n = (event.data or {}).get("letters")
        parts = [Part(f"Dunning run sent by {_actor(event)}"
                      + (f": {n} letter{'' if n == 1 else 's'}" if n is not None else ""))]
    elif s.party:
        parts = [Part(f"{readable(event.action)}: "), _who(s)]
    else:
        number = s.number or str((event.data or {}).get("number", "") or "")
        parts = [Part(readable(event.action) + (f" ({number})" if number else ""))]
    return Activity(event.at, event.action, _actor(event), tuple(parts),
                    code_label(event.channel))
