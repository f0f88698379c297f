import pytest

from core.config import DEFAULT_SECRET_KEY, ConfigurationError, load_settings


def test_defaults_run_the_demo_without_any_environment():
    settings = load_settings(environ={})
    assert settings.DATABASE_URL.startswith("sqlite:///")
    assert settings.DATABASE_URL.endswith("instance/marketline.db")
    assert settings.STRIPE_API_BASE == "http://127.0.0.1:8420"
    assert settings.REDIS_URL == ""
    assert not settings.production


def test_environment_variables_override_defaults():
    settings = load_settings(environ={"DATABASE_URL": "postgresql+psycopg://db/x",
                                      "SESSION_LIFETIME_MINUTES": "30", "OIDC_CLIENT_ID": "c",
                                      "OIDC_DISCOVERY_URL": "http://idp/.well-known"})
    assert settings.DATABASE_URL == "postgresql+psycopg://db/x"
    assert settings.SESSION_LIFETIME_MINUTES == 30
    assert settings.oidc_enabled


def test_production_refuses_to_start_with_the_default_secret_key():
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        load_settings(environ={"MARKETLINE_ENV": "production"})
    with pytest.raises(ConfigurationError):
        load_settings(environ={"MARKETLINE_ENV": "production", "SECRET_KEY": DEFAULT_SECRET_KEY})


def test_production_starts_with_a_real_secret_key_and_an_smtp_relay():
    settings = load_settings(environ={"MARKETLINE_ENV": "production", "SECRET_KEY": "x" * 40,
                                      "SMTP_URL": "smtp://relay.example:25"})
    assert settings.production


def test_production_refuses_to_print_e_mail_to_the_log():
    with pytest.raises(ConfigurationError, match="SMTP_URL"):
        load_settings(environ={"MARKETLINE_ENV": "production", "SECRET_KEY": "x" * 40})


def test_production_app_refuses_to_build_with_the_default_key(monkeypatch):
    from storefront import create_app
    monkeypatch.setenv("MARKETLINE_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError):
        create_app()
