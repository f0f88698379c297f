"""VAT identification numbers of business customers: checked offline (format and check
digits, python-stdnum), kept compact ('DE 129 753 100' -> 'DE129753100')."""
from __future__ import annotations

from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError

from core.errors import InvalidInput

MAX_LENGTH = 30


def clean_vat_id(value: str | None, *, field: str = "vat_id") -> str:
    """The VAT id compacted and upper-cased, '' for none; InvalidInput at `field` when it is
    not a valid EU VAT id (no VIES look-up: only what the number itself says)."""
    text = (value or "").strip()
    if not text:
        return ""
    try:
        compact = eu_vat.compact(text).upper()
    except ValidationError:  # not even a country prefix it knows
        compact = ""
    if not compact or len(compact) > MAX_LENGTH or not eu_vat.is_valid(compact):
        raise InvalidInput("Enter a valid EU VAT ID with its country prefix, like "
                           "DE129753100.", field=field)
    return compact
