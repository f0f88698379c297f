"""Transport and the payment path: verified SMTP TLS, a Stripe client that gives up in
seconds, decline messages without Stripe's ids, SQL errors without their parameters."""
import socket
import ssl
import time
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from core import mail
from core.audit import Actor
from core.config import load_settings
from core.db import make_engine
from core.payments.gateway import (CARD_NOT_USABLE, GatewayUnavailable, PaymentDeclined,
                                   StripeGateway, shopper_message)
from core.workflows.card_payments import authorise_order
from tests.factories import CustomerFactory, StockLevelFactory, VariantFactory
from tests.unit.test_orders import place

ACTOR = Actor.system("test")
STRIPE_IDS = ("cus_", "pm_", "pi_", "seti_")


# -- M10: SMTP over TLS verifies the server's certificate ------------------------------------

class RecordingSMTP:
    """Stands in for smtplib.SMTP / SMTP_SSL: remembers the TLS context it was given."""

    made: list["RecordingSMTP"] = []

    def __init__(self, host, port, timeout=None, context=None):
        self.host, self.port, self.context, self.tls_context = host, port, context, None
        self.sent = []
        RecordingSMTP.made.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self, context=None):
        self.tls_context = context

    def login(self, user, password):
        pass

    def send_message(self, message):
        self.sent.append(message)


@pytest.fixture
def smtp(monkeypatch):
    RecordingSMTP.made = []
    monkeypatch.setattr(mail.smtplib, "SMTP", RecordingSMTP)
    monkeypatch.setattr(mail.smtplib, "SMTP_SSL", RecordingSMTP)
    return RecordingSMTP.made


def verifying(context) -> bool:
    return (isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_REQUIRED
            and context.check_hostname)


def message():
    return mail.build_message(sender="a@example.com", to="b@example.com", subject="s",
                              text="t", html=None)


def test_starttls_verifies_the_relays_certificate(smtp):
    mail.deliver(message(), "smtp+starttls://user:pw@relay.example:587")
    assert verifying(smtp[0].tls_context)
    assert smtp[0].sent


def test_smtps_verifies_the_relays_certificate(smtp):
    mail.deliver(message(), "smtps://relay.example")
    assert (smtp[0].host, smtp[0].port) == ("relay.example", 465)
    assert verifying(smtp[0].context)


def test_plain_smtp_on_a_trusted_network_still_works(smtp):
    mail.deliver(message(), "smtp://127.0.0.1:25")
    assert smtp[0].tls_context is None and smtp[0].sent


# -- M11: Stripe calls give up in seconds ----------------------------------------------------

def test_the_stripe_client_is_built_with_short_timeouts_and_bounded_retries():
    gateway = StripeGateway(load_settings(environ={}, STRIPE_TIMEOUT_SECONDS=7,
                                          STRIPE_MAX_RETRIES=1))
    requestor = gateway.client._requestor
    assert requestor._client._timeout == (3, 7)  # (connect, read) seconds
    assert requestor._options.max_network_retries == 1
    default = StripeGateway(load_settings(environ={})).client._requestor
    assert default._client._timeout == (3, 10)
    assert default._options.max_network_retries == 1


def test_a_stripe_that_never_answers_costs_seconds_not_minutes():
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        gateway = StripeGateway(load_settings(environ={}, STRIPE_API_BASE=f"http://127.0.0.1:{port}",
                                              STRIPE_TIMEOUT_SECONDS=1, STRIPE_MAX_RETRIES=0))
        started = time.monotonic()
        with pytest.raises(GatewayUnavailable):
            gateway.setup_intent()
        assert time.monotonic() - started < 5


# -- L7: decline messages name no Stripe ids; a bad card is a card problem --------------------

@pytest.fixture
def gateway(localstripe):
    return StripeGateway(load_settings(environ={}, STRIPE_API_BASE=localstripe))


@pytest.fixture
def customers_made(gateway, monkeypatch):
    """The Stripe Customers created during the test."""
    made = []
    create = gateway.client.v1.customers.create

    def counting(*args, **kwargs):
        customer = create(*args, **kwargs)
        made.append(customer.id)
        return customer

    monkeypatch.setattr(gateway.client.v1.customers, "create", counting)
    return made


def registered_order(db, gateway, key):
    """An order awaiting card payment by a customer whose card Stripe already keeps."""
    customer = CustomerFactory()
    customer.stripe_customer_id = gateway.ensure_customer(customer.email, customer.name)
    variant = VariantFactory(price=Decimal("12.00"))
    StockLevelFactory(variant=variant, on_hand=5)
    order = place(db, [(variant.id, 1)], key=key)
    order.customer_id = customer.id
    db.commit()
    return order, customer


def test_a_payment_method_stripe_does_not_know_is_a_card_problem_not_a_lost_customer(
        db, gateway, customers_made):
    order, customer = registered_order(db, gateway, "l7-missing-pm")
    kept = customer.stripe_customer_id
    customers_made.clear()
    outcome = authorise_order(db, gateway, order.id, payment_method="pm_1NoSuchCardAtAll",
                              actor=ACTOR, commit=db.commit)
    assert outcome.status == "declined"
    assert outcome.message == CARD_NOT_USABLE
    assert not any(marker in outcome.message for marker in STRIPE_IDS)
    assert customers_made == []  # no fresh Stripe Customer for a bad card
    db.refresh(customer)
    assert customer.stripe_customer_id == kept


def test_a_malformed_payment_method_is_refused_before_stripe_is_asked(gateway, customers_made):
    with pytest.raises(PaymentDeclined) as refused:
        gateway.save_card("'; drop table", email="a@example.com", name="A", existing=None,
                          key="l7-malformed")
    assert str(refused.value) == CARD_NOT_USABLE
    assert customers_made == []


def test_a_customer_stripe_no_longer_knows_is_still_replaced(gateway):
    card = gateway.client.v1.payment_methods.create({"type": "card", "card": {
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}).id
    customer = gateway.save_card(card, email="a@example.com", name="A",
                                 existing="cus_deleted_long_ago", key="l7-replaced")
    assert customer.startswith("cus_") and customer != "cus_deleted_long_ago"


@pytest.mark.parametrize("raw", ["No such PaymentMethod: 'pm_1OabcDEF123'",
                                 "No such customer: 'cus_Nf8aBcDeFg'",
                                 "This PaymentIntent (pi_3Oxyzxyz12) was canceled",
                                 "SetupIntent seti_1Oabcdefgh failed"])
def test_stripe_messages_that_name_ids_are_replaced(raw):
    assert shopper_message(raw) == "The card was declined."


def test_stripe_messages_without_ids_are_kept():
    assert shopper_message("Your card has insufficient funds.") == \
        "Your card has insufficient funds."


# -- L6: SQL errors do not carry their parameters into logs -----------------------------------

def test_sql_errors_hide_their_bound_parameters():
    engine = make_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(text("create table t (id integer primary key, email text)"))
        conn.execute(text("insert into t values (1, 'a@example.com')"))
    with pytest.raises(IntegrityError) as failed, engine.begin() as conn:
        conn.execute(text("insert into t values (:id, :email)"),
                     {"id": 1, "email": "secret.person@example.com"})
    assert "secret.person@example.com" not in str(failed.value)
    engine.dispose()
