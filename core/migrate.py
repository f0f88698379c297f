"""Run Alembic migrations from code (CLI, tests) without an alembic.ini at the top level."""
from __future__ import annotations

from alembic import command
from alembic.config import Config

from core.config import PROJECT_ROOT

MIGRATIONS = PROJECT_ROOT / "migrations"


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Leave out of autogenerate what migrations make by hand for one database only: the
    full-text search tables and PostgreSQL's trigram and lower() indexes for search."""
    if type_ == "table" and name.startswith("product_search"):
        return False
    if type_ == "index" and reflected and name and name.endswith(("_trgm", "_lower")):
        return False
    return True


def alembic_config(database_url: str) -> Config:
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database at `database_url` to `revision`."""
    command.upgrade(alembic_config(database_url), revision)
