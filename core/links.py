"""Every absolute link Marketline sends to people (e-mails, documents, the SSO redirect URI).

Built from settings alone: SHOP_URL for the storefront, CONSOLE_URL (default SHOP_URL +
"/agent") for the console. Never from the request's Host or X-Forwarded-Host, which a
client chooses: a password-reset link pointing at another site hands its token over.
The paths match the storefront's and the console's routes; tests/web/test_links.py
compares each function with `url_for(..., _external=True)` so the two cannot drift.
"""
from __future__ import annotations

from urllib.parse import quote

from core.config import Settings


def _shop(settings: Settings, path: str) -> str:
    return f"{settings.SHOP_URL.rstrip('/')}{path}"


def _part(value: str | int) -> str:
    return quote(str(value), safe="")


def shop_home(settings: Settings) -> str:
    return _shop(settings, "/")


def order_page(settings: Settings, number: str, *, account: bool) -> str:
    """Where the buyer sees an order: in their account when they have one (`account`),
    else the guest order look-up (by number and e-mail)."""
    if account:
        return _shop(settings, f"/account/orders/{_part(number)}")
    return order_lookup(settings)


def for_customer(settings: Settings, *, customer_id: int | None, can_sign_in: bool,
                 account_page: str) -> str | None:
    """The one rule for where an e-mail sends a buyer to see an order or its document: a
    guest's order to the guest look-up, a customer who can sign in to `account_page` (a
    path in the account), and a customer without a login (one who orders by phone)
    nowhere: the look-up finds guest orders only."""
    if customer_id is None:
        return order_lookup(settings)
    return _shop(settings, account_page) if can_sign_in else None


def order_page_for(settings: Settings, number: str, *, customer_id: int | None,
                   can_sign_in: bool) -> str | None:
    """An order, for the buyer it belongs to (see for_customer)."""
    return for_customer(settings, customer_id=customer_id, can_sign_in=can_sign_in,
                        account_page=f"/account/orders/{_part(number)}")


def invoice_page_for(settings: Settings, number: str, *, customer_id: int | None,
                     can_sign_in: bool, guest_order: bool) -> str | None:
    """An invoice, for the buyer it belongs to; a free-text invoice to a guest has no page."""
    if customer_id is None and not guest_order:
        return None
    return for_customer(settings, customer_id=customer_id, can_sign_in=can_sign_in,
                        account_page=f"/account/invoices/{_part(number)}")


def return_page_for(settings: Settings, number: str, *, customer_id: int | None,
                    can_sign_in: bool) -> str | None:
    """A return (RMA), for the buyer it belongs to: in the account, or the guest look-up of
    its order (see for_customer)."""
    return for_customer(settings, customer_id=customer_id, can_sign_in=can_sign_in,
                        account_page=f"/account/returns/{_part(number)}")


def order_lookup(settings: Settings) -> str:
    return _shop(settings, "/orders/lookup")


def invoice_page(settings: Settings, number: str) -> str:
    """An invoice in the customer's account."""
    return _shop(settings, f"/account/invoices/{_part(number)}")


def order_pay_page(settings: Settings, token: str) -> str:
    """/pay/<token>: pay an order waiting for a card (core.payments.links makes the token)."""
    return _shop(settings, f"/pay/{_part(token)}")


def invoice_pay_page(settings: Settings, token: str) -> str:
    """/pay/invoice/<token>: pay an open invoice by card (core.payments.links makes the
    token)."""
    return _shop(settings, f"/pay/invoice/{_part(token)}")


def password_reset(settings: Settings, token: str) -> str:
    return _shop(settings, f"/account/reset-password/{_part(token)}")


def email_confirmation(settings: Settings, token: str) -> str:
    """A new account's link to confirm its e-mail address."""
    return _shop(settings, f"/account/confirm/{_part(token)}")


def sign_in(settings: Settings) -> str:
    return _shop(settings, "/account/sign-in")


def forgot_password(settings: Settings) -> str:
    return _shop(settings, "/account/forgot-password")


def gift_card_balance(settings: Settings) -> str:
    """The shop's page where a gift card's balance is checked."""
    return _shop(settings, "/gift-card")


def console(settings: Settings, path: str = "/") -> str:
    """A console address: `path` is the console's own path ("/sso/callback")."""
    return f"{settings.console_url}/{path.lstrip('/')}"


def sso_callback(settings: Settings) -> str:
    """The OpenID Connect redirect URI registered with the provider."""
    return console(settings, "/sso/callback")


def buyer_invitation(settings: Settings, token: str) -> str:
    """An invited company buyer's link to choose a password (core.customers.company)."""
    return _shop(settings, f"/account/invitation/{_part(token)}")


def email_change(settings: Settings, token: str) -> str:
    """The link, sent to a new address, that makes it the login's e-mail."""
    return _shop(settings, f"/account/email/confirm/{_part(token)}")
def approvals_page(settings: Settings) -> str:
    """The shop's Approvals page, where a company's approvers decide waiting orders."""
    return _shop(settings, "/account/approvals")


def quote_page_for(settings: Settings, number: str, *, customer_id: int,
                   can_sign_in: bool) -> str | None:
    """A quote in the customer's account (none for a customer without a login)."""
    return for_customer(settings, customer_id=customer_id, can_sign_in=can_sign_in,
                        account_page=f"/account/quotes/{_part(number)}")


def shop_page(settings: Settings, path: str) -> str:
    """Any storefront path ("/c/paper?page=2") as an absolute address: canonical links,
    the sitemap, Open Graph."""
    return _shop(settings, "/" + path.lstrip("/"))


def product_page(settings: Settings, slug: str) -> str:
    return _shop(settings, f"/p/{_part(slug)}")


def category_page(settings: Settings, slug: str) -> str:
    return _shop(settings, f"/c/{_part(slug)}")


def product_picture(settings: Settings, filename: str) -> str:
    """A product's picture under MEDIA_DIR/products, served at /media/products/<filename>."""
    return _shop(settings, f"/media/products/{quote(filename)}")
