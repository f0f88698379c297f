"""E-mailing invoices and credit notes, with the PDF attached, from a background task.

Call `queue_invoice_email(invoice.id)` after the transaction that issued the document has
committed. The task reads the document in its own session, renders the e-mail and the
PDF, sends them with no transaction open, and then notes `Invoice.emailed_at`.
"""
from __future__ import annotations

import logging

from sqlalchemy import update
from sqlalchemy.orm import object_session, selectinload

from core import audit, links
from core.billing import documents, queries
from core.billing.models import Invoice
from core.customers import queries as customers
from core.db import utcnow
from core.mail import Attachment, build_message, deliver
from core.tasks import celery_app, task_session

log = logging.getLogger("marketline.billing")
ACTOR = audit.Actor.system("billing mail")


def invoice_message(invoice: Invoice, *, seller: documents.Seller, sender: str,
                    link: str | None = None):
    """The e-mail for an invoice or credit note, its PDF attached."""
    view = queries.describe(object_session(invoice), invoice)
    context = {"view": view, "seller": seller, "link": link}
    subject = f"{view.title} {invoice.number} from {seller.name}"
    pdf = Attachment(documents.pdf_filename(invoice),
                     documents.invoice_pdf(invoice, seller=seller), "application/pdf")
    return build_message(sender=sender, to=invoice.email, subject=subject,
                         text=documents.render("invoice_email.txt", **context),
                         html=documents.render("invoice_email.html", **context),
                         attachments=[pdf])


def shop_link(session, settings, invoice: Invoice) -> str | None:
    """Where the customer sees the document (core.links.invoice_page_for)."""
    return links.invoice_page_for(settings, invoice.number, customer_id=invoice.customer_id,
                                  can_sign_in=customers.can_sign_in(session, invoice.customer_id),
                                  guest_order=invoice.order_id is not None)


@celery_app.task(name="marketline.send_invoice_email", autoretry_for=(OSError,),
                 retry_backoff=True, max_retries=5)
def send_invoice_email(invoice_id: int, link: str | None = None, resend: bool = False) -> bool:
    """Send the document to its e-mail address; once, unless `resend`. True when sent."""
    settings = celery_app.conf.marketline_settings
    session = task_session()
    try:
        invoice = session.get(Invoice, invoice_id, options=[selectinload(Invoice.lines),
                                                            selectinload(Invoice.tax_lines)])
        if invoice is None:
            log.warning("invoice %s to e-mail does not exist", invoice_id)
            return False
        if invoice.emailed_at is not None and not resend:
            return False  # a redelivered task: the customer has it already
        if not invoice.email:
            log.info("%s has no e-mail address; not sent", invoice.number)
            return False
        message = invoice_message(invoice, seller=documents.Seller.from_settings(settings),
                                  sender=settings.MAIL_FROM,
                                  link=link or shop_link(session, settings, invoice))
        number, to = invoice.number, invoice.email
        session.rollback()  # nothing written: no transaction stays open while SMTP talks
        deliver(message, settings.SMTP_URL)
        session.execute(update(Invoice).where(Invoice.id == invoice_id)
                        .values(emailed_at=utcnow()))
        audit.record(session, "invoice.emailed", actor=ACTOR, channel="email",
                     subject=invoice, data={"number": number, "to": to})
        session.commit()
        return True
    finally:
        session.close()


def queue_invoice_email(invoice_id: int, *, link: str | None = None,
                        resend: bool = False) -> None:
    """E-mail an invoice or credit note in the background (inline without Redis).

    Call after commit. Never raises: a failure is logged, and what was committed stays.
    """
    try:
        send_invoice_email.delay(invoice_id, link, resend)
    except Exception:  # noqa: BLE001 - see docstring
        log.exception("could not e-mail invoice %s", invoice_id)
