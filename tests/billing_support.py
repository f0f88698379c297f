"""Helpers for billing tests: orders placed the real way, shipments recorded directly (the
warehouse flow has its own tests), and the books' invariants."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from core import clock
from core.audit import Actor
from core.billing import giftcards, receivables, reconcile
from core.catalog.models import Variant
from core.fulfilment.models import Shipment, ShipmentLine
from core.orders import services as orders
from core.orders.models import Order
from core.pricing import services as pricing

ADDRESS = {"full_name": "Ola Order", "company": "", "line1": "Hauptstraße 1", "line2": "",
           "city": "Berlin", "postal_code": "10115", "region": "", "country": "DE", "phone": ""}
CLERK = Actor("agent", None, "billing clerk")
CASHIER = Actor("agent", None, "cashier")  # records the money a card is sold for (not CLERK)


def variant_id(db, sku: str) -> int:
    return db.scalar(select(Variant.id).where(Variant.sku == sku))


def place(db, lines: list[tuple[str, int]], *, key: str, customer=None, channel_code="web-b2c",
          payment_method="card", method="standard") -> Order:
    """An order for (sku, quantity) lines, confirmed as if its payment were authorised (or
    it were on account)."""
    channel = pricing.get_channel(db, channel_code)
    ctx = pricing.make_context(channel, customer=customer) if customer else \
        pricing.make_context(channel)
    checkout = orders.Checkout(lines=[(variant_id(db, s), q) for s, q in lines],
                               email=customer.email if customer else "ola@example.com",
                               shipping_address=ADDRESS, billing_address=ADDRESS,
                               shipping_method=method, payment_method=payment_method)
    order = orders.place_order(db, checkout=checkout, channel=channel, ctx=ctx,
                               customer_id=customer.id if customer else None, actor=CLERK,
                               idempotency_key=key)
    order.status = "in_fulfilment"
    order.payment_state = "authorised" if payment_method == "card" else "on_account"
    db.flush()
    return order


def ship(db, order: Order, quantities: dict[str, int]) -> Shipment:
    """Record a shipment of (sku -> quantity) without the warehouse flow."""
    count = db.scalar(select(func.count()).select_from(Shipment)
                      .where(Shipment.order_id == order.id)) or 0
    by_sku = {l.sku: l for l in order.lines}
    shipment = Shipment(number=f"{order.number}-{count + 1}", order_id=order.id, status="shipped",
                        carrier="DHL", tracking_number="T1",
                        lines=[ShipmentLine(order_line_id=by_sku[s].id, quantity=q)
                               for s, q in quantities.items()])
    for sku, quantity in quantities.items():
        by_sku[sku].quantity_shipped += quantity
    db.add(shipment)
    db.flush()
    return shipment


def assert_books_reconcile(db) -> None:
    assert reconcile.problems(db) == []


def sell_gift_card(db, amount: Decimal, *, customer_id: int | None = None, actor=CLERK,
                   currency: str = "EUR", reference: str = "CHQ gift card",
                   recorded_by=CASHIER, **kwargs):
    """A gift card sold the real way: the cheque that pays for it is recorded in billing
    first (by `recorded_by`, someone other than the seller, so the card is spendable at
    once), and the card is paid out of it. Returns (card, code)."""
    payment = receivables.record_payment(
        db, customer_id=customer_id, method="cheque", amount=amount, currency=currency,
        received_on=clock.today(), reference=reference, actor=recorded_by)
    return giftcards.sell(db, amount=amount, payment=payment, actor=actor, **kwargs)


def gift_card_paid_invoice(db, key: str, *, card_amount: str = "500.00", customer=None):
    """An order paid in advance with a gift card, shipped and invoiced: the card's payment
    settles the invoice. Returns (card, invoice)."""
    from core.billing import invoicing, prepayments
    from tests.factories import CustomerFactory
    buyer = customer or CustomerFactory(name="Gus Gift")
    card, code = sell_gift_card(db, Decimal(card_amount), reference="SEPA gift")
    order = place(db, [("PAP-A4-80", 2)], key=key, customer=buyer)
    order.status, order.payment_state = "pending_payment", "unpaid"
    prepayments.pay_with_gift_card(db, order, code, actor=CLERK)
    assert orders.mark_prepaid(db, order, actor=CLERK, reference="gift card")
    invoice = invoicing.invoice_shipment(db, ship(db, order, {"PAP-A4-80": 2}), actor=CLERK)
    assert invoice.amount_open == 0
    return card, invoice
