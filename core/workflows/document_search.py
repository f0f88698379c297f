"""A document number typed into a console search box: the order, invoice, return or quote
it names, so the search opens the document instead of listing its customer.

Exact numbers only, in any case and with stray spaces ("so-000017", " INV-000003 ",
"RMA - 000002"); a short number is padded like the series pads it ("SO-17" is SO-000017).
One query, by the document's unique number, and only when the text has a prefix.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.billing.models import Invoice
from core.numbering import PREFIXES
from core.orders.models import Order
from core.quotes.models import Quote
from core.returns.models import ReturnAuthorisation

# Kind of document, by the series its number is from; the kinds the console links (its
# `LINKS`) use the same names.
KINDS = {"order": Order, "invoice": Invoice, "return": ReturnAuthorisation, "quote": Quote}
LABELS = {"order": "order", "invoice": "invoice", "return": "return", "quote": "quote"}
_BY_PREFIX = {PREFIXES[kind].rstrip("-").upper(): kind for kind in KINDS}
_NUMBER = re.compile(r"^\s*([A-Za-z]{2,3})\s*-?\s*(\d{1,9})\s*$")


@dataclass(frozen=True)
class DocumentRef:
    """A document number as typed, made exact: its kind and its number."""

    kind: str
    number: str

    @property
    def label(self) -> str:
        return LABELS[self.kind]


def parse_document_number(text: str) -> DocumentRef | None:
    """'so-17' -> order SO-000017; None when the text is no document number of a kind
    the console opens."""
    match = _NUMBER.match(text or "")
    if match is None:
        return None
    kind = _BY_PREFIX.get(match.group(1).upper())
    if kind is None:
        return None
    return DocumentRef(kind, f"{PREFIXES[kind]}{int(match.group(2)):06d}")


def find_document(session: Session, text: str) -> DocumentRef | None:
    """The document the text names, if it exists (one query; none for other text)."""
    ref = parse_document_number(text)
    if ref is None:
        return None
    model = KINDS[ref.kind]
    found = session.scalar(select(model.number).where(model.number == ref.number))
    return ref if found is not None else None
