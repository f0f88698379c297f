"""The sales facts (core.reporting.facts): what an issued invoice or credit note writes, what
it costs, the roll-up, and that a rebuild from the documents gives the same."""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal as D

import pytest
from sqlalchemy import delete, func, select

from core.agents.models import Agent
from core.billing import invoicing
from core.billing.invoicing import FreeTextLine
from core.catalog.models import Product, Variant
from core.customers.models import CustomerAddress
from core.demo.orders import take_phone_order
from core.inventory import services as inventory
from core.reporting import facts as sales_facts
from core.reporting.models import SalesDay, SalesFact
from tests.billing_support import CLERK, place, ship
from tests.factories import CustomerFactory

ZERO = D(0)


@pytest.fixture
def cleo(db):
    """A business customer on account with no history, and an address for phone orders."""
    customer = CustomerFactory(kind="company", name="Cleo Consulting", payment_terms="net30",
                               on_account_allowed=True, price_group="business")
    db.add(CustomerAddress(customer=customer, label="Office", full_name="Cleo Goods In",
                           line1="Hauptstraße 1", city="Berlin", postal_code="10115",
                           country="DE", default_shipping=True, default_billing=True))
    db.flush()
    return customer


@pytest.fixture
def costs(db):
    """PAP-A4-80: a standard cost only; PEN-G2-BLU: two receipts (the later one counts) and
    a standard cost they beat; STN-76-YEL: no cost at all."""
    variants = {v.sku: v for v in db.scalars(select(Variant).where(
        Variant.sku.in_(["PAP-A4-80", "PEN-G2-BLU", "STN-76-YEL"])))}
    variants["PAP-A4-80"].cost_price = D("2.10")
    variants["PEN-G2-BLU"].cost_price = D("9.00")
    variants["STN-76-YEL"].cost_price = None
    for cost in ("7.00", "7.50"):
        inventory.receive(db, variant_id=variants["PEN-G2-BLU"].id, warehouse="MAIN",
                          quantity=10, reference="DN-TEST", by="tests", unit_cost=D(cost))
    db.flush()
    return variants


def facts_of(db, doc) -> dict[str, SalesFact]:
    """The document's facts by SKU (shipping: "shipping"; a fee: "fee <sku>")."""
    found = {}
    for f in db.scalars(select(SalesFact).where(SalesFact.invoice_id == doc.id)):
        key = {"goods": f.sku, "shipping": "shipping"}.get(f.line_kind, f"{f.line_kind} {f.sku}")
        found[key] = f
    return found


def invoice_all(db, order, quantities):
    return invoicing.invoice_shipment(db, ship(db, order, quantities), actor=CLERK)


def test_an_invoice_makes_one_fact_per_line_with_its_revenue_net_of_vat_and_its_cost(
        db, cleo, costs):
    # 43.78 EUR incl. VAT: under the 50 EUR of free shipping, so a shipping line too
    order = place(db, [("PAP-A4-80", 2), ("PEN-G2-BLU", 1), ("STN-76-YEL", 1)], key="facts-1",
                  customer=cleo)
    invoice = invoice_all(db, order, {"PAP-A4-80": 2, "PEN-G2-BLU": 1, "STN-76-YEL": 1})

    found = facts_of(db, invoice)
    assert len(found) == len(invoice.lines)
    by_sku = {l.sku or "shipping": l for l in invoice.lines}
    for key, fact in found.items():
        line = by_sku[key]
        assert (fact.invoice_line_id, fact.document, fact.day, fact.currency) == (
            line.id, "invoice", invoice.issue_date, "EUR")
        assert fact.revenue == line.net  # net of VAT
        assert (fact.channel_code, fact.customer_id, fact.customer_group, fact.agent_id,
                fact.order_id) == ("web-b2c", cleo.id, "business", None, order.id)
    assert sum(f.revenue for f in found.values()) == invoice.net_total
    paper = found["PAP-A4-80"]
    product = db.get(Product, costs["PAP-A4-80"].product_id)
    assert (paper.quantity, paper.variant_id, paper.product_id, paper.category_id) == (
        2, costs["PAP-A4-80"].id, product.id, product.category_id)
    assert (paper.unit_cost, paper.cost) == (D("2.10"), D("4.20"))  # the standard cost
    pens = found["PEN-G2-BLU"]
    assert (pens.unit_cost, pens.cost) == (D("7.50"), D("7.50"))  # the latest receipt
    notes = found["STN-76-YEL"]
    assert (notes.quantity, notes.unit_cost, notes.cost) == (1, None, ZERO)  # not known
    shipping = found["shipping"]
    assert (shipping.line_kind, shipping.quantity, shipping.cost, shipping.unit_cost,
            shipping.category_id) == ("shipping", 0, ZERO, None, None)


def test_a_phone_order_s_facts_name_the_agent_who_took_it(db, cleo):
    alex = db.scalar(select(Agent).where(Agent.email == "agent@marketline.example"))
    order = take_phone_order(db, cleo, alex, [("PAP-A4-80", 3)], 0, key="facts-phone")
    invoice = invoice_all(db, order, {"PAP-A4-80": 3})

    fact = facts_of(db, invoice)["PAP-A4-80"]
    assert (fact.channel_code, fact.agent_id, fact.customer_group) == (
        "callcenter", alex.id, "business")


def test_a_partial_credit_note_takes_back_units_revenue_and_cost_at_the_invoice_s_cost(
        db, cleo, costs):
    order = place(db, [("PEN-G2-BLU", 4)], key="facts-credit", customer=cleo)
    invoice = invoice_all(db, order, {"PEN-G2-BLU": 4})
    line = next(l for l in invoice.lines if l.sku == "PEN-G2-BLU")
    inventory.receive(db, variant_id=costs["PEN-G2-BLU"].id, warehouse="MAIN", quantity=5,
                      reference="DN-LATER", by="tests", unit_cost=D("8.80"))  # dearer now

    note = invoicing.issue_credit_note(db, invoice, lines={line.id: 1}, reason="One broke",
                                       actor=CLERK)

    credited = next(l for l in note.lines if l.sku == "PEN-G2-BLU")
    fact = facts_of(db, note)["PEN-G2-BLU"]
    assert (fact.document, fact.quantity, fact.revenue) == ("credit_note", -1, -credited.net)
    assert (fact.unit_cost, fact.cost) == (D("7.50"), D("-7.50"))  # as sold, not 8.80
    assert (fact.channel_code, fact.customer_id) == ("web-b2c", cleo.id)
    assert not fact.first_of_order


def test_a_restocking_fee_on_a_credit_note_is_revenue_kept_with_no_units(db, cleo, costs):
    order = place(db, [("PAP-A4-80", 10)], key="facts-fee", customer=cleo)
    invoice = invoice_all(db, order, {"PAP-A4-80": 10})
    line = next(l for l in invoice.lines if l.sku == "PAP-A4-80")

    note = invoicing.issue_credit_note(db, invoice, lines={line.id: 10}, reason="Changed mind",
                                       actor=CLERK, fees={line.id: D(10)})

    found = facts_of(db, note)
    fee, goods = found["fee PAP-A4-80"], found["PAP-A4-80"]
    fee_line = next(l for l in note.lines if l.kind == "fee")
    assert fee.revenue == -fee_line.net > 0  # kept: the fee line is negative on the note
    assert (fee.quantity, fee.cost, fee.unit_cost) == (0, ZERO, None)
    assert (goods.quantity, goods.cost) == (-10, D("-21.00"))
    assert goods.revenue + fee.revenue == -(line.net - fee.revenue)


def test_dunning_charge_invoices_make_no_facts_and_leave_the_roll_up_alone(db, cleo):
    before = db.execute(select(func.count(), func.sum(SalesDay.revenue))
                        .select_from(SalesDay)).one()
    charges = invoicing.issue_free_text(
        db, customer=cleo, actor=CLERK, use_credit=False, lines=[
            FreeTextLine("Dunning fee, level 2", 1, D("5.00"), ZERO, kind="dunning_fee"),
            FreeTextLine("Default interest", 1, D("1.23"), ZERO, kind="interest")])
    db.flush()

    assert charges.net_total == D("6.23")
    assert facts_of(db, charges) == {}
    assert db.execute(select(func.count(), func.sum(SalesDay.revenue))
                      .select_from(SalesDay)).one() == before


def test_first_of_order_is_set_once_per_order_across_two_shipments_invoices(db, cleo, costs):
    order = place(db, [("PAP-A4-80", 5), ("PEN-G2-BLU", 2)], key="facts-split", customer=cleo)
    first = invoice_all(db, order, {"PAP-A4-80": 3})
    second = invoice_all(db, order, {"PAP-A4-80": 2, "PEN-G2-BLU": 2})

    flags = [(f.invoice_id, f.first_of_order) for f in db.scalars(
        select(SalesFact).where(SalesFact.order_id == order.id).order_by(SalesFact.id))]
    assert flags[0] == (first.id, True)
    assert sum(flag for _, flag in flags) == 1
    assert {i for i, _ in flags} == {first.id, second.id}


def _cells_from_facts(db) -> dict[tuple, tuple]:
    cells: dict[tuple, list] = defaultdict(lambda: [ZERO, ZERO, 0, 0, 0])
    for f in db.scalars(select(SalesFact)):
        c = cells[(f.day, f.currency, f.channel_code, f.category_id or 0, f.customer_group,
                   f.agent_id or 0)]
        c[0] += f.revenue
        c[1] += f.cost
        c[2] += f.quantity
        c[3] += f.first_of_order
        c[4] += 1
    return {k: tuple(v) for k, v in cells.items()}


def _cells(db) -> dict[tuple, tuple]:
    return {(d.day, d.currency, d.channel_code, d.category_id, d.customer_group, d.agent_id):
            (d.revenue, d.cost, d.units, d.orders, d.lines) for d in db.scalars(select(SalesDay))}


def _some_documents(db, cleo):
    alex = db.scalar(select(Agent).where(Agent.email == "agent@marketline.example"))
    web = place(db, [("PAP-A4-80", 5), ("PEN-G2-BLU", 2)], key="facts-days-1", customer=cleo)
    invoice = invoice_all(db, web, {"PAP-A4-80": 5, "PEN-G2-BLU": 2})
    line = next(l for l in invoice.lines if l.sku == "PAP-A4-80")
    invoicing.issue_credit_note(db, invoice, lines={line.id: 2}, reason="Two damaged",
                                actor=CLERK, fees={line.id: D(10)})
    phone = take_phone_order(db, cleo, alex, [("PAP-A4-80", 3), ("STN-76-YEL", 2)], 0,
                             key="facts-days-2")
    invoice_all(db, phone, {"PAP-A4-80": 3})
    invoice_all(db, phone, {"STN-76-YEL": 2})
    db.flush()


def test_the_daily_roll_up_equals_the_facts_summed(db, cleo, costs):
    _some_documents(db, cleo)
    db.expire_all()

    assert _cells(db) == _cells_from_facts(db)
    assert db.scalar(select(func.count()).select_from(SalesFact)) > 0


def test_rebuild_reproduces_the_same_facts_and_roll_up(db, cleo):
    # (no cost changes here: a rebuild costs every invoice at the costs known now)
    _some_documents(db, cleo)
    db.expire_all()
    fields = ("invoice_id", "document", "line_kind", "day", "currency", "channel_code",
              "customer_id", "customer_group", "agent_id", "order_id", "product_id",
              "variant_id", "category_id", "sku", "quantity", "revenue", "cost", "unit_cost",
              "first_of_order")

    def snapshot():
        return {f.invoice_line_id: tuple(getattr(f, n) for n in fields)
                for f in db.scalars(select(SalesFact))}

    facts_before, days_before = snapshot(), _cells(db)
    documents = sales_facts.rebuild(db, everything=True)
    db.flush()
    db.expire_all()

    assert documents == db.scalar(select(func.count(func.distinct(SalesFact.invoice_id))))
    assert snapshot() == facts_before
    assert _cells(db) == days_before
    assert sales_facts.rebuild_days(db) == len(days_before)
    db.expire_all()
    assert _cells(db) == days_before


def test_a_credit_note_is_filed_where_the_sale_was_not_where_things_are_now(db, cleo, costs):
    order = place(db, [("PEN-G2-BLU", 3)], key="facts-moved", customer=cleo)
    invoice = invoice_all(db, order, {"PEN-G2-BLU": 3})
    sold = facts_of(db, invoice)["PEN-G2-BLU"]
    product = db.get(Product, costs["PEN-G2-BLU"].product_id)
    other = db.scalar(select(Product.category_id).where(
        Product.category_id != product.category_id).limit(1))
    product.category_id = other  # the product moves, the customer changes group
    cleo.price_group = "retail"
    db.flush()
    line = next(l for l in invoice.lines if l.sku == "PEN-G2-BLU")

    note = invoicing.issue_credit_note(db, invoice, lines={line.id: 1}, reason="One broke",
                                       actor=CLERK, fees={line.id: D("10")})

    taken = facts_of(db, note)
    for fact in (taken["PEN-G2-BLU"], taken["fee PEN-G2-BLU"]):
        assert (fact.category_id, fact.product_id, fact.customer_group, fact.channel_code) == (
            sold.category_id, sold.product_id, "business", "web-b2c")


def test_a_document_in_another_currency_than_eur_has_no_cost(db, cleo, costs):
    order = place(db, [("PEN-G2-BLU", 2)], key="facts-chf", customer=cleo)
    order.currency = "CHF"  # as if sold on a CHF price list
    db.flush()
    invoice = invoice_all(db, order, {"PEN-G2-BLU": 2})
    assert invoice.currency == "CHF"

    fact = facts_of(db, invoice)["PEN-G2-BLU"]
    assert (fact.currency, fact.quantity, fact.unit_cost, fact.cost) == ("CHF", 2, None, ZERO)


def test_a_rebuild_keeps_the_costs_recorded_at_issue_and_records_what_has_no_facts(
        db, cleo, costs):
    first = invoice_all(db, place(db, [("PEN-G2-BLU", 2)], key="facts-rb1", customer=cleo),
                        {"PEN-G2-BLU": 2})
    second = invoice_all(db, place(db, [("PEN-G2-BLU", 1)], key="facts-rb2", customer=cleo),
                         {"PEN-G2-BLU": 1})
    db.execute(delete(SalesFact).where(SalesFact.invoice_id == second.id))  # as before 0018
    inventory.receive(db, variant_id=costs["PEN-G2-BLU"].id, warehouse="MAIN", quantity=5,
                      reference="DN-DEARER", by="tests", unit_cost=D("9.90"))

    recorded = sales_facts.rebuild(db)
    db.expire_all()

    assert recorded == 1
    assert facts_of(db, first)["PEN-G2-BLU"].unit_cost == D("7.50")  # as at issue
    assert facts_of(db, second)["PEN-G2-BLU"].unit_cost == D("9.90")  # the best known now
    assert _cells(db) == _cells_from_facts(db)
