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


# Everything production needs; each test below spoils one variable of it.
PRODUCTION = {
    "MARKETLINE_ENV": "production", "SECRET_KEY": "x" * 40,
    "SMTP_URL": "smtp+starttls://relay.example:587", "REDIS_URL": "redis://redis.internal:6379/0",
    "DATABASE_URL": "postgresql+psycopg://shop@db.internal/shop",
    "STRIPE_SECRET_KEY": "sk_live_marketline", "STRIPE_PUBLISHABLE_KEY": "pk_live_marketline",
    "STRIPE_WEBHOOK_SECRET": "whsec_from_the_stripe_dashboard",
    "STRIPE_API_BASE": "https://api.stripe.com", "STRIPE_JS_URL": "https://js.stripe.com/v3/",
    "SHOP_URL": "https://shop.example",
}


def refusals(**changes) -> list[str]:
    """The problem lines production names for PRODUCTION with `changes` (None: unset)."""
    environ = {k: v for k, v in {**PRODUCTION, **changes}.items() if v is not None}
    with pytest.raises(ConfigurationError) as refused:
        load_settings(environ=environ)
    return [line[2:] for line in str(refused.value).splitlines() if line.startswith("- ")]


def test_production_starts_with_real_secrets_services_and_public_https_addresses():
    settings = load_settings(environ=PRODUCTION)
    assert settings.production
    assert settings.allowed_hosts == ["shop.example"]
    assert settings.console_url == "https://shop.example/agent"
    assert not settings.phone_card_entry


def test_production_refuses_the_public_default_webhook_secret_named_in_the_review():
    with pytest.raises(ConfigurationError, match="STRIPE_WEBHOOK_SECRET"):
        load_settings(environ={"MARKETLINE_ENV": "production", "SECRET_KEY": "x" * 40,
                               "SMTP_URL": "smtp://r:25"})
    with pytest.raises(ConfigurationError, match="STRIPE_API_BASE"):
        load_settings(environ={"MARKETLINE_ENV": "production", "SECRET_KEY": "x" * 40,
                               "SMTP_URL": "smtp://r:25",
                               "STRIPE_API_BASE": "http://127.0.0.1:8420"})


@pytest.mark.parametrize("name, value", [
    ("STRIPE_WEBHOOK_SECRET", "whsec_marketline_dev"),
    ("STRIPE_WEBHOOK_SECRET", None),
    ("STRIPE_SECRET_KEY", "sk_test_51abc"),
    ("STRIPE_SECRET_KEY", "rk_test_51abc"),
    ("STRIPE_PUBLISHABLE_KEY", "pk_test_51abc"),
    ("STRIPE_API_BASE", "http://api.stripe.com"),
    ("STRIPE_API_BASE", "https://127.0.0.1:8420"),
    ("STRIPE_JS_URL", "http://127.0.0.1:8420/js.stripe.com/v3/"),
    ("STRIPE_JS_URL", "https://localhost/js.stripe.com/v3/"),
    ("SHOP_URL", None),
    ("SHOP_URL", "http://shop.example"),
    ("SHOP_URL", "https://[::1]:5000"),
    ("CONSOLE_URL", "http://console.example"),
    ("OIDC_DISCOVERY_URL", "http://127.0.0.1:9000/.well-known/openid-configuration"),
    ("DATABASE_URL", "sqlite:////srv/marketline.db"),
    ("SECRET_KEY", "x" * 31),
    ("SECRET_KEY_FALLBACKS", DEFAULT_SECRET_KEY),
    ("REDIS_URL", None),
    ("SMTP_URL", None),
])
def test_production_refuses_each_unsafe_setting_and_names_it(name, value):
    problems = refusals(**{name: value})
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{name} ")


def test_a_staging_site_may_run_on_stripe_test_keys_when_it_says_so():
    settings = load_settings(environ={**PRODUCTION, "STRIPE_SECRET_KEY": "sk_test_51abc",
                                      "STRIPE_PUBLISHABLE_KEY": "pk_test_51abc",
                                      "STRIPE_ALLOW_TEST_KEYS": "1"})
    assert settings.STRIPE_SECRET_KEY.startswith("sk_test_")


def test_production_names_every_problem_at_once():
    problems = refusals(SECRET_KEY=None, STRIPE_WEBHOOK_SECRET=None, REDIS_URL=None)
    assert [p.split()[0] for p in problems] == ["SECRET_KEY", "REDIS_URL",
                                                 "STRIPE_WEBHOOK_SECRET"]


def test_allowed_hosts_come_from_the_shop_and_console_addresses():
    dev = load_settings(environ={})
    assert dev.allowed_hosts == ["127.0.0.1", "localhost"]
    split = load_settings(environ={**PRODUCTION, "CONSOLE_URL": "https://console.example/"})
    assert split.allowed_hosts == ["shop.example", "console.example"]
    assert split.console_url == "https://console.example"
    chosen = load_settings(environ={**PRODUCTION, "ALLOWED_HOSTS": "shop.example, .shop.example"})
    assert chosen.allowed_hosts == ["shop.example", ".shop.example"]


def test_phone_card_entry_is_on_in_development_and_off_in_production_unless_set():
    assert load_settings(environ={}).phone_card_entry
    assert not load_settings(environ={"PHONE_CARD_ENTRY": "0"}).phone_card_entry
    assert not load_settings(environ=PRODUCTION).phone_card_entry
    assert load_settings(environ={**PRODUCTION, "PHONE_CARD_ENTRY": "1"}).phone_card_entry


def test_production_refuses_to_print_e_mail_to_the_log():
    with pytest.raises(ConfigurationError, match="SMTP_URL"):
        load_settings(environ={"MARKETLINE_ENV": "production", "SECRET_KEY": "x" * 40})


def test_production_app_refuses_to_build_with_the_default_key(monkeypatch):
    from storefront import create_app
    monkeypatch.setenv("MARKETLINE_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError):
        create_app()
