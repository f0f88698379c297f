"""The console's credit refund (/agent/billing/customers/<number>/refund): money that came
from a card is not paid out by bank transfer (review M6)."""
import datetime as dt
from decimal import Decimal as D

from sqlalchemy import func, select

from core.billing import receivables
from core.billing.models import Refund
from tests.billing_support import CLERK
from tests.factories import CustomerFactory
from tests.web.test_console_billing import credit_client, error_of, post, text  # noqa: F401


def test_credit_from_a_card_payment_is_refused_by_bank_transfer_at_the_amount(credit_client, db):
    customer = CustomerFactory(name="Card Credit KG", kind="company", payment_terms="net30",
                               on_account_allowed=True)
    payment = receivables.record_payment(db, customer_id=customer.id, method="card",
                                         amount=D("30.00"), currency="EUR",
                                         received_on=dt.date.today(), reference="pi_console_cash",
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
