"""Six months of demo sales, so the analytics pages have something to analyse: orders from
the consumer shop, the business shop and the call center (taken by Alex Agent and Sue
Supervisor), over several categories, from customers of their own, all shipped, invoiced and
paid; one invoice partly credited, and two returns (one defective, one the buyer changed
their mind about, which keeps a restocking fee on its credit note).

The customers are new and their invoices are all paid, so the figures the rest of the demo
shows (ageing, dunning, credit, collections, the existing customers' accounts) do not move.
The goods sold are received first, with their unit costs, so stock on hand stays as it was
and the margins come from real receipts. Everything goes through the services; the clock is
moved back for each step (core.demo.orders.dated) so documents, entries and facts carry
their days, and only order, shipment and movement timestamps are moved afterwards.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core import audit, clock
from core.agents.models import Agent
from core.agents.services import actor_for
from core.auth.passwords import hash_password
from core.billing import invoicing, receivables
from core.billing.models import Invoice
from core.catalog.models import Variant
from core.config import Settings
from core.customers.models import Customer, CustomerAddress, CustomerUser
from core.customers.services import actor_for as customer_actor
from core.customers.services import phone_digits
from core.db import utcnow
from core.demo.orders import (DEMO_PASSWORD, dated, ship_dated, shift_promises,
                              take_phone_order)
from core.numbering import next_number
from core.inventory import services as inventory
from core.orders import holds
from core.orders import services as orders
from core.orders.models import Order
from core.pricing import services as pricing
from core.returns import services as returns
from core.returns import settlement
from core.returns.services import Received, Request, RequestLine
from core.workflows import b2b_checkout, stock_changes

HISTORY_DAYS = 180
ORDERS = 48
# Consumers buy on account (invoice, then bank transfer), as Rosa Return does.
CONSUMERS = [
    ("lena.lorenz@example.com", "Lena Lorenz", "+49 30 555 0311", "Torstraße 88", "Berlin", "10119"),
    ("paul.petersen@example.com", "Paul Petersen", "+49 40 555 0312", "Osterstraße 20", "Hamburg", "20259"),
    ("mira.meyer@example.com", "Mira Meyer", "+49 89 555 0313", "Sendlinger Str. 5", "München", "80331"),
    ("tom.traub@example.com", "Tom Traub", "+49 221 555 0314", "Ehrenstraße 11", "Köln", "50672"),
]
COMPANIES = [
    ("Kessler Steuerberatung", "kanzlei@kessler.example", "+49 69 555 0321", "Zeil 44",
     "Frankfurt am Main", "60313", "HE", "DE811234567", "Karl Kessler"),
    ("Lindner Logistik GmbH", "einkauf@lindner.example", "+49 421 555 0322", "Überseetor 3",
     "Bremen", "28217", "HB", "DE812345678", "Lisa Lindner"),
    ("Nowak Zahnarztpraxis", "praxis@nowak.example", "+49 351 555 0323", "Prager Str. 9",
     "Dresden", "01069", "SN", "DE813456789", "Nina Nowak"),
]
# What each door sells most (SKUs nothing else in the demo relies on), with units per line.
B2C_GOODS = [("BEAN-ETH-1", 2), ("CAP-100-ESP", 2), ("PEN-SAF-M", 1), ("TEA-GRN-100", 2),
             ("HLT-BOSS-6", 1), ("PRN-EP-ET2850", 1), ("GRD-DAL-500", 3), ("INK-104-SET", 1),
             ("PEN-JOT-BLK", 1), ("CHO-VH-1", 1), ("FTR-ADJ", 1), ("BEAN-LAV-DEC-1", 1)]
B2B_GOODS = [("FIL-LA-80-BLK", 20), ("SUG-1000", 2), ("KTR-24", 3), ("TON-415A-K", 2),
             ("STR-1000", 2), ("CLN-TAB-100", 2), ("MRK-WB-4", 5), ("ORG-MESH-5", 3),
             ("PAD-A4-10", 4), ("WTR-BOIL-20", 1), ("FNL-88-10", 3), ("CHR-S1-GRY", 1)]
PHONE_GOODS = [("PRN-HL-L5100", 1), ("MON-STAND", 2), ("STN-76-MIX", 4), ("CAL-PRN-12", 1),
               ("LAM-A3", 1), ("PRN-EP-ET2850", 1), ("STP-HD200", 1), ("TON-415A-M", 1),
               ("WBD-120", 1), ("PRN-HP-M479", 1), ("COF-JURA-X8", 1), ("PEN-SAF-F", 2)]
# Order (by its place in the plan) -> why its first line's one unit came back.
RETURNS = {45: "changed_mind", 46: "defective"}
CREDITED = 13  # a business order with one unit damaged in transit, credited before paying


class DemoHistoryError(RuntimeError):
    """The history did not come out as described: the seed stops rather than mislead."""


def _ago(days: int) -> dt.datetime:
    return utcnow() - dt.timedelta(days=days)


def _plan() -> list[tuple[int, str, list[tuple[str, int]]]]:
    """(days ago, channel, lines) of every order, oldest first: about one every 3.5 days,
    the three channels in turn, one to three lines each."""
    plan = []
    for i in range(ORDERS):
        channel, goods = (("web-b2c", B2C_GOODS), ("web-b2b", B2B_GOODS),
                          ("callcenter", PHONE_GOODS))[i % 3]
        k = i // 3
        lines = [goods[(k * 5 + n * 3) % len(goods)] for n in range(1 + (i * 7) % 3)]
        plan.append((HISTORY_DAYS - 2 - (i * 166) // (ORDERS - 1), channel,
                     list(dict(lines).items())))
    return plan


def load_sales_history(session: Session, settings: Settings | None = None) -> str:
    """Flushes; the caller commits."""
    settings = settings or Settings()
    plan = _plan()
    _receive_goods(session, plan)
    password_hash = hash_password(DEMO_PASSWORD)  # one hash for every login: hashing is slow
    consumers = _consumers(session, password_hash)
    companies = _companies(session, password_hash)
    agents = [session.scalar(select(Agent).where(Agent.email == e))
              for e in ("agent@marketline.example", "supervisor@marketline.example")]
    warehouse = actor_for(session.scalar(select(Agent).where(
        Agent.email == "warehouse@marketline.example")))
    clerk = actor_for(session.scalar(select(Agent).where(
        Agent.email == "billing@marketline.example")))
    notes, rmas = 0, []
    for i, (days, channel, lines) in enumerate(plan):
        session.flush()
        mark = session.scalar(select(func.max(audit.AuditEvent.id))) or 0
        order = _place(session, i, days, channel, lines, consumers, companies, agents)
        if len(lines) > 1 and i % 4 == 1:  # two shipments: the first line, then the rest
            invoices = [ship_dated(session, order, dict(lines[:1]), days - 1, actor=warehouse),
                        ship_dated(session, order, None, days - 3, actor=warehouse)]
        else:
            invoices = [ship_dated(session, order, None, days - 1, actor=warehouse)]
        if i in RETURNS:
            rmas.append(_return(session, order, lines[0][0], RETURNS[i], days, settings,
                                warehouse))
            notes += 1
        elif i == CREDITED:
            first = invoices[0].lines[0]
            with dated(days - 4):
                invoicing.issue_credit_note(session, invoices[0], lines={first.id: 1},
                                            reason="One unit arrived damaged in transit",
                                            actor=clerk)
            notes += 1
        paid_on = max(days - 8 - (i * 5) % 17, 1)
        for invoice in invoices:
            _pay(session, invoice, paid_on, clerk)
        _events_dated(session, mark, days)
    session.flush()
    count = len(consumers) + len(companies)
    return (f"Sales history: {len(plan)} orders over six months across three channels (the "
            f"shop, the business shop and phone orders by Alex Agent and Sue Supervisor) from "
            f"{count} customers of their own, all invoiced and paid, with {notes} credit notes "
            f"(one keeping a restocking fee) and {len(rmas)} returns "
            f"({', '.join(r.number for r in rmas)}), for the analytics pages "
            f"(manager@marketline.example).")


def _place(session: Session, i: int, days: int, channel: str, lines: list[tuple[str, int]],
           consumers: list[Customer], companies: list[CustomerUser], agents: list[Agent]
           ) -> Order:
    """The plan's i-th order, through its channel's door: consumers in the shop, the
    companies' admins in the business shop, and anyone of them on the phone."""
    key = f"demo-history-{i}"
    if channel == "web-b2c":
        return _shop_order(session, consumers[i % len(consumers)], lines, days, key=key)
    if channel == "web-b2b":
        return _business_order(session, companies[i % len(companies)], lines, days, key=key)
    caller = [u.customer for u in companies] + consumers
    return take_phone_order(session, caller[i % len(caller)], agents[i % 2], lines, days,
                            key=key, po=f"TEL-{4100 + i}")


def _events_dated(session: Session, after_id: int, days: int) -> None:
    """The order's audit trail happened in the past too, not on the day of the seed (so the
    console's recent activity is not all history); its own order of events stays."""
    session.flush()
    session.execute(update(audit.AuditEvent).where(audit.AuditEvent.id > after_id)
                    .values(at=_ago(days)).execution_options(synchronize_session=False))


def _receive_goods(session: Session, plan: list) -> None:
    """One receipt per SKU six months ago, with its unit cost (the standard cost give or take
    a few percent), of what the history sells less what comes back to the shelf."""
    units: Counter[str] = Counter()
    for _days, _channel, lines in plan:
        units.update(dict(lines))
    units.subtract([plan[i][2][0][0] for i, why in RETURNS.items() if why == "changed_mind"])
    variants = {sku: (vid, cost) for sku, vid, cost in session.execute(
        select(Variant.sku, Variant.id, Variant.cost_price).where(Variant.sku.in_(list(units))))}
    by = audit.Actor.system("Wes Warehouse (demo)").label
    for n, sku in enumerate(sorted(units)):
        variant_id, standard = variants[sku]
        # None of these SKUs has a backorder waiting: the inventory's receipt is all it takes.
        movement = inventory.receive(session, variant_id=variant_id, warehouse="MAIN",
                                     quantity=units[sku], reference=f"DN-H-{1000 + n}", by=by,
                                     unit_cost=(standard * Decimal(97 + n % 7) / 100)
                                     .quantize(Decimal("0.01")))
        movement.at = _ago(HISTORY_DAYS + 3)


def _consumers(session: Session, password_hash: str) -> list[Customer]:
    """Consumers with a login each (demo-pass-1), who buy on account."""
    found = []
    for email, name, phone, street, city, postcode in CONSUMERS:
        customer = Customer(number=next_number(session, "customer"), kind="person", name=name,
                            email=email, phone=phone, phone_digits=phone_digits(phone),
                            postal_code=postcode, on_account_allowed=True,
                            payment_terms="net30")
        session.add_all([customer, CustomerUser(
            customer=customer, email=email, full_name=name, password_hash=password_hash,
            role="buyer", email_confirmed_at=_ago(HISTORY_DAYS + 10))])
        session.add(CustomerAddress(customer=customer, label="Home", full_name=name,
                                    line1=street, city=city, postal_code=postcode,
                                    country="DE", phone=phone, default_shipping=True,
                                    default_billing=True))
        found.append(customer)
    session.flush()
    return found


def _companies(session: Session, password_hash: str) -> list[CustomerUser]:
    """Each company with its admin login (who orders in the business shop)."""
    found = []
    for name, email, phone, street, city, postcode, region, vat_id, person in COMPANIES:
        company = Customer(number=next_number(session, "customer"), kind="company", name=name,
                           email=email, phone=phone, phone_digits=phone_digits(phone),
                           price_group="business", payment_terms="net30",
                           on_account_allowed=True, postal_code=postcode, vat_id=vat_id,
                           credit_limit=Decimal("20000.00"))
        session.add(company)
        session.add(CustomerAddress(customer=company, label="Office", full_name=person,
                                    company=name, line1=street, city=city,
                                    postal_code=postcode, region=region, country="DE",
                                    phone=phone, default_shipping=True, default_billing=True))
        user = CustomerUser(customer=company, email=email, full_name=person,
                            password_hash=password_hash, role="admin")
        session.add(user)
        found.append(user)
    session.flush()
    return found


def _web_order(session: Session, customer: Customer, email: str, channel_code: str,
               lines: list[tuple[str, int]], *, key: str, actor: audit.Actor) -> Order:
    channel = pricing.get_channel(session, channel_code)
    address = session.scalar(select(CustomerAddress).where(
        CustomerAddress.customer_id == customer.id, CustomerAddress.default_shipping)).as_dict()
    ids = dict(session.execute(select(Variant.sku, Variant.id)
                               .where(Variant.sku.in_([s for s, _ in lines]))).all())
    return orders.place_order(
        session, checkout=orders.Checkout(
            lines=[(ids[s], q) for s, q in lines], email=email, shipping_address=address,
            billing_address=address, shipping_method="standard", payment_method="on_account"),
        channel=channel, ctx=pricing.make_context(channel, customer=customer,
                                                  country=address["country"],
                                                  region=address["region"]),
        customer_id=customer.id, actor=actor, idempotency_key=key)


def _shop_order(session: Session, customer: Customer, lines: list[tuple[str, int]],
                days: int, *, key: str) -> Order:
    actor = audit.Actor("customer", customer.id, customer.name)
    order = _web_order(session, customer, customer.email, "web-b2c", lines, key=key,
                       actor=actor)
    orders.confirm_on_account(session, order, actor=actor)
    return _placed(session, order, days)


def _business_order(session: Session, user: CustomerUser, lines: list[tuple[str, int]],
                    days: int, *, key: str) -> Order:
    actor = customer_actor(user)
    order = _web_order(session, user.customer, user.email, "web-b2b", lines, key=key,
                       actor=actor)
    b2b_checkout.confirm_on_account(session, order, user, actor=actor)
    return _placed(session, order, days)


def _placed(session: Session, order: Order, days: int) -> Order:
    """Move the order to the day it was placed; no credit hold holds it (its customer owed
    nothing overdue that day)."""
    order.placed_at = _ago(days)
    shift_promises(order, _ago(days - 3).date())
    for hold in [h for h in order.active_holds if h.kind == "credit"]:
        holds.release_hold(session, hold, actor=audit.Actor.system("demo history"),
                           note="Placed before any of its customer's invoices were due.")
    if order.on_hold:
        raise DemoHistoryError(f"{order.number} is on hold; the history cannot ship it.")
    return order


def _return(session: Session, order: Order, sku: str, reason: str, days: int,
            settings: Settings, warehouse: audit.Actor):
    """One unit of `sku` sent back: asked for, approved by the policy, received (a defect
    is scrapped, a change of mind restocked) and settled against the open invoice."""
    line = next(l for l in order.lines if l.sku == sku)
    customer = session.get(Customer, order.customer_id)
    comment = {"defective": "It stopped working after a week.",
               "changed_mind": "A gift, and the recipient has one already."}[reason]
    rma = returns.request_return(
        session, order, Request([RequestLine(line.id, 1, reason, comment, None)]),
        actor=audit.Actor("customer", customer.id, customer.name), channel="shop",
        key=f"demo-history-return-{order.id}", settings=settings)
    rma.requested_at = _ago(days - 4)
    got = Received(1, "damaged", "scrap") if reason == "defective" else Received(1)
    stock_changes.receive_returned_goods(session, rma, {rma.lines[0].id: got}, actor=warehouse,
                                         key=f"demo-history-receipt-{order.id}")
    with dated(days - 6):
        done = settlement.settle(session, None, rma.id, actor=warehouse, commit=session.flush)
    if done.problem:
        raise DemoHistoryError(f"{rma.number}: {done.problem}")
    for field in ("decided_at", "label_sent_at"):
        if getattr(rma, field) is not None:
            setattr(rma, field, _ago(days - 4))
    for field in ("received_at", "refunded_at"):
        if getattr(rma, field) is not None:
            setattr(rma, field, _ago(days - 6))
    return rma


def _pay(session: Session, invoice: Invoice, days_ago: int, clerk: audit.Actor) -> None:
    """The customer pays what the invoice still has open, by bank transfer."""
    session.flush()
    session.refresh(invoice)
    if invoice.amount_open <= 0:
        return
    with dated(days_ago):
        receivables.record_payment(
            session, customer_id=invoice.customer_id, method="bank_transfer",
            amount=invoice.amount_open, currency=invoice.currency, received_on=clock.today(),
            reference=f"SEPA {invoice.number}", actor=clerk,
            allocations=[(invoice.id, invoice.amount_open)])
