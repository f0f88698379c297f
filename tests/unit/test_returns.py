"""Returns: what may come back, the policy, approval, receipt (restock, scrap), credit notes
with fees and shipping, refunds the way the order was paid, and exchanges."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import clock
from core.audit import Actor
from core.billing import invoicing, receivables
from core.billing.models import Invoice
from core.db import utcnow
from core.inventory.models import StockLevel, StockMovement
from core.returns import services as returns
from core.returns import settlement
from core.returns.services import Received, Request, RequestLine, ReturnError
from tests.billing_support import CLERK, assert_books_reconcile, place, ship, variant_id
from tests.fakes import FakeGateway

AGENT = Actor("agent", 3, "agent@marketline.example")
WAREHOUSE = Actor("agent", 4, "warehouse@marketline.example")
SHOPPER = Actor("customer", None, "ola@example.com")


def shipped_card_order(db, key, lines=(("PAP-A4-80", 2),), *, days_ago=2):
    order = place(db, list(lines), key=key)
    shipment = ship(db, order, dict(lines))
    shipment.shipped_at = utcnow() - dt.timedelta(days=days_ago)
    invoice = invoicing.invoice_shipment(db, shipment, actor=CLERK)
    receivables.record_card_capture(db, invoice, amount=invoice.gross_total,
                                    stripe_id=f"pi_{key}", key=f"cap-{key}", actor=CLERK)
    order.status = "shipped"
    db.flush()
    return order, invoice


def on_hand(db, sku):
    db.expire_all()
    return db.scalar(select(StockLevel.on_hand).where(
        StockLevel.variant_id == variant_id(db, sku)))


def ask(db, order, settings, *lines, key="r1", **kw):
    return returns.request_return(
        db, order, Request([RequestLine(order.lines[0].id if isinstance(l[0], int) and l[0] < 0
                                        else l[0], *l[1:]) for l in lines], **kw),
        actor=SHOPPER, channel="shop", key=key, settings=settings)


def test_one_of_two_units_comes_back_restocked_and_refunded_to_the_card(db, settings):
    order, invoice = shipped_card_order(db, "ret-1")
    line = order.lines[0]
    before = on_hand(db, "PAP-A4-80")
    rma = ask(db, order, settings, (line.id, 1, "defective"))
    assert rma.number.startswith("RMA-")
    assert rma.status == "label_sent"  # small: approved by the policy, label sent
    outcome = returns.receive(db, rma, {rma.lines[0].id: Received(1)}, actor=WAREHOUSE,
                              key="rcv-1")
    assert outcome.rma.status == "received"
    assert on_hand(db, "PAP-A4-80") == before + 1
    gateway = FakeGateway()
    settled = settlement.settle(db, gateway, rma.id, actor=WAREHOUSE, commit=db.commit)
    assert settled.problem == ""
    assert settled.rma.status == "refunded"
    note = db.scalar(select(Invoice).where(Invoice.number == settled.credit_notes[0]))
    # a defect: the unit and the shipping come back in full
    assert note.gross_total == line.gross / 2 + order.shipping_amount
    assert gateway.refunds and gateway.refunds[0][1] == note.gross_total
    assert_books_reconcile(db)


def test_more_than_was_shipped_is_refused_at_the_quantity(db, settings):
    order, _ = shipped_card_order(db, "ret-2")
    line = order.lines[0]
    with pytest.raises(ReturnError) as err:
        ask(db, order, settings, (line.id, 3, "defective"))
    assert err.value.field == f"quantity-{line.id}"
    ask(db, order, settings, (line.id, 2, "defective"), key="r2")
    with pytest.raises(ReturnError, match="already being returned"):
        ask(db, order, settings, (line.id, 1, "defective"), key="r3")


def test_outside_the_window_and_non_returnable_products_are_refused(db, settings):
    order, _ = shipped_card_order(db, "ret-3", days_ago=40)
    line = order.lines[0]
    with pytest.raises(ReturnError, match="return window"):
        ask(db, order, settings, (line.id, 1, "defective"))
    order2, _ = shipped_card_order(db, "ret-4")
    db.get(type(order2.lines[0]).__mro__[0], order2.lines[0].id)
    from core.catalog.models import Product, Variant
    product = db.get(Product, db.get(Variant, order2.lines[0].variant_id).product_id)
    product.returnable = False
    db.flush()
    with pytest.raises(ReturnError, match="cannot be returned"):
        ask(db, order2, settings, (order2.lines[0].id, 1, "defective"), key="r5")


def test_changed_mind_keeps_the_restocking_fee_and_the_shipping(db, settings):
    order, invoice = shipped_card_order(db, "ret-5")
    line = order.lines[0]
    rma = ask(db, order, settings, (line.id, 2, "changed_mind"))
    returns.receive(db, rma, {rma.lines[0].id: Received(2)}, actor=WAREHOUSE, key="rcv-5")
    settled = settlement.settle(db, FakeGateway(), rma.id, actor=WAREHOUSE, commit=db.commit)
    note = db.scalar(select(Invoice).where(Invoice.number == settled.credit_notes[0]))
    fee = [l for l in note.lines if l.kind == "fee"]
    assert fee and fee[0].gross == -(line.gross * Decimal("0.10")).quantize(Decimal("0.01"))
    assert note.gross_total == line.gross + fee[0].gross
    assert_books_reconcile(db)


def test_scrapped_units_are_written_off_and_stock_stays(db, settings):
    order, _ = shipped_card_order(db, "ret-6")
    rma = ask(db, order, settings, (order.lines[0].id, 2, "damaged"))
    before = on_hand(db, "PAP-A4-80")
    with pytest.raises(ReturnError, match="scrap"):
        returns.receive(db, rma, {rma.lines[0].id: Received(1, "damaged", "restock")},
                        actor=WAREHOUSE, key="x")
    out = returns.receive(db, rma, {rma.lines[0].id: Received(1, "damaged", "scrap")},
                          actor=WAREHOUSE, key="rcv-6")
    assert out.rma.status == "partly_received"
    assert on_hand(db, "PAP-A4-80") == before
    assert db.scalar(select(StockMovement.kind).where(StockMovement.reference == rma.number)) \
        == "write_off"
    again = returns.receive(db, rma, {rma.lines[0].id: Received(1, "damaged", "scrap")},
                            actor=WAREHOUSE, key="rcv-6")
    assert again.repeated and again.rma.quantity_received == 1


def test_an_exchange_sends_a_replacement_paid_by_the_return(db, settings):
    order, invoice = shipped_card_order(db, "ret-7")
    rma = ask(db, order, settings, (order.lines[0].id, 1, "defective"),
              resolution="exchange", replace_on="approval")
    settled = settlement.settle(db, FakeGateway(), rma.id, actor=AGENT, commit=db.commit)
    assert settled.replacement
    from core.orders.models import Order
    replacement = db.scalar(select(Order).where(Order.number == settled.replacement))
    assert replacement.payment_method == "exchange" and replacement.status == "confirmed"
    assert replacement.gross_total == order.lines[0].gross / 2
    assert_books_reconcile(db)


def test_the_replacement_ships_and_its_invoice_is_paid_by_the_return(db, settings):
    from core.fulfilment import services as fulfilment
    from core.workflows import shipping
    order, invoice = shipped_card_order(db, "ret-8")
    rma = ask(db, order, settings, (order.lines[0].id, 1, "defective"),
              resolution="exchange", replace_on="receipt")
    returns.receive(db, rma, {rma.lines[0].id: Received(1)}, actor=WAREHOUSE, key="rcv-8")
    settled = settlement.settle(db, FakeGateway(), rma.id, actor=AGENT, commit=db.commit)
    assert settled.rma.status == "exchanged"
    replacement = db.get(type(order), settled.rma.replacement_order_id)
    fulfilment.release_order(db, replacement, actor=WAREHOUSE)
    out = shipping.ship_order(db, FakeGateway(), replacement.id,
                              {replacement.lines[0].id: 1}, carrier="dhl",
                              tracking_number="JJD1", actor=WAREHOUSE, commit=db.commit)
    assert out.invoice.amount_open == 0
    assert_books_reconcile(db)


def _decode_code128(bars: str) -> str:
    """Read Code 128 modules back into text (code sets B and C, as the label uses them),
    checking the check character."""
    from barcode.charsets import code128
    table = {pattern: value for value, pattern in enumerate(code128.CODES)}
    stop = code128.STOP + "11"  # the stop symbol and its final bar: 13 modules
    assert bars.endswith(stop)
    symbols = [table[bars[i:i + 11]] for i in range(0, len(bars) - len(stop), 11)]
    start, *data, check = symbols
    assert start == code128.START_CODES["B"]
    assert check == (start + sum(i * v for i, v in enumerate(data, 1))) % 103
    text, charset = "", "B"
    for value in data:
        if charset == "B" and value == 99 or charset == "C" and value == 100:
            charset = "C" if value == 99 else "B"
        else:
            text += f"{value:02d}" if charset == "C" else chr(value + 32)
    return text


def test_the_label_carries_the_rma_number_as_a_code_128_barcode(db, settings):
    from core.returns import label
    order, _ = shipped_card_order(db, "ret-label")
    rma = ask(db, order, settings, (order.lines[0].id, 1, "defective"))
    html = label.label_html(rma, order, settings)
    bars = html.split('data-modules="')[1].split('"')[0]
    assert _decode_code128(bars) == rma.number
    assert "Hafenstraße 12, Tor 3" in html and order.number in html
    pdf = label.label_pdf(db, rma, settings)
    assert pdf.startswith(b"%PDF")


def on_account_order(db, key, customer, lines=(("PAP-A4-80", 2),)):
    order = place(db, list(lines), key=key, customer=customer, payment_method="on_account")
    shipment = ship(db, order, dict(lines))
    shipment.shipped_at = utcnow() - dt.timedelta(days=1)
    invoice = invoicing.invoice_shipment(db, shipment, actor=CLERK)
    order.status = "shipped"
    db.flush()
    return order, invoice


def test_on_account_the_credit_note_settles_the_invoice_and_then_other_open_ones(db, settings):
    from tests.factories import CustomerFactory
    buyer = CustomerFactory(on_account_allowed=True)
    order, invoice = on_account_order(db, "acct-1", buyer)
    other, other_invoice = on_account_order(db, "acct-2", buyer)
    receivables.record_payment(db, customer_id=buyer.id, method="bank_transfer",
                               amount=invoice.gross_total, currency="EUR",
                               received_on=clock.today(), reference="SEPA 1", actor=CLERK,
                               allocations=[(invoice.id, invoice.gross_total)])
    assert returns.refund_methods(db, order) == {"invoices": "Against open invoices",
                                                 "store_credit": "Store credit"}
    rma = ask(db, order, settings, (order.lines[0].id, 1, "wrong_item"))
    returns.receive(db, rma, {rma.lines[0].id: Received(1)}, actor=WAREHOUSE, key="acct-rcv")
    settled = settlement.settle(db, FakeGateway(), rma.id, actor=CLERK, commit=db.commit)
    assert settled.rma.status == "refunded"
    db.refresh(other_invoice)
    assert other_invoice.amount_open == other_invoice.gross_total - settled.refunded
    assert_books_reconcile(db)


def test_store_credit_stays_with_the_customer_for_the_next_invoice(db, settings):
    from tests.factories import CustomerFactory
    buyer = CustomerFactory()
    order = place(db, [("PAP-A4-80", 2)], key="sc-1", customer=buyer)
    shipment = ship(db, order, {"PAP-A4-80": 2})
    shipment.shipped_at = utcnow()
    invoice = invoicing.invoice_shipment(db, shipment, actor=CLERK)
    receivables.record_card_capture(db, invoice, amount=invoice.gross_total, stripe_id="pi_sc1",
                                    key="cap-sc1", actor=CLERK)
    rma = ask(db, order, settings, (order.lines[0].id, 1, "defective"),
              refund_method="store_credit")
    returns.receive(db, rma, {rma.lines[0].id: Received(1)}, actor=WAREHOUSE, key="sc-rcv")
    gateway = FakeGateway()
    settled = settlement.settle(db, gateway, rma.id, actor=CLERK, commit=db.commit)
    assert settled.rma.status == "refunded" and gateway.refunds == []
    note = settlement.credit_notes(db, settled.rma)[0]
    assert note.amount_open == note.gross_total and note.payment_method == "store_credit"
    assert receivables.credit_sources(db, invoice, customer_credit=True)[-1] == note
    assert_books_reconcile(db)


def test_a_cheap_item_is_kept_and_refunded_on_approval_without_a_label(db, settings):
    order, _ = shipped_card_order(db, "keep-1")
    cheap = settings.__class__(**{**settings.__dict__, "RETURN_KEEP_LIMIT": 50})
    rma = ask(db, order, cheap, (order.lines[0].id, 1, "defective"))
    assert rma.status == "approved" and not rma.ship_back and rma.label_sent_at is None
    gateway = FakeGateway()
    settled = settlement.settle(db, gateway, rma.id, actor=CLERK, commit=db.commit)
    assert settled.rma.status == "refunded" and len(gateway.refunds) == 1
    with pytest.raises(ReturnError, match="nothing more is expected"):
        returns.receive(db, rma, {rma.lines[0].id: Received(1)}, actor=WAREHOUSE, key="k")


def test_above_the_limits_an_agent_decides_and_above_the_approval_limit_a_supervisor(db, settings):
    strict = settings.__class__(**{**settings.__dict__, "RETURN_AUTO_APPROVE_LIMIT": 0,
                                   "RETURN_APPROVAL_LIMIT": 5})
    order, _ = shipped_card_order(db, "dec-1")
    rma = ask(db, order, strict, (order.lines[0].id, 2, "changed_mind"))
    assert rma.status == "requested" and rma.needs_supervisor
    with pytest.raises(returns.DecisionNotAllowed, match="supervisor"):
        returns.approve(db, rma, actor=AGENT, roles={"agent"})
    with pytest.raises(ReturnError) as err:
        returns.reject(db, rma, actor=AGENT, roles={"supervisor"}, note=" ")
    assert err.value.field == "note"
    returns.reject(db, rma, actor=AGENT, roles={"supervisor"}, note="Used and worn.")
    assert rma.status == "rejected" and rma.decision_note == "Used and worn."
    with pytest.raises(ReturnError, match=r"already been decided by .* \(status: Rejected\)"):
        returns.approve(db, rma, actor=AGENT, roles={"admin"})
    # a rejected return holds nothing: the units may be asked for again
    again = ask(db, order, strict, (order.lines[0].id, 2, "defective"), key="dec-2")
    assert again.status == "requested"


def test_a_partial_receipt_refunds_what_came_and_the_rest_later(db, settings):
    order, _ = shipped_card_order(db, "part-1")
    rma = ask(db, order, settings, (order.lines[0].id, 2, "defective"))
    gateway = FakeGateway()
    returns.receive(db, rma, {rma.lines[0].id: Received(1)}, actor=WAREHOUSE, key="p1")
    first = settlement.settle(db, gateway, rma.id, actor=WAREHOUSE, commit=db.commit)
    assert first.rma.status == "partly_received" and len(gateway.refunds) == 1
    returns.receive(db, rma, {rma.lines[0].id: Received(1)}, actor=WAREHOUSE, key="p2")
    second = settlement.settle(db, gateway, rma.id, actor=WAREHOUSE, commit=db.commit)
    assert second.rma.status == "refunded" and len(gateway.refunds) == 2
    assert order.lines[0].quantity_returned == 2
    assert_books_reconcile(db)


def test_a_refused_card_refund_leaves_the_return_received_to_try_again(db, settings):
    order, _ = shipped_card_order(db, "fail-1")
    rma = ask(db, order, settings, (order.lines[0].id, 1, "defective"))
    returns.receive(db, rma, {rma.lines[0].id: Received(1)}, actor=WAREHOUSE, key="f1")

    class Refusing(FakeGateway):
        def refund(self, *args):
            from core.payments.gateway import PaymentDeclined
            raise PaymentDeclined("The card issuer refused the refund.")

    settled = settlement.settle(db, Refusing(), rma.id, actor=WAREHOUSE, commit=db.commit)
    assert settled.rma.status == "received" and "refused" in settled.problem
    retried = settlement.settle(db, FakeGateway(), rma.id, actor=WAREHOUSE, commit=db.commit)
    assert retried.rma.status == "refunded" and retried.credit_notes == []
    assert_books_reconcile(db)


def test_the_same_request_submitted_twice_is_one_return(db, settings):
    order, _ = shipped_card_order(db, "twice-1")
    first = ask(db, order, settings, (order.lines[0].id, 1, "defective"), key="same")
    assert ask(db, order, settings, (order.lines[0].id, 1, "defective"), key="same") is first


def test_the_customers_returns_list_runs_the_same_queries_for_1_or_5(db, settings, connection):
    from tests.factories import CustomerFactory
    from tests.helpers import QueryCounter
    buyer = CustomerFactory()
    counts = []
    for n in (1, 5):
        for i in range(n):
            order = place(db, [("PAP-A4-80", 1)], key=f"q{n}-{i}", customer=buyer)
            ship(db, order, {"PAP-A4-80": 1}).shipped_at = utcnow()
            order.status = "shipped"
            db.flush()
            ask(db, order, settings, (order.lines[0].id, 1, "defective"), key=f"qr{n}-{i}")
        db.expire_all()
        with QueryCounter(connection) as counter:
            assert len(returns.for_customer(db, buyer.id)) >= n
        counts.append(counter.count)
    assert counts[0] == counts[1]


def test_an_exchange_sends_a_variant_of_the_same_product_at_the_same_price_only(db, settings):
    from core.catalog.models import Variant
    from tests.factories import VariantFactory
    order, _ = shipped_card_order(db, "swap-1")
    line = order.lines[0]
    original = db.get(Variant, line.variant_id)
    elsewhere = VariantFactory()
    with pytest.raises(ReturnError) as err:
        ask(db, order, settings, (line.id, 1, "wrong_item", "", elsewhere.id),
            resolution="exchange")
    assert err.value.field == f"replacement-{line.id}"
    dearer = VariantFactory(product=original.product, price=Decimal("99.00"))
    with pytest.raises(ReturnError, match="priced differently"):
        ask(db, order, settings, (line.id, 1, "wrong_item", "", dearer.id),
            resolution="exchange", key="r-dearer")


def test_a_unit_billing_credited_before_it_came_back_is_not_credited_again(db, settings):
    order, invoice = shipped_card_order(db, "hand-1")
    goods = next(l for l in invoice.lines if l.kind == "goods")
    invoicing.issue_credit_note(db, invoice, lines={goods.id: 1}, reason="Goodwill on the phone",
                                actor=CLERK)
    rma = ask(db, order, settings, (order.lines[0].id, 1, "changed_mind"))
    returns.receive(db, rma, {rma.lines[0].id: Received(1)}, actor=WAREHOUSE, key="hand-rcv")
    gateway = FakeGateway()
    settled = settlement.settle(db, gateway, rma.id, actor=WAREHOUSE, commit=db.commit)
    assert settled.credit_notes == [] and gateway.refunds == []
    assert settled.rma.status == "refunded"  # the money went back with the first note
    assert invoicing.creditable(db, invoice)[goods.id] == 1  # the kept unit stays billed
    assert_books_reconcile(db)


def test_closing_an_exchange_before_its_replacement_pays_back_what_came(db, settings):
    order, _ = shipped_card_order(db, "close-x")
    rma = ask(db, order, settings, (order.lines[0].id, 2, "defective"), resolution="exchange")
    returns.receive(db, rma, {rma.lines[0].id: Received(1)}, actor=WAREHOUSE, key="cx-1")
    settlement.settle(db, FakeGateway(), rma.id, actor=WAREHOUSE, commit=db.commit)
    returns.close(db, rma, actor=AGENT, roles={"agent"}, note="The second unit never came")
    gateway = FakeGateway()
    settled = settlement.settle(db, gateway, rma.id, actor=AGENT, commit=db.commit)
    assert settled.rma.status == "closed" and settled.rma.resolution == "refund"
    assert [r[1] for r in gateway.refunds] == [settlement.credit_notes(db, rma)[0].gross_total]
    assert_books_reconcile(db)


def test_an_exchange_whose_replacement_went_out_stays_open_until_the_goods_are_back(db, settings):
    order, _ = shipped_card_order(db, "close-y")
    rma = ask(db, order, settings, (order.lines[0].id, 1, "defective"), resolution="exchange",
              replace_on="approval")
    settlement.settle(db, FakeGateway(), rma.id, actor=AGENT, commit=db.commit)
    with pytest.raises(ReturnError, match="stays open until the goods are back"):
        returns.close(db, rma, actor=AGENT, roles={"agent"}, note="Never came")


def test_closing_a_request_above_the_approval_limit_is_a_supervisors_decision(db, settings):
    strict = settings.__class__(**{**settings.__dict__, "RETURN_AUTO_APPROVE_LIMIT": 0,
                                   "RETURN_APPROVAL_LIMIT": 5})
    order, _ = shipped_card_order(db, "close-z")
    rma = ask(db, order, strict, (order.lines[0].id, 2, "changed_mind"))
    with pytest.raises(returns.DecisionNotAllowed):
        returns.close(db, rma, actor=AGENT, roles={"agent"}, note="Withdrawn")
    returns.close(db, rma, actor=AGENT, roles={"supervisor"}, note="Withdrawn")


def test_goods_kept_and_closed_are_not_returnable_again(db, settings):
    order, _ = shipped_card_order(db, "kept-2")
    cheap = settings.__class__(**{**settings.__dict__, "RETURN_KEEP_LIMIT": 50})
    rma = ask(db, order, cheap, (order.lines[0].id, 1, "defective"))
    settlement.settle(db, FakeGateway(), rma.id, actor=CLERK, commit=db.commit)
    returns.close(db, rma, actor=AGENT, roles={"agent"}, note="Done")
    line = returns.returnable_lines(db, order, cheap)[0]
    assert line.returnable == 1


def test_the_last_unit_exchanged_leaves_no_cent_open_on_its_replacement(db, settings):
    from core.fulfilment import services as fulfilment
    from core.workflows import shipping
    order, _ = shipped_card_order(db, "cent-1", lines=(("PAP-A4-80", 3),))
    first = ask(db, order, settings, (order.lines[0].id, 2, "defective"), key="cent-a")
    returns.receive(db, first, {first.lines[0].id: Received(2)}, actor=WAREHOUSE, key="c1")
    settlement.settle(db, FakeGateway(), first.id, actor=WAREHOUSE, commit=db.commit)
    swap = ask(db, order, settings, (order.lines[0].id, 1, "defective"), key="cent-b",
               resolution="exchange")
    returns.receive(db, swap, {swap.lines[0].id: Received(1)}, actor=WAREHOUSE, key="c2")
    settled = settlement.settle(db, FakeGateway(), swap.id, actor=WAREHOUSE, commit=db.commit)
    replacement = db.get(type(order), settled.rma.replacement_order_id)
    fulfilment.release_order(db, replacement, actor=WAREHOUSE)
    out = shipping.ship_order(db, FakeGateway(), replacement.id, {replacement.lines[0].id: 1},
                              carrier="dhl", tracking_number="JJD2", actor=WAREHOUSE,
                              commit=db.commit)
    assert out.invoice.amount_open == 0
    assert_books_reconcile(db)


def test_returned_goods_go_back_to_the_warehouse_they_shipped_from_and_fill_its_backorders(
        db, settings):
    from core.inventory import services as inventory
    from core.inventory.models import Supplier
    from core.workflows import stock_changes
    from tests.factories import StockLevelFactory, VariantFactory
    supplier = Supplier(code="RET-HAM", name="Hamburg Supply", lead_days=10)
    db.add(supplier)
    db.flush()
    item = VariantFactory(price=Decimal("10.00"))
    item.product.backorderable, item.product.supplier_id = True, supplier.id
    StockLevelFactory(variant=item, warehouse="HAM", on_hand=3)
    db.flush()
    order, _ = shipped_card_order(db, "ret-ham", lines=((item.sku, 2),))
    line = order.lines[0]
    assert line.warehouse == "HAM"
    inventory.ship_out(db, [(item.id, "HAM", 2)], reference="ret-ham", by="test")
    line.quantity_reserved = 0
    waiting = place(db, [(item.sku, 3)], key="ret-ham-waiting")  # 1 left in HAM, 2 wait
    assert (waiting.lines[0].warehouse, waiting.lines[0].quantity_reserved,
            waiting.lines[0].quantity_backordered) == ("HAM", 1, 2)
    rma = ask(db, order, settings, (line.id, 2, "defective"), key="ret-ham")
    received = stock_changes.receive_returned_goods(
        db, rma, {rma.lines[0].id: Received(2)}, actor=WAREHOUSE, key="rcv-ham")
    assert received.outcome.restocked_in == [(item.id, "HAM")]
    assert [(f.order_number, f.units) for f in received.filled] == [(waiting.number, 2)]
    db.expire_all()
    rows = {r.warehouse: r for r in db.scalars(select(StockLevel).where(
        StockLevel.variant_id == item.id))}
    assert (rows["HAM"].on_hand, rows["HAM"].reserved, rows["HAM"].backordered) == (3, 3, 0)
    assert "MAIN" not in rows or rows["MAIN"].on_hand == 0
    assert inventory.journal_balance(db, item.id, "HAM") == (3, 3)
    assert db.scalar(select(StockMovement.warehouse).where(
        StockMovement.variant_id == item.id, StockMovement.kind == "return_restock")) == "HAM"
