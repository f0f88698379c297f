"""E-mails to customers whose card could not be charged: a link to pay by card instead.

Sent after commit, from requests and from background work alike, so the links come from
core.payments.links (SHOP_URL, signed with SECRET_KEY: the settings Celery was configured
with, the app's own or the worker's).
"""
from __future__ import annotations

from markupsafe import escape

from core.mail import send_mail
from core.payments import links


def _settings():
    from core.tasks import celery_app
    return celery_app.conf.marketline_settings


def invoice_link(invoice_id: int, *, settings=None) -> str:
    """The shop's /pay/invoice/<token> for this invoice."""
    return links.invoice_pay_link(settings or _settings(), invoice_id)


def order_link(order_id: int, *, settings=None) -> str:
    """The shop's /pay/<token> for an order waiting for a card."""
    return links.order_pay_link(settings or _settings(), order_id)


def invoice_pay_link(invoice_id: int, *, number: str, email: str, reason: str) -> str:
    """Ask the customer to pay invoice `number` by card. Returns the link sent."""
    link = invoice_link(invoice_id)
    text = (f"Hello,\n\nwe could not take the payment for invoice {number} from your card "
            f"({reason.rstrip('.')}).\n\nPlease pay it by card here:\n{link}\n\n"
            "The link works for 30 days. If you have paid already, please ignore this "
            "message.\n\nMarketline")
    html = (f"<p>Hello,</p><p>we could not take the payment for invoice "
            f"<strong>{escape(number)}</strong> from your card ({escape(reason.rstrip('.'))})."
            f"</p><p><a href=\"{escape(link)}\">Pay invoice {escape(number)} by card</a></p>"
            "<p>The link works for 30 days. If you have paid already, please ignore this "
            "message.</p><p>Marketline</p>")
    send_mail(to=email, subject=f"Please pay invoice {number} by card", text=text, html=html)
    return link


def order_card_needed(order_id: int, *, number: str, email: str, reason: str) -> str:
    """Ask the customer for a card again: the authorisation of order `number` lapses."""
    link = order_link(order_id)
    text = (f"Hello,\n\nthe payment for your order {number} is authorised on your card for "
            f"a limited time only, and we could not renew it ({reason.rstrip('.')}).\n\n"
            f"Please confirm your card here so that we can ship your order:\n{link}\n\n"
            "Marketline")
    html = (f"<p>Hello,</p><p>the payment for your order <strong>{escape(number)}</strong> is "
            "authorised on your card for a limited time only, and we could not renew it "
            f"({escape(reason.rstrip('.'))}).</p><p><a href=\"{escape(link)}\">Confirm your card "
            f"for order {escape(number)}</a></p><p>Marketline</p>")
    send_mail(to=email, subject=f"Please confirm your card for order {number}", text=text,
              html=html)
    return link
