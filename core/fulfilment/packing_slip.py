"""The packing slip: the paper that goes into an order's parcel. The company's letterhead,
the order number and date, the ship-to address, the shipping method by name and the lines
still to ship: SKU, item, bin, units ordered and units to ship now. No prices: the parcel
may go to someone other than the payer (the invoice goes to the payer).

Rendered like the invoices and purchase orders (core.billing.documents: a plain Jinja
template with the shared page frame, WeasyPrint with a fetcher that reaches no network).
Several orders make one PDF, each order on its own page(s) with its own footer.

No Flask here: the console serves the PDF.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core import clock
from core.billing import documents
from core.fulfilment import states
from core.inventory.models import StockLevel
from core.orders.models import Order, OrderLine
from core.orders.shipping import ShippingMethod

TEMPLATES = Path(__file__).resolve().parent / "templates"
Seller = documents.Seller

# The invoices' environment (filters, globals, page frame), finding our template here.
environment = documents.environment_for(TEMPLATES)


@dataclass(frozen=True)
class SlipLine:
    sku: str
    name: str
    bin_location: str  # "" when none is set, or when the supplier ships it
    ordered: int
    to_ship_now: int  # what goes into this parcel
    later: int  # still outstanding after this parcel (waiting for stock)
    by_supplier: bool  # drop-shipped: the supplier sends it separately


@dataclass(frozen=True)
class PackingSlip:
    order: Order
    shipping_method: str  # by name
    lines: list[SlipLine]  # the order's lines with units still to ship

    @property
    def units_now(self) -> int:
        return sum(l.to_ship_now for l in self.lines)


def _to_ship_now(order: Order, line: OrderLine) -> int:
    """The units of `line` that go into the parcel now: what is outstanding and reserved on
    our shelves (as the ship page offers it); none of a drop-shipped line, and none at all of
    an order that ships complete while a line waits for stock."""
    if line.warehouse is None:
        return 0
    if order.ship_complete and any(l.quantity_backordered for l in order.lines):
        return 0
    return max(0, min(line.quantity - line.quantity_shipped, line.quantity_reserved))


def packing_slips(session: Session, order_ids: Iterable[int], *,
                  released_only: bool = True) -> list[PackingSlip]:
    """The packing slips of the orders, by order number; with `released_only`, of those
    with the warehouse only (released, not fully shipped). Four queries, whatever the number
    of orders or lines."""
    ids = set(order_ids)
    if not ids:
        return []
    stmt = (select(Order).where(Order.id.in_(ids)).options(selectinload(Order.lines))
            .order_by(Order.number))
    if released_only:
        stmt = stmt.where(Order.status.in_(states.RELEASED_ORDER_STATUSES))
    orders = list(session.scalars(stmt))
    if not orders:
        return []
    codes = {o.shipping_method for o in orders}
    names = dict(session.execute(select(ShippingMethod.code, ShippingMethod.name)
                                 .where(ShippingMethod.code.in_(codes))).all())
    lines = [l for o in orders for l in o.lines if l.quantity > l.quantity_shipped]
    places = {(l.variant_id, l.warehouse) for l in lines if l.warehouse}
    bins: dict[tuple[int, str], str] = {}
    if places:
        bins = {(v, w): b for v, w, b in session.execute(
            select(StockLevel.variant_id, StockLevel.warehouse, StockLevel.bin_location)
            .where(StockLevel.variant_id.in_({v for v, _ in places}),
                   StockLevel.warehouse.in_({w for _, w in places})))}
    slips = []
    for order in orders:
        slip_lines = []
        for line in order.lines:
            outstanding = line.quantity - line.quantity_shipped
            if outstanding <= 0:
                continue
            now = _to_ship_now(order, line)
            slip_lines.append(SlipLine(
                line.sku, line.name, bins.get((line.variant_id, line.warehouse), "")
                if line.warehouse else "", line.quantity, now, outstanding - now,
                line.warehouse is None))
        slips.append(PackingSlip(order, names.get(order.shipping_method, "")
                                 or order.shipping_method, slip_lines))
    return slips


def packing_slip_html(slip: PackingSlip, *, seller: Seller) -> str:
    """One order's packing slip as a self-contained HTML document (styles inline)."""
    return environment.get_template("packing_slip.html").render(
        slip=slip, order=slip.order, seller=seller, printed_on=clock.today())


def packing_slips_pdf(slips: list[PackingSlip], *, seller: Seller) -> bytes:
    """The slips as one PDF (A4), each order starting on a new page with its own footer
    ("SO-000123 · page 1 of 1"), rendered without any network access."""
    import weasyprint  # imported when needed: it loads Pango and friends
    rendered = [weasyprint.HTML(string=packing_slip_html(slip, seller=seller),
                                base_url=TEMPLATES.as_uri() + "/",
                                url_fetcher=documents._local_fetcher(weasyprint)).render()
                for slip in slips]
    pages = [page for document in rendered for page in document.pages]
    return rendered[0].copy(pages).write_pdf()


def pdf_filename(slips: list[PackingSlip]) -> str:
    if len(slips) == 1:
        return f"{slips[0].order.number}-packing-slip.pdf"
    return f"packing-slips-{clock.today().isoformat()}.pdf"
