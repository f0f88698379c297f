"""Which agent a single sign-on is: by the provider's issuer and subject, never by e-mail alone.

An e-mail address can change hands at the provider (renamed account, recycled mailbox,
another tenant), its subject cannot. The first single sign-on of an agent binds the
provider's (issuer, subject) to the active agent with the same, verified, e-mail; from then
on only that subject signs in as that agent. An administrator can bind or unbind ahead of
time (`flask agents bind-sso / unbind-sso`).
"""
from __future__ import annotations

from typing import NoReturn

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import audit
from core.agents.models import Agent
from core.agents.services import actor_for, find_agent_by_email
from core.errors import DomainError


class SsoRefused(DomainError):
    """Nobody may sign in with this identity; the message says why, fit to show."""

    code = "sso_refused"


def agent_for_identity(session: Session, *, issuer: str, subject: str, email: str,
                       email_verified: object) -> Agent:
    """The agent this provider identity signs in as, binding it on first use.

    Raises SsoRefused (audited as agent.sso_refused; the caller commits to keep the event).
    """
    if not issuer or not subject:
        _refuse(session, email, "no_subject", "Single sign-on did not complete. Please try again.")
    agent = session.scalar(select(Agent).where(Agent.sso_issuer == issuer,
                                               Agent.sso_subject == subject))
    if agent is not None:
        if not agent.active:
            _refuse(session, agent.email, "inactive",
                    f"No active console account uses the e-mail address {agent.email}. "
                    "Ask an administrator to give you access.")
        return agent
    return _bind_by_email(session, issuer=issuer, subject=subject, email=email,
                          email_verified=email_verified)


def _bind_by_email(session: Session, *, issuer: str, subject: str, email: str,
                   email_verified: object) -> Agent:
    if not email:
        raise SsoRefused("The single sign-on provider did not tell us your e-mail address, "
                         "so you cannot be signed in.")
    if email_verified is not True:
        _refuse(session, email, "email_not_verified",
                f"The provider has not verified the e-mail address {email}, "
                "so you cannot be signed in.")
    agent = find_agent_by_email(session, email)
    if agent is None or not agent.active:
        _refuse(session, email, "unknown_email" if agent is None else "inactive",
                f"No active console account uses the e-mail address {email}. "
                "Ask an administrator to give you access.")
    # Bind only an agent no identity holds yet, in one conditional UPDATE: two first
    # sign-ins racing cannot both win.
    bound = session.execute(
        update(Agent).where(Agent.id == agent.id, Agent.sso_subject.is_(None))
        .values(sso_issuer=issuer, sso_subject=subject)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if not bound:
        _refuse(session, email, "other_subject",
                f"The console account {agent.email} is linked to another single sign-on "
                "identity, so this one cannot sign in as it. Ask an administrator.",
                subject=agent, issuer=issuer, sso_subject=subject)
    session.refresh(agent, ["sso_issuer", "sso_subject"])
    audit.record(session, "agent.sso_bound", actor=actor_for(agent), channel="console",
                 subject=agent, data={"issuer": issuer, "subject": subject, "by": "email"})
    return agent


def bind(session: Session, agent: Agent, *, issuer: str, subject: str,
         actor: audit.Actor) -> None:
    """An administrator binds `agent` to a provider identity ahead of its first sign-in."""
    issuer, subject = issuer.strip(), subject.strip()
    if not issuer or not subject:
        raise SsoRefused("Give both the issuer and the subject.")
    other = session.scalar(select(Agent).where(Agent.sso_issuer == issuer,
                                               Agent.sso_subject == subject,
                                               Agent.id != agent.id))
    if other is not None:
        raise SsoRefused(f"That identity is already bound to {other.email}.")
    agent.sso_issuer, agent.sso_subject = issuer, subject
    audit.record(session, "agent.sso_bound", actor=actor, channel="console", subject=agent,
                 data={"issuer": issuer, "subject": subject, "by": "admin"})
    session.flush()


def unbind(session: Session, agent: Agent, *, actor: audit.Actor) -> None:
    """Forget the agent's provider identity: its next single sign-on binds by e-mail again."""
    audit.record(session, "agent.sso_unbound", actor=actor, channel="console", subject=agent,
                 data={"issuer": agent.sso_issuer, "subject": agent.sso_subject})
    agent.sso_issuer = agent.sso_subject = None
    session.flush()


def _refuse(session: Session, email: str, reason: str, message: str, *,
            subject: Agent | None = None, **data: str) -> NoReturn:
    audit.record(session, "agent.sso_refused", actor=audit.Actor.anonymous(), channel="console",
                 subject=subject, data={"email": email, "reason": reason, **data})
    raise SsoRefused(message)
