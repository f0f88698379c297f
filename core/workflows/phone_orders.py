"""Phone orders: an agent enters lines for a customer, may change prices, and places the order.

The customer is priced exactly as the web shop prices them (web-b2b for a company, web-b2c
for a person: the same price lists, promotions and tax), so a price quoted on the phone is
the price seen online; the order is recorded as coming through the call center, placed by
the agent. Overrides beyond the agent's limit put the order on an approval hold.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core import audit, clock, events
from core.agents.models import Agent
from core.billing import prepayments
from core.catalog.assortment import sellable
from core.catalog.models import Channel, Product, ProductRelation, Variant
from core.credit import checks as credit_checks
from core.customers.addresses import validate_address
from core.customers.models import Customer, CustomerAddress
from core.db import utcnow
from core.errors import DomainError, NotFound
from core.inventory import services as inventory
from core.orders import promises as promising
from core.money import Money
from core.orders import services as orders
from core.orders import discounts, shipping
from core.orders.models import Order, OrderHold
from core.payments.gateway import PaymentGateway
from core.pricing import services as pricing
from core.pricing.engine import PricedCart, PricedLine, PricingContext
from core.workflows import card_payments

CHANNEL = "callcenter"  # what phone orders are attributed to
B2C, B2B = "web-b2c", "web-b2b"  # what their customers are priced in
PAYMENT_METHODS = {"card": "Card by phone", "pay_link": "Pay-by-link e-mail",
                   "on_account": "On account"}
REASONS = orders.OVERRIDE_REASONS
SUGGESTION_KINDS = {"cross_sell": "Goes with", "up_sell": "Upgrade", "accessory": "Accessory"}
PriceOverride = orders.PriceOverride


class PhoneOrderError(DomainError):
    code = "phone_order"


# -- who, where, how much may be given ----------------------------------------------------
# The limits and the check live in core.orders.discounts, shared with line changes.
DiscountLimits = discounts.DiscountLimits
discount_limit = discounts.discount_limit
discount_percent = discounts.discount_percent
beyond_limit = discounts.beyond_limit


def find_customer(session: Session, number: str) -> Customer:
    customer = session.scalar(select(Customer).where(Customer.number == number.strip().upper()))
    if customer is None:
        raise NotFound("There is no customer with that number.")
    return customer


def addresses(session: Session, customer: Customer) -> list[CustomerAddress]:
    """The customer's address book, the default shipping address first."""
    return list(session.scalars(select(CustomerAddress)
                                .where(CustomerAddress.customer_id == customer.id)
                                .order_by(CustomerAddress.default_shipping.desc(),
                                          CustomerAddress.id)))


def pricing_channel(session: Session, customer: Customer) -> Channel:
    """The web channel whose prices the customer sees online."""
    return pricing.get_channel(session, B2B if customer.is_company else B2C)


def entry_context(session: Session, customer: Customer, *, coupon_codes: Sequence[str] = (),
                  address: Mapping[str, str] | None = None) -> tuple[Channel, PricingContext]:
    """(channel, pricing context) of the customer as the web shop's checkout builds them."""
    channel = pricing_channel(session, customer)
    ctx = pricing.make_context(channel, customer=customer, coupon_codes=coupon_codes)
    if address and address.get("country"):  # tax follows the goods, as at checkout
        ctx = replace(ctx, country=address["country"], region=address.get("region", ""))
    return channel, ctx


# -- overrides as kept between requests ---------------------------------------------------

def parse_override(raw: Mapping) -> PriceOverride:
    """An override from its stored form: {"reason", "unit_price" | "percent"} as strings."""
    def number(key):
        try:
            return Decimal(str(raw[key])) if raw.get(key) not in (None, "") else None
        except InvalidOperation:
            raise PhoneOrderError("That price change is not a number.", field=key) from None
    override = PriceOverride(reason=str(raw.get("reason", "")), unit_price=number("unit_price"),
                             percent=number("percent"))
    if override.reason not in REASONS:
        raise PhoneOrderError("Choose a reason for the price change.", field="reason")
    if (override.unit_price is None) == (override.percent is None):
        raise PhoneOrderError("Enter either a new unit price or a discount in percent.",
                              field="unit_price")
    if override.unit_price is not None and override.unit_price < 0:
        raise PhoneOrderError("A unit price cannot be negative.", field="unit_price")
    if override.percent is not None and not 0 < override.percent <= 100:
        raise PhoneOrderError("Enter a discount from 0.01 to 100 %.", field="percent")
    return override


def stored_override(override: PriceOverride) -> dict[str, str]:
    return {"reason": override.reason,
            **({"unit_price": str(override.unit_price)} if override.unit_price is not None else {}),
            **({"percent": str(override.percent)} if override.percent is not None else {})}


def parse_overrides(raw: Mapping[str, Mapping] | None) -> dict[int, PriceOverride]:
    return {int(vid): parse_override(value) for vid, value in (raw or {}).items()}


# -- the entry screen's prices --------------------------------------------------------------

@dataclass(frozen=True)
class PhoneLine:
    priced: PricedLine
    product_id: int
    list_unit: Decimal  # the price list's unit price, before any override
    override: PriceOverride | None
    discount_percent: Decimal  # of the override, off the list price
    over_limit: bool
    available: int
    promised: dt.date | None
    explanation: tuple[str, ...]
    promise: inventory.Promise | None = None  # when the line ships (available-to-promise)

    @property
    def variant_id(self) -> int:
        return self.priced.variant_id

    @property
    def in_stock(self) -> bool:
        if self.promise is not None:
            return self.promise.in_stock or self.promise.source == "supplier"
        return self.available >= self.priced.quantity

    @property
    def promisable(self) -> bool:
        """Placing the order can take the line: in stock, backordered or drop-shipped."""
        return self.promise is None or self.promise.promisable

    @property
    def promise_text(self) -> str:
        return promising.describe(self.promise)


@dataclass(frozen=True)
class Suggestion:
    variant_id: int
    sku: str
    name: str
    kind: str
    price: PricedLine
    available: int
    stock_note: str = ""  # "", "out of stock", "on backorder" or "from the supplier"


@dataclass(frozen=True)
class EntryPrice:
    """The lines being entered, priced now, with shipping options and the totals."""

    lines: tuple[PhoneLine, ...]
    priced: PricedCart | None
    options: tuple[orders.ShippingOption, ...]
    chosen: orders.ShippingOption | None
    limit: Decimal | None
    given_away: Decimal = Decimal(0)  # by the overrides, list price less agent's, x quantity
    amount_limit: Decimal | None = None  # the agent's, per order; None: none or no agent
    over_amount: bool = False

    @property
    def needs_approval(self) -> bool:
        return self.over_amount or any(l.over_limit for l in self.lines)

    @property
    def backordered(self) -> bool:
        """Some line waits for stock: the agent asks whether to ship in part or together."""
        return any(l.promise is not None and l.promise.promisable and l.promise.short
                   and l.promise.source in ("arrival", "lead_time") for l in self.lines)

    @property
    def total(self) -> Decimal:
        goods = self.priced.gross_total.amount if self.priced else Decimal(0)
        return goods + (self.chosen.quote.gross if self.chosen else Decimal(0))

    @property
    def tax(self) -> Decimal:
        goods = self.priced.tax_total.amount if self.priced else Decimal(0)
        return goods + (self.chosen.quote.tax if self.chosen else Decimal(0))


def _explain(line: PricedLine, base: PricedLine, override: PriceOverride | None,
             percent: Decimal) -> tuple[str, ...]:
    currency = line.currency
    if override is None:
        return tuple(line.trace.explain(currency))
    said = line.trace.explain(currency)
    return (f"Agent price override ({REASONS[override.reason]}): "
            f"{Money(line.unit_price, currency)} instead of {Money(base.unit_price, currency)} "
            f"({percent:f} % off the list price).",
            base.trace.explain(currency)[0], *said[1:])


def price_entry(session: Session, customer: Customer, lines: Sequence[tuple[int, int]],
                overrides: Mapping[int, PriceOverride], coupon_codes: Sequence[str], *,
                agent: Agent | None = None, limits: DiscountLimits | None = None,
                address: Mapping[str, str] | None = None,
                shipping_method: str | None = None) -> EntryPrice:
    """Price the lines with overrides applied, plus stock, promised dates and shipping.

    The same queries whatever the number of lines.
    """
    channel, ctx = entry_context(session, customer, coupon_codes=coupon_codes, address=address)
    authority = (discounts.authority(agent, limits) if agent is not None and limits is not None
                 else None)
    limit = authority.percent if authority else None
    if not lines:
        return EntryPrice((), None, (), None, limit, amount_limit=authority and authority.amount)
    priced = orders.price_with_overrides(session, ctx, lines, overrides)
    ids = [vid for vid, _ in lines]
    facts = {vid: (weight, pid) for vid, weight, pid in session.execute(
        select(Variant.id, Variant.weight_grams, Variant.product_id).where(Variant.id.in_(ids)))}
    today = clock.business_date(utcnow())
    promises = inventory.promise(session, lines, today=today,
                                 warehouses=inventory.warehouses_for(session, ctx.channel.code))
    available = {vid: max(p.available, 0) for vid, p in promises.items()}
    country = (address or {}).get("country") or channel.country
    options, chosen = _shipping(session, ctx, priced.priced, lines, facts, promises, country,
                                shipping_method)
    transit = chosen.method.transit_days if chosen else None
    out = []
    for line, base in zip(priced.priced.lines, priced.base.lines):
        override = overrides.get(line.variant_id) if line.variant_id in priced.units else None
        percent = Decimal(0)
        if override is not None:  # as the agent entered it, else what the new price gives
            percent = (override.percent.normalize() if override.percent is not None
                       else discount_percent(base.unit_price, line.unit_price))
        promise = promises[line.variant_id]
        out.append(PhoneLine(
            priced=line, product_id=facts[line.variant_id][1], list_unit=base.unit_price,
            override=override, discount_percent=percent,
            over_limit=override is not None and limit is not None and beyond_limit(
                base.unit_price, line.unit_price, limit, line.currency),
            available=available[line.variant_id],
            promised=promise.delivery(transit) if transit is not None else None,
            explanation=_explain(line, base, override, percent), promise=promise))
    given = discounts.given_away((l.list_unit if l.override else None, l.priced.unit_price,
                                  l.priced.quantity) for l in out)
    return EntryPrice(tuple(out), priced.priced, tuple(options), chosen, limit, given,
                      authority and authority.amount, discounts.over_amount(given, authority))


def _shipping(session, ctx, priced, lines, facts, promises, country, method_code):
    """Each shipping method's price and the day the whole order arrives with it: the last
    line's ship day (core.orders.services.latest_ship_day) plus the method's transit."""
    weight = sum(facts[vid][0] * qty for vid, qty in lines)
    ships_on = orders.latest_ship_day(promises.values(), clock.business_date(utcnow()))
    tax_rate = max((l.tax_rate for l in priced.lines), default=Decimal(0))
    options = [orders.ShippingOption(
        m, shipping.quote(m, ctx=ctx, goods_gross=priced.gross_total.amount, weight_grams=weight,
                          free_shipping=priced.free_shipping, tax_rate=tax_rate),
        inventory.add_working_days(ships_on, m.transit_days))
        for m in shipping.methods_for(session, country=country, channel_code=ctx.channel.code)]
    chosen = next((o for o in options if o.method.code == method_code),
                  options[0] if options else None)
    return options, chosen


def suggestions(session: Session, customer: Customer, product_ids: Iterable[int], *,
                exclude_variants: Iterable[int] = (), limit: int = 6) -> list[Suggestion]:
    """Cross-sell, up-sell and accessories of the products in the lines, at the customer's
    prices, one variant (the first active one) per related product."""
    product_ids, exclude = set(product_ids), set(exclude_variants)
    if not product_ids:
        return []
    channel, ctx = entry_context(session, customer)
    first_variant = (select(func.min(Variant.id)).where(Variant.product_id == Product.id,
                                                        Variant.active)
                     .correlate(Product).scalar_subquery())
    rows = session.execute(
        select(ProductRelation.kind, Variant.id, Variant.sku, Product.name, Variant.name)
        .join(Product, Product.id == ProductRelation.related_id)
        .join(Variant, Variant.id == first_variant)
        .where(ProductRelation.product_id.in_(product_ids),
               ProductRelation.related_id.not_in(product_ids),
               ProductRelation.kind.in_(SUGGESTION_KINDS), Product.active,
               sellable(session, channel.id))
        .order_by(ProductRelation.position, ProductRelation.id)).all()
    seen: dict[int, tuple] = {}
    for kind, vid, sku, pname, vname in rows:
        if vid not in exclude and vid not in seen:
            seen[vid] = (kind, sku, f"{pname} – {vname}" if vname and vname != pname else pname)
    picked = list(seen.items())[:limit]
    if not picked:
        return []
    ids = [vid for vid, _ in picked]
    prices = pricing.price_items(session, ctx, [(vid, 1) for vid in ids])
    promises = inventory.promise(session, [(vid, 1) for vid in ids],
                                 today=clock.business_date(utcnow()),
                                 warehouses=inventory.warehouses_for(session, ctx.channel.code))
    notes = {"unavailable": "out of stock", "arrival": "on backorder",
             "lead_time": "on backorder", "supplier": "from the supplier"}
    return [Suggestion(vid, sku, name, kind, prices[vid], max(promises[vid].available, 0),
                       notes.get(promises[vid].source, ""))
            for vid, (kind, sku, name) in picked if vid in prices]


def find_items(session: Session, customer: Customer, text: str, *, limit: int = 10
               ) -> list[tuple[int, str, str]]:
    """(variant id, SKU, name) of items sold to the customer whose SKU starts with, or whose
    name contains, the text: an exact SKU first."""
    text = text.strip()
    if not text:
        return []
    channel = pricing_channel(session, customer)
    pattern = text.upper().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = session.execute(
        select(Variant.id, Variant.sku, Product.name, Variant.name)
        .join(Product, Product.id == Variant.product_id)
        .where(Variant.active, sellable(session, channel.id),
               or_(func.upper(Variant.sku).like(f"{pattern}%", escape="\\"),
                   func.upper(Product.name).like(f"%{pattern}%", escape="\\"),
                   func.upper(Variant.name).like(f"%{pattern}%", escape="\\")))
        .order_by((func.upper(Variant.sku) == text.upper()).desc(), Variant.sku)
        .limit(limit)).all()
    return [(vid, sku, f"{pname} – {vname}" if vname and vname != pname else pname)
            for vid, sku, pname, vname in rows]


def resolve_item(session: Session, customer: Customer, text: str) -> int:
    """The variant an agent means by a SKU or a (part of a) name; errors at the SKU field."""
    if not text.strip():
        raise PhoneOrderError("Enter a SKU or a product name.", field="sku")
    found = find_items(session, customer, text, limit=5)
    exact = [f for f in found if f[1].upper() == text.strip().upper()]
    if exact:
        return exact[0][0]
    if len(found) == 1:
        return found[0][0]
    if not found:
        raise PhoneOrderError(f"No item with the SKU or name “{text.strip()}” is sold to "
                              "this customer.", field="sku")
    raise PhoneOrderError(f"Several items match “{text.strip()}”: "
                          + ", ".join(f[1] for f in found) + ". Enter the SKU.", field="sku")


# -- placing --------------------------------------------------------------------------------

def credit_check(session: Session, order: Order, *, overdue_days: int,
                 actor: audit.Actor | None = None) -> OrderHold | None:
    """The credit check of an order placed by phone (review finding M8): for an order on
    account, core.credit.checks.check_order puts it on a "credit" hold when the customer
    has invoices overdue more than `overdue_days` (CREDIT_OVERDUE_DAYS) or their exposure (open
    receivables plus confirmed on-account orders not yet invoiced, this one included)
    exceeds their credit limit. It never raises for that: the order is kept, on hold,
    for the credit team."""
    return credit_checks.check_order(session, order, overdue_days=overdue_days,
                                     actor=actor or audit.Actor.system("credit check"))


def _actor(agent: Agent) -> audit.Actor:
    return audit.Actor("agent", agent.id, agent.email)


def _billing_address(session: Session, customer: Customer, shipping_address: dict) -> dict:
    book = addresses(session, customer)
    billing = next((a for a in book if a.default_billing), None)
    return billing.as_dict() if billing else dict(shipping_address)


def place_phone_order(session: Session, *, customer: Customer, agent: Agent,
                      lines: Sequence[tuple[int, int]], overrides: Mapping[int, PriceOverride],
                      coupon_codes: Sequence[str], shipping_address: Mapping[str, str],
                      shipping_method: str, payment_method: str, settings_limits: DiscountLimits,
                      idempotency_key: str, overdue_days: int, po_number: str = "",
                      gift_card: str = "", ship_complete: bool = False) -> Order:
    """Place the order an agent entered. `overdue_days`: the CREDIT_OVERDUE_DAYS setting. Flushes; the caller commits, then (card) takes
    the card. Pay-by-link: the link is e-mailed once the order commits (request_pay_link).

    On account: confirmed at once, for customers allowed it. Card and pay-by-link: the
    order awaits payment. Discounts beyond the agent's limit add an approval hold. A gift
    card code pays first, up to the total (core.billing.prepayments); when it pays it all
    the order is confirmed as paid, else the payment method takes the rest.
    """
    if existing := orders.find_by_key(session, idempotency_key):
        if existing.status == "pending_payment" and existing.payment_method == "pay_link":
            request_pay_link(session, existing, agent=agent)  # the same page again: resent
        return existing
    if payment_method not in PAYMENT_METHODS:
        raise PhoneOrderError("Choose how the customer pays.", field="payment_method")
    if payment_method == "on_account" and not customer.on_account_allowed:
        raise PhoneOrderError(f"{customer.name} may not buy on account; take a card payment "
                              "or send a payment link.", field="payment_method")
    address = validate_address(dict(shipping_address))
    channel, ctx = entry_context(session, customer, coupon_codes=coupon_codes, address=address)
    actor = _actor(agent)
    order = orders.place_order(
        session, checkout=orders.Checkout(
            lines=list(lines), email=customer.email, shipping_address=address,
            billing_address=_billing_address(session, customer, address),
            shipping_method=shipping_method, payment_method=payment_method,
            po_number=po_number[:60], ship_complete=ship_complete),
        channel=channel, ctx=ctx, customer_id=customer.id, actor=actor,
        idempotency_key=idempotency_key, overrides=overrides, attributed_channel=CHANNEL)
    _record_overrides(session, order, agent, settings_limits)
    if gift_card.strip() and order.status == "pending_payment":
        prepayments.pay_with_gift_card(session, order, gift_card, actor=actor)
    paid_in_full = orders.mark_prepaid(session, order, actor=actor, reference="gift card")
    if payment_method == "on_account" and not paid_in_full:
        orders.confirm_on_account(session, order, actor=actor)
    credit_check(session, order, overdue_days=overdue_days, actor=actor)
    if order.status == "pending_payment" and order.payment_method == "pay_link":
        request_pay_link(session, order, agent=agent)
    session.flush()
    return order


def _record_overrides(session: Session, order: Order, agent: Agent,
                      limits: DiscountLimits) -> None:
    """Audit every agent's price on the order; beyond the agent's limits, an approval hold."""
    changed = [l for l in order.lines if l.list_unit_price is not None]
    if not changed:
        return
    actor = _actor(agent)
    for line in changed:
        percent = discount_percent(line.list_unit_price, line.unit_price)
        audit.record(session, "order.price_overridden", actor=actor, channel=CHANNEL, subject=order,
                     data={"sku": line.sku, "list_unit_price": str(line.list_unit_price),
                           "unit_price": str(line.unit_price), "percent": str(percent),
                           "reason": line.override_reason})
    discounts.check_order(session, order, authority=discounts.authority(agent, limits),
                          actor=actor, channel=CHANNEL)


# -- paying ---------------------------------------------------------------------------------

def request_pay_link(session: Session, order: Order, *, agent: Agent) -> None:
    """Have the customer e-mailed a link to pay the order by card, once the transaction
    commits (core.notifications), and record that it was sent."""
    prepaid = left = ""
    if order.amount_prepaid:
        prepaid = order.money(order.amount_prepaid).format()
        left = order.money(order.gross_total - order.amount_prepaid).format()
    events.record(session, events.PayLinkRequested(
        order.id, order.number, order.email, order.money(order.gross_total).format(),
        prepaid, left))
    audit.record(session, "order.pay_link_sent", actor=_actor(agent), channel=CHANNEL,
                 subject=order, data={"to": order.email})


def switch_to_pay_link(session: Session, order: Order, *, agent: Agent) -> None:
    """A card that cannot be taken: the order waits for the customer to pay by link, which
    is e-mailed once this commits."""
    if order.status != "pending_payment":
        raise PhoneOrderError("This order is not awaiting payment.")
    order.payment_method = "pay_link"
    request_pay_link(session, order, agent=agent)
    session.flush()


def take_card(session: Session, gateway: PaymentGateway, order: Order, *, payment_method: str,
              agent: Agent, commit) -> card_payments.PaymentOutcome:
    """Authorise a card read out on the phone (MOTO: no 3-D Secure). A decline keeps the
    order awaiting payment, for another card or a payment link."""
    outcome = card_payments.authorise_order(session, gateway, order.id,
                                            payment_method=payment_method, actor=_actor(agent),
                                            commit=commit, moto=True, abandon_on_decline=False)
    if outcome.status == "requires_action":
        # Nobody can authenticate on the agent's screen: void it so another card can be tried.
        card_payments.complete_authentication(session, gateway, order.id, actor=_actor(agent),
                                              commit=commit, abandon_on_decline=False)
        return card_payments.PaymentOutcome(
            "declined", outcome.order,
            "The card asks for 3-D Secure, which cannot be done by phone. "
            "Try another card or send a payment link.")
    return outcome
