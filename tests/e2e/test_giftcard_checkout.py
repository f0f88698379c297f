"""A guest pays a whole order with a gift card: no card is typed, the checkout says what the
card pays, and the order is confirmed as paid with no PaymentIntent."""
import re
from decimal import Decimal

from playwright.sync_api import expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.billing.models import GiftCard
from core.payments.models import PaymentAttempt
from tests.billing_support import sell_gift_card
from tests.e2e.conftest import assert_accessible
from tests.e2e.test_checkout import add_to_cart, order_by_email, shop, shop_page  # noqa: F401


def test_a_gift_card_pays_the_whole_order_without_a_card(shop_page, shop):
    with Session(shop[1]) as session:
        card, code = sell_gift_card(session, Decimal("100.00"), reference="SEPA e2e")
        session.commit()
        card_id = card.id
    page = shop_page
    add_to_cart(page, "/p/navigator-everyday-copy-paper-a4-80-g", 2)
    page.get_by_role("button", name="Checkout").click()
    expect(page.get_by_role("heading", name="Checkout", exact=True)).to_be_visible()
    page.get_by_label("Email").fill("gift@example.com")
    page.get_by_label("Full name").fill("Gil Gift")
    page.get_by_label("Address").fill("Hauptstraße 5")
    page.get_by_label("City").fill("Berlin")
    page.get_by_label("Postal code").fill("10115")
    page.get_by_label("Gift card code (optional)").fill(code.lower())
    page.get_by_role("button", name="Apply gift card").click()
    expect(page.locator("#gift-card-result")).to_contain_text("No card is needed")
    assert_accessible(page, exclude=["#card-element"])
    page.get_by_role("button", name="Place order").click()

    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(re.compile(r"SO-\d{6}"))
    expect(page.get_by_text(re.compile(r"Your gift card paid \d+\.\d\d EUR"))).to_be_visible()
    order = order_by_email(shop[1], "gift@example.com")
    assert (order.status, order.payment_state, order.amount_prepaid) == (
        "confirmed", "captured", order.gross_total)
    with Session(shop[1]) as session:
        assert session.scalar(select(func.count()).select_from(PaymentAttempt)
                              .where(PaymentAttempt.order_id == order.id)) == 0
        assert session.get(GiftCard, card_id).balance == Decimal("100.00") - order.gross_total
