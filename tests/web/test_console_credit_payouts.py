"""The console's credit refund (/agent/billing/customers/<number>/refund): money that came
from a card or a gift card is not paid out by bank transfer (review M6); a credit note's
part paid by gift card goes back onto the card from the credit note's page."""
import re
from decimal import Decimal as D

from sqlalchemy import func, select

from core import clock
from core.billing import invoicing, receivables
from core.billing.models import GiftCard, Invoice, Refund
from core.money import Money
from tests.billing_support import CLERK, assert_books_reconcile, gift_card_paid_invoice
from tests.conftest import csrf_token
from tests.factories import CustomerFactory
from tests.web.test_console_billing import (billing_client, credit_client, error_of,  # noqa: F401
                                            post, text)


def test_credit_from_a_card_payment_is_refused_by_bank_transfer_at_the_amount(credit_client, db):
    customer = CustomerFactory(name="Card Credit KG", kind="company", payment_terms="net30",
                               on_account_allowed=True)
    payment = receivables.record_payment(db, customer_id=customer.id, method="card",
                                         amount=D("30.00"), currency="EUR",
                                         received_on=clock.today(), reference="pi_console_cash",
                                         actor=CLERK, stripe_id="pi_console_cash",
                                         key="cap-console-cash")
    db.commit()
    source = f"payment-{payment.id}"
    response = post(credit_client, f"/billing/customers/{customer.number}/refund",
                    {"source": source, "key": "cash-out-1", "amount": "30.00",
                     "reference": "SEPA to another account"}, prefix=f"refund-{source}")
    assert response.status_code == 200
    assert "only be refunded to that card" in error_of(text(response), f"refund-{source}-amount")
    assert db.scalar(select(func.count()).select_from(Refund)
                     .where(Refund.payment_id == payment.id)) == 0
    db.refresh(payment)
    assert payment.amount_unallocated == D("30.00")


def test_a_credit_note_on_a_gift_card_paid_invoice_goes_back_to_the_card_not_to_a_bank(
        credit_client, db):
    """The reviewer's probe through the console: an order paid by gift card is invoiced,
    then credited; the credit note's money is refused by bank transfer at the amount and
    goes back onto the gift card from the credit note's page."""
    customer = CustomerFactory(name="Gift Cashout GmbH")
    card, invoice = gift_card_paid_invoice(db, "console-gift-cashout", customer=customer)
    note = invoicing.issue_credit_note(db, invoice, lines=None, reason="returned", actor=CLERK)
    db.commit()
    balance, spent = card.balance, invoice.gross_total
    source = f"credit_note-{note.id}"
    response = post(credit_client, f"/billing/customers/{customer.number}/refund",
                    {"source": source, "key": "cash-out-gift", "amount": str(spent),
                     "reference": "SEPA to my account"}, prefix=f"refund-{source}")
    assert response.status_code == 200
    assert "paid with a gift card; give it back to the gift card" in error_of(
        text(response), f"refund-{source}-amount")
    assert db.scalar(select(func.count()).select_from(Refund)
                     .where(Refund.credit_note_id == note.id)) == 0

    page = text(credit_client.get(f"/billing/invoices/{note.number}"))
    assert "Give back to the gift card" in page
    key = re.search(r'name="giveback-key" type="hidden" value="([0-9a-f]{32})"', page).group(1)
    form = {"giveback-key": key, "giveback-amount": str(spent),
            "giveback-csrf_token": csrf_token(credit_client, f"/billing/invoices/{note.number}")}
    path = f"/billing/invoices/{note.number}/give-back-to-gift-card"
    assert credit_client.post(path, data=form).status_code in (302, 303)
    assert credit_client.post(path, data=form).status_code in (302, 303)  # a second submit
    db.expire_all()
    assert db.get(GiftCard, card.id).balance == balance + spent
    assert db.get(Invoice, note.id).amount_open == 0
    assert db.scalar(select(func.count()).select_from(Refund)
                     .where(Refund.credit_note_id == note.id, Refund.method == "gift_card")) == 1
    assert f"{Money(spent, 'EUR').format()} to the gift card" in text(
        credit_client.get(f"/billing/invoices/{note.number}"))
    assert_books_reconcile(db)


def test_a_billing_clerk_cannot_give_a_credit_note_back_to_a_gift_card(billing_client, db):
    card, invoice = gift_card_paid_invoice(db, "console-gift-back-billing")
    note = invoicing.issue_credit_note(db, invoice, lines=None, reason="returned", actor=CLERK)
    db.commit()
    refused = post(billing_client, f"/billing/invoices/{note.number}/give-back-to-gift-card",
                   {"key": "b" * 32, "amount": "1.00"}, prefix="giveback")
    assert refused.status_code == 403
