"""A billing clerk cannot mint a spendable gift card alone (review M5): a sale out of a
transfer or cheque the seller recorded themselves issues nothing and holds its money until
a colleague with the credit or supervisor role confirms the money came in."""
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from core import clock
from core.audit import Actor
from core.billing import giftcard_requests, giftcards, invoicing, ledger, receivables
from core.billing.credit_requests import ApprovalNotAllowed
from core.billing.giftcards import ConfirmationNeeded, GiftCardError
from core.billing.errors import BillingError
from core.billing.invoicing import FreeTextLine
from core.billing.models import GiftCard, GiftCardMovement, JournalLine
from core.customers.models import Customer
from tests.billing_support import CASHIER, assert_books_reconcile
from tests.factories import CustomerFactory

CLERK = Actor("agent", 9101, "clerk@test.example")  # billing: records and sells
CONTROLLER = Actor("agent", 9102, "controller@test.example")  # credit: confirms


@pytest.fixture
def cheque(db):
    """A cheque of 1,000.00 EUR the clerk recorded for a customer, nobody checked."""
    customer = CustomerFactory(name="Anyone", email="anyone@example.com")
    return receivables.record_payment(db, customer_id=customer.id, method="cheque",
                                      amount=D("1000.00"), currency="EUR",
                                      received_on=clock.today(), reference="CHQ 1",
                                      actor=CLERK)


def cards(db) -> int:
    return db.scalar(select(func.count()).select_from(GiftCard))


def ask(db, payment, amount="1000.00", key="sale-1", **kw):
    return giftcard_requests.sell_or_ask(db, amount=D(amount), payment=payment, actor=CLERK,
                                         key=key, **kw)


def test_the_clerk_who_recorded_the_cheque_gets_no_spendable_card_out_of_it(db, cheque):
    before = cards(db)
    assert cheque.recorded_by_id == CLERK.id
    with pytest.raises(ConfirmationNeeded, match="recorded this payment yourself"):
        giftcards.sell(db, amount=D("1000.00"), payment=cheque, actor=CLERK)
    sale = ask(db, cheque)
    assert sale.card is None and sale.code is None and sale.request.status == "requested"
    assert cards(db) == before  # no card, no code: nothing a code could redeem
    assert cheque.amount_unallocated == D("1000.00")  # still customer credit, but held
    assert giftcards.sale_payments(db, cheque.customer_id) == []
    assert_books_reconcile(db)


def test_the_same_person_is_known_by_id_whatever_their_label(db, cheque):
    renamed = Actor("agent", CLERK.id, "clerk renamed")
    assert giftcards.recorded_by(cheque, renamed)
    assert not giftcards.recorded_by(cheque, Actor("agent", 9999, CLERK.label))


def test_a_colleague_confirms_and_the_card_becomes_spendable_with_its_code_made_then(
        db, cheque):
    request = ask(db, cheque, recipient_email="Gift@Example.com").request
    card, code = giftcard_requests.approve(db, request, actor=CONTROLLER, roles={"credit"},
                                           note="Cheque credited on the statement")
    assert giftcards.lookup(db, code).id == card.id and card.balance == D("1000.00")
    assert (card.sold_by, card.recipient_email) == (CLERK.label, "gift@example.com")
    assert (request.status, request.gift_card_id, request.decided_by) == (
        "approved", card.id, CONTROLLER.label)
    assert cheque.amount_unallocated == 0
    issue = db.scalar(select(GiftCardMovement).where(GiftCardMovement.gift_card_id == card.id))
    lines = {(l.account_code, l.debit, l.credit) for l in db.scalars(
        select(JournalLine).where(JournalLine.entry_id == issue.entry_id))}
    assert lines == {(ledger.CUSTOMER_DEPOSITS, D("1000.00"), D(0)),
                     (ledger.GIFT_CARD_LIABILITY, D(0), D("1000.00"))}
    assert giftcard_requests.deliver_to(db, request) == "gift@example.com"
    assert_books_reconcile(db)
    # Decided once: a second confirmation makes no second card (and no second code).
    with pytest.raises(BillingError, match="already confirmed"):
        giftcard_requests.approve(db, request, actor=Actor("agent", 9103, "boss"),
                                  roles={"supervisor"})
    assert db.scalar(select(func.count()).select_from(GiftCard)
                     .where(GiftCard.customer_id == cheque.customer_id)) == 1


@pytest.mark.parametrize("roles", [{"billing", "credit"}, {"supervisor"}, {"admin"}])
def test_the_seller_cannot_confirm_their_own_sale_whatever_their_roles(db, cheque, roles):
    request = ask(db, cheque).request
    with pytest.raises(ApprovalNotAllowed, match="You asked for this gift card sale"):
        giftcard_requests.approve(db, request, actor=CLERK, roles=roles)
    with pytest.raises(ApprovalNotAllowed):
        giftcard_requests.reject(db, request, actor=CLERK, roles=roles, note="mine")
    assert request.status == "requested"


def test_a_billing_colleague_alone_cannot_confirm_a_sale(db, cheque):
    request = ask(db, cheque).request
    with pytest.raises(ApprovalNotAllowed, match="credit or supervisor role"):
        giftcard_requests.approve(db, request, actor=Actor("agent", 9104, "other clerk"),
                                  roles={"billing"})


def test_a_rejected_sale_issues_nothing_and_frees_the_money(db, cheque):
    request = ask(db, cheque, amount="400.00").request
    with pytest.raises(BillingError, match="Say why") as err:
        giftcard_requests.reject(db, request, actor=CONTROLLER, roles={"credit"}, note=" ")
    assert err.value.field == "note"
    giftcard_requests.reject(db, request, actor=CONTROLLER, roles={"credit"},
                             note="No such cheque on the statement")
    assert request.status == "rejected" and request.gift_card_id is None
    assert [p.id for p in giftcards.sale_payments(db, cheque.customer_id)] == [cheque.id]
    with pytest.raises(BillingError, match="already rejected"):
        giftcard_requests.approve(db, request, actor=CONTROLLER, roles={"credit"})


def test_the_held_money_cannot_be_sold_twice_paid_out_or_used_meanwhile(db, cheque):
    ask(db, cheque, amount="800.00")
    assert ask(db, cheque, amount="800.00").request.amount == D("800.00")  # same key: once
    with pytest.raises(GiftCardError, match="Only 200.00 EUR of that payment") as err:
        ask(db, cheque, amount="300.00", key="sale-2")
    assert err.value.field == "amount"
    with pytest.raises(BillingError, match="held for a gift card sale"):
        receivables.refund_credit(db, amount=D("1000.00"), method="bank_transfer",
                                  reference="SEPA out", actor=CONTROLLER, key="out-1",
                                  payment=cheque)
    invoice = invoicing.issue_free_text(db, customer=db.get(Customer, cheque.customer_id),
                                        actor=CASHIER,
                                        lines=[FreeTextLine("Service", 1, D("900.00"), D(0))])
    assert invoice.amount_open == D("700.00")  # the new invoice took only the free 200.00
    assert receivables.available(db, cheque) == 0
    assert_books_reconcile(db)


def test_a_payment_someone_else_recorded_sells_at_once(db):
    customer = CustomerFactory()
    payment = receivables.record_payment(db, customer_id=customer.id, method="bank_transfer",
                                         amount=D("50.00"), currency="EUR",
                                         received_on=clock.today(), reference="SEPA 7",
                                         actor=CASHIER)
    sale = ask(db, payment, amount="50.00")
    assert sale.request is None and giftcards.lookup(db, sale.code).id == sale.card.id
