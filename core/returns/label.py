"""The return label: a PDF the customer prints and sticks on the parcel, with the RMA
number as a scannable Code 128 barcode (the warehouse scans it to find the return), the
return address (RETURN_ADDRESS) and what the parcel holds.

Rendered like the invoices (core.billing.documents: a plain Jinja template, WeasyPrint
with a fetcher that reaches no network). The barcode is drawn here as inline SVG from
python-barcode's Code 128 modules, so what is printed is exactly what `modules` encodes.
"""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session

from core.billing.documents import Seller, _local_fetcher, address_lines
from core.orders.models import Order
from core.returns.models import ReturnAuthorisation
from core.returns.states import label as status_label

TEMPLATES = Path(__file__).resolve().parent / "templates"
MODULE_MM = 0.38  # the narrowest bar, as scanners like it on a laser print
QUIET_MODULES = 10

environment = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                          autoescape=select_autoescape(["html", "xml"]),
                          undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def modules(text: str) -> str:
    """The Code 128 bars of `text` as a string of 1 (bar) and 0 (space) modules, start,
    check character and stop included."""
    import barcode  # imported when needed

    return barcode.get("code128", text).build()[0]


def barcode_svg(text: str, *, height_mm: float = 18.0) -> Markup:
    """`text` as a Code 128 barcode in inline SVG: one rect per run of bars."""
    bars = modules(text)
    width = (len(bars) + 2 * QUIET_MODULES) * MODULE_MM
    rects, run = [], 0
    for i, bit in enumerate(bars + "0"):
        if bit == "1":
            run += 1
        elif run:
            start = i - run + QUIET_MODULES
            rects.append(f'<rect x="{start * MODULE_MM:.3f}" y="0" width="{run * MODULE_MM:.3f}"'
                         f' height="{height_mm:.1f}"/>')
            run = 0
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Barcode {text}" '
        f'width="{width:.2f}mm" height="{height_mm:.1f}mm" '
        f'viewBox="0 0 {width:.3f} {height_mm:.1f}" class="barcode" data-modules="{bars}">'
        f'<rect width="100%" height="100%" fill="#fff"/><g fill="#000">{"".join(rects)}</g>'
        f'</svg>')


def label_html(rma: ReturnAuthorisation, order: Order, settings) -> str:
    address = tuple(p.strip() for p in settings.RETURN_ADDRESS.split(";") if p.strip())
    return environment.get_template("label.html").render(
        rma=rma, order=order, seller=Seller.from_settings(settings), return_address=address,
        sender=address_lines(order.shipping_address), barcode=barcode_svg(rma.number),
        status=status_label(rma.status))


def label_pdf(session: Session, rma: ReturnAuthorisation, settings) -> bytes:
    """The return label of `rma` as PDF (A6), rendered without any network access."""
    import weasyprint  # imported when needed: it loads Pango and friends

    order = session.get(Order, rma.order_id)
    html = weasyprint.HTML(string=label_html(rma, order, settings),
                           base_url=TEMPLATES.as_uri() + "/",
                           url_fetcher=_local_fetcher(weasyprint))
    return html.write_pdf()


def filename(rma: ReturnAuthorisation) -> str:
    return f"{rma.number}-return-label.pdf"
