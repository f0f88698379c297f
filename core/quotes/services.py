"""Quotes: requested from the cart or made on the phone, priced by an agent, sent, then
accepted, declined or left to expire.

Prices come from the pricing engine the orders use: a quote's lines are priced in the
quote's channel (the customer's web channel: web-b2b for a company) at the customer's
prices, with the agent's overrides (core.orders.services.price_with_overrides, the same
engine, tax and rounding as an order). A quote is a negotiated price: no promotion applies
to it, neither when it is priced nor when it is accepted, so the order's goods cost exactly
what was quoted whatever promotions start or end meanwhile (tax follows the ship-to and
shipping is added at acceptance, as for any order). Each line keeps the list unit price
next to the quoted one and the reason; the quote keeps its totals. Accepting places an
order at the quoted unit prices (core.workflows.quote_acceptance).

Agents' limits are those of orders (core.orders.discounts): a quote whose prices go beyond
the agent's percentage per line, or give away more than their amount per quote, cannot be
sent by that agent; a supervisor (whose own, larger limits apply) sends it. The editor and
the worklist say so before anyone tries. Every function flushes; the caller commits.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased, selectinload

from core import audit, clock, events
from core.agents.models import Agent
from core.catalog.assortment import sellable
from core.catalog.models import Product, Variant
from core.customers import roles
from core.customers.models import Customer, CustomerUser
from core.db import utcnow
from core.errors import DomainError, NotFound
from core.money import Money
from core.numbering import next_number
from core.orders import discounts
from core.orders.cart import MAX_LINE_QUANTITY, MAX_LINES
from core.orders.models import Order
from core.orders.services import (OVERRIDE_REASONS, QUOTED, OrderError, PriceOverride,
                                  price_with_overrides)
from core.paging import Page, paginate
from core.pricing import services as pricing
from core.pricing.engine import PricingContext
from core.quotes.models import Quote, QuoteLine
from core.quotes.states import OPEN, QuoteStatus, label, move_quote

Q = QuoteStatus
B2C, B2B = "web-b2c", "web-b2b"
# What an agent may give a quoted price for: the orders' reasons, less the one that an
# accepted quote's order lines carry.
REASONS = {code: text for code, text in OVERRIDE_REASONS.items() if code != QUOTED}
COMMENT_LENGTH = 2000
NOTE_LENGTH = 2000
REASON_LENGTH = 1000
EXPIRING_SOON_DAYS = 7  # the worklist marks sent quotes expiring within this many days


class QuoteError(DomainError):
    code = "quote"


class QuoteExpired(QuoteError):
    """Too late to accept: the quote was moved to expired (the caller commits that)."""

    code = "quote_expired"


# -- reading ------------------------------------------------------------------------------

def get_quote(session: Session, number: str, *, lock: bool = False) -> Quote:
    """The quote numbered `number` with its lines; NotFound otherwise. With `lock`, under
    its row lock, read afresh."""
    stmt = (select(Quote).where(Quote.number == number.strip().upper()[:20])
            .options(selectinload(Quote.lines)))
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    quote = session.scalar(stmt)
    if quote is None:
        raise NotFound("We could not find that quote.")
    return quote


def quote_for_user(session: Session, user: CustomerUser, number: str, *,
                   lock: bool = False) -> Quote:
    """The quote as the shop shows it to `user`: NotFound when it is another customer's, or
    (for a company buyer) another buyer's request, or still being prepared by an agent."""
    try:
        quote = get_quote(session, number, lock=lock)
    except NotFound:
        raise NotFound("We could not find that quote.") from None
    if not visible_to(user, quote):
        raise NotFound("We could not find that quote.")
    return quote


def visible_to(user: CustomerUser, quote: Quote) -> bool:
    """Whether the shop shows the quote to this login (core.customers.roles): a buyer the
    quotes they requested, an approver or admin (or a person) all of the customer's."""
    return roles.owns(user, customer_id=quote.customer_id, placed_by_kind="customer",
                      placed_by_id=quote.requested_by_id)


def today() -> dt.date:
    return clock.business_date(utcnow())


def lapsed(quote: Quote, on: dt.date | None = None) -> bool:
    """A sent quote whose expiry date has passed (it is valid through that day)."""
    return (quote.status == Q.SENT and quote.expires_on is not None
            and quote.expires_on < (on or today()))


def shown_status(quote: Quote, on: dt.date | None = None) -> str:
    """The status as people should read it: a sent quote past its date is expired even
    before the periodic task moved it."""
    return Q.EXPIRED if lapsed(quote, on) else quote.status


def reopened(quote: Quote, on: dt.date | None = None) -> bool:
    """Accepted, but the order it became was cancelled (rejected by the company's approver,
    cancelled by the buyer or an agent, its card never paid) while the quote's date has not
    passed: the offer stands and may be accepted again."""
    return (quote.status == Q.ACCEPTED and quote.order is not None
            and quote.order.status == "cancelled" and quote.expires_on is not None
            and quote.expires_on >= (on or today()))


def can_accept(quote: Quote, on: dt.date | None = None) -> bool:
    return (quote.status == Q.SENT and not lapsed(quote, on)) or reopened(quote, on)


# -- pricing --------------------------------------------------------------------------------

def channel_for(customer: Customer) -> str:
    """The web channel whose prices the customer sees online."""
    return B2B if customer.is_company else B2C


def context_for(session: Session, quote: Quote, customer: Customer) -> tuple[object, PricingContext]:
    channel = pricing.get_channel(session, quote.channel_code)
    return channel, pricing.make_context(channel, customer=customer)


def _override(line: QuoteLine) -> PriceOverride | None:
    return (PriceOverride(reason=line.override_reason, unit_price=line.unit_price)
            if line.override_reason else None)


def reprice(session: Session, quote: Quote) -> None:
    """Price every line again, now: list prices of today, the agent's prices kept, and the
    totals from the same engine as orders. Same queries whatever the number of lines."""
    lines = list(quote.lines)
    if not lines:
        quote.subtotal = quote.discount_total = quote.net_total = Decimal(0)
        quote.tax_total = quote.gross_total = Decimal(0)
        return
    customer = session.get(Customer, quote.customer_id)
    _, ctx = context_for(session, quote, customer)
    overrides = {l.variant_id: o for l in lines if (o := _override(l)) is not None}
    try:
        priced = price_with_overrides(session, ctx, [(l.variant_id, l.quantity) for l in lines],
                                      overrides, promotions=False)
    except OrderError as err:
        raise QuoteError(str(err), field=err.field) from None
    by_variant = {l.variant_id: l for l in lines}
    for base, line in zip(priced.base.lines, priced.priced.lines):
        row = by_variant[line.variant_id]
        row.list_unit_price = base.unit_price
        row.unit_price = line.unit_price
        row.override_reason = priced.reasons.get(line.variant_id, "")
        row.net, row.tax, row.gross = line.net, line.tax, line.gross
    p = priced.priced
    quote.subtotal = p.subtotal.amount
    quote.discount_total = p.discount_total.amount
    quote.net_total = p.net_total.amount
    quote.tax_total = p.tax_total.amount
    quote.gross_total = p.gross_total.amount


# -- agents' limits ----------------------------------------------------------------------------

@dataclass(frozen=True)
class LimitCheck:
    """How a quote's prices stand against one agent's authority."""

    authority: discounts.Authority
    over_lines: tuple[str, ...]  # "SKU 15.0 %" beyond the percentage
    given: Decimal  # money given away: (list - quoted) x quantity over overridden lines
    over_amount: bool

    @property
    def needs_supervisor(self) -> bool:
        return bool(self.over_lines) or self.over_amount

    def explain(self, currency: str) -> str:
        parts = []
        if self.over_lines:
            parts.append(f"discounts beyond {self.authority.percent.normalize():f} %: "
                         + ", ".join(self.over_lines))
        if self.over_amount:
            parts.append(f"{Money(self.given, currency).format()} given away, beyond "
                         f"{Money(self.authority.amount, currency).format()}")
        return "; ".join(parts)


def check_limits(quote: Quote, agent: Agent, limits: discounts.DiscountLimits) -> LimitCheck:
    """The quote's overridden lines against the agent's limits (as orders are judged)."""
    authority = discounts.authority(agent, limits)
    judged = [l for l in quote.lines if l.override_reason]
    over = tuple(f"{l.sku} {discounts.discount_percent(l.list_unit_price, l.unit_price)} %"
                 for l in judged if discounts.beyond_limit(l.list_unit_price, l.unit_price,
                                                           authority.percent, quote.currency))
    given = discounts.given_away((l.list_unit_price, l.unit_price, l.quantity) for l in judged)
    return LimitCheck(authority, over, given, discounts.over_amount(given, authority))


# -- making a quote ----------------------------------------------------------------------------

def _new_quote(session: Session, customer: Customer, *, requested_by: CustomerUser | None,
               agent: Agent | None, comment: str, valid_days: int) -> Quote:
    channel = pricing.get_channel(session, channel_for(customer))
    quote = Quote(number=next_number(session, "quote"), customer_id=customer.id,
                  status=Q.DRAFT, channel_code=channel.code, currency=channel.currency,
                  prices_include_tax=channel.prices_include_tax,
                  requested_by_id=requested_by.id if requested_by else None,
                  agent_id=agent.id if agent else None, comment=comment.strip()[:COMMENT_LENGTH],
                  note="", expires_on=today() + dt.timedelta(days=valid_days))
    session.add(quote)
    session.flush()
    return quote


def _variants(session: Session, channel_id: int, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """(SKU, name) of the active variants among `ids` sold in the channel."""
    rows = session.execute(
        select(Variant.id, Variant.sku, Product.name, Variant.name)
        .join(Product, Product.id == Variant.product_id)
        .where(Variant.id.in_(list(ids)), Variant.active, sellable(session, channel_id)))
    return {vid: (sku, f"{pname} – {vname}" if vname and vname != pname else pname)
            for vid, sku, pname, vname in rows}


def request_quote(session: Session, *, lines: Sequence[tuple[int, int]], customer: Customer,
                  user: CustomerUser, comment: str, actor: audit.Actor, valid_days: int,
                  channel: str = "web") -> Quote:
    """A buyer asks for a quote on their cart's lines: a draft with those lines at today's
    prices and their comment, waiting in the console's worklist for an agent. The cart is
    left as it is."""
    if user.customer_id != customer.id:
        raise NotFound("We could not find that customer.")
    if not lines:
        raise QuoteError("Your cart is empty: add what you want a quote for first.")
    if len(comment) > COMMENT_LENGTH:
        raise QuoteError(f"Keep the comment under {COMMENT_LENGTH} characters.", field="comment")
    quote = _new_quote(session, customer, requested_by=user, agent=None, comment=comment,
                       valid_days=valid_days)
    channel_row = pricing.get_channel(session, quote.channel_code)
    known = _variants(session, channel_row.id, [vid for vid, _ in lines])
    if missing := {vid for vid, _ in lines} - known.keys():
        raise QuoteError(f"{len(missing)} item(s) in your cart are no longer sold here; "
                         "remove them and ask again.")
    for vid, qty in lines:
        sku, name = known[vid]
        quote.lines.append(QuoteLine(variant_id=vid, sku=sku, name=name[:300], quantity=qty,
                                     list_unit_price=Decimal(0), unit_price=Decimal(0)))
    reprice(session, quote)
    audit.record(session, "quote.requested", actor=actor, channel=channel, subject=quote,
                 data={"number": quote.number, "lines": len(lines), "comment": quote.comment})
    session.flush()
    return quote


def create_quote(session: Session, *, customer: Customer, agent: Agent, valid_days: int,
                 buyer: CustomerUser | None = None) -> Quote:
    """An agent starts a quote for a customer (on the phone): an empty draft, theirs to
    price. `buyer`, a login of the customer, is who it is for (they see it in the shop and
    are e-mailed it); none: the customer's e-mail, and the company's approvers see it."""
    if buyer is not None and buyer.customer_id != customer.id:
        raise QuoteError("Choose one of the customer's logins.", field="buyer")
    quote = _new_quote(session, customer, requested_by=buyer, agent=agent, comment="",
                       valid_days=valid_days)
    audit.record(session, "quote.created", actor=_actor(agent), channel="callcenter",
                 subject=quote, data={"number": quote.number, "customer": customer.number})
    return quote


def _actor(agent: Agent) -> audit.Actor:
    return audit.Actor("agent", agent.id, agent.email)


def _editable(quote: Quote) -> None:
    if quote.status != Q.DRAFT:
        raise QuoteError(f"This quote is {label(quote.status).lower()}; only a quote being "
                         "prepared can be changed.")


def _claim(quote: Quote, agent: Agent) -> None:
    """The agent who prices a quote is the one named on it (the last who changed it)."""
    quote.agent_id = agent.id


def add_line(session: Session, quote: Quote, *, sku: str, quantity: int, agent: Agent) -> QuoteLine:
    """Add `quantity` of the item with this SKU (more of it when it is already quoted)."""
    _editable(quote)
    if not 1 <= quantity <= MAX_LINE_QUANTITY:
        raise QuoteError(f"Enter a quantity from 1 to {MAX_LINE_QUANTITY}.", field="quantity")
    text = sku.strip()
    if not text:
        raise QuoteError("Enter a SKU.", field="sku")
    channel = pricing.get_channel(session, quote.channel_code)
    vid = session.scalar(select(Variant.id).join(Product, Product.id == Variant.product_id)
                         .where(func.upper(Variant.sku) == text.upper()[:64], Variant.active,
                                sellable(session, channel.id)))
    if vid is None:
        raise QuoteError(f"No item with the SKU “{text[:64]}” is sold to this customer.",
                         field="sku")
    line = next((l for l in quote.lines if l.variant_id == vid), None)
    if line is not None:
        if line.quantity + quantity > MAX_LINE_QUANTITY:
            raise QuoteError(f"At most {MAX_LINE_QUANTITY} of one item.", field="quantity")
        line.quantity += quantity
    else:
        if len(quote.lines) >= MAX_LINES:
            raise QuoteError(f"A quote holds at most {MAX_LINES} lines.", field="sku")
        found_sku, name = _variants(session, channel.id, [vid])[vid]
        line = QuoteLine(variant_id=vid, sku=found_sku, name=name[:300], quantity=quantity,
                         list_unit_price=Decimal(0), unit_price=Decimal(0))
        quote.lines.append(line)
    _claim(quote, agent)
    reprice(session, quote)
    audit.record(session, "quote.line_added", actor=_actor(agent), channel="callcenter",
                 subject=quote, data={"sku": line.sku, "quantity": quantity})
    session.flush()
    return line


def _line(quote: Quote, line_id: int) -> QuoteLine:
    line = next((l for l in quote.lines if l.id == line_id), None)
    if line is None:
        raise NotFound("That line is not on this quote.")
    return line


def set_quantity(session: Session, quote: Quote, line_id: int, quantity: int, *,
                 agent: Agent) -> None:
    """Change a line's quantity; 0 removes it."""
    _editable(quote)
    line = _line(quote, line_id)
    if not 0 <= quantity <= MAX_LINE_QUANTITY:
        raise QuoteError(f"Enter a quantity from 0 to {MAX_LINE_QUANTITY}.", field="quantity")
    before = line.quantity
    if quantity == 0:
        quote.lines.remove(line)
    else:
        line.quantity = quantity
    _claim(quote, agent)
    session.flush()
    reprice(session, quote)
    audit.record(session, "quote.line_removed" if quantity == 0 else "quote.quantity_changed",
                 actor=_actor(agent), channel="callcenter", subject=quote,
                 data={"sku": line.sku, "from": before, "to": quantity})
    session.flush()


def remove_line(session: Session, quote: Quote, line_id: int, *, agent: Agent) -> None:
    set_quantity(session, quote, line_id, 0, agent=agent)


def price_line(session: Session, quote: Quote, line_id: int, override: PriceOverride | None, *,
               agent: Agent) -> QuoteLine:
    """Give a line the agent's unit price, or a percentage off its list price, with a
    reason from REASONS; None: back to the list price. The limits are judged when the quote
    is sent (check_limits)."""
    _editable(quote)
    line = _line(quote, line_id)
    if override is not None:
        if override.reason not in REASONS:
            raise QuoteError("Choose a reason for the price change.", field="reason")
        if (override.unit_price is None) == (override.percent is None):
            raise QuoteError("Enter either a new unit price or a discount in percent.",
                             field="unit_price")
        if override.percent is not None:  # resolved against today's list price
            if not 0 < override.percent <= 100:
                raise QuoteError("Enter a discount from 0.01 to 100 %.", field="percent")
            reprice(session, quote)  # the list price of now
            unit = line.list_unit_price * (100 - override.percent) / 100
        else:
            if override.unit_price < 0:
                raise QuoteError("A unit price cannot be negative.", field="unit_price")
            unit = override.unit_price
        line.unit_price = unit
        line.override_reason = override.reason
    else:
        line.override_reason = ""
    _claim(quote, agent)
    reprice(session, quote)
    audit.record(session, "quote.price_changed" if override else "quote.price_reset",
                 actor=_actor(agent), channel="callcenter", subject=quote,
                 data={"sku": line.sku, "list_unit_price": str(line.list_unit_price),
                       "unit_price": str(line.unit_price), "reason": line.override_reason,
                       "percent": str(discounts.discount_percent(line.list_unit_price,
                                                                 line.unit_price))})
    session.flush()
    return line


def set_terms(session: Session, quote: Quote, *, expires_on: dt.date | None, note: str,
              agent: Agent, default_days: int) -> None:
    """The expiry date (none given: today + QUOTE_VALID_DAYS; never in the past) and the
    agent's note printed on the quote."""
    _editable(quote)
    if expires_on is None:
        expires_on = today() + dt.timedelta(days=default_days)
    if expires_on < today():
        raise QuoteError("The expiry date cannot be in the past.", field="expires_on")
    if expires_on > today() + dt.timedelta(days=366):
        raise QuoteError("A quote can be valid for a year at most.", field="expires_on")
    if len(note) > NOTE_LENGTH:
        raise QuoteError(f"Keep the note under {NOTE_LENGTH} characters.", field="note")
    quote.expires_on = expires_on
    quote.note = note.strip()
    _claim(quote, agent)
    audit.record(session, "quote.terms_set", actor=_actor(agent), channel="callcenter",
                 subject=quote, data={"expires_on": expires_on.isoformat(),
                                      "note": quote.note[:200]})
    session.flush()


# -- deciding -------------------------------------------------------------------------------------

def send_quote(session: Session, quote: Quote, *, agent: Agent,
               limits: discounts.DiscountLimits, default_days: int) -> Quote:
    """Send the quote to the customer: it becomes an offer until its expiry date, and the
    customer is e-mailed it with its PDF once this commits (core.notifications).

    Prices are taken again from today's price lists (the agent's kept), so what is sent is
    what the engine says now. Refused when it has no lines, when its date has passed, or
    when its prices go beyond the sending agent's limits (a supervisor sends it)."""
    _editable(quote)
    if not quote.lines:
        raise QuoteError("Add at least one line before sending the quote.", field="sku")
    if quote.expires_on is None:
        quote.expires_on = today() + dt.timedelta(days=default_days)
    if quote.expires_on < today():
        raise QuoteError("The expiry date has passed: set a new one before sending.",
                         field="expires_on")
    reprice(session, quote)
    check = check_limits(quote, agent, limits)
    if check.needs_supervisor:
        raise QuoteError("A supervisor must send this quote: its prices go beyond your limits ("
                         + check.explain(quote.currency) + ").")
    quote.agent_id = agent.id
    quote.sent_at = utcnow()
    move_quote(quote, Q.SENT, audit=audit.Entry(
        session, "quote.sent", _actor(agent), "callcenter",
        {"number": quote.number, "total": str(quote.gross_total),
         "expires_on": quote.expires_on.isoformat(), "given_away": str(check.given)}))
    events.record(session, events.QuoteSent(quote.id))
    session.flush()
    return quote


def decline_request(session: Session, quote: Quote, *, agent: Agent, reason: str) -> None:
    """An agent declines a requested quote (nothing to offer), saying why; the buyer sees
    the reason on the quote's page."""
    reason = reason.strip()
    if not reason:
        raise QuoteError("Say why the request is declined.", field="reason")
    if len(reason) > REASON_LENGTH:
        raise QuoteError(f"Keep the reason under {REASON_LENGTH} characters.", field="reason")
    _editable(quote)
    quote.reject_reason = reason
    quote.decided_at = utcnow()
    quote.decided_by = agent.email
    move_quote(quote, Q.REJECTED, audit=audit.Entry(
        session, "quote.declined_by_agent", _actor(agent), "callcenter", {"reason": reason}))
    session.flush()


def reject_quote(session: Session, quote: Quote, *, user: CustomerUser, reason: str,
                 actor: audit.Actor) -> None:
    """The buyer declines a sent quote, saying why (for the agent who made it)."""
    if not visible_to(user, quote):
        raise NotFound("We could not find that quote.")
    reason = reason.strip()
    if not reason:
        raise QuoteError("Tell us why you decline the quote.", field="reason")
    if len(reason) > REASON_LENGTH:
        raise QuoteError(f"Keep the reason under {REASON_LENGTH} characters.", field="reason")
    if quote.status != Q.SENT:
        raise QuoteError(f"This quote is {label(shown_status(quote)).lower()} and can no "
                         "longer be declined.")
    quote.reject_reason = reason
    quote.decided_at = utcnow()
    quote.decided_by = user.email
    move_quote(quote, Q.REJECTED, audit=audit.Entry(
        session, "quote.rejected", actor, "web", {"reason": reason}))
    session.flush()


def expire_quote(session: Session, quote: Quote, *, actor: audit.Actor) -> None:
    """A sent quote past its date: expired."""
    quote.decided_at = utcnow()
    move_quote(quote, Q.EXPIRED, audit=audit.Entry(
        session, "quote.expired", actor, "system",
        {"expires_on": quote.expires_on.isoformat() if quote.expires_on else ""}))


def check_acceptable(session: Session, quote: Quote, *, actor: audit.Actor) -> None:
    """Refuse to accept a quote that is not an open offer. One past its date is moved to
    expired first, and QuoteExpired says so: the caller commits that move, then shows the
    refusal."""
    if lapsed(quote):
        expire_quote(session, quote, actor=actor)
        session.flush()
        raise QuoteExpired(f"Quote {quote.number} expired on "
                           f"{quote.expires_on.strftime('%d %b %Y')} and can no longer be "
                           "accepted. Ask us for a new quote.")
    if quote.status == Q.ACCEPTED and quote.order is not None \
            and quote.order.status == "cancelled" and not reopened(quote):
        raise QuoteExpired(f"Quote {quote.number} expired on "
                           f"{quote.expires_on.strftime('%d %b %Y')}; its order was cancelled "
                           "and it can no longer be accepted. Ask us for a new quote.")
    if quote.status != Q.SENT and not reopened(quote):
        raise QuoteError(f"This quote is {label(quote.status).lower()} and cannot be accepted.")
    if not quote.lines:
        raise QuoteError("This quote has no lines.")


def mark_accepted(session: Session, quote: Quote, *, order_id: int, order_number: str,
                  user: CustomerUser, actor: audit.Actor) -> None:
    """The order at the quoted prices is placed: the quote is accepted and linked to it
    (again, when its earlier order was cancelled: see `reopened`)."""
    again, before = quote.status == Q.ACCEPTED, quote.order_id
    quote.order_id = order_id
    quote.decided_at = utcnow()
    quote.decided_by = user.email
    data = {"order": order_number, **({"replaces_order_id": before} if again else {})}
    move_quote(quote, Q.ACCEPTED, audit=audit.Entry(
        session, "quote.accepted_again" if again else "quote.accepted", actor, "web", data))
    session.flush()
    session.expire(quote, ["order"])


def overrides_for_order(quote: Quote) -> dict[int, PriceOverride]:
    """Every line at its quoted unit price, with the reason "quoted"."""
    return {l.variant_id: PriceOverride(reason=QUOTED, unit_price=l.unit_price)
            for l in quote.lines}


def expire_due_quotes(session: Session, *, on: dt.date | None = None,
                      batch: int = 500) -> int:
    """Move every sent quote whose expiry date passed to expired (the periodic task); the
    number moved. Flushes; the caller commits."""
    on = on or today()
    due = list(session.scalars(select(Quote).where(Quote.status == Q.SENT,
                                                   Quote.expires_on < on)
                               .order_by(Quote.id).limit(batch).with_for_update()))
    actor = audit.Actor.system("quote-expiry")
    for quote in due:
        expire_quote(session, quote, actor=actor)
    session.flush()
    return len(due)


# -- lists --------------------------------------------------------------------------------------

STATUS_FILTERS = {"": "Open (requested, being prepared, sent)", "requested": "Requested by buyers",
                  Q.DRAFT.value: "Being prepared", Q.SENT.value: "Sent",
                  "expiring": f"Sent, expiring within {EXPIRING_SOON_DAYS} days",
                  Q.ACCEPTED.value: "Accepted", Q.REJECTED.value: "Declined",
                  Q.EXPIRED.value: "Expired", "all": "All"}


@dataclass(frozen=True)
class WorklistRow:
    quote: Quote
    customer_number: str
    customer_name: str
    requested_by: str  # the buyer's name, "" for an agent's quote
    agent: str
    order_number: str

    @property
    def requested(self) -> bool:
        return self.quote.requested_by_id is not None and self.quote.agent_id is None

    def expiring_soon(self, on: dt.date) -> bool:
        q = self.quote
        return (q.status == Q.SENT and q.expires_on is not None
                and q.expires_on <= on + dt.timedelta(days=EXPIRING_SOON_DAYS))


def worklist(session: Session, *, status: str = "", query: str = "", page: int = 1,
             per_page: int = 50) -> Page[WorklistRow]:
    """The console's quotes: buyers' requests no agent has taken first, then drafts, then
    sent quotes by expiry date, then the rest newest first. Two queries whatever the page
    holds (the count and the rows, customer, buyer, agent and order joined)."""
    buyer = aliased(CustomerUser)
    on = today()
    stmt = (select(Quote, Customer.number, Customer.name, buyer.full_name, Agent.email,
                   Order.number)
            .join(Customer, Customer.id == Quote.customer_id)
            .outerjoin(buyer, buyer.id == Quote.requested_by_id)
            .outerjoin(Agent, Agent.id == Quote.agent_id)
            .outerjoin(Order, Order.id == Quote.order_id))
    untaken = (Quote.status == Q.DRAFT) & Quote.requested_by_id.is_not(None) & Quote.agent_id.is_(None)
    if status == "requested":
        stmt = stmt.where(untaken)
    elif status == "expiring":
        stmt = stmt.where(Quote.status == Q.SENT,
                          Quote.expires_on <= on + dt.timedelta(days=EXPIRING_SOON_DAYS))
    elif status in (s.value for s in Q):
        stmt = stmt.where(Quote.status == status)
    elif status != "all":
        stmt = stmt.where(Quote.status.in_([s.value for s in OPEN]))
    text = query.strip().upper()[:40]
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(func.upper(Quote.number).like(pattern, escape="\\")
                          | func.upper(Customer.name).like(pattern, escape="\\")
                          | func.upper(Customer.number).like(pattern, escape="\\"))
    rank = case((untaken, 0), (Quote.status == Q.DRAFT, 1), (Quote.status == Q.SENT, 2), else_=3)
    expiry = case((Quote.status == Q.SENT, Quote.expires_on), else_=None)
    stmt = stmt.order_by(rank, expiry.is_(None), expiry, Quote.created_at.desc(), Quote.id.desc())
    found = paginate(session, stmt, page=page, per_page=per_page)
    return found.map(lambda r: WorklistRow(r[0], r[1], r[2], r[3] or "", r[4] or "", r[5] or ""))


@dataclass(frozen=True)
class CustomerQuoteRow:
    quote: Quote
    requested_by: str
    order_number: str

    @property
    def status(self) -> str:
        return shown_status(self.quote)


def customer_quotes(session: Session, user: CustomerUser, *, page: int = 1,
                    per_page: int = 25) -> Page[CustomerQuoteRow]:
    """The quotes the shop lists for this login (core.customers.roles: a buyer their own
    requests, an approver or admin the company's), newest first, drafts included (shown as
    being prepared). Two queries whatever the page holds."""
    buyer = aliased(CustomerUser)
    stmt = (select(Quote, buyer.full_name, Order.number)
            .outerjoin(buyer, buyer.id == Quote.requested_by_id)
            .outerjoin(Order, Order.id == Quote.order_id)
            .where(roles.owned_by(user, Quote.customer_id, None, Quote.requested_by_id))
            .order_by(Quote.created_at.desc(), Quote.id.desc()))
    found = paginate(session, stmt, page=page, per_page=per_page)
    return found.map(lambda r: CustomerQuoteRow(r[0], r[1] or "", r[2] or ""))


def customer_logins(session: Session, customer: Customer) -> list[CustomerUser]:
    """The customer's active logins, for "who is this quote for"."""
    return list(session.scalars(select(CustomerUser).where(
        CustomerUser.customer_id == customer.id, CustomerUser.active)
        .order_by(CustomerUser.full_name, CustomerUser.id)))


def recipient(session: Session, quote: Quote) -> str:
    """Who is e-mailed the quote: the buyer it is for, else the customer's address."""
    if quote.requested_by_id is not None:
        user = session.get(CustomerUser, quote.requested_by_id)
        if user is not None and user.active:
            return user.email
    customer = session.get(Customer, quote.customer_id)
    return customer.email if customer is not None else ""
