"""Drop shipment: an order's drop-shipped lines become one purchase order per supplier when
it is released (once), e-mailed to the supplier with its PDF after the commit; the
supplier's shipment ships, invoices and captures like ours, with no stock movement; a
cancelled order cancels its purchase orders and tells the supplier."""
import shutil
import subprocess
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import events
from core.audit import Actor, AuditEvent
from core.billing.models import Invoice
from core.config import load_settings
from core.errors import NotFound
from core.fulfilment import services as fulfilment
from core.fulfilment.models import Shipment
from core.fulfilment.services import FulfilmentError
from core.inventory.models import StockLevel, StockMovement, Supplier
from core.orders import states as order_states
from core.payments.gateway import StripeGateway
from core.purchasing import document
from core.purchasing import services as purchasing
from core.purchasing.models import PurchaseOrder
from core.purchasing.services import PurchasingError
from core.workflows import drop_shipment
from core.workflows.card_payments import authorise_order
from core.workflows.cancellation import cancel_and_void
from tests.factories import StockLevelFactory, VariantFactory
from tests.unit.test_orders import ADDRESS, place

WAREHOUSE = Actor("agent", 7, "wanda@marketline.example")
SUPPLIER_MAIL = "orders@nordic-direct.example"


@pytest.fixture(autouse=True)
def task_sessions(session_factory):
    """The e-mail tasks run inline on the test's own connection (as tests/web's do)."""
    from core.tasks import inline_with
    with inline_with(session_factory):
        yield


@pytest.fixture
def sent(monkeypatch):
    """The e-mails delivered, as messages."""
    import core.notifications  # noqa: F401 - the e-mails follow the events after commit
    messages = []
    monkeypatch.setattr("core.mail.deliver", lambda message, url: messages.append(message))
    return messages


def supplier(db, code="NFD-T", email=SUPPLIER_MAIL, name="Nordic Test Direct") -> Supplier:
    found = Supplier(code=code, name=name, email=email, lead_days=5,
                     address={"line1": "Fabriksgatan 3", "postal_code": "41250",
                              "city": "Göteborg", "country": "SE"})
    db.add(found)
    db.flush()
    return found


def drop_shipped(db, by: Supplier, price="120.00") -> int:
    """A new variant its supplier ships straight to the customer."""
    variant = VariantFactory(price=Decimal(price))
    variant.product.drop_ship, variant.product.supplier_id = True, by.id
    db.flush()
    return variant.id


def stocked(db, on_hand=10) -> int:
    variant = VariantFactory(price=Decimal("10.00"))
    StockLevelFactory(variant=variant, on_hand=on_hand)
    return variant.id


def confirmed(db, lines, key):
    order = place(db, lines, key=key)
    order_states.move(order, "confirmed")
    order.payment_method, order.payment_state = "on_account", "on_account"
    db.flush()
    return order


def released(db, lines, key):
    order = confirmed(db, lines, key)
    drop_shipment.release_order(db, order, actor=WAREHOUSE)
    return order


def line_of(order, variant_id):
    return next(l for l in order.lines if l.variant_id == variant_id)


def record(db, po, units=None, *, carrier="dhl", tracking="JD0141", gateway=None):
    quantities = {l.id: (l.quantity - l.quantity_shipped if units is None else units)
                  for l in po.lines}
    return drop_shipment.record_supplier_shipment(
        db, gateway or object(), po.number, quantities, carrier=carrier,
        tracking_number=tracking, actor=WAREHOUSE, commit=db.commit)


# -- purchase orders at release ----------------------------------------------------------------

def test_release_makes_one_purchase_order_per_supplier_and_only_once(db):
    nordic, oak = supplier(db), supplier(db, code="OAK-T", email="po@oak.example", name="Oak")
    sofa, table, chair, paper = (drop_shipped(db, nordic), drop_shipped(db, oak),
                                 drop_shipped(db, nordic), stocked(db))
    order = released(db, [(sofa, 1), (table, 2), (chair, 4), (paper, 3)], key="po-once")
    pos = purchasing.for_order(db, order.id)
    assert [po.supplier_id for po in pos] == sorted([nordic.id, oak.id])
    by_supplier = {po.supplier_id: po for po in pos}
    assert {(l.order_line_id, l.quantity) for l in by_supplier[nordic.id].lines} == {
        (line_of(order, sofa).id, 1), (line_of(order, chair).id, 4)}
    assert [(l.sku, l.quantity) for l in by_supplier[oak.id].lines] == [
        (line_of(order, table).sku, 2)]
    for po in pos:
        assert po.number.startswith("PO-") and len(po.number) == 9
        assert po.status == "sent" and po.ship_to == ADDRESS
    assert line_of(order, paper).id not in {l.order_line_id for po in pos for l in po.lines}
    pending = [e for e in events.pending(db) if isinstance(e, events.PurchaseOrderSent)]
    assert sorted(e.purchase_order_id for e in pending) == sorted(po.id for po in pos)
    # Again: nothing new is made, nothing more is sent.
    assert drop_shipment.order_from_suppliers(db, order, actor=WAREHOUSE) == []
    assert db.scalar(select(func.count()).select_from(PurchaseOrder)
                     .where(PurchaseOrder.order_id == order.id)) == 2
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "purchase_order.sent")) >= 2


def test_an_order_of_our_own_stock_gets_no_purchase_order(db):
    order = released(db, [(stocked(db), 1)], key="po-none")
    assert order.status == "in_fulfilment"
    assert purchasing.for_order(db, order.id) == []


def test_a_batch_release_orders_from_suppliers_only_for_the_orders_released(db):
    nordic = supplier(db)
    good = confirmed(db, [(drop_shipped(db, nordic), 1)], key="po-batch-good")
    unpaid = confirmed(db, [(drop_shipped(db, nordic), 1)], key="po-batch-unpaid")
    unpaid.payment_method, unpaid.payment_state = "card", "unpaid"
    result = drop_shipment.release_orders(db, [good.id, unpaid.id], actor=WAREHOUSE)
    assert [o.id for o in result.released] == [good.id]
    assert len(purchasing.for_order(db, good.id)) == 1
    assert purchasing.for_order(db, unpaid.id) == []


# -- the document and the e-mail -----------------------------------------------------------------

def pdf_text(pdf: bytes, tmp_path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "po.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_the_purchase_order_pdf_says_what_to_ship_where_and_our_reference(db, tmp_path):
    nordic = supplier(db)
    sofa = drop_shipped(db, nordic)
    order = released(db, [(sofa, 2)], key="po-pdf")
    po = purchasing.for_order(db, order.id)[0]
    seller = document.Seller("Marketline GmbH", ("Torstraße 1", "10119 Berlin"), "DE123")
    pdf = document.purchase_order_pdf(db, po, seller=seller)
    assert pdf.startswith(b"%PDF")
    text = " ".join(pdf_text(pdf, tmp_path).split())
    assert "Purchase order" in text and po.number in text and order.number in text
    assert "Marketline GmbH" in text and "Nordic Test Direct" in text
    assert "ship to ola order hauptstraße 1 10115 berlin germany" in text.lower()
    assert line_of(order, sofa).sku in text and line_of(order, sofa).name in text
    assert ("Please ship directly to the customer and tell us the carrier and tracking "
            "number") in text


def test_the_supplier_is_e_mailed_the_pdf_after_the_commit_and_only_once(db, sent):
    nordic = supplier(db)
    order = released(db, [(drop_shipped(db, nordic), 1)], key="po-mail")
    po = purchasing.for_order(db, order.id)[0]
    assert sent == []  # nothing before the commit
    db.commit()
    assert len(sent) == 1
    message = sent[0]
    assert message["To"] == SUPPLIER_MAIL
    assert po.number in message["Subject"] and order.number in message["Subject"]
    assert "Please ship directly to the customer" in message.get_body(("plain",)).get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == f"{po.number}.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content().startswith(b"%PDF")
    db.expire_all()
    assert db.get(PurchaseOrder, po.id).emailed_at is not None
    # "Send again" sends it again; a plain repeat of the event does not.
    drop_shipment.send_again(db, db.get(PurchaseOrder, po.id), actor=WAREHOUSE)
    db.commit()
    events.record(db, events.PurchaseOrderSent(po.id))
    db.commit()
    assert len(sent) == 2


def test_a_release_rolled_back_sends_the_supplier_nothing(db, sent):
    nordic = supplier(db)
    db.commit()
    released(db, [(drop_shipped(db, nordic), 1)], key="po-rollback")
    db.rollback()
    assert sent == []
    assert db.scalar(select(func.count()).select_from(PurchaseOrder).where(
        PurchaseOrder.supplier_id == nordic.id)) == 0


# -- the supplier's shipment -------------------------------------------------------------------

def test_the_suppliers_shipment_ships_and_invoices_the_order_with_no_stock_movement(db):
    nordic = supplier(db)
    sofa, paper = drop_shipped(db, nordic), stocked(db, on_hand=10)
    order = released(db, [(sofa, 2), (paper, 1)], key="po-ship")
    po = purchasing.for_order(db, order.id)[0]
    movements = db.scalar(select(func.count()).select_from(StockMovement))

    outcome = record(db, po, units=1)  # one of two sofas
    shipment = outcome.shipment
    assert (shipment.purchase_order_id, shipment.carrier, shipment.tracking_number) == (
        po.id, "dhl", "JD0141")
    assert [(l.order_line_id, l.quantity) for l in shipment.lines] == [
        (line_of(order, sofa).id, 1)]
    assert outcome.invoice.shipment_id == shipment.id and outcome.invoice.number.startswith("INV-")
    assert outcome.collection.status == "on_account"
    db.expire_all()
    order = db.get(type(order), order.id)
    po = db.get(PurchaseOrder, po.id)
    assert order.status == "partially_shipped" and po.status == "partially_shipped"
    assert line_of(order, sofa).quantity_shipped == 1 and po.lines[0].quantity_shipped == 1
    assert db.scalar(select(func.count()).select_from(StockMovement)) == movements
    assert db.scalar(select(StockLevel.on_hand).where(StockLevel.variant_id == paper)) == 10

    record(db, po)  # the other sofa
    db.expire_all()
    po = db.get(PurchaseOrder, po.id)
    assert po.status == "shipped" and po.shipped_at is not None
    assert db.get(type(order), order.id).status == "partially_shipped"  # the paper is ours
    assert db.scalar(select(func.count()).select_from(Invoice).where(
        Invoice.order_id == order.id)) == 2
    assert db.scalar(select(func.count()).select_from(StockMovement)) == movements
    with pytest.raises(PurchasingError, match="shipped by supplier; nothing more"):
        record(db, po, units=1)


def test_an_order_only_of_drop_shipped_lines_is_shipped_by_its_supplier(db):
    order = released(db, [(drop_shipped(db, supplier(db)), 3)], key="po-all")
    record(db, purchasing.for_order(db, order.id)[0])
    db.expire_all()
    assert db.get(type(order), order.id).status == "shipped"


def test_our_own_shipment_and_the_suppliers_never_take_each_others_lines(db):
    nordic = supplier(db)
    sofa, paper = drop_shipped(db, nordic), stocked(db)
    order = released(db, [(sofa, 1), (paper, 1)], key="po-split")
    with pytest.raises(FulfilmentError, match="drop-shipped") as ours:
        fulfilment.ship(db, order, {line_of(order, sofa).id: 1}, carrier="own",
                        tracking_number="", actor=WAREHOUSE)
    assert ours.value.field == f"qty-{line_of(order, sofa).id}"
    with pytest.raises(FulfilmentError, match="ships from our warehouse"):
        fulfilment.ship_drop_shipped(db, order, {line_of(order, paper).id: 1},
                                     purchase_order_id=purchasing.for_order(db, order.id)[0].id,
                                     carrier="own", tracking_number="", actor=WAREHOUSE)


def test_the_suppliers_parcel_is_recorded_on_a_ship_complete_order_with_a_backorder(db):
    """Ship complete concerns our parcels: the supplier's has left already."""
    nordic = supplier(db)
    sofa, paper = drop_shipped(db, nordic), VariantFactory(price=Decimal("10.00"))
    paper.product.backorderable, paper.product.supplier_id = True, nordic.id
    db.flush()
    order = place(db, [(sofa, 1), (paper.id, 2)], key="po-complete")
    order.ship_complete = True
    order_states.move(order, "confirmed")
    order.payment_method, order.payment_state = "on_account", "on_account"
    drop_shipment.release_order(db, order, actor=WAREHOUSE)
    assert line_of(order, paper.id).quantity_backordered == 2
    outcome = record(db, purchasing.for_order(db, order.id)[0])
    assert [l.order_line_id for l in outcome.shipment.lines] == [line_of(order, sofa).id]
    db.expire_all()
    order = db.get(type(order), order.id)
    assert order.status == "partially_shipped"
    assert line_of(order, sofa).quantity_shipped == 1
    with pytest.raises(FulfilmentError, match="ships complete"):  # our parcel still waits
        fulfilment.ship(db, order, {line_of(order, paper.id).id: 0, line_of(order, sofa).id: 0},
                        carrier="own", tracking_number="", actor=WAREHOUSE)


def test_the_suppliers_parcel_is_recorded_and_invoiced_on_a_held_order(db):
    from core.orders import holds
    nordic = supplier(db)
    sofa, paper = drop_shipped(db, nordic), stocked(db)
    order = released(db, [(sofa, 1), (paper, 1)], key="po-held")
    holds.place_hold(db, order, kind="manual", reason_code="address_check", note="",
                     actor=WAREHOUSE)
    outcome = record(db, purchasing.for_order(db, order.id)[0])
    assert outcome.invoice.shipment_id == outcome.shipment.id
    db.expire_all()
    order = db.get(type(order), order.id)
    assert order.status == "partially_shipped" and order.on_hold
    with pytest.raises(FulfilmentError, match="on hold"):  # our own parcel waits
        fulfilment.ship(db, order, {line_of(order, paper).id: 1}, carrier="own",
                        tracking_number="", actor=WAREHOUSE)


@pytest.mark.parametrize("units, carrier, tracking, field", [
    (5, "dhl", "JD0141", "qty"),  # more than ordered
    (0, "dhl", "JD0141", None),  # nothing at all
    (1, "dhl", "", "tracking_number"),  # DHL tracks: the number is needed
    (1, "", "JD0141", "carrier"),
])
def test_a_refused_supplier_shipment_writes_nothing(db, units, carrier, tracking, field):
    order = released(db, [(drop_shipped(db, supplier(db)), 2)], key=f"po-bad-{units}-{carrier}")
    po = purchasing.for_order(db, order.id)[0]
    db.commit()
    with pytest.raises((PurchasingError, FulfilmentError)) as refused:
        record(db, po, units=units, carrier=carrier, tracking=tracking)
    db.rollback()
    expected = f"qty-{po.lines[0].id}" if field == "qty" else field
    assert refused.value.field == expected
    db.expire_all()
    assert db.get(PurchaseOrder, po.id).status == "sent"
    assert db.get(PurchaseOrder, po.id).lines[0].quantity_shipped == 0
    assert db.scalar(select(func.count()).select_from(Shipment)
                     .where(Shipment.order_id == order.id)) == 0


def test_an_unknown_purchase_order_is_not_found(db):
    with pytest.raises(NotFound):
        record_missing = drop_shipment.record_supplier_shipment
        record_missing(db, object(), "PO-999999", {}, carrier="dhl", tracking_number="X1234",
                       actor=WAREHOUSE, commit=db.commit)


# -- the card ------------------------------------------------------------------------------------

@pytest.fixture
def gateway(localstripe):
    return StripeGateway(load_settings(environ={}, STRIPE_API_BASE=localstripe))


def test_the_suppliers_shipment_captures_the_card_like_our_own(db, gateway):
    order = place(db, [(drop_shipped(db, supplier(db), price="250.00"), 1)], key="po-card")
    db.commit()
    card = gateway.client.v1.payment_methods.create({"type": "card", "card": {
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}).id
    assert authorise_order(db, gateway, order.id, payment_method=card, actor=WAREHOUSE,
                           commit=db.commit).status == "authorised"
    drop_shipment.release_order(db, order, actor=WAREHOUSE)
    db.commit()
    outcome = record(db, purchasing.for_order(db, order.id)[0], gateway=gateway)
    assert outcome.collection.status == "captured", outcome.payment_problem
    db.expire_all()
    order = db.get(type(order), order.id)
    assert (order.status, order.payment_state) == ("shipped", "captured")
    assert db.get(Invoice, outcome.invoice.id).status == "paid"


# -- cancellation --------------------------------------------------------------------------------

def test_cancelling_the_order_cancels_its_purchase_orders_and_tells_the_supplier(db, sent):
    order = released(db, [(drop_shipped(db, supplier(db)), 1)], key="po-cancel")
    db.commit()
    assert len(sent) == 1  # the purchase order itself
    cancel_and_void(db, order, gateway=object(), actor=WAREHOUSE, reason="customer asked")
    db.commit()
    po = purchasing.for_order(db, order.id)[0]
    assert po.status == "cancelled"
    assert db.scalar(select(AuditEvent.data).where(
        AuditEvent.action == "purchase_order.cancelled",
        AuditEvent.subject_id == str(po.id)))["reason"] == "customer asked"
    assert len(sent) == 2
    assert sent[1]["To"] == SUPPLIER_MAIL and "Cancelled" in sent[1]["Subject"]
    assert "please do not ship" in sent[1].get_body(("plain",)).get_content()
    with pytest.raises(PurchasingError, match="cancelled"):
        drop_shipment.send_again(db, po, actor=WAREHOUSE)
    with pytest.raises(PurchasingError, match="only one the supplier has not shipped"):
        purchasing.cancel(db, po, actor=WAREHOUSE, reason="again")
