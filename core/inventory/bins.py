"""Bin locations: where a variant's units sit on a warehouse's shelves ("A-03-2").

The warehouse keeps them as free text on the stock row (StockLevel.bin_location). The pick
list walks the shelves in bin order, numbers compared as numbers ("A-2" before "A-10"), rows
without a bin last; the packing slip prints each line's bin.
"""
from __future__ import annotations

import re

from sqlalchemy.orm import Session

from core import audit
from core.errors import InvalidInput
from core.inventory.models import StockLevel
from core.inventory.services import lock_level

MAX_LENGTH = 20
BIN = re.compile(r"[^\W_][\w .#/-]*")
CHUNKS = re.compile(r"(\d+)")


def check_bin(raw: str | None) -> str:
    """The bin as typed, spaces at the ends and doubled inside left out; "" clears it."""
    found = " ".join((raw or "").split())
    if not found:
        return ""
    if len(found) > MAX_LENGTH:
        raise InvalidInput(f"A bin has at most {MAX_LENGTH} characters, like A-03-2.",
                           field="bin_location")
    if not BIN.fullmatch(found):
        raise InvalidInput("A bin starts with a letter or digit and has letters, digits, "
                           "spaces and - . / #, like A-03-2.", field="bin_location")
    return found


def walking_key(bin_location: str | None) -> tuple:
    """Sort key of a bin in walking order: numbers as numbers ("A-2" before "A-10"), letters
    regardless of case, no bin last."""
    text = (bin_location or "").strip()
    if not text:
        return (1, ())
    # re.split with a group: the digit runs are at the odd places.
    parts = tuple((0, int(chunk), "") if i % 2 else (1, 0, chunk.casefold())
                  for i, chunk in enumerate(CHUNKS.split(text)) if chunk)
    return (0, parts)


def set_bin(session: Session, *, variant_id: int, warehouse: str, bin_location: str | None,
            actor: audit.Actor) -> StockLevel:
    """Say where the variant's units sit in the warehouse (an empty bin clears it). Makes the
    stock row if the variant has none there yet. Flushes; the caller commits."""
    found = check_bin(bin_location)
    level = lock_level(session, variant_id, warehouse)
    if level.bin_location != found:
        audit.record(session, "stock.bin_set", actor=actor, channel="console", subject=level,
                     data={"warehouse": warehouse, "from": level.bin_location, "to": found})
        level.bin_location = found
    session.flush()
    return level
