"""Commands on customers. In the shop a customer registers, confirms the address, signs in,
resets and changes a password, signs out everywhere ("web" in the audit trail). In the
console an agent creates and edits customers (warned of likely duplicates), keeps notes
and logs calls ("console"; the agent is the actor).

Plain functions taking a session; they flush and never commit.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit, events
from core.auth import services as auth
from core.auth.passwords import context_words, hash_new_password
from core.auth.services import normalise_email
from core.customers.addresses import validate_address
from core.customers.vat import clean_vat_id
from core.customers.errors import (EmailNotConfirmed, EmailTaken, InvalidConfirmationLink,
                                   InvalidInput, InvalidResetLink, WrongPassword)
from core.customers.models import (Customer, CustomerAddress, CustomerNote, CustomerUser,
                                   EmailConfirmation, Interaction, PasswordReset)
from core.db import utcnow
from core.errors import DomainError
from core.numbering import next_number
from core.pricing.models import PriceList

RESET_LIFETIME = dt.timedelta(hours=1)
CHANNEL = "web"


def phone_digits(phone: str) -> str:
    """Digits only, so '+33 6 12-34' and '33612 34' find each other."""
    return re.sub(r"\D", "", phone)


def find_user_by_email(session: Session, email: str) -> CustomerUser | None:
    return session.scalar(select(CustomerUser).where(CustomerUser.email == email.strip().lower()))


def register_customer(session: Session, *, email: str, full_name: str, password: str,
                      phone: str = "", currency: str = "EUR", confirmed: bool = True,
                      shop_name: str = "") -> CustomerUser:
    """Create a person customer with one login. Flushes; the caller commits.

    For trusted callers (staff, the demo data): raises EmailTaken for an address that has
    a login, and the address counts as confirmed. The shop's registration form goes
    through sign_up, which reveals neither and starts unconfirmed.
    """
    email, full_name, password_hash = _checked_login(email, full_name, password, shop_name)
    if find_user_by_email(session, email) is not None:
        raise EmailTaken()
    return _create(session, email=email, full_name=full_name, password_hash=password_hash,
                   phone=phone, currency=currency, confirmed=confirmed)


def _checked_login(email: str, full_name: str, password: str,
                   shop_name: str) -> tuple[str, str, str]:
    """A new login's e-mail (normalised) and name (trimmed, required), and its password's
    hash; raises InvalidInput for a missing name or a weak password."""
    email = normalise_email(email)
    full_name = full_name.strip()
    if not full_name:
        raise InvalidInput("Enter your name.", field="full_name")
    return email, full_name, hash_new_password(
        password, context=password_context(email, full_name, shop_name))


def _create(session: Session, *, email: str, full_name: str, password_hash: str, phone: str,
            currency: str, confirmed: bool) -> CustomerUser:
    customer = Customer(number=next_number(session, "customer"), kind="person", name=full_name,
                        email=email, phone=phone.strip(), phone_digits=phone_digits(phone),
                        currency=currency)
    user = CustomerUser(customer=customer, email=email, full_name=full_name,
                        password_hash=password_hash, role="buyer",
                        email_confirmed_at=utcnow() if confirmed else None)
    session.add_all([customer, user])
    session.flush()
    audit.record(session, "customer.registered", actor=actor_for(user), channel=CHANNEL,
                 subject=customer, data={"email": email, "confirmed": confirmed})
    return user


def password_context(email: str | None, full_name: str | None, shop_name: str = "") -> list[str]:
    """What a person's password must not be built from (core.auth.passwords)."""
    return context_words(email, full_name, shop_name, *SHOP_WORDS)


# -- registering in the shop ----------------------------------------------------------------
#
# Policy. The answer to the registration form is the same whether or not the address has
# an account ("check your e-mail"), so the form tells no one who is a customer here; the
# e-mail says the rest to the owner of the address only: a new account gets a link to
# confirm the address, an existing one is told someone tried to register with it, with
# links to sign in and to reset the password. Both paths hash the password and send one
# e-mail after commit, so they also take about the same time (with Redis queueing mail).
#
# An unconfirmed account can do nothing until the link is followed: it cannot sign in
# (signing in with the right password sends a fresh link instead). That is Saleor's
# default (enable_account_confirmation_by_email with allow_login_without_confirmation
# off: "Account needs to be confirmed via email"); Shopify's customer accounts sign in
# with a code e-mailed each time, which proves the address before anything too. Shopping
# as a guest stays open meanwhile, so nobody is stopped from buying. Confirming asks for
# the password chosen at registration as well as the link: whoever registers someone
# else's address (to read their later orders) cannot have the owner confirm that account
# by a click, and the owner, who does not know that password, resets it instead (a reset
# link proves the address too, and replaces the squatter's password).

SHOP_WORDS = ("marketline",)
CONFIRMATION_LIFETIME = dt.timedelta(hours=24)
CONFIRMATION_RESEND_AFTER = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class SignUp:
    """What registering led to: a new, unconfirmed login with the token of its confirmation
    link, or (token None) the login that already had this address."""

    user: CustomerUser
    token: str | None

    @property
    def is_new(self) -> bool:
        return self.token is not None


def sign_up(session: Session, *, email: str, full_name: str, password: str,
            shop_name: str = "") -> SignUp:
    """Register from the shop's form; see the policy above. Flushes; once the caller
    commits, the user is e-mailed (core.notifications) the confirmation link when new,
    else the "already registered" notice."""
    # Checked against what was typed, never against the account: says nothing of it.
    email, full_name, password_hash = _checked_login(email, full_name, password, shop_name)
    existing = find_user_by_email(session, email)
    if existing is None:
        try:
            with session.begin_nested():
                user = _create(session, email=email, full_name=full_name,
                               password_hash=password_hash, phone="", currency="EUR",
                               confirmed=False)
        except IntegrityError:  # the same address registered a moment ago, concurrently
            existing = find_user_by_email(session, email)
            if existing is None:
                raise
        else:
            return SignUp(user, _new_confirmation(session, user))
    audit.record(session, "customer.registration_repeated", actor=audit.Actor.anonymous(),
                 channel=CHANNEL, subject=existing.customer, data={"email": email})
    events.record(session, events.RegistrationRepeated(existing.email, existing.full_name))
    session.flush()
    return SignUp(existing, None)


def _new_confirmation(session: Session, user: CustomerUser) -> str:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(EmailConfirmation(user_id=user.id, token_hash=_token_hash(token),
                                  created_at=now, expires_at=now + CONFIRMATION_LIFETIME))
    session.flush()
    # The link is e-mailed once this commits (core.notifications).
    events.record(session, events.EmailConfirmationRequested(user.email, user.full_name, token))
    return token


def valid_confirmation(session: Session, token: str) -> CustomerUser:
    """The login a confirmation link is for; InvalidConfirmationLink when spent or expired."""
    row = session.scalar(select(EmailConfirmation).where(
        EmailConfirmation.token_hash == _token_hash(token)))
    if row is None or row.used_at is not None or row.expires_at < utcnow():
        raise InvalidConfirmationLink()
    user = session.get(CustomerUser, row.user_id)
    if user is None or not user.active:
        raise InvalidConfirmationLink()
    return user


def confirm_email(session: Session, *, token: str, password: str, remote_addr: str | None,
                  limit: int) -> CustomerUser:
    """Confirm the address with the link and the password chosen at registration (throttled
    like signing in). Returns the user, to be signed in. Flushes; the caller commits, also
    after an error (the failed attempt is what throttling counts)."""
    user = valid_confirmation(session, token)
    try:
        auth.sign_in(session, realm="customer", user=user, email=user.email, password=password,
                     remote_addr=remote_addr, limit=limit)
    except auth.BadCredentials:
        raise WrongPassword("That is not the password you chose when you registered.",
                            field="password") from None
    now = utcnow()
    spent = session.execute(
        update(EmailConfirmation).where(EmailConfirmation.token_hash == _token_hash(token),
                                        EmailConfirmation.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False)).rowcount
    if spent != 1:  # a concurrent request used it first
        raise InvalidConfirmationLink()
    if user.email_confirmed_at is None:
        user.email_confirmed_at = now
        audit.record(session, "customer.email_confirmed", actor=actor_for(user),
                     channel=CHANNEL, subject=user.customer, data={"by": "link"})
    session.flush()
    return user


def _confirmation_to_resend(session: Session, user: CustomerUser) -> str | None:
    """A new confirmation token, unless one was made in the last few minutes."""
    recent = session.scalar(select(EmailConfirmation.id).where(
        EmailConfirmation.user_id == user.id,
        EmailConfirmation.created_at > utcnow() - CONFIRMATION_RESEND_AFTER).limit(1))
    return None if recent else _new_confirmation(session, user)


def actor_for(user: CustomerUser) -> audit.Actor:
    return audit.Actor("customer", user.id, user.email)


def authenticate(session: Session, *, email: str, password: str, remote_addr: str | None,
                 limit: int, commit=None) -> CustomerUser:
    """The user whose password this is; throttled (core.auth.services.sign_in).

    EmailNotConfirmed (after the right password only, so it tells a stranger nothing) for
    a login whose address is not confirmed yet, with a fresh link's token to mail.
    """
    user = find_user_by_email(session, email)
    user = auth.sign_in(session, realm="customer", user=user, email=email, password=password,
                        remote_addr=remote_addr, limit=limit, commit=commit)
    if user.email_confirmed_at is None:
        raise EmailNotConfirmed(user, _confirmation_to_resend(session, user))
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ask_for_password_reset(session: Session, email: str) -> None:
    """Someone asked for a reset link for `email`. Nothing is looked up here: once the
    caller commits, a task (core.notifications) finds the account, if there is one, and
    mails it a link (request_password_reset), so the answer and its timing are the same
    whoever asked."""
    events.record(session, events.PasswordResetAsked(email))


def request_password_reset(session: Session, email: str) -> tuple[CustomerUser, str] | None:
    """Make a reset token for the e-mail's user; None when there is no such user.

    The caller mails the token after commit and tells the person the same thing
    either way, so the form does not reveal who has an account. Either way the request
    writes an audit event, so both commits cost the same (a transaction that wrote
    nothing commits faster); the mail is queued, which takes the same short time when
    Redis runs the queue (when mail is sent inline, the request waits for the SMTP server).
    """
    user = find_user_by_email(session, email)
    if user is None or not user.active:
        audit.record(session, "customer.password_reset_requested", actor=audit.Actor.anonymous(),
                     channel=CHANNEL, data={"email": email.strip().lower()[:254],
                                            "account": False})
        session.flush()
        return None
    token = secrets.token_urlsafe(32)
    session.add(PasswordReset(user_id=user.id, token_hash=_token_hash(token),
                              expires_at=utcnow() + RESET_LIFETIME))
    audit.record(session, "customer.password_reset_requested", actor=actor_for(user),
                 channel=CHANNEL, subject=user.customer)
    session.flush()
    return user, token


def valid_reset(session: Session, token: str) -> PasswordReset:
    reset = session.scalar(select(PasswordReset).where(PasswordReset.token_hash == _token_hash(token)))
    if reset is None or reset.used_at is not None or reset.expires_at < utcnow():
        raise InvalidResetLink()
    return reset


def reset_password(session: Session, *, token: str, new_password: str,
                   shop_name: str = "") -> CustomerUser:
    """Set a new password from a reset link, spend the link and end every session.

    The link is spent by one conditional UPDATE (unused and unexpired at that moment), so
    of two requests with the same link only one sets a password: the other waits for the
    row, finds it spent, and gets InvalidResetLink. The link also proves the address.
    """
    reset = valid_reset(session, token)
    user = session.get(CustomerUser, reset.user_id)
    password_hash = hash_new_password(
        new_password, context=password_context(user.email, user.full_name, shop_name))
    now = utcnow()
    spent = session.execute(
        update(PasswordReset).where(PasswordReset.id == reset.id,
                                    PasswordReset.used_at.is_(None),
                                    PasswordReset.expires_at >= now)
        .values(used_at=now).execution_options(synchronize_session=False)).rowcount
    if spent != 1:
        raise InvalidResetLink()
    user.password_hash = password_hash
    _spend_reset_links(session, user, now)
    if user.email_confirmed_at is None:
        user.email_confirmed_at = now
        audit.record(session, "customer.email_confirmed", actor=actor_for(user),
                     channel=CHANNEL, subject=user.customer, data={"by": "password_reset"})
    auth.end_all_sessions(session, realm="customer", user_id=user.id)
    audit.record(session, "customer.password_reset", actor=actor_for(user), channel=CHANNEL,
                 subject=user.customer)
    session.flush()
    return user


def _spend_reset_links(session: Session, user: CustomerUser, now: dt.datetime) -> None:
    """Spend every open reset link of the user: a new password makes them pointless."""
    session.execute(update(PasswordReset).where(PasswordReset.user_id == user.id,
                                                PasswordReset.used_at.is_(None))
                    .values(used_at=now).execution_options(synchronize_session=False))


# -- the signed-in customer's own security ----------------------------------------------------

def change_password(session: Session, user: CustomerUser, *, current_password: str,
                    new_password: str, remote_addr: str | None, limit: int,
                    shop_name: str = "") -> None:
    """Change the password, the current one required (throttled like signing in: a session
    left open must not become a way to guess it), and end every session of the user, this
    one included: the caller signs this browser in afresh. Flushes; the caller commits,
    also after an error (the failed attempt is what throttling counts)."""
    try:
        auth.sign_in(session, realm="customer", user=user, email=user.email,
                     password=current_password, remote_addr=remote_addr, limit=limit)
    except auth.BadCredentials:
        raise WrongPassword() from None
    user.password_hash = hash_new_password(
        new_password, context=password_context(user.email, user.full_name, shop_name))
    _spend_reset_links(session, user, utcnow())
    auth.end_all_sessions(session, realm="customer", user_id=user.id)
    audit.record(session, "customer.password_changed", actor=actor_for(user), channel=CHANNEL,
                 subject=user.customer)
    session.flush()


def sign_out_everywhere(session: Session, user: CustomerUser) -> None:
    """End every session of the user (a browser left signed in elsewhere, a lost phone);
    the caller signs this browser in afresh. Flushes; the caller commits."""
    auth.end_all_sessions(session, realm="customer", user_id=user.id)
    audit.record(session, "customer.signed_out_everywhere", actor=actor_for(user),
                 channel=CHANNEL, subject=user.customer)
    session.flush()


# --- created and kept up to date by agents in the console ---------------------------------

CONSOLE = "console"  # the channel of an agent's changes
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
                  "on_account_allowed", "vat_id")


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
    vat_id: str = ""  # a business customer's VAT id (core.customers.vat), on its e-invoices


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
                        address=_clean_address(data.address), vat_id=clean_vat_id(data.vat_id))


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
                        postal_code=clean.address["postal_code"], vat_id=clean.vat_id)
    session.add(customer)
    session.add(CustomerAddress(customer=customer, label="Default", default_shipping=True,
                                default_billing=True, **clean.address))
    session.flush()
    audit.record(session, "customer.created", actor=actor, channel=CONSOLE, subject=customer,
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
        audit.record(session, "customer.updated", actor=actor, channel=CONSOLE,
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
    audit.record(session, "customer.note_added", actor=actor, channel=CONSOLE,
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
    audit.record(session, "customer.interaction_logged", actor=actor, channel=CONSOLE,
                 subject=customer, data={"interaction_id": interaction.id, "reason": reason,
                                         "outcome": outcome})
    return interaction


def _agent_id(actor: audit.Actor) -> int | None:
    return actor.id if actor.kind == "agent" else None
