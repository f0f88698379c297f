"""Bad input is never a 500, and what must be refused writes nothing (review L1, L11).

This module is the policy (which values, which must be refused, which real data); the
machinery that reads pages and views and sends the requests is tests/sweep.py.

The sweep
---------
Every route of both apps is read from their ``url_map`` (so routes that other branches add
are swept too), once per method. For each one the sweep

1. fills its URL variables with **real demo values** (an order and an invoice the signed-in
   buyer owns, a product slug, a cart line, a pay-link token...: ``Scene``), so the view
   gets past its 404 and parses its fields; and sends every value of ``URL_VALUES`` in each
   URL variable, and mutations of the real one (``SO-²``, a token ending in ``é``);
2. finds the **fields** the route reads, from three sources merged by name:

   * the rendered pages. A crawl (module fixture, rolled back) opens every GET page of both
     apps with each fitting real value, as the Acme admin in the shop and as an admin
     agent in the console, and the pages their links and GET forms lead to. Every
     ``<form>``, link, ``hx-get``/``hx-post`` (and ``data-url``) names its target route; a
     form's ``<input>``/``<select>``/``<textarea>`` give the names the browser sends
     (prefixes and ids included: ``writeoff-amount``, ``qty-12``, ``alloc-7``), a **valid
     baseline value** for each (``FILL`` when the page leaves a needed one empty),
     ``type=number``/``inputmode`` and ``maxlength``. The crawl only records *which pages*
     carry a route's form; each test renders those pages again in its own data, so ids fit;
   * the WTForms classes the view, or a helper of our packages it calls, builds from the
     request (forms built with ``formdata=None`` or ``data=`` are for showing): field kinds
     (integer, decimal, amount, date) and ``Length`` limits, and fields no page shows;
   * the request names in the source of the view and its helpers:
     ``request.args/form/values/headers.get("name")``, helpers called with the name
     (``page_arg("page")``) and what ``request.args`` is handed to (``Filters.parse``);

3. sends, **one field at a time**, each value of ``hostile_values(field)`` while every other
   field keeps its baseline, so the view gets as deep as the one bad value lets it: GET,
   or POST with a valid CSRF token (``X-CSRFToken`` too, for the JSON endpoints) and
   ``HX-Request`` when the page's form is an htmx one. Every request comes from its own
   client address, so throttles never hide the code behind them. Card payments go to
   ``FakeGateway`` (a decline, no network); e-mail is dropped.

The rules it checks
-------------------
* **No answer is 5xx.** With ``TESTING`` the app re-raises, so a failure names the
  exception: ``writeoff-amount='1e30' -> InvalidOperation: ...`` under the test id.
* **Nothing is written for a value that must be refused**: any hostile URL variable; a NUL
  byte anywhere; in a field the view reads as a number (WTForms integer, decimal, amount or
  date field, ``type=number``, ``inputmode=numeric|decimal``) each of ``NOT_A_NUMBER``
  (huge, tiny, NaN, sNaN, Infinity, ``²``, hex); in a field the view reads with a length
  limit below 10,000, the 10,000-character value. "Written" is a change of the database
  fingerprint (row count and content of every table but ``BOOKKEEPING_TABLES``) or of
  what the session cookie keeps (``VOLATILE_SESSION_KEYS`` aside).
* Everything else may be **accepted** (a note in Japanese, a name with an apostrophe, a
  search for ``" NEAR``, ``-1`` as a priority): no 5xx, and the page carrying the form
  still renders afterwards, so what was kept cannot break it (a phone override of
  ``1e30`` kept in the agent's cookie used to).

Rerunning and extending
-----------------------
``pytest tests/web/test_hostile_input.py -q``; ``-k billing`` for one area;
``--db=postgresql`` with TEST_DATABASE_URL for PostgreSQL, where overflows fail
differently. A test id is ``<method> <path rule>`` (console paths under ``/agent``); a
failure lists ``field=value -> what happened`` for each problem.

A new route is swept with no change here. If its URL has a variable of a new name,
``test_every_url_variable_has_a_real_value`` says so: give ``Scene`` a method of that name
(and ``CANDIDATES`` an entry if the name is ambiguous). Data a page needs beyond its URL
goes into ``STATE``. A table that counts requests (a throttle) goes into
``BOOKKEEPING_TABLES``. ``test_the_sweep_reaches_the_fields_of_known_forms`` fails if the
sweep stops finding forms (a changed sign-in, say), so it cannot pass by testing nothing.
"""
from __future__ import annotations

import sys

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

import callcenter
import storefront
from core import clock
from core.config import load_settings
from tests import sweep as machinery
from tests.sweep import SweepField, Target, digit_mutations

# --- hostile values -----------------------------------------------------------------------

LONG = "x" * 10_000
NUL = "a\x00b"
# Not a sensible number anywhere: a field read as a number must refuse each of them.
NOT_A_NUMBER = ["1e30", "-1e30", "99999999999999999999", "9" * 5000, "1e-30", "NaN", "sNaN",
                "Infinity", "²", "0x1F"]
# What a number field may take, or refuse with a message.
NUMERIC_ODD = ["", "-1", "0", "١٢", "Ünïcødé"]
# Text that any text field may accept (or refuse with a message): non-ASCII, SQL and FTS
# syntax, LIKE wildcards, a path, a spreadsheet formula, a leading tab, Arabic digits.
ODD_TEXT = ["", "Ünïcødé ✓ 日本語 ﷽ 👍", "O'Brien\"; DROP TABLE orders; --",
            '"paper" NEAR(a b) OR c* ^ -"', "%_\\%", "../../../etc/passwd", "=cmd|'/C calc'!A0",
            "\tleading tab", "١٢٣", "-1"]
# Text whose handling is the app's alone, the same on every database: sent in the SQLite run
# only (the PostgreSQL run keeps what a database may read differently: numbers, lengths, NUL,
# non-ASCII, quotes, LIKE and full-text syntax). CI must stay under thirty minutes.
APP_LEVEL_TEXT = ["../../../etc/passwd", "=cmd|'/C calc'!A0", "\tleading tab", "١٢٣", "-1"]
BACKEND = {"name": "sqlite"}  # set by _backend below
# What a text field gets of the numbers (it may read one out of text: ids, keys, codes).
NUMBERS_FOR_TEXT = ["1e30", "99999999999999999999", "²", "sNaN"]
# In a URL variable every one of these must be refused.
URL_VALUES = ["²", "99999999999999999999", "9" * 5000, "-1", "0", "1e30", "NaN", "\x00",
              "é", "..", "../../etc/passwd", "%_%", "' OR 1=1 --", LONG]

# Tables that record requests rather than what they ask for: a refusal may write them.
BOOKKEEPING_TABLES = {"rate_counters", "login_sessions"}
# Session keys that change without anything being accepted.
VOLATILE_SESSION_KEYS = {"_flashes", "csrf_token", "_fresh", "_id", "_user_id", "_permanent"}

# The shop's sweep signs in as Acme's admin, who sees every document of the company (a buyer
# sees only what they placed, core.customers.roles) and reaches the Company page; the
# console's as an admin agent.
BUYER = "admin@acme.example"
SECRET_KEY = "test-secret-key"  # as tests/conftest.py's settings


# --- which values each field gets, and which it must refuse ---------------------------------

# A baseline for an empty field the form needs, by the last part of its name.
FILL = {"email": "sweep@example.com", "password": "Sweep-pass-123", "confirm": "Sweep-pass-123",
        "sku": "PAP-A4-80", "add_sku": "", "quantity": "1", "amount": "1.00",
        "unit_price": "1.00", "reference": "SWEEP-1", "reason": "Sweep", "note": "Sweep note",
        "text": "Sweep note", "full_name": "Sam Sweep", "name": "Sweep", "line1": "Hafenstraße 1",
        "city": "Hamburg", "postal_code": "20457", "code": "SWEEP", "tracking_number": "TRACK-1",
        "payment_method": "pm_card_visa", "description": "Sweep", "value": "5",
        "min_quantity": "1", "number": "SO-000001", "invoice": "INV-000001", "q": "paper"}


def hostile_values(f: SweepField) -> list[tuple[str, bool]]:
    """(value, must it be refused) for one field."""
    long_refused = f.read and f.maxlength is not None and f.maxlength < len(LONG)
    if f.header:
        return [(v, False) for v in ("", LONG, "t=1,v1=²", "t=99999999999999999999,v1=x",
                                     "Ünïcødé", "\x00")]
    if f.body:
        return [(v, False) for v in ("", LONG, "{", '{"id": 1e30, "type": "²"}', "\x00",
                                     "Ünïcødé")]
    if f.file:
        return [(v, False) for v in (LONG, NUL, "1e30", ODD_TEXT[2], "\ufeffsku;name\n²;x\n")]
    if f.numeric:
        values = [(v, f.read) for v in NOT_A_NUMBER] + [(v, False) for v in NUMERIC_ODD]
    else:
        odd = ODD_TEXT if BACKEND["name"] != "postgresql" else [
            v for v in ODD_TEXT if v not in APP_LEVEL_TEXT]
        values = [(v, False) for v in odd + NUMBERS_FOR_TEXT]
        for base in (f.baseline or [])[:1]:
            values += [(v, False) for v in digit_mutations(base)]
    return values + [(NUL, True), (LONG, long_refused)]


# --- the routes, and who sends to them -------------------------------------------------------

def _collection_apps():
    settings = load_settings(environ={}, DATABASE_URL="sqlite://", SECRET_KEY=SECRET_KEY,
                             SMTP_URL="", LISTING_CACHE_SECONDS=0, REFERENCE_CACHE_SECONDS=0)
    return {"shop": storefront.create_app(settings), "console": callcenter.create_app(settings)}


TARGETS: list[Target] = machinery.all_targets(_collection_apps())


def admin_agent_id(db) -> int:
    from core.agents.models import Agent
    from tests.factories import AgentFactory
    found = db.scalar(select(Agent.id).where(Agent.email == "sweep-admin@test.example"))
    if found is None:
        found = AgentFactory(email="sweep-admin@test.example", roles_text="admin").id
        db.commit()
    return found


def buyer_id(db) -> int:
    from core.customers.models import CustomerUser
    return db.scalar(select(CustomerUser.id).where(CustomerUser.email == BUYER))


def sweep_settings(database_url: str):
    # Rate limits off: a 429 would stop the sweep short of the fields behind it.
    return load_settings(environ={}, DATABASE_URL=database_url, SECRET_KEY=SECRET_KEY,
                         SMTP_URL="", LISTING_CACHE_SECONDS=0, REFERENCE_CACHE_SECONDS=0,
                         RATE_LIMIT_PAYMENTS_PER_HOUR=0, RATE_LIMIT_CODES_PER_MINUTE=0,
                         RATE_LIMIT_ACCOUNT_MAILS_PER_HOUR=0)


def signed_in_clients(apps, db, session_factory) -> dict:
    return {"shop": machinery.signed_in(apps["shop"], "customer", buyer_id(db), session_factory),
            "console": machinery.signed_in(apps["console"], "agent", admin_agent_id(db),
                                           session_factory)}


# --- real values: the scene -------------------------------------------------------------------

# Real data some pages need besides the values in their URL, by the start of the path of
# the target or of a page carrying its form: the checkout needs a cart, the phone order
# entry a line being entered.
STATE = {"/checkout": ("cart_line",), "/cart": ("cart_line",),
         "/order-entry/new": ("entry_line",)}

# URL variables whose name alone does not say what they are: the scene keys to try, in order.
# Any other variable is looked up under its own name.
CANDIDATES = {
    "number": ["order", "released_order", "shipped_order", "invoice", "credit_note", "customer",
               "credit_customer", "rma_to_receive", "rma"],
    "customer": ["customer"],
    "token": ["pay_token", "invoice_token", "reset_token"],
    "slug": ["category", "product"],
    "line_id": ["cart_line", "entry_line"],
    "rma": ["rma", "rma_to_receive"],
    "quote": ["quote", "quote_draft"],
}


class Scene:
    """Real values for URL variables and baselines, made on first use in the test's data.

    Each value is a method named after its key; the shop client is signed in as the Acme
    admin (who sees the company's demo orders and invoices), the console client as an admin
    agent.
    """

    def __init__(self, db, console):
        self.db, self.console = db, console
        self._values: dict[str, str] = {}

    def __getitem__(self, key: str) -> str:
        if key not in self._values:
            make = getattr(self, key, None)
            if make is None or key.startswith("_"):
                raise KeyError(key)
            self._values[key] = str(make())
            self.db.commit()
        return self._values[key]

    def candidates(self, name: str) -> list[str]:
        """The keys of the real values a URL variable of this name may take, in order."""
        return CANDIDATES.get(name, [name])

    def knows(self, key: str) -> bool:
        return callable(getattr(self, key, None)) and not key.startswith("_")

    def known_values(self) -> dict[str, str]:
        return dict(self._values)

    # -- helpers
    def _one(self, stmt):
        found = self.db.scalar(stmt)
        assert found is not None, f"the demo data has no {stmt}"
        return found

    def _acme(self):
        from core.customers.models import Customer
        return self._one(select(Customer).where(Customer.name == "Acme Corp"))

    def _acme_order(self, po: str):
        from core.orders.models import Order
        return self._one(select(Order).where(Order.po_number == po))

    # -- values
    def order(self):  # confirmed, not yet released: every order action applies
        return self._acme_order("PO-7781").number

    def released_order(self):  # in fulfilment: the warehouse can ship it
        return self._acme_order("PO-7779").number

    def shipped_order(self):  # partly shipped, with a shipment to mark delivered
        return self._acme_order("PO-7770").number

    def invoice(self):  # open, not due
        from core.billing.models import Invoice
        order = self._acme_order("PO-7752")
        return self._one(select(Invoice.number).where(Invoice.order_id == order.id))

    def credit_note(self):
        from core.billing.models import Invoice
        return self._one(select(Invoice.number).where(Invoice.number.like("CN-%"))
                         .order_by(Invoice.id))

    def customer(self):
        return self._acme().number

    def credit_customer(self):  # Birch & Co: customer credit (an overpayment, a credit note)
        from core.customers.models import Customer
        return self._one(select(Customer.number).where(Customer.name.like("Birch%")))

    def category(self):
        return "paper"

    def sitemap_file(self):  # /sitemap-products-<n>.xml: the first file of products
        return 1

    def product(self):
        from core.catalog.models import Product
        return self._one(select(Product.slug).where(Product.id == int(self["product_id"])))

    def product_id(self):
        from core.catalog.models import Variant
        return self._one(select(Variant.product_id).where(Variant.sku == "PAP-A4-80"))

    def variant_id(self):
        from core.catalog.models import Variant
        return self._one(select(Variant.id).where(Variant.sku == "PAP-A4-80"))

    def entry_id(self):
        from core.pricing.models import PriceListEntry
        return self._one(select(PriceListEntry.id)
                         .where(PriceListEntry.variant_id == int(self["variant_id"]))
                         .order_by(PriceListEntry.id))

    def list_id(self):
        from core.pricing.models import PriceList
        return self._one(select(PriceList.id).where(PriceList.code == "retail-eur"))

    def channel_id(self):
        from core.catalog.models import Channel
        return self._one(select(Channel.id).where(Channel.code == "web-b2c"))

    def rule_id(self):
        from core.catalog.models import AssortmentRule
        return self._one(select(AssortmentRule.id).order_by(AssortmentRule.id))

    def promotion_id(self):
        from core.pricing.models import Promotion
        return self._one(select(Promotion.id).order_by(Promotion.id))

    def request_id(self):  # billing's request to credit an invoice, awaiting approval
        from core.billing.models import CreditNoteRequest
        return self._one(select(CreditNoteRequest.id).where(CreditNoteRequest.status == "requested")
                         .order_by(CreditNoteRequest.id))

    def card_id(self):
        from core.billing.models import GiftCard
        return self._one(select(GiftCard.id).order_by(GiftCard.id))

    def sale_id(self):  # billing sells a gift card out of a cheque it recorded: it waits
        from decimal import Decimal

        from core.agents.models import Agent
        from core.agents.services import actor_for
        from core.billing import giftcard_requests, receivables
        from core.customers.models import Customer
        billing = actor_for(self._one(select(Agent).where(
            Agent.email == "billing@marketline.example")))
        # The gift card buyer's, not a customer whose pages other routes are found on.
        gabi = self._one(select(Customer).where(Customer.email == "gabi@example.com"))
        payment = receivables.record_payment(
            self.db, customer_id=gabi.id, method="cheque", amount=Decimal("50.00"),
            currency="EUR", received_on=clock.today(), reference="CHQ sweep", actor=billing)
        return giftcard_requests.ask(self.db, amount=Decimal("20.00"), payment=payment,
                                     actor=billing, key="hostile-sweep-sale").id

    def shipment_id(self):
        from core.fulfilment.models import Shipment
        order = self._acme_order("PO-7770")
        return self._one(select(Shipment.id).where(Shipment.order_id == order.id))

    def hold_id(self):
        from core import audit
        from core.orders import holds
        hold = holds.place_hold(self.db, self._acme_order("PO-7781"), kind="manual",
                                reason_code=next(iter(holds.REASON_CODES["manual"])),
                                note="hostile sweep", actor=audit.Actor.system("sweep"))
        self.db.flush()
        return hold.id

    def _return(self, po: str, sku: str, quantity: int, key: str) -> str:
        from core import audit
        from core.config import load_settings
        from core.returns import services as returns
        order = self._acme_order(po)
        line = next(l for l in order.lines if l.sku == sku)
        return returns.request_return(
            self.db, order, returns.Request([returns.RequestLine(line.id, quantity, "defective")]),
            actor=audit.Actor.system("sweep"), channel="phone", key=key,
            settings=load_settings(environ={}, DATABASE_URL="sqlite://",
                                   SECRET_KEY=SECRET_KEY)).number

    def rma(self):  # requested, above the auto-approval limit: an agent decides it
        return self._return("PO-7752", "BEAN-LAV-CRE-1", 6, "hostile-sweep-rma")

    def rma_to_receive(self):  # approved by the policy, its label sent: the goods are due
        return self._return("PO-7770", "PAP-A4-80", 1, "hostile-sweep-rma-receive")

    def cart_line(self):
        from core.catalog.models import Variant
        from core.orders import cart as carts
        from core.pricing import services as pricing
        channel = pricing.get_channel(self.db, "web-b2b")
        acme = self._acme()
        signed_in = next(u for u in acme.users if u.email == BUYER)
        cart = carts.open_cart(self.db, token=None, customer_id=acme.id, user_id=signed_in.id)
        variant = self._one(select(Variant.id).where(Variant.sku == "PAP-A4-80"))
        carts.add_item(self.db, cart, channel_id=channel.id,
                       ctx=pricing.make_context(channel, customer=acme),
                       variant_id=variant, quantity=1)
        self.db.flush()
        return next(l.id for l in cart.lines if l.variant_id == variant)

    def entry_line(self):
        """A line in the console's phone order entry for Acme (the cart token lives in the
        console client's cookie)."""
        from core.orders.models import Cart
        number = self["customer"]
        self.db.commit()
        token = machinery.csrf_of(self.console)
        response = self.console.post(f"/order-entry/new/{number}/lines",
                                     data={"sku": "PAP-A4-80", "quantity": "2",
                                           "csrf_token": token})
        assert response.status_code in (200, 303), response.get_data(as_text=True)[:500]
        cart = self._one(select(Cart).where(Cart.customer_id.is_(None)).order_by(Cart.id.desc()))
        return cart.lines[0].id

    def pending_order_id(self):
        """A web order awaiting its card payment (what a pay link is for)."""
        from core import audit
        from core.customers.models import CustomerAddress, CustomerUser
        from core.orders import services as orders
        from core.pricing import services as pricing
        from core.catalog.models import Variant
        shopper = self._one(select(CustomerUser).where(
            CustomerUser.email == "shopper@example.com")).customer
        address = self._one(select(CustomerAddress).where(
            CustomerAddress.customer_id == shopper.id)).as_dict()
        channel = pricing.get_channel(self.db, "web-b2c")
        variant = self._one(select(Variant.id).where(Variant.sku == "PAP-A4-80"))
        order = orders.place_order(
            self.db, checkout=orders.Checkout(
                lines=[(variant, 1)], email=shopper.email, shipping_address=address,
                billing_address=address, shipping_method="standard"),
            channel=channel, ctx=pricing.make_context(channel, customer=shopper),
            customer_id=shopper.id, actor=audit.Actor("customer", shopper.id, shopper.email),
            idempotency_key="hostile-sweep-pending")
        self.db.flush()
        return order.id

    def pay_token(self):
        from core.payments import links
        return links.make_token(SECRET_KEY, int(self["pending_order_id"]))

    def invoice_token(self):
        from core.billing.models import Invoice
        from core.payments import links
        invoice_id = self._one(select(Invoice.id).where(Invoice.number == self["invoice"]))
        return links.make_invoice_token(SECRET_KEY, invoice_id)

    def reset_token(self):
        from core.customers import services as customers
        _, token = customers.request_password_reset(self.db, BUYER)
        return token

    def filename(self):
        return "missing.svg"

    def shopping_list_id(self):  # a saved list of Acme's, made by the signed-in login
        from core.customers.models import CustomerUser
        from core.orders.models import ShoppingList, ShoppingListLine
        bea = self._one(select(CustomerUser).where(CustomerUser.email == BUYER))
        shopping_list = ShoppingList(customer_id=bea.customer_id, name="Sweep list",
                                     created_by_id=bea.id,
                                     lines=[ShoppingListLine(variant_id=int(self["variant_id"]),
                                                             quantity=2)])
        self.db.add(shopping_list)
        self.db.flush()
        return shopping_list.id

    # -- company (core.customers.company)
    def user_id(self):  # Acme's buyer, whom the signed-in admin (and an agent) manages
        from core.customers.models import CustomerUser
        return self._one(select(CustomerUser.id).where(CustomerUser.email == "buyer@acme.example"))

    def address_id(self):  # Acme's head office in its address book
        from core.customers.models import CustomerAddress
        return self._one(select(CustomerAddress.id)
                         .where(CustomerAddress.customer_id == self._acme().id)
                         .order_by(CustomerAddress.id))

    # -- stock and master data (issue 14)
    def sku(self):
        return "PAP-A4-80"

    def arrival_id(self):  # an expected arrival of the demo, still open
        from core.inventory.models import ExpectedArrival
        return self._one(select(ExpectedArrival.id).where(ExpectedArrival.status == "open")
                         .order_by(ExpectedArrival.id))

    def category_id(self):
        from core.catalog.models import Product
        return self._one(select(Product.category_id).where(Product.id == int(self["product_id"])))

    def method_id(self):
        from core.orders.shipping import ShippingMethod
        return self._one(select(ShippingMethod.id).where(ShippingMethod.code == "standard"))

    def supplier_id(self):
        from core.inventory.models import Supplier
        return self._one(select(Supplier.id).order_by(Supplier.id))

    def rate_id(self):
        from core.pricing.models import TaxRate
        return self._one(select(TaxRate.id).order_by(TaxRate.id))

    def agent_id(self):  # another console user than the signed-in admin
        from core.agents.models import Agent
        return self._one(select(Agent.id).where(Agent.email == "agent@marketline.example"))

    def warehouse_id(self):
        from core.inventory.models import Warehouse
        return self._one(select(Warehouse.id).where(Warehouse.code == "HAM"))

    def link_id(self):  # a channel's warehouse in its order of preference
        from core.inventory.models import ChannelWarehouse
        return self._one(select(ChannelWarehouse.id).order_by(ChannelWarehouse.id))

    def picture_id(self):  # the test database has no media: a picture row of its own
        from core.catalog.models import ProductImage
        picture = ProductImage(product_id=int(self["product_id"]), filename="sweep.jpg",
                               alt="Sweep", width=10, height=10)
        self.db.add(picture)
        self.db.flush()
        return picture.id

    def relation_id(self):
        from core.catalog.models import ProductRelation
        return self._one(select(ProductRelation.id).order_by(ProductRelation.id))

    def invitation_token(self):  # an open invitation to a new Acme buyer
        from core.customers import company
        from core.customers.models import CustomerUser
        admin = self._one(select(CustomerUser).where(CustomerUser.email == BUYER))
        return company.invite_buyer(self.db, self._acme(), email="sweep-invitee@acme.example",
                                    full_name="Ivy Invitee", role="buyer", actor=admin)

    def email_token(self):  # an open e-mail change of the demo shopper
        from core.customers import company
        from core.customers.models import CustomerUser
        sam = self._one(select(CustomerUser).where(CustomerUser.email == "shopper@example.com"))
        return company.request_email_change(self.db, sam, new_email="sweep-new@example.com",
                                            current_password="demo-pass-1",
                                            remote_addr="10.9.9.9", limit=100)

    def waiting(self):  # Bea's demo order waiting for her company's approver (core.demo.approvals)
        return self._acme_order("PO-7790").number

    def _quote_request(self, key: str):
        from core.customers.models import CustomerUser
        from core.customers.services import actor_for
        from core.quotes import services as quotes
        from core.catalog.models import Variant
        bea = self._one(select(CustomerUser).where(CustomerUser.email == BUYER))
        variant = self._one(select(Variant.id).where(Variant.sku == "PAP-A4-80"))
        return quotes.request_quote(self.db, lines=[(variant, 3)], customer=bea.customer,
                                    user=bea, comment=f"hostile sweep {key}",
                                    actor=actor_for(bea), valid_days=30)

    def quote(self):  # sent to the Acme buyer, who may accept or decline it
        from decimal import Decimal

        from core.agents.models import Agent
        from core.orders import discounts
        from core.quotes import services as quotes
        quote = self._quote_request("sent")
        agent = self._one(select(Agent).where(Agent.email == "agent@marketline.example"))
        quotes.send_quote(self.db, quote, agent=agent, default_days=30,
                          limits=discounts.DiscountLimits(Decimal(10), Decimal(30)))
        return quote.number

    def quote_draft(self):  # requested, being prepared in the console's editor
        return self._quote_request("draft").number

    def quote_line(self):
        from core.quotes import services as quotes
        return quotes.get_quote(self.db, self["quote_draft"]).lines[0].id

    def month(self):  # a statement of account's month (the shop's account area): last month
        from core.billing import statements
        return statements.last_month().start.strftime("%Y-%m")


    # collections (/agent/collections/<number>/...): Acme's (the `customer`) promise to pay,
    # dispute and follow-up task
    def _acme_overdue(self):
        from core.billing.models import Invoice
        from core.clock import today
        return self._one(select(Invoice).where(
            Invoice.customer_id == self._acme().id, Invoice.kind == "invoice",
            Invoice.amount_open > 0, Invoice.due_date < today()).order_by(Invoice.id))

    def promise_id(self):
        import datetime as dt
        from decimal import Decimal

        from core.audit import Actor
        from core.clock import today
        from core.credit import collections
        return collections.promise_to_pay(
            self.db, self._acme(), amount=Decimal("10.00"),
            promised_for=today() + dt.timedelta(days=5), invoices=[self._acme_overdue().id],
            actor=Actor.system("sweep")).id

    def dispute_id(self):
        from core.audit import Actor
        from core.credit import collections
        from core.credit.models import Dispute
        invoice = self._acme_overdue()
        found = self.db.scalar(select(Dispute.id).where(Dispute.invoice_id == invoice.id,
                                                        Dispute.status == "open"))
        return found or collections.open_dispute(self.db, invoice, reason="Sweep",
                                                 actor=Actor.system("sweep")).id

    def task_id(self):
        import datetime as dt

        from core.audit import Actor
        from core.clock import today
        from core.credit import collections
        return collections.add_task(self.db, self._acme(), agent_id=admin_agent_id(self.db),
                                    due_on=today() + dt.timedelta(days=1), note="Sweep",
                                    actor=Actor.system("sweep")).id

    def run_id(self):  # the demo's dunning run, sent (core.demo.dunning)
        from core.credit.models import DunningRun
        return self._one(select(DunningRun.id).order_by(DunningRun.id))

    def letter_id(self):  # its letter to Birch & Co, with a charges invoice
        from core.credit.models import DunningLetter
        return self._one(select(DunningLetter.id).order_by(DunningLetter.id))


# --- fixtures ------------------------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def _backend(db_backend):
    BACKEND["name"] = db_backend


@pytest.fixture(scope="module")
def plans(engine, database_url):
    """The crawl, in its own transaction, rolled back before the first sweep."""
    from contextlib import contextmanager

    from tests import factories
    connection = engine.connect()
    outer = connection.begin()
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                           expire_on_commit=False)

    @contextmanager
    def savepoint():
        nested = connection.begin_nested()
        try:
            yield
        finally:
            nested.rollback()

    try:
        with pytest.MonkeyPatch.context() as patch:
            machinery.quiet_mail(patch)
            # No e-mail task at all: inline, a task opens a session of its own, and on
            # SQLite that one waits out the busy timeout (30 s) for the write lock this
            # crawl's transaction holds, five times over (a return's and a quote's mail).
            from core import notifications
            patch.setattr(notifications, "_queue", lambda task, *args, what: None)
            apps = machinery.make_apps(sweep_settings(database_url), factory)
            db = factory()
            factories.bind(db)
            clients = signed_in_clients(apps, db, factory)
            scene = Scene(db, clients["console"])
            for key in sorted({k for keys in CANDIDATES.values() for k in keys}
                              | {n for t in TARGETS for n in
                                 machinery.url_variables(t.rule)}):
                if scene.knows(key):
                    scene[key]
            found = machinery.crawl(apps, clients, scene, savepoint, TARGETS)
            db.close()
    finally:
        outer.rollback()
        connection.close()
    return found


@pytest.fixture
def payment_gateway():
    return machinery.FakeGateway()


@pytest.fixture
def sweeper(plans, db, connection, shop_app, console_app, session_factory, monkeypatch):
    """sweeper(target): the Sweeper of one target, in this test's data, signed in."""
    machinery.quiet_mail(monkeypatch)
    apps = {"shop": shop_app, "console": console_app}
    clients = signed_in_clients(apps, db, session_factory)
    scene = Scene(db, clients["console"])

    def make(target: Target) -> machinery.Sweeper:
        plan = plans[target]
        app = apps[target.app]
        rules = [target.rule] + [app.url_map._rules_by_endpoint[h.endpoint][0].rule
                                 for h in plan.hosts]
        state = {key for prefix, keys in STATE.items() for key in keys
                 if any(rule.startswith(prefix) for rule in rules)}
        for key in sorted(plan.needed_keys() | state):
            scene[key]
        return machinery.Sweeper(target, plan, apps[target.app], clients[target.app], scene,
                                 connection, policy=sys.modules[__name__])

    return make


# --- the tests -------------------------------------------------------------------------------

@pytest.mark.parametrize("target", TARGETS, ids=str)
def test_no_hostile_value_answers_5xx_or_writes_what_it_must_refuse(target, sweeper):
    problems = sweeper(target).run()
    assert not problems, f"{target}: {len(problems)} problem(s)\n  " + "\n  ".join(problems[:40])


def test_every_url_variable_has_a_real_value(db):
    """A new route whose URL variable the scene cannot fill is swept with hostile values
    only: give the scene a value for it (see the module docstring)."""
    scene = Scene(db, None)
    missing = {f"{t} <{name}>" for t in TARGETS for name in machinery.url_variables(t.rule)
               if not any(scene.knows(k) for k in scene.candidates(name))}
    assert not missing, "no real value for: " + ", ".join(sorted(missing))


def _target(method: str, shown: str) -> Target:
    return next(t for t in TARGETS if t.method == method and t.shown == shown)


@pytest.mark.parametrize("method,rule,expected", [
    ("POST", "/agent/billing/invoices/<number>/write-off", {"writeoff-amount": True}),
    ("POST", "/agent/billing/payments/new", {"amount": True, "alloc-#": True}),
    ("POST", "/agent/billing/customers/<number>/apply", {"source": False,
                                                         "apply-payment-#-amount": True}),
    ("POST", "/agent/fulfilment/orders/<number>/ship", {"qty-#": True, "carrier": False}),
    ("POST", "/agent/order-entry/new/<customer>/lines/<int:line_id>/price",
     {"o#-unit_price": True, "o#-percent": True}),
    ("GET", "/search", {"q": False, "min": True, "max": True, "page": True}),
    ("POST", "/cart/add", {"variant_id": False, "quantity": True}),
    ("POST", "/account/orders/<number>/return", {"quantity-#": True, "reason-#": False,
                                                 "comment-#": False, "refund_method": False}),
    ("POST", "/webhooks/stripe", {"Stripe-Signature": False, "<body>": False}),
])
def test_the_sweep_reaches_the_fields_of_known_forms(sweeper, method, rule, expected):
    """The sweep is only as good as what it finds: a page it cannot open (a sign-in that
    changed) or a form it no longer reads would make it pass while testing nothing."""
    found = sweeper(_target(method, rule)).discover()
    fields = {machinery.DIGITS.sub("#", f.name): f for v in found for f in v.fields.values()}
    for name, numeric in expected.items():
        assert name in fields, f"{name} not found; found {sorted(fields)}"
        assert fields[name].numeric == numeric, name
