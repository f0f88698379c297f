"""Quotes in a browser: Acme's buyer asks for a quote from her cart with a comment; an agent
opens the request in the console's Quotes worklist, gives one line a volume price with a
reason and sends the quote (the buyer is e-mailed its PDF); the buyer accepts it in her
account and the order shows the quoted prices."""
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.catalog.models import Product, Variant
from core.db import make_engine
from core.orders.models import Order
from core.quotes.models import Quote
from tests.e2e.conftest import assert_accessible, serve_shop
from tests.e2e.test_checkout import add_to_cart

PAPER, NOTES = "PAP-A4-80", "NTB-A5-RUL-BLK"


@pytest.fixture(scope="module")
def shop(tmp_path_factory, mail):
    with serve_shop(tmp_path_factory.mktemp("quotes"), SECRET_KEY="e2e-quotes-key",
                    SMTP_URL=mail[1]) as (base, settings):
        engine = make_engine(settings.DATABASE_URL)
        yield base, engine
        engine.dispose()


def new_page(browser, base):
    page = browser.new_context(base_url=base).new_page()
    page.set_default_timeout(15_000)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    return page


def slug(engine, sku):
    with Session(engine) as session:
        return session.scalar(select(Product.slug).join(Variant, Variant.product_id == Product.id)
                              .where(Variant.sku == sku))


def test_request_price_send_accept(browser, shop, mail):
    base, engine = shop
    sink, _ = mail
    buyer = new_page(browser, base)
    buyer.goto("/account/sign-in")
    buyer.get_by_label("Email").fill("buyer@acme.example")
    buyer.get_by_label("Password").fill("demo-pass-1")
    buyer.get_by_role("button", name="Sign in").click()
    expect(buyer.get_by_role("heading", name="My account")).to_be_visible()
    add_to_cart(buyer, f"/p/{slug(engine, PAPER)}", 40)
    add_to_cart(buyer, f"/p/{slug(engine, NOTES)}", 5)
    buyer.get_by_label("Comment for our sales team (optional)").fill(
        "We need 40 reams every month: what is your best price?")
    assert_accessible(buyer)
    buyer.get_by_role("button", name="Request a quote").click()
    heading = buyer.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Quote QT-")
    number = re.search(r"QT-\d+", heading.inner_text()).group(0)
    expect(buyer.get_by_text("Being prepared")).to_be_visible()
    buyer.goto("/cart/")
    expect(buyer.get_by_text(PAPER)).to_be_visible()  # the cart stays as it was

    agent = new_page(browser, base)
    agent.goto("/agent/sign-in")
    agent.get_by_label("Email").fill("agent@marketline.example")
    agent.get_by_label("Password").fill("demo-pass-1")
    agent.get_by_role("button", name="Sign in").click()
    agent.get_by_role("link", name="Quotes", exact=True).click()
    expect(agent.get_by_role("heading", name="Quotes")).to_be_visible()
    assert_accessible(agent)
    agent.get_by_role("link", name=number).click()
    expect(agent.get_by_text("40 reams every month")).to_be_visible()
    agent.get_by_label(f"Quoted unit price of {PAPER}").fill("3.40")
    agent.get_by_label(f"Reason for {PAPER}").select_option(label="Volume deal")
    agent.get_by_role("button", name="Set price").first.click()
    row = agent.locator("tr", has_text=PAPER)
    expect(row).to_contain_text("Volume deal")
    expect(row).to_contain_text("3.40 EUR")
    assert_accessible(agent)
    agent.get_by_role("button", name="Send quote").click()
    expect(agent.get_by_text(re.compile(f"Quote {number} is sent"))).to_be_visible()

    message = sink.wait_for("buyer@acme.example", subject=number, timeout=15)
    assert [a.get_filename() for a in message.iter_attachments()] == [f"{number}.pdf"]

    buyer.goto("/account/")
    buyer.get_by_role("link", name="Quotes", exact=True).click()
    buyer.get_by_role("link", name=number).click()
    expect(buyer.get_by_role("button", name="Accept quote")).to_be_visible()
    assert_accessible(buyer)
    buyer.get_by_label("Your PO number (optional)").fill("PO-QUOTE-40")
    buyer.get_by_role("button", name="Accept quote").click()
    heading = buyer.get_by_role("heading", level=1)
    expect(heading).to_contain_text("SO-")
    expect(buyer.get_by_text(re.compile("Quote accepted"))).to_be_visible()
    expect(buyer.locator("tr", has_text=PAPER)).to_contain_text("3.40 EUR")

    with Session(engine) as session:
        quote = session.scalar(select(Quote).where(Quote.number == number))
        order = session.get(Order, quote.order_id)
        assert quote.status == "accepted" and order.po_number == "PO-QUOTE-40"
        assert order.payment_method == "on_account"
        units = {l.sku: l.unit_price for l in order.lines}
        assert units == {l.sku: l.unit_price for l in quote.lines}
        assert units[PAPER] == Decimal("3.40")
    assert buyer.errors == [] and agent.errors == []
