"""Quick order: paste SKUs and quantities, upload a CSV or type rows, and add them all.

Open to every visitor, like the cart it fills (a guest's lines go into the guest cart and
join the buyer's cart at sign-in); the header links it for everyone.
"""
from __future__ import annotations

import re
import uuid

from flask import Blueprint, request, session

from core.errors import DomainError
from core.orders import quick_order
from core.orders.cart import MAX_LINES
from core.parsing import parse_int
from core.web.db import db_session
from core.web.htmx import htmx
from core.web.render import render_page
from storefront.cart import current_cart
from storefront.viewer import viewer

bp = Blueprint("quick_order", __name__, url_prefix="/quick-order")
ROWS = 5  # empty rows on a fresh page
DONE_KEY = "quick_orders_added"  # the keys of the last pages whose lines went into the cart
_ROW_FIELD = re.compile(r"(?:sku|qty)-([0-9]{1,4})")


def _rows() -> list[tuple[str, str]]:
    """The rows of SKU and quantity inputs the form sent (sku-N, qty-N), in order."""
    numbers = sorted({int(m.group(1)) for name in request.form
                      if (m := _ROW_FIELD.fullmatch(name))})[:MAX_LINES + 1]
    return [(request.form.get(f"sku-{n}", "")[:200], request.form.get(f"qty-{n}", "")[:40])
            for n in numbers]


def _infos(rows: list[tuple[str, str]]):
    channel, ctx = viewer()
    return quick_order.lookups(db_session, [(sku, parse_int(qty, low=1) or 1)
                                            for sku, qty in rows],
                               channel_id=channel.id, ctx=ctx)


def _page(*, text: str = "", rows: list[tuple[str, str]] | None = None, outcome=None,
          error: str = "", error_field: str = "", block: str | None = None, status: int = 200):
    rows = list(rows or [])
    rows += [("", "")] * max(0, ROWS - len(rows))
    return render_page("quick_order/quick_order.html", block=block, status=status, text=text,
                       rows=rows, infos=_infos(rows), outcome=outcome, error=error,
                       error_field=error_field, max_lines=MAX_LINES, key=uuid.uuid4().hex,
                       max_file=f"{quick_order.MAX_FILE_BYTES / 1_000_000:g} MB")


@bp.get("/")
def show():
    return _page()


@bp.get("/lookup")
def lookup():
    """The name, price and stock of the SKU typed in row `row` (an htmx fragment)."""
    row = parse_int(request.args.get("row"), low=0, high=MAX_LINES) or 0
    sku = request.args.get(f"sku-{row}", "")[:200]
    qty = parse_int(request.args.get(f"qty-{row}"), low=1) or 1
    channel, ctx = viewer()
    info = quick_order.lookups(db_session, [(sku, qty)], channel_id=channel.id, ctx=ctx)[0]
    return render_page("quick_order/quick_order.html", block="lookup", fragment=True, n=row,
                       info=info)


@bp.post("/")
def add():
    text = request.form.get("lines", "")
    rows = _rows()
    if request.form.get("action") == "add_row":  # "Add row" without adding anything
        rows.append(("", ""))
        return _page(text=text, rows=rows, block="rows" if htmx else None)
    key = request.form.get("key", "")[:32]
    if key and key in session.get(DONE_KEY, []):  # the same page sent again (back, reload)
        return _page(error="These lines were added to your cart already: see the cart.",
                     error_field="lines", status=409)
    upload = request.files.get("file")
    channel, ctx = viewer()
    try:
        parsed = quick_order.parse_text(text) + quick_order.parse_rows(rows)
        if upload is not None and upload.filename:
            parsed += quick_order.parse_csv(upload.read(quick_order.MAX_FILE_BYTES + 1))
        if not parsed.rows and not parsed.errors:
            raise quick_order.QuickOrderError("Enter at least one SKU, or choose a CSV file.",
                                              field="lines")
        outcome = quick_order.add_to_cart(db_session, current_cart(create=True), parsed,
                                          channel_id=channel.id, ctx=ctx)
    except DomainError as err:
        db_session.rollback()
        return _page(text=text, rows=rows, error=str(err), error_field=err.field or "lines")
    if outcome.added:
        db_session.commit()
        if key:
            session[DONE_KEY] = [*session.get(DONE_KEY, [])[-9:], key]
    else:  # not even the cart made for it is kept
        db_session.rollback()
    # The lines refused stay in the box and the rows, to be corrected and sent again; those
    # added leave (sent again, they would be added twice).
    left = {(e.source, e.line) for e in outcome.refused}
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    text_left = "\n".join(line for n, line in enumerate(lines, start=1) if ("line", n) in left)
    rows_left = [row for n, row in enumerate(rows, start=1) if ("row", n) in left]
    return _page(text=text_left, rows=rows_left, outcome=outcome)
