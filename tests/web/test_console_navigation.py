"""Console navigation (issue 18): records link to each other, a document number typed into a
search opens the document (for the roles that may open it), company contacts are found,
orders awaiting payment have a worklist and their actions, and a draft can be discarded."""
import re

import pytest
from sqlalchemy import select

from core.billing.models import Invoice
from core.customers.models import Customer
from core.orders.models import Cart, Order
from core.returns.models import ReturnAuthorisation
from tests.conftest import agent_client_for, csrf_token
from tests.helpers import QueryCounter
from tests.web.test_console_billing import client_with_roles
from tests.web.test_order_entry import add, entry_url, number_of, place, placed

HX = {"HX-Request": "true"}


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def order_href(number: str) -> str:
    return f'href="/orders/{number}"'


@pytest.fixture
def waiting(agent_client, db, smtp_sink):
    """A phone order of the demo shopper awaiting payment: the link was e-mailed."""
    number = number_of(db, "shopper")
    add(agent_client, number, "PAP-A4-80")
    order = placed(db, place(agent_client, number, "pay_link"))
    assert order.status == "pending_payment"
    return order


# -- records link to each other ----------------------------------------------------------------

def test_the_customer_360_links_its_orders_payments_and_audit_trail(agent_client, db, waiting):
    html = html_of(agent_client.get(f"/customers/{number_of(db, 'shopper')}"))
    orders = html.split('id="orders-h"')[1].split('id="returns-h"')[0]
    assert order_href(waiting.number) in orders
    audit = html.split('id="audit-h"')[1]
    assert order_href(waiting.number) in audit  # says which order an event is about


def test_the_order_page_links_its_customer_with_a_customer_breadcrumb(agent_client, db, waiting):
    customer = number_of(db, "shopper")
    html = html_of(agent_client.get(f"/orders/{waiting.number}"))
    crumbs = html.split('aria-label="Breadcrumb"')[1].split("</nav>")[0]
    assert 'href="/customers/"' in crumbs and f'href="/customers/{customer}"' in crumbs
    assert "Sam Shopper" in crumbs and waiting.number in crumbs
    assert "Orders on hold" not in crumbs
    assert re.search(rf'id="order-customer" href="/customers/{customer}">Sam Shopper</a>', html)


def test_the_holds_worklist_links_the_order_and_its_customer(supervisor_client, db, waiting):
    from core.audit import Actor
    from core.orders import holds
    holds.place_hold(db, waiting, kind="manual", reason_code=next(iter(holds.REASON_CODES["manual"])),
                     note="", actor=Actor.system("test"))
    db.commit()
    html = html_of(supervisor_client.get("/orders/holds"))
    row = next(r for r in html.split("<tr>")[1:] if waiting.number in r)
    assert order_href(waiting.number) in row
    assert f'href="/customers/{number_of(db, "shopper")}"' in row


def test_invoices_link_their_order_for_roles_that_open_orders_only(console_app, db,
                                                                   supervisor_client):
    invoice = db.scalar(select(Invoice).where(Invoice.order_id.is_not(None), Invoice.kind == "invoice")
                        .order_by(Invoice.id).limit(1))
    order_number = db.scalar(select(Order.number).where(Order.id == invoice.order_id))
    customer = db.get(Customer, invoice.customer_id)
    listed = html_of(supervisor_client.get(
        f"/billing/invoices?status=all&customer={customer.number}"))
    assert order_href(order_number) in listed
    page = html_of(supervisor_client.get(f"/billing/invoices/{invoice.number}"))
    assert order_href(order_number) in page
    billing = client_with_roles(console_app, db, "billing")
    listed = html_of(billing.get("/billing/invoices?status=all"))
    assert 'href="/orders/SO-' not in listed  # billing alone may not open the order page
    assert '<span class="nowrap">SO-' in listed


# -- a document number opens the document --------------------------------------------------------

@pytest.mark.parametrize("typed", ["{n}", "{l}", "  {n}  ", "{p} - {d}"])
def test_an_order_number_in_the_customer_search_opens_the_order(agent_client, waiting, typed):
    n = waiting.number
    text = typed.format(n=n, l=n.lower(), p="so", d=n.split("-")[1])
    response = agent_client.get("/customers/", query_string={"q": text})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/orders/{n}")


def test_as_the_agent_types_a_document_number_the_results_offer_it(agent_client, waiting):
    html = html_of(agent_client.get("/customers/", query_string={"q": waiting.number.lower()},
                                    headers=HX))
    assert f'<a href="/orders/{waiting.number}">Open order {waiting.number}</a>' in html


def test_enter_on_the_start_page_opens_the_document_or_the_single_customer(agent_client, db,
                                                                          waiting):
    response = agent_client.get("/find", query_string={"q": waiting.number})
    assert response.headers["Location"].endswith(f"/orders/{waiting.number}")
    response = agent_client.get("/find", query_string={"q": "shopper@example.com"})
    assert response.headers["Location"].endswith(f"/customers/{number_of(db, 'shopper')}")


def test_the_header_search_opens_an_invoice_for_billing(console_app, db):
    number = db.scalar(select(Invoice.number).where(Invoice.kind == "invoice").limit(1))
    billing = agent_client_for(console_app, "billing@marketline.example")
    response = billing.get("/go", query_string={"q": f" {number.lower()} "})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/billing/invoices/{number}")


def test_a_document_the_role_may_not_open_is_refused_plainly(console_app, agent_client, db,
                                                             waiting):
    invoice = db.scalar(select(Invoice.number).where(Invoice.kind == "invoice").limit(1))
    response = agent_client.get("/go", query_string={"q": invoice})
    assert response.status_code == 403
    assert "Your role cannot open invoices" in response.get_data(as_text=True)
    warehouse = agent_client_for(console_app, "warehouse@marketline.example")
    response = warehouse.get("/go", query_string={"q": waiting.number})
    assert response.status_code == 403
    assert "Your role cannot open orders" in response.get_data(as_text=True)


def test_a_return_number_opens_the_return(agent_client, db):
    rma = db.scalar(select(ReturnAuthorisation.number).limit(1))
    if rma is None:
        pytest.skip("the demo data has no return")
    response = agent_client.get("/go", query_string={"q": rma.lower()})
    assert response.headers["Location"].endswith(f"/returns/{rma}")


def test_every_console_page_has_the_find_box_announced_with_its_shortcut(agent_client):
    html = html_of(agent_client.get("/"))
    assert re.search(r'<input id="console-find" name="q" type="search"[^>]*aria-keyshortcuts="/"',
                     html, re.S)
    assert '<label for="console-find"' in html and "console_keys.js" in html


def test_the_sign_in_page_focuses_the_email_field(console_client):
    html = html_of(console_client.get("/sign-in"))
    assert re.search(r'<input[^>]*autofocus[^>]*id="email"|<input[^>]*id="email"[^>]*autofocus',
                     html)


# -- company contacts --------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["Bea Buyer", "buyer@acme.example"])
def test_a_company_buyer_finds_the_company_and_says_who(agent_client, db, text):
    html = html_of(agent_client.get("/customers/", query_string={"q": text}, headers=HX))
    acme = number_of(db, "acme")
    row = next(r for r in html.split("<tr>") if f"/customers/{acme}" in r)
    assert "contact Bea Buyer" in row


def test_the_company_360_lists_its_buyers(agent_client, db):
    html = html_of(agent_client.get(f"/customers/{number_of(db, 'acme')}"))
    assert "Bea Buyer" in html and "buyer@acme.example" in html


# -- orders awaiting payment ---------------------------------------------------------------------

def test_the_order_page_of_an_order_awaiting_payment_offers_its_actions(agent_client, waiting):
    html = html_of(agent_client.get(f"/orders/{waiting.number}"))
    panel = html.split('id="awaiting-h"')[1].split("</section>")[0]
    assert f'href="/order-entry/{waiting.number}/card">Take card payment</a>' in panel
    assert f'action="/order-entry/{waiting.number}/pay-link"' in panel
    assert "<details" in panel  # the link is sent after one more step
    assert 'href="#cancel-h"' in panel


def test_resending_the_payment_link_from_the_order_page_mails_it_again(agent_client, waiting,
                                                                       smtp_sink):
    token = csrf_token(agent_client, f"/orders/{waiting.number}")
    response = agent_client.post(f"/order-entry/{waiting.number}/pay-link",
                                 data={"csrf_token": token})
    assert response.status_code == 303
    assert smtp_sink.wait_for("shopper@example.com")


def test_the_card_page_keeps_the_payment_link_apart_and_asks_first(agent_client, waiting):
    html = html_of(agent_client.get(f"/order-entry/{waiting.number}/card"))
    link = html.split('id="link-h"')[1]
    assert re.search(r"<details[^>]*>\s*<summary[^>]*>Send a payment link instead", link)
    button = re.search(r"<button[^>]*>Authorise card</button>", html).group(0)
    assert 'data-shortcut="ctrl-enter"' in button and "aria-keyshortcuts" in button


def test_the_awaiting_payment_worklist_lists_the_order_and_its_customer(agent_client, db, waiting):
    html = html_of(agent_client.get("/orders/awaiting-payment"))
    row = next(r for r in html.split("<tr>")[1:] if waiting.number in r)
    assert order_href(waiting.number) in row
    assert f'href="/customers/{number_of(db, "shopper")}"' in row
    assert 'href="/orders/awaiting-payment">Awaiting payment</a>' in html  # in the nav


def test_the_awaiting_payment_worklist_runs_as_many_queries_for_many_as_for_one(
        agent_client, db, waiting, connection):
    agent_client.get("/orders/awaiting-payment")
    with QueryCounter(connection) as one:
        agent_client.get("/orders/awaiting-payment")
    number = number_of(db, "shopper")
    for _ in range(4):
        add(agent_client, number, "PEN-G2-BLU")
        placed(db, place(agent_client, number, "pay_link"))
    with QueryCounter(connection) as many:
        html = html_of(agent_client.get("/orders/awaiting-payment"))
    assert html.count('<th scope="row"><a class="nowrap" href="/orders/SO-') >= 5
    assert one.count == many.count


def test_the_awaiting_payment_worklist_is_for_agents(console_app):
    warehouse = agent_client_for(console_app, "warehouse@marketline.example")
    assert warehouse.get("/orders/awaiting-payment").status_code == 403


# -- keyboard order entry ------------------------------------------------------------------------

def test_the_entry_announces_the_place_order_shortcut_on_its_button(agent_client, db):
    html = html_of(agent_client.get(entry_url(number_of(db, "shopper"))))
    button = re.search(r"<button[^>]*>Place order</button>", html).group(0)
    assert 'data-shortcut="ctrl-enter"' in button
    assert 'aria-keyshortcuts="Control+Enter Meta+Enter"' in button
    assert "Ctrl+Enter" in html and 'class="add-line-form"' in html


def test_discarding_the_draft_empties_the_entry(agent_client, db):
    number = number_of(db, "shopper")
    add(agent_client, number, "PAP-A4-80")
    html = html_of(agent_client.get(entry_url(number)))
    assert "Discard draft" in html and "PAP-A4-80" in html
    token = csrf_token(agent_client, entry_url(number))
    response = agent_client.post(f"/order-entry/new/{number}/discard", data={"csrf_token": token})
    assert response.status_code == 303
    html = html_of(agent_client.get(entry_url(number)))
    assert "No lines yet." in html and "Discard draft" not in html


def test_a_discard_without_the_token_keeps_the_draft(agent_client, db):
    number = number_of(db, "shopper")
    add(agent_client, number, "PAP-A4-80")
    carts_before = db.scalar(select(Cart.id).order_by(Cart.id.desc()).limit(1))
    agent_client.post(f"/order-entry/new/{number}/discard", data={})
    assert "No lines yet." not in html_of(agent_client.get(entry_url(number)))
    assert db.get(Cart, carts_before) is not None
