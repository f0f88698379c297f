import datetime as dt

import pytest

from core.payments.links import InvalidLink, make_token, read_token

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)


def test_a_token_names_its_order_until_it_expires():
    token = make_token("secret", 42, now=NOW)
    assert read_token("secret", token, now=NOW + dt.timedelta(days=6)) == 42
    with pytest.raises(InvalidLink, match="expired"):
        read_token("secret", token, now=NOW + dt.timedelta(days=8))


@pytest.mark.parametrize("mangle", [
    lambda t: t.replace("42.", "43.", 1),  # another order
    lambda t: ".".join([t.split(".")[0], str(int(t.split(".")[1]) + 86400), t.split(".")[2]]),  # longer life
    lambda t: t[:-2] + "xx",  # signature
    lambda t: "garbage",
])
def test_a_changed_token_is_refused(mangle):
    with pytest.raises(InvalidLink):
        read_token("secret", mangle(make_token("secret", 42, now=NOW)), now=NOW)


def test_a_token_signed_with_another_secret_is_refused():
    with pytest.raises(InvalidLink):
        read_token("other", make_token("secret", 42, now=NOW), now=NOW)
