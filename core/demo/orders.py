"""Demo orders in every state, so a newcomer's first look at the console shows real work:
awaiting release, released (on the pick list), partly shipped, invoiced, partly paid,
paid, overdue, a credit note with customer credit, a credit note waiting for approval, and a
shop order paid by gift card.

Everything goes through the same services as real work (phone order entry, release,
shipping, invoicing, payments, gift cards), so the ledger balances and the documents carry
real numbers. Past days are lived through core.clock (`dated`): the services run with the
clock moved back, so the ledger's entries, the allocations and the documents carry the same
dates; only order and shipment timestamps are moved afterwards. Nothing here calls Stripe: on-account
orders and a gift card need no card.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, clock
from core.agents.models import Agent
from core.agents.services import actor_for
from core.billing import credit_requests, giftcards, invoicing, receivables
from core.billing.models import Invoice
from core.catalog.models import Variant
from core.config import Settings
from core.credit.exposure import OVERDUE_DAYS
from core.customers.models import Customer, CustomerAddress
from core.customers.services import register_customer
from core.db import utcnow
from core.fulfilment import services as fulfilment
from core.numbering import next_number
from core.orders import holds
from core.orders import services as orders
from core.orders.models import Order
from core.pricing import services as pricing
from core.workflows import phone_orders as phone

DEMO_PASSWORD = "demo-pass-1"  # as core.demo's accounts
LIMITS = phone.DiscountLimits(agent=Decimal(10), supervisor=Decimal(30))
BIRCH = dict(name="Birch & Co Architects", email="accounts@birch.example",
             phone="+49 40 555 0142", terms="2-10-net30")
BIRCH_ADDRESS = dict(full_name="Birch & Co Reception", company="Birch & Co Architects",
                     line1="Jungfernstieg 7", city="Hamburg", postal_code="20354", region="HH",
                     country="DE", phone="+49 40 555 0142")


@contextmanager
def dated(days_ago: int) -> Iterator[None]:
    """Run what is inside as on the day `days_ago` days back (core.clock), and move the
    clock back to where it was afterwards, whatever happens."""
    clock.travel(days=-days_ago)
    try:
        yield
    finally:
        clock.travel(days=days_ago)


def _variants(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Variant.sku, Variant.id)).all())


def _backdate(session: Session, order: Order, days: int) -> None:
    """Move the order to the day it was placed, and its promises with it: each line's ship
    and delivery day by as much as the order's, so that they still agree (the order's is
    the latest of its lines', core.orders.promises.order_promised)."""
    order.placed_at = utcnow() - dt.timedelta(days=days)
    promised = clock.business_date(utcnow() - dt.timedelta(days=days - 3))
    shift_promises(order, promised)


def shift_promises(order: Order, promised: dt.date) -> None:
    """Make `promised` the order's promised day, moving its lines' days by the same amount."""
    moved = promised - order.promised_date if order.promised_date else dt.timedelta(0)
    order.promised_date = promised
    for line in order.lines:
        if line.promised_date:
            line.promised_date += moved
        if line.ships_on:
            line.ships_on += moved


def take_phone_order(session: Session, customer: Customer, agent: Agent,
                     lines: list[tuple[str, int]], days_ago: int, *, key: str,
                     po: str = "") -> Order:
    """An order on account taken by `agent` on the phone `days_ago`, to the customer's
    default shipping address."""
    sku = _variants(session)
    address = session.scalar(select(CustomerAddress).where(
        CustomerAddress.customer_id == customer.id, CustomerAddress.default_shipping))
    order = phone.place_phone_order(
        session, customer=customer, agent=agent,
        lines=[(sku[s], q) for s, q in lines], overrides={}, coupon_codes=[],
        shipping_address=address.as_dict(), shipping_method="standard",
        payment_method="on_account", settings_limits=LIMITS,
        idempotency_key=key, overdue_days=OVERDUE_DAYS, po_number=po)
    _backdate(session, order, days_ago)
    if days_ago:
        # The credit check judged it by today's overdue invoices; on the day it was placed
        # they were not yet overdue that long (core.credit).
        for hold in [h for h in order.active_holds if h.kind == "credit"]:
            holds.release_hold(session, hold, actor=audit.Actor.system("demo history"),
                               note="Placed before its customer's invoices were overdue.")
    return order


def ship_dated(session: Session, order: Order, quantities: dict[str, int] | None,
               days_ago: int, *, actor: audit.Actor) -> Invoice:
    """Release (if need be), ship and invoice `quantities` (sku -> units; None: all that is
    left) as the warehouse does, dated `days_ago`; returns the invoice."""
    if order.status == "confirmed":
        fulfilment.release_order(session, order, actor=actor)
    by_sku = {l.sku: l.id for l in order.lines}
    wanted = ({by_sku[s]: q for s, q in quantities.items()} if quantities else
              {l.id: l.quantity - l.quantity_shipped for l in order.lines})
    with dated(days_ago):
        shipped = fulfilment.ship_and_invoice(session, order, wanted, carrier="dhl",
                                              tracking_number=f"00340434{order.id:010d}",
                                              actor=actor)
    invoice = shipped.invoice
    shipped.shipment.shipped_at = utcnow() - dt.timedelta(days=days_ago)
    return invoice


def load_demo_orders(session: Session, acme: Customer) -> str:
    """Flushes; the caller commits."""
    sku = _variants(session)
    agent = session.scalar(select(Agent).where(Agent.email == "agent@marketline.example"))
    warehouse = audit.Actor("agent", None, "Wes Warehouse")
    # Bill Billing records the payments and issues the credit notes, as himself: a gift
    # card he sold out of a payment he recorded would wait for a colleague's confirmation.
    billing = session.scalar(select(Agent).where(Agent.email == "billing@marketline.example"))
    clerk = actor_for(billing)
    supervisor = actor_for(session.scalar(
        select(Agent).where(Agent.email == "supervisor@marketline.example")))
    birch = _birch(session)
    counter = iter(range(1, 100))

    def phone_order(customer: Customer, lines: list[tuple[str, int]], days_ago: int,
                    po: str = "") -> Order:
        return take_phone_order(session, customer, agent, lines, days_ago,
                                key=f"demo-{next(counter)}", po=po)

    def ship(order: Order, quantities: dict[str, int] | None, days_ago: int) -> Invoice:
        return ship_dated(session, order, quantities, days_ago, actor=warehouse)

    def bank(customer: Customer, amount: str, invoices: list[tuple[Invoice, str]],
             days_ago: int, reference: str):
        with dated(days_ago):
            return receivables.record_payment(
                session, customer_id=customer.id, method="bank_transfer",
                amount=Decimal(amount), currency="EUR", received_on=clock.today(),
                reference=reference, actor=clerk,
                allocations=[(i.id, Decimal(a)) for i, a in invoices])

    # Acme Corp, net 30
    phone_order(acme, [("PAP-A4-80-BOX", 4), ("TON-TN3430", 2)], 0, po="PO-7781")  # to release
    released = phone_order(acme, [("PEN-G2-BLU", 20), ("STN-76-YEL", 12)], 1, po="PO-7779")
    fulfilment.release_order(session, released, actor=warehouse)  # on the pick list
    partly = phone_order(acme, [("PAP-A4-80", 10), ("CUP-200-1000", 2)], 3, po="PO-7770")
    ship(partly, {"PAP-A4-80": 6, "CUP-200-1000": 2}, 2)  # the rest is backordered
    ship(phone_order(acme, [("BEAN-LAV-CRE-1", 6)], 8, po="PO-7752"), None, 7)  # open, not due
    half = ship(phone_order(acme, [("TON-TN3480", 3)], 20, po="PO-7731"), None, 19)
    bank(acme, str((half.gross_total / 2).quantize(Decimal("0.01"))),
         [(half, str((half.gross_total / 2).quantize(Decimal("0.01"))))], 5, "SEPA ACME 0417")
    # Billing asks to credit it all, beyond the billing role's limit: it waits for a
    # supervisor's or credit controller's approval on the billing start page.
    credit_requests.credit(session, half, lines=None, actor=clerk,
                           reason="Wrong toner model delivered; the customer sends all three "
                                  "back", limit=Decimal(Settings.CREDIT_NOTE_LIMIT_BILLING))
    paid = ship(phone_order(acme, [("PAP-A4-REC", 5), ("PEN-G2-BLK", 10)], 40, po="PO-7690"),
                None, 39)
    bank(acme, str(paid.gross_total), [(paid, str(paid.gross_total))], 12, "SEPA ACME 0392")
    ship(phone_order(acme, [("PAP-A4-80-BOX", 6)], 50, po="PO-7644"), None, 48)  # overdue

    # Birch & Co, 2 % 10 days net 30: overdue, a credit note, and an overpayment as credit
    late = ship(phone_order(birch, [("TON-TN3430", 2), ("PAP-A4-80", 5)], 70), None, 68)
    goods = next(l for l in late.lines if l.sku == "TON-TN3430")
    invoicing.issue_credit_note(session, late, lines={goods.id: 1},
                                reason="One toner arrived damaged", actor=clerk)
    early = ship(phone_order(birch, [("STN-76-YEL", 24)], 25), None, 24)
    bank(birch, str(early.amount_open + Decimal("15.00")), [(early, str(early.amount_open))], 22,
         "SEPA BIRCH 2210")  # 15.00 more than owed: customer credit

    # A consumer with an order paid in full with a gift card, waiting to be released (the
    # demo shopper starts with no orders, for a clean first purchase). The card was paid
    # for by bank transfer, recorded first by billing, as the console requires, and sold
    # by the supervisor: two people, so it is spendable at once.
    shopper = _gift_buyer(session)
    voucher = bank(shopper, "100.00", [], 3, "SEPA GABI voucher")
    card, code = giftcards.sell(session, amount=Decimal("100.00"), payment=voucher,
                                actor=supervisor)
    channel = pricing.get_channel(session, "web-b2c")
    address = session.scalar(select(CustomerAddress).where(
        CustomerAddress.customer_id == shopper.id, CustomerAddress.default_shipping)).as_dict()
    gift_order = orders.place_order(
        session, checkout=orders.Checkout(
            lines=[(sku["BEAN-LAV-CRE-1"], 2)], email=shopper.email, shipping_address=address,
            billing_address=address, shipping_method="standard", payment_method="card"),
        channel=channel, ctx=pricing.make_context(channel, customer=shopper),
        customer_id=shopper.id, actor=audit.Actor("customer", shopper.id, shopper.name),
        idempotency_key="demo-gift")
    giftcards.redeem(session, code, gift_order.gross_total, actor=clerk, order=gift_order,
                     key=f"{gift_order.number}-gift")
    orders.mark_prepaid(session, gift_order, actor=clerk, reference=f"gift card …{card.last4}")
    session.flush()
    return ("Demo orders: 2 awaiting shipment, 1 partly shipped, invoices open, partly paid, "
            "paid and overdue, a credit note, a credit note awaiting approval, customer credit "
            "and a gift card.")


def _gift_buyer(session: Session) -> Customer:
    buyer = register_customer(session, email="gabi@example.com", full_name="Gabi Gift",
                              password=DEMO_PASSWORD, phone="+49 221 555 0199").customer
    buyer.postal_code = "50667"
    session.add(CustomerAddress(customer=buyer, label="Home", full_name="Gabi Gift",
                                line1="Hohe Straße 40", city="Köln", postal_code="50667",
                                country="DE", default_shipping=True, default_billing=True))
    session.flush()
    return buyer


def _birch(session: Session) -> Customer:
    birch = Customer(number=next_number(session, "customer"), kind="company", name=BIRCH["name"],
                     email=BIRCH["email"], phone=BIRCH["phone"],
                     phone_digits="".join(ch for ch in BIRCH["phone"] if ch.isdigit()),
                     price_group="business", payment_terms=BIRCH["terms"],
                     on_account_allowed=True, postal_code=BIRCH_ADDRESS["postal_code"],
                     vat_id="DE315829479")
    session.add(birch)
    session.add(CustomerAddress(customer=birch, label="Office", default_shipping=True,
                                default_billing=True, **BIRCH_ADDRESS))
    session.flush()
    return birch
