"""Company accounts and every customer's own account.

A company admin in the shop, or an agent in the console, manages a company's buyers:
invites them (a one-time link to choose a password), changes their role and spending
limits, deactivates and reactivates them, and keeps the customer's address book and
bill-to. A person keeps their own address book. Every login updates its profile and
changes its e-mail address (confirmed by a link sent to the new address).

Who may is decided here, once, for every command (`authorise`): a login through
core.customers.roles, an agent by the console role agent, supervisor or admin. Anything
else is NotAllowed, a NotFound: the shop answers 404, as for another customer's document.

Policy:
- A company always keeps an active admin who can sign in: nobody (admin or agent) demotes
  or deactivates its last one.
- An invited buyer is a login without a usable password and with its address unconfirmed:
  it cannot sign in until the link is followed. One address has one login here, so an
  address that already has one is refused at the field.
- Links store only the sha256 of their token, are spent by one conditional UPDATE (of two
  requests with the same link only one wins), and a new link spends the older ones.

Plain functions taking a session; they flush and never commit. E-mails go out after the
caller commits (core.events -> core.notifications).
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit, events
from core.auth import services as auth
from core.auth.passwords import hash_new_password
from core.auth.services import normalise_email
from core.customers import roles
from core.customers.addresses import validate_address
from core.customers.vat import clean_vat_id
from core.customers.errors import InvalidInput, WrongPassword
from core.customers.models import (BuyerInvitation, Customer, CustomerAddress, CustomerUser,
                                   EmailChange, EmailConfirmation, PasswordReset,
                                   SingleUseLink)
from core.customers.services import (_token_hash, actor_for, find_user_by_email,
                                     password_context, phone_digits)
from core.db import utcnow
from core.errors import DomainError, NotFound
from core.parsing import AMOUNT_LIMIT

INVITATION_DAYS = 7  # core.config INVITATION_DAYS; the callers pass the setting
EMAIL_CHANGE_LIFETIME = dt.timedelta(hours=24)
CONSOLE_ROLES = frozenset({"agent", "supervisor", "admin"})
LABEL_MAX = 60
PHONE_MAX = 40


# -- errors -----------------------------------------------------------------------------------

class NotAllowed(NotFound):
    """Not this login's (or agent's) to do: answered like a document that is not theirs."""

    code = "not_allowed"

    def __init__(self, message: str = "We could not find that page."):
        super().__init__(message)


class LastAdmin(DomainError):
    code = "last_admin"

    def __init__(self, field: str | None = None):
        super().__init__("A company needs at least one active admin. Make another buyer an "
                         "admin first.", field=field)


class AddressHasLogin(DomainError):
    code = "address_has_login"

    def __init__(self, field: str = "email"):
        super().__init__("This e-mail address already has a login here. One address belongs "
                         "to one login; use another address.", field=field)


class InvalidInvitation(DomainError):
    code = "invalid_invitation"

    def __init__(self):
        super().__init__("This invitation link is invalid, used or expired. Ask your "
                         "company's administrator to send you a new one.")


class InvalidEmailChange(DomainError):
    code = "invalid_email_change"

    def __init__(self, message: str = "This link is invalid, used or expired. Ask for the "
                 "change again from your account."):
        super().__init__(message)


# -- who acts -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConsoleAgent:
    """An agent acting in the console: their audit actor and their roles."""

    actor: audit.Actor
    roles: frozenset[str]


Acting = CustomerUser | ConsoleAgent


def _actor(by: Acting) -> audit.Actor:
    return by.actor if isinstance(by, ConsoleAgent) else actor_for(by)


def _channel(by: Acting) -> str:
    return "console" if isinstance(by, ConsoleAgent) else "web"


def may(by: Acting, customer: Customer, need: str = "company") -> bool:
    """Whether `by` may do `need` for `customer`: "company" (buyers, roles, limits) or
    "addresses" (the address book and bill-to)."""
    if isinstance(by, ConsoleAgent):
        return bool(by.roles & CONSOLE_ROLES)
    if by.customer_id != customer.id:
        return False
    if need == "addresses":
        return roles.can_edit_addresses(by)
    return roles.can_manage_company(by)


def authorise(by: Acting, customer: Customer, need: str = "company") -> None:
    """NotAllowed unless `by` may do `need` for `customer` (see `may`); the one check every
    command here and every page that offers them makes."""
    if not may(by, customer, need):
        raise NotAllowed()
    if need == "company" and not customer.is_company:
        raise NotAllowed("Only a company has buyers.")


def _buyer(session: Session, customer: Customer, user_id: int, *,
           lock: bool = False) -> CustomerUser:
    stmt = select(CustomerUser).where(CustomerUser.id == user_id,
                                      CustomerUser.customer_id == customer.id)
    if lock:
        stmt = stmt.with_for_update(of=CustomerUser).execution_options(populate_existing=True)
    user = session.scalar(stmt)
    if user is None:
        raise NotFound("We could not find that buyer.")
    return user


def buyers(session: Session, customer: Customer) -> list[CustomerUser]:
    """The company's logins: admins first, then by name. One query."""
    order = {"admin": 0, "approver": 1, "buyer": 2}
    rows = list(session.scalars(select(CustomerUser)
                                .where(CustomerUser.customer_id == customer.id)
                                .order_by(CustomerUser.full_name, CustomerUser.id)))
    return sorted(rows, key=lambda u: (not u.active, order.get(u.role, 3)))


def status(user: CustomerUser) -> str:
    """"active", "invited" (has not chosen a password yet) or "deactivated"."""
    if not user.active:
        return "deactivated"
    return "active" if user.email_confirmed_at is not None else "invited"


STATUS_LABELS = {"active": "Active", "invited": "Invited", "deactivated": "Deactivated"}


# -- checking what was typed -----------------------------------------------------------------

def _role(value: str) -> str:
    if value not in roles.ROLES:
        raise InvalidInput("Choose buyer, approver or admin.", field="role")
    return value


def _limit(value, field: str) -> Decimal | None:
    """A spending limit: None (no limit) or an amount of at least 0, in cents."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        raise InvalidInput("Enter an amount, like 500.00, or leave it empty for no limit.",
                           field=field) from None
    if not amount.is_finite() or amount < 0 or amount >= AMOUNT_LIMIT:
        raise InvalidInput("Enter an amount of 0 or more, or leave it empty for no limit.",
                           field=field)
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput("Enter the amount in cents at most, like 500.00.", field=field)
    return amount.quantize(Decimal("0.01"))


def _name(value: str, field: str = "full_name") -> str:
    name = " ".join((value or "").split())
    if not name:
        raise InvalidInput("Enter the person's full name.", field=field)
    if len(name) > 200:
        raise InvalidInput("A name has at most 200 characters.", field=field)
    return name


def _phone(value: str) -> str:
    phone = " ".join((value or "").split())
    if phone and (len(phone) > PHONE_MAX or not 6 <= len(phone_digits(phone)) <= 15
                  or any(ch not in "0123456789 +-()/." for ch in phone)):
        raise InvalidInput("Enter a phone number of 6 to 15 digits, like +49 30 1234 5678.",
                           field="phone")
    return phone


# -- single-use links -------------------------------------------------------------------------

def _new_link(session: Session, model: type[SingleUseLink], user: CustomerUser,
              lifetime: dt.timedelta, **columns) -> str:
    """Spend the user's open links of this kind and make a new one; its token."""
    now = utcnow()
    _spend_all(session, model, user, now)
    token = secrets.token_urlsafe(32)
    session.add(model(user_id=user.id, token_hash=_token_hash(token),
                      expires_at=now + lifetime, **columns))
    return token


def _spend_all(session: Session, model, user: CustomerUser, now: dt.datetime) -> None:
    session.execute(update(model).where(model.user_id == user.id, model.used_at.is_(None))
                    .values(used_at=now).execution_options(synchronize_session=False))


def _open_link(session: Session, model, token: str):
    link = session.scalar(select(model).where(model.token_hash == _token_hash(token or "")))
    if link is None or link.used_at is not None or link.expires_at < utcnow():
        return None
    return link


def _spend(session: Session, model, link) -> bool:
    """Spend one link if it is still open at this moment; False when another request did."""
    now = utcnow()
    return session.execute(
        update(model).where(model.id == link.id, model.used_at.is_(None),
                            model.expires_at >= now)
        .values(used_at=now).execution_options(synchronize_session=False)).rowcount == 1


# -- inviting buyers -------------------------------------------------------------------------

def invite_buyer(session: Session, customer: Customer, *, email: str, full_name: str,
                 role: str, order_limit=None, monthly_limit=None, actor: Acting,
                 days: int = INVITATION_DAYS) -> str:
    """A new login for the company that cannot sign in yet, and an invitation valid `days`
    days; returns its token. Once the caller commits, the invitee is e-mailed the link."""
    authorise(actor, customer)
    email = normalise_email(email)
    full_name = _name(full_name)
    role = _role(role)
    order_limit = _limit(order_limit, "order_limit")
    monthly_limit = _limit(monthly_limit, "monthly_limit")
    if find_user_by_email(session, email) is not None:
        raise AddressHasLogin()
    user = CustomerUser(customer_id=customer.id, email=email, full_name=full_name,
                        password_hash="", role=role, active=True, order_limit=order_limit,
                        monthly_limit=monthly_limit, email_confirmed_at=None)
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError:  # the same address invited at the same moment
        raise AddressHasLogin() from None
    token = _send_invitation(session, customer, user, actor=actor, days=days)
    audit.record(session, "customer.buyer_invited", actor=_actor(actor),
                 channel=_channel(actor), subject=customer,
                 data={"user_id": user.id, "email": email, "role": role,
                       "order_limit": _money(order_limit),
                       "monthly_limit": _money(monthly_limit)})
    session.flush()
    return token


def _send_invitation(session: Session, customer: Customer, user: CustomerUser, *,
                     actor: Acting, days: int) -> str:
    # The invitee reads who asked: the colleague by name, or our customer service.
    label = ("Marketline customer service" if isinstance(actor, ConsoleAgent)
             else actor.full_name)
    token = _new_link(session, BuyerInvitation, user, dt.timedelta(days=days),
                      invited_by=_actor(actor).label[:200])
    events.record(session, events.BuyerInvited(email=user.email, full_name=user.full_name,
                                               company=customer.name, invited_by=label,
                                               token=token, days=days))
    return token


def resend_invitation(session: Session, customer: Customer, user_id: int, *, actor: Acting,
                      days: int = INVITATION_DAYS) -> str:
    """A fresh invitation link for a buyer who has not accepted yet; the old links are spent."""
    authorise(actor, customer)
    user = _buyer(session, customer, user_id)
    if status(user) != "invited":
        raise InvalidInput(f"{user.full_name} has already accepted the invitation."
                           if user.active else
                           f"{user.full_name} is deactivated: reactivate them first.")
    token = _send_invitation(session, customer, user, actor=actor, days=days)
    audit.record(session, "customer.buyer_invitation_resent", actor=_actor(actor),
                 channel=_channel(actor), subject=customer,
                 data={"user_id": user.id, "email": user.email})
    session.flush()
    return token


def valid_invitation(session: Session, token: str) -> CustomerUser:
    """The invited login of an open invitation link; InvalidInvitation otherwise (used,
    expired, replaced by a newer one, the login deactivated or already set up)."""
    link = _open_link(session, BuyerInvitation, token)
    user = session.get(CustomerUser, link.user_id) if link is not None else None
    if user is None or status(user) != "invited":
        raise InvalidInvitation()
    return user


def accept_invitation(session: Session, token: str, password: str, *,
                      shop_name: str = "") -> CustomerUser:
    """The invitee chooses a password (the rules of registration); that confirms the
    address, and the link is spent. The caller signs the login in and commits."""
    user = valid_invitation(session, token)
    password_hash = hash_new_password(
        password, context=password_context(user.email, user.full_name, shop_name))
    link = _open_link(session, BuyerInvitation, token)
    if link is None or not _spend(session, BuyerInvitation, link):
        raise InvalidInvitation()
    now = utcnow()
    user.password_hash = password_hash
    user.email_confirmed_at = now
    _spend_all(session, BuyerInvitation, user, now)
    audit.record(session, "customer.invitation_accepted", actor=actor_for(user), channel="web",
                 subject=user.customer, data={"user_id": user.id})
    session.flush()
    return user


# -- roles, limits, deactivation ---------------------------------------------------------------

def _lock_company(session: Session, customer: Customer, actor: Acting) -> None:
    """Take the customer's row lock: changes of its logins' roles and access queue here, so
    two admins demoting each other at the same moment cannot both see the other as the one
    left (and never lock each other's rows in opposite orders). An admin acting is read
    again under the lock: the one who lost such a race is no longer an admin."""
    session.execute(select(Customer.id).where(Customer.id == customer.id).with_for_update())
    if isinstance(actor, CustomerUser):
        session.refresh(actor)
        authorise(actor, customer)


def _active_admins(session: Session, customer: Customer) -> list[CustomerUser]:
    """The company's admins who can sign in (read afresh, under the company's lock)."""
    return list(session.scalars(
        select(CustomerUser).where(CustomerUser.customer_id == customer.id,
                                   CustomerUser.role == "admin",
                                   CustomerUser.active.is_(True),
                                   CustomerUser.email_confirmed_at.is_not(None))
        .order_by(CustomerUser.id).with_for_update(of=CustomerUser)
        .execution_options(populate_existing=True)))


def _keeps_an_admin(session: Session, customer: Customer, user: CustomerUser,
                    field: str | None) -> None:
    """LastAdmin if taking `user` out of the active admins leaves none."""
    if user.role != "admin" or status(user) != "active":
        return
    others = [u for u in _active_admins(session, customer) if u.id != user.id]
    if not others:
        raise LastAdmin(field)


def change_role(session: Session, customer: Customer, user_id: int, role: str, *,
                actor: Acting) -> CustomerUser:
    authorise(actor, customer)
    role = _role(role)
    _lock_company(session, customer, actor)
    user = _buyer(session, customer, user_id, lock=True)
    if role == user.role:
        return user
    if role != "admin":
        _keeps_an_admin(session, customer, user, "role")
    before, user.role = user.role, role
    audit.record(session, "customer.buyer_role_changed", actor=_actor(actor),
                 channel=_channel(actor), subject=customer,
                 data={"user_id": user.id, "email": user.email, "from": before, "to": role})
    session.flush()
    return user


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def set_limits(session: Session, customer: Customer, user_id: int, *, order_limit,
               monthly_limit, actor: Acting) -> CustomerUser:
    """A buyer's spending limits per order and per month (None: no limit)."""
    authorise(actor, customer)
    order_limit = _limit(order_limit, "order_limit")
    monthly_limit = _limit(monthly_limit, "monthly_limit")
    user = _buyer(session, customer, user_id)
    before = {"order_limit": _money(user.order_limit),
              "monthly_limit": _money(user.monthly_limit)}
    user.order_limit, user.monthly_limit = order_limit, monthly_limit
    after = {"order_limit": _money(order_limit), "monthly_limit": _money(monthly_limit)}
    if before != after:
        audit.record(session, "customer.buyer_limits_changed", actor=_actor(actor),
                     channel=_channel(actor), subject=customer,
                     data={"user_id": user.id, "email": user.email, "from": before,
                           "to": after})
    session.flush()
    return user


def update_buyer(session: Session, customer: Customer, user_id: int, *, role: str,
                 order_limit, monthly_limit, actor: Acting) -> CustomerUser:
    """A buyer's role and spending limits together (the buyer's page saves both)."""
    order_limit = _limit(order_limit, "order_limit")
    monthly_limit = _limit(monthly_limit, "monthly_limit")
    change_role(session, customer, user_id, role, actor=actor)
    return set_limits(session, customer, user_id, order_limit=order_limit,
                      monthly_limit=monthly_limit, actor=actor)


def deactivate_buyer(session: Session, customer: Customer, user_id: int, *,
                     actor: Acting) -> CustomerUser:
    """The login can no longer sign in: its sessions end and its open invitation is spent.
    Its orders stay the company's."""
    authorise(actor, customer)
    _lock_company(session, customer, actor)
    user = _buyer(session, customer, user_id, lock=True)
    if not user.active:
        return user
    _keeps_an_admin(session, customer, user, None)
    user.active = False
    now = utcnow()
    _spend_all(session, BuyerInvitation, user, now)
    _spend_all(session, EmailChange, user, now)
    auth.end_all_sessions(session, realm="customer", user_id=user.id)
    audit.record(session, "customer.buyer_deactivated", actor=_actor(actor),
                 channel=_channel(actor), subject=customer,
                 data={"user_id": user.id, "email": user.email})
    session.flush()
    return user


def reactivate_buyer(session: Session, customer: Customer, user_id: int, *,
                     actor: Acting) -> CustomerUser:
    """The login may sign in again (with its old password; one invited and never set up
    gets a fresh invitation with `resend_invitation`)."""
    authorise(actor, customer)
    user = _buyer(session, customer, user_id, lock=True)
    if user.active:
        return user
    user.active = True
    audit.record(session, "customer.buyer_reactivated", actor=_actor(actor),
                 channel=_channel(actor), subject=customer,
                 data={"user_id": user.id, "email": user.email})
    session.flush()
    return user


# -- the address book ---------------------------------------------------------------------------

def addresses(session: Session, customer: Customer) -> list[CustomerAddress]:
    """The customer's book: the default shipping address first. One query."""
    return list(session.scalars(
        select(CustomerAddress).where(CustomerAddress.customer_id == customer.id)
        .order_by(CustomerAddress.default_shipping.desc(), CustomerAddress.id)))


def _address(session: Session, customer: Customer, address_id: int) -> CustomerAddress:
    address = session.scalar(select(CustomerAddress).where(
        CustomerAddress.id == address_id, CustomerAddress.customer_id == customer.id))
    if address is None:
        raise NotFound("We could not find that address.")
    return address


def _label(value: str) -> str:
    label = " ".join((value or "").split())
    if len(label) > LABEL_MAX:
        raise InvalidInput(f"A label has at most {LABEL_MAX} characters.", field="label")
    return label


def _audit_address(session, what: str, customer, address, actor: Acting, **data) -> None:
    audit.record(session, f"customer.address_{what}", actor=_actor(actor),
                 channel=_channel(actor), subject=customer,
                 data={"address_id": address.id, **data})


def add_address(session: Session, customer: Customer, raw: dict[str, str], *, label: str = "",
                default_shipping: bool = False, default_billing: bool = False,
                actor: Acting) -> CustomerAddress:
    """A new address in the book (validate_address); the customer's first one becomes the
    default for shipping and billing."""
    authorise(actor, customer, "addresses")
    clean = validate_address(raw)
    label = _label(label)
    first = not session.scalar(select(func.count()).select_from(CustomerAddress)
                               .where(CustomerAddress.customer_id == customer.id))
    address = CustomerAddress(customer_id=customer.id, label=label, **clean)
    session.add(address)
    session.flush()
    _make_default(session, customer, address, shipping=default_shipping or first,
                  billing=default_billing or first)
    _audit_address(session, "added", customer, address, actor, label=label)
    session.flush()
    return address


def edit_address(session: Session, customer: Customer, address_id: int, raw: dict[str, str],
                 *, label: str = "", actor: Acting) -> CustomerAddress:
    """Change an address of the book. Orders placed keep the address they were sent to."""
    authorise(actor, customer, "addresses")
    address = _address(session, customer, address_id)
    clean = validate_address(raw)
    label = _label(label)
    before = address.as_dict()
    for key, value in clean.items():
        setattr(address, key, value)
    address.label = label
    if address.default_shipping:
        customer.postal_code = clean["postal_code"]
    _audit_address(session, "edited", customer, address, actor,
                   changed=sorted(k for k in clean if before.get(k) != clean[k]))
    session.flush()
    return address


def delete_address(session: Session, customer: Customer, address_id: int, *,
                   actor: Acting) -> None:
    """Take an address out of the book; a default passes to the next address, if any."""
    authorise(actor, customer, "addresses")
    address = _address(session, customer, address_id)
    was_shipping, was_billing = address.default_shipping, address.default_billing
    _audit_address(session, "deleted", customer, address, actor,
                   was=address.as_dict())
    session.delete(address)
    session.flush()
    if was_shipping or was_billing:
        successor = session.scalar(select(CustomerAddress)
                                   .where(CustomerAddress.customer_id == customer.id)
                                   .order_by(CustomerAddress.id).limit(1))
        if successor is not None:
            _make_default(session, customer, successor, shipping=was_shipping,
                          billing=was_billing)
    session.flush()


def _make_default(session: Session, customer: Customer, address: CustomerAddress, *,
                  shipping: bool, billing: bool) -> None:
    for flag, wanted in (("default_shipping", shipping), ("default_billing", billing)):
        if not wanted:
            continue
        session.execute(update(CustomerAddress)
                        .where(CustomerAddress.customer_id == customer.id,
                               CustomerAddress.id != address.id)
                        .values({flag: False}).execution_options(synchronize_session="fetch"))
        setattr(address, flag, True)
    if shipping:
        customer.postal_code = address.postal_code


def make_default(session: Session, customer: Customer, address_id: int, *, kind: str,
                 actor: Acting) -> CustomerAddress:
    """Make an address the default for "shipping" or "billing" (the bill-to)."""
    authorise(actor, customer, "addresses")
    if kind not in ("shipping", "billing"):
        raise InvalidInput("Choose shipping or billing.", field="kind")
    address = _address(session, customer, address_id)
    _make_default(session, customer, address, shipping=kind == "shipping",
                  billing=kind == "billing")
    _audit_address(session, f"default_{kind}", customer, address, actor)
    session.flush()
    return address


# -- the signed-in login's own account ---------------------------------------------------------

def update_profile(session: Session, user: CustomerUser, *, full_name: str,
                   phone: str) -> CustomerUser:
    """The login's name and phone. A person's customer record follows its one login."""
    full_name = _name(full_name)
    phone = _phone(phone)
    before = {"full_name": user.full_name, "phone": user.phone}
    user.full_name, user.phone = full_name, phone
    if not user.customer.is_company:
        user.customer.name = full_name
        user.customer.phone = phone
        user.customer.phone_digits = phone_digits(phone)
    after = {"full_name": full_name, "phone": phone}
    if before != after:
        audit.record(session, "customer.profile_updated", actor=actor_for(user), channel="web",
                     subject=user.customer, data={"user_id": user.id, "from": before,
                                                  "to": after})
    session.flush()
    return user


def request_email_change(session: Session, user: CustomerUser, *, new_email: str,
                         current_password: str, remote_addr: str | None,
                         limit: int) -> str:
    """Ask to move the login to `new_email`: the current password is checked (throttled like
    signing in), and once the caller commits the new address is e-mailed a link that
    confirms it (and the old one a notice). Returns the link's token. The caller commits
    also after WrongPassword (the failed attempt is what throttling counts)."""
    try:
        new_email = normalise_email(new_email)
    except InvalidInput as err:
        raise InvalidInput(err.message, field="new_email") from None
    if new_email == user.email:
        raise InvalidInput("This is already your e-mail address.", field="new_email")
    try:
        auth.sign_in(session, realm="customer", user=user, email=user.email,
                     password=current_password, remote_addr=remote_addr, limit=limit)
    except auth.BadCredentials:
        raise WrongPassword() from None
    if find_user_by_email(session, new_email) is not None:
        raise AddressHasLogin("new_email")
    token = _new_link(session, EmailChange, user, EMAIL_CHANGE_LIFETIME, new_email=new_email)
    events.record(session, events.EmailChangeRequested(old_email=user.email,
                                                       new_email=new_email,
                                                       full_name=user.full_name, token=token))
    audit.record(session, "customer.email_change_requested", actor=actor_for(user),
                 channel="web", subject=user.customer,
                 data={"user_id": user.id, "to": new_email})
    session.flush()
    return token


def valid_email_change(session: Session, token: str) -> EmailChange:
    link = _open_link(session, EmailChange, token)
    if link is None:
        raise InvalidEmailChange()
    user = session.get(CustomerUser, link.user_id)
    if user is None or not user.active:
        raise InvalidEmailChange()
    return link


def confirm_email_change(session: Session, token: str) -> CustomerUser:
    """Follow the link: the new address becomes the login's (and a person's contact
    address). Refused when the address got a login meanwhile. The old address is told;
    links mailed to it are spent and the login is signed out everywhere."""
    link = valid_email_change(session, token)
    user = session.get(CustomerUser, link.user_id)
    new_email = link.new_email
    if find_user_by_email(session, new_email) is not None:
        raise InvalidEmailChange("This e-mail address has a login here by now, so it cannot "
                                 "become yours. Ask for the change with another address.")
    if not _spend(session, EmailChange, link):
        raise InvalidEmailChange()
    old_email = user.email
    try:
        with session.begin_nested():
            user.email = new_email
            if not user.customer.is_company and user.customer.email == old_email:
                user.customer.email = new_email
            session.flush()
    except IntegrityError:
        raise InvalidEmailChange("This e-mail address has a login here by now, so it cannot "
                                 "become yours.") from None
    now = utcnow()
    user.email_confirmed_at = now
    # Whoever reads the old mailbox keeps nothing: links sent there (a password reset, a
    # confirmation) are spent and every session of the login ends; it signs in again with
    # the new address.
    for model in (EmailChange, PasswordReset, EmailConfirmation):
        _spend_all(session, model, user, now)
    auth.end_all_sessions(session, realm="customer", user_id=user.id)
    events.record(session, events.EmailChanged(old_email=old_email, new_email=new_email,
                                               full_name=user.full_name))
    audit.record(session, "customer.email_changed", actor=actor_for(user), channel="web",
                 subject=user.customer,
                 data={"user_id": user.id, "from": old_email, "to": new_email})
    session.flush()
    return user


def set_vat_id(session: Session, customer: Customer, vat_id: str, *, actor: Acting) -> str:
    """The company's VAT id, as its admin gives it (core.customers.vat checks it; '' clears
    it): printed on invoices issued from now on and carried in their e-invoices."""
    authorise(actor, customer)
    clean = clean_vat_id(vat_id)
    if clean != customer.vat_id:
        audit.record(session, "customer.vat_id_changed", actor=_actor(actor),
                     channel=_channel(actor), subject=customer,
                     data={"from": customer.vat_id, "to": clean})
        customer.vat_id = clean
        session.flush()
    return clean
