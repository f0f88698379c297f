"""Returns: asking, deciding, receiving (core.returns.settlement does the money and the
exchange).

    rma = request_return(session, order, [RequestLine(line.id, 1, "defective")],
                         actor=actor, channel="shop", key=key, settings=settings)
    db.commit(); settlement.settle(session, gateway, rma.id, actor=actor, commit=db.commit)

- What may come back, per order line: shipped less what other returns hold (requested,
  approved, on their way or received; a rejected return holds nothing, a closed one what
  it received), within the product's window and only for returnable products
  (`returnable_lines`). The order's row lock serialises requests for one order.
- A request within policy and worth up to the auto-approval limit approves itself; the
  rest waits for an agent (above RETURN_APPROVAL_LIMIT, a supervisor).
- Approval sends the label (status label_sent) when the goods come back; goods worth up
  to RETURN_KEEP_LIMIT stay with the customer and are refunded on approval.
- Receipt is per line and may be partial; restocked units go back on hand, scrapped ones
  are written off (core.inventory). The return's row lock and the receipt's key make two
  submits of the same receipt restock once.

Audit events: return.requested, return.approved, return.label_sent, return.rejected,
return.partly_received, return.received, return.closed (and, from settlement,
return.refunded, return.exchanged).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from core import audit, clock, events
from core.billing.prepayments import gift_card_payments
from core.catalog.models import Variant
from core.customers import roles
from core.pricing.models import PriceList, PriceListEntry
from core.db import utcnow
from core.errors import DomainError, NotFound
from core.fulfilment.models import Shipment, ShipmentLine
from core.inventory import services as inventory
from core.pricing.engine import round_money
from core.numbering import next_number
from core.orders.models import Order, OrderLine
from core.orders.queries import lock_order
from core.returns import policy
from core.returns.models import ReturnAuthorisation, ReturnLine, ReturnReceipt
from core.returns.states import AWAITING_GOODS, ReturnStatus, label, move_return

R = ReturnStatus
POLICY = audit.Actor.system("return policy")


class ReturnError(DomainError):
    code = "return_refused"


class DecisionNotAllowed(ReturnError):
    """The agent may not decide this return; views answer 403 with the message."""

    code = "return_decision_not_allowed"


# -- what may come back ---------------------------------------------------------------------

@dataclass(frozen=True)
class ReturnableLine:
    line: OrderLine
    shipped: int
    held: int  # by other returns
    delivered: dt.date | None
    window_days: int
    returnable_product: bool
    today: dt.date

    @property
    def deadline(self) -> dt.date | None:
        return policy.deadline(self.delivered, self.window_days)

    @property
    def refusal(self) -> str | None:
        """Why none of this line can come back now; None when some can."""
        if not self.returnable_product:
            return f"{self.line.name} cannot be returned."
        if self.shipped <= 0 or self.delivered is None:
            return f"{self.line.name} has not been shipped yet."
        if self.deadline is not None and self.today > self.deadline:
            return (f"The return window for {self.line.name} closed on "
                    f"{self.deadline:%d %B %Y}.")
        if self.returnable <= 0:
            return f"All of {self.line.name} that was shipped is already being returned."
        return None

    @property
    def returnable(self) -> int:
        return max(self.shipped - self.held, 0)

    @property
    def unit_gross(self) -> Decimal:
        return unit_gross(self.line)


def unit_gross(line: OrderLine) -> Decimal:
    """What one unit of the line cost the buyer, discounts included (as allocated)."""
    return line.gross / line.quantity


def _held(session: Session, order_id: int, *, exclude: int | None = None) -> dict[int, int]:
    """Per order line, the units other returns hold: a rejected return none, a closed one
    what it received or credited (goods kept), any other what it asked for."""
    settled_units = case((ReturnLine.quantity_received > ReturnLine.quantity_credited,
                          ReturnLine.quantity_received), else_=ReturnLine.quantity_credited)
    held_units = case((ReturnAuthorisation.status == R.REJECTED, 0),
                      (ReturnAuthorisation.status == R.CLOSED, settled_units),
                      else_=ReturnLine.quantity)
    stmt = (select(ReturnLine.order_line_id, func.sum(held_units))
            .join(ReturnAuthorisation, ReturnAuthorisation.id == ReturnLine.return_id)
            .where(ReturnAuthorisation.order_id == order_id)
            .group_by(ReturnLine.order_line_id))
    if exclude is not None:
        stmt = stmt.where(ReturnAuthorisation.id != exclude)
    return {lid: int(units or 0) for lid, units in session.execute(stmt)}


def _delivered(session: Session, order_id: int) -> dict[int, dt.date]:
    """Per order line, when its last shipment was delivered (else dispatched)."""
    when = func.max(func.coalesce(Shipment.delivered_at, Shipment.shipped_at))
    rows = session.execute(
        select(ShipmentLine.order_line_id, when)
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .where(Shipment.order_id == order_id, Shipment.shipped_at.is_not(None))
        .group_by(ShipmentLine.order_line_id)).all()
    found = {}
    for line_id, at in rows:
        if isinstance(at, str):  # SQLite hands back the text of a function's result
            at = dt.datetime.fromisoformat(at)
        found[line_id] = clock.business_date(at) if at is not None else None
    return found


def awaits_goods(rma: ReturnAuthorisation) -> bool:
    """The goods are to come back to us (and may still be received): the label can be
    printed."""
    return rma.ship_back and rma.status in AWAITING_GOODS


def returnable_lines(session: Session, order: Order, settings, *,
                     today: dt.date | None = None) -> list[ReturnableLine]:
    """Every line of the order with what of it may come back and why not. Four queries."""
    today = today or clock.business_date(utcnow())
    held = _held(session, order.id)
    delivered = _delivered(session, order.id)
    rules = policy.windows(session, [l.variant_id for l in order.lines], settings)
    return [ReturnableLine(
        line=l, shipped=l.quantity_shipped, held=held.get(l.id, 0),
        delivered=delivered.get(l.id), window_days=rules.get(l.variant_id, (True, 0))[1],
        returnable_product=rules.get(l.variant_id, (True, 0))[0], today=today)
        for l in order.lines]


def can_return(session: Session, order: Order, settings) -> bool:
    """Whether anything of the order may come back now (the "Return items" button)."""
    if order.status not in ("partially_shipped", "shipped", "completed"):
        return False
    return any(r.refusal is None for r in returnable_lines(session, order, settings))


def refund_methods(session: Session, order: Order) -> dict[str, str]:
    """The ways money may go back for this order, the way it was paid first."""
    methods = {}
    if order.payment_method == "on_account":
        methods["invoices"] = policy.REFUND_METHODS["invoices"]
    elif order.payment_method in ("card", "pay_link") and order.amount_prepaid < order.gross_total:
        methods["card"] = policy.REFUND_METHODS["card"]  # not when a gift card paid it all
    if gift_card_payments(session, order):
        methods["gift_card"] = policy.REFUND_METHODS["gift_card"]
    if order.customer_id is not None:
        methods["store_credit"] = policy.REFUND_METHODS["store_credit"]
    return methods


# -- asking ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class RequestLine:
    order_line_id: int
    quantity: int
    reason: str
    comment: str = ""
    replacement_variant_id: int | None = None


@dataclass(frozen=True)
class Request:
    lines: Sequence[RequestLine]
    resolution: str = "refund"
    refund_method: str = ""  # "" = the way the order was paid
    replace_on: str = "receipt"  # exchange: "approval" or "receipt"
    note: str = ""


def request_return(session: Session, order: Order, request: Request, *, actor: audit.Actor,
                   channel: str, key: str, settings, today: dt.date | None = None
                   ) -> ReturnAuthorisation:
    """Record a return for lines of `order` (see the module's docstring); within policy and
    the auto-approval limit it is approved at once. Refusals name the line's field
    (`quantity-`, `reason-`, `comment-` or `replacement-<order line id>`). Flushes; the
    caller commits."""
    if existing := session.scalar(select(ReturnAuthorisation)
                                  .where(ReturnAuthorisation.key == key)):
        return existing
    order = lock_order(session, order.id)
    if existing := session.scalar(select(ReturnAuthorisation)  # a double submit that waited
                                  .where(ReturnAuthorisation.key == key)):
        return existing
    by_line = {r.line.id: r for r in returnable_lines(session, order, settings, today=today)}
    wanted = [l for l in request.lines if l.quantity]
    if not wanted:
        raise ReturnError("Choose at least one item and how many to return.",
                          field=f"quantity-{order.lines[0].id}" if order.lines else None)
    if request.resolution not in policy.RESOLUTIONS:
        raise ReturnError("Choose money back or an exchange.", field="resolution")
    methods = refund_methods(session, order)
    refund_method = request.refund_method or next(iter(methods), "store_credit")
    if request.resolution == "refund" and refund_method not in methods:
        raise ReturnError("Choose where the money goes.", field="refund_method")
    if request.replace_on not in ("approval", "receipt"):
        raise ReturnError("Choose when the replacement ships.", field="replace_on")
    lines = []
    for asked in wanted:
        found = by_line.get(asked.order_line_id)
        if found is None:
            raise NotFound("That line is not on this order.")
        qfield = f"quantity-{asked.order_line_id}"
        if asked.quantity < 0:
            raise ReturnError("Enter a quantity of 0 or more.", field=qfield)
        if problem := found.refusal:
            raise ReturnError(problem, field=qfield)
        if asked.quantity > found.returnable:
            raise ReturnError(f"At most {found.returnable} of {found.line.name} can be "
                              "returned.", field=qfield)
        if asked.reason not in policy.REASONS:
            raise ReturnError("Choose why you are returning it.",
                              field=f"reason-{asked.order_line_id}")
        if asked.reason == "other" and not asked.comment.strip():
            raise ReturnError("Tell us a little about the problem.",
                              field=f"comment-{asked.order_line_id}")
        if request.resolution == "exchange" and asked.replacement_variant_id not in (
                None, found.line.variant_id):
            _check_replacement(session, found.line, asked.replacement_variant_id)
        lines.append(ReturnLine(
            order_line_id=found.line.id, variant_id=found.line.variant_id, sku=found.line.sku,
            name=found.line.name, quantity=asked.quantity, reason=asked.reason,
            comment=asked.comment.strip()[:500], unit_gross=found.unit_gross,
            fee_percent=policy.fee_percent(asked.reason, request.resolution, settings),
            replacement_variant_id=(asked.replacement_variant_id
                                    if request.resolution == "exchange" else None)))
    value = round_money(sum((l.unit_gross * l.quantity for l in lines), Decimal(0)),
                        order.currency)
    fee = round_money(sum((l.unit_gross * l.quantity * l.fee_percent / 100 for l in lines),
                          Decimal(0)), order.currency)
    deciding = policy.approval(value, settings)
    rma = ReturnAuthorisation(
        number=next_number(session, "return"), key=key[:80], order_id=order.id,
        customer_id=order.customer_id, email=order.email, currency=order.currency,
        status=R.REQUESTED, resolution=request.resolution,
        refund_method="" if request.resolution == "exchange" else refund_method,
        ship_back=policy.ship_back(value, settings), replace_on=request.replace_on,
        value=value, restocking_fee=fee,
        refund_shipping=(request.resolution == "refund"
                         and policy.refunds_shipping(l.reason for l in lines)),
        needs_supervisor=deciding == "supervisor", channel=channel,
        requested_by=actor.label or order.email, requested_at=utcnow(),
        decision_note="", lines=lines)
    session.add(rma)
    session.flush()
    audit.record(session, "return.requested", actor=actor, channel=channel, subject=rma,
                 data={"number": rma.number, "order": order.number, "value": str(value),
                       "lines": {l.sku: l.quantity for l in lines},
                       "resolution": rma.resolution, "note": request.note[:300]})
    events.record(session, events.ReturnMoved(rma.id, "requested"))
    if deciding == "auto":
        _approve(session, rma, actor=POLICY, note="Within the returns policy.")
    return rma


def _check_replacement(session: Session, line: OrderLine, variant_id: int) -> None:
    """An exchange sends another variant of the same product (a size, a colour) priced as
    the original is (no price list prices them apart), at the price paid for the original:
    no difference is charged or refunded."""
    original, other = session.get(Variant, line.variant_id), session.get(Variant, variant_id)
    if other is None or original is None or other.product_id != original.product_id \
            or not other.active or not other.product.active:
        raise ReturnError(f"Choose a variant of {line.name} to send instead.",
                          field=f"replacement-{line.id}")
    prices: dict[int, dict[int, Decimal]] = {}
    for list_id, vid, unit in session.execute(
            select(PriceListEntry.price_list_id, PriceListEntry.variant_id,
                   PriceListEntry.unit_price)
            .join(PriceList, PriceList.id == PriceListEntry.price_list_id)
            .where(PriceListEntry.variant_id.in_([original.id, other.id]),
                   PriceListEntry.min_quantity == 1, PriceList.active)):
        prices.setdefault(list_id, {})[vid] = unit
    if any(len(p) == 2 and p[original.id] != p[other.id] for p in prices.values()):
        raise ReturnError(f"{other.sku} is priced differently from {line.sku}: an exchange "
                          "sends an item of the same price. Take this one back for money "
                          "and order the other.", field=f"replacement-{line.id}")


# -- deciding -------------------------------------------------------------------------------

DECIDERS = frozenset({"agent", "supervisor"})


def decision_refusal(rma: ReturnAuthorisation, roles: Collection[str]) -> str | None:
    """Why an agent with `roles` may not approve or reject the return; None when they may."""
    if "admin" in roles:
        return None
    if rma.needs_supervisor and "supervisor" not in roles:
        return (f"{rma.number} is worth {rma.money(rma.value).format()}, above the approval "
                "limit: a supervisor decides it.")
    if not DECIDERS.intersection(roles):
        return "Only an agent or a supervisor approves or rejects returns."
    return None


def get_return(session: Session, return_id: int, *, lock: bool = False) -> ReturnAuthorisation:
    stmt = (select(ReturnAuthorisation).where(ReturnAuthorisation.id == return_id)
            .options(selectinload(ReturnAuthorisation.lines)))
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    rma = session.scalar(stmt)
    if rma is None:
        raise NotFound("We could not find that return.")
    return rma


def by_number(session: Session, number: str) -> ReturnAuthorisation:
    rma = session.scalar(select(ReturnAuthorisation)
                         .where(ReturnAuthorisation.number == number.strip().upper())
                         .options(selectinload(ReturnAuthorisation.lines)))
    if rma is None:
        raise NotFound("We could not find that return.")
    return rma


def _decidable(session: Session, rma: ReturnAuthorisation, roles: Collection[str]
               ) -> ReturnAuthorisation:
    if refusal := decision_refusal(rma, roles):
        raise DecisionNotAllowed(refusal)
    rma = get_return(session, rma.id, lock=True)
    if rma.status != R.REQUESTED:
        raise ReturnError(f"{rma.number} has already been decided"
                          + (f" by {rma.decided_by}" if rma.decided_by else "")
                          + f" (status: {label(rma.status)}).")
    return rma


def approve(session: Session, rma: ReturnAuthorisation, *, actor: audit.Actor,
            roles: Collection[str], note: str = "") -> ReturnAuthorisation:
    """Approve a requested return: the label goes out when the goods come back; goods kept
    are settled next (core.returns.settlement.settle, after commit). Flushes."""
    rma = _decidable(session, rma, roles)
    _approve(session, rma, actor=actor, note=(note or "").strip())
    return rma


def _approve(session: Session, rma: ReturnAuthorisation, *, actor: audit.Actor,
             note: str) -> None:
    move_return(rma, R.APPROVED, audit=audit.Entry(session, "return.approved", actor,
                                                   rma.channel, {"note": note[:300]}))
    rma.decided_by, rma.decided_at, rma.decision_note = actor.label, utcnow(), note[:300]
    if rma.ship_back:
        move_return(rma, R.LABEL_SENT, audit=audit.Entry(session, "return.label_sent", actor,
                                                         rma.channel, {}))
        rma.label_sent_at = utcnow()
    events.record(session, events.ReturnMoved(rma.id, "approved"))
    session.flush()


def reject(session: Session, rma: ReturnAuthorisation, *, actor: audit.Actor,
           roles: Collection[str], note: str) -> ReturnAuthorisation:
    """Refuse the return, saying why (the customer reads it). Flushes."""
    note = (note or "").strip()
    if not note:
        raise ReturnError("Say why the return is rejected; the customer reads it.",
                          field="note")
    rma = _decidable(session, rma, roles)
    move_return(rma, R.REJECTED, audit=audit.Entry(session, "return.rejected", actor,
                                                   "backoffice", {"note": note[:300]}))
    rma.decided_by, rma.decided_at, rma.decision_note = actor.label, utcnow(), note[:300]
    events.record(session, events.ReturnMoved(rma.id, "rejected"))
    session.flush()
    return rma


def close(session: Session, rma: ReturnAuthorisation, *, actor: audit.Actor,
          roles: Collection[str], note: str) -> ReturnAuthorisation:
    """Close a return: withdrawn, the goods never came (or not all of them), or all done.
    Closing a request is a decision like rejecting it (decision_refusal). An exchange whose
    replacement has gone out stays open until its goods are back; one closed before its
    replacement was placed becomes money back for what did come (settle it next: a closed
    return is still credited and refunded for what was received). Flushes."""
    note = (note or "").strip()
    if not note:
        raise ReturnError("Say why the return is closed.", field="note")
    rma = get_return(session, rma.id, lock=True)
    if rma.status == R.REQUESTED and (refusal := decision_refusal(rma, roles)):
        raise DecisionNotAllowed(refusal)
    data = {"note": note[:300]}
    if rma.resolution == "exchange" and rma.status in AWAITING_GOODS | {R.RECEIVED}:
        if rma.replacement_order_id is not None and rma.quantity_received < rma.quantity:
            replacement = session.get(Order, rma.replacement_order_id)
            raise ReturnError(f"The replacement {replacement.number} has been sent; {rma.number} "
                              "stays open until the goods are back.", field="note")
        if rma.replacement_order_id is None and rma.quantity_received:
            order = session.get(Order, rma.order_id)
            methods = refund_methods(session, order)
            rma.resolution = "refund"
            rma.refund_method = next(iter(methods), "store_credit")
            data["now"] = f"money back ({rma.refund_method}) for what was received"
    move_return(rma, R.CLOSED, audit=audit.Entry(session, "return.closed", actor,
                                                 "backoffice", data))
    rma.closed_at = utcnow()
    session.flush()
    return rma


# -- receiving ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Received:
    quantity: int
    condition: str = "resellable"
    disposition: str = "restock"


@dataclass
class ReceiptOutcome:
    rma: ReturnAuthorisation
    restocked: dict[str, int] = field(default_factory=dict)
    scrapped: dict[str, int] = field(default_factory=dict)
    repeated: bool = False
    # (variant id, warehouse) of every restocked unit: units waiting backorders may take
    # (core.workflows.stock_changes.receive_returned_goods)
    restocked_in: list[tuple[int, str]] = field(default_factory=list)


def receive(session: Session, rma: ReturnAuthorisation, lines: Mapping[int, Received], *,
            actor: audit.Actor, key: str) -> ReceiptOutcome:
    """Record what came back (return line id -> Received): restock or write off, and move
    the return to partly received or received. Restocked units go back to the warehouse
    their order line shipped from (MAIN for a line with none). The same `key` again does
    nothing (a double submit); the return's row lock makes two receipts at once count once
    each against what is left. Refusals name the line's field (`quantity-<return line id>`).
    Flushes; filling backorders with the restocked units is the caller's
    (core.workflows.stock_changes.receive_returned_goods)."""
    rma = get_return(session, rma.id, lock=True)
    if session.scalar(select(ReturnReceipt.id).join(ReturnLine)
                      .where(ReturnLine.return_id == rma.id, ReturnReceipt.key == key[:80])
                      .limit(1)) is not None:
        return ReceiptOutcome(rma, repeated=True)
    if not awaits_goods(rma):
        raise ReturnError(f"{rma.number} is {label(rma.status).lower()}; nothing more is "
                          "expected back.")
    by_id = {l.id: l for l in rma.lines}
    wanted = {lid: r for lid, r in lines.items() if r.quantity}
    if not wanted:
        first = rma.lines[0].id if rma.lines else 0
        raise ReturnError("Enter how many of at least one item arrived.",
                          field=f"quantity-{first}")
    outcome = ReceiptOutcome(rma)
    restock: dict[str, list[tuple[int, int]]] = {}
    scrap = []
    order_lines = {l.id: l for l in lock_order(session, rma.order_id).lines}
    for lid, got in wanted.items():
        line = by_id.get(lid)
        if line is None:
            raise NotFound("That line is not on this return.")
        qfield = f"quantity-{lid}"
        if got.quantity < 0:
            raise ReturnError("Enter a quantity of 0 or more.", field=qfield)
        if got.quantity > line.left_to_receive:
            raise ReturnError(f"Only {line.left_to_receive} of {line.name} "
                              f"{'is' if line.left_to_receive == 1 else 'are'} still expected.",
                              field=qfield)
        if got.condition not in policy.CONDITIONS:
            raise ReturnError("Choose the condition.", field=f"condition-{lid}")
        if got.disposition not in policy.DISPOSITIONS:
            raise ReturnError("Choose restock or scrap.", field=f"disposition-{lid}")
        if got.condition == "damaged" and got.disposition == "restock":
            raise ReturnError("Damaged goods do not go back on the shelf; scrap them.",
                              field=f"disposition-{lid}")
        session.add(ReturnReceipt(return_line_id=line.id, key=key[:80], quantity=got.quantity,
                                  condition=got.condition, disposition=got.disposition,
                                  received_by=actor.label, received_at=utcnow()))
        line.quantity_received += got.quantity
        if got.disposition == "restock":
            line.quantity_restocked += got.quantity
            warehouse = order_lines[line.order_line_id].warehouse or inventory.WAREHOUSE
            restock.setdefault(warehouse, []).append((line.variant_id, got.quantity))
            outcome.restocked[line.sku] = outcome.restocked.get(line.sku, 0) + got.quantity
        else:
            line.quantity_scrapped += got.quantity
            scrap.append((line.variant_id, got.quantity))
            outcome.scrapped[line.sku] = outcome.scrapped.get(line.sku, 0) + got.quantity
    for warehouse, units in sorted(restock.items()):
        inventory.put_back(session, units, reference=rma.number, by=actor.label,
                           warehouse=warehouse)
        outcome.restocked_in += sorted({(v, warehouse) for v, q in units if q > 0})
    inventory.write_off(session, scrap, reference=rma.number, by=actor.label,
                        note="returned goods scrapped")
    _count_returned(order_lines, wanted, by_id)
    done = all(l.quantity_received == l.quantity for l in rma.lines)
    target = R.RECEIVED if done else R.PARTLY_RECEIVED
    data = {"restocked": outcome.restocked, "scrapped": outcome.scrapped}
    if rma.status != target:
        move_return(rma, target, audit=audit.Entry(session, f"return.{target.value}", actor,
                                                   "backoffice", data))
    else:
        audit.record(session, "return.partly_received", actor=actor, channel="backoffice",
                     subject=rma, data=data)
    rma.received_at = utcnow()
    events.record(session, events.ReturnMoved(rma.id, "received"))
    session.flush()
    return outcome


def _count_returned(lines: Mapping[int, OrderLine], wanted: Mapping[int, Received],
                    by_id: Mapping[int, ReturnLine]) -> None:
    """The order's (locked) lines show what came back (quantity returned)."""
    for lid, got in wanted.items():
        lines[by_id[lid].order_line_id].quantity_returned += got.quantity


# -- lists ----------------------------------------------------------------------------------

def for_order(session: Session, order_id: int) -> list[ReturnAuthorisation]:
    """The order's returns, newest first, with their lines. Two queries."""
    return list(session.scalars(
        select(ReturnAuthorisation).where(ReturnAuthorisation.order_id == order_id)
        .options(selectinload(ReturnAuthorisation.lines))
        .order_by(ReturnAuthorisation.requested_at.desc(), ReturnAuthorisation.id.desc())))


def for_viewer(session: Session, viewer, *, limit: int = 50
               ) -> list[tuple[ReturnAuthorisation, str]]:
    """The returns a signed-in login sees (core.customers.roles: a company buyer those of the
    orders they placed), newest first, each with its order's number. Two queries."""
    rows = session.execute(
        select(ReturnAuthorisation, Order.number)
        .join(Order, Order.id == ReturnAuthorisation.order_id)
        .where(roles.owned_by(viewer, ReturnAuthorisation.customer_id, Order.placed_by_kind,
                              Order.placed_by_id))
        .options(selectinload(ReturnAuthorisation.lines))
        .order_by(ReturnAuthorisation.requested_at.desc(), ReturnAuthorisation.id.desc())
        .limit(limit)).all()
    return [(rma, number) for rma, number in rows]


def for_customer(session: Session, customer_id: int, *, limit: int = 50
                 ) -> list[tuple[ReturnAuthorisation, str]]:
    """The customer's returns, newest first, each with its order's number. Two queries."""
    rows = session.execute(
        select(ReturnAuthorisation, Order.number)
        .join(Order, Order.id == ReturnAuthorisation.order_id)
        .where(ReturnAuthorisation.customer_id == customer_id)
        .options(selectinload(ReturnAuthorisation.lines))
        .order_by(ReturnAuthorisation.requested_at.desc(), ReturnAuthorisation.id.desc())
        .limit(limit)).all()
    return [(rma, number) for rma, number in rows]
