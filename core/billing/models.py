"""Receivables: invoices and credit notes, payments, allocations, refunds, gift cards and
the double-entry ledger they post to.

Open items: an invoice's `amount_open` is what the customer still owes on it; a payment's
`amount_unallocated` and a credit note's `amount_open` are money held for the customer
(customer credit, or an order's prepayment). The ledger is the source of truth and these
columns are kept with it in the same transaction, so that
  receivables account   == sum of invoices' amount_open
  customer deposits     == sum of payments' amount_unallocated + credit notes' amount_open
  gift-card liability   == sum of gift cards' balance
hold at every commit (tests/unit/test_billing_stateful.py checks them).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Amount, Base, UTCDateTime, utcnow


class Account(Base):
    """A ledger account of the chart of accounts (seeded by core.billing.ledger.CHART)."""

    __tablename__ = "ledger_accounts"

    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # asset | liability | revenue | contra_revenue | expense
    type: Mapped[str] = mapped_column(String(20))


class JournalEntry(Base):
    """One financial event. Its lines balance (debits == credits); once posted neither the
    entry nor its lines ever change: a mistake is corrected by a reversing entry."""

    __tablename__ = "journal_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    posted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # invoice | credit_note | payment | allocation | refund | write_off | cash_discount |
    # gift_card_sale | gift_card_redemption | reversal
    kind: Mapped[str] = mapped_column(String(30), index=True)
    reference: Mapped[str] = mapped_column(String(60), default="", index=True)
    memo: Mapped[str] = mapped_column(String(300), default="")
    currency: Mapped[str] = mapped_column(String(3))
    actor: Mapped[str] = mapped_column(String(200), default="")
    reversal_of_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"),
                                                       unique=True)

    lines: Mapped[list["JournalLine"]] = relationship(back_populates="entry",
                                                      order_by="JournalLine.id")


class JournalLine(Base):
    __tablename__ = "journal_lines"
    __table_args__ = (
        CheckConstraint("debit >= 0 AND credit >= 0", name="amounts_not_negative"),
        CheckConstraint("NOT (debit > 0 AND credit > 0)", name="one_side"),
        Index("ix_journal_lines_account_customer", "account_code", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    account_code: Mapped[str] = mapped_column(ForeignKey("ledger_accounts.code"))
    debit: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    credit: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))

    entry: Mapped[JournalEntry] = relationship(back_populates="lines")


class Invoice(Base):
    """An invoice or (kind == "credit_note") a credit note. Issued documents never change
    their lines or totals; only `amount_open` and `status` move, with allocations."""

    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint("amount_open >= 0", name="open_not_negative"),
        Index("ix_invoices_customer_status", "customer_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="invoice")  # invoice | credit_note
    number: Mapped[str] = mapped_column(String(20), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id"), unique=True)
    credited_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"),
                                                            index=True)
    email: Mapped[str] = mapped_column(String(254), default="")
    bill_to: Mapped[dict] = mapped_column(JSON, default=dict)
    currency: Mapped[str] = mapped_column(String(3))
    prices_include_tax: Mapped[bool] = mapped_column(default=True)
    payment_method: Mapped[str] = mapped_column(String(20), default="card")  # card | on_account
    terms: Mapped[str] = mapped_column(String(20), default="card")
    issue_date: Mapped[dt.date] = mapped_column(Date, index=True)
    due_date: Mapped[dt.date] = mapped_column(Date, index=True)
    cash_discount_percent: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    cash_discount_until: Mapped[dt.date | None] = mapped_column(Date)
    net_total: Mapped[Decimal] = mapped_column(Amount())
    tax_total: Mapped[Decimal] = mapped_column(Amount())
    gross_total: Mapped[Decimal] = mapped_column(Amount())
    amount_open: Mapped[Decimal] = mapped_column(Amount())
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)  # open | partially_paid | paid
    reason: Mapped[str] = mapped_column(String(300), default="")  # a credit note's reason
    memo: Mapped[str] = mapped_column(String(1000), default="")
    issued_by: Mapped[str] = mapped_column(String(200), default="")
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    emailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    # Collections (core.credit.dunning): the last collection letter's level (0: none yet)
    # and when it was sent.
    dunning_level: Mapped[int] = mapped_column(default=0)
    dunned_on: Mapped[dt.date | None] = mapped_column(Date)

    lines: Mapped[list["InvoiceLine"]] = relationship(back_populates="invoice",
                                                      order_by="InvoiceLine.id",
                                                      cascade="all, delete-orphan")
    tax_lines: Mapped[list["InvoiceTax"]] = relationship(order_by="InvoiceTax.rate",
                                                         cascade="all, delete-orphan")

    @property
    def is_credit_note(self) -> bool:
        return self.kind == "credit_note"


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"),
                                            index=True)
    # goods | shipping | service | fee | dunning_fee | interest
    kind: Mapped[str] = mapped_column(String(20), default="goods")
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id"), index=True)
    credited_line_id: Mapped[int | None] = mapped_column(ForeignKey("invoice_lines.id"))
    sku: Mapped[str] = mapped_column(String(64), default="")
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(Amount())  # in the document's price mode
    discount: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))  # promotions, same mode
    net: Mapped[Decimal] = mapped_column(Amount())
    tax_rate: Mapped[Decimal] = mapped_column(Amount())
    tax: Mapped[Decimal] = mapped_column(Amount())
    gross: Mapped[Decimal] = mapped_column(Amount())

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class InvoiceTax(Base):
    """A document's tax summary: one row per rate (what the law wants printed)."""

    __tablename__ = "invoice_taxes"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"),
                                            index=True)
    rate: Mapped[Decimal] = mapped_column(Amount())
    net: Mapped[Decimal] = mapped_column(Amount())
    tax: Mapped[Decimal] = mapped_column(Amount())


class CreditNoteRequest(Base):
    """A credit note, or an invoice's cancellation, beyond what its requester may credit
    alone: it waits for an agent with the credit or supervisor role (not the requester),
    who approves it (the credit note is issued then, as it would have been) or rejects it.
    Its status moves only through CREDIT_REQUEST_MOVES (core.billing.credit_requests.move).
    """

    __tablename__ = "credit_note_requests"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="credit_note")  # credit_note | cancellation
    # invoice line id (as text) -> quantity to credit; None credits everything left
    lines: Mapped[dict | None] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(300))
    amount: Mapped[Decimal] = mapped_column(Amount())  # what it credits, when requested
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default="requested", index=True)
    requested_by: Mapped[str] = mapped_column(String(200))  # the agent's label
    requested_by_id: Mapped[int | None]  # the agent's id
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by: Mapped[str] = mapped_column(String(200), default="")
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str] = mapped_column(String(300), default="")
    credit_note_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"))

    invoice: Mapped[Invoice] = relationship(foreign_keys=[invoice_id])

    @property
    def status_label(self) -> str:
        return CreditRequestStatus(self.status).label

    @property
    def line_quantities(self) -> dict[int, int] | None:
        """The lines to credit as issue_credit_note takes them; None: everything left."""
        return None if self.lines is None else {int(k): int(v) for k, v in self.lines.items()}


class CreditRequestStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return {"requested": "Awaiting approval", "approved": "Approved",
                "rejected": "Rejected"}[self.value]


# The request's transition table: the only moves its status makes.
CREDIT_REQUEST_MOVES: dict[CreditRequestStatus, set[CreditRequestStatus]] = {
    CreditRequestStatus.REQUESTED: {CreditRequestStatus.APPROVED, CreditRequestStatus.REJECTED},
    CreditRequestStatus.APPROVED: set(),
    CreditRequestStatus.REJECTED: set(),
}


class GiftCardRequest(Base):
    """A gift card sale out of a bank transfer or cheque that the seller recorded
    themselves: nothing is issued on one person's word that the money came in. It waits for
    an agent with the credit or supervisor role (not the seller), who confirms the receipt
    (the card is issued then, and its code made, shown to them once and e-mailed) or
    rejects it. While it waits, its amount of the payment is held for it. Its status moves
    through the credit-note requests' table (CREDIT_REQUEST_MOVES: requested -> approved |
    rejected), by core.billing.giftcard_requests.move."""

    __tablename__ = "gift_card_requests"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Amount())
    currency: Mapped[str] = mapped_column(String(3))
    recipient_email: Mapped[str] = mapped_column(String(254), default="")
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="requested", index=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)  # the sale form's, one per page
    requested_by: Mapped[str] = mapped_column(String(200))  # the seller's label
    requested_by_id: Mapped[int | None]  # the seller's agent id
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by: Mapped[str] = mapped_column(String(200), default="")
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str] = mapped_column(String(300), default="")
    gift_card_id: Mapped[int | None] = mapped_column(ForeignKey("gift_cards.id"))

    payment: Mapped["Payment"] = relationship(foreign_keys=[payment_id])

    @property
    def status_label(self) -> str:
        return CreditRequestStatus(self.status).label


class Payment(Base):
    """Money received: a card capture, a bank transfer, a cheque, a gift card redemption.
    What is not allocated to invoices is held for the customer (or the order it prepays)."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("amount_unallocated >= 0", name="unallocated_not_negative"),
        CheckConstraint("amount_refunded >= 0 AND amount_refunded <= amount",
                        name="refunds_within_amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    method: Mapped[str] = mapped_column(String(20))  # card | bank_transfer | cheque | gift_card
    amount: Mapped[Decimal] = mapped_column(Amount())
    amount_unallocated: Mapped[Decimal] = mapped_column(Amount())
    amount_refunded: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(3))
    received_on: Mapped[dt.date] = mapped_column(Date, index=True)
    reference: Mapped[str] = mapped_column(String(120), default="")  # bank ref, cheque no.
    stripe_id: Mapped[str | None] = mapped_column(String(80), index=True)  # PaymentIntent
    key: Mapped[str | None] = mapped_column(String(80), unique=True)  # idempotency of recording
    gift_card_id: Mapped[int | None] = mapped_column(ForeignKey("gift_cards.id"))
    recorded_by: Mapped[str] = mapped_column(String(200), default="")
    recorded_by_id: Mapped[int | None]  # the agent who recorded it (None: system, or older)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))


class Allocation(Base):
    """Part of an invoice settled by a payment, a credit note, customer credit, a write-off
    or a cash discount."""

    __tablename__ = "allocations"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    # payment | credit_note | write_off | cash_discount
    kind: Mapped[str] = mapped_column(String(20))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    credit_note_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Amount())
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    by: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(String(300), default="")
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))


class Refund(Base):
    """Money paid back out of a payment's unallocated part or a credit note's open amount
    (customer credit): to the card it came from, to the gift card it came from, or by bank
    transfer."""

    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    credit_note_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    method: Mapped[str] = mapped_column(String(20))  # card | bank_transfer | gift_card
    amount: Mapped[Decimal] = mapped_column(Amount())
    currency: Mapped[str] = mapped_column(String(3))
    # pending (recorded before Stripe is called) | succeeded | failed
    status: Mapped[str] = mapped_column(String(20), default="succeeded")
    reference: Mapped[str] = mapped_column(String(120), default="")
    stripe_id: Mapped[str | None] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(80), unique=True)
    reason: Mapped[str] = mapped_column(String(300), default="")
    recorded_by: Mapped[str] = mapped_column(String(200), default="")
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))


class GiftCard(Base):
    """A prepaid card: its code is shown once when sold (and e-mailed); only a hash and the
    last four characters are kept. The balance moves only by conditional UPDATE, with a
    movement row and a journal entry in the same transaction."""

    __tablename__ = "gift_cards"
    __table_args__ = (CheckConstraint("balance >= 0", name="balance_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last4: Mapped[str] = mapped_column(String(4))
    currency: Mapped[str] = mapped_column(String(3))
    initial_amount: Mapped[Decimal] = mapped_column(Amount())
    balance: Mapped[Decimal] = mapped_column(Amount())
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    recipient_email: Mapped[str] = mapped_column(String(254), default="")
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(default=True)
    sold_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class GiftCardMovement(Base):
    __tablename__ = "gift_card_movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    gift_card_id: Mapped[int] = mapped_column(ForeignKey("gift_cards.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # issue | redeem | refund
    amount: Mapped[Decimal] = mapped_column(Amount())  # + adds to the balance, - takes
    reference: Mapped[str] = mapped_column(String(60), default="")
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    # issue: the recorded payment (transfer or cheque) whose money bought the card
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
