"""Commands on sales orders: place, confirm payment, cancel."""
from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from sqlalchemy import insert, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from core import audit, clock, events
from core.catalog.assortment import sellable
from core.catalog.models import Channel, Product, Variant
from core.db import utcnow
from core.errors import DomainError, NotFound
from core.inventory import services as inventory
from core.numbering import next_number
from core.orders import promotion_uses, shipping, states
from core.orders.states import OrderStatus, PaymentState
from core.orders.models import Order, OrderLine
from core.pricing import engine
from core.pricing import services as pricing
from core.pricing.engine import ListPrice, PricedCart, PricingContext, round_money
from core.pricing.usage import PromotionUnavailable


class OrderError(DomainError):
    code = "order"


@dataclass(frozen=True)
class Checkout:
    """Everything a buyer decided at checkout."""

    lines: list[tuple[int, int]]  # (variant id, quantity)
    email: str
    shipping_address: dict
    billing_address: dict
    shipping_method: str
    payment_method: str = "card"
    po_number: str = ""
    ship_complete: bool = False  # one delivery: nothing ships while a line waits for stock


def attempt_key(kind: str, scope: int, raw: str | None) -> str:
    """The idempotency key of a placement: the page's random key (32 hex characters, else a
    new one), scoped to the cart or agent placing it, so a key copied from elsewhere can
    never return someone else's order."""
    token = raw if raw and re.fullmatch(r"[0-9a-f]{32}", raw) else uuid.uuid4().hex
    return f"{kind}-{scope}-{token}"


def find_by_key(session: Session, key: str) -> Order | None:
    return session.scalar(select(Order).where(Order.idempotency_key == key)
                          .options(selectinload(Order.lines)))


def _check_sellable(session: Session, channel: Channel, lines: list[tuple[int, int]]) -> dict[int, Variant]:
    ids = {vid for vid, _ in lines}
    variants = {v.id: v for v in session.scalars(
        select(Variant).join(Product, Product.id == Variant.product_id)
        .where(Variant.id.in_(ids), Variant.active, sellable(session, channel.id)))}
    if missing := ids - variants.keys():
        raise OrderError(f"{len(missing)} item(s) in your cart are no longer sold here; "
                         "remove them and try again.")
    return variants


def _shipping_quote(session: Session, checkout: Checkout, ctx: PricingContext,
                    priced: PricedCart, variants: dict[int, Variant]) -> shipping.ShippingQuote:
    country = checkout.shipping_address["country"]
    method = shipping.choose(session, checkout.shipping_method, country=country,
                             channel_code=ctx.channel.code)
    weight = sum(variants[vid].weight_grams * qty for vid, qty in checkout.lines)
    return shipping.quote(method, ctx=ctx, goods_gross=priced.gross_total.amount,
                          weight_grams=weight, free_shipping=priced.free_shipping,
                          tax_rate=_shipping_tax_rate(priced))


def _shipping_tax_rate(priced: PricedCart) -> Decimal:
    """Shipping follows the goods: the highest rate among the lines (the standard rate)."""
    return max((l.tax_rate for l in priced.lines), default=Decimal(0))


@dataclass(frozen=True)
class ShippingOption:
    method: shipping.ShippingMethod
    quote: shipping.ShippingQuote
    promised: dt.date


@dataclass(frozen=True)
class Preview:
    """The checkout's review: goods, each shipping option, and the total with the chosen one."""

    priced: PricedCart
    options: list[ShippingOption]
    chosen: ShippingOption | None
    promises: Mapping[int, inventory.Promise] = None  # by variant id

    @property
    def backordered(self) -> bool:
        """Some line waits for stock (an arrival or the supplier's lead time): the buyer
        chooses between a part delivery now and one delivery of everything."""
        return any(p.promisable and p.short and p.source in ("arrival", "lead_time")
                   for p in (self.promises or {}).values())

    def first_delivery(self, option: ShippingOption) -> dt.date | None:
        """When the first parcel arrives with this option if what is in stock ships now."""
        days = [p.ships_on for p in (self.promises or {}).values() if p.ships_on]
        return inventory.add_working_days(min(days), option.method.transit_days) if days else None

    @property
    def total(self) -> Decimal:
        extra = self.chosen.quote.gross if self.chosen else Decimal(0)
        return self.priced.gross_total.amount + extra

    @property
    def tax(self) -> Decimal:
        extra = self.chosen.quote.tax if self.chosen else Decimal(0)
        return self.priced.tax_total.amount + extra


def preview(session: Session, ctx: PricingContext, lines: list[tuple[int, int]], *,
            country: str, method_code: str | None) -> Preview:
    """Price the cart and every shipping option for the country, with promised dates."""
    priced = pricing.price_cart(session, ctx, lines)
    ids = [vid for vid, _ in lines]
    weights = dict(session.execute(select(Variant.id, Variant.weight_grams)
                                   .where(Variant.id.in_(ids))).all())
    today = clock.business_date(utcnow())
    promises = inventory.promise(session, lines, today=today,
                                 warehouses=inventory.warehouses_for(session, ctx.channel.code))
    ships_on = latest_ship_day(promises.values(), today)
    weight = sum(weights.get(vid, 0) * qty for vid, qty in lines)
    options = [ShippingOption(m, shipping.quote(m, ctx=ctx, goods_gross=priced.gross_total.amount,
                                                weight_grams=weight,
                                                free_shipping=priced.free_shipping,
                                                tax_rate=_shipping_tax_rate(priced)),
                              inventory.add_working_days(ships_on, m.transit_days))
               for m in shipping.methods_for(session, country=country,
                                             channel_code=ctx.channel.code)]
    chosen = next((o for o in options if o.method.code == method_code), options[0] if options else None)
    return Preview(priced, options, chosen, promises)


def latest_ship_day(promises, today: dt.date) -> dt.date:
    """The day the last line can leave (an unpromisable line counts as in stock: placing the
    order refuses it)."""
    days = [p.ships_on for p in promises if p.ships_on]
    return max(days, default=inventory.add_working_days(today, inventory.DISPATCH_DAYS))


# -- agents' price overrides ------------------------------------------------------------

OVERRIDE_REASONS = {"price_match": "Price match", "damaged_packaging": "Damaged packaging",
                    "loyalty": "Loyalty", "service_recovery": "Service recovery",
                    "volume_deal": "Volume deal"}
# An accepted quote's prices (core.quotes): the order's lines carry the quoted unit prices.
QUOTED = "quoted"
OVERRIDE_REASONS[QUOTED] = "Quoted price"


@dataclass(frozen=True)
class PriceOverride:
    """An agent's new unit price for a line (in the channel's price mode), or a discount in
    percent off the list price; either way with a reason code from OVERRIDE_REASONS."""

    reason: str
    unit_price: Decimal | None = None
    percent: Decimal | None = None


@dataclass(frozen=True)
class OverriddenCart:
    """Lines priced with agents' overrides: `priced` is what the buyer pays, `base` the same
    lines at list prices, `units` the unit price each override resolved to."""

    priced: PricedCart
    base: PricedCart
    units: dict[int, Decimal]
    reasons: dict[int, str]

    def list_unit(self, variant_id: int) -> Decimal:
        """The line's unit price from its price list, before the override."""
        return self._list_units[variant_id]

    @property
    def _list_units(self) -> dict[int, Decimal]:
        return {l.variant_id: l.unit_price for l in self.base.lines}


def _resolve(override: PriceOverride, list_unit: Decimal, currency: str) -> Decimal:
    """The unit price an override stands for; OrderError when it makes no sense."""
    if override.reason not in OVERRIDE_REASONS:
        raise OrderError("Choose a reason for the price change.", field="reason")
    if override.unit_price is not None:
        if override.unit_price < 0:
            raise OrderError("A unit price cannot be negative.", field="unit_price")
        return round_money(override.unit_price, currency)
    if override.percent is None or not 0 < override.percent <= 100:
        raise OrderError("Enter a discount from 0.01 to 100 %.", field="percent")
    return round_money(list_unit * (100 - override.percent) / 100, currency)


def price_with_overrides(session: Session, ctx: PricingContext, lines: Sequence[tuple[int, int]],
                         overrides: Mapping[int, PriceOverride], *,
                         promotions: bool = True) -> OverriddenCart:
    """Price lines as the channel does, except that an overridden line's unit price is the
    agent's: it takes the place of the price list (quantity breaks included), and the same
    engine then applies promotions and tax with its rounding rules, so line and document
    totals stay sums of lines. The same queries as pricing.price_cart, whatever the lines.

    `promotions=False` prices without any promotion (nor free shipping from one): a quote's
    negotiated prices, which promotions of the day must not change (core.quotes)."""
    facts = pricing.load_facts(session, ctx, [vid for vid, _ in lines])
    active = pricing.load_promotions(session, ctx) if promotions else []
    if missing := {vid for vid, _ in lines} - facts.keys():
        raise NotFound(f"{len(missing)} item(s) do not exist.")
    found = [(facts[vid], qty) for vid, qty in lines]
    base = engine.price(ctx, found, active)
    currency = ctx.channel.currency
    units = {l.variant_id: _resolve(overrides[l.variant_id], l.unit_price, currency)
             for l in base.lines if l.variant_id in overrides}
    if not units:
        return OverriddenCart(base, base, {}, {})
    reasons = {vid: overrides[vid].reason for vid in units}
    mode = ctx.channel.prices_include_tax
    changed = [(replace(f, candidates=(ListPrice(0, "override", "Agent price override",
                                                 "contract", 0, mode, 1, units[f.variant_id]),))
                if f.variant_id in units else f, qty) for f, qty in found]
    return OverriddenCart(engine.price(ctx, changed, active), base, units, reasons)


def _insert_lines(session: Session, order: Order, priced: PricedCart,
                  stock: Mapping[int, "inventory.Reservation"],
                  promises: Mapping[int, "inventory.Promise"], transit_days: int,
                  overridden: OverriddenCart | None = None) -> None:
    """All lines in one INSERT (executemany): placing an order costs the same for 1 or 50
    lines. Each line takes its share of the variant's reservation (the first lines of a
    variant its reserved units, the rest backordered) and its promised days."""
    units = overridden.units if overridden else {}
    left = {vid: r.reserved for vid, r in stock.items()}
    held = []
    for l in priced.lines:
        take = min(left.get(l.variant_id, 0), l.quantity)
        left[l.variant_id] = left.get(l.variant_id, 0) - take
        held.append(take)
    list_units = {vid: overridden.list_unit(vid) for vid in units} if overridden else {}
    session.execute(insert(OrderLine), [dict(
        order_id=order.id, variant_id=l.variant_id, sku=l.sku, name=l.name, quantity=l.quantity,
        unit_price=l.unit_price, amount=l.amount, discount=l.discount, net=l.net, tax=l.tax,
        gross=l.gross, tax_rate=l.tax_rate,
        price_source=f"{l.trace.price_list} from {l.trace.quantity_break}",
        discounts=[{"promotion_id": a.promotion_id, "name": a.name, "amount": str(a.amount)}
                   for a in l.trace.promotions],
        quantity_reserved=take, quantity_shipped=0, quantity_invoiced=0,
        quantity_returned=0, warehouse=stock[l.variant_id].warehouse,
        supplier_id=stock[l.variant_id].supplier_id,
        quantity_backordered=0 if stock[l.variant_id].warehouse is None else l.quantity - take,
        ships_on=promises[l.variant_id].ships_on,
        promised_date=promises[l.variant_id].delivery(transit_days),
        list_unit_price=list_units.get(l.variant_id),
        override_reason=overridden.reasons[l.variant_id] if l.variant_id in units else "")
        for l, take in zip(priced.lines, held)])
    session.expire(order, ["lines"])


def place_order(session: Session, *, checkout: Checkout, channel: Channel, ctx: PricingContext,
                customer_id: int | None, actor: audit.Actor, idempotency_key: str,
                overrides: Mapping[int, PriceOverride] | None = None,
                attributed_channel: str | None = None, promotions: bool = True) -> Order:
    """Turn a checkout into an order awaiting payment, with its stock reserved.

    The same idempotency key always yields the same order: a double click or a retry
    finds the first one. `overrides` are an agent's prices per variant id; the order is
    priced in `channel` (its assortment and prices) but recorded as coming through
    `attributed_channel` when given (an agent pricing a customer as the web shop would).
    `promotions=False` (with `overrides`) leaves every promotion out: an accepted quote's
    order costs what was quoted, whatever promotions started or ended since.
    Flushes; the caller commits.
    """
    return place_or_find(session, checkout=checkout, channel=channel, ctx=ctx,
                         customer_id=customer_id, actor=actor, idempotency_key=idempotency_key,
                         overrides=overrides, attributed_channel=attributed_channel,
                         promotions=promotions)[0]


def place_or_find(session: Session, *, checkout: Checkout, channel: Channel,
                  ctx: PricingContext, customer_id: int | None, actor: audit.Actor,
                  idempotency_key: str, overrides: Mapping[int, PriceOverride] | None = None,
                  attributed_channel: str | None = None,
                  promotions: bool = True) -> tuple[Order, bool]:
    """place_order, and whether it placed the order now: False when the key had placed it
    already (a double click, a retry, or a concurrent submit that won the race). One
    look-up of the key, for a caller that must know which it was."""
    if existing := find_by_key(session, idempotency_key):
        return existing, False
    if not checkout.lines:
        raise OrderError("Your cart is empty.")
    variants = _check_sellable(session, channel, checkout.lines)
    overridden = None
    if overrides or not promotions:
        overridden = price_with_overrides(session, ctx, checkout.lines, overrides or {},
                                          promotions=promotions)
        priced = overridden.priced
    else:
        priced = pricing.price_cart(session, ctx, checkout.lines)
    channel_code = attributed_channel or ctx.channel.code
    if priced.coupon_problems:
        raise OrderError(" ".join(priced.coupon_problems))
    ship = _shipping_quote(session, checkout, ctx, priced, variants)
    warehouses = inventory.warehouses_for(session, ctx.channel.code)
    today = clock.business_date(utcnow())
    try:
        # The order number, the stock and the order row together: a lost race gives all
        # three back. Promised under the stock rows' locks: what the order gets is what it
        # is promised, and the order row is written with its promised date.
        with session.begin_nested():
            number = next_number(session, "order")
            stock = inventory.reserve(session, checkout.lines, warehouses=warehouses,
                                      reference=number, by=actor.label, today=today,
                                      skus={l.variant_id: l.sku for l in priced.lines})
            promises = {vid: r.promise for vid, r in stock.items()}
            promised = inventory.add_working_days(latest_ship_day(promises.values(), today),
                                                  ship.transit_days)
            order = _new_order(number, checkout, ctx, priced, ship, customer_id, actor,
                               idempotency_key, channel_code, promised)
            session.add(order)
            session.flush()
    except IntegrityError:
        # A concurrent submit of the same checkout won the race: return its order.
        if existing := find_by_key(session, idempotency_key):
            return existing, False
        raise
    _insert_lines(session, order, priced, stock, promises, ship.transit_days, overridden)
    _redeem(session, order, priced)
    audit.record(session, "order.placed", actor=actor, channel=channel_code, subject=order,
                 data={"number": order.number, "total": str(order.gross_total)})
    session.flush()
    return order, True


def _new_order(number, checkout, ctx, priced, ship, customer_id, actor, key, channel_code,
               promised: dt.date | None) -> Order:
    return Order(
        number=number, idempotency_key=key, customer_id=customer_id,
        email=checkout.email, channel_code=channel_code, placed_by_kind=actor.kind,
        placed_by_id=actor.id, currency=ctx.channel.currency,
        prices_include_tax=ctx.channel.prices_include_tax, status=OrderStatus.PENDING_PAYMENT,
        payment_state=PaymentState.UNPAID, payment_method=checkout.payment_method,
        shipping_address=checkout.shipping_address, billing_address=checkout.billing_address,
        shipping_method=ship.code, shipping_amount=ship.gross, shipping_tax=ship.tax,
        subtotal=priced.subtotal.amount, discount_total=priced.discount_total.amount,
        net_total=priced.net_total.amount + ship.net, tax_total=priced.tax_total.amount + ship.tax,
        gross_total=priced.gross_total.amount + ship.gross, coupon_codes=list(ctx.coupon_codes),
        po_number=checkout.po_number, promised_date=promised,
        ship_complete=checkout.ship_complete)


def _redeem(session: Session, order: Order, priced: PricedCart) -> None:
    """Count the use of each promotion for usage limits, total and per customer (the
    customer's account or the order's e-mail), atomically: see core.pricing.usage.take."""
    try:
        promotion_uses.count(session, order, [a.promotion_id for a in priced.promotions])
    except PromotionUnavailable as err:
        raise OrderError(str(err)) from None


def get_order(session: Session, order_id: int, *, lock: bool = False,
              lines: bool = True) -> Order:
    """The order as the database has it now; with `lock`, under its row lock.

    Read afresh (populate_existing): our sessions keep objects after commit, and a copy
    loaded earlier (a page, a step before Stripe was called) would otherwise hide what
    another transaction committed meanwhile, even when the row lock was just taken.
    `lines=False` for a caller that needs only the order's row (a payment step): its
    lines are not read now, and a copy of them loaded earlier is dropped, so they are read
    afresh if they are wanted after all."""
    stmt = select(Order).where(Order.id == order_id).execution_options(populate_existing=True)
    if lines:
        stmt = stmt.options(selectinload(Order.lines))
    order = session.scalar(stmt.with_for_update() if lock else stmt)
    if order is None:
        raise NotFound("We could not find that order.")
    if not lines and "lines" not in inspect(order).unloaded:
        session.expire(order, ["lines"])
    return order


def awaits_card_payment(order: Order) -> bool:
    """A new order waiting for its payment, or a confirmed one whose authorisation was
    voided (its lines changed) and must be taken again."""
    return order.status == OrderStatus.PENDING_PAYMENT or (
        order.status == OrderStatus.CONFIRMED and order.payment_state == PaymentState.UNPAID
        and order.payment_method != "on_account")


def confirm(session: Session, order: Order) -> None:
    """The order stops waiting (paid, or accepted on account): confirmed, and the buyer is
    e-mailed the confirmation once the transaction commits (core.notifications). Every
    path that confirms an order comes through here, so each order gets exactly one."""
    states.move(order, OrderStatus.CONFIRMED)
    events.record(session, events.OrderConfirmed(order.id))


def confirm_on_account(session: Session, order: Order, *, actor: audit.Actor) -> None:
    """An order on account needs no payment first: confirmed at once."""
    confirm(session, order)
    states.move_payment(order, PaymentState.ON_ACCOUNT, audit=audit.Entry(
        session, "order.confirmed_on_account", actor, order.channel_code,
        {"number": order.number}))


def mark_authorised(session: Session, order: Order, *, actor: audit.Actor, reference: str) -> bool:
    """Payment authorised: the order is confirmed. False when that had already happened."""
    if not awaits_card_payment(order):
        return False
    if order.status == OrderStatus.PENDING_PAYMENT:
        confirm(session, order)
    states.move_payment(order, PaymentState.AUTHORISED, audit=audit.Entry(
        session, "order.payment_authorised", actor, order.channel_code, {"payment": reference}))
    return True


def mark_prepaid(session: Session, order: Order, *, actor: audit.Actor, reference: str) -> bool:
    """Paid in full before any card was asked (a gift card): the order is confirmed and its
    payment captured. False when it is not paid in full or no longer awaits payment."""
    if order.status != OrderStatus.PENDING_PAYMENT or order.amount_prepaid < order.gross_total:
        return False
    confirm(session, order)
    states.move_payment(order, PaymentState.CAPTURED, audit=audit.Entry(
        session, "order.paid_in_advance", actor, order.channel_code,
        {"payment": reference, "amount": str(order.amount_prepaid)}))
    return True


@dataclass(frozen=True)
class ReplacementLine:
    """Send `quantity` of `variant` in place of units of `original` at what they cost."""

    original: OrderLine
    variant: Variant
    quantity: int


def place_replacement(session: Session, original: Order, lines: Sequence[ReplacementLine], *,
                      actor: audit.Actor, key: str, reference: str) -> Order:
    """A replacement order for returned goods (an exchange): the same addresses, the
    original unit prices and discounts pro rata, no shipping charge, stock reserved, and
    confirmed at once with payment method and state "exchange" (the return's credit note
    pays its invoice). The same `key` returns the same order. Flushes."""
    if existing := find_by_key(session, key):
        return existing
    if not lines:
        raise OrderError("Choose what to send as a replacement.")
    built = []
    for r in lines:
        ol, share = r.original, Decimal(r.quantity) / Decimal(r.original.quantity)
        if original.prices_include_tax:  # as an invoice shares a line (core.billing)
            gross = round_money(ol.gross * share, original.currency)
            tax = round_money(gross * ol.tax_rate / (1 + ol.tax_rate), original.currency)
            net = gross - tax
        else:
            net = round_money(ol.net * share, original.currency)
            tax = round_money(net * ol.tax_rate, original.currency)
        name = r.variant.product.name + (f" – {r.variant.name}" if r.variant.name else "")
        built.append(OrderLine(
            variant_id=r.variant.id, sku=r.variant.sku, name=name[:300], quantity=r.quantity,
            unit_price=ol.unit_price, amount=round_money(ol.amount * share, original.currency),
            discount=round_money(ol.discount * share, original.currency), net=net, tax=tax,
            gross=net + tax, tax_rate=ol.tax_rate, price_source=f"Replacement ({reference})",
            discounts=[], quantity_reserved=r.quantity, quantity_shipped=0,
            quantity_invoiced=0, quantity_returned=0, promised_date=None))
    promised = inventory.promised_date(clock.business_date(utcnow()), True, 2)
    ships_on = inventory.add_working_days(clock.business_date(utcnow()), inventory.DISPATCH_DAYS)
    order = Order(
        number=next_number(session, "order"), idempotency_key=key[:80],
        customer_id=original.customer_id, email=original.email,
        channel_code=original.channel_code, placed_by_kind=actor.kind, placed_by_id=actor.id,
        currency=original.currency, prices_include_tax=original.prices_include_tax,
        status=OrderStatus.PENDING_PAYMENT, payment_state=PaymentState.UNPAID,
        payment_method="exchange", shipping_address=dict(original.shipping_address),
        billing_address=dict(original.billing_address),
        shipping_method=original.shipping_method, shipping_amount=Decimal(0),
        shipping_tax=Decimal(0), subtotal=sum((l.amount for l in built), Decimal(0)),
        discount_total=sum((l.discount for l in built), Decimal(0)),
        net_total=sum((l.net for l in built), Decimal(0)),
        tax_total=sum((l.tax for l in built), Decimal(0)),
        gross_total=sum((l.gross for l in built), Decimal(0)), coupon_codes=[],
        po_number=original.po_number, promised_date=promised, lines=built)
    session.add(order)
    session.flush()
    stock = inventory.reserve(session, [(l.variant_id, l.quantity) for l in built],
                              warehouses=inventory.warehouses_for(session, order.channel_code),
                              reference=order.number, by=actor.label, allow_backorder=False,
                              skus={l.variant_id: l.sku for l in built})
    for line in built:
        line.promised_date, line.ships_on = promised, ships_on
        line.warehouse, line.supplier_id = stock[line.variant_id].warehouse, stock[line.variant_id].supplier_id
        if line.warehouse is None:  # drop-shipped: the supplier's
            line.quantity_reserved = 0
    confirm(session, order)
    states.move_payment(order, PaymentState.EXCHANGE, audit=audit.Entry(
        session, "order.placed_as_replacement", actor, order.channel_code,
        {"number": order.number, "replaces": original.number, "reference": reference,
         "total": str(order.gross_total)}))
    session.flush()
    return order


def cancel_order(session: Session, order: Order, *, actor: audit.Actor, reason: str) -> None:
    """Cancel before shipment: release the stock. The caller voids any card authorisation."""
    if order.status not in states.CANCELLABLE:
        raise OrderError("This order has shipped and can no longer be cancelled; "
                         "start a return instead.")
    states.move(order, OrderStatus.CANCELLED, audit=audit.Entry(
        session, "order.cancelled", actor, order.channel_code, {"reason": reason}))
    inventory.release(session, [(l.variant_id, l.warehouse, l.quantity_reserved,
                                 l.quantity_backordered) for l in order.lines],
                      reference=order.number, by=actor.label)
    for line in order.lines:
        line.quantity_reserved = line.quantity_backordered = 0
    order.cancelled_at = utcnow()
    order.cancel_reason = reason[:200]
    # The promotions it used can be used again (a declined card must not burn a coupon).
    promotion_uses.give_back(session, order, actor=actor, reason=reason)
    session.flush()
