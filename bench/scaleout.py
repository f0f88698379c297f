"""The two-server mode of `make bench` (BENCH_SERVERS=2, `make bench-two`): what it adds.

Several app servers over one database and one Redis, as production runs them (README,
"Running more than one app server"):

* `Worker`: a Celery worker (`celery -A core.tasks worker`) on BENCH_REDIS_URL (default
  redis://127.0.0.1:6379/5, a Redis database of the bench's own, flushed before the run and
  only that one); the app servers queue the order e-mails there instead of sending them
  inline. Without SMTP_URL the worker prints each e-mail to its log (bench/out/celery-worker.log)
  and marks the order as e-mailed: what it ran is counted from that log, and the queue must
  drain (the Redis list empty, nothing active) after the orders.
* `split_load`: one page's load spread over every server at once: one load process per server
  with its share of the connections; req/s summed, percentiles request-weighted (wrk) or over
  every sample (the Python tool); each server's figures kept under "per_server".
* `check_orders`: after the order loop, in the database: no stock level of the bought variants
  has reserved > on_hand (or a negative available), the reservations grew by exactly the
  units of the orders the shoppers placed, every order a shopper saw confirmed is confirmed
  (one order per answer), and each was e-mailed by the worker.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench.run import BIN, PROJECT_ROOT, Config, _percentiles

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/5"
QUEUE = "celery"  # Celery's default queue: a Redis list of that name
SUCCEEDED = re.compile(r"Task (\S+)\[[^\]]+\] succeeded")
FAILED = re.compile(r"Task (\S+)\[[^\]]+\] (?:raised|retry)")


def redis_url() -> str:
    return os.environ.get("BENCH_REDIS_URL", "") or DEFAULT_REDIS_URL


def redis_client(url: str):
    import redis
    return redis.Redis.from_url(url, socket_timeout=5)


def flush(url: str) -> None:
    """Empty the bench's own Redis database (FLUSHDB: that number only), or say why not."""
    client = redis_client(url)
    try:
        client.ping()
    except Exception as err:  # noqa: BLE001 - any connection failure
        raise SystemExit(f"The bench's Celery worker needs Redis at {url} ({err}); start it, "
                         f"set BENCH_REDIS_URL, or run without a worker (BENCH_CELERY=0, "
                         f"one server)") from None
    client.flushdb()


class Worker:
    """One Celery worker (prefork, `concurrency` processes), its own session, stopped by pid."""

    def __init__(self, env: dict[str, str], log_dir: Path, concurrency: int = 1):
        self.env, self.concurrency = env, concurrency
        self.log = log_dir / "celery-worker.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.log.write_text("")
        command = [str(BIN / "celery"), "-A", "core.tasks", "worker", "--loglevel", "INFO",
                   "--concurrency", str(self.concurrency), "--pool", "prefork",
                   "--without-gossip", "--without-mingle", "--hostname", "bench@%h",
                   "--logfile", str(self.log)]
        self.proc = subprocess.Popen(command, cwd=PROJECT_ROOT, env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"the Celery worker exited; see {self.log}:\n{self.tail()}")
            if " ready." in self.log.read_text(errors="replace"):
                return
            time.sleep(0.2)
        raise RuntimeError(f"the Celery worker is not ready after {timeout:.0f} s; see {self.log}")

    def counts(self) -> dict[str, dict[str, int]]:
        """Tasks run so far, by name: succeeded and failed (raised or retried)."""
        text = self.log.read_text(errors="replace")
        found: dict[str, dict[str, int]] = {}
        for pattern, kind in ((SUCCEEDED, "succeeded"), (FAILED, "failed")):
            for name in pattern.findall(text):
                found.setdefault(name, {"succeeded": 0, "failed": 0})[kind] += 1
        return found

    def drain(self, url: str, expected: int, timeout: float = 60.0) -> dict:
        """Wait until the queue is empty and `expected` tasks have succeeded (or the time is
        up); what was run and what is left."""
        client = redis_client(url)
        started = time.monotonic()
        while True:
            queued = client.llen(QUEUE)
            counts = self.counts()
            done = sum(c["succeeded"] for c in counts.values())
            if (queued == 0 and done >= expected) or time.monotonic() - started > timeout:
                break
            time.sleep(0.5)
        unacked = client.hlen("unacked") if client.exists("unacked") else 0
        return dict(tasks=counts, succeeded=done,
                    failed=sum(c["failed"] for c in counts.values()), queued_after=queued,
                    unacked_after=unacked, drained=queued == 0 and unacked == 0,
                    drain_seconds=round(time.monotonic() - started, 2))

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # warm shutdown of the worker (by pid)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def split_load(load, urls: list[str], seconds: float, cfg: Config, work: Path,
               cookie: str = "") -> dict:
    """Load every url (one per server) at once, each with its share of the connections and
    threads; one result, summed, with each server's under "per_server"."""
    n = len(urls)
    shares = [max(1, cfg.connections // n + (1 if i < cfg.connections % n else 0))
              for i in range(n)]
    results: list[dict | BaseException | None] = [None] * n

    def one(i: int) -> None:
        folder = work / f"server-{i + 1}"
        folder.mkdir(exist_ok=True)
        part = Config(**{**cfg.__dict__, "connections": shares[i],
                         "threads": max(1, min(shares[i], cfg.threads // n or 1))})
        try:
            results[i] = load(urls[i], seconds, part, folder, cookie)
        except BaseException as err:  # noqa: BLE001 - raised again below
            results[i] = err

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return combine(results, [urlsplit(u).netloc for u in urls])


def combine(results: list[dict], names: list[str]) -> dict:
    """Concurrent runs as one: requests and errors summed over the longest run's seconds."""
    seconds = max(r["seconds"] for r in results)
    requests = sum(r["requests"] for r in results)
    merged = dict(requests=requests, seconds=seconds, errors=sum(r["errors"] for r in results),
                  error_detail={n: r["error_detail"] for n, r in zip(names, results)},
                  per_server={n: dict(requests=r["requests"], seconds=round(r["seconds"], 3),
                                      rps=round(r["requests"] / r["seconds"], 1)
                                      if r["seconds"] else 0.0,
                                      errors=r["errors"], p95=r.get("p95"))
                              for n, r in zip(names, results)})
    if all("samples_ms" in r for r in results):
        samples = sorted(s for r in results for s in r["samples_ms"])
        merged["samples_ms"] = samples
        merged.update(_percentiles(samples))
    else:
        for key in ("p50", "p95", "p99", "mean"):
            valued = [(r[key], r["requests"]) for r in results if r.get(key) is not None]
            weight = sum(w for _v, w in valued)
            merged[key] = sum(v * w for v, w in valued) / weight if weight else None
        merged["max"] = max((r.get("max") or 0) for r in results)
    if "bytes" in results[0]:
        merged["bytes"] = sum(r.get("bytes", 0) for r in results)
    return merged


# --- the database after the orders ----------------------------------------------------------

def reserved_units(database_url: str, variant_ids: list[int]) -> int:
    from sqlalchemy import func, select

    from core.db import make_engine
    from core.inventory.models import StockLevel

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.coalesce(func.sum(StockLevel.reserved), 0))
                                   .where(StockLevel.variant_id.in_(variant_ids))))
    finally:
        engine.dispose()


def check_orders(database_url: str, variant_ids: list[int], since: dt.datetime,
                 reserved_before: int, confirmed: list[str]) -> dict:
    """What the database holds after the order loop (see the module); `problems` lists every
    broken promise, empty when all hold."""
    from sqlalchemy import func, select

    from core.db import make_engine
    from core.inventory.models import StockLevel
    from core.orders.models import Order, OrderLine

    engine = make_engine(database_url)
    problems: list[str] = []
    try:
        with engine.connect() as conn:
            levels = conn.execute(select(StockLevel.variant_id, StockLevel.warehouse,
                                         StockLevel.on_hand, StockLevel.reserved)
                                  .where(StockLevel.variant_id.in_(variant_ids))).all()
            oversold = [tuple(r) for r in levels
                        if r.reserved > r.on_hand or r.reserved < 0 or r.on_hand < 0]
            if oversold:
                problems.append(f"stock levels with reserved > on_hand or negative: {oversold[:5]}")
            placed = select(Order.id).where(Order.placed_at >= since,
                                            Order.email.like("bench.%"))
            statuses = dict(conn.execute(select(Order.status, func.count())
                                         .where(Order.id.in_(placed))
                                         .group_by(Order.status)).all())
            units = int(conn.scalar(
                select(func.coalesce(func.sum(OrderLine.quantity), 0))
                .where(OrderLine.order_id.in_(placed), OrderLine.variant_id.in_(variant_ids),
                       OrderLine.order_id.in_(select(Order.id)
                                              .where(Order.status != "cancelled")))))
            reserved_after = sum(r.reserved for r in levels)
            if reserved_after - reserved_before != units:
                problems.append(f"reserved grew by {reserved_after - reserved_before}, the "
                                f"shoppers' orders hold {units} units")
            seen = conn.execute(select(Order.number, Order.status,
                                       Order.confirmation_emailed_at.is_not(None))
                                .where(Order.number.in_(confirmed))).all()
            not_confirmed = [n for n, status, _ in seen if status != "confirmed"]
            unmailed = [n for n, _, mailed in seen if not mailed]
            if len(set(confirmed)) != len(confirmed) or len(seen) != len(confirmed):
                problems.append(f"{len(confirmed)} confirmed answers, {len(set(confirmed))} "
                                f"numbers, {len(seen)} of them in the database")
            if not_confirmed:
                problems.append(f"answered confirmed but not confirmed: {not_confirmed[:5]}")
            if unmailed:
                problems.append(f"{len(unmailed)} confirmed orders not e-mailed by the worker")
            confirmed_in_db = statuses.get("confirmed", 0)
            if confirmed_in_db != len(confirmed):
                problems.append(f"{confirmed_in_db} confirmed orders in the database, "
                                f"{len(confirmed)} seen confirmed by the shoppers")
            pending = int(conn.scalar(select(func.count()).where(
                Order.id.in_(placed), Order.status == "pending_payment")))
    finally:
        engine.dispose()
    return dict(stock_levels=len(levels), oversold_levels=len(oversold),
                reserved_growth=reserved_after - reserved_before, units_ordered=units,
                orders_by_status=statuses, confirmed_answers=len(confirmed),
                pending_payment=pending, not_emailed=len(unmailed), problems=problems)


def print_report(result: dict) -> None:
    """The two-server part of the orders report: each server, the database, the worker."""
    measured = result["measured"]
    for base, figures in measured.get("place_ms_by_server", {}).items():
        print(f"  POST /checkout on {base}: {figures['count']} orders, p95 "
              f"{figures['p95'] or 0:,.1f} ms")
    check = result["database_check"]
    print(f"database: {check['stock_levels']} stock levels of the bought variants, "
          f"{check['oversold_levels']} with reserved > on_hand; reserved +{check['reserved_growth']}"
          f" = {check['units_ordered']} units ordered; orders by status "
          f"{check['orders_by_status']}; {check['confirmed_answers']} seen confirmed; "
          f"{check['not_emailed']} not e-mailed")
    queue = result["celery"]
    tasks = ", ".join(f"{name} {c['succeeded']}" + (f" ({c['failed']} failed)" if c["failed"]
                                                     else "")
                      for name, c in sorted(queue["tasks"].items()))
    print(f"celery worker: {queue['succeeded']} tasks succeeded ({tasks or 'none'}), "
          f"{queue['failed']} failed; queue {'drained' if queue['drained'] else 'NOT drained'}"
          f" ({queue['queued_after']} queued, {queue['unacked_after']} unacked) "
          f"{queue['drain_seconds']} s after the run")
    for problem in check["problems"]:
        print(f"PROBLEM: {problem}")
    if not check["problems"]:
        print("database consistent: no oversold unit, every order seen confirmed is confirmed "
              "and e-mailed" + ("; no visit failed (no lost session or cart)"
                                if not measured["errors"] else ""))
