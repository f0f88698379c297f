"""The printed dunning letter: one HTML document (core/credit/templates/dunning_letter.html)
turned into PDF by WeasyPrint as invoices are (the seller from the SELLER_* settings, the
shared page frame and letterhead, no network access).

The letter says its level's subject and text with the placeholders filled, lists the
invoices it is about (number, date, due date, days overdue, open amount), then the fee,
the interest, the total due, the day to pay by and the bank account.

No Flask here: the console serves the PDF, core.notifications attaches it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core import clock
from core.billing import documents
from core.billing.models import Invoice
from core.credit import dunning
from core.credit.models import DunningLetter, DunningLetterItem, DunningLevel
from core.credit.states import LetterStatus
from core.customers.models import Customer

TEMPLATES = Path(__file__).resolve().parent / "templates"
Seller = documents.Seller

environment = documents.environment_for(TEMPLATES)


@dataclass(frozen=True)
class LetterDocument:
    letter: DunningLetter
    customer: Customer
    level: DunningLevel
    items: list[DunningLetterItem]
    charges: Invoice | None
    date: dt.date
    pay_by: dt.date
    total_due: Decimal
    subject: str
    paragraphs: list[str]

    @property
    def reference(self) -> str:
        return f"DL-{self.letter.id:06d}"


def describe(session: Session, letter: DunningLetter) -> LetterDocument:
    """The letter with its customer, level, invoices (loaded with the items, no query per
    item) and charges document: a few small queries. A sent letter says the text it was
    sent with (stored on it); a proposed one the level's current text."""
    customer = session.get(Customer, letter.customer_id)
    level = session.scalar(select(DunningLevel).where(DunningLevel.level == letter.level))
    charges = session.get(Invoice, letter.charges_invoice_id) if letter.charges_invoice_id \
        else None
    items = list(session.scalars(
        select(DunningLetterItem).where(DunningLetterItem.letter_id == letter.id)
        .options(selectinload(DunningLetterItem.invoice)).order_by(DunningLetterItem.id)))
    if charges is not None:
        date = charges.issue_date
    elif letter.sent_at is not None:
        date = clock.business_date(letter.sent_at)
    else:
        date = clock.today()
    pay_by = charges.due_date if charges is not None else \
        date + dt.timedelta(days=dunning.PAY_WITHIN_DAYS)
    total = letter.amount_overdue + letter.fee + letter.interest
    if letter.status == LetterStatus.SENT and letter.subject:
        subject, body = letter.subject, letter.body
    else:
        subject, body = dunning.letter_text(letter, customer.name, level, pay_by)
    paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()]
    return LetterDocument(letter, customer, level, items, charges, date, pay_by, total, subject,
                          paragraphs)


def letter_html(session: Session, letter: DunningLetter, *, seller: Seller) -> str:
    """The letter as a self-contained HTML document (styles inline)."""
    return environment.get_template("dunning_letter.html").render(
        doc=describe(session, letter), seller=seller)


def letter_pdf(session: Session, letter: DunningLetter, *, seller: Seller) -> bytes:
    """The letter as PDF (A4), rendered without any network access."""
    import weasyprint  # imported when needed: it loads Pango and friends
    html = weasyprint.HTML(string=letter_html(session, letter, seller=seller),
                           base_url=TEMPLATES.as_uri() + "/",
                           url_fetcher=documents._local_fetcher(weasyprint))
    return html.write_pdf()


def pdf_filename(letter: DunningLetter) -> str:
    return f"dunning-letter-DL-{letter.id:06d}.pdf"
