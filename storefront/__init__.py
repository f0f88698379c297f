"""The storefront: the shop for consumers (B2C) and business buyers (B2B)."""
from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import sessionmaker

from core.config import Settings
from core.payments.gateway import PaymentGateway
from core.customers.models import CustomerUser
from core.web import create_base_app
from core.web.auth import Realm

REALM = Realm(name="customer", model=CustomerUser, login_view="account.sign_in")


def create_app(settings: Settings | None = None,
               session_factory: sessionmaker | None = None,
               gateway: PaymentGateway | None = None) -> Flask:
    """Build the storefront app; `gateway` takes card payments (None: Stripe, from the
    settings)."""
    app = create_base_app(__name__, realm=REALM, cookie_name="ml_shop", cookie_path="/",
                          settings=settings,
                          session_factory=session_factory, gateway=gateway)
    from storefront import account, cart, checkout, invoices, orders, paylink, shop, webhooks

    app.register_blueprint(shop.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(cart.bp)
    app.register_blueprint(orders.bp)
    app.register_blueprint(checkout.bp)
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(paylink.bp)
    app.register_blueprint(invoices.bp)
    from storefront import giftcards, returns
    app.register_blueprint(giftcards.bp)
    app.register_blueprint(returns.bp)
    from storefront import lists, quick_order
    app.register_blueprint(quick_order.bp)
    app.register_blueprint(lists.bp)
    from storefront import company, profile
    app.register_blueprint(company.bp)
    app.register_blueprint(profile.bp)
    from storefront import approvals
    app.register_blueprint(approvals.bp)
    from storefront import quotes
    app.register_blueprint(quotes.bp)
    from storefront import statements
    app.register_blueprint(statements.bp)
    from storefront import purchasing
    app.register_blueprint(purchasing.bp)
    from storefront import seo
    app.register_blueprint(seo.bp)
    app.context_processor(seo.default_meta)
    app.jinja_env.globals.update(app_title="Marketline", home_endpoint="shop.home")
    from core import cache
    cache.listings.configure(app.config["MARKETLINE"].LISTING_CACHE_SECONDS)
    cache.reference.configure(app.config["MARKETLINE"].REFERENCE_CACHE_SECONDS)
    app.context_processor(shop.navigation)
    app.context_processor(cart.cart_count)
    return app
