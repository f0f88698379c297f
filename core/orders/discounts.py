"""Agents' discounts: how much each may give away without a supervisor's approval, and the
one check that puts an order on an approval hold when an agent's prices go beyond it.

Two limits apply to every agent, and either one asks for approval:

* a percentage off the list price, per line (DISCOUNT_LIMIT_*; an agent's own
  `max_discount_percent` wins; admin 100 %);
* an amount of money given away on the order, the sum over its overridden lines of
  (list unit price - agent's unit price) x quantity, in the order's currency and price
  mode (DISCOUNT_AMOUNT_LIMIT_*; admin has none).

The check runs when a phone order is placed (core.workflows.phone_orders) and again whenever
lines of an order with an agent's price change (core.workflows.order_maintenance): a discount
approved for one unit is not approved for twenty. The hold is placed by the agent who acts, so they
cannot release it themselves (core.orders.holds). An order already waiting for another
agent's approval gets a second hold in the name of the one who now goes beyond their
limits: otherwise a supervisor could grow the order and then release the first hold,
approving their own change.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.orm import Session

from core import audit
from core.agents.models import Agent
from core.config import Settings
from core.money import Money
from core.orders import holds
from core.orders.models import Order, OrderHold, OrderLine
from core.pricing.engine import round_money

KIND, REASON = "approval", "discount_over_limit"


@dataclass(frozen=True)
class DiscountLimits:
    """The largest discount each role gives without approval: percent off the list price,
    and money given away per order (whole units of the order's currency)."""

    agent: Decimal
    supervisor: Decimal
    agent_amount: Decimal = Decimal(Settings.DISCOUNT_AMOUNT_LIMIT_AGENT)
    supervisor_amount: Decimal = Decimal(Settings.DISCOUNT_AMOUNT_LIMIT_SUPERVISOR)

    @classmethod
    def from_settings(cls, settings) -> "DiscountLimits":
        return cls(Decimal(settings.DISCOUNT_LIMIT_AGENT),
                   Decimal(settings.DISCOUNT_LIMIT_SUPERVISOR),
                   Decimal(settings.DISCOUNT_AMOUNT_LIMIT_AGENT),
                   Decimal(settings.DISCOUNT_AMOUNT_LIMIT_SUPERVISOR))


@dataclass(frozen=True)
class Authority:
    """What one agent may give without approval; `amount` None is no amount limit."""

    who: str  # the agent's label, as holds record who placed them
    percent: Decimal
    amount: Decimal | None


def discount_limit(agent: Agent, limits: DiscountLimits) -> Decimal:
    """The agent's own limit when one is set, else their highest role's (admin: 100 %)."""
    if agent.max_discount_percent is not None:
        return Decimal(agent.max_discount_percent)
    if "admin" in agent.roles:
        return Decimal(100)
    if "supervisor" in agent.roles:
        return limits.supervisor
    if "agent" in agent.roles:
        return limits.agent
    return Decimal(0)


def amount_limit(agent: Agent, limits: DiscountLimits) -> Decimal | None:
    """The money the agent may give away on one order: their highest role's (admin: no
    limit; no order-taking role: nothing)."""
    if "admin" in agent.roles:
        return None
    if "supervisor" in agent.roles:
        return limits.supervisor_amount
    if "agent" in agent.roles:
        return limits.agent_amount
    return Decimal(0)


def authority(agent: Agent, limits: DiscountLimits) -> Authority:
    return Authority(agent.email, discount_limit(agent, limits), amount_limit(agent, limits))


def discount_percent(list_unit: Decimal, unit: Decimal) -> Decimal:
    """How far below the list price a unit price is, in percent to one decimal."""
    if list_unit <= 0:
        return Decimal(0)
    return ((list_unit - unit) * 100 / list_unit).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def beyond_limit(list_unit: Decimal, unit: Decimal, limit: Decimal, currency: str) -> bool:
    """True when the unit price is below what a discount of `limit` % gives, after the same
    rounding: entering exactly the limit never needs approval, whatever the cents."""
    return unit < round_money(list_unit * (100 - limit) / 100, currency)


def given_away(items: Iterable[tuple[Decimal | None, Decimal, int]]) -> Decimal:
    """The money agents' prices give away: sum of (list unit - unit) x quantity over
    (list unit price, unit price, quantity); lines without an override (list None) count
    nothing, nor does an agent's price above the list."""
    return sum((max(Decimal(0), (listed - unit) * quantity)
                for listed, unit, quantity in items if listed is not None), Decimal(0))


def line_items(lines: Iterable[OrderLine]) -> list[tuple[Decimal | None, Decimal, int]]:
    return [(l.list_unit_price, l.unit_price, l.quantity) for l in lines]


def over_amount(amount: Decimal, authority: Authority | None) -> bool:
    return authority is not None and authority.amount is not None and amount > authority.amount


def check_order(session: Session, order: Order, *, authority: Authority, actor: audit.Actor,
                lines: Iterable[OrderLine] | None = None, given_before: Decimal | None = None,
                context: str = "", channel: str = holds.CHANNEL) -> OrderHold | None:
    """Put the order on an approval hold when an agent's price goes beyond `authority`.

    `lines` are the overridden lines to judge by percent (default: every line with an
    agent's price). The money given away on the whole order is judged against the amount
    limit, unless it did not grow past `given_before` (a change that gives nothing more
    away needs no new approval). An order already waiting for an approval the acting agent
    asked for gets no second hold; one waiting only for others' gets a hold in the acting
    agent's name beside theirs. Returns the hold placed, if any. Flushes; the caller commits.
    """
    judged = [l for l in (order.lines if lines is None else lines)
              if l.list_unit_price is not None]
    over = [f"{l.sku} {discount_percent(l.list_unit_price, l.unit_price)} %" for l in judged
            if beyond_limit(l.list_unit_price, l.unit_price, authority.percent, order.currency)]
    given = given_away(line_items(order.lines))
    grew = given_before is None or given > given_before
    too_much = grew and over_amount(given, authority)
    if not over and not too_much:
        return None
    if any(h.kind == KIND and h.reason_code == REASON and h.placed_by == actor.label
           for h in order.active_holds):
        return None  # their approval, still to come from someone else, covers the order now
    parts = []
    if over:
        parts.append(f"discount beyond {authority.who}'s limit of "
                     f"{authority.percent.normalize():f} %: " + ", ".join(over))
    if too_much:
        parts.append(f"{Money(given, order.currency).format()} given away, beyond "
                     f"{authority.who}'s limit of "
                     f"{Money(authority.amount, order.currency).format()} per order")
    note = context + "; ".join(parts)
    return holds.place_hold(session, order, kind=KIND, reason_code=REASON,
                            note=note[:1].upper() + note[1:], actor=actor, channel=channel,
                            per_placer=True)
