"""Commands agents run on customers in the console: create, edit, note, log a call.

Plain functions taking a session; they flush and never commit. Every change leaves an
audit event on the customer with the agent as actor and "console" as channel.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core import audit
from core.customers.addresses import validate_address
from core.customers.errors import InvalidInput
from core.customers.models import Customer, CustomerAddress, CustomerNote, Interaction
from core.customers.services import normalise_email, phone_digits
from core.errors import DomainError
from core.numbering import next_number
from core.pricing.models import PriceList

CHANNEL = "console"
KINDS = {"person": "Person", "company": "Company"}
PAYMENT_TERMS = {"card": "Card (paid when ordering)", "net30": "Net 30 days",
                 "2-10-net30": "2 % 10 days, net 30"}
PRICE_GROUPS = ("retail", "business")  # plus the customer groups price lists name
INTERACTION_CHANNELS = {"phone": "Phone", "email": "E-mail", "chat": "Chat"}
INTERACTION_REASONS = {"order": "New order", "status": "Order status", "change": "Change an order",
                       "return": "Return or complaint", "billing": "Billing or payment",
                       "product": "Product question", "account": "Account details",
                       "other": "Other"}
INTERACTION_OUTCOMES = {"resolved": "Resolved", "order_placed": "Order placed",
                        "follow_up": "Follow-up needed", "escalated": "Passed to a supervisor",
                        "callback": "Call back agreed", "no_action": "No action needed"}
MIN_DUPLICATE_PHONE_DIGITS = 6  # shorter numbers say too little to call anyone a duplicate
NOTE_MAX = 2000
PROFILE_FIELDS = ("kind", "name", "email", "phone", "price_group", "payment_terms",
                  "on_account_allowed")


class LikelyDuplicate(DomainError):
    """Another customer has the same e-mail or phone; the agent confirms to go on."""

    code = "likely_duplicate"

    def __init__(self, matches: list[Customer]):
        numbers = ", ".join(c.number for c in matches)
        super().__init__(f"This looks like a customer we already have ({numbers}).")
        self.matches = matches


@dataclass
class CustomerData:
    """What the create and edit forms hand over; checked and cleaned by the services."""

    kind: str = "person"
    name: str = ""
    email: str = ""
    phone: str = ""
    price_group: str = "retail"
    payment_terms: str = "card"
    on_account_allowed: bool = False
    address: dict[str, str] = field(default_factory=dict)


def price_groups(session: Session) -> list[str]:
    """The groups a customer can be priced in: the standard ones and those price lists name."""
    named = session.scalars(select(PriceList.customer_group).distinct()
                            .where(PriceList.customer_group.is_not(None))).all()
    return list(dict.fromkeys([*PRICE_GROUPS, *sorted(g for g in named if g)]))


def _clean(session: Session, data: CustomerData) -> CustomerData:
    """The data checked field by field; raises InvalidInput naming the first bad field."""
    if data.kind not in KINDS:
        raise InvalidInput("Choose person or company.", field="kind")
    name = " ".join(data.name.split())
    if not name:
        raise InvalidInput("Enter the company name." if data.kind == "company"
                           else "Enter the customer's name.", field="name")
    if len(name) > 200:
        raise InvalidInput("A name has at most 200 characters.", field="name")
    email = normalise_email(data.email) if data.email.strip() else ""
    phone = " ".join(data.phone.split())
    if phone and (not re.fullmatch(r"[\d\s+\-()/.]+", phone)
                  or not 6 <= len(phone_digits(phone)) <= 15):
        raise InvalidInput("Enter a phone number of 6 to 15 digits, like +49 30 1234 5678.",
                           field="phone")
    if not email and not phone:
        raise InvalidInput("Enter an e-mail address or a phone number, so we can reach the "
                           "customer.", field="email")
    if data.price_group not in price_groups(session):
        raise InvalidInput("Choose a price group.", field="price_group")
    if data.payment_terms not in PAYMENT_TERMS:
        raise InvalidInput("Choose payment terms.", field="payment_terms")
    return CustomerData(kind=data.kind, name=name, email=email, phone=phone,
                        price_group=data.price_group, payment_terms=data.payment_terms,
                        on_account_allowed=bool(data.on_account_allowed),
                        address=_clean_address(data.address))


def _clean_address(raw: dict[str, str]) -> dict[str, str]:
    try:
        return validate_address(raw)
    except InvalidInput as err:
        # The address fields sit under their own prefix on the form.
        raise InvalidInput(err.message, field=f"address-{err.field}") from None


def likely_duplicates(session: Session, *, email: str, phone: str,
                      exclude_id: int | None = None, limit: int = 5) -> list[Customer]:
    """Other customers with the same e-mail (any case) or the same phone digits."""
    conditions = []
    if email.strip():
        conditions.append(func.lower(Customer.email) == email.strip().lower())
    digits = phone_digits(phone)
    if len(digits) >= MIN_DUPLICATE_PHONE_DIGITS:
        conditions.append(Customer.phone_digits == digits)
    if not conditions:
        return []
    stmt = select(Customer).where(or_(*conditions)).order_by(Customer.number).limit(limit)
    if exclude_id is not None:
        stmt = stmt.where(Customer.id != exclude_id)
    return list(session.scalars(stmt))


# Who may decide what: giving credit (on-account, payment terms) is credit control's call,
# a cheaper price group a supervisor's. Switching a customer between person and company is
# a price change too (a company buys at the web-b2b trade prices), so it is decided like
# the price group. Admin may do all.
AUTHORITY = {"on_account_allowed": ("credit",), "payment_terms": ("credit",),
             "price_group": ("supervisor", "credit"), "kind": ("supervisor", "credit")}


def check_authority(before: dict, after: CustomerData, roles: frozenset[str], *,
                    new: bool = False) -> None:
    """Refuse, at the field, a value the agent's roles do not cover: for a new customer
    anything but NEW_CUSTOMER's defaults, for an edit any change from `before`."""
    if "admin" in roles:
        return
    for name, allowed in AUTHORITY.items():
        if before[name] != getattr(after, name) and not roles.intersection(allowed):
            who = " or ".join(allowed)
            doing = "choose this for a new customer" if new else "change this"
            raise InvalidInput(f"Only an agent with the {who} role can {doing}.", field=name)


# What any agent may create: a person, paying by card at retail prices. A company buys at
# the trade prices, so creating one is decided like switching to one.
NEW_CUSTOMER = {"on_account_allowed": False, "payment_terms": "card", "price_group": "retail",
                "kind": "person"}
assert set(NEW_CUSTOMER) == set(AUTHORITY)


def create_customer(session: Session, data: CustomerData, *, actor: audit.Actor,
                    roles: frozenset[str] = frozenset(),
                    allow_duplicate: bool = False) -> Customer:
    """A new customer with its default address and the next customer number.

    Raises InvalidInput at the first bad field, and LikelyDuplicate when another customer
    has the same e-mail or phone, unless the agent said to create it anyway.
    """
    clean = _clean(session, data)
    check_authority(NEW_CUSTOMER, clean, roles, new=True)
    matches = likely_duplicates(session, email=clean.email, phone=clean.phone)
    if matches and not allow_duplicate:
        raise LikelyDuplicate(matches)
    customer = Customer(number=next_number(session, "customer"), kind=clean.kind,
                        name=clean.name, email=clean.email, phone=clean.phone,
                        phone_digits=phone_digits(clean.phone), price_group=clean.price_group,
                        payment_terms=clean.payment_terms,
                        on_account_allowed=clean.on_account_allowed,
                        postal_code=clean.address["postal_code"])
    session.add(customer)
    session.add(CustomerAddress(customer=customer, label="Default", default_shipping=True,
                                default_billing=True, **clean.address))
    session.flush()
    audit.record(session, "customer.created", actor=actor, channel=CHANNEL, subject=customer,
                 data={"number": customer.number, "kind": customer.kind,
                       "duplicate_of": [c.number for c in matches]})
    return customer


def default_address(session: Session, customer: Customer) -> CustomerAddress | None:
    """The customer's default shipping address, else their first."""
    return session.scalar(select(CustomerAddress)
                          .where(CustomerAddress.customer_id == customer.id)
                          .order_by(CustomerAddress.default_shipping.desc(), CustomerAddress.id)
                          .limit(1))


def update_customer(session: Session, customer: Customer, data: CustomerData, *,
                    actor: audit.Actor, roles: frozenset[str] = frozenset(),
                    allow_duplicate: bool = False) -> Customer:
    """Change the profile and the default address; the audit event lists what changed."""
    clean = _clean(session, data)
    check_authority({name: getattr(customer, name) for name in AUTHORITY}, clean, roles)
    matches = likely_duplicates(session, email=clean.email, phone=clean.phone,
                                exclude_id=customer.id)
    changed_contact = (clean.email != customer.email
                       or phone_digits(clean.phone) != customer.phone_digits)
    if matches and changed_contact and not allow_duplicate:
        raise LikelyDuplicate(matches)
    changes = {name: [getattr(customer, name), getattr(clean, name)] for name in PROFILE_FIELDS
               if getattr(customer, name) != getattr(clean, name)}
    for name in PROFILE_FIELDS:
        setattr(customer, name, getattr(clean, name))
    customer.phone_digits = phone_digits(clean.phone)
    customer.postal_code = clean.address["postal_code"]
    address = default_address(session, customer)
    if address is None:
        address = CustomerAddress(customer=customer, label="Default", default_shipping=True,
                                  default_billing=True, **clean.address)
        session.add(address)
        changes["address"] = [None, clean.address]
    elif address.as_dict() != clean.address:
        changes["address"] = [address.as_dict(), clean.address]
        for key, value in clean.address.items():
            setattr(address, key, value)
    session.flush()
    if changes:
        audit.record(session, "customer.updated", actor=actor, channel=CHANNEL,
                     subject=customer, data={"changes": changes})
    return customer


def add_note(session: Session, customer: Customer, text: str, *,
             actor: audit.Actor) -> CustomerNote:
    """Keep an agent's note on the customer."""
    text = text.strip()
    if not text:
        raise InvalidInput("Write the note.", field="text")
    if len(text) > NOTE_MAX:
        raise InvalidInput(f"A note has at most {NOTE_MAX} characters.", field="text")
    note = CustomerNote(customer_id=customer.id, agent_id=_agent_id(actor), text=text)
    session.add(note)
    session.flush()
    audit.record(session, "customer.note_added", actor=actor, channel=CHANNEL,
                 subject=customer, data={"note_id": note.id})
    return note


def check_interaction(*, reason: str, outcome: str, channel: str, note: str) -> str:
    """The note, stripped, if the contact's channel, reason, outcome and note are valid."""
    if channel not in INTERACTION_CHANNELS:
        raise InvalidInput("Choose how the customer got in touch.", field="channel")
    if reason not in INTERACTION_REASONS:
        raise InvalidInput("Choose the reason for the contact.", field="reason")
    if outcome not in INTERACTION_OUTCOMES:
        raise InvalidInput("Choose the outcome.", field="outcome")
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise InvalidInput(f"A note has at most {NOTE_MAX} characters.", field="note")
    return note


def log_interaction(session: Session, customer: Customer, *, actor: audit.Actor,
                    reason: str, outcome: str, channel: str = "phone", note: str = "",
                    order_number: str = "") -> Interaction:
    """Record one contact with the customer: why they called and how it ended. That the
    order it was about is one of theirs is checked by core.workflows.customer_contact."""
    note = check_interaction(reason=reason, outcome=outcome, channel=channel, note=note)
    order_number = order_number.strip().upper()
    interaction = Interaction(customer_id=customer.id, agent_id=_agent_id(actor),
                              channel=channel, reason=reason, outcome=outcome, note=note,
                              order_number=order_number)
    session.add(interaction)
    session.flush()
    audit.record(session, "customer.interaction_logged", actor=actor, channel=CHANNEL,
                 subject=customer, data={"interaction_id": interaction.id, "reason": reason,
                                         "outcome": outcome})
    return interaction


def _agent_id(actor: audit.Actor) -> int | None:
    return actor.id if actor.kind == "agent" else None
