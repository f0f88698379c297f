"""Order maintenance in the console: change lines before fulfilment, notes, the console's
view of an order (everything staff need on one page) and its full timeline.

Changing lines, the policy:

* Only an order awaiting payment or confirmed can change: once it is with the warehouse
  the pick list is fixed (in_fulfilment and later), and a cancelled order stays as it was.
* Lines are priced again by the pricing engine in the context the order was placed in:
  the customer's web channel (web-b2b for a company, web-b2c otherwise; a guest's order
  keeps its own channel), the delivery country and region, the order's coupons, and the
  moment of placement, so untouched lines keep the prices the customer agreed to. The
  order's own promotion redemptions are not counted against usage limits a second time.
  A line with an agent's price override keeps its unit price; promotions and tax are
  applied to it as the engine applies them to any list price.
* Stock: the old quantities are released and the new ones reserved in one savepoint;
  if anything is short nothing changes and the agent is told which SKU and how many
  are left.
* Discounts: an agent's price approved (or within the limit) for the quantity ordered is
  not approved for more. When an overridden line grows (a new quantity, or more of its SKU
  added) the acting agent's limits are checked again (core.orders.discounts): a percentage
  beyond theirs, or more money given away on the order than they may give, puts the order
  on an approval hold placed by them, whatever the payment method or the new total.
  The list price an override is measured against stays the one recorded at placement.
* Totals are the sums of the lines plus the shipping the order had (not re-quoted).
* Payment: a card authorisation that no longer covers the new total is voided and the
  order goes back to payment state "unpaid" with a payment_review hold
  "reauthorisation_needed", so an agent takes the card again or sends a pay link. When
  the total goes down the authorisation is kept: capture at shipment takes the smaller
  amount. The audit event "order.lines_changed" says which happened.
* Credit: an order on account whose total grows is checked again (core.credit.checks, review
  finding M8): over the credit limit, or with invoices long overdue, it goes on a credit
  hold with the figures; the change itself is kept.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from core import audit, events
from core.audit import AuditEvent
from core.labels import code_label, event_label
from core.catalog.assortment import sellable
from core.catalog.models import Product, Variant
from core.credit import checks as credit_checks
from core.credit.exposure import OVERDUE_DAYS
from core.customers.models import Customer
from core.errors import NotFound
from core.inventory import services as inventory
from core.orders import discounts
from core.orders import holds as order_holds
from core.orders import promotion_uses, queries
from core.orders.models import Order, OrderHold, OrderLine, OrderNote
from core.orders.services import OrderError
from core.orders.states import PaymentState, move_payment
from core.payments.models import PaymentAttempt
from core.pricing import engine
from core.pricing import services as pricing
from core.pricing.engine import ListPrice, PricedCart, PricingContext
from core.pricing.models import PromotionRedemption
from core.workflows import order_page
from core.workflows.cancellation import VoidingGateway
from core.workflows.cancellation import _void as void_authorisation  # the same void policy

CHANNEL = "console"
CHANGEABLE = ("pending_payment", "confirmed")
MAX_QUANTITY = 9999

CANCEL_REASONS = {
    "customer_request": "Customer asked to cancel",
    "duplicate": "Duplicate order",
    "out_of_stock": "Goods not available",
    "payment_problem": "Payment problem",
    "fraud_suspected": "Suspected fraud",
    "other": "Other",
}

# The console shows every event; these are the labels of those the storefront does not.
STAFF_LABELS = {
    "order.hold_placed": "Hold placed",
    "order.hold_released": "Hold released",
    "order.lines_changed": "Lines changed",
    "order.confirmation_resent": "Confirmation e-mail sent again",
    "order.note_added": "Note added",
    "order.void_failed": "Voiding the card authorisation failed",
}


# -- finding an order -------------------------------------------------------------------


def find_order(session: Session, number: str, *, lock: bool = False) -> Order:
    """The order by number with its lines and holds; NotFound otherwise."""
    stmt = (select(Order).where(Order.number == number.strip().upper())
            .options(selectinload(Order.lines), selectinload(Order.holds)))
    # Locked, it is read afresh: a copy loaded earlier in the session must not hide a change.
    order = session.scalar(stmt.with_for_update().execution_options(populate_existing=True)
                           if lock else stmt)
    if order is None:
        raise NotFound(f"There is no order {number.strip().upper()}.")
    return order


@dataclass(frozen=True)
class ConsoleOrder:
    """Everything the console's order page shows."""

    detail: order_page.OrderDetail
    customer: Customer | None
    attempts: list[PaymentAttempt]
    notes: list[OrderNote]  # newest first
    timeline: list[queries.TimelineEntry]

    @property
    def order(self) -> Order:
        return self.detail.order

    @property
    def lines_changeable(self) -> bool:
        return self.order.status in CHANGEABLE


def console_order(session: Session, order: Order) -> ConsoleOrder:
    """The order page's data: a fixed number of queries whatever the order holds."""
    detail = order_page.order_detail(session, order)
    customer = session.get(Customer, order.customer_id) if order.customer_id else None
    attempts = session.scalars(select(PaymentAttempt).where(PaymentAttempt.order_id == order.id)
                               .order_by(PaymentAttempt.id)).all()
    notes = session.scalars(select(OrderNote).where(OrderNote.order_id == order.id)
                            .order_by(OrderNote.at.desc(), OrderNote.id.desc())).all()
    return ConsoleOrder(detail, customer, list(attempts), list(notes),
                        staff_timeline(session, order))


def staff_timeline(session: Session, order: Order) -> list[queries.TimelineEntry]:
    """Every audit event of the order, oldest first, with who did it."""
    events = session.scalars(select(AuditEvent).where(
        AuditEvent.subject_type == Order.__tablename__, AuditEvent.subject_id == str(order.id))
        .order_by(AuditEvent.at, AuditEvent.id))
    return [queries.TimelineEntry(e.at, _label(e), _staff_detail(e)) for e in events]


def _label(event: AuditEvent) -> str:
    return (queries.TIMELINE_LABELS.get(event.action) or STAFF_LABELS.get(event.action)
            or event_label(event.action))


def _staff_detail(event: AuditEvent) -> str:
    data = event.data or {}
    parts = [event.actor_label or event.actor_kind]
    if event.action in ("order.hold_placed", "order.hold_released"):
        parts.append(order_holds.reason_label(data.get("kind", ""), data.get("reason", "")))
    if event.action == "order.lines_changed":
        parts.append(f"total {data.get('total_before')} → {data.get('total_after')}, "
                     f"authorisation {code_label(data.get('authorisation')).lower()}")
    for key in ("reason", "note", "to", "error"):
        if key in data and data[key] and not (key == "reason" and "kind" in data):
            parts.append(str(data[key]))
    return " · ".join(parts)


# -- notes --------------------------------------------------------------------------------


def add_note(session: Session, order: Order, *, text: str, actor: audit.Actor) -> OrderNote:
    """A staff note on the order. Flushes; the caller commits."""
    text = (text or "").strip()
    if not text:
        raise OrderError("Write the note first.", field="text")
    note = OrderNote(order_id=order.id, author=actor.label, text=text[:2000])
    session.add(note)
    audit.record(session, "order.note_added", actor=actor, channel=CHANNEL, subject=order,
                 data={"note": text[:200]})
    session.flush()
    return note


def record_confirmation_resent(session: Session, order: Order, *, actor: audit.Actor) -> None:
    """The confirmation e-mail goes out again once this commits (core.notifications);
    audited."""
    if order.status in ("draft", "cancelled"):
        raise OrderError("A cancelled order has no confirmation to send.")
    audit.record(session, "order.confirmation_resent", actor=actor, channel=CHANNEL,
                 subject=order, data={"to": order.email})
    events.record(session, events.ConfirmationResendAsked(order.id))


# -- changing lines -----------------------------------------------------------------------


@dataclass(frozen=True)
class LineChanges:
    """What the agent asks for: new quantities by line id, lines to remove, (SKU, qty) to add."""

    quantities: Mapping[int, int] = field(default_factory=dict)
    remove: frozenset[int] = frozenset()
    add: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class ChangeOutcome:
    total_before: Decimal
    total_after: Decimal
    authorisation: str  # none | kept | voided | void_failed
    hold: OrderHold | None = None  # payment review: the money no longer covers the order
    approval: OrderHold | None = None  # a discount now beyond the acting agent's limits
    credit: OrderHold | None = None  # an order on account grown beyond the credit limit


@dataclass
class _Wanted:
    variant_id: int
    quantity: int
    line: OrderLine | None  # None: a line to add
    sku: str


def change_lines(session: Session, order: Order, *, changes: LineChanges, actor: audit.Actor,
                 gateway: VoidingGateway | None = None,
                 commit: Callable[[], None] | None = None,
                 authority: discounts.Authority | None = None,
                 overdue_days: int = OVERDUE_DAYS) -> ChangeOutcome:
    """Change quantities, remove and add lines; re-price, re-reserve, re-total, check the
    agents' prices against `authority` (the acting agent's discount limits; None: they
    may give no discount) and adjust the card authorisation (see the module's docstring).
    An order on account that grows is credit-checked with `overdue_days` (the console
    passes the CREDIT_OVERDUE_DAYS setting).
    Flushes; the caller commits.

    With `commit`, the changed order (and any hold) is committed before the payment service
    is asked to void, as cancel_and_void does.
    """
    if order.status not in CHANGEABLE:
        raise OrderError(f"Order {order.number} is {order.status.replace('_', ' ')}; its "
                         "lines can only change before it goes to the warehouse.")
    if session.scalar(select(PaymentAttempt.id).where(
            PaymentAttempt.order_id == order.id,
            PaymentAttempt.status.in_(["creating", "requires_action"])).limit(1)):
        # Its amount was fixed when it started; changing the lines under it would confirm
        # the order with the wrong amount authorised.
        raise OrderError(f"A card payment for order {order.number} is in progress; change "
                         "the lines once it has finished or been abandoned.")
    wanted = _wanted(session, order, changes)
    priced = _price(session, order, wanted)
    before = _snapshot(order)
    total_before = order.gross_total
    new_total = priced.gross_total.amount + order.shipping_amount
    authorised = _authorised_attempts(session, order)
    # What is already secured: card authorisations and money paid in advance (a gift card).
    covered = sum((a.amount for a in authorised), Decimal(0)) + order.amount_prepaid
    short = new_total > covered and order.payment_method != "on_account"
    needs_void = bool(authorised) and short
    if needs_void and gateway is None:
        raise OrderError("The card authorisation must be voided, but no payment service "
                         "was given.")
    grown = _grown_overrides(wanted)
    given_before = discounts.given_away(discounts.line_items(order.lines))
    stock = _re_reserve(session, order, wanted, by=actor.label)
    _apply(session, order, wanted, priced, stock)
    promotion_uses.follow(session, order, priced, actor=actor, channel=CHANNEL)
    approval = discounts.check_order(
        session, order, actor=actor, lines=grown, given_before=given_before,
        authority=authority or discounts.Authority(actor.label, Decimal(0), Decimal(0)),
        context="Lines changed: ")
    outcome = ChangeOutcome(total_before, order.gross_total, "kept" if authorised else "none")
    if needs_void:
        outcome = _reauthorisation_needed(session, order, authorised, gateway, actor, commit,
                                          total_before)
    elif short and order.amount_prepaid and order.payment_state == "captured":
        # Paid in full by gift card, and now it is not: the rest must be paid before release.
        hold = order_holds.place_hold(
            session, order, kind="payment_review", reason_code="reauthorisation_needed",
            note=(f"Lines changed: the total is now {order.gross_total} {order.currency}, "
                  f"{order.amount_prepaid} {order.currency} was paid in advance. Take a card "
                  "for the rest or send a pay link."), actor=actor)
        move_payment(order, PaymentState.UNPAID)
        outcome = ChangeOutcome(total_before, order.gross_total, "none", hold)
    credit = None
    if order.payment_method == "on_account" and order.gross_total > total_before:
        # An order on account that grows lets the customer owe more (review finding M8).
        credit = credit_checks.check_order(session, order, actor=actor,
                                           overdue_days=overdue_days)
    audit.record(session, "order.lines_changed", actor=actor, channel=CHANNEL, subject=order,
                 data={"before": before, "after": _snapshot(order),
                       "total_before": str(total_before), "total_after": str(order.gross_total),
                       "authorisation": outcome.authorisation,
                       "discount_approval_needed": approval is not None,
                       "credit_hold": credit.reason_code if credit else None,
                       "coupon_problems": list(priced.coupon_problems)})
    session.flush()
    return dataclasses.replace(outcome, approval=approval, credit=credit)


def _grown_overrides(wanted: list[_Wanted]) -> list[OrderLine]:
    """Lines with an agent's price that the change makes larger (before it is applied)."""
    return [w.line for w in wanted if w.line is not None
            and w.line.list_unit_price is not None and w.quantity > w.line.quantity]


def _wanted(session: Session, order: Order, changes: LineChanges) -> list[_Wanted]:
    """The lines the order will have, merged by variant, validated."""
    by_id = {l.id: l for l in order.lines}
    unknown = (set(changes.quantities) | set(changes.remove)) - by_id.keys()
    if unknown:
        raise OrderError("A line you changed is no longer on this order; reload the page.")
    wanted: list[_Wanted] = []
    for line in order.lines:
        quantity = changes.quantities.get(line.id, line.quantity)
        if line.id in changes.remove or quantity == 0:
            continue
        _check_quantity(quantity, line.sku)
        wanted.append(_Wanted(line.variant_id, quantity, line, line.sku))
    if changes.add:
        by_variant = {w.variant_id: w for w in wanted}
        for variant_id, sku, quantity in _added(session, order, changes.add):
            if variant_id in by_variant:
                by_variant[variant_id].quantity += quantity
                _check_quantity(by_variant[variant_id].quantity, sku)
            else:
                by_variant[variant_id] = _Wanted(variant_id, quantity, None, sku)
                wanted.append(by_variant[variant_id])
    if not wanted:
        raise OrderError("An order needs at least one line; cancel the order instead.")
    return wanted


def _check_quantity(quantity: int, sku: str) -> None:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise OrderError(f"The quantity of {sku} must be between 1 and {MAX_QUANTITY} "
                         "(0 removes the line).", field="quantity")


def _added(session: Session, order: Order, add: tuple[tuple[str, int], ...]
           ) -> list[tuple[int, str, int]]:
    """(variant id, SKU, quantity) of SKUs to add, each sold in the order's channel."""
    skus = {sku.strip().upper() for sku, _ in add}
    channel = pricing.get_channel(session, pricing_channel_code(session, order))
    found = {sku.upper(): vid for sku, vid in session.execute(
        select(Variant.sku, Variant.id).join(Product, Product.id == Variant.product_id)
        .where(func.upper(Variant.sku).in_(skus), Variant.active,
               sellable(session, channel.id))).all()}
    if missing := sorted(skus - found.keys()):
        raise OrderError(f"No item with SKU {', '.join(missing)} is sold in {channel.name}.",
                         field="add_sku")
    out = []
    for sku, quantity in add:
        _check_quantity(quantity, sku.strip().upper())
        out.append((found[sku.strip().upper()], sku.strip().upper(), quantity))
    return out


def pricing_channel_code(session: Session, order: Order) -> str:
    """The channel whose prices the order was placed at: the customer's web channel."""
    if order.customer_id:
        kind = session.scalar(select(Customer.kind).where(Customer.id == order.customer_id))
        return "web-b2b" if kind == "company" else "web-b2c"
    return order.channel_code if order.channel_code in ("web-b2c", "web-b2b") else "web-b2c"


def pricing_context(session: Session, order: Order) -> PricingContext:
    """The context the order was priced in at placement (see the module's docstring)."""
    channel = pricing.get_channel(session, pricing_channel_code(session, order))
    customer = session.get(Customer, order.customer_id) if order.customer_id else None
    address = order.shipping_address or {}
    ctx = pricing.make_context(channel, customer=customer, at=order.placed_at,
                               coupon_codes=order.coupon_codes or (),
                               country=address.get("country", ""),
                               region=address.get("region", ""), email=order.email)
    # The order's own price mode and currency, whatever the channel says today.
    return dataclasses.replace(ctx, channel=dataclasses.replace(
        ctx.channel, prices_include_tax=order.prices_include_tax, currency=order.currency))


def _price(session: Session, order: Order, wanted: list[_Wanted], *,
           at: dt.datetime | None = None) -> PricedCart:
    ctx = pricing_context(session, order)
    if at is not None:  # today's prices, not those of the day it was placed
        ctx = dataclasses.replace(ctx, at=at)
    facts = pricing.load_facts(session, ctx, [w.variant_id for w in wanted])
    lines = []
    for w in wanted:
        found = facts.get(w.variant_id)
        if found is None:
            raise OrderError(f"{w.sku} no longer exists and cannot be priced.")
        if w.line is not None and w.line.list_unit_price is not None:
            found = dataclasses.replace(found, candidates=(_override(w.line, order),))
        lines.append((found, w.quantity))
    return engine.price(ctx, lines, _own_redemptions_uncounted(session, order, ctx))


def _override(line: OrderLine, order: Order) -> ListPrice:
    """The agent's unit price as the only list price of the line."""
    return ListPrice(price_list_id=0, code="override",
                     name=f"Agent price ({line.override_reason or 'override'})",
                     scope="contract", priority=0, prices_include_tax=order.prices_include_tax,
                     min_quantity=1, unit_price=line.unit_price)


def _own_redemptions_uncounted(session: Session, order: Order, ctx: PricingContext
                               ) -> list[engine.PromotionInfo]:
    """Active promotions, with this order's own uses taken out of their usage counts."""
    promotions = pricing.load_promotions(session, ctx)
    own = set(session.scalars(select(PromotionRedemption.promotion_id)
                              .where(PromotionRedemption.reference == order.number)))
    return [dataclasses.replace(p, times_used=max(0, p.times_used - 1),
                                used_by_customer=max(0, p.used_by_customer - 1))
            if p.id in own else p for p in promotions]


def _snapshot(order: Order) -> list[dict]:
    return [{"sku": l.sku, "quantity": l.quantity, "unit_price": str(l.unit_price),
             "gross": str(l.gross)} for l in order.lines]


def _re_reserve(session: Session, order: Order, wanted: list[_Wanted], *, by: str
                ) -> dict[int, inventory.Reservation]:
    """Release what the order holds and reserve what it will hold, all or nothing."""
    with session.begin_nested():
        inventory.release(session, [(l.variant_id, l.warehouse, l.quantity_reserved,
                                     l.quantity_backordered) for l in order.lines],
                          reference=order.number, by=by)
        return inventory.reserve(
            session, [(w.variant_id, w.quantity) for w in wanted],
            warehouses=inventory.warehouses_for(session, order.channel_code),
            reference=order.number, by=by,
            skus={w.variant_id: w.sku for w in wanted})


def _apply(session: Session, order: Order, wanted: list[_Wanted], priced: PricedCart,
           stock: dict[int, inventory.Reservation] | None = None) -> None:
    """Write the priced lines onto the order (update, add, delete) and its totals."""
    keep = {id(w.line) for w in wanted if w.line is not None}
    for line in [l for l in order.lines if id(l) not in keep]:
        order.lines.remove(line)  # delete-orphan
    for w, p in zip(wanted, priced.lines):
        line = w.line
        if line is None:
            line = OrderLine(variant_id=p.variant_id, sku=p.sku, name=p.name,
                             promised_date=order.promised_date, quantity_shipped=0,
                             quantity_invoiced=0, quantity_returned=0, price_source="")
            order.lines.append(line)
        if line.list_unit_price is None:
            line.price_source = f"{p.trace.price_list} from {p.trace.quantity_break}"
        line.quantity = p.quantity
        if stock is not None:  # None: re-priced only, the stock stays as it is
            _take_stock(line, p.variant_id, stock)
        line.unit_price, line.amount, line.discount = p.unit_price, p.amount, p.discount
        line.net, line.tax, line.gross, line.tax_rate = p.net, p.tax, p.gross, p.tax_rate
        line.discounts = [{"promotion_id": a.promotion_id, "name": a.name,
                           "amount": str(a.amount)} for a in p.trace.promotions]
    if stock is not None:  # the order arrives when its last line does
        days = [l.promised_date for l in order.lines if l.promised_date]
        order.promised_date = max(days) if days else order.promised_date
    shipping_net = order.shipping_amount - order.shipping_tax
    order.subtotal = priced.subtotal.amount
    order.discount_total = priced.discount_total.amount
    order.net_total = priced.net_total.amount + shipping_net
    order.tax_total = priced.tax_total.amount + order.shipping_tax
    order.gross_total = priced.gross_total.amount + order.shipping_amount
    session.flush()


def _take_stock(line: OrderLine, variant_id: int, stock: dict[int, inventory.Reservation]
                ) -> None:
    """The line's share of its variant's reservation; a variant on two lines: the second
    takes what the first left."""
    held = stock[variant_id]
    line.warehouse, line.supplier_id = held.warehouse, held.supplier_id
    line.quantity_reserved = min(line.quantity, held.reserved)
    line.quantity_backordered = (0 if held.warehouse is None
                                 else line.quantity - line.quantity_reserved)
    stock[variant_id] = dataclasses.replace(held, reserved=held.reserved - line.quantity_reserved)
    if held.promise is not None and held.promise.ships_on:  # promised again, keeping transit
        transit = (_working_days(line.ships_on, line.promised_date)
                   if line.ships_on and line.promised_date else DEFAULT_TRANSIT_DAYS)
        line.ships_on = held.promise.ships_on
        line.promised_date = inventory.add_working_days(line.ships_on, transit)


DEFAULT_TRANSIT_DAYS = 2  # a line added by hand: the usual parcel transit


def _working_days(start, end) -> int:
    days, day = 0, start
    while day < end:
        day = inventory.add_working_days(day, 1)
        days += 1
    return days


def _authorised_attempts(session: Session, order: Order) -> list[PaymentAttempt]:
    return list(session.scalars(select(PaymentAttempt).where(
        PaymentAttempt.order_id == order.id, PaymentAttempt.status == "authorised",
        PaymentAttempt.stripe_id.is_not(None)).order_by(PaymentAttempt.id)))


def _reauthorisation_needed(session: Session, order: Order, authorised: list[PaymentAttempt],
                            gateway: VoidingGateway, actor: audit.Actor,
                            commit: Callable[[], None] | None,
                            total_before: Decimal) -> ChangeOutcome:
    """The authorisation is too small: hold the order, then void the old authorisation."""
    covered = sum((a.amount for a in authorised), Decimal(0))
    hold = order_holds.place_hold(
        session, order, kind="payment_review", reason_code="reauthorisation_needed",
        note=(f"Lines changed: the total is now {order.gross_total} {order.currency}, the card "
              f"was authorised for {covered} {order.currency}. Take the card again or send a "
              "pay link."), actor=actor)
    if commit is not None:
        commit()
    voided = [void_authorisation(session, order, attempt, gateway, actor) for attempt in authorised]
    if all(voided):
        move_payment(order, PaymentState.UNPAID)
    return ChangeOutcome(total_before, order.gross_total,
                         "voided" if all(voided) else "void_failed", hold)


# -- re-pricing at a later day (an order approved long after it was submitted) -------------


def price_again(session: Session, order: Order, *, at: dt.datetime) -> PricedCart:
    """The order's lines priced at `at` in the context it was placed in (customer, channel,
    address, coupons), agents' prices kept; nothing changes. The pricing engine's queries."""
    return _price(session, order, [_Wanted(l.variant_id, l.quantity, l, l.sku)
                                   for l in order.lines], at=at)


def reprice(session: Session, order: Order, *, at: dt.datetime, actor: audit.Actor,
            channel: str = CHANNEL) -> tuple[Decimal, Decimal]:
    """Re-price the order's lines at `at` (same quantities, stock untouched) and re-total
    it; (total before, total after). Audited as "order.repriced". Flushes."""
    wanted = [_Wanted(l.variant_id, l.quantity, l, l.sku) for l in order.lines]
    priced = _price(session, order, wanted, at=at)
    before, total_before = _snapshot(order), order.gross_total
    _apply(session, order, wanted, priced)
    promotion_uses.follow(session, order, priced, actor=actor, channel=channel)
    audit.record(session, "order.repriced", actor=actor, channel=channel, subject=order,
                 data={"before": before, "after": _snapshot(order),
                       "total_before": str(total_before), "total_after": str(order.gross_total),
                       "priced_at": at.isoformat()})
    session.flush()
    return total_before, order.gross_total
