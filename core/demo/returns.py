"""Demo returns, so a newcomer's first look shows returns at work: one waiting for an agent's
decision (above the auto-approval limit), one approved with its label sent and the goods on
their way, one received and refunded with its credit note, one rejected, and an exchange
whose replacement order has shipped.

They belong to Rosa Return (rosa@example.com, demo-pass-1), a consumer who buys on account:
she sees them in her shop account, the agents in the console's returns worklist and her
customer 360. Everything goes through the returns services (request, approve, reject,
receive, settle) and the warehouse's shipping, as real work does; refunds go against her
open invoices, so nothing calls Stripe. Only dates are moved into the past.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.agents.models import Agent
from core.agents.services import actor_for
from core.catalog.models import Variant
from core.config import Settings
from core.customers.models import Customer, CustomerAddress
from core.customers.services import register_customer
from core.db import utcnow
from core.demo.orders import DEMO_PASSWORD, dated, ship_dated, take_phone_order
from core.orders.models import Order
from core.returns import services as returns
from core.returns import settlement
from core.returns.models import ReturnAuthorisation, ReturnReceipt
from core.returns.services import Received, Request, RequestLine
from core.returns.settlement import pay_replacement_invoice
from core.returns.states import ReturnStatus
from core.workflows import stock_changes

ROSA = dict(email="rosa@example.com", full_name="Rosa Return", phone="+49 711 555 0123")
ROSA_ADDRESS = dict(label="Home", full_name="Rosa Return", line1="Königstraße 28",
                    city="Stuttgart", postal_code="70173", country="DE",
                    phone="+49 711 555 0123")


class DemoReturnError(RuntimeError):
    """A demo return did not reach the state it shows: the seed stops rather than mislead."""


def _ago(days: int, hours: int = 0) -> dt.datetime:
    return utcnow() - dt.timedelta(days=days, hours=hours)


def _rosa(session: Session) -> Customer:
    rosa = register_customer(session, password=DEMO_PASSWORD, **ROSA).customer
    # net 30: none of her invoices is overdue yet (the dunning demo is Acme's and Birch's)
    rosa.postal_code, rosa.on_account_allowed, rosa.payment_terms = "70173", True, "net30"
    session.add(CustomerAddress(customer=rosa, default_shipping=True, default_billing=True,
                                **ROSA_ADDRESS))
    session.flush()
    return rosa


def _agent(session: Session, email: str) -> Agent:
    return session.scalar(select(Agent).where(Agent.email == email))


def load_demo_returns(session: Session, settings: Settings | None = None) -> str:
    """Flushes; the caller commits."""
    settings = settings or Settings()  # the default policy: the states below depend on it
    alex = _agent(session, "agent@marketline.example")
    agent = actor_for(alex)
    warehouse = actor_for(_agent(session, "warehouse@marketline.example"))
    rosa = _rosa(session)
    shopper = audit.Actor("customer", rosa.id, rosa.name)
    keys = iter(range(1, 100))

    def shipped(lines: list[tuple[str, int]], ordered: int, sent: int) -> Order:
        order = take_phone_order(session, rosa, alex, lines, ordered,
                                 key=f"demo-return-order-{next(keys)}")
        ship_dated(session, order, None, sent, actor=warehouse)
        return order

    def ask(order: Order, quantity: int, reason: str, days_ago: int, *, comment: str = "",
            channel: str = "shop", **request) -> ReturnAuthorisation:
        line = order.lines[0]
        rma = returns.request_return(
            session, order, Request([RequestLine(line.id, quantity, reason, comment,
                                                 request.pop("replacement", None))], **request),
            actor=shopper if channel == "shop" else agent, channel=channel,
            key=f"demo-return-{next(keys)}", settings=settings)
        _dated(rma, requested=_ago(days_ago))
        return rma

    def receive(rma: ReturnAuthorisation, got: Received, days_ago: int) -> None:
        key = f"demo-return-receipt-{next(keys)}"
        stock_changes.receive_returned_goods(session, rma, {rma.lines[0].id: got},
                                             actor=warehouse, key=key)
        for receipt in session.scalars(select(ReturnReceipt).where(ReturnReceipt.key == key)):
            receipt.received_at = _ago(days_ago)
        _dated(rma, received=_ago(days_ago))

    def settle(rma: ReturnAuthorisation, days_ago: int) -> settlement.Settled:
        # No card is refunded here (on-account money goes against invoices): no gateway.
        with dated(days_ago):  # its credit notes and their entries dated that day
            done = settlement.settle(session, None, rma.id, actor=warehouse,
                                     commit=session.flush)
        if done.problem:
            raise DemoReturnError(f"{rma.number}: {done.problem}")
        return done

    # 1. Waiting for an agent: a scanner worth more than the auto-approval limit.
    scanner = shipped([("SCN-ADS1700", 1)], 9, 8)
    waiting = ask(scanner, 1, "not_as_described", 1,
                  comment="It does not scan to our network folder, as the product page "
                          "says it does.")
    # 2. Approved by the policy, the label sent: the lamp is on its way back.
    lamp = shipped([("LMP-LED", 1)], 6, 5)
    on_its_way = ask(lamp, 1, "changed_mind", 2)
    _dated(on_its_way, decided=_ago(2), label_sent=_ago(2))
    # 3. Received and refunded: one of two milk frothers was defective, scrapped, and its
    #    credit note set against the open invoice.
    frothers = shipped([("MLK-AERO4", 2)], 16, 15)
    refunded = ask(frothers, 1, "defective", 8, comment="It stops heating after a minute.")
    _dated(refunded, decided=_ago(8), label_sent=_ago(8))
    receive(refunded, Received(1, "damaged", "scrap"), 3)
    settle(refunded, 3)
    _dated(refunded, refunded=_ago(3))
    # 4. Rejected by the agent, with the reason the customer reads.
    chairs = shipped([("CHR-VIS", 2)], 12, 10)
    rejected = ask(chairs, 2, "changed_mind", 4, channel="phone")
    returns.reject(session, rejected, actor=agent, roles={"agent"},
                   note="The chairs were upholstered in your chosen fabric to order; "
                        "made-to-order goods cannot be returned.")
    _dated(rejected, decided=_ago(3))
    # 5. An exchange: the black lamp for the white one, sent at once; the black one came
    #    back and went on the shelf, and the replacement has shipped, paid by the return.
    black = shipped([("LMP-LED-BLK", 1)], 21, 19)
    exchange = ask(black, 1, "other", 12, channel="phone", resolution="exchange",
                   replace_on="approval", replacement=_variant(session, "LMP-LED"),
                   comment="The black lamp does not match the white desks; the white one "
                           "instead, please.")
    replacement = session.get(Order, settle(exchange, 12).rma.replacement_order_id)
    _dated(exchange, decided=_ago(12), label_sent=_ago(12))
    replacement.placed_at = _ago(12)
    pay_replacement_invoice(session, ship_dated(session, replacement, None, 11, actor=warehouse),
                            actor=warehouse)
    receive(exchange, Received(1), 6)
    settle(exchange, 6)
    _dated(exchange, refunded=_ago(6))

    _expect(waiting, ReturnStatus.REQUESTED)
    _expect(on_its_way, ReturnStatus.LABEL_SENT)
    _expect(refunded, ReturnStatus.REFUNDED)
    _expect(rejected, ReturnStatus.REJECTED)
    _expect(exchange, ReturnStatus.EXCHANGED)
    session.flush()
    return (f"Returns: {waiting.number} awaiting approval, {on_its_way.number} on its way "
            f"back, {refunded.number} refunded, {rejected.number} rejected, "
            f"{exchange.number} exchanged for {replacement.number} (Rosa Return, "
            f"{ROSA['email']}).")


def _variant(session: Session, sku: str) -> int:
    return session.scalar(select(Variant.id).where(Variant.sku == sku))


def _dated(rma: ReturnAuthorisation, *, requested: dt.datetime | None = None,
           decided: dt.datetime | None = None, label_sent: dt.datetime | None = None,
           received: dt.datetime | None = None, refunded: dt.datetime | None = None) -> None:
    """Move the return's moments into the past (demo data only)."""
    if requested is not None:
        rma.requested_at = requested
    if decided is not None and rma.decided_at is not None:
        rma.decided_at = decided
    if label_sent is not None and rma.label_sent_at is not None:
        rma.label_sent_at = label_sent
    if received is not None and rma.received_at is not None:
        rma.received_at = received
    if refunded is not None and rma.refunded_at is not None:
        rma.refunded_at = refunded


def _expect(rma: ReturnAuthorisation, status: ReturnStatus) -> None:
    if rma.status != status:
        raise DemoReturnError(f"{rma.number} is {rma.status}, not {status}.")
