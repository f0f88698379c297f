"""The shop's company pages (Company, buyer, invitation acceptance), the address book, the
profile and e-mail change, with the e-mails they send (smtp_sink); the console's buyers and
address book; the Company page's query count."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.audit import AuditEvent
from core.customers.models import Customer, CustomerAddress, CustomerUser
from core.demo import DEMO_PASSWORD
from tests import factories
from tests.conftest import csrf_token, sign_in
from tests.helpers import QueryCounter
from tests.web.conftest import text_of

ADMIN, BUYER, APPROVER = "admin@acme.example", "buyer@acme.example", "approver@acme.example"
ADDRESS = {"full_name": "Acme Goods In", "company": "Acme Corp", "line1": "Kai 2",
           "postal_code": "20457", "city": "Hamburg", "country": "DE", "region": "",
           "phone": "", "line2": "", "label": "Harbour depot"}


def text(response) -> str:
    return response.get_data(as_text=True)


def signed_in(client, email, password=DEMO_PASSWORD):
    response = sign_in(client, email, password)
    assert response.status_code == 303, text(response)
    return client


def post(client, path, data=None, page=None):
    token = csrf_token(client, page or "/account/")  # one token per session
    return client.post(path, data={**(data or {}), "csrf_token": token})


def user(db, email) -> CustomerUser:
    return db.scalar(select(CustomerUser).where(CustomerUser.email == email)
                     .execution_options(populate_existing=True))


def link_in(message) -> str:
    found = re.search(r"http://localhost(/account/\S+)", text_of(message))
    assert found, text_of(message)
    return found.group(1)


# -- the Company page ---------------------------------------------------------------------------

def test_the_admin_sees_the_company_page_with_buyers_roles_limits_and_status(client):
    signed_in(client, ADMIN)
    home = text(client.get("/account/"))
    assert 'href="/account/company"' in home  # header and overview
    html = text(client.get("/account/company"))
    assert "<h1>Company: Acme Corp</h1>" in html
    for name in ("Bea Buyer", "Ada Admin", "Abe Approver"):
        assert name in html
    assert "500.00" in html and "Active" in html
    assert '<label for="email">E-mail</label>' in html and "Invite buyer</button>" in html


def test_the_company_page_runs_as_many_queries_for_3_buyers_as_for_23(client, db, connection):
    signed_in(client, ADMIN)
    acme = db.scalar(select(Customer).where(Customer.name == "Acme Corp"))

    def count() -> int:
        with QueryCounter(connection) as counter:
            assert client.get("/account/company").status_code == 200
        return counter.count

    few = count()
    for n in range(20):
        factories.CustomerUserFactory(customer=acme, email=f"extra{n}@acme.example")
    db.commit()
    assert count() == few


def test_an_admin_invites_a_buyer_who_follows_the_link_and_is_signed_in(client, db, smtp_sink,
                                                                        shop_app):
    signed_in(client, ADMIN)
    response = post(client, "/account/company/invite",
                    {"full_name": "Nora Newbuyer", "email": "nora@acme.example",
                     "role": "buyer", "order_limit": "250", "monthly_limit": ""})
    assert response.status_code == 303, text(response)
    nora = user(db, "nora@acme.example")
    assert nora.order_limit == Decimal("250.00") and nora.email_confirmed_at is None
    message = smtp_sink.wait_for("nora@acme.example", subject="buy for Acme Corp")
    assert "Ada Admin invited you" in text_of(message)
    path = link_in(message)
    assert path.startswith("/account/invitation/")

    invitee = shop_app.test_client()
    page = text(invitee.get(path))
    assert "Set up your login" in page and "nora@acme.example" in page
    weak = invitee.post(path, data={"password": "password", "confirm": "password",
                                    "csrf_token": csrf_token(invitee, path)})
    assert weak.status_code == 200 and "most common passwords" in text(weak)
    done = invitee.post(path, data={"password": "teal-harbour-19", "confirm": "teal-harbour-19",
                                    "csrf_token": csrf_token(invitee, path)})
    assert done.status_code == 303 and done.headers["Location"].endswith("/account/")
    assert "Nora Newbuyer" in text(invitee.get("/account/"))
    again = invitee.get(path)
    assert again.status_code == 400 and "invalid, used or expired" in text(again)


def test_inviting_an_address_with_a_login_is_refused_at_the_field_and_keeps_the_input(client):
    signed_in(client, ADMIN)
    response = post(client, "/account/company/invite",
                    {"full_name": "Gina Again", "email": "gina@globex.example", "role": "buyer"})
    html = text(response)
    assert response.status_code == 200 and "already has a login here" in html
    assert 'value="Gina Again"' in html


def test_the_admin_changes_a_role_and_limits_and_cannot_demote_themselves(client, db):
    signed_in(client, ADMIN)
    bea = user(db, BUYER)
    path = f"/account/company/buyers/{bea.id}"
    assert "Role and spending limits" in text(client.get(path))
    response = post(client, path, {"role": "approver", "order_limit": "750,50",
                                   "monthly_limit": "5000"})
    assert response.status_code == 303, text(response)
    bea = user(db, BUYER)
    assert bea.role == "approver" and bea.order_limit == Decimal("750.50")
    assert bea.monthly_limit == Decimal("5000.00")
    bad = post(client, path, {"role": "buyer", "order_limit": "-5"})
    assert "0 or more" in text(bad)
    ada = user(db, ADMIN)
    refused = post(client, f"/account/company/buyers/{ada.id}", {"role": "buyer"})
    assert "at least one active admin" in text(refused)
    assert user(db, ADMIN).role == "admin"
    follow = post(client, f"/account/company/buyers/{ada.id}/deactivate",
                  page=f"/account/company/buyers/{ada.id}")
    assert follow.status_code == 303 and user(db, ADMIN).active


def test_deactivating_a_buyer_signs_them_out_and_reactivating_lets_them_in(client, db, shop_app):
    bea_client = signed_in(shop_app.test_client(), BUYER)
    assert bea_client.get("/account/orders").status_code == 200
    signed_in(client, ADMIN)
    bea = user(db, BUYER)
    page = f"/account/company/buyers/{bea.id}"
    assert post(client, f"{page}/deactivate", page=page).status_code == 303
    assert not user(db, BUYER).active
    assert bea_client.get("/account/orders").status_code == 302  # signed out
    assert sign_in(shop_app.test_client(), BUYER, DEMO_PASSWORD).status_code == 200
    assert "Deactivated" in text(client.get("/account/company"))
    assert post(client, f"{page}/reactivate", page=page).status_code == 303
    assert sign_in(shop_app.test_client(), BUYER, DEMO_PASSWORD).status_code == 303


def test_resending_an_invitation_mails_a_new_link_and_the_old_one_stops_working(
        client, db, smtp_sink, shop_app):
    signed_in(client, ADMIN)
    post(client, "/account/company/invite", {"full_name": "Rita Resend",
                                              "email": "rita@acme.example", "role": "buyer"})
    first = link_in(smtp_sink.wait_for("rita@acme.example"))
    rita = user(db, "rita@acme.example")
    page = f"/account/company/buyers/{rita.id}"
    assert "Resend invitation" in text(client.get(page))
    smtp_sink.messages.clear()
    assert post(client, f"{page}/resend", page=page).status_code == 303
    second = link_in(smtp_sink.wait_for("rita@acme.example"))
    assert first != second
    other = shop_app.test_client()
    assert other.get(first).status_code == 400
    assert other.get(second).status_code == 200


# -- the address book ---------------------------------------------------------------------------

def test_the_admin_keeps_the_address_book_and_the_bill_to(client, db):
    signed_in(client, ADMIN)
    html = text(client.get("/account/addresses"))
    assert "Acme Corp's address book" in html and "Add address" in html
    response = post(client, "/account/addresses/new", ADDRESS)
    assert response.status_code == 303, text(response)
    acme = db.scalar(select(Customer).where(Customer.name == "Acme Corp"))
    depot = db.scalar(select(CustomerAddress).where(CustomerAddress.customer_id == acme.id,
                                                    CustomerAddress.label == "Harbour depot"))
    assert post(client, f"/account/addresses/{depot.id}/bill-to",
                page="/account/addresses").status_code == 303
    db.refresh(depot)
    assert depot.default_billing
    assert "Invoices go to: Acme Goods In" in text(client.get("/account/company"))
    edit = f"/account/addresses/{depot.id}/edit"
    assert 'value="Kai 2"' in text(client.get(edit))
    bad = post(client, edit, {**ADDRESS, "postal_code": "ABC"})
    assert "five digits" in text(bad) and 'value="ABC"' in text(bad)
    assert post(client, edit, {**ADDRESS, "line1": "Kai 3"}).status_code == 303
    assert post(client, f"/account/addresses/{depot.id}/delete",
                page="/account/addresses").status_code == 303
    assert db.scalar(select(CustomerAddress.id).where(CustomerAddress.id == depot.id)) is None


def test_a_buyer_sees_the_book_but_cannot_change_it(client, db):
    signed_in(client, BUYER)
    html = text(client.get("/account/addresses"))
    assert "Marienplatz 1" in html and "admins keep the address book" in html
    assert "Add address" not in html and "Delete" not in html
    acme_address = db.scalar(select(CustomerAddress.id).join(Customer).where(
        Customer.name == "Acme Corp"))
    assert client.get("/account/addresses/new").status_code == 404
    assert client.get(f"/account/addresses/{acme_address}/edit").status_code == 404
    token = csrf_token(client, "/account/addresses")
    assert client.post(f"/account/addresses/{acme_address}/delete",
                       data={"csrf_token": token}).status_code == 404


def test_a_person_keeps_their_own_addresses(client, db):
    signed_in(client, "shopper@example.com")
    assert "Your addresses" in text(client.get("/account/addresses"))
    assert post(client, "/account/addresses/new", {**ADDRESS, "label": "Home"}).status_code == 303
    assert "Home" in text(client.get("/account/addresses"))


# -- profile and e-mail change ------------------------------------------------------------------

def test_the_profile_saves_name_and_phone(client, db):
    signed_in(client, BUYER)
    assert 'value="Bea Buyer"' in text(client.get("/account/profile"))
    response = post(client, "/account/profile", {"full_name": "Bea B. Buyer",
                                                 "phone": "+49 89 555 0199"})
    assert response.status_code == 303
    assert user(db, BUYER).full_name == "Bea B. Buyer"
    bad = post(client, "/account/profile", {"full_name": "", "phone": ""})
    assert "Enter the person&#39;s full name" in text(bad)


def test_changing_the_email_mails_the_new_address_and_tells_the_old_one(client, db, smtp_sink):
    signed_in(client, "shopper@example.com")
    wrong = post(client, "/account/email", {"new_email": "sam@new.example",
                                             "current_password": "not-it-at-all"})
    assert "not your current password" in text(wrong)
    sent = post(client, "/account/email", {"new_email": "sam@new.example",
                                            "current_password": DEMO_PASSWORD})
    assert sent.status_code == 200 and "Check your new inbox" in text(sent)
    link = link_in(smtp_sink.wait_for("sam@new.example", subject="Confirm your new"))
    notice = smtp_sink.wait_for("shopper@example.com", subject="about to change")
    assert "sam@new.example" in text_of(notice)
    assert user(db, "shopper@example.com") is not None  # nothing changed yet
    page = client.get(link)
    assert page.status_code == 200 and "Use this address" in text(page)
    done = client.post(link, data={"csrf_token": csrf_token(client, link)})
    assert done.status_code == 303
    assert user(db, "sam@new.example") is not None and user(db, "shopper@example.com") is None
    smtp_sink.wait_for("shopper@example.com", subject="has changed")
    assert client.get(link).status_code == 400


def test_changing_to_an_address_with_a_login_is_refused_at_the_field(client):
    signed_in(client, "shopper@example.com")
    response = post(client, "/account/email", {"new_email": BUYER,
                                                "current_password": DEMO_PASSWORD})
    assert "already has a login here" in text(response)


# -- the console --------------------------------------------------------------------------------

def acme_number(db) -> str:
    return db.scalar(select(Customer.number).where(Customer.name == "Acme Corp"))


def test_an_agent_manages_acmes_buyers_and_addresses_in_the_console(agent_client, db,
                                                                    smtp_sink):
    number = acme_number(db)
    show = text(agent_client.get(f"/customers/{number}"))
    assert "Bea Buyer" in show and f'href="/customers/{number}/buyers"' in show
    page = f"/customers/{number}/buyers"
    assert "Invite buyer" in text(agent_client.get(page))
    response = agent_client.post(f"{page}/invite", data={
        "full_name": "Olga Onphone", "email": "olga@acme.example", "role": "approver",
        "order_limit": "", "monthly_limit": "", "csrf_token": csrf_token(agent_client, page)})
    assert response.status_code == 303, text(response)
    assert smtp_sink.wait_for("olga@acme.example")
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "customer.buyer_invited")
                      .order_by(AuditEvent.id.desc()))
    assert event.channel == "console" and event.actor_kind == "agent"
    bea = user(db, BUYER)
    buyer_page = f"{page}/{bea.id}"
    response = agent_client.post(buyer_page, data={
        "role": "buyer", "order_limit": "900", "monthly_limit": "",
        "csrf_token": csrf_token(agent_client, buyer_page)})
    assert response.status_code == 303 and user(db, BUYER).order_limit == Decimal("900.00")
    ada = user(db, ADMIN)
    agent_client.post(f"{page}/{ada.id}/deactivate",
                      data={"csrf_token": csrf_token(agent_client, f"{page}/{ada.id}")})
    assert user(db, ADMIN).active  # the last admin stays
    book = f"/customers/{number}/addresses"
    assert "Marienplatz 1" in text(agent_client.get(book))
    response = agent_client.post(f"{book}/new", data={
        **{f"{k}": v for k, v in ADDRESS.items()},
        "csrf_token": csrf_token(agent_client, f"{book}/new")})
    assert response.status_code == 303, text(response)
    assert "Harbour depot" in text(agent_client.get(book))


def test_console_roles_without_customer_care_cannot_manage_buyers(console_app, db):
    from tests.conftest import agent_client_for
    number = acme_number(db)
    client = agent_client_for(console_app, "catalog@marketline.example")
    assert client.get(f"/customers/{number}/buyers").status_code == 403
    assert client.get(f"/customers/{number}/addresses").status_code == 403


def test_a_person_customer_has_no_buyers_page_in_the_console(agent_client, db):
    sam = db.scalar(select(Customer.number).join(CustomerUser).where(
        CustomerUser.email == "shopper@example.com"))
    assert agent_client.get(f"/customers/{sam}/buyers").status_code == 404
    assert agent_client.get(f"/customers/{sam}/addresses").status_code == 200


# -- query counts with the role scope ------------------------------------------------------------

@pytest.mark.parametrize("who", [BUYER, APPROVER])
def test_a_company_logins_order_history_and_overview_run_fixed_queries(client, db, connection,
                                                                       who):
    from tests.web.test_orders_account import make_order
    signed_in(client, who)
    bea = user(db, BUYER)

    def add(n):
        for _ in range(n):
            order = make_order(db, bea.customer_id, email=BUYER)
            order.placed_by_id = bea.id
        db.commit()

    def count(path):
        with QueryCounter(connection) as counter:
            assert client.get(path).status_code == 200
        return counter.count

    add(1)
    client.get("/account/orders")  # warm up
    before = {p: count(p) for p in ("/account/orders", "/account/", "/account/addresses",
                                    "/account/invoices", "/account/returns")}
    add(25)
    db.add_all([CustomerAddress(customer_id=bea.customer_id, label=f"Depot {n}",
                                full_name="Goods In", line1=f"Kai {n}", city="Hamburg",
                                postal_code="20457", country="DE") for n in range(10)])
    db.commit()
    assert {p: count(p) for p in before} == before


def test_the_consoles_buyers_page_runs_as_many_queries_for_3_buyers_as_for_23(
        agent_client, db, connection):
    number = acme_number(db)
    acme = db.scalar(select(Customer).where(Customer.number == number))
    agent_client.get(f"/customers/{number}/buyers")  # warm up

    def count() -> int:
        with QueryCounter(connection) as counter:
            assert agent_client.get(f"/customers/{number}/buyers").status_code == 200
        return counter.count

    few = count()
    for n in range(20):
        factories.CustomerUserFactory(customer=acme, email=f"more{n}@acme.example")
    db.commit()
    assert count() == few
