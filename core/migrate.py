"""Run Alembic migrations from code (CLI, tests) without an alembic.ini at the top level."""
from __future__ import annotations

from alembic import command
from alembic.config import Config

from core.config import PROJECT_ROOT

MIGRATIONS = PROJECT_ROOT / "migrations"


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Leave the full-text search tables (made by hand in a migration) out of autogenerate."""
    return not (type_ == "table" and name.startswith("product_search"))


def alembic_config(database_url: str) -> Config:
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database at `database_url` to `revision`."""
    command.upgrade(alembic_config(database_url), revision)
