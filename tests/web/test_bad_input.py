"""Each URL of review finding L1 ("crafted input turns into 500s") and the web parts of L11,
as a person would send it: a clear refusal (at the field, a problem document, or 404) and
nothing written. tests/web/test_hostile_input.py sweeps every route; these say why."""
from __future__ import annotations

import re
from decimal import Decimal as D
from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import StatementError

from core.billing.models import GiftCard, Invoice, Payment
from core.catalog.models import Variant
from core.customers.models import Customer
from core.orders.models import Order, OrderLine
from core.pricing.models import PriceListEntry
from tests.fakes import FakeGateway
from tests.conftest import csrf_token, sign_in
from tests.factories import AgentFactory
from tests.web.test_giftcards import paid  # noqa: F401 - a fixture


@pytest.fixture
def payment_gateway():
    """The apps take card payments through the fake (tests/fakes.py)."""
    return FakeGateway()


def text(response) -> str:
    return response.get_data(as_text=True)


def error_of(html: str, field_id: str) -> str:
    """The message shown at a field (core/forms.html: <p class="error" id="<id>-error">)."""
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error"( hidden)?>([^<]*)</p>',
                      html)
    assert match, f"no error slot for {field_id}"
    return "" if match.group(1) else match.group(2)


def count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


@pytest.fixture
def admin(console_app, db):
    """An agent holding every role."""
    AgentFactory(email="bad-input-admin@test.example", roles_text="admin")
    db.commit()
    from tests.factories import PASSWORD
    client = console_app.test_client()
    assert sign_in(client, "bad-input-admin@test.example", PASSWORD,
                   path="/sign-in").status_code == 303
    return client


@pytest.fixture
def buyer(client):
    """The storefront signed in as Acme's buyer, who has orders and invoices."""
    assert sign_in(client, "buyer@acme.example", "demo-pass-1").status_code == 303
    return client


def order_of(db, po: str) -> Order:
    return db.scalar(select(Order).where(Order.po_number == po))


def open_invoice(db) -> Invoice:
    return db.scalar(select(Invoice).where(Invoice.order_id == order_of(db, "PO-7752").id))


def post(client, path, data, *, page=None):
    token = csrf_token(client, page or "/")
    return client.post(path, data={**data, "csrf_token": token})


# -- isdigit() then int(): "²" is a digit to isdigit() -------------------------------------------

@pytest.mark.parametrize("path", ["/account/orders?page=²", "/account/invoices?page=²",
                                  "/account/orders?page=" + "9" * 5000])
def test_a_superscript_page_number_shows_the_first_page(buyer, path):
    response = buyer.get(path)
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/billing/invoices?page=²", "/billing/ledger/journal?page=²"])
def test_console_lists_read_a_superscript_page_as_the_first(admin, path):
    assert admin.get(path).status_code == 200


def test_an_invoice_line_with_a_superscript_index_is_not_found(admin):
    assert admin.get("/billing/invoices/new/line?index=²").status_code == 404
    assert admin.get("/billing/invoices/new/line?index=1").status_code == 200


def test_a_payment_allocated_to_a_superscript_invoice_id_is_refused(admin, db):
    acme = db.scalar(select(Customer).where(Customer.name == "Acme Corp"))
    before = count(db, Payment)
    response = post(admin, "/billing/payments/new", {
        "customer": acme.number, "method": "bank_transfer", "amount": "10.00",
        "received_on": "2026-12-01", "reference": "SEPA 1", "alloc-²": "10.00"},
        page="/billing/payments/new")
    assert response.status_code in (200, 303)
    # "alloc-²" names no invoice: the payment is recorded as credit, or refused; never a 500.
    assert count(db, Payment) in (before, before + 1)


def test_a_free_text_invoice_line_named_with_a_superscript_is_ignored(admin, db):
    acme = db.scalar(select(Customer).where(Customer.name == "Acme Corp"))
    before = count(db, Invoice)
    response = post(admin, "/billing/invoices/new", {
        "customer": acme.number, "lines-²-description": "Fee", "lines-²-quantity": "1",
        "lines-²-unit_price": "5.00"}, page=f"/billing/invoices/new?customer={acme.number}")
    assert response.status_code == 200
    assert "Add at least one line." in text(response)
    assert count(db, Invoice) == before


def test_a_credit_source_named_payment_superscript_is_not_found(admin, db):
    birch = db.scalar(select(Customer).where(Customer.name.like("Birch%")))
    for source in ("payment-²", "payment-99999999999999999999", "credit_note-١"):
        response = post(admin, f"/billing/customers/{birch.number}/apply",
                        {"source": source}, page=f"/billing/customers/{birch.number}")
        assert response.status_code == 404, source


def test_credit_applied_to_a_superscript_invoice_is_refused_at_the_field(admin, db):
    birch = db.scalar(select(Customer).where(Customer.name.like("Birch%")))
    payment = db.scalar(select(Payment).where(Payment.customer_id == birch.id,
                                              Payment.amount_unallocated > 0))
    key = f"payment-{payment.id}"
    before = payment.amount_unallocated
    for invoice, amount in (("²", "1.00"), ("99999999999999999999", "1.00"),
                            ("1", "1e30"), ("1", "sNaN")):
        response = post(admin, f"/billing/customers/{birch.number}/apply",
                        {"source": key, f"apply-{key}-invoice": invoice,
                         f"apply-{key}-amount": amount},
                        page=f"/billing/customers/{birch.number}")
        assert response.status_code == 200, (invoice, amount)
    db.expire_all()
    assert db.get(Payment, payment.id).amount_unallocated == before


def test_ticking_a_superscript_order_releases_nothing(admin, db):
    response = post(admin, "/fulfilment/release", {"order": ["²", "99999999999999999999"]},
                    page="/fulfilment/release")
    assert response.status_code == 303
    assert order_of(db, "PO-7781").status == "confirmed"


@pytest.mark.parametrize("quantity", ["²", "9" * 5000, "1e30"])
def test_shipping_a_superscript_quantity_is_refused_at_the_line(admin, db, quantity):
    order = order_of(db, "PO-7779")
    line = db.scalar(select(OrderLine).where(OrderLine.order_id == order.id))
    response = post(admin, f"/fulfilment/orders/{order.number}/ship",
                    {"carrier": "dhl", "tracking_number": "JJD1", f"qty-{line.id}": quantity},
                    page=f"/fulfilment/orders/{order.number}")
    assert response.status_code == 200
    assert "Enter a whole number of units" in text(response)
    db.expire_all()
    assert db.get(Order, order.id).status == "in_fulfilment"


# -- huge finite decimals --------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["q=a&min=1e30", "q=paper&max=1e30",
                                   "q=a&min=99999999999999999999", "q=a&min=NaN&max=sNaN",
                                   "q=a&min=" + "9" * 5000])
def test_a_search_with_an_absurd_price_filter_shows_the_results(client, query):
    response = client.get(f"/search?{query}")
    assert response.status_code == 200


def test_a_category_with_an_absurd_price_filter_shows_the_results(client):
    assert client.get("/c/paper?min=1e30&max=99999999999999999999").status_code == 200


def test_a_write_off_of_1e30_is_refused_at_the_field(admin, db):
    invoice = open_invoice(db)
    before = invoice.amount_open
    for amount, message in (("1e30", "Enter the amount as a number"),
                            ("99999999999999999999", "The amount is too large."),
                            ("sNaN", "Enter the amount as a number")):
        response = post(admin, f"/billing/invoices/{invoice.number}/write-off",
                        {"writeoff-amount": amount, "writeoff-reason": "Rounding"},
                        page=f"/billing/invoices/{invoice.number}")
        assert response.status_code == 200, amount
        assert message in error_of(text(response), "writeoff-amount"), amount
    db.expire_all()
    assert db.get(Invoice, invoice.id).amount_open == before


def test_a_payment_of_1e30_is_refused_at_the_field(admin, db):
    acme = db.scalar(select(Customer).where(Customer.name == "Acme Corp"))
    before = count(db, Payment)
    response = post(admin, "/billing/payments/new", {
        "customer": acme.number, "method": "bank_transfer", "amount": "99999999999999999999",
        "received_on": "2026-12-01", "reference": "SEPA 1"}, page="/billing/payments/new")
    assert response.status_code == 200
    assert "too large" in text(response)
    assert count(db, Payment) == before


def test_a_gift_card_of_1e30_is_not_sold(admin, db, paid):
    customer, payment = paid  # a cheque recorded in billing pays for it
    before = count(db, GiftCard)
    response = post(admin, "/gift-cards/sell", {
        "amount": "1e30", "customer": customer.number, "payment": str(payment.id),
        "key": "0" * 32}, page=f"/gift-cards/?customer={customer.number}")
    assert response.status_code == 200
    assert "Enter the amount as a number" in error_of(text(response), "amount")
    assert count(db, GiftCard) == before


def test_a_catalogue_price_of_1e30_is_refused_at_the_field(admin, db):
    variant = db.scalar(select(Variant).where(Variant.sku == "PAP-A4-80"))
    entry = db.scalar(select(PriceListEntry).where(PriceListEntry.variant_id == variant.id))
    before = count(db, PriceListEntry)
    response = post(admin, f"/catalog/variants/{variant.id}/prices", {
        "price-price_list_id": str(entry.price_list_id), "price-min_quantity": "7",
        "price-unit_price": "1e30"}, page=f"/catalog/variants/{variant.id}")
    assert response.status_code == 200
    assert "Enter the amount as a number" in error_of(text(response), "price-unit_price")
    assert count(db, PriceListEntry) == before


# -- the phone order entry: an override kept in the agent's cookie -------------------------------

@pytest.fixture
def entry(admin, db):
    """(client, customer number, line id) of a phone order being entered for Acme."""
    number = db.scalar(select(Customer.number).where(Customer.name == "Acme Corp"))
    response = post(admin, f"/order-entry/new/{number}/lines", {"sku": "PAP-A4-80",
                                                               "quantity": "2"},
                    page=f"/order-entry/new?customer={number}")
    assert response.status_code == 303
    line = re.search(rf"/order-entry/new/{number}/lines/(\d+)/price",
                     text(admin.get(f"/order-entry/new?customer={number}"))).group(1)
    return admin, number, line


@pytest.mark.parametrize("field,value,message", [
    ("unit_price", "1e30", "Enter the amount as a number"),
    ("unit_price", "99999999999999999999", "The amount is too large."),
    ("percent", "sNaN", "Enter the percentage as a number"),
    ("percent", "150", "Enter a discount from 0.01 to 100 %."),
    ("percent", "NaN", "Enter the percentage as a number"),
])
def test_a_phone_override_that_is_not_a_price_is_refused_at_the_field(entry, field, value,
                                                                      message):
    client, number, line = entry
    response = post(client, f"/order-entry/new/{number}/lines/{line}/price",
                    {f"o{line}-{field}": value, f"o{line}-reason": "loyalty"},
                    page=f"/order-entry/new?customer={number}")
    assert response.status_code == 200
    assert message in error_of(text(response), f"o{line}-{field}")
    assert client.get(f"/order-entry/new?customer={number}").status_code == 200


def test_an_override_of_1e30_kept_from_before_no_longer_breaks_the_entry_page(entry, db):
    client, number, line = entry
    variant = db.scalar(select(Variant.id).where(Variant.sku == "PAP-A4-80"))
    with client.session_transaction() as session:
        state = dict(session[f"entry:{number}"])
        state["overrides"] = {str(variant): {"reason": "loyalty", "unit_price": "1e30"}}
        session[f"entry:{number}"] = state
    response = client.get(f"/order-entry/new?customer={number}")
    assert response.status_code == 200
    assert "1e30" not in text(response)


# -- pay-by-link tokens, ids in paths, NUL bytes -------------------------------------------------

@pytest.mark.parametrize("path", ["/pay/1.9999999999.%C3%A9", "/pay/invoice/inv1.9999999999.%C3%A9",
                                  "/pay/" + quote("1.9999999999.²")])
def test_a_pay_link_with_a_non_ascii_signature_is_not_valid(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "not valid" in text(response)


def test_paying_through_a_non_ascii_link_is_refused(client):
    token = csrf_token(client, "/")
    response = client.post("/pay/1.9999999999.%C3%A9", data={"payment_method": "pm_x",
                                                             "csrf_token": token},
                           headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("path", ["/cart/lines/99999999999999999999",
                                  "/cart/lines/" + "9" * 5000])
def test_an_id_too_long_for_any_column_is_not_found(client, path):
    token = csrf_token(client, "/")
    assert client.post(path, data={"quantity": "1", "csrf_token": token}).status_code == 404


def test_console_ids_too_long_for_any_column_are_not_found(admin):
    assert admin.get("/catalog/products/99999999999999999999").status_code == 404
    assert admin.get("/gift-cards/99999999999999999999").status_code == 404


def test_a_cart_line_with_a_huge_variant_id_is_refused(client):
    token = csrf_token(client, "/")
    response = client.post("/cart/add", data={"variant_id": "99999999999999999999",
                                              "quantity": "1", "csrf_token": token})
    assert response.status_code == 303


@pytest.mark.parametrize("path", ["/search?q=a%00b", "/c/pa%00per", "/orders/lookup?x=%00"])
def test_a_nul_byte_in_a_request_is_refused_with_a_message(client, path):
    response = client.get(path)
    assert response.status_code == 400
    assert "NUL" in text(response)


def test_a_note_with_a_nul_byte_is_refused_and_not_kept(admin, db):
    from core.customers.models import CustomerNote
    number = db.scalar(select(Customer.number).where(Customer.name == "Acme Corp"))
    before = count(db, CustomerNote)
    response = post(admin, f"/customers/{number}/notes", {"text": "call back\x00"},
                    page=f"/customers/{number}")
    assert response.status_code == 400
    assert count(db, CustomerNote) == before


def test_a_webhook_signature_with_non_ascii_text_is_a_bad_signature(client):
    response = client.post("/webhooks/stripe", data=b'{"id": "evt_1"}',
                           headers={"Stripe-Signature": "t=1,v1=\u00b2".encode().decode("latin-1"),
                                    "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


def test_an_amount_no_column_holds_is_a_clear_refusal_not_a_500(shop_app):
    """The last line behind the forms: core.db.Amount refuses to bind 1e30; the error pages
    answer that refusal (wrapped by SQLAlchemy) as a 400 with its message."""
    from core.db import AmountOutOfRange

    @shop_app.get("/test-amount-out-of-range")
    def _raise():
        raise StatementError("binding", "INSERT", {}, AmountOutOfRange(D("1e30")))

    response = shop_app.test_client().get("/test-amount-out-of-range",
                                          headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert "out of range" in response.get_json()["detail"]


# -- L11: cart/add goes back only to a page of this site ----------------------------------------

def _add_with_referrer(client, referrer: str, variant_id: str = "x"):
    token = csrf_token(client, "/")
    return client.post("/cart/add", data={"variant_id": variant_id, "quantity": "1",
                                          "csrf_token": token},
                       headers={"Referer": referrer})


@pytest.mark.parametrize("referrer", ["https://evil.example/phish", "//evil.example/x",
                                      "http://localhost.evil.example/x", "javascript:alert(1)",
                                      "/\t/evil.example"])
def test_adding_to_the_cart_never_redirects_to_another_site(client, referrer):
    response = _add_with_referrer(client, referrer)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_adding_to_the_cart_goes_back_to_the_product_page_it_came_from(client):
    response = _add_with_referrer(client, "http://localhost/p/some-product?variant=3")
    assert response.headers["Location"] == "/p/some-product?variant=3"


# -- a card reference that cannot be one (PostgreSQL: "value too long for varchar(80)") -------

@pytest.mark.parametrize("payment_method", ["pm_" + "x" * 200, "pm_é", "pm_1'; --"])
def test_a_card_reference_no_card_has_is_asked_for_again(client, db, payment_gateway,
                                                          payment_method):
    from tests.web.test_giftcards import add, checkout_data, place
    fake = payment_gateway
    add(client, db, "PAP-A4-80", 1)
    before = count(db, Order)
    response = place(client, checkout_data(client, payment_method=payment_method))
    assert response.status_code == 422
    assert response.json["errors"] == {"payment_method": "Enter your card details again."}
    assert count(db, Order) == before and fake.authorised == []


def test_a_pay_link_posted_with_a_card_reference_no_card_has_asks_for_the_card(client, db):
    from core.payments import links
    order = order_of(db, "PO-7781")
    token = links.make_token("test-secret-key", order.id)
    csrf = csrf_token(client, "/")
    response = client.post(f"/pay/{token}", data={"payment_method": "pm_" + "x" * 200,
                                                  "csrf_token": csrf})
    assert response.status_code == 422
    assert response.json == {"status": "invalid", "errors": {"card": "Enter your card details."}}
