"""Outgoing e-mail: SMTP when SMTP_URL is set, otherwise printed to the log."""
from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from core.tasks import celery_app

log = logging.getLogger("marketline.mail")


def build_message(*, sender: str, to: str, subject: str, text: str, html: str | None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message


def deliver(message: EmailMessage, smtp_url: str) -> None:
    """Hand a message to the SMTP server in `smtp_url` (smtp://user:pass@host:port, smtps://)."""
    if not smtp_url:
        log.warning("SMTP_URL is not set; e-mail printed instead:\n%s", message)
        print(message, flush=True)
        return
    url = urlsplit(smtp_url)
    cls = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
    with cls(url.hostname or "127.0.0.1", url.port or (465 if url.scheme == "smtps" else 25),
             timeout=15) as smtp:
        if url.scheme == "smtp+starttls":
            smtp.starttls()
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
        smtp.send_message(message)


@celery_app.task(name="marketline.send_mail", autoretry_for=(OSError,), retry_backoff=True,
                 max_retries=5)
def send_mail_task(to: str, subject: str, text: str, html: str | None = None) -> None:
    settings = celery_app.conf.marketline_settings
    deliver(build_message(sender=settings.MAIL_FROM, to=to, subject=subject, text=text, html=html),
            settings.SMTP_URL)


def send_mail(*, to: str, subject: str, text: str, html: str | None = None) -> None:
    """Send an e-mail through the task queue (inline when there is no Redis). Call after commit.

    A failure is logged, never raised: what was committed stays committed, and the person
    is not shown an error for a mail server being down.
    """
    try:
        send_mail_task.delay(to, subject, text, html)
    except Exception:  # noqa: BLE001 - see docstring
        log.exception("could not send e-mail %r to %s", subject, to)
