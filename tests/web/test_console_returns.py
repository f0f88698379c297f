"""Returns in the console: a return taken on the phone, the worklist, approving and
rejecting by role (a supervisor above the limit), receiving (restock, partial, twice),
refunds and their retry, exchanges, the customer 360, authorisation and CSRF."""
import datetime as dt
import re
from itertools import pairwise

import pytest
from sqlalchemy import func, select

from core.audit import Actor, AuditEvent
from core.billing import invoicing, receivables
from core.billing.models import Invoice, Refund
from core.db import utcnow
from core.inventory.models import StockLevel
from core.orders.models import Order
from core.payments.gateway import PaymentDeclined
from core.returns import services as returns
from core.returns.models import ReturnAuthorisation
from core.returns.services import Request, RequestLine
from tests.billing_support import CLERK, place, ship, variant_id
from tests.conftest import agent_client_for, csrf_token
from tests.factories import CustomerFactory
from tests.fakes import FakeGateway
from tests.helpers import QueryCounter

SHOPPER = Actor("customer", None, "ola@example.com")


class RefusingOnce(FakeGateway):
    """Stripe that declines the first refund it is asked for, then pays."""

    def refund(self, intent_id, amount, currency, key):
        if not getattr(self, "refused", False):
            self.refused = True
            raise PaymentDeclined("The card issuer refused the refund.")
        return super().refund(intent_id, amount, currency, key)


@pytest.fixture
def payment_gateway():
    return FakeGateway()


@pytest.fixture
def billing_client(console_app):
    return agent_client_for(console_app, "billing@marketline.example")


# -- helpers ---------------------------------------------------------------------------------


def shipped(db, key, lines=(("PAP-A4-80", 2),), *, customer=None, days_ago=2) -> Order:
    """A card order shipped `days_ago`, invoiced and captured (as the warehouse would)."""
    order = place(db, list(lines), key=key, customer=customer)
    shipment = ship(db, order, dict(lines))
    shipment.shipped_at = utcnow() - dt.timedelta(days=days_ago)
    invoice = invoicing.invoice_shipment(db, shipment, actor=CLERK)
    receivables.record_card_capture(db, invoice, amount=invoice.gross_total,
                                    stripe_id=f"pi_{key}", key=f"cap-{key}", actor=CLERK)
    order.status = "shipped"
    db.commit()
    return order


def requested(db, settings, order, quantity=1, reason="defective", *, key, **kw):
    """A return asked for in the shop, committed."""
    rma = returns.request_return(
        db, order, Request([RequestLine(order.lines[0].id, quantity, reason)], **kw),
        actor=SHOPPER, channel="shop", key=key, settings=settings)
    db.commit()
    return rma


def page(client, path) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def post(client, path, data, page_path):
    """Post a form of `page_path` with its CSRF token (prefixed fields carry theirs)."""
    token = csrf_token(client, page_path)
    return client.post(path, data={**data, "csrf_token": token})


def fresh(db, rma) -> ReturnAuthorisation:
    db.expire_all()
    return db.get(ReturnAuthorisation, rma.id)


def on_hand(db, sku) -> int:
    db.expire_all()
    return db.scalar(select(StockLevel.on_hand).where(
        StockLevel.variant_id == variant_id(db, sku)))


def count_returns(db) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(ReturnAuthorisation))


def new_return(client, order, lines, **fields):
    """Post the order's return form: `lines` maps an order line to (quantity, reason)."""
    data = {"key": fields.pop("key", "a" * 32), "resolution": "refund", **fields}
    for line, (quantity, reason) in lines.items():
        data[f"quantity-{line.id}"] = str(quantity)
        data[f"reason-{line.id}"] = reason
    path = f"/orders/{order.number}/returns/new"
    return post(client, path, data, path)


# -- on the phone -----------------------------------------------------------------------------


def test_the_order_page_of_a_shipped_order_offers_create_return(agent_client, db):
    order = shipped(db, "cr-offer")
    html = page(agent_client, f"/orders/{order.number}")
    assert f'href="/orders/{order.number}/returns/new"' in html and "Create return" in html
    assert "No returns for this order." in html
    unshipped = place(db, [("PAP-A4-80", 1)], key="cr-unshipped")
    db.commit()
    assert "Create return" not in page(agent_client, f"/orders/{unshipped.number}")


def test_the_return_form_shows_the_policy_and_each_line(agent_client, db):
    order = shipped(db, "cr-form")
    html = page(agent_client, f"/orders/{order.number}/returns/new")
    assert "Returns policy" in html and "restocking fee of 10" in html
    line = order.lines[0]
    for text in (f'for="quantity-{line.id}">Quantity to return', f'for="reason-{line.id}">Reason',
                 f'name="comment-{line.id}"', f'name="replacement-{line.id}"',
                 "Back to the card", "Exchange for a replacement", 'name="key"',
                 "up to 2 can come back"):
        assert text in html, text
    headings = [int(h) for h in re.findall(r"<h([1-6])[ >]", html)]
    assert headings[0] == 1 and all(b - a <= 1 for a, b in pairwise(headings))


def test_an_agent_takes_a_return_on_the_phone(agent_client, db):
    order = shipped(db, "cr-take")
    line = order.lines[0]
    response = new_return(agent_client, order, {line: (1, "defective")},
                          refund_method="card", note="Caller says the ream is torn")
    assert response.status_code == 303, response.get_data(as_text=True)
    rma = db.scalar(select(ReturnAuthorisation).where(ReturnAuthorisation.order_id == order.id))
    assert response.headers["Location"].endswith(f"/returns/{rma.number}")
    assert (rma.channel, rma.requested_by, rma.refund_method) == (
        "phone", "agent@marketline.example", "card")
    assert rma.status == "label_sent"  # small: the policy approved it and the label went out
    assert rma.lines[0].quantity == 1 and rma.key.startswith("console-")
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "return.requested",
                                               AuditEvent.subject_id == str(rma.id)))
    assert event.channel == "phone" and event.data["note"] == "Caller says the ream is torn"
    html = page(agent_client, f"/returns/{rma.number}")
    assert "approved by the returns policy" in html and "Label sent" in html
    assert rma.number in page(agent_client, f"/orders/{order.number}")


def test_a_refused_return_says_why_at_the_field_and_keeps_what_was_typed(agent_client, db):
    before = count_returns(db)  # the demo's
    order = shipped(db, "cr-refused")
    line = order.lines[0]
    path = f"/orders/{order.number}/returns/new"
    response = post(agent_client, path, {
        "key": "b" * 32, "resolution": "refund", "refund_method": "card",
        f"quantity-{line.id}": "3", f"reason-{line.id}": "other",
        f"comment-{line.id}": "Wrong shade of white"}, path)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(rf'id="quantity-{line.id}"[^>]*value="3"[^>]*aria-invalid="true"', html)
    assert f"At most 2 of {line.name} can be returned." in html
    assert "Wrong shade of white" in html
    response = post(agent_client, path, {
        "key": "b" * 32, "resolution": "refund", f"quantity-{line.id}": "1",
        f"reason-{line.id}": ""}, path)
    assert "Choose why you are returning it." in response.get_data(as_text=True)
    response = post(agent_client, path, {
        "key": "b" * 32, "resolution": "refund", f"quantity-{line.id}": "lots"}, path)
    assert "Enter a whole number of units" in response.get_data(as_text=True)
    assert count_returns(db) == before


def test_the_same_return_form_sent_twice_records_one_return(agent_client, db):
    before = count_returns(db)  # the demo's
    order = shipped(db, "cr-twice")
    line = order.lines[0]
    first = new_return(agent_client, order, {line: (1, "damaged")}, key="c" * 32)
    second = new_return(agent_client, order, {line: (1, "damaged")}, key="c" * 32)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert count_returns(db) == before + 1


def test_an_exchange_on_the_phone_approved_by_the_agent_places_the_replacement(
        agent_client, console_app, db):
    order = shipped(db, "cr-exchange", (("COF-MM-KBG", 1),))
    line = order.lines[0]
    black = variant_id(db, "COF-MM-KBG-BLK")
    path = f"/orders/{order.number}/returns/new"
    assert f'<option value="{black}">' in page(agent_client, path)
    response = post(agent_client, path, {
        "key": "d" * 32, "resolution": "exchange", "replace_on": "approval",
        f"quantity-{line.id}": "1", f"reason-{line.id}": "defective",
        f"replacement-{line.id}": str(black)}, path)
    assert response.status_code == 303
    rma = db.scalar(select(ReturnAuthorisation).where(ReturnAuthorisation.order_id == order.id))
    assert rma.status == "requested" and rma.value > 100  # above the auto-approval limit
    assert rma.lines[0].replacement_variant_id == black
    detail = f"/returns/{rma.number}"
    response = post(agent_client, f"{detail}/approve", {"approve-note": "Known fault"}, detail)
    assert response.status_code == 303
    rma = fresh(db, rma)
    assert rma.status == "label_sent" and rma.replacement_order_id is not None
    replacement = db.get(Order, rma.replacement_order_id)
    assert [l.sku for l in replacement.lines] == ["COF-MM-KBG-BLK"]
    assert replacement.payment_method == "exchange" and replacement.status == "confirmed"
    html = page(agent_client, detail)
    assert f'href="/orders/{replacement.number}"' in html and "Replacement ordered" in html
    warehouse = agent_client_for(console_app, "warehouse@marketline.example")
    assert f"Release {replacement.number}" in page(warehouse, "/fulfilment/release")


def test_an_exchange_for_a_variant_of_another_product_is_refused_at_the_field(
        agent_client, db):
    before = count_returns(db)  # the demo's
    order = shipped(db, "cr-foreign", (("COF-MM-KBG", 1),))
    line = order.lines[0]
    path = f"/orders/{order.number}/returns/new"
    response = post(agent_client, path, {
        "key": "e" * 32, "resolution": "exchange", "replace_on": "receipt",
        f"quantity-{line.id}": "1", f"reason-{line.id}": "defective",
        f"replacement-{line.id}": str(variant_id(db, "PAP-A4-80"))}, path)
    assert response.status_code == 200
    assert "Choose a variant of the same product." in response.get_data(as_text=True)
    assert count_returns(db) == before


# -- the worklist -----------------------------------------------------------------------------


def test_the_worklist_shows_returns_needing_action_requested_first(agent_client, db, settings):
    small = requested(db, settings, shipped(db, "wl-small"), key="wl-small")  # label sent
    big = requested(db, settings, shipped(db, "wl-big", (("COF-MM-KBG", 1),)), key="wl-big")
    done = requested(db, settings, shipped(db, "wl-done"), key="wl-done")
    returns.close(db, done, actor=CLERK, roles={"agent"}, note="Withdrawn")
    db.commit()
    html = page(agent_client, "/returns")
    assert html.index(big.number) < html.index(small.number)
    assert done.number not in html
    for text in ("Needing action", "Needs supervisor", "Requested",
                 big.money(big.value).format(), "Label sent"):
        assert text in html, text
    html = page(agent_client, "/returns?state=closed")
    assert done.number in html and big.number not in html
    html = page(agent_client, f"/returns?state=all&q={done.number.lower()}")
    assert done.number in html and small.number not in html
    order_number = db.get(Order, big.order_id).number
    html = page(agent_client, f"/returns?state=all&q={order_number}")
    assert big.number in html and small.number not in html
    fragment = agent_client.get("/returns?state=requested", headers={"HX-Request": "true"})
    assert "<h1>" not in fragment.get_data(as_text=True)
    assert big.number in fragment.get_data(as_text=True)
    assert page(agent_client, "/returns?state=nonsense&page=²")  # junk: the default list


def test_the_worklist_costs_the_same_queries_for_one_return_or_many(agent_client, db,
                                                                    settings, connection):
    shown = set(re.findall(r"/returns/(RMA-\d+)", page(agent_client, "/returns?state=all")))
    made = {requested(db, settings, shipped(db, "wq-0"), key="wq-0").number}
    agent_client.get("/returns")  # warm-up
    with QueryCounter(connection) as one:
        assert agent_client.get("/returns?state=all").status_code == 200
    for i in range(1, 8):
        made.add(requested(db, settings, shipped(db, f"wq-{i}"), key=f"wq-{i}").number)
    with QueryCounter(connection) as many:
        html = page(agent_client, "/returns?state=all")
    assert set(re.findall(r"/returns/(RMA-\d+)", html)) == shown | made  # and the demo's
    assert one.count == many.count


def test_the_returns_nav_item_shows_for_those_who_work_returns(agent_client, console_app):
    assert 'href="/returns"' in page(agent_client, "/")
    catalog = agent_client_for(console_app, "catalog@marketline.example")
    assert 'href="/returns"' not in page(catalog, "/")
    assert catalog.get("/returns").status_code == 403


# -- deciding ---------------------------------------------------------------------------------


def test_an_agent_approves_a_return_and_the_label_goes_out(agent_client, db, settings):
    rma = requested(db, settings, shipped(db, "ap-1", (("COF-MM-KBG", 1),)), key="ap-1")
    detail = f"/returns/{rma.number}"
    html = page(agent_client, detail)
    assert "Approve return" in html and "Reject return" in html
    response = post(agent_client, f"{detail}/approve", {}, detail)
    assert response.status_code == 303
    rma = fresh(db, rma)
    assert rma.status == "label_sent" and rma.decided_by == "agent@marketline.example"
    assert "Approve return" not in page(agent_client, detail)


def test_rejecting_needs_a_reason_at_the_field(agent_client, db, settings):
    rma = requested(db, settings, shipped(db, "rj-1", (("COF-MM-KBG", 1),)), key="rj-1")
    detail = f"/returns/{rma.number}"
    response = post(agent_client, f"{detail}/reject", {"reject-note": "  "}, detail)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*id="reject-note"', html)
    assert "Say why the return is rejected" in html
    assert fresh(db, rma).status == "requested"
    response = post(agent_client, f"{detail}/reject", {"reject-note": "Used for a year"}, detail)
    assert response.status_code == 303
    rma = fresh(db, rma)
    assert (rma.status, rma.decision_note) == ("rejected", "Used for a year")
    assert "Used for a year" in page(agent_client, detail)


def test_above_the_approval_limit_only_a_supervisor_decides(agent_client, supervisor_client,
                                                            db, settings):
    order = shipped(db, "sv-1", (("COF-MM-KBG", 3),))
    rma = requested(db, settings, order, 3, key="sv-1")
    assert rma.needs_supervisor
    detail = f"/returns/{rma.number}"
    html = page(agent_client, detail)
    assert "a supervisor decides it" in html and "Approve return" not in html
    for action, data in (("approve", {}), ("reject", {"reject-note": "No"})):
        response = post(agent_client, f"{detail}/{action}", data, detail)
        assert response.status_code == 403
        assert "above the approval limit: a supervisor decides it" in \
            response.get_data(as_text=True)
    assert fresh(db, rma).status == "requested"
    response = post(supervisor_client, f"{detail}/approve", {}, detail)
    assert response.status_code == 303
    assert fresh(db, rma).decided_by == "supervisor@marketline.example"


def test_a_decision_taken_meanwhile_is_said_not_repeated(agent_client, supervisor_client, db,
                                                         settings):
    rma = requested(db, settings, shipped(db, "dm-1", (("COF-MM-KBG", 1),)), key="dm-1")
    detail = f"/returns/{rma.number}"
    token = csrf_token(agent_client, detail)
    assert post(supervisor_client, f"{detail}/approve", {}, detail).status_code == 303
    response = agent_client.post(f"{detail}/reject", data={"csrf_token": token,
                                                           "reject-note": "Too late"})
    assert response.status_code == 200
    assert "already been decided by supervisor@marketline.example (status: Label sent)" in \
        response.get_data(as_text=True)
    assert fresh(db, rma).status == "label_sent"


# -- receiving and the money -------------------------------------------------------------------


def test_the_warehouse_receives_a_return_restocks_it_and_the_card_is_refunded(
        warehouse_client, db, settings, payment_gateway):
    order = shipped(db, "rc-1")
    rma = requested(db, settings, order, key="rc-1")
    line = rma.lines[0]
    before = on_hand(db, "PAP-A4-80")
    detail = f"/returns/{rma.number}"
    html = page(warehouse_client, detail)
    assert f'for="quantity-{line.id}">Quantity received' in html
    assert f'for="condition-{line.id}">Condition' in html and "Receive return" in html
    response = post(warehouse_client, f"{detail}/receive", {
        "receive-key": "f" * 32, f"quantity-{line.id}": "1",
        f"condition-{line.id}": "resellable", f"disposition-{line.id}": "restock"}, detail)
    assert response.status_code == 303
    assert on_hand(db, "PAP-A4-80") == before + 1
    rma = fresh(db, rma)
    assert rma.status == "refunded"
    note = db.scalar(select(Invoice).where(Invoice.credited_invoice_id.is_not(None),
                                           Invoice.order_id == order.id))
    assert payment_gateway.refunds == [("pi_rc-1", note.gross_total, "EUR",
                                        payment_gateway.refunds[0][3])]
    html = page(warehouse_client, detail)
    assert "1 × PAP-A4-80 restocked" in html and "Refunded" in html
    assert note.number in html and '<span class="badge">Succeeded</span>' in html


def test_a_partial_receipt_refunds_what_came_and_waits_for_the_rest(
        warehouse_client, db, settings, payment_gateway):
    order = shipped(db, "rp-1")
    rma = requested(db, settings, order, 2, key="rp-1")
    line = rma.lines[0]
    detail = f"/returns/{rma.number}"
    form = {f"condition-{line.id}": "resellable", f"disposition-{line.id}": "restock"}
    response = post(warehouse_client, f"{detail}/receive",
                    {"receive-key": "1" * 32, f"quantity-{line.id}": "1", **form}, detail)
    assert response.status_code == 303
    rma = fresh(db, rma)
    assert rma.status == "partly_received" and rma.lines[0].quantity_credited == 1
    assert len(payment_gateway.refunds) == 1
    assert "1 of 2 still expected" in page(warehouse_client, detail)
    response = post(warehouse_client, f"{detail}/receive",
                    {"receive-key": "2" * 32, f"quantity-{line.id}": "2", **form}, detail)
    assert "Only 1 of" in response.get_data(as_text=True)  # at the field, nothing booked
    response = post(warehouse_client, f"{detail}/receive",
                    {"receive-key": "2" * 32, f"quantity-{line.id}": "1",
                     f"condition-{line.id}": "damaged", f"disposition-{line.id}": "scrap"},
                    detail)
    assert response.status_code == 303
    rma = fresh(db, rma)
    assert (rma.status, rma.lines[0].quantity_restocked, rma.lines[0].quantity_scrapped) == (
        "refunded", 1, 1)
    assert len(payment_gateway.refunds) == 2


def test_the_same_receipt_sent_twice_restocks_once(warehouse_client, db, settings):
    rma = requested(db, settings, shipped(db, "rt-1"), 2, key="rt-1")
    line = rma.lines[0]
    before = on_hand(db, "PAP-A4-80")
    detail = f"/returns/{rma.number}"
    data = {"receive-key": "3" * 32, f"quantity-{line.id}": "1",
            f"condition-{line.id}": "resellable", f"disposition-{line.id}": "restock"}
    first = post(warehouse_client, f"{detail}/receive", data, detail)
    second = post(warehouse_client, f"{detail}/receive", data, detail)
    assert first.status_code == second.status_code == 303
    assert on_hand(db, "PAP-A4-80") == before + 1
    assert fresh(db, rma).quantity_received == 1
    html = page(warehouse_client, detail)
    assert "already recorded" in html


def test_damaged_goods_cannot_be_restocked(warehouse_client, db, settings):
    rma = requested(db, settings, shipped(db, "rd-1"), key="rd-1")
    line = rma.lines[0]
    detail = f"/returns/{rma.number}"
    response = post(warehouse_client, f"{detail}/receive", {
        "receive-key": "4" * 32, f"quantity-{line.id}": "1",
        f"condition-{line.id}": "damaged", f"disposition-{line.id}": "restock"}, detail)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(rf'id="disposition-{line.id}"[^>]*aria-invalid="true"', html)
    assert fresh(db, rma).quantity_received == 0


class TestARefundThatDidNotGoThrough:
    @pytest.fixture
    def payment_gateway(self):
        return RefusingOnce()

    def test_is_shown_and_billing_retries_it(self, warehouse_client, billing_client, db,
                                             settings, payment_gateway):
        rma = requested(db, settings, shipped(db, "rf-1"), key="rf-1")
        line = rma.lines[0]
        detail = f"/returns/{rma.number}"
        response = warehouse_client.post(f"{detail}/receive", data={
            "csrf_token": csrf_token(warehouse_client, detail), "receive-key": "5" * 32,
            f"quantity-{line.id}": "1", f"condition-{line.id}": "resellable",
            f"disposition-{line.id}": "restock"}, follow_redirects=True)
        html = response.get_data(as_text=True)
        assert "did not go through: The card issuer refused the refund." in html
        assert "Retry refund" not in html  # the warehouse does not handle money
        assert fresh(db, rma).status == "received"
        html = page(billing_client, detail)
        assert "Retry refund" in html and '<span class="badge">Failed</span>' in html
        response = post(billing_client, f"{detail}/settle", {}, detail)
        assert response.status_code == 303
        assert fresh(db, rma).status == "refunded"
        assert len(payment_gateway.refunds) == 1
        assert [r.status for r in db.scalars(select(Refund).order_by(Refund.id))
                if r.reason.startswith(f"Return {rma.number}")] == ["failed", "succeeded"]


def test_closing_needs_a_note(agent_client, db, settings):
    rma = requested(db, settings, shipped(db, "cl-1"), key="cl-1")
    detail = f"/returns/{rma.number}"
    response = post(agent_client, f"{detail}/close", {"close-note": ""}, detail)
    assert response.status_code == 200 and "Say why the return is closed." in \
        response.get_data(as_text=True)
    response = post(agent_client, f"{detail}/close", {"close-note": "Customer keeps it"},
                    detail)
    assert response.status_code == 303
    assert fresh(db, rma).status == "closed"
    html = page(agent_client, detail)
    assert "Customer keeps it" in html and "Close return" not in html


# -- customer 360, the catalogue ---------------------------------------------------------------


def test_the_customer_360_lists_the_customers_returns(agent_client, db, settings):
    customer = CustomerFactory(name="Rita Return")
    db.commit()
    rma = requested(db, settings, shipped(db, "c360", customer=customer), key="c360")
    html = page(agent_client, f"/customers/{customer.number}")
    assert f'href="/returns/{rma.number}"' in html and "Label sent" in html


def test_the_product_page_sets_returnable_and_the_return_window(console_app, db):
    from core.catalog.models import Product, Variant
    client = agent_client_for(console_app, "catalog@marketline.example")
    product = db.get(Product, db.scalar(select(Variant.product_id)
                                        .where(Variant.sku == "PAP-A4-80")))
    path = f"/catalog/products/{product.id}"
    html = page(client, path)
    assert 'for="returnable">Returnable' in html and 'for="return_days">Return window' in html
    data = {"name": product.name, "slug": product.slug, "brand": product.brand,
            "category_id": str(product.category_id),
            "tax_category_id": str(product.tax_category_id), "description": "",
            "active": "y", "return_days": "400"}
    response = post(client, path, data, path)
    assert response.status_code == 200 and "Enter 0 to 365 days" in \
        response.get_data(as_text=True)
    response = post(client, path, {**data, "return_days": "14"}, path)  # returnable unticked
    assert response.status_code == 303
    db.expire_all()
    product = db.get(Product, product.id)
    assert (product.returnable, product.return_days) == (False, 14)
    response = post(client, path, {**data, "returnable": "y", "return_days": ""}, path)
    db.expire_all()
    product = db.get(Product, product.id)
    assert (product.returnable, product.return_days) == (True, None)


# -- who may, and what does not exist ---------------------------------------------------------


def test_roles_that_do_not_work_returns_get_403(warehouse_client, billing_client, db,
                                                settings):
    order = shipped(db, "au-1", (("COF-MM-KBG", 1),))
    rma = requested(db, settings, order, key="au-1")
    detail = f"/returns/{rma.number}"
    assert warehouse_client.get(f"/orders/{order.number}/returns/new").status_code == 403
    token = csrf_token(warehouse_client, detail)
    for path in (f"{detail}/approve", f"{detail}/reject", f"{detail}/close",
                 f"{detail}/settle"):
        assert warehouse_client.post(path, data={"csrf_token": token}).status_code == 403
    token = csrf_token(billing_client, detail)
    assert billing_client.post(f"{detail}/receive",
                               data={"csrf_token": token}).status_code == 403
    assert fresh(db, rma).status == "requested"
    assert "Approve return" not in page(warehouse_client, detail)


def test_an_unknown_return_or_order_is_404(agent_client, supervisor_client):
    assert agent_client.get("/returns/RMA-999999").status_code == 404
    assert agent_client.get("/orders/SO-999999/returns/new").status_code == 404
    token = csrf_token(supervisor_client, "/returns")
    for action in ("approve", "reject", "receive", "settle", "close"):
        response = supervisor_client.post(f"/returns/RMA-999999/{action}",
                                          data={"csrf_token": token})
        assert response.status_code == 404, action


def test_every_return_form_needs_a_csrf_token(agent_client, supervisor_client, db, settings):
    before = count_returns(db)  # the demo's
    order = shipped(db, "cs-1", (("COF-MM-KBG", 1),))
    line = order.lines[0]
    response = agent_client.post(f"/orders/{order.number}/returns/new", data={
        "key": "6" * 32, "resolution": "refund", f"quantity-{line.id}": "1",
        f"reason-{line.id}": "defective"})
    assert response.status_code == 400 and count_returns(db) == before
    rma = requested(db, settings, order, key="cs-1")
    for action, data in (("approve", {}), ("reject", {"reject-note": "x"}),
                         ("close", {"close-note": "x"}), ("settle", {})):
        response = supervisor_client.post(f"/returns/{rma.number}/{action}", data=data)
        assert response.status_code == 400, action
    assert fresh(db, rma).status == "requested"
