"""Agent: a person who signs in to the console, with one or more roles."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Amount, Base, UTCDateTime, utcnow

ROLES = ("agent", "supervisor", "credit", "catalog", "warehouse", "billing", "admin")


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    roles_text: Mapped[str] = mapped_column("roles", String(200), default="agent")
    max_discount_percent: Mapped[Decimal | None] = mapped_column(Amount())
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(r for r in self.roles_text.split(",") if r)

    def has_role(self, *roles: str) -> bool:
        """True when the agent holds any of `roles`; admin holds them all."""
        return "admin" in self.roles or bool(self.roles.intersection(roles))
