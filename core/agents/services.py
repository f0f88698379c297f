"""Commands on agents: create, sign in."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.agents.models import ROLES, Agent
from core.auth import services as auth
from core.auth.passwords import hash_password
from core.auth.services import normalise_email
from core.errors import DomainError, InvalidInput


class AgentExists(DomainError):
    code = "agent_exists"


def parse_roles(raw: str | list[str]) -> list[str]:
    """Roles from 'agent,supervisor' or a list; unknown roles are refused by name."""
    items = raw.split(",") if isinstance(raw, str) else raw
    roles = [r.strip().lower() for r in items if r.strip()]
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise InvalidInput(f"Unknown role {', '.join(unknown)}; roles are {', '.join(ROLES)}.",
                           field="roles")
    return roles or ["agent"]


def create_agent(session: Session, *, email: str, full_name: str, password: str | None,
                 roles: str | list[str], actor: audit.Actor) -> Agent:
    """Create an agent; a None password means single sign-on only."""
    email = normalise_email(email)
    if session.scalar(select(Agent.id).where(Agent.email == email)) is not None:
        raise AgentExists(f"An agent with e-mail {email} already exists.", field="email")
    agent = Agent(email=email, full_name=full_name.strip() or email,
                  password_hash=hash_password(password) if password else None,
                  roles_text=",".join(parse_roles(roles)))
    session.add(agent)
    session.flush()
    audit.record(session, "agent.created", actor=actor, channel="console", subject=agent,
                 data={"email": email, "roles": agent.roles_text})
    return agent


def all_agents(session: Session) -> list[Agent]:
    """Every agent, by e-mail."""
    return list(session.scalars(select(Agent).order_by(Agent.email)))


def find_agent_by_email(session: Session, email: str) -> Agent | None:
    return session.scalar(select(Agent).where(Agent.email == email.strip().lower()))


def actor_for(agent: Agent) -> audit.Actor:
    return audit.Actor("agent", agent.id, agent.email)


def authenticate(session: Session, *, email: str, password: str, remote_addr: str | None,
                 limit: int, commit=None) -> Agent:
    """The agent whose password this is; throttled (core.auth.services.sign_in). `commit`
    is called once the attempt is counted, before the password is hashed."""
    agent = find_agent_by_email(session, email)
    return auth.sign_in(session, realm="agent", user=agent, email=email, password=password,
                        remote_addr=remote_addr, limit=limit, commit=commit)
