"""Commands on customers: register and confirm the address, sign in, reset and change a
password, sign out everywhere."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.auth import services as auth
from core.auth.passwords import context_words, hash_new_password
from core.customers.errors import (EmailNotConfirmed, EmailTaken, InvalidConfirmationLink,
                                   InvalidInput, InvalidResetLink, WrongPassword)
from core.customers.models import Customer, CustomerUser, EmailConfirmation, PasswordReset
from core.db import utcnow
from core.numbering import next_number

RESET_LIFETIME = dt.timedelta(hours=1)
CHANNEL = "web"


def normalise_email(raw: str) -> str:
    """Lower-cased, syntax-checked e-mail; raises InvalidInput with a readable message."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as err:
        raise InvalidInput(f"Enter a valid e-mail address ({err}).", field="email") from None


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
    """Register from the shop's form; see the policy above. Flushes; the caller commits and
    then mails the user: the confirmation link when new, else the "already registered"
    notice."""
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
    session.flush()
    return SignUp(existing, None)


def _new_confirmation(session: Session, user: CustomerUser) -> str:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(EmailConfirmation(user_id=user.id, token_hash=_token_hash(token),
                                  created_at=now, expires_at=now + CONFIRMATION_LIFETIME))
    session.flush()
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
