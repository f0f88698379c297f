"""`flask --app wsgi:callcenter agents ...`: manage console accounts."""
from __future__ import annotations

from collections.abc import Callable

import click
from flask.cli import AppGroup

from core.agents import mfa
from core.agents import services as agent_services
from core.agents import sso
from core.agents.models import ROLES, Agent
from core.audit import Actor
from core.errors import DomainError
from core.web.db import db_session


@click.group("agents", cls=AppGroup)
def agents():
    """Manage console agents."""


@agents.command("create")
@click.option("--email", required=True, help="The agent's e-mail; also the sign-in name.")
@click.option("--name", "full_name", required=True, help="Full name shown in the console.")
@click.option("--role", "roles", multiple=True, default=["agent"], show_default=True,
              type=click.Choice(ROLES), help="Repeat for several roles.")
@click.option("--password", default=None, help="Omit to be asked (hidden input).")
@click.option("--sso-only", is_flag=True, help="No password: sign in by single sign-on only.")
def create(email: str, full_name: str, roles: tuple[str, ...], password: str | None,
           sso_only: bool):
    """Create an agent with roles."""
    if not sso_only and password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        agent = agent_services.create_agent(db_session, email=email, full_name=full_name,
                                            password=None if sso_only else password,
                                            roles=list(roles), actor=Actor.system("cli"))
    except DomainError as err:
        raise click.ClickException(str(err)) from None
    db_session.commit()
    click.echo(f"Created agent {agent.email} with roles {agent.roles_text}.")


@agents.command("list")
def list_agents():
    """List agents and their roles."""
    for agent in agent_services.all_agents(db_session):
        state = "" if agent.active else " (inactive)"
        click.echo(f"{agent.email}\t{agent.full_name}\t{agent.roles_text}{state}")


def _agent(email: str) -> Agent:
    agent = agent_services.find_agent_by_email(db_session, email)
    if agent is None:
        raise click.ClickException(f"No agent has the e-mail {email}.")
    return agent


def _change(email: str, change: Callable[..., object], done: str, **options) -> None:
    """`change(session, agent, actor=..., **options)` on the agent with `email`, by the command
    line; commits and says `done`, with the agent's e-mail for "{email}". A refusal is the
    error."""
    agent = _agent(email)
    try:
        change(db_session, agent, actor=Actor.system("cli"), **options)
    except DomainError as err:
        raise click.ClickException(str(err)) from None
    db_session.commit()
    click.echo(done.replace("{email}", agent.email))


@agents.command("reset-mfa")
@click.option("--email", required=True, help="The agent whose phone is lost.")
def reset_mfa(email: str):
    """Turn off an agent's two-step sign-in; the next sign-in sets it up afresh."""
    _change(email, mfa.reset, "Two-step sign-in of {email} is reset.")


@agents.command("bind-sso")
@click.option("--email", required=True, help="The agent to bind.")
@click.option("--issuer", required=True, help="The identity provider's issuer (iss).")
@click.option("--subject", required=True, help="The person's subject (sub) at that provider.")
def bind_sso(email: str, issuer: str, subject: str):
    """Bind an agent to a single sign-on identity before its first sign-in."""
    _change(email, sso.bind, f"{{email}} signs in by single sign-on only as {subject} at {issuer}.",
            issuer=issuer, subject=subject)


@agents.command("unbind-sso")
@click.option("--email", required=True, help="The agent to unbind.")
def unbind_sso(email: str):
    """Forget an agent's single sign-on identity; the next single sign-on binds by e-mail."""
    _change(email, sso.unbind, "{email} is no longer bound to a single sign-on identity.")
