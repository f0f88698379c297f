"""argon2id password hashing."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from core.errors import DomainError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
MIN_LENGTH = 8


class WeakPassword(DomainError):
    code = "weak_password"


def hash_password(password: str) -> str:
    """Hash a password with argon2id after checking it is long enough."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"Use at least {MIN_LENGTH} characters.", field="password")
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; a missing or malformed hash never matches."""
    if not password_hash:
        _hasher.hash("timing-equaliser")  # spend the same time as a real check
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
