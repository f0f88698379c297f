"""Phone order entry in the console: lines, errors at the field, overrides and holds, the three
ways to pay, and a screen whose cost does not grow with its lines."""
import dataclasses
import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
import stripe
from sqlalchemy import select

from core.audit import AuditEvent
from core.customers.models import Customer
from core.orders.models import Cart, CartLine, Order
from core.payments.models import PaymentAttempt
from tests.conftest import agent_client_for, csrf_token
from tests.factories import StockLevelFactory, VariantFactory
from tests.helpers import QueryCounter
from tests.web.conftest import text_of

HX = {"HX-Request": "true"}


def number_of(db, who):
    email = {"shopper": "shopper@example.com", "acme": "purchasing@acme.example"}[who]
    return db.scalar(select(Customer.number).where(Customer.email == email))


def entry_url(number):
    return f"/order-entry/new?customer={number}"


def post(client, number, path, data, *, htmx=True):
    token = csrf_token(client, entry_url(number))
    return client.post(f"/order-entry/new/{number}/{path}", data={"csrf_token": token, **data},
                       headers=HX if htmx else {})


def add(client, number, sku, quantity=1, **kw):
    return post(client, number, "lines", {"sku": sku, "quantity": str(quantity)}, **kw)


def line_id(db, sku):
    from core.catalog.models import Variant
    return db.scalar(select(CartLine.id).join(Variant, Variant.id == CartLine.variant_id)
                     .where(Variant.sku == sku).order_by(CartLine.id.desc()).limit(1))


def override(client, db, number, sku, percent, reason="loyalty"):
    lid = line_id(db, sku)
    token = csrf_token(client, entry_url(number))
    return client.post(f"/order-entry/new/{number}/lines/{lid}/price", headers=HX,
                       data={f"o{lid}-csrf_token": token, f"o{lid}-percent": str(percent),
                             f"o{lid}-reason": reason})


def place(client, number, payment):
    page = client.get(entry_url(number)).get_data(as_text=True)
    key = page.split('name="key" type="hidden" value="')[1].split('"')[0] \
        if 'name="key" type="hidden" value="' in page else "k"
    return post(client, number, "place", {"payment_method": payment, "key": key}, htmx=False)


def placed(db, response) -> Order:
    location = urlsplit(response.headers["Location"]).path
    number = location.split("/")[-1] if location.startswith("/orders/") else location.split("/")[-2]
    db.expire_all()
    return db.scalar(select(Order).where(Order.number == number))


# -- the screen ----------------------------------------------------------------------------------

def test_the_entry_screen_labels_sku_and_quantity_and_has_its_buttons(agent_client, db):
    html = agent_client.get(entry_url(number_of(db, "acme"))).get_data(as_text=True)
    assert '<label for="sku">SKU</label>' in html and '<label for="quantity">Quantity</label>' in html
    assert '<button type="submit">Add line</button>' in html
    assert re.search(r'<button type="submit" id="place-order"[^>]*>Place order</button>', html)
    assert "On account" in html  # Acme may buy on account


def test_a_customer_not_allowed_on_account_is_not_offered_it(agent_client, db):
    html = agent_client.get(entry_url(number_of(db, "shopper"))).get_data(as_text=True)
    assert "Card by phone" in html and "Pay-by-link e-mail" in html and "On account" not in html


def test_a_catalog_only_agent_may_not_take_orders(console_app, db):
    client = agent_client_for(console_app, "catalog@marketline.example")
    assert client.get(entry_url(number_of(db, "acme"))).status_code == 403


def test_adding_a_line_by_sku_through_htmx_answers_the_panel_with_price_and_stock(agent_client, db):
    number = number_of(db, "shopper")
    response = add(agent_client, number, "pap-a4-80", 2)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert html.strip().startswith('<div id="entry-panel">') and "<h1>" not in html
    assert "<code>PAP-A4-80</code>" in html and "5.49 EUR" in html and "10.98 EUR" in html
    assert "available</span>" in html and "<summary>Explain price" in html
    assert "Price list Retail" in html  # the engine's explanation, one keystroke away


def _amounts(totals):
    """(term, amount) pairs of a totals list: "−1.00 EUR" and "+1.00 EUR" keep their sign."""
    pairs = re.findall(r"<dt[^>]*>([^<]+)</dt><dd[^>]*>(?:<strong[^>]*>)?([^<]+)<", totals)
    def amount(text):
        if text == "Free":
            return Decimal(0)
        number = Decimal(text.replace(" EUR", "").replace(",", "").lstrip("+−"))
        return -number if text.startswith("−") else number
    return [(term, amount(text)) for term, text in pairs]


def test_net_totals_read_in_adding_order_with_vat_added(agent_client, db):
    number = number_of(db, "acme")  # a company: prices excl. VAT
    html = add(agent_client, number, "PAP-A4-80", 3).get_data(as_text=True)
    totals = html[html.index('id="totals-h"'):]
    totals = totals[:totals.index("</dl>")]
    assert "of which VAT" not in totals
    rows = _amounts(totals)
    terms = [term for term, _ in rows]
    assert terms[0] == "Subtotal (excl. VAT)" and terms[-2:] == ["VAT added", "Total"]
    assert rows[-2][1] > 0
    assert sum(value for _, value in rows[:-1]) == rows[-1][1]  # the rows add up, read aloud


def test_gross_totals_say_the_vat_is_included(agent_client, db):
    number = number_of(db, "shopper")  # a consumer: prices incl. VAT
    html = add(agent_client, number, "PAP-A4-80", 3).get_data(as_text=True)
    totals = html[html.index('id="totals-h"'):]
    totals = totals[:totals.index("</dl>")]
    assert "VAT added" not in totals and "VAT included in the total" in totals


def test_adding_a_line_without_javascript_redirects_to_the_screen(agent_client, db):
    number = number_of(db, "shopper")
    response = add(agent_client, number, "PAP-A4-80", htmx=False)
    assert response.status_code == 303 and response.headers["Location"].endswith(entry_url(number))
    assert "<code>PAP-A4-80</code>" in agent_client.get(entry_url(number)).get_data(as_text=True)


def test_an_unknown_sku_is_an_error_at_the_sku_field(agent_client, db):
    html = add(agent_client, number_of(db, "shopper"), "NOPE-404").get_data(as_text=True)
    assert 'id="sku-error">No item with the SKU or name “NOPE-404”' in html
    assert 'aria-invalid="true"' in html.split('id="sku-error"')[0].rsplit("<input", 1)[1]


def test_a_quantity_above_stock_is_an_error_at_the_quantity_field(agent_client, db):
    html = add(agent_client, number_of(db, "shopper"), "COF-RKT-R58", 3).get_data(as_text=True)
    assert 'id="quantity-error">Only 2 of Espresso Machine Dual Boiler – R58 Cinquantotto (COF-RKT-R58) are in stock.' in html
    assert 'value="COF-RKT-R58"' in html  # the agent's input is kept


def test_the_sku_field_suggests_items_by_name(agent_client, db):
    number = number_of(db, "shopper")
    html = agent_client.get(f"/order-entry/suggest?customer={number}&sku=cinquantotto",
                            headers=HX).get_data(as_text=True)
    assert '<option value="COF-RKT-R58">' in html


def test_related_products_are_suggested_and_added_with_one_button(agent_client, db):
    number = number_of(db, "shopper")
    html = add(agent_client, number, "COF-RKT-R58").get_data(as_text=True)
    assert "<code>GRN-VARIO</code>" in html and "Accessory" in html
    from core.catalog.models import Variant
    grinder = db.scalar(select(Variant.id).where(Variant.sku == "GRN-VARIO"))
    html = post(agent_client, number, f"suggestions/{grinder}", {}).get_data(as_text=True)
    assert html.count("<code>GRN-VARIO</code>") == 1 and 'id="line-' in html


def test_a_coupon_is_applied_to_the_lines(agent_client, db):
    number = number_of(db, "shopper")
    add(agent_client, number, "PAP-A4-80", 10)
    html = post(agent_client, number, "coupons", {"code": "save5"}).get_data(as_text=True)
    assert '<span class="badge">SAVE5</span>' in html and "−5.00 EUR" in html
    html = post(agent_client, number, "coupons", {"code": "NOPE"}).get_data(as_text=True)
    assert 'id="code-error">Coupon NOPE is not valid.' in html


def test_a_typed_address_is_validated_at_its_field(agent_client, db):
    number = number_of(db, "shopper")
    html = post(agent_client, number, "shipping", {
        "address_id": "new", "full_name": "Sam", "line1": "Somewhere 1", "city": "Berlin",
        "postal_code": "123", "country": "DE", "shipping_method": "standard"}
    ).get_data(as_text=True)
    assert 'id="postal_code-error">A postal code in Germany has five digits' in html


# -- overrides and holds ------------------------------------------------------------------------

def test_a_5_percent_discount_places_an_order_without_a_hold(agent_client, db):
    number = number_of(db, "acme")
    add(agent_client, number, "PAP-A4-80", 10)
    html = override(agent_client, db, number, "PAP-A4-80", 5).get_data(as_text=True)
    assert "Loyalty: −5 %" in html and "needs approval" not in html
    order = placed(db, place(agent_client, number, "on_account"))
    assert order.active_holds == [] and order.lines[0].override_reason == "loyalty"


def test_a_25_percent_discount_holds_an_agents_order_for_approval(agent_client, db):
    number = number_of(db, "acme")
    add(agent_client, number, "PAP-A4-80", 10)
    html = override(agent_client, db, number, "PAP-A4-80", 25).get_data(as_text=True)
    assert "needs approval" in html and "wait for a supervisor" in html
    order = placed(db, place(agent_client, number, "on_account"))
    assert [(h.kind, h.reason_code) for h in order.active_holds] == [
        ("approval", "discount_over_limit")]


def test_a_25_percent_discount_by_a_supervisor_needs_no_approval(supervisor_client, db):
    number = number_of(db, "acme")
    add(supervisor_client, number, "PAP-A4-80", 10)
    override(supervisor_client, db, number, "PAP-A4-80", 25)
    order = placed(db, place(supervisor_client, number, "on_account"))
    assert order.active_holds == [] and order.lines[0].list_unit_price is not None


def test_an_override_without_a_reason_is_refused_at_the_field(agent_client, db):
    number = number_of(db, "acme")
    add(agent_client, number, "PAP-A4-80")
    html = override(agent_client, db, number, "PAP-A4-80", 5, reason="").get_data(as_text=True)
    assert "Choose a reason for the price change." in html


# -- paying --------------------------------------------------------------------------------------

def test_placing_on_account_for_acme_confirms_and_opens_the_order(agent_client, db):
    number = number_of(db, "acme")
    add(agent_client, number, "PAP-A4-80", 2)
    response = place(agent_client, number, "on_account")
    assert response.status_code == 303
    order = placed(db, response)
    assert urlsplit(response.headers["Location"]).path == f"/orders/{order.number}"
    assert (order.status, order.payment_state, order.channel_code) == (
        "confirmed", "on_account", "callcenter")
    assert order.placed_by_kind == "agent"
    # the lines were the console's: the entry starts afresh
    assert "No lines yet." in agent_client.get(entry_url(number)).get_data(as_text=True)


def test_on_account_is_refused_for_the_shopper_at_the_payment_field(agent_client, db):
    number = number_of(db, "shopper")
    add(agent_client, number, "PAP-A4-80")
    html = place(agent_client, number, "on_account").get_data(as_text=True)
    assert "may not buy on account" in html
    shopper = db.scalar(select(Customer).where(Customer.number == number))
    assert db.scalar(select(Order).where(Order.customer_id == shopper.id)) is None


def test_pay_by_link_emails_the_customer_a_link_to_the_storefront(agent_client, db, smtp_sink):
    number = number_of(db, "shopper")
    add(agent_client, number, "PAP-A4-80")
    order = placed(db, place(agent_client, number, "pay_link"))
    assert order.status == "pending_payment" and order.payment_method == "pay_link"
    body = text_of(smtp_sink.wait_for("shopper@example.com"))
    assert "http://localhost/pay/" in body and order.number in body
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "order.pay_link_sent",
                                              AuditEvent.subject_id == str(order.id)))


@pytest.fixture
def moto_client(console_app, settings, session_factory, localstripe):
    from callcenter import create_app
    app = create_app(dataclasses.replace(settings, STRIPE_API_BASE=localstripe),
                     session_factory=session_factory)
    app.config.update(TESTING=True)
    return agent_client_for(app, "agent@marketline.example")


def card(localstripe, number):
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": localstripe})
    return client.v1.payment_methods.create({"type": "card", "card": {
        "number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"}}).id


def test_a_card_taken_by_phone_authorises_the_order_as_moto(moto_client, db, localstripe):
    number = number_of(db, "shopper")
    add(moto_client, number, "PAP-A4-80", 2)
    response = place(moto_client, number, "card")
    order = placed(db, response)
    assert urlsplit(response.headers["Location"]).path == f"/order-entry/{order.number}/card"
    page = moto_client.get(f"/order-entry/{order.number}/card").get_data(as_text=True)
    assert 'id="card-element"' in page and "moto.js" in page
    token = csrf_token(moto_client, f"/order-entry/{order.number}/card")
    response = moto_client.post(f"/order-entry/{order.number}/card", data={
        "csrf_token": token, "payment_method": card(localstripe, "4242424242424242")})
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == f"/orders/{order.number}"
    db.expire_all()
    order = db.get(Order, order.id)
    assert (order.status, order.payment_state) == ("confirmed", "authorised")
    attempt = db.scalar(select(PaymentAttempt).where(PaymentAttempt.order_id == order.id))
    assert attempt.moto is True and attempt.status == "authorised"


def test_a_declined_card_keeps_the_order_open_for_another_card(moto_client, db, localstripe):
    number = number_of(db, "shopper")
    add(moto_client, number, "PAP-A4-80")
    order = placed(db, place(moto_client, number, "card"))
    token = csrf_token(moto_client, f"/order-entry/{order.number}/card")
    response = moto_client.post(f"/order-entry/{order.number}/card", headers={
        "Accept": "application/json"}, data={
        "csrf_token": token, "payment_method": card(localstripe, "4000000000000341")})
    assert response.status_code == 402 and response.json["status"] == "declined"
    db.expire_all()
    assert db.get(Order, order.id).status == "pending_payment"
    response = moto_client.post(f"/order-entry/{order.number}/card", headers={
        "Accept": "application/json"}, data={
        "csrf_token": token, "payment_method": card(localstripe, "4242424242424242")})
    assert response.json["status"] == "authorised"


# -- cost -----------------------------------------------------------------------------------------

def test_the_entry_screen_runs_the_same_queries_for_1_line_as_for_10(agent_client, db, connection):
    number = number_of(db, "shopper")
    variants = []
    for _ in range(10):
        v = VariantFactory()
        StockLevelFactory(variant=v, on_hand=50)
        variants.append(v.id)
    carts = {}
    for n in (1, 10):
        cart = Cart(token=f"entry-{n}", coupon_codes=[],
                    lines=[CartLine(variant_id=v, quantity=1) for v in variants[:n]])
        db.add(cart)
        carts[n] = cart.token
    db.commit()
    counts = {}
    for n, token in carts.items():
        with agent_client.session_transaction() as s:
            s[f"entry:{number}"] = {"cart": token}
        agent_client.get(entry_url(number))  # warm up
        with QueryCounter(connection) as counter:
            html = agent_client.get(entry_url(number)).get_data(as_text=True)
        assert html.count('id="line-') == n
        counts[n] = counter.count
    assert counts[1] == counts[10]


def test_the_credit_overdue_days_setting_holds_a_phone_order_on_account(console_app, db):
    """CREDIT_OVERDUE_DAYS at 15: Acme, with an invoice 20 days overdue, gets its phone
    order on account put on a credit hold (the default 30 days would let it through)."""
    from tests.unit.test_credit import invoiced
    console_app.config["MARKETLINE"] = dataclasses.replace(
        console_app.config["MARKETLINE"], CREDIT_OVERDUE_DAYS=15)
    acme = db.scalar(select(Customer).where(Customer.email == "purchasing@acme.example"))
    acme.credit_limit = None
    invoiced(db, acme, [("PAP-A4-80", 1)], days_ago=50, key="od15-web")  # due 20 days ago
    db.commit()
    client = agent_client_for(console_app, "agent@marketline.example")
    number = number_of(db, "acme")
    add(client, number, "PAP-A4-80", 2)
    order = placed(db, place(client, number, "on_account"))
    assert [(h.kind, h.reason_code) for h in order.active_holds] == [("credit", "overdue_items")]
    assert "overdue more than 15 days" in order.active_holds[0].note
