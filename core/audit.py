"""Audit events: who did what, through which channel, when, to which object."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, utcnow


@dataclass(frozen=True)
class Actor:
    """Who acts: a customer user, an agent, or the system itself."""

    kind: str  # "customer" | "agent" | "system" | "anonymous"
    id: int | None = None
    label: str = ""

    @classmethod
    def system(cls, label: str = "system") -> "Actor":
        return cls("system", None, label)

    @classmethod
    def anonymous(cls) -> "Actor":
        return cls("anonymous", None, "guest")


@dataclass(frozen=True)
class Entry:
    """The audit event of a state change, handed to a transition function (`audit=`), which
    records it with the moved object as its subject right after the table allowed the move
    and the status changed; an illegal move records nothing."""

    session: Session
    action: str
    actor: Actor
    channel: str
    data: dict[str, Any] | None = None

    def record(self, subject: object) -> "AuditEvent":
        return record(self.session, self.action, actor=self.actor, channel=self.channel,
                      subject=subject, data=self.data)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None]
    actor_label: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(80), index=True)
    subject_type: Mapped[str | None] = mapped_column(String(60))
    subject_id: Mapped[str | None] = mapped_column(String(60))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def record(session: Session, action: str, *, actor: Actor, channel: str,
           subject: object | None = None, data: dict[str, Any] | None = None) -> AuditEvent:
    """Add an audit event to the session; it is written with the caller's transaction."""
    subject_type = subject_id = None
    if subject is not None:
        subject_type = getattr(subject, "__tablename__", type(subject).__name__)
        subject_id = str(getattr(subject, "id", subject))
    event = AuditEvent(
        actor_kind=actor.kind, actor_id=actor.id, actor_label=actor.label, channel=channel,
        action=action, subject_type=subject_type, subject_id=subject_id, data=data or {},
        at=utcnow(),
    )
    session.add(event)
    return event
