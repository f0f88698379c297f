"""Agent: a person who signs in to the console, with one or more roles."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Amount, Base, UTCDateTime, utcnow

ROLES = ("agent", "supervisor", "credit", "catalog", "warehouse", "billing", "manager",
         "admin")
# Roles that move money, grant access or see every customer's figures: with CONSOLE_REQUIRE_MFA
# they sign in in two steps.
MFA_ROLES = ("supervisor", "credit", "billing", "manager", "admin")


class Agent(Base):
    __tablename__ = "agents"
    __table_args__ = (UniqueConstraint("sso_issuer", "sso_subject", name="uq_agents_sso"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    roles_text: Mapped[str] = mapped_column("roles", String(200), default="agent")
    max_discount_percent: Mapped[Decimal | None] = mapped_column(Amount())
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The IANA zone the console shows this agent's times in; None: CONSOLE_TIMEZONE.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    # Single sign-on: the identity provider's issuer and subject this agent is bound to.
    # Set on the first single sign-on (by verified e-mail) or by an administrator; from
    # then on only that subject signs in as this agent.
    sso_issuer: Mapped[str | None] = mapped_column(String(300))
    sso_subject: Mapped[str | None] = mapped_column(String(255))
    # Two-step sign-in: the authenticator app's TOTP secret, encrypted (core.agents.mfa),
    # the last time step accepted (a code is never accepted twice), and the run of wrong
    # codes that throttles guessing.
    totp_secret: Mapped[str | None] = mapped_column(String(500))
    totp_enabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    totp_last_step: Mapped[int | None]
    mfa_failures: Mapped[int] = mapped_column(default=0)
    mfa_failed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    @property
    def totp_enabled(self) -> bool:
        return self.totp_secret is not None

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(r for r in self.roles_text.split(",") if r)

    def has_role(self, *roles: str) -> bool:
        """True when the agent holds any of `roles`; admin holds them all."""
        return "admin" in self.roles or bool(self.roles.intersection(roles))


class RecoveryCode(Base):
    """A single-use code that stands in for the authenticator app; only its hash is kept."""

    __tablename__ = "agent_recovery_codes"
    __table_args__ = (Index("ix_agent_recovery_codes_agent_hash", "agent_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
