"""E-mails to customers that follow from domain events, sent after the commit.

core.events hands this module the events of a committed transaction; each becomes a
Celery task (run inline without Redis) that reads what it needs in its own session,
renders the e-mail from the templates beside this module (HTML and text), sends it with
no transaction open, and notes that it went out, so a redelivered task sends nothing twice.

Links in these e-mails come from core.links (the SHOP_URL setting), never from a request's host.
"""
from __future__ import annotations

import logging
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import update
from sqlalchemy.orm import selectinload

from core import audit, events, links
from core.customers import queries as customers
from core.db import utcnow
from core.mail import build_message, deliver
from core.orders.models import Order
from core.tasks import celery_app, task_session

log = logging.getLogger("marketline.notifications")
ACTOR = audit.Actor.system("notifications")
TEMPLATES = Path(__file__).resolve().parent / "templates"

# The same rendering rules as the web apps' templates (autoescape for HTML only).
environment = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                          autoescape=select_autoescape(["html", "xml"]))


def render(template: str, **context) -> str:
    return environment.get_template(template).render(**context)


def order_link(session, settings, order: Order) -> str | None:
    """Where the buyer sees the order (core.links.order_page_for)."""
    return links.order_page_for(settings, order.number, customer_id=order.customer_id,
                                can_sign_in=customers.can_sign_in(session, order.customer_id))


def order_confirmation_message(session, order: Order, *, settings):
    link = order_link(session, settings, order)
    return build_message(sender=settings.MAIL_FROM, to=order.email,
                         subject=f"Your Marketline order {order.number}",
                         text=render("order_confirmation.txt", order=order, link=link),
                         html=render("order_confirmation.html", order=order, link=link))


@celery_app.task(name="marketline.send_order_confirmation", autoretry_for=(OSError,),
                 retry_backoff=True, max_retries=5)
def send_order_confirmation(order_id: int, resend: bool = False) -> bool:
    """E-mail the buyer the order's confirmation; once, unless `resend`. True when sent."""
    settings = celery_app.conf.marketline_settings
    session = task_session()
    try:
        order = session.get(Order, order_id, options=[selectinload(Order.lines)])
        if order is None or order.status == "cancelled":
            return False
        if order.confirmation_emailed_at is not None and not resend:
            return False  # a redelivered task: the buyer has it already
        message = order_confirmation_message(session, order, settings=settings)
        number, to = order.number, order.email
        session.rollback()  # no transaction stays open while SMTP talks
        deliver(message, settings.SMTP_URL)
        session.execute(update(Order).where(Order.id == order_id)
                        .values(confirmation_emailed_at=utcnow()))
        audit.record(session, "order.confirmation_emailed", actor=ACTOR, channel="email",
                     subject=order, data={"number": number, "to": to})
        session.commit()
        return True
    finally:
        session.close()


def queue_order_confirmation(order_id: int, *, resend: bool = False) -> None:
    """Send the confirmation in the background (inline without Redis). Call after commit;
    never raises: a failure is logged, and what was committed stays."""
    try:
        send_order_confirmation.delay(order_id, resend)
    except Exception:  # noqa: BLE001 - see docstring
        log.exception("could not e-mail the confirmation of order %s", order_id)


# -- password resets: the token is made in the task, so it never rests in the broker --------

@celery_app.task(name="marketline.send_password_reset", autoretry_for=(OSError,),
                 retry_backoff=True, max_retries=5)
def send_password_reset(email: str) -> bool:
    """Make a reset link for the e-mail's account, if there is one, and mail it. The
    request that asked only queued the address: whether an account exists, the answer
    and its time are the same, and the token exists only here and in the e-mail."""
    from core.customers import services as accounts
    settings = celery_app.conf.marketline_settings
    session = task_session()
    try:
        found = accounts.request_password_reset(session, email)
        session.commit()
        if found is None:
            return False
        user, token = found
        link = links.password_reset(settings, token)
        message = build_message(sender=settings.MAIL_FROM, to=user.email,
                                subject="Reset your Marketline password",
                                text=render("password_reset.txt", user=user, link=link),
                                html=render("password_reset.html", user=user, link=link))
        session.rollback()
        deliver(message, settings.SMTP_URL)
        return True
    finally:
        session.close()


def queue_password_reset(email: str) -> None:
    """Ask for a reset link for `email` in the background (inline without Redis); never
    raises."""
    try:
        send_password_reset.delay(email)
    except Exception:  # noqa: BLE001 - a mail server down is not the person's problem
        log.exception("could not send a password reset")


events.subscribe(events.OrderConfirmed, lambda happened: queue_order_confirmation(happened.order_id))
