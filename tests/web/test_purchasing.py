"""The shop's Purchasing page for business buyers (issue 16): spend by month from the
company's invoices less credit notes, top products, open quotes, a date range, and the CSV
of order lines; who sees what (core.customers.roles, as on the invoice and order pages).

Acme Corp has a buyer (Bea), an approver (Abe) and an admin (Ada); Globex GmbH an admin
(Gina). Each places an order in the shop here, shipped and invoiced; Abe's is partly
credited.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from core import clock
from core.billing import invoicing
from core.billing.models import Invoice
from core.customers.models import Customer, CustomerUser
from core.db import utcnow
from core.demo import DEMO_PASSWORD
from core.orders.models import Order
from core.quotes import services as quotes
from core.reporting import purchases
from tests.billing_support import CLERK, place, ship
from tests.conftest import sign_in
from tests.helpers import QueryCounter

BEA, ABE, ADA, GINA = ("buyer@acme.example", "approver@acme.example", "admin@acme.example",
                       "gina@globex.example")
PO = "=PO-4711"  # a formula-looking PO number: the CSV defuses it


def login(db, email) -> CustomerUser:
    return db.scalar(select(CustomerUser).where(CustomerUser.email == email))


def placed_by(db, email: str, key: str, lines, *, credit: bool = False):
    """A shipped, invoiced shop order of `email`'s login; with `credit`, its first line's
    unit credited. Returns the order."""
    user = login(db, email)
    order = place(db, lines, key=key, customer=user.customer, channel_code="web-b2b",
                  payment_method="on_account")
    order.placed_by_kind, order.placed_by_id = "customer", user.id
    order.po_number = PO
    shipment = ship(db, order, dict(lines))
    shipment.shipped_at = utcnow()
    invoice = invoicing.invoice_shipment(db, shipment, actor=CLERK)
    order.status = "shipped"
    db.flush()
    if credit:
        invoicing.issue_credit_note(db, invoice, lines={invoice.lines[0].id: 1},
                                    reason="Damaged", actor=CLERK)
    db.commit()
    return order


@pytest.fixture
def world(db):
    return {
        BEA: placed_by(db, BEA, "purch-bea", [("PAP-A4-80", 3)]),
        ABE: placed_by(db, ABE, "purch-abe", [("PAP-A4-80", 2), ("STN-76-YEL", 4)], credit=True),
        GINA: placed_by(db, GINA, "purch-gina", [("PAP-A4-80", 5)]),
    }


@pytest.fixture
def as_(shop_app):
    def make(email):
        client = shop_app.test_client()
        assert sign_in(client, email, DEMO_PASSWORD).status_code == 303
        return client
    return make


def text(response) -> str:
    return " ".join(response.get_data(as_text=True).split())


def expected(db, email: str, *, whole_company: bool, start: dt.date, end: dt.date):
    """Net and gross straight from the documents: invoices less credit notes, of the company
    (or of the orders the login placed)."""
    user = login(db, email)
    net = gross = D(0)
    for doc in db.scalars(select(Invoice).where(Invoice.customer_id == user.customer_id)):
        if not start <= doc.issue_date <= end or doc.currency != user.customer.currency:
            continue
        if not whole_company:
            order = db.get(Order, doc.order_id) if doc.order_id else None
            if not order or order.placed_by_kind != "customer" or order.placed_by_id != user.id:
                continue
        sign = -1 if doc.kind == "credit_note" else 1
        net += sign * doc.net_total
        gross += sign * doc.gross_total
    return net, gross


def shown(page: str, name: str) -> str:
    return re.search(rf'id="{name}">([^<]+)<', page).group(1)


# -- the figures ----------------------------------------------------------------------------

@pytest.mark.parametrize("who, whole", [(ADA, True), (ABE, True), (BEA, False)])
def test_spend_equals_the_invoices_less_credit_notes_the_login_sees(world, db, as_, who, whole):
    page = text(as_(who).get("/account/purchasing"))
    chosen = purchases.default_range(clock.today())
    net, gross = expected(db, who, whole_company=whole, start=chosen.start, end=chosen.end)
    assert net > 0 and gross > net
    assert shown(page, "spend-net") == f"{net:.2f} EUR"
    assert shown(page, "spend-gross") == f"{gross:.2f} EUR"
    month = clock.today().strftime("%b %Y")
    assert f"<th scope=\"row\">{month}</th>" in page
    assert '<svg role="img"' in page and "Spend by month" in page


def test_the_credit_note_is_deducted_from_the_month(world, db):
    abe = login(db, ABE)
    chosen = purchases.default_range(clock.today())
    before = purchases.spend_by_month(db, abe, chosen, "EUR")[-1]
    invoice = db.scalar(select(Invoice).where(Invoice.order_id == world[ABE].id,
                                              Invoice.kind == "invoice"))
    note = invoicing.issue_credit_note(db, invoice, lines={invoice.lines[1].id: 1},
                                       reason="Wrong colour", actor=CLERK)
    after = purchases.spend_by_month(db, abe, chosen, "EUR")[-1]
    assert before.net - after.net == note.net_total
    assert before.gross - after.gross == note.gross_total


def test_a_buyer_sees_only_what_they_placed_an_admin_the_whole_company(world, db):
    bea, ada = login(db, BEA), login(db, ADA)
    chosen = purchases.default_range(clock.today())
    bea_units = {p.name: p.units for p in purchases.top_products(db, bea, chosen, "EUR")}
    ada_units = {p.name: p.units for p in purchases.top_products(db, ada, chosen, "EUR")}
    paper = next(n for n in bea_units if n in ada_units)
    assert bea_units[paper] == 3
    # Ada sees Bea's 3 and Abe's 2 less the 1 credited (and whatever the demo had before).
    assert ada_units[paper] >= 3 + 2 - 1
    assert len(bea_units) == 1


def test_top_products_are_ordered_by_spend_with_units(world, as_, db):
    found = purchases.top_products(db, login(db, ADA), purchases.default_range(clock.today()),
                                   "EUR")
    assert [p.spend for p in found] == sorted((p.spend for p in found), reverse=True)
    page = text(as_(ADA).get("/account/purchasing"))
    assert f"<th scope=\"row\">{found[0].name}</th><td>{found[0].units}</td>" in page


def test_open_quotes_are_listed_with_validity_and_link_but_not_another_buyers(world, db, as_):
    bea, abe = login(db, BEA), login(db, ABE)
    mine = quotes.request_quote(db, lines=[(world[BEA].lines[0].variant_id, 10)],
                                customer=bea.customer, user=bea, comment="", actor=CLERK,
                                valid_days=30)
    theirs = quotes.request_quote(db, lines=[(world[BEA].lines[0].variant_id, 20)],
                                  customer=abe.customer, user=abe, comment="", actor=CLERK,
                                  valid_days=30)
    db.commit()
    page = as_(BEA).get("/account/purchasing").get_data(as_text=True)
    assert f'href="/account/quotes/{mine.number}"' in page
    assert theirs.number not in page
    assert theirs.number in as_(ADA).get("/account/purchasing").get_data(as_text=True)


def test_the_date_range_filters_and_htmx_gets_only_the_results(world, as_):
    client = as_(ADA)
    future = dt.date(clock.today().year + 1, 12, 31).isoformat()
    page = text(client.get(f"/account/purchasing?start={future}&end={future}"))
    assert shown(page, "spend-net") == "0.00 EUR"
    assert "No products invoiced in this range." in page
    fragment = client.get("/account/purchasing", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="results"') and "<h1>" not in body
    assert "HX-Request" in fragment.headers.get("Vary", "")


def test_a_backwards_range_is_refused_at_the_field_and_the_default_shown(world, as_):
    page = text(as_(ADA).get("/account/purchasing?start=2026-05-01&end=2026-04-01"))
    assert "The end date must not be before the start date." in page
    assert 'aria-invalid="true"' in page
    assert as_(ADA).get("/account/purchasing/order-lines.csv?start=2026-05-01&end=2026-04-01"
                        ).status_code == 400


# -- the CSV --------------------------------------------------------------------------------

def rows_of(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_the_csv_holds_the_order_lines_the_login_sees(world, as_, db):
    response = as_(ADA).get("/account/purchasing/order-lines.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = rows_of(response)
    assert list(rows[0]) == purchases.CSV_HEADER
    abe_order = world[ABE]
    mine = [r for r in rows if r["Order number"] == abe_order.number]
    assert len(mine) == 2
    line = next(l for l in abe_order.lines if l.sku == mine[0]["SKU"])
    assert mine[0]["PO number"] == "'" + PO
    assert mine[0]["Buyer"] == "Abe Approver"
    assert mine[0]["Product"] == line.name
    assert mine[0]["Quantity"] == str(line.quantity)
    assert D(mine[0]["Unit price"]) == line.unit_price
    assert (D(mine[0]["Net"]), D(mine[0]["Tax"]), D(mine[0]["Gross"])) == \
        (line.net, line.tax, line.gross)
    assert mine[0]["Currency"] == "EUR" and mine[0]["Status"] == "Shipped"
    assert mine[0]["Quantity shipped"] == str(line.quantity_shipped)
    assert mine[0]["Quantity invoiced"] == str(line.quantity_invoiced)
    assert mine[0]["Order date"] == clock.business_date(abe_order.placed_at).isoformat()
    numbers = {r["Order number"] for r in rows}
    assert world[BEA].number in numbers and world[GINA].number not in numbers


def test_a_buyers_csv_holds_only_their_own_orders(world, as_, db):
    numbers = {r["Order number"] for r in rows_of(as_(BEA).get("/account/purchasing/order-lines.csv"))}
    assert world[BEA].number in numbers and world[ABE].number not in numbers
    bea = login(db, BEA)
    placers = set(db.execute(select(Order.placed_by_kind, Order.placed_by_id)
                             .where(Order.number.in_(numbers))))
    assert placers == {("customer", bea.id)}


def test_the_csv_keeps_to_the_range(world, as_):
    past = (clock.today() - dt.timedelta(days=400)).isoformat()
    rows = rows_of(as_(ADA).get(f"/account/purchasing/order-lines.csv?start={past}&end={past}"))
    assert rows == []


# -- who may ------------------------------------------------------------------------------

def test_globex_sees_none_of_acmes_figures(world, as_, db):
    client = as_(GINA)
    page = client.get("/account/purchasing").get_data(as_text=True)
    net, _ = expected(db, GINA, whole_company=True, **vars(purchases.default_range(clock.today())))
    assert shown(text(client.get("/account/purchasing")), "spend-net") == f"{net:.2f} EUR"
    for email in (BEA, ABE):
        assert world[email].number not in page
    numbers = {r["Order number"] for r in rows_of(client.get("/account/purchasing/order-lines.csv"))}
    assert world[GINA].number in numbers
    assert not numbers & {world[BEA].number, world[ABE].number}


def test_a_consumer_has_no_purchasing_page(customer_client):
    assert customer_client.get("/account/purchasing").status_code == 404
    assert customer_client.get("/account/purchasing/order-lines.csv").status_code == 404
    assert "/account/purchasing" not in customer_client.get("/account/").get_data(as_text=True)


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/account/purchasing")
    assert response.status_code in (302, 303) and "sign-in" in response.headers["Location"]
    assert client.get("/account/purchasing/order-lines.csv").status_code in (302, 303)


def test_the_account_page_links_purchasing_for_company_logins(world, as_):
    assert 'href="/account/purchasing"' in as_(BEA).get("/account/").get_data(as_text=True)


def test_the_core_refuses_a_consumer_login(db):
    person = db.scalar(select(CustomerUser).join(Customer).where(Customer.kind == "person"))
    with pytest.raises(PermissionError):
        purchases.purchasing(db, person, purchases.default_range(clock.today()),
                             today=clock.today())


# -- a fixed number of queries ----------------------------------------------------------------

def test_page_and_csv_take_a_fixed_number_of_queries_whatever_they_hold(world, as_, db,
                                                                         connection):
    client = as_(ADA)

    def count(path):
        client.get(path)  # warm caches (the viewer, the channel)
        with QueryCounter(connection) as counter:
            response = client.get(path)
            response.get_data()
        return counter.count

    page_before, csv_before = count("/account/purchasing"), count("/account/purchasing/order-lines.csv")
    for i in range(3):
        placed_by(db, ADA, f"purch-more-{i}", [("PAP-A4-80", 1), ("STN-76-YEL", 2)])
    assert count("/account/purchasing") == page_before
    assert count("/account/purchasing/order-lines.csv") == csv_before


def test_junk_dates_are_refused_at_the_field_not_with_an_error_page(world, as_):
    client = as_(ADA)
    assert client.get("/account/purchasing/order-lines.csv?start=9999-12-01&end=9999-12-31"
                      ).status_code == 400
    page = text(client.get("/account/purchasing?start=9999-12-01&end=9999-12-31"))
    assert "Choose dates from 2000 to" in page
    page = text(client.get("/account/purchasing?start=yesterday&end=2026-13-45"))
    assert 'aria-invalid="true"' in page and 'id="spend-net"' in page
    assert client.get("/account/purchasing/order-lines.csv?start=junk").status_code == 400


def test_the_range_form_is_a_get_form_that_htmx_enhances(world, as_):
    page = as_(ADA).get("/account/purchasing").get_data(as_text=True)
    form = re.search(r"<form[^>]*>", page[page.index("<h1>"):]).group(0)
    assert 'method="get"' in form and 'hx-get="/account/purchasing"' in form
    assert 'hx-push-url="true"' in form and 'hx-target="#results"' in form
    assert '<label for="start">From</label>' in page and '<label for="end">To</label>' in page
