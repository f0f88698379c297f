import pytest

from core.auth.passwords import WeakPassword, hash_password, verify_password


def test_passwords_are_hashed_with_argon2id():
    hashed = hash_password("correct horse")
    assert hashed.startswith("$argon2id$")
    assert "correct horse" not in hashed


def test_the_right_password_verifies_and_a_wrong_one_does_not():
    hashed = hash_password("correct horse")
    assert verify_password(hashed, "correct horse")
    assert not verify_password(hashed, "Correct horse")


def test_missing_or_broken_hash_never_verifies():
    assert not verify_password(None, "anything")
    assert not verify_password("not-a-hash", "anything")


def test_short_passwords_are_refused_at_the_password_field():
    with pytest.raises(WeakPassword) as err:
        hash_password("short")
    assert err.value.field == "password"
