"""Settings read from environment variables, with defaults that run the demo."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET_KEY = "dev-only-insecure-secret-key-change-me"


class ConfigurationError(RuntimeError):
    """The environment asks for something the app refuses to run with."""


def _default_media_dir() -> str:
    return str(PROJECT_ROOT / "instance" / "media")


def _default_database_url() -> str:
    return f"sqlite:///{PROJECT_ROOT / 'instance' / 'marketline.db'}"


@dataclass(frozen=True)
class Settings:
    """Every setting Marketline reads. Field names are the environment variable names."""

    MARKETLINE_ENV: str = "development"
    DATABASE_URL: str = field(default_factory=_default_database_url)
    SECRET_KEY: str = DEFAULT_SECRET_KEY
    MEDIA_DIR: str = field(default_factory=_default_media_dir)
    STRIPE_SECRET_KEY: str = "sk_test_marketline"
    STRIPE_PUBLISHABLE_KEY: str = "pk_test_marketline"
    STRIPE_API_BASE: str = "http://127.0.0.1:8420"
    STRIPE_JS_URL: str = "http://127.0.0.1:8420/js.stripe.com/v3/"
    STRIPE_WEBHOOK_SECRET: str = "whsec_marketline_dev"
    # How long a card authorisation lives at the card network (Stripe: 7 days for most
    # cards). Captures treat it as expired half a day early; it is renewed a day early.
    AUTHORISATION_DAYS: int = 7
    # The storefront's public address, for links in e-mails sent from background work
    # (pay-by-link for an invoice whose card payment failed).
    SHOP_URL: str = "http://127.0.0.1:5000"
    REDIS_URL: str = ""
    SMTP_URL: str = ""
    MAIL_FROM: str = "Marketline <no-reply@marketline.example>"
    # Printed on invoices and credit notes: who issues them. SELLER_ADDRESS lines are
    # separated by ";".
    SELLER_NAME: str = "Marketline Demo GmbH"
    SELLER_ADDRESS: str = "Hafenstraße 12; 20457 Hamburg; Germany"
    SELLER_VAT_ID: str = "DE999999999"
    SELLER_BANK: str = "IBAN DE89 3704 0044 0532 0130 00 · BIC COBADEFFXXX"
    OIDC_DISCOVERY_URL: str = ""
    OIDC_CLIENT_ID: str = ""
    OIDC_CLIENT_SECRET: str = ""
    SESSION_LIFETIME_MINUTES: int = 720
    LOGIN_ATTEMPTS_PER_MINUTE: int = 10
    TRUSTED_PROXIES: int = 0
    LISTING_CACHE_SECONDS: int = 30
    REFERENCE_CACHE_SECONDS: int = 15
    # The largest price override or manual discount (percent) each role may give without
    # a supervisor's approval; beyond it the order gets an approval hold.
    DISCOUNT_LIMIT_AGENT: int = 10
    DISCOUNT_LIMIT_SUPERVISOR: int = 30
    # The largest write-off of an invoice's remainder (whole units of the invoice's currency)
    # each role may make; an agent with several roles gets the highest.
    WRITE_OFF_LIMIT_BILLING: int = 5
    WRITE_OFF_LIMIT_CREDIT: int = 25
    WRITE_OFF_LIMIT_SUPERVISOR: int = 100
    # Anti-automation (core.ratelimit): budgets per client address, counted in the database
    # so they hold across processes; 0 switches a budget off. Card payments tried (checkout,
    # pay links, invoices), a third of it per cart, order, invoice or account; codes tried
    # (coupons, gift cards, guest order look-ups), five times that per hour; registrations
    # and password-reset requests (a third of it per e-mail address).
    RATE_LIMIT_PAYMENTS_PER_HOUR: int = 30
    RATE_LIMIT_CODES_PER_MINUTE: int = 10
    RATE_LIMIT_ACCOUNT_MAILS_PER_HOUR: int = 10

    @property
    def production(self) -> bool:
        return self.MARKETLINE_ENV == "production"

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.OIDC_DISCOVERY_URL and self.OIDC_CLIENT_ID)

    def check(self) -> "Settings":
        """Refuse settings that must never reach production."""
        if self.production and self.SECRET_KEY in ("", DEFAULT_SECRET_KEY):
            raise ConfigurationError(
                "SECRET_KEY is the development default; set a long random SECRET_KEY "
                "before running with MARKETLINE_ENV=production."
            )
        if self.production and not self.SMTP_URL:
            # Without it e-mails (reset and payment links among them) would go to the log.
            raise ConfigurationError("Set SMTP_URL before running with MARKETLINE_ENV=production.")
        return self


def load_settings(environ: dict[str, str] | None = None, **overrides) -> Settings:
    """Build Settings from the environment (or `environ`), then apply `overrides`."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for f in fields(Settings):
        if f.name in env and env[f.name] != "":
            values[f.name] = int(env[f.name]) if f.type == "int" else env[f.name]
    values.update(overrides)
    return Settings(**values).check()
