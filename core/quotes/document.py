"""The printed quote: one HTML document (core/quotes/templates/quote.html), turned into PDF
by WeasyPrint exactly as invoices are (core.billing.documents: the seller from the SELLER_*
settings, the same filters, a URL fetcher that loads nothing from the network).

No Flask here: the shop and the console serve the PDF, core.notifications attaches it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.agents.models import Agent
from core.billing import documents
from core.customers.models import Customer, CustomerAddress, CustomerUser
from core.quotes.models import Quote
from core.quotes.services import REASONS, shown_status
from core.quotes.states import label

TEMPLATES = Path(__file__).resolve().parent / "templates"
Seller = documents.Seller

# The invoices' environment (its filters, globals and page frame), finding quote.html here.
environment = documents.environment_for(TEMPLATES)


@dataclass(frozen=True)
class QuoteDocument:
    """What the printed quote says besides the quote itself: who it is for and from."""

    quote: Quote
    customer: Customer
    bill_to: dict
    attention: str  # the buyer it is for
    agent: str  # who prepared it
    status: str  # as people read it

    def reason(self, code: str) -> str:
        return REASONS.get(code, code)


def describe(session: Session, quote: Quote) -> QuoteDocument:
    """The quote with its customer, bill-to address (the default billing address, else the
    default shipping one), buyer and agent: four small queries."""
    customer = session.get(Customer, quote.customer_id)
    address = session.scalar(select(CustomerAddress).where(
        CustomerAddress.customer_id == quote.customer_id)
        .order_by(CustomerAddress.default_billing.desc(), CustomerAddress.default_shipping.desc(),
                  CustomerAddress.id).limit(1))
    bill_to = address.as_dict() if address is not None else {"company": customer.name}
    if customer.is_company:
        bill_to = {**bill_to, "company": customer.name}
    buyer = session.get(CustomerUser, quote.requested_by_id) if quote.requested_by_id else None
    agent = session.get(Agent, quote.agent_id) if quote.agent_id else None
    return QuoteDocument(quote, customer, bill_to, buyer.full_name if buyer else "",
                         agent.full_name if agent else "", label(shown_status(quote)))


def quote_html(session: Session, quote: Quote, *, seller: Seller) -> str:
    """The quote as a self-contained HTML document (styles inline)."""
    return environment.get_template("quote.html").render(doc=describe(session, quote),
                                                         q=quote, seller=seller)


def quote_pdf(session: Session, quote: Quote, *, seller: Seller) -> bytes:
    """The quote as PDF (A4), rendered without any network access."""
    import weasyprint  # imported when needed: it loads Pango and friends
    html = weasyprint.HTML(string=quote_html(session, quote, seller=seller),
                           base_url=TEMPLATES.as_uri() + "/",
                           url_fetcher=documents._local_fetcher(weasyprint))
    return html.write_pdf()


def pdf_filename(quote: Quote) -> str:
    return f"{quote.number}.pdf"
