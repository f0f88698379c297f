"""Settings read from environment variables, with defaults that run the demo."""
from __future__ import annotations

import os
from decimal import Decimal
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET_KEY = "dev-only-insecure-secret-key-change-me"
DEFAULT_WEBHOOK_SECRET = "whsec_marketline_dev"
DEFAULT_SHOP_URL = "http://127.0.0.1:5000"
MIN_SECRET_KEY_LENGTH = 32
_LOOPBACK = ("localhost", "0.0.0.0", "::1", "::")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


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
    STRIPE_WEBHOOK_SECRET: str = DEFAULT_WEBHOOK_SECRET
    # How long a card authorisation lives at the card network (Stripe: 7 days for most
    # cards). Captures treat it as expired half a day early; it is renewed a day early.
    AUTHORISATION_DAYS: int = 7
    # The storefront's public address: every absolute link (e-mails, documents) is built
    # from it (core.links), never from the request's Host.
    SHOP_URL: str = DEFAULT_SHOP_URL
    # What search engines and shared links show of the home page and of any page without
    # a description of its own (meta description, og:description; at most ~155 characters).
    SHOP_DESCRIPTION: str = ("Office and coffee equipment for homes and businesses: paper, "
                             "printers, coffee machines and more, with prices, stock and "
                             "delivery dates.")
    REDIS_URL: str = ""
    SMTP_URL: str = ""
    MAIL_FROM: str = "Marketline <no-reply@marketline.example>"
    # Printed on invoices and credit notes: who issues them. SELLER_ADDRESS lines are
    # separated by ";".
    SELLER_NAME: str = "Marketline Demo GmbH"
    SELLER_ADDRESS: str = "Hafenstraße 12; 20457 Hamburg; Germany"
    SELLER_VAT_ID: str = "DE999999995"
    SELLER_BANK: str = "IBAN DE89 3704 0044 0532 0130 00 · BIC COBADEFFXXX"
    # Times are shown in a time zone, never in UTC (core.labels): the shop's to customers,
    # in e-mails and PDFs; the console's to agents. IANA names. CONSOLE_TIMEZONE is also
    # the business day's zone (core.clock): a day typed or stored (invoice dates, "as of",
    # "placed before", a hold's until-day) begins at midnight there, not at UTC midnight.
    SHOP_TIMEZONE: str = "Europe/Berlin"
    CONSOLE_TIMEZONE: str = "Europe/Berlin"
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
    # Console sign-in (console-auth). A console session ends after this many minutes
    # without a request (the absolute SESSION_LIFETIME_MINUTES still applies).
    CONSOLE_IDLE_MINUTES: int = 30
    # Two-step sign-in (an authenticator app's code) for agents with the supervisor,
    # credit, billing, manager or admin role: "on" or "off"; empty means on in production only.
    CONSOLE_REQUIRE_MFA: str = ""

    @property
    def console_require_mfa(self) -> bool:
        """Whether privileged agents must use two-step sign-in (see CONSOLE_REQUIRE_MFA)."""
        value = str(self.CONSOLE_REQUIRE_MFA).strip().lower()
        if value == "":
            return self.production
        return value in _TRUE

    # -- links, hosts, production settings, transport (issue 10: H1, H2, L2, L4, M10-M12) --
    # The console's public address (SSO redirect URI, links in console e-mails); empty:
    # SHOP_URL + "/agent", where wsgi:application mounts it.
    CONSOLE_URL: str = ""
    # Host names a request may carry (comma-separated; ".example.com" allows subdomains);
    # anything else gets 400. Empty: the hosts of SHOP_URL and CONSOLE_URL (plus localhost
    # and 127.0.0.1 outside production).
    ALLOWED_HOSTS: str = ""
    # 1: take the host and path prefix from X-Forwarded-Host / X-Forwarded-Prefix (only
    # behind TRUSTED_PROXIES proxies that set them, and overwrite what clients send).
    PROXY_FORWARDS_HOST: int = 0
    # Earlier SECRET_KEYs (comma-separated) still accepted for cookies, pay links and agents'
    # sealed authenticator secrets while a new key is rolled out; nothing new uses them.
    SECRET_KEY_FALLBACKS: str = ""
    # 1: production may run with Stripe test keys (a staging site).
    STRIPE_ALLOW_TEST_KEYS: int = 0
    # Seconds a call to Stripe may wait for Stripe's answer (connecting: 3 at most), and
    # how often the SDK retries a network failure: a slow Stripe must not hold every worker.
    STRIPE_TIMEOUT_SECONDS: int = 10
    STRIPE_MAX_RETRIES: int = 1
    # Agents typing cards read out on the phone (MOTO) into the console: "1" or "0";
    # empty means on in development, off in production (PCI scope, see README).
    PHONE_CARD_ENTRY: str = ""

    # -- approvals and segregation of duties --
    # The most money (whole units of the order's currency) agents' prices may give away on
    # one order, counted over its overridden lines as (list price - agent's price) x
    # quantity; beyond it the order gets an approval hold, as beyond DISCOUNT_LIMIT_*.
    DISCOUNT_AMOUNT_LIMIT_AGENT: int = 250
    DISCOUNT_AMOUNT_LIMIT_SUPERVISOR: int = 2500
    # The most a role may credit on one invoice (credit notes and cancellation together,
    # whole units of the invoice's currency); beyond it the credit note is a request that an
    # agent with the credit or supervisor role, not the requester, approves.
    CREDIT_NOTE_LIMIT_BILLING: int = 250
    CREDIT_NOTE_LIMIT_SUPERVISOR: int = 2500

    # -- returns (core.returns.policy) --
    # Days from delivery (or shipment) a product may be sent back, unless its product or
    # category says otherwise; where returned goods go (printed on the return label).
    RETURN_WINDOW_DAYS: int = 30
    RETURN_ADDRESS: str = "Marketline Returns; Hafenstraße 12, Tor 3; 20457 Hamburg; Germany"
    # Whole units of the order's currency: a request within policy and up to
    # RETURN_AUTO_APPROVE_LIMIT approves itself; above RETURN_APPROVAL_LIMIT only a
    # supervisor decides; up to RETURN_KEEP_LIMIT the customer keeps the goods (no label).
    RETURN_AUTO_APPROVE_LIMIT: int = 100
    RETURN_APPROVAL_LIMIT: int = 500
    RETURN_KEEP_LIMIT: int = 5
    # Percent of the goods' price kept when they come back because the buyer changed mind.
    RETURN_RESTOCKING_FEE_PERCENT: int = 10

    # -- B2B buying --
    # An order on account waits on a credit hold (core.credit) when the customer has an
    # invoice overdue more than CREDIT_OVERDUE_DAYS, or when it would take them over their
    # credit limit. A quote is valid QUOTE_VALID_DAYS unless the agent sets another date.
    # An order awaiting a company approver keeps the prices it was submitted at for
    # APPROVAL_PRICE_DAYS; approved later, it is re-priced at the day's prices.
    # Invitations to buyers are valid INVITATION_DAYS.
    CREDIT_OVERDUE_DAYS: int = 30
    QUOTE_VALID_DAYS: int = 30
    APPROVAL_PRICE_DAYS: int = 14
    INVITATION_DAYS: int = 7

    # -- Credit control and collections (core.credit) --
    # A credit limit set without a review date is reviewed CREDIT_REVIEW_MONTHS later; an
    # order on account of a customer whose review is past due waits on a credit hold.
    # Interest on overdue invoices: DUNNING_INTEREST_RATE percent a year, per day overdue
    # (a decimal, e.g. "9.12": the German base rate plus nine points for businesses).
    # Statements of account go out on STATEMENT_DAY of each month (1-28) for the month
    # before, to every customer with open items.
    CREDIT_REVIEW_MONTHS: int = 12
    DUNNING_INTEREST_RATE: str = "9.12"
    STATEMENT_DAY: int = 1

    # Anti-automation (core.ratelimit): budgets per client address, counted in the database
    # so they hold across processes; 0 switches a budget off. Card payments tried (checkout,
    # pay links, invoices), a third of it per cart, order, invoice or account; codes tried
    # (coupons, gift cards, guest order look-ups), five times that per hour; registrations
    # and password-reset requests (a third of it per e-mail address).
    RATE_LIMIT_PAYMENTS_PER_HOUR: int = 30
    RATE_LIMIT_CODES_PER_MINUTE: int = 10
    RATE_LIMIT_ACCOUNT_MAILS_PER_HOUR: int = 10

    @property
    def interest_rate(self) -> Decimal:
        """DUNNING_INTEREST_RATE as a Decimal percentage a year."""
        return Decimal(str(self.DUNNING_INTEREST_RATE))

    @property
    def production(self) -> bool:
        return self.MARKETLINE_ENV == "production"

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.OIDC_DISCOVERY_URL and self.OIDC_CLIENT_ID)

    @property
    def console_url(self) -> str:
        """The console's public address, without a trailing slash."""
        return (self.CONSOLE_URL or f"{self.SHOP_URL.rstrip('/')}/agent").rstrip("/")

    @property
    def allowed_hosts(self) -> list[str]:
        """The host names requests may carry (ports are not compared)."""
        if self.ALLOWED_HOSTS.strip():
            return _split(self.ALLOWED_HOSTS)
        hosts = [urlsplit(url).hostname or "" for url in (self.SHOP_URL, self.console_url)]
        if not self.production:
            hosts += ["localhost", "127.0.0.1"]
        return [h for h in dict.fromkeys(hosts) if h]

    @property
    def secret_key_fallbacks(self) -> list[str]:
        return _split(self.SECRET_KEY_FALLBACKS)

    @property
    def phone_card_entry(self) -> bool:
        """Whether agents may take cards by phone (MOTO) in the console."""
        value = self.PHONE_CARD_ENTRY.strip().lower()
        if not value:
            return not self.production
        return value in _TRUE

    def check(self) -> "Settings":
        """Refuse settings that make no sense anywhere, and in production those that must
        never reach it; every problem is named."""
        if str(self.CONSOLE_REQUIRE_MFA).strip().lower() not in _TRUE | _FALSE | {""}:
            raise ConfigurationError("CONSOLE_REQUIRE_MFA must be on or off (or empty).")
        if self.CONSOLE_IDLE_MINUTES < 1:
            raise ConfigurationError("CONSOLE_IDLE_MINUTES must be at least 1.")
        if not 1 <= self.STATEMENT_DAY <= 28:
            raise ConfigurationError("STATEMENT_DAY must be a day from 1 to 28.")
        try:
            rate = Decimal(str(self.DUNNING_INTEREST_RATE))
        except ArithmeticError:
            rate = Decimal(-1)
        if not Decimal(0) <= rate <= Decimal(50):
            raise ConfigurationError("DUNNING_INTEREST_RATE must be a percentage from 0 to 50, "
                                     "e.g. 9.12.")
        if not self.production:
            return self
        problems = self.production_problems()
        if problems:
            raise ConfigurationError(
                "MARKETLINE_ENV=production refuses to start:\n- " + "\n- ".join(problems))
        return self

    def production_problems(self) -> list[str]:
        """What is unsafe about these settings for production, one line per variable."""
        problems = []
        if self.SECRET_KEY in ("", DEFAULT_SECRET_KEY):
            problems.append("SECRET_KEY is the development default; set a long random "
                            "SECRET_KEY.")
        elif len(self.SECRET_KEY) < MIN_SECRET_KEY_LENGTH:
            problems.append(f"SECRET_KEY is shorter than {MIN_SECRET_KEY_LENGTH} characters; "
                            "use a long random value.")
        if DEFAULT_SECRET_KEY in self.secret_key_fallbacks:
            problems.append("SECRET_KEY_FALLBACKS holds the development default key.")
        if not self.SMTP_URL:
            # Without it e-mails (reset and payment links among them) would go to the log.
            problems.append("SMTP_URL is not set; e-mails would be printed to the log.")
        if not self.REDIS_URL:
            problems.append("REDIS_URL is not set; without a broker webhooks and e-mails "
                            "would run inside web requests.")
        if self.DATABASE_URL.startswith("sqlite"):
            problems.append("DATABASE_URL points at SQLite; production runs on PostgreSQL.")
        if self.STRIPE_WEBHOOK_SECRET in ("", DEFAULT_WEBHOOK_SECRET):
            problems.append("STRIPE_WEBHOOK_SECRET is empty or the public development "
                            "default; set the signing secret of your Stripe webhook endpoint.")
        if not self.STRIPE_ALLOW_TEST_KEYS:
            for name, test_prefixes in (("STRIPE_SECRET_KEY", ("sk_test_", "rk_test_")),
                                        ("STRIPE_PUBLISHABLE_KEY", ("pk_test_",))):
                if getattr(self, name).startswith(test_prefixes):
                    problems.append(f"{name} is a Stripe test key; use the live key (or set "
                                    "STRIPE_ALLOW_TEST_KEYS=1 for a staging site).")
        unset_shop = self.SHOP_URL.rstrip("/") in ("", DEFAULT_SHOP_URL)
        if unset_shop:
            problems.append("SHOP_URL is not set; set the shop's public https address "
                            "(every link in e-mails is built from it).")
        for name in ("SHOP_URL", "CONSOLE_URL", "STRIPE_API_BASE", "STRIPE_JS_URL",
                     "OIDC_DISCOVERY_URL"):
            value = getattr(self, name)
            if name == "SHOP_URL" and unset_shop:
                continue
            if value and (problem := _public_https_problem(value)):
                problems.append(f"{name} {problem}.")
        return problems


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _public_https_problem(url: str) -> str:
    """Why `url` is no public https address ("" when it is one)."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return f"is not an https URL ({url!r})"
    host = parts.hostname.lower()
    if host in _LOOPBACK or host.startswith("127.") or host.endswith(".localhost"):
        return f"points at this machine ({url!r})"
    return ""


def load_settings(environ: dict[str, str] | None = None, **overrides) -> Settings:
    """Build Settings from the environment (or `environ`), then apply `overrides`."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for f in fields(Settings):
        if f.name in env and env[f.name] != "":
            values[f.name] = int(env[f.name]) if f.type == "int" else env[f.name]
    values.update(overrides)
    return Settings(**values).check()
