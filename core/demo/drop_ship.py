"""Demo drop shipment: a furniture supplier ships desks and desk dividers straight to our
customers. One order's purchase order is sent and waits for the supplier; another's was
shipped by the supplier, invoiced and is on its way. Through the real services (release,
purchase orders, the supplier's shipment, invoicing); only dates are moved into the past."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.agents.models import Agent
from core.catalog.models import Product, Variant
from core.customers.models import Customer, CustomerAddress
from core.db import utcnow
from core.fulfilment import services as fulfilment
from core.inventory.models import Supplier
from core.numbering import next_number
from core.purchasing import services as purchasing
from core.workflows import drop_shipment

NORDIC = dict(code="NFD", name="Nordic Furniture Direct", email="orders@nordic-furniture.example",
              phone="+46 31 555 0190", lead_days=5,
              address={"company": "Nordic Furniture Direct AB", "line1": "Fabriksgatan 3",
                       "postal_code": "412 50", "city": "Göteborg", "country": "SE"})
STUDIO = dict(name="Lindqvist Design Studio", email="office@lindqvist-design.example",
              phone="+49 30 555 0177")
STUDIO_ADDRESS = dict(full_name="Maja Lindqvist", company="Lindqvist Design Studio",
                      line1="Kastanienallee 12", city="Berlin", postal_code="10435", region="BE",
                      country="DE", phone="+49 30 555 0177")
DROP_SHIPPED = ("DSK-E7-160", "ACO-DIV-160")  # the desks (both tops) and the divider


def load_drop_ship(session: Session) -> str:
    """Flushes; the caller commits."""
    from core.demo.orders import dated, take_phone_order  # the demo's phone orders, on account
    nordic = Supplier(**NORDIC)
    session.add(nordic)
    session.flush()
    for product in session.scalars(select(Product).join(Variant, Variant.product_id == Product.id)
                                   .where(Variant.sku.in_(DROP_SHIPPED)).distinct()):
        product.drop_ship, product.supplier_id = True, nordic.id
    session.flush()
    agent = session.scalar(select(Agent).where(Agent.email == "agent@marketline.example"))
    warehouse = audit.Actor("agent", None, "Wes Warehouse")
    studio = _studio(session)

    waiting = take_phone_order(session, studio, agent, [("DSK-E7-160", 2), ("PAP-A4-80", 2)],
                               1, key="demo-drop-1", po="LDS-0412")
    drop_shipment.release_order(session, waiting, actor=warehouse)  # PO sent, paper ours

    shipped = take_phone_order(session, studio, agent, [("ACO-DIV-160", 3)], 6,
                               key="demo-drop-2", po="LDS-0398")
    drop_shipment.release_order(session, shipped, actor=warehouse)
    [po] = purchasing.for_order(session, shipped.id)
    lines = purchasing.record_shipment(session, po, {l.id: l.quantity for l in po.lines},
                                       actor=warehouse, carrier="dhl",
                                       tracking_number="00340434160000001")
    with dated(4):  # invoiced 4 days ago (core.clock): the ledger agrees
        done = fulfilment.ship_drop_shipped(session, shipped, lines, purchase_order_id=po.id,
                                            carrier="dhl", tracking_number="00340434160000001",
                                            actor=warehouse)
    done.shipment.shipped_at = utcnow() - dt.timedelta(days=4)
    session.flush()
    return (f"{nordic.name} drop-ships desks and desk dividers: purchase order "
            f"{purchasing.for_order(session, waiting.id)[0].number} waits for the supplier, "
            f"{po.number} shipped straight to the customer.")


def _studio(session: Session) -> Customer:
    """A design studio on account, furnishing its new office (its own customer, so the other
    demo customers' balances stay as they were)."""
    studio = Customer(number=next_number(session, "customer"), kind="company", name=STUDIO["name"],
                      email=STUDIO["email"], phone=STUDIO["phone"],
                      phone_digits="".join(ch for ch in STUDIO["phone"] if ch.isdigit()),
                      price_group="business", payment_terms="net30", on_account_allowed=True,
                      postal_code=STUDIO_ADDRESS["postal_code"], vat_id="DE406712585")
    session.add(studio)
    session.add(CustomerAddress(customer=studio, label="Studio", default_shipping=True,
                                default_billing=True, **STUDIO_ADDRESS))
    session.flush()
    return studio


