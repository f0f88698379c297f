"""Printed invoices and credit notes: one HTML document, turned into PDF by WeasyPrint.

No Flask here: a plain Jinja environment over core/billing/templates renders the document
(and the e-mail that carries it, see core.notifications). The PDF is made offline:
WeasyPrint is given a URL fetcher that refuses everything but data: URLs and files
inside the templates folder, so a document never makes the renderer reach the network.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import object_session

from core import labels
from core.billing import queries
from core.billing.models import Invoice
from core.config import Settings
from core.customers.addresses import COUNTRIES
from core.money import Money

TEMPLATES = Path(__file__).resolve().parent / "templates"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Seller:
    """Who issues the documents (from the SELLER_* settings)."""

    name: str
    address: tuple[str, ...]
    vat_id: str
    bank: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> "Seller":
        lines = tuple(p.strip() for p in settings.SELLER_ADDRESS.split(";") if p.strip())
        return cls(settings.SELLER_NAME, lines, settings.SELLER_VAT_ID, settings.SELLER_BANK)


def _money(value: Decimal | Money | None, currency: str | None = None) -> str:
    """Like the web apps' money filter: '1,234.50 EUR'."""
    if value is None:
        return ""
    if isinstance(value, Money):
        return value.format()
    return Money(value, currency).format()


def _css_string(value: str) -> Markup:
    """A quoted CSS string for `content:` inside <style>: anything but plain letters, digits
    and spaces is a CSS escape, so neither quotes nor `</style>` can break out."""
    safe = "".join(ch if ch.isalnum() and ch.isascii() or ch in " .,-" else f"\\{ord(ch):x} "
                   for ch in str(value))
    return Markup(f'"{safe}"')


def _date(value: dt.date | None) -> str:
    """A date; a timestamp as the day it was in the shop's time zone."""
    return labels.shop_time(value, "%d %b %Y") if value else ""


def address_lines(address: dict | None) -> list[str]:
    """A bill-to snapshot as the lines of a postal address."""
    a = address or {}
    name = a.get("full_name") or a.get("name") or ""
    city = " ".join(p for p in (a.get("postal_code", ""), a.get("city", "")) if p)
    country = COUNTRIES.get(a.get("country", ""), a.get("country", ""))
    lines = [a.get("company", ""), name, a.get("line1", ""), a.get("line2", ""), city, country]
    seen: list[str] = []
    for line in lines:
        if line and line not in seen:
            seen.append(line)
    return seen


environment = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                          autoescape=select_autoescape(["html", "xml"]),
                          undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
environment.filters.update(money=_money, date=_date, css_string=_css_string,
                           tax_percent=queries.tax_percent)
environment.globals.update(address_lines=address_lines)


def environment_for(templates: Path) -> Environment:
    """Another document's environment: the invoices' filters, globals and page frame, finding
    that document's templates in `templates` first (the quote, the purchase order)."""
    return environment.overlay(
        loader=ChoiceLoader([FileSystemLoader(str(templates)), environment.loader]))


def render(template: str, **context) -> str:
    """Render one of the billing templates (documents and e-mails)."""
    return environment.get_template(template).render(**context)


def _view(invoice: Invoice) -> queries.InvoiceView:
    session = object_session(invoice)
    if session is None or invoice.id is None:
        return queries.InvoiceView(invoice)
    return queries.describe(session, invoice)


def invoice_html(invoice: Invoice, *, seller: Seller) -> str:
    """The invoice or credit note as a self-contained HTML document (styles inline)."""
    return render("invoice.html", view=_view(invoice), invoice=invoice, seller=seller)


def invoice_pdf(invoice: Invoice, *, seller: Seller) -> bytes:
    """The invoice or credit note as a Factur-X PDF/A-3 (A4): the printed document with its
    EN 16931 XML embedded (core.billing.einvoice), rendered without any network access.
    Should the XML fail to build or fail its schema check, the error is logged and the
    printed document goes out without it: an e-mail or a download never fails for the
    e-invoice's sake."""
    from core.billing import einvoice
    view = _view(invoice)
    pdf = _pdf(render("invoice.html", view=view, invoice=invoice, seller=seller),
               variant="pdf/a-3b")
    try:
        return einvoice.embed(pdf, einvoice.invoice_xml(invoice, seller=seller, view=view),
                              title=f"{view.title} {invoice.number}", author=seller.name,
                              subject=f"{view.title} {invoice.number} from {seller.name}")
    except Exception:  # noqa: BLE001 - any failure of the e-invoice: the PDF still goes out
        logger.exception("The e-invoice of %s could not be built; sending the PDF without it",
                         invoice.number)
        return pdf


def plain_pdf(invoice: Invoice, *, seller: Seller) -> bytes:
    """The printed document alone, without the e-invoice (a plain PDF)."""
    return _pdf(invoice_html(invoice, seller=seller))


def _pdf(html_text: str, *, variant: str | None = None) -> bytes:
    import weasyprint  # imported when needed: it loads Pango and friends
    html = weasyprint.HTML(string=html_text, base_url=TEMPLATES.as_uri() + "/",
                           url_fetcher=_local_fetcher(weasyprint))
    return html.write_pdf(pdf_variant=variant) if variant else html.write_pdf()


def pdf_filename(invoice: Invoice) -> str:
    return f"{invoice.number}.pdf"


def _local_fetcher(weasyprint):
    """A WeasyPrint URL fetcher that answers data: URLs and files under TEMPLATES only."""
    from weasyprint.urls import URLFetcher

    class LocalOnly(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)
            if url.startswith("file:"):
                path = Path(url2pathname(urlsplit(url).path)).resolve()
                if path.is_relative_to(TEMPLATES):
                    return super().fetch(url, headers)
            raise ValueError(f"invoice documents load nothing from {url!r}")

    return LocalOnly(allowed_protocols=("data", "file"), allow_redirects=False)
