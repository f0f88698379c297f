"""Returns in the shop: the Return items button on shipped orders, the form with the policy
shown first and refusals at their fields, the return's page with its label and credit
notes, the account's returns, guests through the order look-up, and authorisation."""
from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from sqlalchemy import select

from core.billing import invoicing, receivables
from core.catalog.models import Product, Variant
from core.customers.models import Customer, CustomerUser
from core.db import utcnow
from core.returns import services as returns
from core.returns import settlement
from core.returns.models import ReturnAuthorisation
from core.returns.services import Received, Request, RequestLine
from tests.billing_support import CLERK, place, ship
from tests.conftest import csrf_token, sign_in
from tests.fakes import FakeGateway
from tests.helpers import QueryCounter

SHOPPER = "shopper@example.com"
BUYER = "buyer@acme.example"
WAREHOUSE = CLERK


@pytest.fixture
def payment_gateway():
    return FakeGateway()


def text(response) -> str:
    return response.get_data(as_text=True)


def customer_of(db, email: str) -> Customer:
    return db.scalar(select(Customer).join(CustomerUser).where(CustomerUser.email == email))


def shipped_order(db, key: str, *, email: str | None = SHOPPER,
                  lines=(("PAP-A4-80", 2), ("STN-76-YEL", 1)), days_ago: int = 2):
    """A card order of `email`'s customer (None: a guest's), shipped `days_ago`, invoiced
    and captured."""
    customer = customer_of(db, email) if email else None
    order = place(db, list(lines), key=key, customer=customer)
    shipment = ship(db, order, dict(lines))
    shipment.shipped_at = utcnow() - dt.timedelta(days=days_ago)
    invoice = invoicing.invoice_shipment(db, shipment, actor=CLERK)
    receivables.record_card_capture(db, invoice, amount=invoice.gross_total,
                                    stripe_id=f"pi_{key}", key=f"cap-{key}", actor=CLERK)
    order.status = "shipped"
    db.commit()
    return order


def line_of(order, sku: str):
    return next(l for l in order.lines if l.sku == sku)


def form_data(client, path: str, order, wanted: dict, **extra) -> dict:
    """What the return form posts: its CSRF token and key as the page has them, 0 for every
    line not `wanted` (sku -> (quantity, reason[, comment]))."""
    page = text(client.get(path))
    data = {"csrf_token": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                                    page).group(1),
            "key": re.search(r'id="key" name="key" type="hidden" value="([0-9a-f]+)"',
                             page).group(1),
            "resolution": "refund"}
    for line in order.lines:
        quantity, reason, *comment = wanted.get(line.sku, (0, ""))
        data |= {f"quantity-{line.id}": str(quantity), f"reason-{line.id}": reason,
                 f"comment-{line.id}": comment[0] if comment else ""}
    return data | extra


def ask(client, order, wanted: dict, *, base: str | None = None, **extra):
    path = base or f"/account/orders/{order.number}/return"
    return client.post(path, data=form_data(client, path, order, wanted, **extra))


def the_return(db, order) -> ReturnAuthorisation | None:
    db.expire_all()
    return db.scalar(select(ReturnAuthorisation).where(ReturnAuthorisation.order_id == order.id)
                     .order_by(ReturnAuthorisation.id.desc()))


def requested(db, order, settings, quantity=1, *, key=None, sku="PAP-A4-80"):
    """A return made through the service, committed and settled (as the view does)."""
    rma = returns.request_return(
        db, order, Request([RequestLine(line_of(order, sku).id, quantity, "defective")]),
        actor=CLERK, channel="shop", key=key or uuid.uuid4().hex, settings=settings)
    db.commit()
    settlement.settle(db, FakeGateway(), rma.id, actor=CLERK, commit=db.commit)
    return rma


# --- the button ------------------------------------------------------------------------------

def test_return_items_shows_on_a_shipped_order_and_not_on_one_waiting_to_ship(
        customer_client, db):
    waiting = place(db, [("PAP-A4-80", 2)], key="ret-web-wait",
                    customer=customer_of(db, SHOPPER))
    db.commit()
    shipped = shipped_order(db, "ret-web-btn")
    page = text(customer_client.get(f"/account/orders/{shipped.number}"))
    assert f'href="/account/orders/{shipped.number}/return">Return items</a>' in page
    assert "Return items" not in text(customer_client.get(f"/account/orders/{waiting.number}"))


def test_a_partly_shipped_order_offers_what_was_shipped(customer_client, db):
    order = place(db, [("PAP-A4-80", 3)], key="ret-web-part", customer=customer_of(db, SHOPPER))
    ship(db, order, {"PAP-A4-80": 1}).shipped_at = utcnow()
    order.status = "partially_shipped"
    db.commit()
    assert "Return items" in text(customer_client.get(f"/account/orders/{order.number}"))
    form = text(customer_client.get(f"/account/orders/{order.number}/return"))
    assert "Ordered 3, shipped 1" in form and "You can return up to 1 until" in form


def test_no_button_once_the_window_has_closed(customer_client, db):
    order = shipped_order(db, "ret-web-old", days_ago=40)
    assert "Return items" not in text(customer_client.get(f"/account/orders/{order.number}"))


# --- the form ------------------------------------------------------------------------------

def test_the_form_shows_the_policy_and_each_lines_fields_labelled_with_its_item(
        customer_client, db, settings):
    order = shipped_order(db, "ret-web-form")
    paper = line_of(order, "PAP-A4-80")
    page = text(customer_client.get(f"/account/orders/{order.number}/return"))
    assert "<h2 id=\"policy-h\">Our returns policy</h2>" in page
    assert f"within {settings.RETURN_WINDOW_DAYS} days of delivery" in page
    assert (f'<label for="quantity-{paper.id}">Quantity to return<span class="visually-hidden">'
            f' for {paper.name}</span></label>') in page
    assert f'<label for="reason-{paper.id}">Reason<span class="visually-hidden">' in page
    assert 'value="changed_mind">Changed my mind</option>' in page
    assert "Back to the card" in page and "Store credit" in page
    assert re.search(r'name="key" type="hidden" value="[0-9a-f]{32}"', page)
    assert '<button type="submit">Request return</button>' in page


def test_returning_one_of_two_units_makes_the_return_shown_on_the_order_and_in_the_account(
        customer_client, db):
    order = shipped_order(db, "ret-web-one")
    paper = line_of(order, "PAP-A4-80")
    response = ask(customer_client, order, {"PAP-A4-80": (1, "defective")},
                   refund_method="card")
    rma = the_return(db, order)
    assert rma is not None and response.status_code == 303
    assert response.headers["Location"] == f"/account/returns/{rma.number}"
    assert [(l.order_line_id, l.quantity, l.reason) for l in rma.lines] == [
        (paper.id, 1, "defective")]
    assert rma.refund_method == "card" and rma.status == "label_sent"  # small: approved at once

    page = text(customer_client.get(response.headers["Location"]))
    assert f"<h1>Return {rma.number}</h1>" in page and "Label sent" in page
    assert "is approved. Print the return label" in page
    assert f'href="/account/returns/{rma.number}/label.pdf">Download return label</a>' in page
    assert "Defective or doesn&#39;t work" in page
    order_page = text(customer_client.get(f"/account/orders/{order.number}"))
    assert f'href="/account/returns/{rma.number}">{rma.number}</a>' in order_page
    assert "Label sent" in order_page
    assert "Return items" in order_page  # the other unit and the notes may still come back
    for path in ("/account/", "/account/returns"):
        listed = text(customer_client.get(path))
        assert f'href="/account/returns/{rma.number}">{rma.number}</a>' in listed
        assert "Label sent" in listed


def test_the_same_page_submitted_twice_makes_one_return(customer_client, db):
    order = shipped_order(db, "ret-web-twice")
    path = f"/account/orders/{order.number}/return"
    data = form_data(customer_client, path, order, {"PAP-A4-80": (1, "damaged")})
    first = customer_client.post(path, data=data)
    second = customer_client.post(path, data=data)
    assert first.headers["Location"] == second.headers["Location"]
    assert len(returns.for_order(db, order.id)) == 1


def test_an_exchange_asks_for_the_same_item_again(customer_client, db):
    order = shipped_order(db, "ret-web-swap")
    ask(customer_client, order, {"STN-76-YEL": (1, "damaged")}, resolution="exchange")
    rma = the_return(db, order)
    assert rma.resolution == "exchange" and rma.refund_method == ""
    page = text(customer_client.get(f"/account/returns/{rma.number}"))
    assert "Exchange for a replacement" in page


def test_more_than_was_shipped_is_refused_at_the_quantity_and_nothing_typed_is_lost(
        customer_client, db):
    order = shipped_order(db, "ret-web-over")
    paper = line_of(order, "PAP-A4-80")
    response = ask(customer_client, order, {"PAP-A4-80": (3, "changed_mind", "Too much paper")},
                   refund_method="store_credit")
    page = text(response)
    assert response.status_code == 200 and the_return(db, order) is None
    assert re.search(rf'<p class="error" id="quantity-{paper.id}-error">\s*At most 2 of ', page)
    assert re.search(rf'id="quantity-{paper.id}"[^>]*value="3"', page)
    assert 'selected value="changed_mind"' in page
    assert re.search(r">\s*Too much paper</textarea>", page)
    assert re.search(r'checked[^>]*value="store_credit"|value="store_credit"[^>]*checked', page)


def test_other_needs_a_comment_at_its_field(customer_client, db):
    order = shipped_order(db, "ret-web-other")
    paper = line_of(order, "PAP-A4-80")
    page = text(ask(customer_client, order, {"PAP-A4-80": (1, "other")}))
    assert re.search(rf'id="comment-{paper.id}-error">\s*Tell us a little', page)
    assert the_return(db, order) is None


def test_a_reason_is_needed_and_junk_in_the_quantity_gets_a_message(customer_client, db):
    order = shipped_order(db, "ret-web-reason")
    paper = line_of(order, "PAP-A4-80")
    page = text(ask(customer_client, order, {"PAP-A4-80": (1, "")}))
    assert re.search(rf'id="reason-{paper.id}-error">\s*Choose why', page)
    page = text(ask(customer_client, order, {"PAP-A4-80": ("1e30", "damaged")}))
    assert re.search(rf'id="quantity-{paper.id}-error">\s*Enter a whole number', page)
    assert the_return(db, order) is None


def test_money_back_and_where_it_goes_are_refused_at_their_fields(customer_client, db):
    order = shipped_order(db, "ret-web-method")
    page = text(ask(customer_client, order, {"PAP-A4-80": (1, "damaged")},
                    refund_method="gift_card"))  # the order was paid by card alone
    assert re.search(r'id="refund_method-error">\s*Choose where the money goes\.', page)
    page = text(ask(customer_client, order, {"PAP-A4-80": (1, "damaged")},
                    resolution="cash"))
    assert re.search(r'id="resolution-error">\s*Choose money back or an exchange\.', page)
    assert the_return(db, order) is None


def test_nothing_chosen_is_refused(customer_client, db):
    order = shipped_order(db, "ret-web-none")
    page = text(ask(customer_client, order, {}))
    assert "Choose at least one item and how many to return." in page
    assert the_return(db, order) is None


def test_after_the_window_the_line_says_why_and_a_stale_form_is_refused_at_the_field(
        customer_client, db):
    order = shipped_order(db, "ret-web-late", days_ago=40)
    paper = line_of(order, "PAP-A4-80")
    path = f"/account/orders/{order.number}/return"
    page = text(customer_client.get(path))
    assert "The return window for" in page and "Request return" not in page
    assert f'name="quantity-{paper.id}"' not in page  # nothing to fill in
    token = csrf_token(customer_client, path)
    response = customer_client.post(path, data={
        "csrf_token": token, "key": uuid.uuid4().hex, "resolution": "refund",
        f"quantity-{paper.id}": "1", f"reason-{paper.id}": "defective"})
    page = text(response)
    assert re.search(rf'id="quantity-{paper.id}-error">\s*The return window for .* closed on',
                     page)
    assert re.search(rf'id="quantity-{paper.id}"[^>]*value="1"', page)  # kept, at its field
    assert the_return(db, order) is None


def test_a_product_that_cannot_be_returned_is_refused_at_its_quantity(customer_client, db):
    order = shipped_order(db, "ret-web-final")
    notes = line_of(order, "STN-76-YEL")
    product = db.get(Product, db.get(Variant, notes.variant_id).product_id)
    product.returnable = False
    db.commit()
    path = f"/account/orders/{order.number}/return"
    assert "cannot be returned." in text(customer_client.get(path))
    token = csrf_token(customer_client, path)
    page = text(customer_client.post(path, data={
        "csrf_token": token, "key": uuid.uuid4().hex, "resolution": "refund",
        f"quantity-{notes.id}": "1", f"reason-{notes.id}": "damaged"}))
    assert re.search(rf'id="quantity-{notes.id}-error">\s*.* cannot be returned\.', page)
    assert the_return(db, order) is None


def test_the_form_refuses_a_post_without_csrf_token(customer_client, db):
    order = shipped_order(db, "ret-web-csrf")
    paper = line_of(order, "PAP-A4-80")
    response = customer_client.post(f"/account/orders/{order.number}/return", data={
        "key": uuid.uuid4().hex, "resolution": "refund", f"quantity-{paper.id}": "1",
        f"reason-{paper.id}": "defective"})
    assert response.status_code == 400
    assert the_return(db, order) is None


# --- the return's page ----------------------------------------------------------------------

def test_the_label_is_a_pdf_for_its_owner_only(customer_client, db, settings, shop_app):
    order = shipped_order(db, "ret-web-label")
    rma = requested(db, order, settings)
    response = customer_client.get(f"/account/returns/{rma.number}/label.pdf")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert f'filename="{rma.number}-return-label.pdf"' in response.headers["Content-Disposition"]
    other = shop_app.test_client()
    assert sign_in(other, BUYER, "demo-pass-1").status_code == 303
    assert other.get(f"/account/returns/{rma.number}/label.pdf").status_code == 404
    assert other.get(f"/account/returns/{rma.number}").status_code == 404
    anonymous = shop_app.test_client().get(f"/account/returns/{rma.number}/label.pdf")
    assert anonymous.status_code in (302, 303)  # to the sign-in


def test_a_return_waiting_for_a_decision_has_no_label(customer_client, db, settings):
    order = shipped_order(db, "ret-web-big", lines=(("PAP-A4-80-BOX", 5),))
    rma = requested(db, order, settings, 5, sku="PAP-A4-80-BOX")
    assert rma.status == "requested"  # above the auto-approval limit
    page = text(customer_client.get(f"/account/returns/{rma.number}"))
    assert "Requested" in page and "Download return label" not in page
    assert "Our team checks your request" in page
    assert customer_client.get(f"/account/returns/{rma.number}/label.pdf").status_code == 404


def test_a_rejected_return_says_why(customer_client, db, settings):
    order = shipped_order(db, "ret-web-no", lines=(("PAP-A4-80-BOX", 5),))
    rma = requested(db, order, settings, 5, sku="PAP-A4-80-BOX")
    returns.reject(db, rma, actor=CLERK, roles={"agent"}, note="Opened and used.")
    db.commit()
    page = text(customer_client.get(f"/account/returns/{rma.number}"))
    assert "Rejected" in page and "Why it was rejected" in page and "Opened and used." in page
    assert "Nothing was credited" in page


def test_a_refunded_return_links_its_credit_note(customer_client, db, settings):
    order = shipped_order(db, "ret-web-paid")
    rma = requested(db, order, settings)
    returns.receive(db, rma, {rma.lines[0].id: Received(1)}, actor=WAREHOUSE, key="rcv-web")
    db.commit()
    settled = settlement.settle(db, FakeGateway(), rma.id, actor=WAREHOUSE, commit=db.commit)
    assert settled.rma.status == "refunded"
    page = text(customer_client.get(f"/account/returns/{rma.number}"))
    note = settled.credit_notes[0]
    assert "Refunded" in page and "Download return label" not in page
    assert f'href="/account/invoices/{note}">Credit note {note}</a>' in page
    assert customer_client.get(f"/account/invoices/{note}").status_code == 200


def test_another_customers_order_cannot_be_returned_here(customer_client, db):
    order = shipped_order(db, "ret-web-acme", email=BUYER)
    line = order.lines[0]
    path = f"/account/orders/{order.number}/return"
    assert customer_client.get(path).status_code == 404
    token = csrf_token(customer_client)
    response = customer_client.post(path, data={
        "csrf_token": token, "key": uuid.uuid4().hex, "resolution": "refund",
        f"quantity-{line.id}": "1", f"reason-{line.id}": "defective"})
    assert response.status_code == 404 and the_return(db, order) is None
    assert customer_client.get("/account/returns/RMA-999999").status_code == 404


# --- lists -----------------------------------------------------------------------------------

def test_the_accounts_returns_run_the_same_queries_for_one_return_or_many(
        customer_client, db, connection, settings):
    orders = [shipped_order(db, f"ret-web-count-{i}") for i in range(3)]
    requested(db, orders[0], settings)

    def counted(path):
        with QueryCounter(connection) as counter:
            assert customer_client.get(path).status_code == 200
        return counter.count

    one = {path: counted(path) for path in ("/account/", "/account/returns")}
    for order in orders[1:]:
        requested(db, order, settings)
        requested(db, order, settings, sku="STN-76-YEL")
    many = {path: counted(path) for path in ("/account/", "/account/returns")}
    assert many == one
    listed = text(customer_client.get("/account/returns"))
    numbers = re.findall(r'href="/account/returns/(RMA-\d+)"', listed)
    assert len(numbers) == 5 and numbers == sorted(numbers, reverse=True)  # newest first


def test_the_order_page_runs_the_same_queries_for_one_return_or_many(
        customer_client, db, connection, settings):
    order = shipped_order(db, "ret-web-count-order", lines=(("PAP-A4-80", 4),))
    requested(db, order, settings)

    def counted():
        with QueryCounter(connection) as counter:
            assert customer_client.get(f"/account/orders/{order.number}").status_code == 200
        return counter.count

    one = counted()
    requested(db, order, settings)
    requested(db, order, settings)
    assert counted() == one


# --- guests ----------------------------------------------------------------------------------

def lookup(client, order, postcode="10115"):
    token = csrf_token(client, "/orders/lookup")
    return client.post("/orders/lookup", data={"number": order.number, "email": order.email,
                                               "postcode": postcode, "csrf_token": token})


def test_a_guest_returns_items_through_the_order_lookup(client, db, shop_app):
    order = shipped_order(db, "ret-web-guest", email=None)
    page = text(lookup(client, order))
    base = f"/orders/lookup/{order.number}/return"
    assert f'href="{base}">Return items</a>' in page
    form = text(client.get(base))
    assert "Our returns policy" in form and "Store credit" not in form  # a guest has no account
    response = ask(client, order, {"PAP-A4-80": (1, "wrong_item")}, base=base)
    rma = the_return(db, order)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/orders/returns/{rma.number}"
    page = text(client.get(response.headers["Location"]))
    assert f"<h1>Return {rma.number}</h1>" in page and "Label sent" in page
    assert "My account" not in page.split("<main", 1)[1]  # no account breadcrumbs
    label = client.get(f"/orders/returns/{rma.number}/label.pdf")
    assert label.status_code == 200 and label.data.startswith(b"%PDF")
    again = text(lookup(client, order))
    assert f'href="/orders/returns/{rma.number}">{rma.number}</a>' in again

    stranger = shop_app.test_client()
    for path in (base, f"/orders/returns/{rma.number}",
                 f"/orders/returns/{rma.number}/label.pdf"):
        assert stranger.get(path).status_code == 404, path


def test_a_wrong_postcode_opens_no_guest_return(client, db):
    order = shipped_order(db, "ret-web-guess", email=None)
    lookup(client, order, postcode="99999")
    assert client.get(f"/orders/lookup/{order.number}/return").status_code == 404


def test_the_guest_pages_open_no_customers_order_or_return(client, db, settings):
    order = shipped_order(db, "ret-web-guest-cust")
    rma = requested(db, order, settings)
    guest = shipped_order(db, "ret-web-guest-own", email=None)
    lookup(client, guest)
    assert client.get(f"/orders/lookup/{order.number}/return").status_code == 404
    assert client.get(f"/orders/returns/{rma.number}").status_code == 404
    assert client.get(f"/orders/returns/{rma.number}/label.pdf").status_code == 404


def test_a_guest_sees_only_the_returns_of_orders_looked_up(client, db, settings):
    mine = shipped_order(db, "ret-web-guest-a", email=None)
    theirs = shipped_order(db, "ret-web-guest-b", email=None)
    rma = requested(db, theirs, settings)
    lookup(client, mine)
    assert client.get(f"/orders/returns/{rma.number}").status_code == 404
    assert client.get(f"/orders/lookup/{theirs.number}/return").status_code == 404
