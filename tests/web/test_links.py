"""Links in e-mails come from SHOP_URL / CONSOLE_URL (core.links), never from the request's
Host; requests for any other host are refused; the proxy's forwarded host is opt-in."""
import dataclasses
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from flask import url_for

from core import links
from core.payments import links as tokens
from tests.conftest import agent_client_for, csrf_token
from tests.unit.test_fulfilment import released
from tests.unit.test_orders import place, vid
from tests.web.conftest import text_of

LINK = re.compile(r"https?://[^\s\"'<>]+")


def links_in(message) -> list[str]:
    return LINK.findall(text_of(message))


# -- core.links and the apps' routes never drift apart ------------------------------------------

SHOP_LINKS = [
    (lambda s: links.shop_home(s), "shop.home", {}),
    (lambda s: links.order_page(s, "SO-000123", account=True), "orders.detail",
     {"number": "SO-000123"}),
    (lambda s: links.order_page(s, "SO-000123", account=False), "orders.lookup", {}),
    (lambda s: links.order_lookup(s), "orders.lookup", {}),
    (lambda s: links.invoice_page(s, "INV-000042"), "invoices.detail", {"number": "INV-000042"}),
    (lambda s: links.return_page_for(s, "RMA-000123", customer_id=1, can_sign_in=True),
     "returns.detail", {"number": "RMA-000123"}),
    (lambda s: links.return_page_for(s, "RMA-000123", customer_id=None, can_sign_in=False),
     "orders.lookup", {}),
    (lambda s: links.password_reset(s, "Abc-123_xyz"), "account.reset_password",
     {"token": "Abc-123_xyz"}),
    (lambda s: links.gift_card_balance(s), "gift_cards.balance", {}),
    (lambda s: links.email_confirmation(s, "Abc-123_xyz"), "account.confirm_email",
     {"token": "Abc-123_xyz"}),
    (lambda s: links.sign_in(s), "account.sign_in", {}),
    (lambda s: links.forgot_password(s), "account.forgot_password", {}),
    (lambda s: links.buyer_invitation(s, "Abc-123_xyz"), "profile.invitation",
     {"invitation_token": "Abc-123_xyz"}),
    (lambda s: links.email_change(s, "Abc-123_xyz"), "profile.confirm_email_change",
     {"email_token": "Abc-123_xyz"}),
    (lambda s: links.approvals_page(s), "approvals.index", {}),
    (lambda s: links.quote_page_for(s, "QT-000123", customer_id=1, can_sign_in=True),
     "quotes.detail", {"quote": "QT-000123"}),
    (lambda s: links.product_page(s, "brother-laser-printer"), "shop.product",
     {"slug": "brother-laser-printer"}),
    (lambda s: links.category_page(s, "paper"), "shop.category", {"slug": "paper"}),
    (lambda s: links.shop_page(s, "/sitemap.xml"), "seo.sitemap_index", {}),
    (lambda s: links.product_picture(s, "ab12.png"), "media", {"filename": "products/ab12.png"}),
]


@pytest.mark.parametrize("shop_url", ["http://localhost", "https://shop.example/store"])
@pytest.mark.parametrize("build, endpoint, values", SHOP_LINKS)
def test_each_shop_link_is_the_storefronts_own_address_for_that_page(
        settings, session_factory, shop_url, build, endpoint, values):
    from storefront import create_app
    shop_settings = dataclasses.replace(settings, SHOP_URL=shop_url)
    app = create_app(shop_settings, session_factory=session_factory)
    with app.test_request_context(base_url=shop_url):
        assert build(shop_settings) == url_for(endpoint, _external=True, **values)


@pytest.mark.parametrize("shop_url", ["http://localhost", "https://shop.example/store"])
def test_pay_links_are_the_storefronts_pay_pages_with_tokens_that_open_them(
        settings, session_factory, shop_url):
    from storefront import create_app
    shop_settings = dataclasses.replace(settings, SHOP_URL=shop_url)
    app = create_app(shop_settings, session_factory=session_factory)
    order_link = tokens.order_pay_link(shop_settings, 42)
    invoice_link = tokens.invoice_pay_link(shop_settings, 7)
    with app.test_request_context(base_url=shop_url):
        order_token = order_link.rsplit("/", 1)[1]
        invoice_token = invoice_link.rsplit("/", 1)[1]
        assert order_link == url_for("paylink.show", token=order_token, _external=True)
        assert invoice_link == url_for("paylink.invoice", token=invoice_token, _external=True)
    assert tokens.read_token(shop_settings.SECRET_KEY, order_token) == 42
    assert tokens.read_invoice_token(shop_settings.SECRET_KEY, invoice_token) == 7


@pytest.mark.parametrize("console_url", ["", "https://console.example"])
def test_the_sso_redirect_uri_is_the_consoles_own_callback(settings, session_factory,
                                                           console_url):
    from callcenter import create_app
    console_settings = dataclasses.replace(settings, SHOP_URL="https://shop.example",
                                           CONSOLE_URL=console_url)
    app = create_app(console_settings, session_factory=session_factory)
    base = console_url or "https://shop.example/agent"  # the default: mounted under /agent
    with app.test_request_context(base_url=base):
        assert links.sso_callback(console_settings) == url_for("sso.callback", _external=True)
        assert links.console(console_settings) == url_for("console.home", _external=True)


# -- H1: the reset link never comes from the request ------------------------------------------

def forgot(client, host: str | None = None, **kw):
    """Ask for the shopper's reset link; with `host`, as an attacker would: their own session
    and token, the victim's address, and a Host header of their choice."""
    token = csrf_token(client, "/account/forgot-password")
    if host:
        client.set_cookie("ml_shop", client.get_cookie("ml_shop").value, domain=host)
        kw.setdefault("headers", {})["Host"] = host
    return client.post("/account/forgot-password",
                       data={"email": "shopper@example.com", "csrf_token": token}, **kw)


def test_reset_mail_never_uses_the_request_host(client, smtp_sink):
    forgot(client, "evil.example")
    assert smtp_sink.messages == [] or all(
        "evil.example" not in text_of(m) for m in smtp_sink.messages)
    forgot(client)
    body = text_of(smtp_sink.wait_for("shopper@example.com"))
    assert "evil.example" not in body
    assert re.search(r"http://localhost/account/reset-password/[\w-]+", body)


def test_a_reset_asked_on_another_allowed_host_still_links_to_shop_url(client, smtp_sink):
    # 127.0.0.1 is an allowed host in development, but not the shop's address (SHOP_URL is
    # http://localhost in the tests): the link must not follow the request.
    forgot(client, "127.0.0.1")
    body = text_of(smtp_sink.wait_for("shopper@example.com"))
    assert "127.0.0.1" not in body
    assert re.search(r"http://localhost/account/reset-password/[\w-]+", body)


def test_a_request_for_another_host_gets_a_400_page_and_sends_nothing(client, smtp_sink):
    response = forgot(client, "evil.example")
    assert response.status_code == 400
    assert "Unknown address" in response.get_data(as_text=True)
    assert client.get("/", base_url="http://evil.example").status_code == 400
    assert smtp_sink.messages == []


def test_an_allowed_host_on_any_port_is_served(client):
    assert client.get("/", base_url="http://127.0.0.1:5001").status_code == 200
    assert client.get("/").status_code == 200  # localhost


@pytest.fixture
def proxied_shop(settings, session_factory):
    """The storefront behind one trusted proxy (TRUSTED_PROXIES=1), as many sites run it."""
    def build(**changes):
        from core.tasks import configure_celery, context
        from storefront import create_app
        mail = context().settings  # smtp_sink's, which the app would replace
        app = create_app(dataclasses.replace(settings, TRUSTED_PROXIES=1, **changes),
                         session_factory=session_factory)
        configure_celery(mail)
        app.config.update(TESTING=True)
        return app.test_client()
    return build


def test_reset_mail_ignores_a_forwarded_host_behind_a_trusted_proxy(proxied_shop, smtp_sink):
    client = proxied_shop()
    response = forgot(client, headers={"X-Forwarded-Host": "evil.example"})
    assert response.status_code == 200
    body = text_of(smtp_sink.wait_for("shopper@example.com"))
    assert "evil.example" not in body
    assert "http://localhost/account/reset-password/" in body


def test_a_forwarded_host_is_taken_only_when_the_proxy_is_said_to_set_it(proxied_shop):
    ignored = proxied_shop()
    assert ignored.get("/", headers={"X-Forwarded-Host": "evil.example"}).status_code == 200
    taken = proxied_shop(PROXY_FORWARDS_HOST=1)
    assert taken.get("/", headers={"X-Forwarded-Host": "evil.example"}).status_code == 400
    assert taken.get("/", headers={"X-Forwarded-Host": "localhost"}).status_code == 200


def test_production_answers_only_its_own_host(settings, session_factory):
    from storefront import create_app
    app = create_app(dataclasses.replace(settings, MARKETLINE_ENV="production",
                                         SHOP_URL="https://shop.example"),
                     session_factory=session_factory)
    client = app.test_client()
    assert client.get("/", base_url="https://shop.example").status_code == 200
    assert client.get("/", base_url="https://localhost").status_code == 400
    assert client.get("/", base_url="https://127.0.0.1").status_code == 400


# -- L2: links the console e-mails point at the shop, whatever the console's own host --------

@pytest.fixture
def console_elsewhere(console_app):
    """The console answering on a host of its own (127.0.0.1:8000, allowed in development),
    while the shop is SHOP_URL (http://localhost)."""
    console_app.config["SERVER_NAME"] = "127.0.0.1:8000"  # the test client's default host
    return console_app


def assert_shop_links(message):
    found = links_in(message)
    assert found, text_of(message)
    assert all(urlsplit(link).netloc == "localhost" for link in found
               if "127.0.0.1" in link or "localhost" in link), found
    assert not any("127.0.0.1:8000" in link for link in found), found


def test_a_pay_link_sent_from_the_console_points_at_the_shop(console_elsewhere, db, smtp_sink):
    from tests.web.test_order_entry import add, number_of
    from tests.web.test_order_entry import place as place_by_phone
    agent = agent_client_for(console_elsewhere, "agent@marketline.example")
    number = number_of(db, "shopper")
    add(agent, number, "PAP-A4-80")
    assert place_by_phone(agent, number, "pay_link").status_code in (302, 303)
    message = smtp_sink.wait_for("shopper@example.com")
    assert_shop_links(message)
    assert re.search(r"http://localhost/pay/\d+\.\d+\.[\w-]+", text_of(message))


def test_a_confirmation_sent_again_from_the_console_links_to_the_shop(console_elsewhere, db,
                                                                       smtp_sink):
    order = place(db, [(vid(db, "PAP-A4-80"), 1)], key="l2-confirmation")
    db.commit()
    agent = agent_client_for(console_elsewhere, "agent@marketline.example")
    token = csrf_token(agent, f"/orders/{order.number}")
    response = agent.post(f"/orders/{order.number}/confirmation",
                          data={"resend-csrf_token": token, "csrf_token": token})
    assert response.status_code in (302, 303)
    message = smtp_sink.wait_for(order.email)
    assert_shop_links(message)
    assert "http://localhost/orders/lookup" in text_of(message)


def test_a_shipment_mail_from_the_console_links_to_the_shop(console_elsewhere, db, smtp_sink):
    order = released(db, [(vid(db, "PAP-A4-80"), 2)], key="l2-shipment")
    db.commit()
    warehouse = agent_client_for(console_elsewhere, "warehouse@marketline.example")
    token = csrf_token(warehouse, f"/fulfilment/orders/{order.number}")
    response = warehouse.post(f"/fulfilment/orders/{order.number}/ship", data={
        f"qty-{order.lines[0].id}": "2", "carrier": "dhl", "tracking_number": "JJD 0001 2345",
        "csrf_token": token})
    assert response.status_code == 303, response.get_data(as_text=True)
    message = smtp_sink.wait_for(order.email)
    assert_shop_links(message)
    assert "http://localhost/orders/lookup" in text_of(message)


def test_one_rule_says_where_an_e_mail_sends_a_buyer_to_see_an_order(db, settings):
    """Guests to the look-up, customers who can sign in to their account, and customers
    without a login (phone customers) nowhere: the look-up finds guest orders only. The
    confirmation, shipment and invoice e-mails all use it."""
    from core.customers import queries as customers
    from core.customers.models import Customer
    from tests.factories import CustomerFactory
    phone_only = CustomerFactory(name="Paula Phone")
    shopper = db.scalar(select(Customer).where(Customer.email == "shopper@example.com"))
    db.flush()

    def where(customer_id):
        return links.order_page_for(settings, "SO-000123", customer_id=customer_id,
                                    can_sign_in=customers.can_sign_in(db, customer_id))
    assert where(None) == "http://localhost/orders/lookup"
    assert where(shopper.id) == "http://localhost/account/orders/SO-000123"
    assert where(phone_only.id) is None
    assert links.invoice_page_for(settings, "INV-000042", customer_id=None, can_sign_in=False,
                                  guest_order=False) is None  # a free-text invoice to nobody
