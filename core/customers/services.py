"""Commands on customers: register, sign in, reset a password."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import audit
from core.auth import services as auth
from core.auth.passwords import hash_password
from core.customers.errors import EmailTaken, InvalidInput, InvalidResetLink
from core.customers.models import Customer, CustomerUser, PasswordReset
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
                      phone: str = "", currency: str = "EUR") -> CustomerUser:
    """Create a person customer with one login. Flushes; the caller commits."""
    email = normalise_email(email)
    full_name = full_name.strip()
    if not full_name:
        raise InvalidInput("Enter your name.", field="full_name")
    if find_user_by_email(session, email) is not None:
        raise EmailTaken()
    password_hash = hash_password(password)
    customer = Customer(number=next_number(session, "customer"), kind="person", name=full_name,
                        email=email, phone=phone.strip(), phone_digits=phone_digits(phone),
                        currency=currency)
    user = CustomerUser(customer=customer, email=email, full_name=full_name,
                        password_hash=password_hash, role="buyer")
    session.add_all([customer, user])
    session.flush()
    audit.record(session, "customer.registered", actor=actor_for(user), channel=CHANNEL,
                 subject=customer, data={"email": email})
    return user


def actor_for(user: CustomerUser) -> audit.Actor:
    return audit.Actor("customer", user.id, user.email)


def authenticate(session: Session, *, email: str, password: str, remote_addr: str | None,
                 limit: int, commit=None) -> CustomerUser:
    """The user whose password this is; throttled (core.auth.services.sign_in)."""
    user = find_user_by_email(session, email)
    return auth.sign_in(session, realm="customer", user=user, email=email, password=password,
                        remote_addr=remote_addr, limit=limit, commit=commit)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_password_reset(session: Session, email: str) -> tuple[CustomerUser, str] | None:
    """Make a reset token for the e-mail's user; None when there is no such user.

    The caller mails the token after commit and tells the person the same thing
    either way, so the form does not reveal who has an account.
    """
    user = find_user_by_email(session, email)
    if user is None or not user.active:
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


def reset_password(session: Session, *, token: str, new_password: str) -> CustomerUser:
    """Set a new password from a reset link, spend the link and end every session."""
    reset = valid_reset(session, token)
    user = session.get(CustomerUser, reset.user_id)
    user.password_hash = hash_password(new_password)
    now = utcnow()
    # Spend every open link of this user, not only this one.
    session.execute(update(PasswordReset).where(PasswordReset.user_id == user.id,
                                                PasswordReset.used_at.is_(None))
                    .values(used_at=now))
    auth.end_all_sessions(session, realm="customer", user_id=user.id)
    audit.record(session, "customer.password_reset", actor=actor_for(user), channel=CHANNEL,
                 subject=user.customer)
    session.flush()
    return user
