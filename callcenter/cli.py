"""`flask --app wsgi:callcenter agents ...`: manage console accounts."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from core.agents import services as agent_services
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
    for agent in db_session.scalars(select(Agent).order_by(Agent.email)):
        state = "" if agent.active else " (inactive)"
        click.echo(f"{agent.email}\t{agent.full_name}\t{agent.roles_text}{state}")
