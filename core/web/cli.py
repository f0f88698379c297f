"""CLI commands shared by both apps: migrate, seed, analytics rebuild."""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app

from core.migrate import upgrade


def init_cli(app: Flask) -> None:
    @app.cli.command("migrate")
    def migrate_command():
        """Apply every Alembic migration to DATABASE_URL."""
        url = current_app.config["MARKETLINE"].DATABASE_URL
        upgrade(url)
        click.echo("Database is at the latest migration.")

    @app.cli.command("expire-checkouts")
    def expire_checkouts_command():
        """Settle checkouts that never finished paying (Celery beat runs this every 5 minutes)."""
        from core.workflows.checkout_expiry import expire_abandoned
        from core.web.db import db_session
        from core.web.payments import gateway

        counts = expire_abandoned(db_session, gateway(),
                                  commit=db_session.commit)
        click.echo(", ".join(f"{n} {what}" for what, n in counts.items()))

    @app.cli.command("renew-authorisations")
    def renew_authorisations_command():
        """Renew card authorisations about to expire; ask Stripe again about lost answers
        (Celery beat runs this every hour)."""
        from core.payments.tasks import card_upkeep
        from core.web.db import db_session
        from core.web.payments import gateway

        counts = card_upkeep(db_session, gateway(),
                             commit=db_session.commit)
        click.echo(", ".join(f"{n} {what}" for what, n in counts.items()))

    @app.cli.command("expire-quotes")
    def expire_quotes_command():
        """Sent quotes past their expiry date become expired (Celery beat runs this every hour)."""
        from core.quotes.services import expire_due_quotes
        from core.web.db import db_session

        moved = expire_due_quotes(db_session)
        db_session.commit()
        click.echo(f"{moved} quote(s) expired")

    @app.cli.command("release-due-holds")
    def release_due_holds_command():
        """Manual holds whose until-day has come are released (Celery beat runs this every
        hour)."""
        from core.orders.holds import release_due_holds
        from core.web.db import db_session

        released = release_due_holds(db_session)
        db_session.commit()
        click.echo(f"{released} hold(s) released")

    @app.cli.command("seed")
    @click.option("--scale", type=click.Choice(["demo", "large"]), default="demo",
                  show_default=True, help="demo: the believable shop; large: benchmark volumes.")
    @click.option("--if-empty", is_flag=True, help="Do nothing when the catalogue has products.")
    def seed_command(scale: str, if_empty: bool):
        """Load data: the demo shop, or large volumes for benchmarks."""
        from core import demo
        from core.web.db import db_session

        if if_empty and not demo.is_empty(db_session):
            click.echo("The database already has data; nothing loaded.")
            return
        if scale == "demo":
            summary = demo.load_demo(db_session, Path(current_app.config["MARKETLINE"].MEDIA_DIR))
        else:
            from core.demo import large
            summary = large.load_large(db_session)
        db_session.commit()
        click.echo(summary)

    @app.cli.group("analytics")
    def analytics_group():
        """Sales analytics upkeep."""

    @analytics_group.command("rebuild")
    def analytics_rebuild_command():
        """Record the invoices and credit notes that have no sales facts yet (a database with
        invoices from before migration 0018) and recompute the daily roll-up."""
        from sqlalchemy import func, select

        from core.reporting import facts
        from core.reporting.models import SalesDay, SalesFact
        from core.web.db import db_session

        documents = facts.rebuild(db_session)
        db_session.commit()
        lines = db_session.scalar(select(func.count()).select_from(SalesFact))
        cells = db_session.scalar(select(func.count()).select_from(SalesDay))
        click.echo(f"Recorded {documents} documents as {lines} sales facts "
                   f"({cells} daily roll-up cells).")
