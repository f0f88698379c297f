"""Customer, CustomerUser (a login), PasswordReset and EmailConfirmation."""
from __future__ import annotations

import datetime as dt

from decimal import Decimal

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Amount, Base, UTCDateTime, utcnow


class Customer(Base):
    """Who buys: a person (B2C) or a company (B2B) whose buyers sign in as users."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(10), default="person")  # person | company
    name: Mapped[str] = mapped_column(String(200), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    phone: Mapped[str] = mapped_column(String(40), default="")
    phone_digits: Mapped[str] = mapped_column(String(40), default="", index=True)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    price_group: Mapped[str] = mapped_column(String(40), default="retail")
    payment_terms: Mapped[str] = mapped_column(String(40), default="card")  # card | net30 | ...
    on_account_allowed: Mapped[bool] = mapped_column(default=False)
    # Most the customer may owe us at once (open receivables plus confirmed on-account orders
    # not yet invoiced, core.credit); None: no limit set.
    credit_limit: Mapped[Decimal | None] = mapped_column(Amount())
    # When the credit team next looks at the limit (core.credit.limits); past due, orders on
    # account wait on a credit hold. None: no review planned.
    credit_review_on: Mapped[dt.date | None] = mapped_column(Date)
    # The buyer's VAT identification number (printed on invoices, carried in the e-invoice).
    vat_id: Mapped[str] = mapped_column(String(30), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="", index=True)  # for search
    stripe_customer_id: Mapped[str | None] = mapped_column(String(80))  # saved cards
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    users: Mapped[list["CustomerUser"]] = relationship(back_populates="customer")

    @property
    def is_company(self) -> bool:
        return self.kind == "company"


class CustomerUser(Base):
    """A login in the storefront, belonging to one customer."""

    __tablename__ = "customer_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="buyer")  # buyer | approver | admin
    active: Mapped[bool] = mapped_column(default=True)
    # A company buyer's spending limits (gross, the customer's currency): an order above
    # either waits for an approver (core.customers.roles). None: no limit.
    order_limit: Mapped[Decimal | None] = mapped_column(Amount())
    monthly_limit: Mapped[Decimal | None] = mapped_column(Amount())
    phone: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When the person proved the address is theirs. A login made by staff or the demo data
    # counts as confirmed when made; one a person registers in the shop starts without
    # (None) and cannot sign in until the link e-mailed to it is followed (or a password
    # reset link, which proves the same).
    email_confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    customer: Mapped[Customer] = relationship(back_populates="users", lazy="joined")

    def __init__(self, **kwargs):
        # Confirmed unless the maker says otherwise (email_confirmed_at=None): a column
        # default would not do, as the ORM lets a default replace an explicit None.
        kwargs.setdefault("email_confirmed_at", utcnow())
        super().__init__(**kwargs)

    @property
    def email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None


class SingleUseLink:
    """The columns of a single-use link mailed to a login: only the token's hash is stored."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("customer_users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class PasswordReset(SingleUseLink, Base):
    """A single-use reset link."""

    __tablename__ = "password_resets"


class EmailConfirmation(SingleUseLink, Base):
    """A single-use link that confirms a new login's e-mail address."""

    __tablename__ = "email_confirmations"

    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BuyerInvitation(SingleUseLink, Base):
    """A single-use link that lets an invited buyer choose a password (and so confirms the
    address it was sent to)."""

    __tablename__ = "buyer_invitations"

    invited_by: Mapped[str] = mapped_column(String(200), default="")  # the actor's label
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EmailChange(SingleUseLink, Base):
    """A single-use link sent to a new address: following it makes it the login's e-mail."""

    __tablename__ = "email_changes"

    new_email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CustomerAddress(Base):
    """An address in a customer's book; one may be the default for shipping."""

    __tablename__ = "customer_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    customer: Mapped[Customer] = relationship()
    label: Mapped[str] = mapped_column(String(60), default="")
    full_name: Mapped[str] = mapped_column(String(200))
    company: Mapped[str] = mapped_column(String(200), default="")
    line1: Mapped[str] = mapped_column(String(200))
    line2: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100))
    postal_code: Mapped[str] = mapped_column(String(20), index=True)
    region: Mapped[str] = mapped_column(String(10), default="")
    country: Mapped[str] = mapped_column(String(2))
    phone: Mapped[str] = mapped_column(String(40), default="")
    default_shipping: Mapped[bool] = mapped_column(default=False)
    default_billing: Mapped[bool] = mapped_column(default=False)

    def as_dict(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in ("full_name", "company", "line1", "line2", "city",
                                               "postal_code", "region", "country", "phone")}


class CustomerNote(Base):
    """A note an agent keeps on a customer."""

    __tablename__ = "customer_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    text: Mapped[str] = mapped_column(String(2000))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Interaction(Base):
    """One contact with a customer: a call, its reason and its outcome."""

    __tablename__ = "interactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    channel: Mapped[str] = mapped_column(String(20), default="phone")  # phone | email | chat
    reason: Mapped[str] = mapped_column(String(60))  # order | status | return | billing | other
    outcome: Mapped[str] = mapped_column(String(60))  # resolved | order_placed | follow_up | ...
    note: Mapped[str] = mapped_column(String(2000), default="")
    order_number: Mapped[str] = mapped_column(String(20), default="")
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
