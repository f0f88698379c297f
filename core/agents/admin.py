"""Console users for administrators: list, create, change roles, deactivate (their sessions
end) and reactivate. The CLI (callcenter/cli.py) stays for the first administrator."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, labels
from core.agents.models import Agent
from core.agents.services import create_agent, parse_roles
from core.auth.services import end_all_sessions
from core.errors import InvalidInput

MIN_PASSWORD = 10


def agents(session: Session) -> list[Agent]:
    """Every console user, active first, by name: one query."""
    return list(session.scalars(select(Agent).order_by(Agent.active.desc(), Agent.full_name,
                                                       Agent.email)))


def add_agent(session: Session, *, email: str, full_name: str, password: str | None,
              roles: list[str], actor: audit.Actor) -> Agent:
    """A new console user with an initial password (or none: single sign-on only)."""
    if not (email or "").strip() or "@" not in email:
        raise InvalidInput("Enter the person's e-mail address.", field="email")
    if not (full_name or "").strip():
        raise InvalidInput("Enter the person's name.", field="full_name")
    if password and len(password) < MIN_PASSWORD:
        raise InvalidInput(f"An initial password has at least {MIN_PASSWORD} characters.",
                           field="password")
    if not roles:
        raise InvalidInput("Choose at least one role.", field="roles")
    return create_agent(session, email=email, full_name=full_name, password=password or None,
                        roles=roles, actor=actor)


def set_roles(session: Session, agent: Agent, roles: list[str], *, actor: audit.Actor) -> None:
    """Give the agent these roles; an administrator cannot take admin from themself."""
    if not roles:
        raise InvalidInput("Choose at least one role.", field="roles")
    wanted = ",".join(parse_roles(roles))
    if actor.id == agent.id and "admin" in agent.roles and "admin" not in wanted.split(","):
        raise InvalidInput("You cannot take the admin role from yourself.", field="roles")
    if wanted != agent.roles_text:
        audit.record(session, "agent.roles_changed", actor=actor, channel="console",
                     subject=agent, data={"from": agent.roles_text, "to": wanted})
        agent.roles_text = wanted
        session.flush()


def set_active(session: Session, agent: Agent, active: bool, *, actor: audit.Actor) -> None:
    """Deactivate (every session of theirs ends, they cannot sign in) or reactivate."""
    if not active and actor.id == agent.id:
        raise InvalidInput("You cannot deactivate yourself.", field="active")
    if agent.active == active:
        return
    agent.active = active
    if not active:
        end_all_sessions(session, realm="agent", user_id=agent.id)
    audit.record(session, "agent.activated" if active else "agent.deactivated", actor=actor,
                 channel="console", subject=agent, data={"email": agent.email})
    session.flush()


def set_time_zone(session: Session, agent: Agent, name: str | None, *,
                  actor: audit.Actor) -> None:
    """The zone the console shows this agent's times in; None: the console's (CONSOLE_TIMEZONE).
    The business day (what "today" is, a day's bounds) stays the console's for everyone."""
    name = (name or "").strip() or None
    if name is not None and name not in labels.time_zones():
        raise InvalidInput("Choose a time zone from the list.", field="time_zone")
    if name == agent.time_zone:
        return
    audit.record(session, "agent.time_zone_changed", actor=actor, channel="console",
                 subject=agent, data={"from": agent.time_zone, "to": name})
    agent.time_zone = name
    session.flush()
