"""Credit control and collections: credit limit changes, promises to pay, disputes, the
collector's calls and follow-up tasks, dunning levels, runs and letters, and the record of
statements sent.

Statuses move only through core.credit.states.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, Column, Date, ForeignKey, Index, String, Table, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Amount, Base, UTCDateTime, utcnow


class CreditLimitChange(Base):
    """One change of a customer's credit limit or review date: the credit page's history."""

    __tablename__ = "credit_limit_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    limit_before: Mapped[Decimal | None] = mapped_column(Amount())
    limit_after: Mapped[Decimal | None] = mapped_column(Amount())
    review_before: Mapped[dt.date | None] = mapped_column(Date)
    review_after: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(300), default="")
    changed_by: Mapped[str] = mapped_column(String(200), default="")
    changed_by_id: Mapped[int | None]
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


promise_invoices = Table(
    "promise_to_pay_invoices", Base.metadata,
    Column("promise_id", ForeignKey("promises_to_pay.id", ondelete="CASCADE"),
           primary_key=True),
    Column("invoice_id", ForeignKey("invoices.id"), primary_key=True, index=True),
)


class PromiseToPay(Base):
    """The customer's word that `amount` will be paid by `promised_for`, covering some of
    their open invoices (no dunning letter goes to those while it is open). Kept when
    payments allocated to them since it was made reach the amount; broken the day after its
    date passes short."""

    __tablename__ = "promises_to_pay"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Amount())
    currency: Mapped[str] = mapped_column(String(3))
    promised_for: Mapped[dt.date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    note: Mapped[str] = mapped_column(String(500), default="")
    made_by: Mapped[str] = mapped_column(String(200), default="")
    made_by_id: Mapped[int | None]
    made_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    settled_on: Mapped[dt.date | None] = mapped_column(Date)  # when kept, broken or cancelled
    # The form's key (one per page): a second submit of the same form makes no second promise.
    key: Mapped[str | None] = mapped_column(String(80), unique=True)

    invoices: Mapped[list["Invoice"]] = relationship(  # noqa: F821 (core.billing.models)
        secondary=promise_invoices, order_by="Invoice.due_date")


class Dispute(Base):
    """A customer's objection to an invoice: dunning pauses for it while open; someone is
    assigned to resolve it."""

    __tablename__ = "invoice_disputes"
    __table_args__ = (
        # At most one open dispute per invoice (a second is refused, even submitted twice at once).
        Index("uq_invoice_disputes_open_invoice", "invoice_id", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    amount: Mapped[Decimal | None] = mapped_column(Amount())  # None: the whole invoice
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    opened_by: Mapped[str] = mapped_column(String(200), default="")
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_by: Mapped[str] = mapped_column(String(200), default="")
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolution: Mapped[str] = mapped_column(String(500), default="")

    invoice: Mapped["Invoice"] = relationship()  # noqa: F821


class CollectionContact(Base):
    """One call (or e-mail, letter, visit) of a collector about an account, and its outcome."""

    __tablename__ = "collection_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20), default="phone")  # phone | email | letter | visit
    # reached | no_answer | left_message | wrong_number | promised | disputed | refused
    outcome: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(1000), default="")
    promise_id: Mapped[int | None] = mapped_column(ForeignKey("promises_to_pay.id"))
    by: Mapped[str] = mapped_column(String(200), default="")
    by_id: Mapped[int | None]
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class CollectionTask(Base):
    """A follow-up for an agent about an account, due on a day."""

    __tablename__ = "collection_tasks"
    __table_args__ = (Index("ix_collection_tasks_agent_status_due", "agent_id", "status",
                            "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    due_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)  # open | done | cancelled
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    done_by: Mapped[str] = mapped_column(String(200), default="")
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class DunningLevel(Base):
    """A step of the collection letters: from `days_overdue` on, an invoice gets this
    level's letter (reminder, first, second, final), with its fee; `charges_interest` adds
    an interest note at the DUNNING_INTEREST_RATE."""

    __tablename__ = "dunning_levels"
    __table_args__ = (CheckConstraint("fee >= 0", name="fee_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[int] = mapped_column(unique=True)  # 1 reminder, 2 first, 3 second, 4 final
    name: Mapped[str] = mapped_column(String(60))
    days_overdue: Mapped[int]
    fee: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))  # customer's currency
    charges_interest: Mapped[bool] = mapped_column(default=False)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(4000))  # the letter's text, with {placeholders}


class DunningRun(Base):
    """A background job that looks at every overdue invoice on `as_of` and proposes letters;
    the credit controller reviews them, removes some and sends the rest."""

    __tablename__ = "dunning_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    # queued | running | proposed | sending | sent | cancelled | failed
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    total: Mapped[int] = mapped_column(default=0)  # accounts to look at
    done: Mapped[int] = mapped_column(default=0)  # accounts looked at (progress)
    skipped: Mapped[list] = mapped_column(JSON, default=list)  # [{invoice, customer, reason}]
    error: Mapped[str] = mapped_column(String(1000), default="")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None]
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    sent_by: Mapped[str] = mapped_column(String(200), default="")
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    letters: Mapped[list["DunningLetter"]] = relationship(
        back_populates="run", order_by="DunningLetter.id", cascade="all, delete-orphan")


class DunningLetter(Base):
    """One proposed collection letter to a customer: the invoices it names, its level (the
    highest of theirs), fee and interest; once sent, the fee and interest are posted as a
    document (`charges_invoice_id`) and the invoices' levels go up."""

    __tablename__ = "dunning_letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("dunning_runs.id", ondelete="CASCADE"),
                                        index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    level: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    amount_overdue: Mapped[Decimal] = mapped_column(Amount())
    fee: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    interest: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    email: Mapped[str] = mapped_column(String(254), default="")
    # proposed | removed | sent | failed
    status: Mapped[str] = mapped_column(String(20), default="proposed", index=True)
    charges_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"))
    # The level's subject and text as sent (a later edit of the level rewrites no sent letter).
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(String(4000), default="")
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    emailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    run: Mapped[DunningRun] = relationship(back_populates="letters")
    items: Mapped[list["DunningLetterItem"]] = relationship(
        back_populates="letter", order_by="DunningLetterItem.id", cascade="all, delete-orphan")


class DunningLetterItem(Base):
    __tablename__ = "dunning_letter_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("dunning_letters.id", ondelete="CASCADE"),
                                           index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    level: Mapped[int]  # the level this letter takes the invoice to
    days_overdue: Mapped[int]
    amount_open: Mapped[Decimal] = mapped_column(Amount())
    interest: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))

    letter: Mapped[DunningLetter] = relationship(back_populates="items")
    invoice: Mapped["Invoice"] = relationship()  # noqa: F821


class StatementSend(Base):
    """A statement of account e-mailed for a period: one row per e-mail. The monthly job's
    rows carry a `key` ("monthly:<customer id>:<period end>"), unique, so it sends each
    month once; a statement e-mailed on demand has none (any period, as often as asked)."""

    __tablename__ = "statement_sends"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="monthly")  # monthly | on_demand
    key: Mapped[str | None] = mapped_column(String(80), unique=True)
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    email: Mapped[str] = mapped_column(String(254), default="")
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
