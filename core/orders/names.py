"""The names of reference codes, for people: channels, price lists, shipping methods and
payment terms as named in the database (`Channel.name` ...), not as the code stores them.

One query reads all three tables (a UNION ALL), kept in the reference cache
(REFERENCE_CACHE_SECONDS) like the channels the shop reads on every page; a page that names
codes asks once, whatever number of rows it shows.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import literal, select, union_all
from sqlalchemy.orm import Session

from core import cache
from core.catalog.models import Channel
from core.customers.services import PAYMENT_TERMS
from core.labels import code_label
from core.orders.shipping import ShippingMethod
from core.pricing.models import PriceList


@dataclass(frozen=True)
class Names:
    channels: dict[str, str] = field(default_factory=dict)
    price_lists: dict[str, str] = field(default_factory=dict)
    shipping_methods: dict[str, str] = field(default_factory=dict)

    def channel(self, code: str | None) -> str:
        return self.channels.get(code or "") or code_label(code)

    def price_list(self, code: str | None) -> str:
        return self.price_lists.get(code or "") or code_label(code)

    def shipping_method(self, code: str | None) -> str:
        return self.shipping_methods.get(code or "") or code_label(code)

    @staticmethod
    def terms(code: str | None) -> str:
        return PAYMENT_TERMS.get(code or "") or code_label(code)


def _read(session: Session) -> Names:
    rows = session.execute(union_all(
        select(literal("channel"), Channel.code, Channel.name),
        select(literal("price_list"), PriceList.code, PriceList.name),
        select(literal("shipping"), ShippingMethod.code, ShippingMethod.name)))
    found: dict[str, dict[str, str]] = {"channel": {}, "price_list": {}, "shipping": {}}
    for kind, code, name in rows:
        found[kind][code] = name
    return Names(found["channel"], found["price_list"], found["shipping"])


def reference_names(session: Session) -> Names:
    """Every channel's, price list's and shipping method's name by its code."""
    return cache.reference.get_or_make(("names",), lambda: _read(session))
