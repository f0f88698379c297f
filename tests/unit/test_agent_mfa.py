"""Two-step sign-in rules for agents, without the web: who needs which step, the secret at
rest, the setting's defaults."""
import pyotp
import pytest

from core.agents import mfa
from core.agents.models import Agent
from core.config import ConfigurationError, Settings, load_settings


def agent(roles: str, enrolled: bool = False) -> Agent:
    return Agent(email="a@test.example", full_name="A", roles_text=roles,
                 totp_secret="sealed" if enrolled else None)


@pytest.mark.parametrize("roles", ["supervisor", "credit", "billing", "admin", "agent,billing"])
def test_privileged_roles_must_set_up_two_step_sign_in_when_required(roles):
    assert mfa.second_step(agent(roles), required=True) == mfa.SET_UP
    assert mfa.second_step(agent(roles), required=False) is None


@pytest.mark.parametrize("roles", ["agent", "catalog", "warehouse"])
def test_other_roles_are_never_forced_to_enrol(roles):
    assert mfa.second_step(agent(roles), required=True) is None


def test_an_enrolled_agent_always_gives_the_code_unless_the_provider_did_mfa():
    assert mfa.second_step(agent("agent", enrolled=True), required=False) == mfa.CODE
    assert mfa.second_step(agent("admin", enrolled=True), required=True,
                           idp_mfa=True) is None


@pytest.mark.parametrize("amr, counts", [(["pwd", "mfa"], True), (["mfa", "hwk"], True),
                                         (["pwd"], False), (None, False), ("mfa", False),
                                         ([], False)])
def test_only_an_amr_saying_mfa_counts_as_the_providers_two_steps(amr, counts):
    assert mfa.idp_did_mfa(amr) is counts


def test_a_sealed_secret_opens_only_with_the_same_secret_key():
    secret = pyotp.random_base32()
    sealed = mfa.seal(secret, "key-one")
    assert secret not in sealed
    assert mfa.unseal(sealed, "key-one") == secret
    assert mfa.unseal(sealed, "key-two") is None
    assert mfa.unseal("not a token", "key-one") is None


def test_a_secret_sealed_under_a_fallback_key_opens_and_says_it_is_not_current():
    secret = pyotp.random_base32()
    old = mfa.seal(secret, "key-old")
    assert mfa.unseal_with(old, ["key-new", "key-old"]) == (secret, False)
    assert mfa.unseal(old, ["key-new", "key-old"]) == secret
    assert mfa.unseal_with(mfa.seal(secret, ["key-new", "key-old"]), "key-new") == (secret, True)
    assert mfa.unseal_with(old, ["key-new", "key-other"]) == (None, False)


def test_the_keys_are_the_secret_key_then_its_fallbacks():
    settings = Settings(SECRET_KEY="key-new", SECRET_KEY_FALLBACKS="key-old, key-older")
    assert mfa.secret_keys(settings) == ["key-new", "key-old", "key-older"]


def test_two_step_sign_in_is_required_by_default_in_production_only():
    # Settings(...) directly: production's other refusals are not what this is about.
    assert not Settings().console_require_mfa
    assert Settings(MARKETLINE_ENV="production").console_require_mfa
    assert Settings(CONSOLE_REQUIRE_MFA="on").console_require_mfa
    assert not Settings(MARKETLINE_ENV="production", CONSOLE_REQUIRE_MFA="off").console_require_mfa
    assert load_settings(environ={"CONSOLE_REQUIRE_MFA": "true"}).console_require_mfa


def test_console_settings_refuse_nonsense():
    with pytest.raises(ConfigurationError, match="CONSOLE_REQUIRE_MFA"):
        load_settings(environ={"CONSOLE_REQUIRE_MFA": "maybe"})
    with pytest.raises(ConfigurationError, match="CONSOLE_IDLE_MINUTES"):
        load_settings(environ={"CONSOLE_IDLE_MINUTES": "0"})
    assert load_settings(environ={}).CONSOLE_IDLE_MINUTES == 30
