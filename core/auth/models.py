"""Tables behind sign-in: server-side sessions. (Sign-in throttling counts in
core.ratelimit's rate_counters.)"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow


class LoginSession(Base):
    """One signed-in session. The cookie carries its random id; signing out deletes it."""

    __tablename__ = "login_sessions"
    __table_args__ = (Index("ix_login_sessions_realm_user", "realm", "user_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    realm: Mapped[str] = mapped_column(String(20))  # "customer" | "agent"
    user_id: Mapped[int]
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # The last request seen (updated at most about once a minute): console sessions end
    # after CONSOLE_IDLE_MINUTES without one.
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user_agent: Mapped[str] = mapped_column(String(300), default="")
