"""argon2id password hashing, and the rules for a password a person chooses.

A new password (registration, reset, change) must be at least MIN_LENGTH characters, not
one of the most common passwords (the 30,000 of zxcvbn's list, from real leaks, used
offline, compared without case and without digits or symbols tacked on at either end), and
not built from the context: the e-mail address, the person's name or the shop's name
(what is left after taking those out must still be MIN_LENGTH long). NIST SP 800-63B
5.1.1.2 and ASVS V6.2 ask for exactly these checks, and no composition rules.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Iterable

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


COMMON_MESSAGE = ("This is one of the most common passwords, the first ones attackers try. "
                  "Choose one that is harder to guess.")
CONTEXT_MESSAGE = ("Do not build your password from your e-mail address, your name or the "
                   "shop's name. Choose one that is harder to guess.")
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")


@functools.cache
def _common() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # imported once, when first needed
    return frozenset(p.lower() for p in FREQUENCY_LISTS["passwords"])


def context_words(*phrases: str | None) -> list[str]:
    """The words of e-mail addresses and names a password must not be built from: each
    whole phrase, the local part of an address, and each word of four letters or more."""
    words: set[str] = set()
    for phrase in phrases:
        phrase = (phrase or "").strip().lower()
        if not phrase:
            continue
        words.add(phrase)
        local = phrase.partition("@")[0]
        if len(local) >= 3:
            words.add(local)
        words.update(w for w in re.split(r"[^\w]+|_", local if "@" in phrase else phrase)
                     if len(w) >= 4)
    return sorted(words, key=len, reverse=True)


def check_new_password(password: str, *, context: Iterable[str] = ()) -> None:
    """Raise WeakPassword (at the password field) for a password a person may not choose."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"Use at least {MIN_LENGTH} characters.", field="password")
    lowered = password.lower()
    if lowered in _common() or _EDGES.sub("", lowered) in _common():
        raise WeakPassword(COMMON_MESSAGE, field="password")
    rest = lowered
    for word in context:
        if word:
            rest = rest.replace(word.lower(), "")
    core_of_rest = _EDGES.sub("", rest)
    if len(rest) < MIN_LENGTH or (rest != lowered and len(core_of_rest) >= MIN_LENGTH
                                  and core_of_rest in _common()):
        # "marketline-2024" is short once the shop's name is out; "marketline-password"
        # is a common password with the shop's name around it.
        raise WeakPassword(CONTEXT_MESSAGE, field="password")


def hash_new_password(password: str, *, context: Iterable[str] = ()) -> str:
    """Check a password a person chooses (check_new_password), then hash it."""
    context = list(context)
    check_new_password(password, context=context)
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
