"""Pay an invoice by link: a shipment whose card charge failed e-mails /pay/invoice/<token>;
the customer opens it and pays by card (through a real localstripe and a real SMTP sink)."""
import dataclasses
import re
from decimal import Decimal

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from core.audit import Actor
from core.billing.models import Invoice
from core.fulfilment import services as fulfilment
from core.payments import links
from core.payments.capture import collect_invoice
from core.payments.gateway import StripeGateway
from core.payments.models import PaymentAttempt
from core.tasks import configure_celery
from core.workflows.card_payments import authorise_order
from tests.conftest import csrf_token
from tests.factories import StockLevelFactory, VariantFactory
from tests.unit.test_orders import place
from tests.web.conftest import Sink, free_port, text_of

WAREHOUSE = Actor("agent", 7, "wanda@marketline.example")


@pytest.fixture
def stripe_settings(settings, localstripe):
    return dataclasses.replace(settings, STRIPE_API_BASE=localstripe,
                               SHOP_URL="http://shop.example")


@pytest.fixture
def sink(stripe_settings, shop):
    """Mail lands here; background work signs links with the app's own settings (set up
    after the app, whose factory configures Celery too)."""
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    configure_celery(dataclasses.replace(stripe_settings, SMTP_URL=f"smtp://127.0.0.1:{port}"))
    yield sink
    controller.stop()
    configure_celery(stripe_settings)


@pytest.fixture
def shop(stripe_settings, session_factory):
    from storefront import create_app
    app = create_app(stripe_settings, session_factory=session_factory)
    app.config.update(TESTING=True)
    return app.test_client()


@pytest.fixture
def gateway(stripe_settings):
    return StripeGateway(stripe_settings)


def new_card(gateway, number="4242424242424242") -> str:
    return gateway.client.v1.payment_methods.create({"type": "card", "card": {
        "number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"}}).id


def failed_second_shipment(db, gateway) -> Invoice:
    """A card order shipped in two parts; the saved card declines the second charge."""
    variant = VariantFactory(price=Decimal("20.00"))
    StockLevelFactory(variant=variant, on_hand=10)
    order = place(db, [(variant.id, 4)], key="paylink-invoice")
    db.commit()
    assert authorise_order(db, gateway, order.id, payment_method=new_card(gateway),
                           actor=WAREHOUSE, commit=db.commit).status == "authorised"
    fulfilment.release_order(db, order, actor=WAREHOUSE)
    first = fulfilment.ship_and_invoice(db, order, {order.lines[0].id: 2}, carrier="own",
                                        tracking_number="", actor=WAREHOUSE).invoice
    db.commit()
    assert collect_invoice(db, gateway, first.id, actor=WAREHOUSE,
                           commit=db.commit).status == "captured"
    attempt = db.scalar(select(PaymentAttempt).where(PaymentAttempt.order_id == order.id))
    blocked = new_card(gateway, "4000000000000341")
    gateway.attach(blocked, attempt.stripe_customer_id)
    attempt.payment_method_id = blocked
    second = fulfilment.ship_and_invoice(db, order, {order.lines[0].id: 2}, carrier="own",
                                         tracking_number="", actor=WAREHOUSE).invoice
    db.commit()
    assert collect_invoice(db, gateway, second.id, actor=WAREHOUSE,
                           commit=db.commit).status == "failed"
    return second


def test_a_failed_shipment_charge_emails_a_link_that_pays_the_invoice(db, gateway, sink, shop):
    invoice = failed_second_shipment(db, gateway)
    message = sink.wait_for(invoice.email, subject="by card")
    assert invoice.number in message["Subject"]
    link = re.search(r"http://shop\.example(/pay/invoice/\S+)", text_of(message)).group(1)

    page = shop.get(link)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"Pay invoice {invoice.number}" in html and 'id="checkout-form"' in html
    # The card form asks for its SetupIntent once used, not on every view of the page (M3).
    assert f'data-setup-url="{link}/card-setup"' in html and "seti_" not in html
    setup = shop.post(f"{link}/card-setup", headers={"X-CSRFToken": csrf_token(shop, link),
                                                    "Accept": "application/json"})
    assert setup.status_code == 200 and setup.json["client_secret"].startswith("seti_")

    answer = shop.post(link, data={"csrf_token": csrf_token(shop, link),
                                   "payment_method": new_card(gateway)})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.json["status"] == "confirmed"
    db.refresh(invoice)
    assert invoice.amount_open == 0 and invoice.status == "paid"
    thanks = shop.get(answer.json["redirect"]).get_data(as_text=True)
    assert f"Invoice {invoice.number} is paid" in thanks and "checkout-form" not in thanks


def test_a_declined_card_on_the_invoice_page_answers_with_the_message(db, gateway, sink, shop,
                                                                      stripe_settings):
    invoice = failed_second_shipment(db, gateway)
    link = f"/pay/invoice/{links.make_invoice_token(stripe_settings.SECRET_KEY, invoice.id)}"
    answer = shop.post(link, data={"csrf_token": csrf_token(shop, link),
                                   "payment_method": new_card(gateway, "4000000000000341")})
    assert answer.status_code == 402 and "declined" in answer.json["message"]
    db.refresh(invoice)
    assert invoice.amount_open == invoice.gross_total


def test_an_order_token_does_not_open_an_invoice_and_the_reverse(db, gateway, shop,
                                                                 stripe_settings):
    invoice = failed_second_shipment(db, gateway)
    secret = stripe_settings.SECRET_KEY
    as_order = shop.get(f"/pay/invoice/{links.make_token(secret, invoice.id)}")
    assert as_order.status_code == 404
    assert "cannot be used" in as_order.get_data(as_text=True)
    as_invoice = shop.get(f"/pay/{links.make_invoice_token(secret, invoice.order_id)}")
    assert as_invoice.status_code == 404
    forged = shop.get(f"/pay/invoice/{links.make_invoice_token('another-secret', invoice.id)}")
    assert forged.status_code == 404


def test_a_payment_without_card_details_is_refused(db, gateway, shop, stripe_settings):
    invoice = failed_second_shipment(db, gateway)
    link = f"/pay/invoice/{links.make_invoice_token(stripe_settings.SECRET_KEY, invoice.id)}"
    answer = shop.post(link, data={"csrf_token": csrf_token(shop, link)})
    assert answer.status_code == 422 and answer.json["errors"]["card"]


def test_renewal_runs_hourly_and_from_the_command_line(stripe_settings, session_factory, db,
                                                      gateway):
    from core.tasks import celery_app
    from storefront import create_app
    schedule = {e["task"]: e["schedule"] for e in celery_app.conf.beat_schedule.values()}
    assert schedule["marketline.renew_card_authorisations"] == 3600.0
    assert "marketline.renew_card_authorisations" in celery_app.tasks
    app = create_app(stripe_settings, session_factory=session_factory)
    result = app.test_cli_runner().invoke(args=["renew-authorisations"])
    assert result.exit_code == 0, result.output
    assert "renewed" in result.output and "refunds resumed" in result.output
