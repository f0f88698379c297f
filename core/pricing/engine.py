"""The pricing engine's arithmetic: pure functions over loaded facts, no database.

Rules (the ones README's "Pricing rules" section repeats):

1. List price. Candidate lists are those valid on the day, in the channel's currency, whose
   scope fits the buyer: base (everyone), channel, customer group, contract (this customer).
   The most specific list (contract > group > channel > base; then higher priority; then
   lower id) that has a quantity break at or below the quantity wins, and within it the
   largest such break.
2. Price mode. A list holds prices including or excluding tax. When that differs from the
   channel's mode the unit price is converted with the line's tax rate and rounded half-up
   to the currency's minor unit: the unit price shown is the unit price charged.
3. Line amount = unit price x quantity, rounded half-up to the minor unit.
4. Promotions, in the channel's price mode, in priority order (higher first, then lower id).
   An exclusive promotion applies only when nothing applied before it, and then alone;
   combinable ones apply one after another, each on what the lines still cost after the
   earlier ones. Every discount is allocated to lines, in minor units, and never makes a
   line negative; an amount off is spread over the eligible lines in proportion to what
   they cost, remainders by the largest fractional part (then line order).
5. Tax per line, after discounts, rounded half-up to the minor unit:
   prices including tax: tax = gross x rate / (1 + rate), net = gross - tax;
   prices excluding tax: tax = net x rate, gross = net + tax.
   Document totals are sums of lines.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from core import clock
from core.errors import DomainError
from core.money import Money, minor_units

SCOPE_RANK = {"base": 0, "channel": 1, "group": 2, "contract": 3}


class PricingError(DomainError):
    code = "pricing"


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Half-up to the currency's minor unit."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ChannelInfo:
    code: str
    currency: str
    prices_include_tax: bool
    country: str
    default_price_list_id: int | None = None


@dataclass(frozen=True)
class PricingContext:
    """Who buys, where and when: everything besides the lines that decides a price."""

    channel: ChannelInfo
    at: dt.datetime
    customer_id: int | None = None
    customer_group: str | None = None
    country: str = ""
    region: str = ""
    coupon_codes: tuple[str, ...] = ()
    # The buyer's e-mail addresses (lower-cased): a guest's, or a customer's own and the
    # order's. Per-customer usage limits count uses by these too (core.pricing.usage).
    buyer_emails: tuple[str, ...] = ()

    @property
    def day(self) -> dt.date:
        return clock.business_date(self.at)

    @property
    def tax_country(self) -> str:
        return self.country or self.channel.country


@dataclass(frozen=True)
class ListPrice:
    """One quantity break of one price list, as a candidate for a variant."""

    price_list_id: int
    code: str
    name: str
    scope: str
    priority: int
    prices_include_tax: bool
    min_quantity: int
    unit_price: Decimal

    @property
    def rank(self) -> tuple:
        return (SCOPE_RANK[self.scope], self.priority, -self.price_list_id)


@dataclass(frozen=True)
class TaxInfo:
    name: str
    rate: Decimal
    country: str
    region: str = ""


@dataclass(frozen=True)
class PromotionInfo:
    id: int
    name: str
    kind: str
    value: Decimal
    currency: str
    buy_quantity: int = 0
    get_quantity: int = 0
    coupon_code: str | None = None
    channels: tuple[str, ...] = ()
    customer_groups: tuple[str, ...] = ()
    product_ids: frozenset[int] = frozenset()
    category_ids: frozenset[int] = frozenset()
    min_subtotal: Decimal | None = None
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    usage_limit_total: int | None = None
    usage_limit_per_customer: int | None = None
    times_used: int = 0
    used_by_customer: int = 0
    priority: int = 0
    exclusive: bool = False

    @property
    def targets_lines(self) -> bool:
        return bool(self.product_ids or self.category_ids)


@dataclass(frozen=True)
class LineFacts:
    """What the engine needs to know about a variant to price it."""

    variant_id: int
    sku: str
    name: str
    product_id: int
    category_ids: frozenset[int]  # the product's category and its ancestors
    tax: TaxInfo
    candidates: tuple[ListPrice, ...]


@dataclass(frozen=True)
class Allocation:
    promotion_id: int
    name: str
    amount: Decimal


@dataclass(frozen=True)
class LineTrace:
    price_list: str
    price_list_scope: str
    quantity_break: int
    list_unit_price: Decimal
    list_includes_tax: bool
    tax: TaxInfo
    promotions: tuple[Allocation, ...]
    # A contract price: the unit price the best list open to everyone else would charge (in
    # the channel's mode), when it is higher; None when no contract list priced the line.
    list_unit_before_contract: Decimal | None = None

    @property
    def contract(self) -> bool:
        """The line is priced by the buyer's own contract list."""
        return self.price_list_scope == "contract"

    def explain(self, currency: str) -> list[str]:
        """Sentences an agent can read out: why this price."""
        mode = "incl." if self.list_includes_tax else "excl."
        out = [f"Price list {self.price_list} ({self.price_list_scope}): "
               f"{_shown(self.list_unit_price, currency)} {currency} {mode} tax from {self.quantity_break} "
               f"unit{'s' if self.quantity_break != 1 else ''}.",
               f"Tax: {self.tax.name}, {(self.tax.rate * 100).normalize():f} % "
               f"({self.tax.country}{'-' + self.tax.region if self.tax.region else ''})."]
        out += [f"Promotion {a.name}: -{a.amount} {currency}." for a in self.promotions]
        return out


def _shown(amount: Decimal, currency: str) -> str:
    """An amount with the currency's places, or more only when it really has them."""
    places = Decimal(1).scaleb(-minor_units(currency))
    rounded = amount.quantize(places)
    return f"{rounded if rounded == amount else amount.normalize()}"


@dataclass(frozen=True)
class PricedLine:
    variant_id: int
    sku: str
    name: str
    quantity: int
    currency: str
    prices_include_tax: bool
    unit_price: Decimal  # in the channel's mode
    amount: Decimal  # unit x quantity, rounded, before discounts
    discount: Decimal
    net: Decimal
    tax: Decimal
    gross: Decimal
    tax_rate: Decimal
    trace: LineTrace

    @property
    def total(self) -> Decimal:
        """What the line costs in the channel's mode, after discounts."""
        return self.amount - self.discount

    def money(self, value: Decimal) -> Money:
        return Money(value, self.currency)


def _summed(attr: str) -> property:
    """A cart's total of its lines' `attr`, as Money in the cart's currency."""
    def total(cart: PricedCart) -> Money:
        return Money(sum((getattr(line, attr) for line in cart.lines), Decimal(0)), cart.currency)
    return property(total)


@dataclass(frozen=True)
class PricedCart:
    currency: str
    prices_include_tax: bool
    lines: tuple[PricedLine, ...]
    promotions: tuple[Allocation, ...]  # per promotion, summed over lines
    free_shipping: bool
    coupon_problems: tuple[str, ...]

    subtotal = _summed("amount")
    discount_total = _summed("discount")
    net_total = _summed("net")
    tax_total = _summed("tax")
    gross_total = _summed("gross")


# -- 1 and 2: list price ---------------------------------------------------------------

def choose_list_price(candidates: tuple[ListPrice, ...], quantity: int) -> ListPrice:
    """The break that prices `quantity`: most specific list with a break at or below it."""
    usable = [c for c in candidates if c.min_quantity <= quantity]
    if not usable:
        raise PricingError("This item has no price for that quantity; it cannot be sold now.")
    best_rank = max(c.rank for c in usable)
    return max((c for c in usable if c.rank == best_rank), key=lambda c: c.min_quantity)


def unit_price_in_mode(price: ListPrice, tax: TaxInfo, include_tax: bool, currency: str) -> Decimal:
    if price.prices_include_tax == include_tax:
        return price.unit_price
    if include_tax:
        return round_money(price.unit_price * (1 + tax.rate), currency)
    return round_money(price.unit_price / (1 + tax.rate), currency)


def quantity_breaks(facts: LineFacts, ctx: PricingContext) -> list[tuple[int, Decimal]]:
    """The breaks of the list that prices one unit, in the channel's mode: [(from qty, unit)]."""
    chosen = choose_list_price(facts.candidates, 1)
    same_list = sorted((c for c in facts.candidates if c.price_list_id == chosen.price_list_id),
                       key=lambda c: c.min_quantity)
    return [(c.min_quantity, unit_price_in_mode(c, facts.tax, ctx.channel.prices_include_tax,
                                                 ctx.channel.currency)) for c in same_list]


# -- 4: promotions ---------------------------------------------------------------------

@dataclass
class _Work:
    index: int
    facts: LineFacts
    quantity: int
    list_price: ListPrice
    unit: Decimal
    amount: Decimal
    allocations: list[Allocation] = field(default_factory=list)

    @property
    def remaining(self) -> Decimal:
        return self.amount - sum((a.amount for a in self.allocations), Decimal(0))


def coupon_matches(promotion: PromotionInfo, codes: tuple[str, ...]) -> bool:
    return promotion.coupon_code is None or promotion.coupon_code.upper() in {
        c.strip().upper() for c in codes}


def why_not(promotion: PromotionInfo, ctx: PricingContext, subtotal: Decimal,
            eligible: list[_Work]) -> str | None:
    """None when the promotion applies; else the reason, in words a buyer understands."""
    if promotion.starts_at and ctx.at < promotion.starts_at:
        return "has not started yet"
    if promotion.ends_at and ctx.at >= promotion.ends_at:
        return "has ended"
    if promotion.channels and ctx.channel.code not in promotion.channels:
        return "is not valid here"
    if promotion.customer_groups and ctx.customer_group not in promotion.customer_groups:
        return "is not valid for your account"
    if promotion.currency != ctx.channel.currency and promotion.kind in ("amount_off", "fixed_price"):
        return "is not valid in this currency"
    if promotion.usage_limit_total is not None and promotion.times_used >= promotion.usage_limit_total:
        return "has been used up"
    if (promotion.usage_limit_per_customer is not None
            and promotion.used_by_customer >= promotion.usage_limit_per_customer):
        return "has already been used on your account"
    if promotion.min_subtotal is not None and subtotal < promotion.min_subtotal:
        return f"needs a subtotal of at least {promotion.min_subtotal:.2f} {ctx.channel.currency}"
    if not eligible and promotion.kind != "free_shipping":
        return "does not apply to anything in this order"
    if promotion.kind == "buy_x_get_y" and sum(w.quantity for w in eligible) < (
            promotion.buy_quantity + promotion.get_quantity):
        return (f"needs {promotion.buy_quantity + promotion.get_quantity} eligible items")
    return None


def _eligible(promotion: PromotionInfo, work: list[_Work]) -> list[_Work]:
    if not promotion.targets_lines:
        return list(work)
    return [w for w in work if w.facts.product_id in promotion.product_ids
            or w.facts.category_ids & promotion.category_ids]


def _spread(total: Decimal, weights: list[Decimal], currency: str) -> list[Decimal]:
    """Split `total` (already in minor units) over weights, exactly: largest remainder."""
    quantum = Decimal(1).scaleb(-minor_units(currency))
    whole = sum(weights, Decimal(0))
    if whole <= 0:
        return [Decimal(0)] * len(weights)
    raw = [total * w / whole for w in weights]
    shares = [r.quantize(quantum, rounding=ROUND_DOWN) for r in raw]
    leftover = int((total - sum(shares, Decimal(0))) / quantum)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - shares[i]), i))
    for i in order[:leftover]:
        shares[i] += quantum
    return shares


def _discounts(promotion: PromotionInfo, eligible: list[_Work], currency: str) -> list[Decimal]:
    """The discount each eligible line gets from one promotion (before capping)."""
    if promotion.kind == "percent_off":
        return [round_money(w.remaining * promotion.value / 100, currency) for w in eligible]
    if promotion.kind == "amount_off":
        pool = sum((w.remaining for w in eligible), Decimal(0))
        total = min(round_money(promotion.value, currency), pool)
        return _spread(total, [w.remaining for w in eligible], currency)
    if promotion.kind == "fixed_price":
        return [max(Decimal(0), w.remaining - round_money(promotion.value * w.quantity, currency))
                for w in eligible]
    if promotion.kind == "buy_x_get_y":
        return _buy_x_get_y(promotion, eligible, currency)
    return [Decimal(0)] * len(eligible)  # free_shipping discounts no line


def _buy_x_get_y(promotion: PromotionInfo, eligible: list[_Work], currency: str) -> list[Decimal]:
    """Of every X+Y eligible units, the Y cheapest are free."""
    group = promotion.buy_quantity + promotion.get_quantity
    units = sorted(((w.remaining / w.quantity, i) for i, w in enumerate(eligible)
                    for _ in range(w.quantity)))
    free = (len(units) // group) * promotion.get_quantity
    free_per_line = [0] * len(eligible)
    for _, i in units[:free]:
        free_per_line[i] += 1
    return [round_money(w.remaining * n / w.quantity, currency) if n else Decimal(0)
            for w, n in zip(eligible, free_per_line)]


def apply_promotions(work: list[_Work], promotions: list[PromotionInfo], ctx: PricingContext
                     ) -> tuple[bool, list[str]]:
    """Allocate promotions to lines; returns (free shipping, coupon problems)."""
    currency = ctx.channel.currency
    subtotal = sum((w.amount for w in work), Decimal(0))
    ordered = sorted(promotions, key=lambda p: (-p.priority, p.id))
    applied_any, free_shipping, problems = False, False, []
    offered = {c.strip().upper() for c in ctx.coupon_codes if c.strip()}
    known = {p.coupon_code.upper() for p in promotions if p.coupon_code}
    problems += [f"Coupon {code} is not valid." for code in sorted(offered - known)]
    for promotion in ordered:
        if not coupon_matches(promotion, ctx.coupon_codes):
            continue
        eligible = _eligible(promotion, work)
        reason = why_not(promotion, ctx, subtotal, eligible)
        if reason is None and promotion.exclusive and applied_any:
            reason = "cannot be combined with the discounts already applied"
        if reason is not None:
            if promotion.coupon_code:
                problems.append(f"Coupon {promotion.coupon_code} {reason}.")
            continue
        for w, amount in zip(eligible, _discounts(promotion, eligible, currency)):
            amount = min(amount, w.remaining)
            if amount > 0:
                w.allocations.append(Allocation(promotion.id, promotion.name, amount))
        free_shipping |= promotion.kind == "free_shipping"
        applied_any = True
        if promotion.exclusive:
            break
    return free_shipping, problems


# -- 5: tax and the result --------------------------------------------------------------

def _finish(w: _Work, ctx: PricingContext) -> PricedLine:
    currency = ctx.channel.currency
    discount = w.amount - w.remaining
    rate = w.facts.tax.rate
    if ctx.channel.prices_include_tax:
        gross = w.remaining
        tax = round_money(gross * rate / (1 + rate), currency)
        net = gross - tax
    else:
        net = w.remaining
        tax = round_money(net * rate, currency)
        gross = net + tax
    trace = LineTrace(price_list=w.list_price.name, price_list_scope=w.list_price.scope,
                      quantity_break=w.list_price.min_quantity,
                      list_unit_price=w.list_price.unit_price,
                      list_includes_tax=w.list_price.prices_include_tax, tax=w.facts.tax,
                      promotions=tuple(w.allocations),
                      list_unit_before_contract=_before_contract(w, ctx))
    return PricedLine(variant_id=w.facts.variant_id, sku=w.facts.sku, name=w.facts.name,
                      quantity=w.quantity, currency=currency,
                      prices_include_tax=ctx.channel.prices_include_tax, unit_price=w.unit,
                      amount=w.amount, discount=discount, net=net, tax=tax, gross=gross,
                      tax_rate=rate, trace=trace)


def _before_contract(w: _Work, ctx: PricingContext) -> Decimal | None:
    """What the line's unit would cost without the buyer's contract lists, when more."""
    if w.list_price.scope != "contract":
        return None
    others = tuple(c for c in w.facts.candidates if c.scope != "contract")
    try:
        other = choose_list_price(others, w.quantity)
    except PricingError:
        return None
    unit = unit_price_in_mode(other, w.facts.tax, ctx.channel.prices_include_tax,
                              ctx.channel.currency)
    return unit if unit > w.unit else None


def _work(index: int, facts: LineFacts, quantity: int, ctx: PricingContext) -> _Work:
    if quantity < 1:
        raise PricingError("Quantity must be at least 1.", field="quantity")
    chosen = choose_list_price(facts.candidates, quantity)
    unit = unit_price_in_mode(chosen, facts.tax, ctx.channel.prices_include_tax,
                              ctx.channel.currency)
    amount = round_money(unit * quantity, ctx.channel.currency)
    return _Work(index, facts, quantity, chosen, unit, amount)


def price(ctx: PricingContext, lines: list[tuple[LineFacts, int]],
          promotions: list[PromotionInfo]) -> PricedCart:
    """Price lines together (a cart or an order): promotions see all of them at once."""
    work = [_work(i, facts, qty, ctx) for i, (facts, qty) in enumerate(lines)]
    free_shipping, problems = apply_promotions(work, promotions, ctx)
    priced = tuple(_finish(w, ctx) for w in work)
    totals: dict[int, Allocation] = {}
    for w in work:
        for a in w.allocations:
            prior = totals.get(a.promotion_id)
            totals[a.promotion_id] = a if prior is None else replace(prior, amount=prior.amount + a.amount)
    return PricedCart(ctx.channel.currency, ctx.channel.prices_include_tax, priced,
                      tuple(totals.values()), free_shipping, tuple(problems))
