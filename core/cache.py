"""Short-lived per-process caches for what every page reads and rarely changes.

Two caches, each off at zero seconds (the tests run with both off):
- `listings`: totals and facets of product listings (LISTING_CACHE_SECONDS). Counting and
  faceting thousands of products is most of a broad listing's cost, and a shopper does not
  notice a count that is seconds old; the products and prices on a page are always fresh.
- `reference`: channels, assortment rules, tax rates, promotions and the category
  navigation (REFERENCE_CACHE_SECONDS). A change made in the console reaches the shop
  within that many seconds; usage limits of promotions are checked again, uncached, when
  an order counts its use.
Values are plain data, never ORM objects bound to a session.
"""
from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


class TTLCache:
    """A bounded dict whose entries live `seconds`."""

    def __init__(self, seconds: float = 0, size: int = 2048):
        self.seconds, self.size = seconds, size
        self._items: dict[tuple, tuple[float, object]] = {}

    def get_or_make(self, key: tuple, make: Callable[[], T]) -> T:
        if self.seconds <= 0:
            return make()
        now = time.monotonic()
        hit = self._items.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]  # type: ignore[return-value]
        value = make()
        if len(self._items) >= self.size:
            self._items = {k: v for k, v in self._items.items() if v[0] > now}
            if len(self._items) >= self.size:
                self._items.clear()
        self._items[key] = (now + self.seconds, value)
        return value

    def configure(self, seconds: float) -> None:
        self.seconds = seconds
        self._items.clear()


listings = TTLCache()
reference = TTLCache()
