"""Engine, session factory, declarative Base and the column types every model shares."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from sqlalchemy import BigInteger, DateTime, MetaData, Numeric, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from core.errors import DomainError, NotFound

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base; constraint names follow NAMING_CONVENTION so Alembic can alter them."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    """Now, timezone-aware, in UTC."""
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use core.db.utcnow() or an aware datetime")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


AMOUNT_SCALE = 4
_SCALE_FACTOR = Decimal(10) ** AMOUNT_SCALE
_QUANT = Decimal(1).scaleb(-AMOUNT_SCALE)
# NUMERIC(19, 4) holds less than 10**15; SQLite's 64-bit count of 1/10,000 units less than
# 9.2 * 10**14. One limit for both, so both refuse the same amounts.
_AMOUNT_LIMIT = Decimal("9e14")


class AmountOutOfRange(DomainError):
    """An amount no column can hold (NaN, Infinity, 9 * 10**14 and more). Forms refuse such
    numbers at the field (core.parsing); this is the last line, so a number that slipped
    through is a clear refusal rather than a crash in quantize or an integer overflow."""

    code = "amount_out_of_range"

    def __init__(self, value):
        super().__init__(f"The amount {value} is out of range.")


class Amount(TypeDecorator):
    """An exact decimal amount with four places.

    PostgreSQL keeps it as NUMERIC(19, 4). SQLite has no exact decimal type (NUMERIC
    columns become floating point), so there it is an integer count of 1/10,000 units:
    exact, sortable and summable in SQL.
    """

    impl = Numeric(19, AMOUNT_SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(19, AMOUNT_SCALE, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money amounts are Decimal, never float")
        value = Decimal(value)
        if not value.is_finite() or abs(value) >= _AMOUNT_LIMIT:
            raise AmountOutOfRange(value)
        value = value.quantize(_QUANT)
        return int(value * _SCALE_FACTOR) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / _SCALE_FACTOR).quantize(_QUANT)
        return Decimal(value).quantize(_QUANT)


def like_escape(text: str) -> str:
    """`text` inside a LIKE pattern (with escape="\\"): % and _ match only themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL, a busy timeout and real transactions.

    Bound parameters are left out of SQL error messages and logs (e-mails, addresses, token
    hashes would otherwise reach the error log); pass hide_parameters=False to debug.
    """
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = kwargs.pop("connect_args", {})
        connect_args.setdefault("check_same_thread", False)
        connect_args.setdefault("timeout", 30)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        _make_sqlite_transactional(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _make_sqlite_transactional(engine: Engine) -> None:
    # pysqlite opens transactions lazily and not before DDL or SAVEPOINT; take over so
    # rollback really undoes everything and savepoints work (SQLAlchemy's documented recipe).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # IMMEDIATE takes the write lock up front. A deferred transaction that reads and
        # then writes fails at once with "database is locked" when another connection
        # wrote in between (SQLite cannot upgrade a stale snapshot); immediate ones queue
        # on the busy timeout instead. PostgreSQL needs none of this.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit (for rendering)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def get_or_not_found(session: Session, model, ident: int, what: str):
    """The `model` row with primary key `ident`; NotFound ("There is no {what} {ident}.")
    when there is none."""
    found = session.get(model, ident)
    if found is None:
        raise NotFound(f"There is no {what} {ident}.")
    return found
