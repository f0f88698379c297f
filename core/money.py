"""Money: an exact Decimal amount with an ISO 4217 currency.

Rounding rule: half-up to the currency's minor unit, applied at named points only
(a line total, a tax amount), never on intermediate products.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from core.errors import DomainError

# ISO 4217 minor units (exponent) for the currencies Marketline accepts.
MINOR_UNITS: dict[str, int] = {
    "AUD": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0, "CNY": 2, "CZK": 2,
    "DKK": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2,
    "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "MXN": 2, "NOK": 2, "NZD": 2,
    "OMR": 3, "PLN": 2, "RON": 2, "SEK": 2, "SGD": 2, "TND": 3, "TRY": 2, "UGX": 0,
    "USD": 2, "VND": 0, "XAF": 0, "XOF": 0, "ZAR": 2,
}


class CurrencyError(DomainError):
    code = "currency"


def minor_units(currency: str) -> int:
    """How many decimal places the currency's minor unit has (JPY 0, EUR 2, KWD 3)."""
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise CurrencyError(f"{currency!r} is not a currency Marketline accepts.") from None


def _to_decimal(value: Decimal | int | str) -> Decimal:
    if isinstance(value, float):
        raise TypeError("money amounts are Decimal, int or str, never float")
    try:
        return Decimal(value)
    except (InvalidOperation, ValueError):
        raise DomainError(f"{value!r} is not an amount of money.") from None


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in a currency. Arithmetic needs matching currencies."""

    amount: Decimal
    currency: str

    def __init__(self, amount: Decimal | int | str, currency: str):
        minor_units(currency)
        object.__setattr__(self, "amount", _to_decimal(amount))
        object.__setattr__(self, "currency", currency)

    @classmethod
    def zero(cls, currency: str) -> "Money":
        return cls(Decimal(0), currency)

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> "Money":
        """From an integer count of minor units (cents), as payment gateways speak."""
        if not isinstance(minor, int) or isinstance(minor, bool):
            raise TypeError("minor units are an int")
        return cls(Decimal(minor).scaleb(-minor_units(currency)), currency)

    def to_minor(self) -> int:
        """The amount as an integer count of minor units; it must already be rounded."""
        exponent = minor_units(self.currency)
        scaled = self.amount.scaleb(exponent)
        if scaled != scaled.to_integral_value():
            raise CurrencyError(
                f"{self.amount} {self.currency} has more decimals than the currency allows."
            )
        return int(scaled)

    def rounded(self) -> "Money":
        """Rounded half-up to the currency's minor unit."""
        quantum = Decimal(1).scaleb(-minor_units(self.currency))
        return Money(self.amount.quantize(quantum, rounding=ROUND_HALF_UP), self.currency)

    def _same(self, other: "Money") -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyError(f"cannot combine {self.currency} with {other.currency}.")

    def __add__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> "Money":
        if isinstance(factor, (float, Money)):
            raise TypeError("multiply Money by a Decimal or an int")
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> "Money":
        return Money(-self.amount, self.currency)

    def __lt__(self, other: "Money") -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: "Money") -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return self.currency == other.currency and self.amount == other.amount

    def __hash__(self) -> int:
        return hash((self.amount.normalize(), self.currency))

    def __bool__(self) -> bool:
        return bool(self.amount)

    def format(self) -> str:
        """Human form with the minor unit's places: '1,234.50 EUR'."""
        places = minor_units(self.currency)
        return f"{self.rounded().amount:,.{places}f} {self.currency}"

    def __str__(self) -> str:
        return self.format()
