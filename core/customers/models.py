"""Customer, CustomerUser (a login) and PasswordReset."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow


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
    payment_terms: Mapped[str] = mapped_column(String(40), default="card")
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
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="users", lazy="joined")


class PasswordReset(Base):
    """A single-use reset link; only the token's hash is stored."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("customer_users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
