"""The call-center and back-office console, served at /agent."""
from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import sessionmaker

from core.agents.models import Agent
from core.config import Settings
from core.payments.gateway import PaymentGateway
from core.web import create_base_app
from core.web.auth import Realm

REALM = Realm(name="agent", model=Agent, login_view="console.sign_in", idle_timeout=True)


def create_app(settings: Settings | None = None,
               session_factory: sessionmaker | None = None,
               gateway: PaymentGateway | None = None) -> Flask:
    """Build the console app; `gateway` takes card payments (None: Stripe, from the
    settings)."""
    # The session cookie's path follows the console's root (/agent), so the shop's pages
    # never receive it; in production it is named __Secure-ml_console.
    app = create_base_app(__name__, realm=REALM, cookie_name="ml_console", cookie_path=None,
                          settings=settings, session_factory=session_factory, gateway=gateway)
    from callcenter import catalog, cli, console, customers, order_admin, order_entry, sso
    from callcenter import two_step
    from callcenter import billing
    from callcenter import fulfilment

    app.register_blueprint(console.bp)
    app.register_blueprint(catalog.bp)
    app.register_blueprint(sso.bp)
    app.register_blueprint(two_step.bp)
    app.register_blueprint(customers.bp, url_prefix="/customers")
    app.register_blueprint(order_entry.bp, url_prefix="/order-entry")
    app.register_blueprint(order_admin.bp, url_prefix="/orders")
    from callcenter import giftcards
    app.register_blueprint(giftcards.bp, url_prefix="/gift-cards")
    app.register_blueprint(billing.bp, url_prefix="/billing")
    app.register_blueprint(fulfilment.bp, url_prefix="/fulfilment")
    from callcenter import returns
    app.register_blueprint(returns.bp)
    from callcenter import company
    app.register_blueprint(company.bp)
    from callcenter import quotes
    app.register_blueprint(quotes.bp, url_prefix="/quotes")
    from callcenter import stock
    app.register_blueprint(stock.bp)
    from callcenter import purchasing
    app.register_blueprint(purchasing.bp, url_prefix="/purchase-orders")
    from callcenter import master_data
    app.register_blueprint(master_data.bp)
    from callcenter import ageing
    app.register_blueprint(ageing.bp)
    from callcenter import credit
    app.register_blueprint(credit.bp, url_prefix="/credit")
    from callcenter import collections
    app.register_blueprint(collections.bp, url_prefix="/collections")
    from callcenter import dunning
    app.register_blueprint(dunning.bp)
    from callcenter import analytics
    app.register_blueprint(analytics.bp)
    from callcenter import insights
    app.register_blueprint(insights.bp)
    app.cli.add_command(cli.agents)
    app.jinja_env.globals.update(app_title="Marketline Console", home_endpoint="console.home")
    settings = app.config["MARKETLINE"]
    if settings.production and not settings.console_require_mfa:
        app.logger.warning("CONSOLE_REQUIRE_MFA is off in production: supervisors, credit, "
                           "billing and admin agents may sign in with a password alone.")
    return app
