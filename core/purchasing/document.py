"""The printed purchase order: one HTML document (core/purchasing/templates/
purchase_order.html), turned into PDF by WeasyPrint as invoices and quotes are (the seller
from the SELLER_* settings, the shared page frame, no network access).

No Flask here: the console serves the PDF, core.notifications attaches it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from core.billing import documents
from core.inventory.models import Supplier
from core.orders.models import Order
from core.purchasing.models import PurchaseOrder
from core.purchasing.states import label

TEMPLATES = Path(__file__).resolve().parent / "templates"
Seller = documents.Seller

# The invoices' environment (its filters, globals and page frame), finding our template here.
environment = documents.environment_for(TEMPLATES)


@dataclass(frozen=True)
class PurchaseOrderDocument:
    po: PurchaseOrder
    supplier: Supplier
    order_number: str  # our reference: the sales order
    status: str


def describe(session: Session, po: PurchaseOrder) -> PurchaseOrderDocument:
    """The purchase order with its supplier and sales order number: two small queries."""
    supplier = session.get(Supplier, po.supplier_id)
    order = session.get(Order, po.order_id)
    return PurchaseOrderDocument(po, supplier, order.number, label(po.status))


def purchase_order_html(session: Session, po: PurchaseOrder, *, seller: Seller) -> str:
    """The purchase order as a self-contained HTML document (styles inline)."""
    return environment.get_template("purchase_order.html").render(
        doc=describe(session, po), po=po, seller=seller)


def purchase_order_pdf(session: Session, po: PurchaseOrder, *, seller: Seller) -> bytes:
    """The purchase order as PDF (A4), rendered without any network access."""
    import weasyprint  # imported when needed: it loads Pango and friends
    html = weasyprint.HTML(string=purchase_order_html(session, po, seller=seller),
                           base_url=TEMPLATES.as_uri() + "/",
                           url_fetcher=documents._local_fetcher(weasyprint))
    return html.write_pdf()


def pdf_filename(po: PurchaseOrder) -> str:
    return f"{po.number}.pdf"
