"""Outgoing e-mail: SMTP when SMTP_URL is set, otherwise printed to the log.

What customers are sent is composed and queued in core.notifications, from domain events;
this module only builds and delivers messages."""
from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit


log = logging.getLogger("marketline.mail")


@dataclass(frozen=True)
class Attachment:
    """A file sent with an e-mail (an invoice's PDF)."""

    filename: str
    content: bytes
    mimetype: str = "application/octet-stream"


def build_message(*, sender: str, to: str, subject: str, text: str, html: str | None,
                  attachments: Sequence[Attachment] = ()) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    for item in attachments:
        maintype, _, subtype = item.mimetype.partition("/")
        message.add_attachment(item.content, maintype=maintype, subtype=subtype,
                               filename=item.filename)
    return message


def _without_attachments(message: EmailMessage) -> str:
    """The message as text, attachments named rather than dumped in base64."""
    names = [part.get_filename() for part in message.iter_attachments()] \
        if message.is_multipart() else []
    if not names:
        return str(message)
    headers = "".join(f"{k}: {v}\n" for k, v in message.items())
    body = message.get_body(("plain",))
    text = body.get_content() if body is not None else ""
    return f"{headers}\n{text}\n[attached: {', '.join(n or 'file' for n in names)}]"


def deliver(message: EmailMessage, smtp_url: str) -> None:
    """Hand a message to the SMTP server in `smtp_url` (smtp://user:pass@host:port, smtps://)."""
    if not smtp_url:
        shown = _without_attachments(message)
        log.warning("SMTP_URL is not set; e-mail printed instead:\n%s", shown)
        print(shown, flush=True)
        return
    url = urlsplit(smtp_url)
    host = url.hostname or "127.0.0.1"
    if url.scheme == "smtps":
        # A verified certificate (and host name): without a context smtplib accepts any.
        smtp = smtplib.SMTP_SSL(host, url.port or 465, timeout=15,
                                context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, url.port or 25, timeout=15)
    with smtp:
        if url.scheme == "smtp+starttls":
            smtp.starttls(context=ssl.create_default_context())
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
        smtp.send_message(message)
