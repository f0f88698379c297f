"""Payment attempts (one PaymentIntent each, recorded before Stripe is called) and the
Stripe events received, stored by id so each is processed once."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Amount, Base, UTCDateTime, utcnow


class PaymentAttempt(Base):
    __tablename__ = "payment_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)  # idempotency key sent to Stripe
    stripe_id: Mapped[str | None] = mapped_column(String(80), unique=True)
    amount: Mapped[Decimal] = mapped_column(Amount())
    amount_captured: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    amount_refunded: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(3))
    # creating | requires_action | authorised | captured | failed | cancelled
    status: Mapped[str] = mapped_column(String(20), default="creating")
    moto: Mapped[bool] = mapped_column(default=False)
    # order (authorise the order at checkout) | shipment (charge a later shipment)
    # | invoice (a customer paying an open invoice)
    purpose: Mapped[str] = mapped_column(String(20), default="order")
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    payment_method_id: Mapped[str | None] = mapped_column(String(80))  # pm_... (saved card)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(80))
    captured_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    order: Mapped["Order"] = relationship()  # noqa: F821 (core.orders.models)


class StripeEvent(Base):
    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # evt_...
    type: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(200), default="")
