"""Quotes on the web: the buyer's request from the cart, the console's worklist and editor,
sending (an e-mail with the PDF arrives), the shop's list, detail, accept and decline, who
sees what, and fixed query counts on both lists."""
import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import clock
from core.agents.models import Agent
from core.catalog.models import Variant
from core.customers.models import Customer, CustomerUser
from core.customers.services import actor_for
from core.orders import discounts
from core.orders.models import Order
from core.quotes import services as quotes
from core.quotes.models import Quote
from tests.conftest import agent_client_for, csrf_token, sign_in
from tests.helpers import QueryCounter

LIMITS = discounts.DiscountLimits(Decimal(10), Decimal(30))


def text(response) -> str:
    return response.get_data(as_text=True)


def vid(db, sku):
    return db.scalar(select(Variant.id).where(Variant.sku == sku))


def login(db, email):
    return db.scalar(select(CustomerUser).where(CustomerUser.email == email))


def agent(db, email="agent@marketline.example"):
    return db.scalar(select(Agent).where(Agent.email == email))


def requested(db, who="buyer@acme.example", lines=(("PAP-A4-80", 10),)):
    user = login(db, who)
    quote = quotes.request_quote(db, lines=[(vid(db, s), q) for s, q in lines],
                                 customer=user.customer, user=user, comment="Pallet price?",
                                 actor=actor_for(user), valid_days=30)
    db.commit()
    return quote


def sent(db, **kwargs):
    quote = requested(db, **kwargs)
    quotes.send_quote(db, quote, agent=agent(db), limits=LIMITS, default_days=30)
    db.commit()
    return quote


def shop_as(client, email):
    response = sign_in(client, email, "demo-pass-1")
    assert response.status_code == 303, text(response)
    return client


@pytest.fixture
def acme_buyer(client):
    return shop_as(client, "buyer@acme.example")


# -- the shop: request from the cart --------------------------------------------------------

def test_a_buyer_requests_a_quote_from_the_cart_and_the_cart_stays(acme_buyer, db):
    token = csrf_token(acme_buyer, "/cart/")
    acme_buyer.post("/cart/add", data={"variant_id": vid(db, "PAP-A4-80"), "quantity": 12,
                                       "csrf_token": token})
    page = text(acme_buyer.get("/cart/"))
    assert "Request a quote" in page and 'for="quote-comment"' in page
    response = acme_buyer.post("/cart/request-quote", data={"comment": "Twelve boxes monthly",
                                                            "csrf_token": token})
    assert response.status_code == 303
    number = response.headers["Location"].rsplit("/", 1)[-1]
    quote = db.scalar(select(Quote).where(Quote.number == number))
    assert quote.status == "draft" and quote.comment == "Twelve boxes monthly"
    assert [(l.sku, l.quantity) for l in quote.lines] == [("PAP-A4-80", 12)]
    page = text(acme_buyer.get(f"/account/quotes/{number}"))
    assert "Being prepared" in page and "Twelve boxes monthly" in page
    assert "Accept quote" not in page
    assert "PAP-A4-80" in text(acme_buyer.get("/cart/"))  # the cart is unchanged


def test_a_guest_cannot_request_a_quote_and_sees_no_form(client, db):
    token = csrf_token(client, "/cart/")
    client.post("/cart/add", data={"variant_id": vid(db, "PAP-A4-80"), "quantity": 1,
                                   "csrf_token": token})
    assert "Request a quote" not in text(client.get("/cart/"))
    response = client.post("/cart/request-quote", data={"comment": "", "csrf_token": token})
    assert response.status_code in (302, 303) and "sign-in" in response.headers["Location"]


# -- the console ------------------------------------------------------------------------------

def test_the_worklist_shows_requests_first_and_the_nav_links_it(agent_client, db):
    quote = requested(db)
    home = text(agent_client.get("/"))
    assert 'href="/quotes/"' in home
    page = text(agent_client.get("/quotes/"))
    first = re.search(r'href="/quotes/(QT-\d+)"', page).group(1)
    assert first == quote.number and "Requested" in page and "Bea Buyer" in page
    assert quote.number not in text(agent_client.get("/quotes/?status=accepted"))


def test_an_agent_prices_a_request_and_sends_it_and_the_buyer_gets_the_pdf(agent_client, db,
                                                                             smtp_sink):
    quote = requested(db)
    line = quote.lines[0]
    editor = f"/quotes/{quote.number}"
    token = csrf_token(agent_client, editor)
    page = text(agent_client.get(editor))
    assert "Pallet price?" in page and "Send quote" in page
    response = agent_client.post(f"{editor}/lines/{line.id}/price",
                                 data={"unit_price": "3.70", "reason": "volume_deal",
                                       "csrf_token": token}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "3.70 EUR" in text(response)
    assert 'id="editor"' in text(response) and "<html" not in text(response)
    response = agent_client.post(f"{editor}/lines", data={"sku": "PEN-G2-BLK", "quantity": "4",
                                                          "csrf_token": token})
    assert response.status_code == 303
    response = agent_client.post(f"{editor}/terms", data={
        "expires_on": (clock.today() + dt.timedelta(days=10)).isoformat(),
        "note": "Prices for full boxes.", "csrf_token": token})
    assert response.status_code == 303
    response = agent_client.post(f"{editor}/send", data={"csrf_token": token})
    assert response.status_code == 303
    db.expire_all()
    quote = db.get(Quote, quote.id)
    assert quote.status == "sent" and len(quote.lines) == 2
    message = smtp_sink.wait_for("buyer@acme.example", subject=quote.number)
    attachments = list(message.iter_attachments())
    assert [a.get_filename() for a in attachments] == [f"{quote.number}.pdf"]
    assert attachments[0].get_content_type() == "application/pdf"
    assert attachments[0].get_content().startswith(b"%PDF")
    body = message.get_body(("plain",)).get_content()
    assert "3.70 EUR" in body and f"/account/quotes/{quote.number}" in body
    pdf = agent_client.get(f"{editor}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_a_price_without_a_reason_is_refused_at_the_line(agent_client, db):
    quote = requested(db)
    editor = f"/quotes/{quote.number}"
    token = csrf_token(agent_client, editor)
    response = agent_client.post(f"{editor}/lines/{quote.lines[0].id}/price",
                                 data={"unit_price": "1.00", "reason": "", "csrf_token": token},
                                 headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Choose a reason" in text(response)
    db.expire_all()
    assert not db.get(Quote, quote.id).lines[0].override_reason


def test_an_agent_beyond_their_limit_is_told_a_supervisor_sends_it(agent_client, db):
    quote = requested(db)
    editor = f"/quotes/{quote.number}"
    token = csrf_token(agent_client, editor)
    agent_client.post(f"{editor}/lines/{quote.lines[0].id}/price",
                      data={"percent": "25", "reason": "volume_deal", "csrf_token": token})
    assert "A supervisor must send this quote" in text(agent_client.get(editor))
    response = agent_client.post(f"{editor}/send", data={"csrf_token": token})
    assert "A supervisor must send this quote" in text(response)
    db.expire_all()
    assert db.get(Quote, quote.id).status == "draft"


def test_a_new_quote_from_the_customer_page(agent_client, db):
    acme = db.scalar(select(Customer).where(Customer.name == "Acme Corp"))
    page = text(agent_client.get(f"/customers/{acme.number}"))
    assert f'href="/quotes/new?customer={acme.number}"' in page
    form = text(agent_client.get(f"/quotes/new?customer={acme.number}"))
    assert "Bea Buyer" in form
    bea = login(db, "buyer@acme.example")
    response = agent_client.post("/quotes/new", data={
        "customer": acme.number, "buyer": str(bea.id),
        "csrf_token": csrf_token(agent_client, "/quotes/new")})
    assert response.status_code == 303
    number = response.headers["Location"].rsplit("/", 1)[-1]
    quote = db.scalar(select(Quote).where(Quote.number == number))
    assert quote.requested_by_id == bea.id and quote.agent_id == agent(db).id


def test_warehouse_agents_have_no_quotes(console_app, db):
    quote = requested(db)
    warehouse = agent_client_for(console_app, "warehouse@marketline.example")
    assert warehouse.get("/quotes/").status_code == 403
    assert warehouse.get(f"/quotes/{quote.number}").status_code == 403


# -- the shop: list, detail, accept, decline ------------------------------------------------------

def test_the_buyer_accepts_and_the_order_carries_the_quoted_prices(acme_buyer, db):
    quote = requested(db)
    quotes.price_line(db, quote, quote.lines[0].id,
                      quotes.PriceOverride("volume_deal", unit_price=Decimal("3.70")),
                      agent=agent(db))
    quotes.send_quote(db, quote, agent=agent(db), limits=LIMITS, default_days=30)
    db.commit()
    listing = text(acme_buyer.get("/account/quotes"))
    assert quote.number in listing and "Sent" in listing
    page = text(acme_buyer.get(f"/account/quotes/{quote.number}"))
    assert "Accept quote" in page and "Decline" in page and "3.70 EUR" in page
    assert 'name="q" value=""' in page  # the header's search box is not the quote
    assert acme_buyer.get(f"/account/quotes/{quote.number}/pdf").data.startswith(b"%PDF")
    token = csrf_token(acme_buyer, f"/account/quotes/{quote.number}")
    response = acme_buyer.post(f"/account/quotes/{quote.number}/accept",
                               data={"po_number": "PO-Q-1", "csrf_token": token})
    assert response.status_code == 303, text(response)
    db.expire_all()
    quote = db.get(Quote, quote.id)
    order = db.get(Order, quote.order_id)
    assert response.headers["Location"].endswith(f"/account/orders/{order.number}")
    assert quote.status == "accepted" and order.po_number == "PO-Q-1"
    assert {l.sku: l.unit_price for l in order.lines} == {"PAP-A4-80": Decimal("3.70")}
    assert "3.70 EUR" in text(acme_buyer.get(f"/account/orders/{order.number}"))
    again = acme_buyer.post(f"/account/quotes/{quote.number}/accept",
                            data={"csrf_token": token})  # a double click: the same order
    assert again.status_code in (303, 422)
    assert db.scalars(select(Order).where(Order.idempotency_key == f"quote-{quote.id}")).all() \
        == [order]


def test_an_expired_quote_is_refused_and_shown_expired(acme_buyer, db):
    quote = sent(db)
    quote.expires_on = clock.today() - dt.timedelta(days=1)
    db.commit()
    page = text(acme_buyer.get(f"/account/quotes/{quote.number}"))
    assert "Expired" in page and "Accept quote" not in page
    token = csrf_token(acme_buyer, f"/account/quotes/{quote.number}")
    response = acme_buyer.post(f"/account/quotes/{quote.number}/accept", data={"csrf_token": token})
    assert response.status_code == 303
    db.expire_all()
    assert db.get(Quote, quote.id).status == "expired"
    assert "can no longer be accepted" in text(acme_buyer.get(f"/account/quotes/{quote.number}"))


def test_the_buyer_declines_with_a_reason(acme_buyer, db):
    quote = sent(db)
    path = f"/account/quotes/{quote.number}"
    token = csrf_token(acme_buyer, path)
    refused = acme_buyer.post(f"{path}/decline", data={"reason": "", "csrf_token": token})
    assert refused.status_code == 422 and "Tell us why" in text(refused)
    acme_buyer.post(f"{path}/decline", data={"reason": "Too expensive", "csrf_token": token})
    db.expire_all()
    assert db.get(Quote, quote.id).status == "rejected"
    assert "Declined" in text(acme_buyer.get(path))


# -- who sees what ------------------------------------------------------------------------------

def test_a_globex_login_gets_404_for_an_acme_quote(client, db):
    quote = sent(db)
    shop_as(client, "gina@globex.example")
    path = f"/account/quotes/{quote.number}"
    assert client.get(path).status_code == 404
    assert client.get(f"{path}/pdf").status_code == 404
    token = csrf_token(client, "/account/quotes")
    assert client.post(f"{path}/accept", data={"csrf_token": token}).status_code == 404
    assert client.post(f"{path}/decline", data={"reason": "x", "csrf_token": token}).status_code == 404
    assert quote.number not in text(client.get("/account/quotes"))
    db.expire_all()
    assert db.get(Quote, quote.id).status == "sent"


def test_a_buyer_sees_only_their_own_requests_and_an_approver_all(client, db, shop_app):
    bea_quote = sent(db)
    ada_quote = sent(db, who="admin@acme.example")
    shop_as(client, "buyer@acme.example")
    listing = text(client.get("/account/quotes"))
    assert bea_quote.number in listing and ada_quote.number not in listing
    assert client.get(f"/account/quotes/{ada_quote.number}").status_code == 404
    approver = shop_app.test_client()
    shop_as(approver, "approver@acme.example")
    listing = text(approver.get("/account/quotes"))
    assert bea_quote.number in listing and ada_quote.number in listing


# -- query counts -------------------------------------------------------------------------------

def _count(connection, fn):
    with QueryCounter(connection) as counter:
        response = fn()
    assert response.status_code == 200
    return counter.count


def test_the_worklist_runs_as_many_queries_for_1_quote_as_for_12(agent_client, db, connection):
    requested(db)
    one = _count(connection, lambda: agent_client.get("/quotes/?status=all"))
    for _ in range(11):
        sent(db)
    assert _count(connection, lambda: agent_client.get("/quotes/?status=all")) == one


def test_the_shops_quote_list_runs_as_many_queries_for_1_quote_as_for_12(acme_buyer, db,
                                                                         connection):
    sent(db)
    one = _count(connection, lambda: acme_buyer.get("/account/quotes"))
    for _ in range(11):
        sent(db)
    assert _count(connection, lambda: acme_buyer.get("/account/quotes")) == one


def test_a_consumer_without_account_terms_accepts_and_is_sent_to_pay_by_card(client, db):
    sam = login(db, "shopper@example.com")
    quote = quotes.request_quote(db, lines=[(vid(db, "PAP-A4-80"), 2)], customer=sam.customer,
                                 user=sam, comment="", actor=actor_for(sam), valid_days=30)
    quotes.send_quote(db, quote, agent=agent(db), limits=LIMITS, default_days=30)
    db.commit()
    shop_as(client, "shopper@example.com")
    path = f"/account/quotes/{quote.number}"
    assert "you then pay it by card" in text(client.get(path))
    response = client.post(f"{path}/accept", data={"csrf_token": csrf_token(client, path)})
    assert response.status_code == 303 and "/pay/" in response.headers["Location"]
    pay = client.get(response.headers["Location"])
    db.expire_all()
    order = db.get(Order, db.get(Quote, quote.id).order_id)
    assert pay.status_code == 200 and order.number in text(pay)
    assert order.status == "pending_payment" and order.payment_method == "card"


def test_the_expiry_job_moves_sent_quotes_past_their_date(db, settings):
    from core.tasks import configure_celery
    from core.workflows.tasks import expire_due_quotes
    quote = sent(db)
    quote.expires_on = clock.today() - dt.timedelta(days=1)
    db.commit()
    configure_celery(settings)
    assert expire_due_quotes() >= 1
    db.expire_all()
    assert db.get(Quote, quote.id).status == "expired"


def test_an_agent_declines_a_request_and_the_buyer_reads_why(agent_client, acme_buyer, db):
    quote = requested(db)
    editor = f"/quotes/{quote.number}"
    token = csrf_token(agent_client, editor)
    refused = agent_client.post(f"{editor}/decline", data={"reason": "", "csrf_token": token})
    assert "Say why" in text(refused)
    response = agent_client.post(f"{editor}/decline", data={
        "reason": "This paper is discontinued; ask us about PAP-A4-REC.", "csrf_token": token})
    assert response.status_code == 303
    page = text(acme_buyer.get(f"/account/quotes/{quote.number}"))
    assert "Declined" in page and "discontinued" in page and "Accept quote" not in page
