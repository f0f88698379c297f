"""Shipping methods and their rates: flat, by weight, free above a threshold."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import JSON, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Amount, Base
from core.errors import DomainError
from core.pricing.engine import PricedCart, PricingContext, round_money


class ShippingMethod(Base):
    __tablename__ = "shipping_methods"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10), default="flat")  # flat | weight
    price: Mapped[Decimal] = mapped_column(Amount())  # incl. tax; base price for "weight"
    per_kg: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    free_above: Mapped[Decimal | None] = mapped_column(Amount())  # order gross at or above
    transit_days: Mapped[int] = mapped_column(default=2)
    countries: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: everywhere
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class ShippingError(DomainError):
    code = "shipping"


@dataclass(frozen=True)
class ShippingQuote:
    code: str
    name: str
    gross: Decimal
    net: Decimal
    tax: Decimal
    transit_days: int

    @property
    def shown(self) -> Decimal:
        return self.gross


def methods_for(session: Session, *, country: str, channel_code: str) -> list[ShippingMethod]:
    rows = session.scalars(select(ShippingMethod).where(ShippingMethod.active)
                           .order_by(ShippingMethod.position, ShippingMethod.id)).all()
    return [m for m in rows if (not m.countries or country in m.countries)
            and (not m.channels or channel_code in m.channels)]


def quote(method: ShippingMethod, *, ctx: PricingContext, goods_gross: Decimal,
          weight_grams: int, free_shipping: bool, tax_rate: Decimal) -> ShippingQuote:
    """The method's charge for these goods, taxed at the standard rate of the destination.

    Rates are set including tax; a channel that shows prices excluding tax charges the
    same gross amount.
    """
    currency = ctx.channel.currency
    gross = method.price
    if method.kind == "weight":
        kilos = (Decimal(weight_grams) / 1000).to_integral_value(rounding="ROUND_CEILING")
        gross = method.price + method.per_kg * kilos
    if free_shipping or (method.free_above is not None and goods_gross >= method.free_above):
        gross = Decimal(0)
    gross = round_money(gross, currency)
    tax = round_money(gross * tax_rate / (1 + tax_rate), currency)
    return ShippingQuote(method.code, method.name, gross, gross - tax, tax, method.transit_days)


def choose(session: Session, code: str, *, country: str, channel_code: str) -> ShippingMethod:
    method = next((m for m in methods_for(session, country=country, channel_code=channel_code)
                   if m.code == code), None)
    if method is None:
        raise ShippingError("Choose a shipping method available for this address.",
                            field="shipping_method")
    return method



def lowest_charge(session: Session, *, ctx: PricingContext, priced: PricedCart
                  ) -> ShippingQuote | None:
    """The cheapest method's quote for a priced cart to the buyer's country, weight aside (a
    cart says "Shipping from ..." before the checkout knows the address), taxed as the
    checkout taxes shipping (the highest rate of the goods); None when no method ships
    there. One query."""
    methods = methods_for(session, country=ctx.tax_country, channel_code=ctx.channel.code)
    rate = max((line.tax_rate for line in priced.lines), default=Decimal(0))
    return min((quote(m, ctx=ctx, goods_gross=priced.gross_total.amount, weight_grams=0,
                      free_shipping=priced.free_shipping, tax_rate=rate) for m in methods),
               key=lambda q: q.gross, default=None)
