"""Quick order: SKUs and quantities pasted, uploaded as CSV or typed in rows, added at once.

What a line means (the page says so too):

* one item a line: a SKU, then the quantity, separated by spaces, tabs, commas or
  semicolons (what a spreadsheet puts on the clipboard, or a CSV line); quotes around a
  cell are dropped, and so are empty cells (two tabs in a row);
* a line with only a SKU orders **one** unit (as Dynamics 365's quick order does);
* blank lines are skipped; a first line that names its columns (``sku,quantity``,
  ``Item;Qty``) is a header and skipped; so is a spreadsheet's apostrophe in front of a cell;
* the same SKU on several lines is **merged**: its quantities are added together into one
  cart line, and the page says which lines were merged;
* at most MAX_LINES (500) items: the lines after the 500th are refused one by one.

Line numbers count every line of the text or file (blank ones too), as an editor shows
them, so a refused line is easy to find. SKUs match whatever their case.

Parsing never raises; everything refused comes back as a LineError with its number and
reason. Adding goes through core.orders.cart.add_many: each line is added whole or not at
all, and the lines that can be added are, in a fixed number of queries for 5 or 500 lines.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from core.catalog.assortment import sellable
from core.catalog.models import Product, Variant
from core.errors import DomainError
from core.orders.cart import MAX_LINE_QUANTITY, MAX_LINES, AddResult, add_many
from core.orders import promises as promising
from core.orders.models import Cart
from core.pricing import services as pricing
from core.pricing.engine import PricedLine, PricingContext, PricingError
from core.spreadsheet import restore

MAX_TEXT_CHARS = 100_000  # 500 lines of SKU and quantity fit many times over
MAX_FILE_BYTES = 1_000_000
MAX_SKU_LENGTH = 64  # Variant.sku's column
SHOWN_LINE = 80  # a refused line is quoted up to this many characters

_SEPARATORS = re.compile(r"[ \t,;\u00a0]+")
_SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/+#-]*")
_WHOLE = re.compile(r"[+-]?[0-9]{1,18}")
_HEADER_WORDS = {"sku", "skus", "item", "items", "item number", "article", "part",
                 "part number", "product", "code", "product code", "artikel", "artikelnummer"}
_QUANTITY_WORDS = {"qty", "quantity", "quantities", "amount", "units", "menge", "anzahl", "count"}


class QuickOrderError(DomainError):
    code = "quick_order"


SOURCES = {"line": "Line", "file": "File line", "row": "Row"}  # pasted text, CSV, rows


@dataclass(frozen=True)
class Row:
    line: int
    sku: str
    quantity: int
    source: str = "line"

    @property
    def label(self) -> str:
        return f"{SOURCES[self.source]} {self.line}"


@dataclass(frozen=True)
class LineError:
    line: int
    text: str  # the line as given, shortened
    reason: str
    source: str = "line"

    @property
    def label(self) -> str:
        return f"{SOURCES[self.source]} {self.line}"

    @property
    def order(self) -> tuple[int, int]:
        return list(SOURCES).index(self.source), self.line


@dataclass(frozen=True)
class Parsed:
    rows: tuple[Row, ...]
    errors: tuple[LineError, ...]

    def __add__(self, other: Parsed) -> Parsed:
        return Parsed(self.rows + other.rows, self.errors + other.errors)


EMPTY = Parsed((), ())


def _shown(text: str) -> str:
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return text if len(text) <= SHOWN_LINE else text[:SHOWN_LINE - 1] + "…"


def _cell(text: str) -> str:
    text = text.strip().strip('"').strip()
    return restore(text) if text.startswith("'") else text


def _is_header(cells: list[str]) -> bool:
    words = [c.strip().lower() for c in cells]
    return bool(words) and words[0] in _HEADER_WORDS and all(
        w in _QUANTITY_WORDS or w in _HEADER_WORDS or not _WHOLE.fullmatch(w) for w in words[1:])


def read_quantity(text: str) -> tuple[int | None, str]:
    """(quantity, "") or (None, why not) for a quantity as typed."""
    raw = text.strip()
    if not _WHOLE.fullmatch(raw):
        return None, f"“{_shown(raw)}” is not a whole number."
    value = int(raw)
    if value < 1:
        return None, "The quantity must be at least 1."
    if value > MAX_LINE_QUANTITY:
        return None, f"The quantity is too large: at most {MAX_LINE_QUANTITY} a line."
    return value, ""


def _entry(number: int, text: str, cells: list[str], source: str) -> Row | LineError:
    """One non-blank line's cells read as SKU and quantity."""
    if len(cells) > 2:
        return LineError(number, _shown(text),
                         "Write a SKU and a quantity only, like PAP-A4-80 10.", source)
    sku = cells[0]
    if len(sku) > MAX_SKU_LENGTH or not _SKU.fullmatch(sku):
        return LineError(number, _shown(text), f"Unknown SKU “{_shown(sku)}”.", source)
    if len(cells) == 1:
        return Row(number, sku, 1, source)
    quantity, problem = read_quantity(cells[1])
    if quantity is None:
        return LineError(number, _shown(text), problem, source)
    return Row(number, sku, quantity, source)


def _collect(lines, source: str = "line") -> Parsed:
    """(line number, raw text, cells) triples, blank ones included, to rows and errors."""
    rows, errors, entries = [], [], 0
    for number, text, cells in lines:
        cells = [c for c in cells if c]
        if not cells or (entries == 0 and not rows and not errors and _is_header(cells)):
            continue
        entries += 1
        if entries > MAX_LINES:
            errors.append(LineError(number, _shown(text), _OVER, source))
            continue
        found = _entry(number, text, cells, source)
        (rows if isinstance(found, Row) else errors).append(found)
    return Parsed(tuple(rows), tuple(errors))


_OVER = f"Over the {MAX_LINES}-line limit: order these in a second quick order."


def parse_text(text: str | None) -> Parsed:
    """Pasted text: one SKU and quantity a line (see the module's notes)."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > MAX_TEXT_CHARS:
        raise QuickOrderError(f"Paste at most {MAX_TEXT_CHARS:,} characters "
                              f"({MAX_LINES} lines of SKU and quantity).", field="lines")
    return _collect((n, line, [_cell(c) for c in _SEPARATORS.split(line)])
                    for n, line in enumerate(text.split("\n"), start=1))


def decode_upload(data: bytes) -> str:
    """An uploaded file's text: UTF-8 (a byte-order mark allowed) and not huge."""
    if len(data) > MAX_FILE_BYTES:
        raise QuickOrderError(f"The file is too large: upload at most "
                              f"{MAX_FILE_BYTES / 1_000_000:g} MB.", field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise QuickOrderError("The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it "
                              "again.", field="file") from None
    if "\x00" in text:
        raise QuickOrderError("That is not a CSV file: save the sheet as CSV and upload it again.",
                              field="file")
    return text


def parse_csv(data: bytes) -> Parsed:
    """An uploaded CSV: a SKU column and a quantity column (the first two, or those a header
    row names), separated by commas, semicolons or tabs."""
    text = decode_upload(data)
    sample = text[:4096]
    delimiter = max((",", ";", "\t"), key=sample.count) if sample.strip() else ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    sku_at, qty_at, start = 0, 1, 0
    first = next((i for i, r in enumerate(rows) if any(c.strip() for c in r)), None)
    if first is not None:
        names = [c.strip().lower() for c in rows[first]]
        if any(n in _HEADER_WORDS for n in names):
            sku_at = next(i for i, n in enumerate(names) if n in _HEADER_WORDS)
            qty_at = next((i for i, n in enumerate(names) if n in _QUANTITY_WORDS), None)
            start = first + 1

    def cells(row: list[str]) -> list[str]:
        row = [_cell(c) for c in row]
        if start == 0:
            return row
        picked = [row[sku_at] if sku_at < len(row) else ""]
        if qty_at is not None and qty_at < len(row) and row[qty_at]:
            picked.append(row[qty_at])
        return picked if picked[0] else [c for c in picked if c]

    # csv.reader keeps a quoted cell's line breaks: a row's number is the line it starts on.
    numbered, line = [], 1
    for i, row in enumerate(rows):
        if i >= start:
            numbered.append((line, delimiter.join(row), cells(row)))
        line += 1 + sum(c.count("\n") for c in row)
    return _collect(numbered, "file")


def parse_rows(pairs: list[tuple[str, str]]) -> Parsed:
    """The page's rows of SKU and quantity inputs (row numbers from 1); an empty
    quantity is one, an empty row is skipped."""
    lines = []
    for number, (sku, quantity) in enumerate(pairs, start=1):
        sku, quantity = _cell(sku or ""), (quantity or "").strip()
        if not sku and not quantity:
            continue
        if not sku:
            lines.append((number, quantity, ["", quantity]))
            continue
        lines.append((number, f"{sku} {quantity}".strip(), [sku, quantity] if quantity else [sku]))
    rows, errors = [], []
    for number, text, cells in lines:
        if not cells[0]:
            errors.append(LineError(number, _shown(text), "Enter the SKU for this quantity.",
                                    "row"))
            continue
        found = _entry(number, text, cells, "row")
        (rows if isinstance(found, Row) else errors).append(found)
    if len(rows) > MAX_LINES:
        errors += [LineError(r.line, f"{r.sku} {r.quantity}", _OVER, "row")
                   for r in rows[MAX_LINES:]]
        rows = rows[:MAX_LINES]
    return Parsed(tuple(rows), tuple(errors))


# -- resolving SKUs and adding --------------------------------------------------------------

@dataclass(frozen=True)
class Match:
    variant_id: int
    sku: str  # as the catalogue spells it
    sold: bool  # active and in the channel's assortment


def resolve(session: Session, skus, channel_id: int) -> dict[str, Match]:
    """{upper-case SKU: Match} for those that exist, in one query."""
    wanted = sorted({s.upper() for s in skus})
    if not wanted:
        return {}
    sold = case((Variant.active & sellable(session, channel_id), True), else_=False)
    rows = session.execute(
        select(Variant.id, Variant.sku, sold)
        .join(Product, Product.id == Variant.product_id)
        .where(func.upper(Variant.sku).in_(wanted)))
    return {sku.upper(): Match(vid, sku, bool(ok)) for vid, sku, ok in rows}


@dataclass(frozen=True)
class AddedLine:
    lines: tuple[str, ...]  # the lines merged into it ("Line 3", "Row 2")
    sku: str
    name: str
    quantity: int
    line_quantity: int  # in the cart now


@dataclass(frozen=True)
class Outcome:
    added: tuple[AddedLine, ...]
    refused: tuple[LineError, ...]  # by line number
    merged: tuple[str, ...]  # notes on SKUs given on several lines

    @property
    def units(self) -> int:
        return sum(a.quantity for a in self.added)


def _merge(rows: tuple[Row, ...], matches: dict[str, Match]
           ) -> tuple[dict[int, list[Row]], list[LineError]]:
    """Rows grouped by variant (first-seen order), and the rows whose SKU is no good."""
    groups: dict[int, list[Row]] = {}
    errors = []
    for row in rows:
        match = matches.get(row.sku.upper())
        if match is None:
            errors.append(LineError(row.line, f"{row.sku} {row.quantity}",
                                    f"Unknown SKU “{row.sku}”.", row.source))
        elif not match.sold:
            errors.append(LineError(row.line, f"{row.sku} {row.quantity}",
                                    f"{match.sku} is not in your catalogue.", row.source))
        else:
            groups.setdefault(match.variant_id, []).append(row)
    return groups, errors


def add_to_cart(session: Session, cart: Cart, parsed: Parsed, *, channel_id: int,
                ctx: PricingContext) -> Outcome:
    """Add the parsed lines whose SKU the buyer may order; report the others by line."""
    rows, errors = parsed.rows[:MAX_LINES], []
    errors += [LineError(r.line, f"{r.sku} {r.quantity}", _OVER, r.source)
               for r in parsed.rows[MAX_LINES:]]  # pasted and uploaded together
    matches = resolve(session, [r.sku for r in rows], channel_id)
    groups, refused = _merge(rows, matches)
    errors += refused
    merged = []
    for group in groups.values():
        quantity = sum(r.quantity for r in group)
        if len(group) > 1:
            numbers = (", ".join(r.label.lower() for r in group[:-1])
                       + f" and {group[-1].label.lower()}")
            merged.append(f"{matches[group[0].sku.upper()].sku} is on {numbers}: "
                          f"the quantities were added together ({quantity}).")
        if quantity > MAX_LINE_QUANTITY:  # merged lines over a line's maximum
            errors += [LineError(r.line, f"{r.sku} {r.quantity}",
                                 f"Together with the other lines of {r.sku} this is more than "
                                 f"{MAX_LINE_QUANTITY} units.", r.source) for r in group]
    items = [(vid, sum(r.quantity for r in rows)) for vid, rows in groups.items()
             if sum(r.quantity for r in rows) <= MAX_LINE_QUANTITY]
    # Quick order's lines are typed by SKU: a refusal says "Name (SKU)".
    result: AddResult = add_many(session, cart, channel_id=channel_id, ctx=ctx, items=items,
                                 with_sku=True)
    added = tuple(AddedLine(tuple(r.label for r in groups[a.variant_id]), a.sku, a.name,
                            a.quantity, a.line_quantity) for a in result.added)
    for refusal in result.refused:
        errors += [LineError(r.line, f"{r.sku} {r.quantity}", refusal.reason, r.source)
                   for r in groups[refusal.variant_id]]
    errors += list(parsed.errors)
    return Outcome(added, tuple(sorted(errors, key=lambda e: e.order)), tuple(merged))


# -- one SKU, as a row is typed -------------------------------------------------------------

@dataclass(frozen=True)
class Lookup:
    sku: str
    problem: str = ""  # when it cannot be ordered
    name: str = ""
    price: PricedLine | None = None
    available: int = 0
    promise: str = ""  # when the row's quantity would ship (core.orders.promises.describe)


def lookups(session: Session, rows: list[tuple[str, int]], *, channel_id: int,
            ctx: PricingContext) -> list[Lookup | None]:
    """What each row's SKU is (name, the buyer's price for the row's quantity, stock), or
    None for an empty row; for any number of rows in a fixed number of queries."""
    cleaned = [(_cell(sku or ""), min(max(qty, 1), MAX_LINE_QUANTITY)) for sku, qty in rows]
    good = [s for s, _ in cleaned if s and len(s) <= MAX_SKU_LENGTH and _SKU.fullmatch(s)]
    matches = resolve(session, good, channel_id)
    sold = {}
    for sku, qty in cleaned:
        match = matches.get(sku.upper())
        if match is not None and match.sold:
            sold[match.variant_id] = max(qty, sold.get(match.variant_id, 0))
    items = list(sold.items())
    try:
        prices = pricing.price_items(session, ctx, items) if items else {}
    except PricingError:
        prices = {}
    promises = promising.for_lines(session, ctx, items)
    stock = {vid: max(p.available, 0) for vid, p in promises.items()}
    found: list[Lookup | None] = []
    for sku, qty in cleaned:
        match = matches.get(sku.upper()) if sku else None
        if not sku:
            found.append(None)
        elif match is None:
            found.append(Lookup(sku[:MAX_SKU_LENGTH], problem="Unknown SKU."))
        elif not match.sold:
            found.append(Lookup(match.sku, problem="Not in your catalogue."))
        elif (price := prices.get(match.variant_id)) is None:
            found.append(Lookup(match.sku, problem="No price at the moment.", name=match.sku,
                                available=stock.get(match.variant_id, 0)))
        else:
            found.append(Lookup(match.sku, name=price.name, price=price,
                                available=stock.get(match.variant_id, 0),
                                promise=promising.describe(promises.get(match.variant_id))))
    return found
