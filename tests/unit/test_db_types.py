import datetime as dt
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from core.migrate import include_object
from core.models import metadata
from core.pricing.models import PriceListEntry
from tests.factories import PriceEntryFactory


def test_amounts_round_trip_exactly_and_sum_exactly_in_sql(db):
    prices = ["0.1", "0.2", "1234567.8912", "3.3333"]
    entries = [PriceEntryFactory(unit_price=Decimal(p)) for p in prices]
    db.expire_all()
    assert [db.get(PriceListEntry, e.id).unit_price for e in entries] == [
        Decimal(p).quantize(Decimal("0.0001")) for p in prices]
    total = db.scalar(select(func.sum(PriceListEntry.unit_price))
                      .where(PriceListEntry.id.in_([e.id for e in entries])))
    assert total == sum(Decimal(p) for p in prices)


def test_amounts_refuse_floats(db):
    with pytest.raises(Exception, match="never float"):
        PriceEntryFactory(unit_price=0.1)


def test_timestamps_come_back_timezone_aware_in_utc(db):
    from core.audit import Actor, AuditEvent, record
    at = dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    event = record(db, "test.event", actor=Actor.system(), channel="test")
    event.at = at
    db.flush()
    db.expire_all()
    loaded = db.get(AuditEvent, event.id)
    assert loaded.at == at
    assert loaded.at.tzinfo is not None and loaded.at.utcoffset() == dt.timedelta(0)


def test_migrations_create_exactly_the_tables_the_models_describe(connection):
    context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                            "include_object": include_object})
    assert compare_metadata(context, metadata) == []
