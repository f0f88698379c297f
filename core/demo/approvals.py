"""Demo B2B approvals and credit: an Acme order of Bea Buyer's over her 500 EUR order limit
waiting for Abe Approver (Approvals page), and a Globex order on account over its 1,000 EUR
credit limit on a credit hold (the console's holds worklist, released by billing@).

Placed through the shop's services, as the checkout places them (core.workflows.b2b_checkout).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.catalog.models import Variant
from core.customers.models import CustomerAddress, CustomerUser
from core.customers.services import actor_for
from core.orders import services as orders
from core.orders.models import Order
from core.pricing import services as pricing
from core.workflows import b2b_checkout

APPROVAL_PO = "PO-7790"  # Bea's order waiting for approval
CREDIT_PO = "GX-1001"  # Gina's order on credit hold


def _on_account(session: Session, email: str, lines: list[tuple[str, int]], *, po: str,
                key: str) -> Order:
    user = session.scalar(select(CustomerUser).where(CustomerUser.email == email))
    customer = user.customer
    channel = pricing.get_channel(session, "web-b2b")
    address = session.scalar(select(CustomerAddress).where(
        CustomerAddress.customer_id == customer.id, CustomerAddress.default_shipping)).as_dict()
    ids = dict(session.execute(select(Variant.sku, Variant.id)
                               .where(Variant.sku.in_([s for s, _ in lines]))).all())
    actor = actor_for(user)
    order = orders.place_order(
        session, checkout=orders.Checkout(
            lines=[(ids[s], q) for s, q in lines], email=user.email, shipping_address=address,
            billing_address=address, shipping_method="standard", payment_method="on_account",
            po_number=po),
        channel=channel, ctx=pricing.make_context(channel, customer=customer,
                                                  country=address["country"],
                                                  region=address["region"]),
        customer_id=customer.id, actor=actor, idempotency_key=key)
    b2b_checkout.confirm_on_account(session, order, user, actor=actor)
    return order


def load_approvals(session: Session) -> str:
    """Flushes; the caller commits."""
    waiting = _on_account(session, "buyer@acme.example", [("CAP-100-LUN", 20)],
                          po=APPROVAL_PO, key="demo-approval-1")
    held = _on_account(session, "gina@globex.example", [("BEAN-LAV-CRE-6", 12)],
                       po=CREDIT_PO, key="demo-credit-1")
    assert waiting.on_hold and held.on_hold, "the demo's limits or prices changed"
    return (f"B2B: Acme's order {waiting.number} awaits Abe Approver's approval; Globex's "
            f"{held.number} is on credit hold.")
