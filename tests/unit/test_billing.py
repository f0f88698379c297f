"""Invoices, credit notes, payments, credit, write-offs, refunds and gift cards: golden
figures computed by hand, and the books reconciling after each step."""
import datetime as dt
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from core.billing import giftcards, invoicing, ledger, receivables
from core.billing.errors import BillingError
from core.billing.invoicing import FreeTextLine
from core.billing.models import Allocation, JournalEntry, JournalLine
from core.customers.models import Customer
from tests.billing_support import CLERK, assert_books_reconcile, place, sell_gift_card, ship
from tests.factories import CustomerFactory

TODAY = dt.date(2026, 11, 25)


@pytest.fixture
def acme(db):
    return db.scalar(select(Customer).where(Customer.name == "Acme Corp"))


@pytest.fixture
def cleo(db):
    """A company on net 30 with no history (the demo's customers have open invoices)."""
    customer = CustomerFactory(kind="company", name="Cleo Consulting", payment_terms="net30",
                               on_account_allowed=True)
    db.flush()
    return customer


class Delta:
    """How much an account's balance moved since the test began."""

    def __init__(self, db, account):
        self.db, self.account, self.start = db, account, ledger.balance(db, account)

    def __call__(self):
        return ledger.balance(self.db, self.account) - self.start


def entry_of(db, doc) -> dict[str, tuple[D, D]]:
    entry = db.get(JournalEntry, doc.entry_id)
    return {l.account_code: (l.debit, l.credit) for l in entry.lines}


# -- golden invoices ----------------------------------------------------------------------

def test_a_b2c_order_shipped_3_then_2_gives_two_invoices_that_add_up_to_the_order(db):
    """5 reams at 5.49 incl. 19 % VAT = 27.45 (tax 4.38); standard shipping 4.95 (tax 0.79).
    Shipment 1: 3 reams = 16.47 gross, tax 16.47 x 19/119 = 2.6297 -> 2.63, net 13.84,
    plus shipping 4.95 / 0.79 / 4.16: invoice 21.42 = net 18.00 + tax 3.42.
    Shipment 2: the rest of the line: 10.98 gross, tax 4.38 - 2.63 = 1.75, net 9.23."""
    order = place(db, [("PAP-A4-80", 5)], key="golden-b2c")
    assert (order.gross_total, order.tax_total, order.shipping_amount) == (D("32.40"), D("5.17"),
                                                                           D("4.95"))
    first = invoicing.invoice_shipment(db, ship(db, order, {"PAP-A4-80": 3}), actor=CLERK,
                                       today=TODAY)
    assert first.number.startswith("INV-")
    assert [(l.kind, l.quantity, l.net, l.tax, l.gross) for l in first.lines] == [
        ("goods", 3, D("13.84"), D("2.63"), D("16.47")),
        ("shipping", 1, D("4.16"), D("0.79"), D("4.95"))]
    assert (first.net_total, first.tax_total, first.gross_total) == (D("18.00"), D("3.42"),
                                                                     D("21.42"))
    assert [(t.rate, t.net, t.tax) for t in first.tax_lines] == [(D("0.19"), D("18.00"),
                                                                  D("3.42"))]
    assert (first.terms, first.due_date) == ("card", TODAY)
    assert entry_of(db, first) == {ledger.RECEIVABLES: (D("21.42"), 0),
                                   ledger.REVENUE: (0, D("13.84")),
                                   ledger.SHIPPING_REVENUE: (0, D("4.16")),
                                   ledger.TAX_PAYABLE: (0, D("3.42"))}
    second = invoicing.invoice_shipment(db, ship(db, order, {"PAP-A4-80": 2}), actor=CLERK,
                                        today=TODAY)
    assert [(l.quantity, l.net, l.tax, l.gross) for l in second.lines] == [
        (2, D("9.23"), D("1.75"), D("10.98"))]
    assert first.gross_total + second.gross_total == order.gross_total
    assert first.tax_total + second.tax_total == order.tax_total
    assert order.lines[0].quantity_invoiced == 5
    assert_books_reconcile(db)


def test_invoicing_a_shipment_twice_returns_the_same_invoice(db):
    order = place(db, [("PAP-A4-80", 1)], key="twice")
    shipment = ship(db, order, {"PAP-A4-80": 1})
    assert invoicing.invoice_shipment(db, shipment, actor=CLERK).id == \
        invoicing.invoice_shipment(db, shipment, actor=CLERK).id


def test_a_free_text_invoice_net_of_tax_with_two_rates(db, acme):
    """3 x 120.00 at 19 %: net 360.00, tax 68.40. 1 x 15.50 at 7 %: tax 1.085 -> 1.09
    (half-up). Totals net 375.50, tax 69.49, gross 444.99. Acme pays net 30."""
    invoice = invoicing.issue_free_text(db, customer=acme, actor=CLERK, today=TODAY, lines=[
        FreeTextLine("Installation of the print server", 3, D("120.00"), D("0.19")),
        FreeTextLine("Delivery fee", 1, D("15.50"), D("0.07"), kind="fee")])
    assert [(t.rate, t.net, t.tax) for t in invoice.tax_lines] == [
        (D("0.07"), D("15.50"), D("1.09")), (D("0.19"), D("360.00"), D("68.40"))]
    assert (invoice.net_total, invoice.tax_total, invoice.gross_total) == (
        D("375.50"), D("69.49"), D("444.99"))
    assert (invoice.terms, invoice.due_date) == ("net30", dt.date(2026, 12, 25))
    assert invoice.status == "open" and invoice.amount_open == D("444.99")
    assert_books_reconcile(db)


def test_free_text_lines_are_checked_at_the_field(db, acme):
    with pytest.raises(BillingError) as err:
        invoicing.issue_free_text(db, customer=acme, actor=CLERK,
                                  lines=[FreeTextLine("Fee", 1, D("-5"), D("0.19"))])
    assert err.value.field == "lines"


# -- payments ------------------------------------------------------------------------------

def free_text(db, customer, amount: str, *, today=TODAY, terms=None):
    return invoicing.issue_free_text(db, customer=customer, actor=CLERK, today=today, terms=terms,
                                     lines=[FreeTextLine("Service", 1, D(amount), D("0"))])


def test_a_bank_transfer_pays_two_invoices_and_the_overpayment_becomes_credit_for_the_next(db, cleo):
    a, b = free_text(db, cleo, "100.00"), free_text(db, cleo, "50.00")
    suggested = receivables.suggest_allocation(db, cleo.id, D("170.00"), "EUR")
    assert [(i.number, part) for i, part in suggested] == [(a.number, D("100.00")),
                                                           (b.number, D("50.00"))]
    payment = receivables.record_payment(
        db, customer_id=cleo.id, method="bank_transfer", amount=D("170.00"), currency="EUR",
        received_on=TODAY, reference="SEPA 123", actor=CLERK,
        allocations=[(i.id, part) for i, part in suggested])
    assert (a.status, b.status, payment.amount_unallocated) == ("paid", "paid", D("20.00"))
    assert receivables.customer_balance(db, cleo.id, "EUR", TODAY).credit == D("20.00")
    later = free_text(db, cleo, "30.00")  # the credit is used at once
    assert (later.amount_open, later.status, payment.amount_unallocated) == (
        D("10.00"), "partially_paid", D("0"))
    assert_books_reconcile(db)


def test_a_partial_payment_leaves_the_invoice_partly_paid(db, cleo):
    invoice = free_text(db, cleo, "80.00")
    receivables.record_payment(db, customer_id=cleo.id, method="cheque", amount=D("30.00"),
                               currency="EUR", received_on=TODAY, reference="CHQ 7",
                               actor=CLERK, allocations=[(invoice.id, D("30.00"))])
    assert (invoice.status, invoice.amount_open) == ("partially_paid", D("50.00"))
    with pytest.raises(BillingError):  # more than is open
        receivables.record_payment(db, customer_id=cleo.id, method="cheque", amount=D("60.00"),
                                   currency="EUR", received_on=TODAY, reference="CHQ 8",
                                   actor=CLERK, allocations=[(invoice.id, D("60.00"))])
    assert_books_reconcile(db)


def test_paying_within_ten_days_on_2_10_net_30_takes_the_cash_discount(db, cleo):
    discounts = Delta(db, ledger.SALES_DISCOUNTS)
    invoice = free_text(db, cleo, "200.00", terms="2-10-net30")
    assert invoice.cash_discount_until == TODAY + dt.timedelta(days=10)
    receivables.record_payment(db, customer_id=cleo.id, method="bank_transfer",
                               amount=D("196.00"), currency="EUR",
                               received_on=TODAY + dt.timedelta(days=9), reference="SEPA 9",
                               actor=CLERK, allocations=[(invoice.id, D("196.00"))])
    assert invoice.status == "paid"
    kinds = {a.kind: a.amount for a in db.scalars(select(Allocation)
                                                   .where(Allocation.invoice_id == invoice.id))}
    assert kinds == {"payment": D("196.00"), "cash_discount": D("4.00")}
    assert discounts() == D("4.00")
    assert_books_reconcile(db)


def test_paying_late_gets_no_cash_discount(db, cleo):
    invoice = free_text(db, cleo, "200.00", terms="2-10-net30")
    receivables.record_payment(db, customer_id=cleo.id, method="bank_transfer",
                               amount=D("196.00"), currency="EUR",
                               received_on=TODAY + dt.timedelta(days=11), reference="SEPA 11",
                               actor=CLERK, allocations=[(invoice.id, D("196.00"))])
    assert (invoice.status, invoice.amount_open) == ("partially_paid", D("4.00"))


def test_a_write_off_within_the_limit_closes_the_invoice_and_beyond_it_is_refused(db, cleo):
    bad_debt = Delta(db, ledger.BAD_DEBT)
    invoice = free_text(db, cleo, "100.00")
    receivables.record_payment(db, customer_id=cleo.id, method="bank_transfer", amount=D("97.50"),
                               currency="EUR", received_on=TODAY, reference="SEPA short",
                               actor=CLERK, allocations=[(invoice.id, D("97.50"))])
    with pytest.raises(BillingError) as err:
        receivables.write_off(db, invoice, D("2.50"), limit=D("2.00"), reason="bank fees",
                              actor=CLERK)
    assert err.value.field == "amount"
    receivables.write_off(db, invoice, D("1.50"), limit=D("2.00"), reason="bank fees",
                          actor=CLERK)
    with pytest.raises(BillingError, match="at most 0.50 EUR more"):  # the limit is per invoice
        receivables.write_off(db, invoice, D("1.00"), limit=D("2.00"), reason="bank fees",
                              actor=CLERK)
    receivables.write_off(db, invoice, D("1.00"), limit=D("5.00"), reason="bank fees",
                          actor=CLERK)
    assert invoice.status == "paid"
    assert bad_debt() == D("2.50")
    assert_books_reconcile(db)


# -- credit notes ----------------------------------------------------------------------------

def test_a_credit_note_by_line_on_an_unpaid_invoice_reduces_what_is_open(db, acme):
    order = place(db, [("PAP-A4-80", 4)], key="cn-line", customer=acme, channel_code="web-b2b",
                  payment_method="on_account")
    invoice = invoicing.invoice_shipment(db, ship(db, order, {"PAP-A4-80": 4}), actor=CLERK)
    goods = next(l for l in invoice.lines if l.kind == "goods")
    note = invoicing.issue_credit_note(db, invoice, lines={goods.id: 1}, reason="damaged",
                                       actor=CLERK)
    assert note.number.startswith("CN-") and note.credited_invoice_id == invoice.id
    assert invoice.amount_open == invoice.gross_total - note.gross_total
    assert (note.amount_open, note.status) == (0, "paid")
    assert invoicing.creditable(db, invoice)[goods.id] == 3
    with pytest.raises(BillingError):
        invoicing.issue_credit_note(db, invoice, lines={goods.id: 4}, reason="too many",
                                    actor=CLERK)
    rest = invoicing.issue_credit_note(db, invoice, lines=None, reason="returned", actor=CLERK)
    assert invoice.amount_open == 0 and invoice.status == "paid"
    assert note.gross_total + rest.gross_total == invoice.gross_total
    assert_books_reconcile(db)


def test_a_credit_note_on_a_paid_invoice_becomes_credit_that_can_be_refunded(db, cleo):
    bank = Delta(db, ledger.BANK)
    invoice = free_text(db, cleo, "60.00")
    receivables.record_payment(db, customer_id=cleo.id, method="bank_transfer", amount=D("60.00"),
                               currency="EUR", received_on=TODAY, reference="SEPA 60",
                               actor=CLERK, allocations=[(invoice.id, D("60.00"))])
    note = invoicing.issue_credit_note(db, invoice, lines=None, reason="goodwill", actor=CLERK)
    assert (note.amount_open, note.status) == (D("60.00"), "open")
    receivables.refund_credit(db, amount=D("60.00"), method="bank_transfer",
                              reference="SEPA back", actor=CLERK, key="r1", credit_note=note)
    assert note.amount_open == 0
    assert bank() == 0
    assert_books_reconcile(db)


def test_cancelling_an_unpaid_invoice_issues_a_credit_note_and_a_paid_one_cannot_be(db, cleo):
    unpaid, paid = free_text(db, cleo, "40.00"), free_text(db, cleo, "40.00")
    note = invoicing.cancel_invoice(db, unpaid, reason="ordered by mistake", actor=CLERK)
    assert note.gross_total == D("40.00") and unpaid.status == "paid"
    receivables.record_payment(db, customer_id=cleo.id, method="cheque", amount=D("40.00"),
                               currency="EUR", received_on=TODAY, reference="CHQ",
                               actor=CLERK, allocations=[(paid.id, D("40.00"))])
    with pytest.raises(BillingError):
        invoicing.cancel_invoice(db, paid, reason="", actor=CLERK)


# -- card refunds and gift cards --------------------------------------------------------------

def test_card_refunds_never_exceed_the_capture(db):
    order = place(db, [("PAP-A4-80", 2)], key="card-refund")
    invoice = invoicing.invoice_shipment(db, ship(db, order, {"PAP-A4-80": 2}), actor=CLERK)
    payment = receivables.record_card_capture(db, invoice, amount=invoice.gross_total,
                                              stripe_id="pi_1", key="cap-1", actor=CLERK)
    assert receivables.record_card_capture(db, invoice, amount=invoice.gross_total,
                                           stripe_id="pi_1", key="cap-1", actor=CLERK) is payment
    assert invoice.status == "paid"
    note = invoicing.issue_credit_note(db, invoice, lines=None, reason="returned", actor=CLERK)
    with pytest.raises(BillingError):
        receivables.begin_card_refund(db, payment=payment, amount=payment.amount + D("0.01"),
                                      key="too-much", actor=CLERK, credit_note=note)
    pending = receivables.begin_card_refund(db, payment=payment, amount=note.gross_total,
                                            key="ref-1", actor=CLERK, credit_note=note)
    assert pending.status == "pending" and note.amount_open == note.gross_total
    with pytest.raises(BillingError):  # the pending refund already counts
        receivables.begin_card_refund(db, payment=payment, amount=D("0.01"), key="ref-2",
                                      actor=CLERK, credit_note=note)
    done = receivables.record_card_refund(db, payment=payment, amount=note.gross_total,
                                          stripe_id="re_1", key="ref-1", actor=CLERK,
                                          credit_note=note)
    assert done.status == "succeeded" and payment.amount_refunded == payment.amount
    assert note.amount_open == 0
    assert_books_reconcile(db)


def test_a_gift_card_is_a_liability_until_it_pays_for_an_order(db):
    liability = Delta(db, ledger.GIFT_CARD_LIABILITY)
    card, code = sell_gift_card(db, D("25.00"), reference="SEPA GC")
    assert card.last4 == code.replace("-", "")[-4:] and len(code) == 19
    assert giftcards.lookup(db, code.lower()).id == card.id
    assert giftcards.lookup(db, "AAAA-BBBB-CCCC-DDDD") is None
    assert -liability() == D("25.00")
    order = place(db, [("PAP-A4-80", 5)], key="gift")  # 32.40
    first = giftcards.redeem(db, code, D("25.00"), actor=CLERK, order=order, key="gift-1")
    assert giftcards.redeem(db, code, D("25.00"), actor=CLERK, order=order, key="gift-1") is first
    assert card.balance == 0 and order.amount_prepaid == D("25.00")
    with pytest.raises(giftcards.GiftCardError, match="only 0.00 EUR left"):
        giftcards.redeem(db, code, D("0.01"), actor=CLERK, order=order)
    invoice = invoicing.invoice_shipment(db, ship(db, order, {"PAP-A4-80": 3}), actor=CLERK)
    assert invoice.amount_open == 0  # 21.42 taken from the 25.00 prepaid
    second = invoicing.invoice_shipment(db, ship(db, order, {"PAP-A4-80": 2}), actor=CLERK)
    assert second.amount_open == D("10.98") - (D("25.00") - D("21.42"))
    assert_books_reconcile(db)


def test_a_cancelled_orders_gift_card_payment_goes_back_to_the_card(db):
    card, code = sell_gift_card(db, D("10.00"), reference="CHQ GC")
    order = place(db, [("PAP-A4-80", 1)], key="gift-cancel")
    payment = giftcards.redeem(db, code, D("5.49"), actor=CLERK, order=order)
    giftcards.restore(db, payment, actor=CLERK, key="restore-1")
    assert card.balance == D("10.00") and payment.amount_unallocated == 0
    assert_books_reconcile(db)


# -- the ledger itself --------------------------------------------------------------------------

def test_an_unbalanced_entry_is_refused(db):
    with pytest.raises(ledger.LedgerError):
        ledger.post(db, "payment", currency="EUR", postings=[ledger.dr(ledger.BANK, D("1.00")),
                                                             ledger.cr(ledger.RECEIVABLES, D("0.99"))])
    with pytest.raises(ledger.LedgerError):  # not whole cents
        ledger.post(db, "payment", currency="EUR", postings=[ledger.dr(ledger.BANK, D("1.001")),
                                                             ledger.cr(ledger.RECEIVABLES, D("1.001"))])


def test_posted_lines_never_change_and_a_reversal_corrects_them(db):
    entry = ledger.post(db, "payment", currency="EUR", reference="x",
                        postings=[ledger.dr(ledger.BANK, D("5.00")),
                                  ledger.cr(ledger.CUSTOMER_DEPOSITS, D("5.00"))])
    entry.lines[0].debit = D("6.00")
    with pytest.raises(ledger.LedgerError):
        db.flush()
    db.rollback()
    bank = Delta(db, ledger.BANK)
    entry = ledger.post(db, "payment", currency="EUR", reference="x",
                        postings=[ledger.dr(ledger.BANK, D("5.00")),
                                  ledger.cr(ledger.CUSTOMER_DEPOSITS, D("5.00"))])
    reversal = ledger.reverse(db, entry, actor="clerk")
    assert reversal.reversal_of_id == entry.id
    assert bank() == 0
    with pytest.raises(ledger.LedgerError):
        ledger.reverse(db, entry)


def test_the_trial_balance_balances_and_the_export_is_safe_for_spreadsheets(db, cleo):
    invoice = free_text(db, cleo, "10.00")
    receivables.record_payment(db, customer_id=cleo.id, method="bank_transfer", amount=D("10.00"),
                               currency="EUR", received_on=TODAY, reference="=HYPERLINK(1)",
                               actor=CLERK, allocations=[(invoice.id, D("10.00"))])
    rows = ledger.trial_balance(db)
    assert sum(r.debit for r in rows) == sum(r.credit for r in rows) > 0
    text = "".join(ledger.export_csv(db))
    assert text.splitlines()[0].startswith("entry,posted_at,kind")
    assert "'=HYPERLINK(1)" in text and ",-" not in text.replace("'-", "")
    assert db.scalar(select(JournalLine).limit(1)) is not None


def test_a_pending_refund_holds_its_credit_even_when_the_card_could_take_more(db):
    """Two invoices on one capture: a credit note's pending refund takes its credit, so a
    second click cannot refund the same credit note again from the capture's rest."""
    order = place(db, [("PAP-A4-80", 8)], key="pending-credit")
    first = invoicing.invoice_shipment(db, ship(db, order, {"PAP-A4-80": 2}), actor=CLERK)
    payment = receivables.record_card_capture(db, first, amount=order.gross_total,
                                              stripe_id="pi_2", key="cap-2", actor=CLERK)
    note = invoicing.issue_credit_note(db, first, lines=None, reason="returned", actor=CLERK)
    receivables.begin_card_refund(db, payment=payment, amount=note.gross_total, key="a",
                                  actor=CLERK, credit_note=note)
    assert receivables.refundable_to_card(db, payment) > note.gross_total
    with pytest.raises(BillingError, match="of credit is there"):
        receivables.begin_card_refund(db, payment=payment, amount=note.gross_total, key="b",
                                      actor=CLERK, credit_note=note)


def test_money_held_for_another_order_is_not_used_by_a_new_invoice(db, acme):
    card, code = sell_gift_card(db, D("500.00"), reference="CHQ")
    prepaid = place(db, [("PAP-A4-80", 2)], key="prepaid-b", customer=acme,
                    channel_code="web-b2b", payment_method="on_account")
    giftcards.redeem(db, code, prepaid.gross_total, actor=CLERK, order=prepaid, key="b-gift")
    other = place(db, [("PAP-A4-80", 1)], key="other-a", customer=acme, channel_code="web-b2b",
                  payment_method="on_account")
    invoice = invoicing.invoice_shipment(db, ship(db, other, {"PAP-A4-80": 1}), actor=CLERK)
    assert invoice.amount_open == invoice.gross_total  # B's gift card money stays with B
    own = invoicing.invoice_shipment(db, ship(db, prepaid, {"PAP-A4-80": 2}), actor=CLERK)
    assert own.amount_open == 0
    assert_books_reconcile(db)


def test_an_invoice_paid_by_transfer_after_its_card_failed_releases_the_collection_hold(db):
    from core.orders import holds
    order = place(db, [("PAP-A4-80", 2)], key="hold-then-transfer")
    invoice = invoicing.invoice_shipment(db, ship(db, order, {"PAP-A4-80": 2}), actor=CLERK)
    holds.place_hold(db, order, kind="payment_review", reason_code="capture_failed",
                     actor=CLERK, note="card declined")
    receivables.record_payment(db, customer_id=None, order_id=order.id, method="bank_transfer",
                               amount=invoice.gross_total - D("1.00"), currency="EUR",
                               received_on=TODAY, reference="SEPA guest", actor=CLERK,
                               allocations=[(invoice.id, invoice.gross_total - D("1.00"))])
    db.refresh(order)
    assert order.active_holds  # 1.00 still open
    receivables.write_off(db, invoice, D("1.00"), limit=D("5.00"), reason="rest", actor=CLERK)
    db.refresh(order)
    assert not order.active_holds
