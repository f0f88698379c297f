"""The ageing report at scale: open invoices for the large data's customers, and the report
timed in-process; bench.run serves /agent/receivables/ageing as the "ageing" target (signed
in as the demo's billing agent) and reports it as a ratio to the ceiling like every page.

    DATABASE_URL=... .venv/bin/python -m bench.ageing [invoices]

`prepare(database_url, invoices)` gives the customers open invoices until there are
`invoices` of the bench's (BENCH_AGEING_INVOICES, default 400,000): each an invoice row and
its journal entry (Dr receivables, Cr revenue), due on days spread over the last 200 (so
every bucket fills), a fifth of them part paid by an allocation with its own entry; inserted
with executemany in chunks (about a minute for 400k on PostgreSQL here; SQLite is slower).
Rows carry the reference prefix BENCH-AGE, so a second run adds only what is missing. The
ledger still ties: the report's "ties to the ledger" holds at any scale.
"""
from __future__ import annotations

import datetime as dt
import os
import sys
import time
from decimal import Decimal

PREFIX = "BENCH-AGE-"
CHUNK = 20_000


def _wanted() -> int:
    return int(os.environ.get("BENCH_AGEING_INVOICES", "") or 400_000)


def prepare(database_url: str, invoices: int | None = None) -> dict:
    """Top the bench's open invoices up to `invoices`; returns facts for the report."""
    from sqlalchemy import func, insert, select

    from core import clock
    from core.billing.models import Allocation, Invoice, JournalEntry, JournalLine
    from core.customers.models import Customer
    from core.db import make_engine

    wanted = _wanted() if invoices is None else invoices
    engine = make_engine(database_url)
    started = time.monotonic()
    try:
        with engine.begin() as conn:
            have = conn.scalar(select(func.count()).select_from(Invoice)
                               .where(Invoice.number.like(PREFIX + "%"))) or 0
            customers = list(conn.scalars(select(Customer.id).order_by(Customer.id)))
            if not customers:
                raise RuntimeError("no customers: seed the database first (--scale large)")
            now = dt.datetime.now(dt.timezone.utc)
            today = clock.business_date(now)
            next_entry = (conn.scalar(select(func.max(JournalEntry.id))) or 0) + 1
            n = have
            while n < wanted:
                entries, lines, docs, paid = [], [], [], []
                for n in range(n, min(wanted, n + CHUNK)):
                    cid = customers[n % len(customers)]
                    gross = Decimal(1000 + (n * 37) % 90_000).scaleb(-2)
                    due = today - dt.timedelta(days=(n * 7) % 200 - 30)
                    entry = next_entry
                    next_entry += 1
                    entries.append(dict(id=entry, kind="invoice", reference=f"{PREFIX}{n}",
                                        memo="bench", currency="EUR", actor="bench",
                                        posted_at=now - dt.timedelta(days=220)))
                    lines += [dict(entry_id=entry, account_code="1200", debit=gross,
                                   credit=Decimal(0), customer_id=cid),
                              dict(entry_id=entry, account_code="4000", debit=Decimal(0),
                                   credit=gross, customer_id=None)]
                    part = (gross / 2).quantize(Decimal("0.01")) if n % 5 == 0 else Decimal(0)
                    docs.append(dict(kind="invoice", number=f"{PREFIX}{n}", customer_id=cid,
                                     currency="EUR", issue_date=due - dt.timedelta(days=30),
                                     due_date=due, net_total=gross, tax_total=Decimal(0),
                                     gross_total=gross, amount_open=gross - part,
                                     status="partially_paid" if part else "open",
                                     entry_id=entry, bill_to={}, issued_at=now))
                    if part:
                        pay = next_entry
                        next_entry += 1
                        entries.append(dict(id=pay, kind="write_off", reference=f"{PREFIX}{n}",
                                            memo="bench part", currency="EUR", actor="bench",
                                            posted_at=now - dt.timedelta(days=10)))
                        lines += [dict(entry_id=pay, account_code="6900", debit=part,
                                       credit=Decimal(0), customer_id=None),
                                  dict(entry_id=pay, account_code="1200", debit=Decimal(0),
                                       credit=part, customer_id=cid)]
                        paid.append((f"{PREFIX}{n}", part, pay))
                n += 1
                conn.execute(insert(JournalEntry), entries)
                conn.execute(insert(JournalLine), lines)
                conn.execute(insert(Invoice), docs)
                if paid:
                    ids = dict(conn.execute(select(Invoice.number, Invoice.id).where(
                        Invoice.number.in_([number for number, _, _ in paid]))).all())
                    conn.execute(insert(Allocation), [
                        dict(invoice_id=ids[number], kind="write_off", amount=part,
                             entry_id=entry, by="bench", note="bench", at=now)
                        for number, part, entry in paid])
            total = conn.scalar(select(func.count()).select_from(Invoice)
                                .where(Invoice.kind == "invoice", Invoice.amount_open > 0))
        if engine.dialect.name == "postgresql" and wanted > have:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE")  # the planner must know the tables grew
    finally:
        engine.dispose()
    return dict(customers=len(customers), bench_invoices=max(have, wanted),
                open_invoices=total, added=max(0, wanted - have),
                seconds=round(time.monotonic() - started, 1))


def time_report(database_url: str, repeat: int = 5) -> dict:
    """The ageing report (totals, ledger, first page of customers) in-process, in ms."""
    from core.billing import ageing
    from core.db import make_engine, make_session_factory

    engine = make_engine(database_url)
    try:
        factory = make_session_factory(engine)
        times = []
        for sort in ["total"] * repeat + ["over_90", "customer"]:
            with factory() as session:
                started = time.perf_counter()
                report = ageing.ageing(session, sort=sort)
                times.append((time.perf_counter() - started) * 1000)
        return dict(ms_min=round(min(times), 1), ms_median=round(sorted(times)[len(times) // 2], 1),
                    customers_with_open=report.rows.total, ties=report.ties)
    finally:
        engine.dispose()


def main() -> int:
    from core.config import load_settings
    database_url = os.environ.get("DATABASE_URL") or load_settings().DATABASE_URL
    wanted = int(sys.argv[1]) if len(sys.argv) > 1 else None
    facts = prepare(database_url, wanted)
    print(f"ageing data: {facts}")
    print(f"ageing report in-process: {time_report(database_url)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
