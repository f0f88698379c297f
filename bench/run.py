"""`make bench`: the real app against the ceiling, page by page (see BENCHMARKS.md).

    .venv/bin/python -m bench.run
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/marketline_bench .venv/bin/python -m bench.run

What it does, in order:

1. DATABASE_URL from the environment (default: the app's SQLite file in instance/);
   `flask --app wsgi migrate` and `flask --app wsgi seed --if-empty`.
2. Picks the targets from the data: the ceiling (bench.ceiling), the home page, the first
   top category, the first product that category's page links to, a search, the console
   sign-in page.
   Each is fetched once in-process first, to check it answers 200 and to count its SQL.
3. Serves `wsgi:application` and `bench.ceiling:app` with gunicorn (3 sync workers, one
   thread each) on free 127.0.0.1 ports.
4. Rounds of interleaved targets (A B C ... A B C ...): each run is a warm-up, then a
   drain, a measured run, then another drain (a wait until the server has answered every
   request queued so far). Load only on 127.0.0.1, by wrk
   (`/usr/bin/wrk`, `-t2 -c16`) when installed, else by a Python load generator (threads and
   keep-alive http.client); every loop is bounded in time.
5. Orders (bench.orders; BENCH_ORDERS=1 by default, 0 skips, "only" skips the pages):
   localstripe is started first on a free 127.0.0.1 port, its state in a private temp
   folder (TMPDIR), and the app gets STRIPE_API_BASE / STRIPE_JS_URL for it (and SMTP_URL
   emptied). As in production, the order e-mails go through Redis (BENCH_REDIS_URL, see
   BENCH_SERVERS) to a Celery worker, which prints them to its log; its CPU per order is
   reported beside the app's. BENCH_CELERY=0 sends them inline inside POST /checkout
   (REDIS_URL emptied: Celery eager), as the development setup does.
   Before the servers start, a few sellable variants are topped up in stock and one order
   is bought in-process (it must work; its SQL is counted). After the page rounds,
   BENCH_ORDERS_SHOPPERS virtual shoppers (threads, a new visitor per loop) buy through the
   real checkout for BENCH_ORDERS_DURATION seconds: product page, add to cart, checkout
   page, a PaymentMethod on localstripe (what Stripe.js does in the browser), POST
   /checkout. Reported: confirmed orders per second, p50/p95/p99 of POST /checkout, errors
   (any answer but "confirmed"), and the whole loop. Not on the development database
   (instance/marketline.db) unless BENCH_ORDERS=1 is set explicitly: it writes orders.
6. Prints page, req/s, p50/p95/p99, ratio to the ceiling's req/s, SQL per page, then the
   orders table; writes the whole result as JSON to bench/out/ (orders under "orders").
   Stops the servers and localstripe at the end, also on Ctrl-C.

Settings (environment):
    BENCH_DURATION     seconds of one measured run (default 10; "10s" works too)
    BENCH_ROUNDS       measured runs per target, interleaved (default 2)
    BENCH_WARMUP       seconds of warm-up before each measured run (default 2)
    BENCH_CONNECTIONS  concurrent connections (default 16); BENCH_THREADS wrk threads (2)
    BENCH_WORKERS      gunicorn workers per server (default 3)
    BENCH_SERVERS      app servers (default 1). 2 (`make bench-two`): two gunicorn servers of
                       the app (and two of the ceiling, so ratios compare like with like), each
                       with BENCH_WORKERS workers, on one database, plus a Celery worker
                       (`celery -A core.tasks worker`, BENCH_CELERY_CONCURRENCY processes,
                       default 1) on Redis at BENCH_REDIS_URL (default redis://127.0.0.1:6379/5:
                       a database of the bench's own, flushed first, only that one); the app
                       servers queue the order e-mails there (printed to the worker's log:
                       no SMTP). Each page's load is split over both servers at once (one
                       load process per server, half the connections each; req/s summed,
                       each server's figures kept); each virtual shopper's steps hop servers
                       (product page on one, add to cart on the other, and so on), so a lost
                       session or cart is an error. After the orders, the database is checked
                       (no reserved > on_hand, reservations = units ordered, every order seen
                       confirmed is confirmed and e-mailed) and the worker's queue must drain;
                       both are reported (bench.scaleout).
    BENCH_TOOL         auto | wrk | python (default auto: wrk when installed)
    BENCH_TARGETS      comma-separated subset of: ceiling,bare,home,category,product,search,sign-in,
                       customers,ageing (the ageing report, signed in as the demo billing agent,
                       over BENCH_AGEING_INVOICES open invoices: bench.ageing; not added to
                       the development database unless that variable is set),
                       analytics (/agent/analytics/: the last 30 days by day) and analytics-year
                       (the last 365 days by month), signed in as the demo sales manager over
                       the large data's sales (bench.analytics; ~1M order lines after
                       `flask --app wsgi seed --scale large`)
    BENCH_SEARCH       the search text (default "paper")
    BENCH_CUSTOMER_SEARCH  what the console's customer search is given (default "meyer"),
                       measured signed in as the demo agent
    BENCH_TIMEOUT      seconds before one request counts as an error (default 10)
    BENCH_PROFILE      1: also profile each app target in-process with cProfile (50 requests)
                       and write the top functions to bench/out/profile-<target>.txt
                       (and 30 POST /checkout to bench/out/profile-orders.txt)
    BENCH_ORDERS, BENCH_ORDERS_SHOPPERS (8), BENCH_ORDERS_DURATION (15), BENCH_ORDERS_WARMUP (3),
    BENCH_ORDERS_VARIANTS (20), BENCH_STRIPE_STATE (memory | file): see bench/orders.py

Percentiles: with the Python tool they come from every sample of every round; wrk reports
percentiles per run, so across rounds they are the request-weighted mean of the runs'
percentiles (each run's figures are in the JSON).
"""
from __future__ import annotations

import cProfile
import datetime as dt
import http.client
import io
import json
import os
import pstats
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
OUT = PROJECT_ROOT / "bench" / "out"
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
RESERVED_PORTS = {5000, 8420}  # `make run` and localstripe
# Seconds a single request may take before it counts as an error (BENCH_TIMEOUT).
REQUEST_TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "") or 10)
# Where we aim (BENCHMARKS.md): at least this share of the ceiling's req/s.
AIMS = {"category": 0.40, "product": 0.50, "search": 0.30}
# The aim for the main analytics page at 1M order lines, on PostgreSQL.
P95_AIMS_MS = {"analytics": 300}


def _seconds(value: str | None, default: float) -> float:
    if not value:
        return default
    value = value.strip().lower()
    scale = 1.0
    if value.endswith("ms"):
        value, scale = value[:-2], 0.001
    elif value.endswith("s"):
        value = value[:-1]
    elif value.endswith("m"):
        value, scale = value[:-1], 60.0
    return float(value) * scale


@dataclass
class Config:
    duration: float = 10.0
    rounds: int = 2
    warmup: float = 2.0
    connections: int = 16
    threads: int = 2
    workers: int = 3
    servers: int = 1
    tool: str = "auto"
    targets: list[str] | None = None
    search: str = "paper"
    customer_search: str = "meyer"
    profile: bool = False

    @classmethod
    def from_env(cls) -> "Config":
        env = os.environ
        targets = [t.strip() for t in env.get("BENCH_TARGETS", "").split(",") if t.strip()]
        return cls(duration=_seconds(env.get("BENCH_DURATION"), 10.0),
                   rounds=max(1, int(env.get("BENCH_ROUNDS", "2"))),
                   warmup=_seconds(env.get("BENCH_WARMUP"), 2.0),
                   connections=max(1, int(env.get("BENCH_CONNECTIONS", "16"))),
                   threads=max(1, int(env.get("BENCH_THREADS", "2"))),
                   workers=max(1, int(env.get("BENCH_WORKERS", "3"))),
                   servers=max(1, int(env.get("BENCH_SERVERS", "1") or 1)),
                   tool=env.get("BENCH_TOOL", "auto"),
                   targets=targets or None,
                   search=env.get("BENCH_SEARCH", "paper"),
                   customer_search=env.get("BENCH_CUSTOMER_SEARCH", "meyer"),
                   profile=env.get("BENCH_PROFILE", "") not in ("", "0", "false", "no"))


@dataclass
class Target:
    name: str
    server: str  # "app" | "ceiling"
    path: str
    sql: int | None = None
    status: int | None = None
    cookie: str = ""  # "name=value" for pages behind a sign-in
    runs: list[dict] = field(default_factory=list)


# --- servers ---------------------------------------------------------------------------------

def free_port() -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port = sock.getsockname()[1]
        if port not in RESERVED_PORTS:
            return port
    raise RuntimeError("no free port on 127.0.0.1")


class Server:
    """One gunicorn master (and its workers), started in its own session, stopped by pid."""

    def __init__(self, name: str, app: str, env: dict[str, str], workers: int, log_dir: Path):
        self.name, self.app, self.env, self.workers = name, app, env, workers
        self.port = free_port()
        self.log = log_dir / f"gunicorn-{name}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        self.log.write_text("")
        command = [str(BIN / "gunicorn"), "--workers", str(self.workers), "--threads", "1",
                   "--worker-class", "sync", "--bind", f"{HOST}:{self.port}",
                   "--timeout", "60", "--graceful-timeout", "5", "--log-level", "warning",
                   "--error-logfile", str(self.log), self.app]
        # Own session: a Ctrl-C in the terminal reaches us, and we stop the servers in order.
        self.proc = subprocess.Popen(command, cwd=PROJECT_ROOT, env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)

    def wait_ready(self, path: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn ({self.name}) exited; see {self.log}:\n"
                                   + self.log_tail())
            try:
                status, _ = get(self.port, path, timeout=5)
                if status < 500:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn ({self.name}) not answering after {timeout:.0f} s; "
                           f"see {self.log}")

    def drain(self, path: str, timeout: float = 60.0) -> float:
        """Wait until requests queued by the last run are served: one probe per worker."""
        started = time.monotonic()
        probes = [threading.Thread(target=_probe, args=(self.port, path, timeout), daemon=True)
                  for _ in range(self.workers)]
        for probe in probes:
            probe.start()
        for probe in probes:
            probe.join(timeout + 1)
        time.sleep(0.3)
        return time.monotonic() - started

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()  # SIGTERM to the master (by pid): graceful stop of its workers
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _server_name(kind: str, n: int) -> str:
    """app, app-2, ...: the first server keeps the one-server name (and log file)."""
    return kind if n == 0 else f"{kind}-{n + 1}"


def get(port: int, path: str, timeout: float = REQUEST_TIMEOUT) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _probe(port: int, path: str, timeout: float) -> None:
    try:
        get(port, path, timeout=timeout)
    except (OSError, http.client.HTTPException):
        pass


# --- load generators -------------------------------------------------------------------------

def wrk_path() -> str | None:
    return shutil.which("wrk") or ("/usr/bin/wrk" if os.access("/usr/bin/wrk", os.X_OK) else None)


def run_wrk(url: str, seconds: float, cfg: Config, work: Path, cookie: str = "") -> dict:
    out = work / "wrk-result.json"
    out.unlink(missing_ok=True)
    duration = max(1, round(seconds))
    command = [wrk_path(), f"-t{min(cfg.threads, cfg.connections)}", f"-c{cfg.connections}",
               f"-d{duration}s", "--timeout", f"{REQUEST_TIMEOUT:.0f}s",
               "-s", str(PROJECT_ROOT / "bench" / "report.lua"), url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    env = dict(os.environ, BENCH_WRK_OUT=str(out))
    done = subprocess.run(command, env=env, capture_output=True, text=True,
                          timeout=duration + REQUEST_TIMEOUT + 30)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    raw = json.loads(out.read_text())
    lat = raw["latency_us"]
    return dict(requests=raw["requests"], seconds=raw["duration_us"] / 1e6,
                errors=sum(raw["errors"].values()), error_detail=raw["errors"],
                p50=lat["p50"] / 1000, p95=lat["p95"] / 1000, p99=lat["p99"] / 1000,
                mean=lat["mean"] / 1000, max=lat["max"] / 1000, bytes=raw["bytes"])


def run_python(url: str, seconds: float, cfg: Config, work: Path, cookie: str = "") -> dict:
    """`connections` threads, each a keep-alive http.client loop until the deadline."""
    parts = urlsplit(url)
    port = parts.port or 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    start = time.monotonic()
    deadline = start + seconds
    samples: list[list[float]] = [[] for _ in range(cfg.connections)]
    errors = [0] * cfg.connections

    def worker(i: int) -> None:
        conn = None
        while time.monotonic() < deadline:
            if conn is None:
                conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
            t0 = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
                response = conn.getresponse()
                response.read()
                elapsed = time.perf_counter() - t0
                if time.monotonic() <= deadline:  # like wrk: a reply after the end is dropped
                    samples[i].append(elapsed)
                    if response.status >= 400:
                        errors[i] += 1
                if response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                errors[i] += 1
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    workers = [threading.Thread(target=worker, args=(i,), daemon=True)
               for i in range(cfg.connections)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(max(0.0, deadline - time.monotonic()) + REQUEST_TIMEOUT + 5)
    elapsed = min(time.monotonic(), deadline) - start
    merged = sorted(s * 1000 for part in samples for s in part)
    result = dict(requests=len(merged), seconds=elapsed, errors=sum(errors),
                  error_detail={"any": sum(errors)}, samples_ms=merged)
    result.update(_percentiles(merged))
    return result


def _percentiles(sorted_ms: list[float]) -> dict:
    if not sorted_ms:
        return dict(p50=None, p95=None, p99=None, mean=None, max=None)

    def pick(p: float) -> float:  # nearest rank
        return sorted_ms[min(len(sorted_ms) - 1, max(0, int(-(-p * len(sorted_ms) // 100)) - 1))]

    return dict(p50=pick(50), p95=pick(95), p99=pick(99),
                mean=sum(sorted_ms) / len(sorted_ms), max=sorted_ms[-1])


def aggregate(runs: list[dict]) -> dict:
    requests = sum(r["requests"] for r in runs)
    seconds = sum(r["seconds"] for r in runs)
    result = dict(requests=requests, seconds=round(seconds, 3),
                  rps=requests / seconds if seconds else 0.0,
                  errors=sum(r["errors"] for r in runs))
    if all("samples_ms" in r for r in runs):
        result.update(_percentiles(sorted(s for r in runs for s in r["samples_ms"])))
        result["percentiles"] = "all samples"
    else:
        for key in ("p50", "p95", "p99", "mean"):
            valued = [(r[key], r["requests"]) for r in runs if r.get(key) is not None]
            weight = sum(w for _v, w in valued)
            result[key] = sum(v * w for v, w in valued) / weight if weight else None
        result["max"] = max((r.get("max") or 0) for r in runs) if runs else None
        result["percentiles"] = "request-weighted mean of per-run percentiles"
    return result


# --- preparation -----------------------------------------------------------------------------

def flask_command(*args: str, env: dict[str, str], timeout: float) -> str:
    done = subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=PROJECT_ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout.strip()


def pick_targets(database_url: str, cfg: Config) -> tuple[list[Target], dict]:
    """Targets chosen from the data, and facts about the data for the report."""
    from sqlalchemy import func, select
    from sqlalchemy.engine import make_url

    from bench import analytics as analytics_bench
    from core import clock
    from core.catalog.models import Category, Product
    from core.customers.models import Customer
    from core.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            products = conn.scalar(select(func.count()).select_from(Product))
            customers = conn.scalar(select(func.count()).select_from(Customer))
            category = conn.execute(
                select(Category.id, Category.slug).where(
                    Category.parent_id.is_(None), Category.active,
                    select(Product.id).where(Product.category_id == Category.id).exists())
                .order_by(Category.position, Category.name).limit(1)).first()
            if category is None:
                raise RuntimeError("the catalogue has no category with products")
            product = conn.scalar(
                select(Product.slug).where(Product.category_id == category.id, Product.active)
                .order_by(Product.name, Product.id).limit(1))
    finally:
        engine.dispose()
    data = dict(dialect=make_url(database_url).get_backend_name(),
                database=make_url(database_url).render_as_string(hide_password=True),
                products=products, customers=customers,
                category_path=f"/c/{quote(category.slug)}",
                sales=analytics_bench.sizes(database_url))
    targets = [
        Target("ceiling", "ceiling", "/"),
        Target("bare", "ceiling", "/bare"),
        Target("home", "app", "/"),
        Target("category", "app", f"/c/{quote(category.slug)}"),
        Target("product", "app", f"/p/{quote(product)}"),
        Target("search", "app", f"/search?q={quote(cfg.search)}"),
        Target("sign-in", "app", "/agent/sign-in"),
        Target("customers", "app", f"/agent/customers/?q={quote(cfg.customer_search)}"),
        Target("ageing", "app", "/agent/receivables/ageing"),
        Target("analytics", "app", ANALYTICS_PATH),
        Target("analytics-year", "app", analytics_bench.year_path(ANALYTICS_PATH, clock.today())),
    ]
    wanted = cfg.targets or ["ceiling", "home", "category", "product", "search", "sign-in",
                             "customers", "ageing", "analytics", "analytics-year"]
    unknown = set(wanted) - {t.name for t in targets}
    if unknown:
        raise SystemExit(f"BENCH_TARGETS: unknown target(s) {', '.join(sorted(unknown))}")
    if "ceiling" not in wanted:
        wanted = ["ceiling", *wanted]  # every ratio needs it
    by_name = {t.name: t for t in targets}
    return [by_name[name] for name in wanted], data


_SQL_COUNT = [0]


def _count_sql(_conn, _cursor, statement, *_args) -> None:
    if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT",
                                                 "RELEASE")):
        _SQL_COUNT[0] += 1


PRODUCT_LINK = re.compile(r'href="(/p/[^"?#]+)"')


def check_in_process(targets: list[Target], cfg: Config, category_path: str) -> None:
    """Fetch every target once in this process: its status and its number of SQL statements.

    The product target becomes the first product the category page links to (so it is one
    the storefront's channel sells). With BENCH_PROFILE, also profile 50 requests of each
    app target with cProfile.
    """
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from werkzeug.test import Client

    sys.path.insert(0, str(PROJECT_ROOT))
    import wsgi  # noqa: E402  (reads DATABASE_URL, set by main)

    from bench import ceiling

    apps = {"app": wsgi.application, "ceiling": ceiling.app.wsgi_app}
    product = next((t for t in targets if t.name == "product"), None)
    if product is not None:
        page = Client(apps["app"]).get(category_path).get_data(as_text=True)
        link = PRODUCT_LINK.search(page)
        if link:
            product.path = link.group(1)
    for target in targets:
        if target.path.startswith("/agent/customers"):
            target.cookie = agent_cookie(apps["app"])
        if target.path.startswith("/agent/receivables"):  # billing and credit control
            target.cookie = agent_cookie(apps["app"], BILLING)
        if target.path.startswith(ANALYTICS_PATH):  # the manager role (and supervisors)
            target.cookie = agent_cookie(apps["app"], MANAGER)
    event.listen(Engine, "before_cursor_execute", _count_sql)
    try:
        for target in targets:
            client = Client(apps[target.server])
            if target.cookie:
                name, _, value = target.cookie.partition("=")
                client.set_cookie(name, value)
            client.get(target.path)  # first request: templates compile, pools connect
            _SQL_COUNT[0] = 0
            response = client.get(target.path)
            target.status, target.sql = response.status_code, _SQL_COUNT[0]
            if target.status == 404 and target.path.startswith(ANALYTICS_PATH):
                print(f"  {target.name}: {ANALYTICS_PATH} answered 404 (the analytics page is "
                      f"not in this build); not measured")
                continue
            if target.status != 200:
                raise RuntimeError(f"{target.name} {target.path} answered {target.status}")
            if cfg.profile and target.server == "app":
                profile = cProfile.Profile()
                profile.enable()
                for _ in range(50):
                    client.get(target.path)
                profile.disable()
                text = io.StringIO()
                stats = pstats.Stats(profile, stream=text)
                stats.sort_stats("cumulative").print_stats(35)
                stats.sort_stats("tottime").print_stats(25)
                path = OUT / f"profile-{target.name}.txt"
                path.write_text(f"# {target.name} {target.path}: 50 requests in-process\n"
                                + text.getvalue())
                print(f"  profile of {target.name}: {path.relative_to(PROJECT_ROOT)}")
    finally:
        event.remove(Engine, "before_cursor_execute", _count_sql)


AGENT = ("agent@marketline.example", "demo-pass-1")  # from the demo data
BILLING = ("billing@marketline.example", "demo-pass-1")  # billing and credit roles
MANAGER = ("manager@marketline.example", "demo-pass-1")  # sales analytics
ANALYTICS_PATH = "/agent/analytics/"


def agent_cookie(application, agent: tuple[str, str] = AGENT) -> str:
    """Sign a demo agent in (as a browser would) and return its console cookie."""
    from werkzeug.test import Client

    client = Client(application)
    page = client.get("/agent/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    answer = client.post("/agent/sign-in", data={"email": agent[0], "password": agent[1],
                                                 "csrf_token": token})
    cookie = client.get_cookie("ml_console", path="/agent")  # its path is the console root
    if answer.status_code not in (204, 303) or cookie is None:
        raise RuntimeError(f"could not sign in {agent[0]} (answer {answer.status_code})")
    return f"ml_console={cookie.value}"


# --- report ----------------------------------------------------------------------------------

def _ms(value) -> str:
    return "-" if value is None else f"{value:,.1f}"


def print_table(targets: list[Target], summary: dict[str, dict]) -> None:
    ceiling_rps = summary["ceiling"]["rps"]
    header = (f"{'page':<14} {'path':<40} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} "
              f"{'p99 ms':>8} {'ratio':>6} {'aim':>10} {'SQL':>4} {'errors':>7}")
    print(header)
    print("-" * len(header))
    for target in targets:
        s = summary[target.name]
        ratio = s["rps"] / ceiling_rps if ceiling_rps else 0.0
        path = target.path if len(target.path) <= 40 else target.path[:37] + "..."
        aim = AIMS.get(target.name)
        verdict = "" if aim is None else f">={aim:.2f} {'ok' if ratio >= aim else 'NO'}"
        print(f"{target.name:<14} {path:<40} {s['rps']:>9,.1f} {_ms(s['p50']):>8} "
              f"{_ms(s['p95']):>8} {_ms(s['p99']):>8} {ratio:>6.2f} {verdict:>10} "
              f"{'-' if target.sql is None else target.sql:>4} {s['errors']:>7}")
    for target in targets:
        aim = P95_AIMS_MS.get(target.name)
        p95 = summary[target.name]["p95"]
        if aim is not None and p95 is not None:
            print(f"{target.name} p95 {p95:,.1f} ms: aim under {aim} ms "
                  f"{'ok' if p95 < aim else 'NO'}")
    none = [t.name for t in targets if summary[t.name]["requests"] == 0]
    if none:
        print(f"No request of {', '.join(none)} completed within a run: one takes longer than "
              f"the run under this load (raise BENCH_DURATION and BENCH_TIMEOUT to measure it).")
    few = [t.name for t in targets if 0 < summary[t.name]["requests"] < 100]
    if few:
        print(f"Fewer than 100 requests measured for {', '.join(few)}: rough figures; "
              f"a longer BENCH_DURATION gives steadier ones.")


def _rounded(value):
    """Floats to 3 decimals, all the way down (req/s, ms, ratios)."""
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT,
                              capture_output=True, text=True, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


# --- main ------------------------------------------------------------------------------------

def _on_sigterm(_signum, _frame):
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, _on_sigterm)
    # Ctrl-C must stop the servers even when started from a shell that ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return _main()
    except KeyboardInterrupt:
        print("\nInterrupted; servers and localstripe stopped.", file=sys.stderr)
        return 130


def _is_dev_database(database_url: str) -> bool:
    """True for the app's own SQLite file in instance/ (the demo a developer clicks through)."""
    from sqlalchemy.engine import make_url

    from core.config import _default_database_url

    url, default = make_url(database_url), make_url(_default_database_url())
    return (url.get_backend_name() == "sqlite" and bool(url.database)
            and Path(url.database).resolve() == Path(default.database).resolve())


def _main() -> int:
    from bench import orders as order_bench

    cfg = Config.from_env()
    ocfg = order_bench.OrdersConfig.from_env(REQUEST_TIMEOUT)
    from core.config import load_settings

    database_url = os.environ.get("DATABASE_URL") or load_settings().DATABASE_URL
    os.environ["DATABASE_URL"] = database_url  # the in-process check and every child use it
    if ocfg.enabled and "BENCH_ORDERS" not in os.environ and _is_dev_database(database_url):
        print("Note: no orders benchmark on the development database (instance/marketline.db): "
              "it places orders and tops up stock. Set DATABASE_URL to a bench database, or "
              "BENCH_ORDERS=1 to place them here anyway.")
        ocfg.mode = "0"
    pages = ocfg.mode != "only"
    if ocfg.enabled:
        # Mail of the bench's orders is printed to the workers' stdout (discarded), never sent
        # to an SMTP server or queued on Redis for a worker that is not running. Every virtual
        # shopper comes from 127.0.0.1: the per-address payment limit is off for the bench.
        os.environ.update(SMTP_URL="", REDIS_URL="", RATE_LIMIT_PAYMENTS_PER_HOUR="0")
    worker = None
    # The orders run as production does (REDIS_URL set): the confirmation e-mail goes
    # through Redis to a Celery worker, whose CPU per order is reported with the app's,
    # instead of being rendered inside POST /checkout. BENCH_CELERY=0: e-mails inline.
    celery = cfg.servers > 1 or (ocfg.enabled and os.environ.get("BENCH_CELERY", "1") != "0")
    if celery:
        # As production runs it: the e-mails go through Redis to a Celery worker (which
        # prints them: still no SMTP), on a Redis database of our own.
        from bench import scaleout
        queue_url = scaleout.redis_url()
        scaleout.flush(queue_url)
        os.environ.update(REDIS_URL=queue_url, SMTP_URL="")
    OUT.mkdir(parents=True, exist_ok=True)
    tool = cfg.tool
    if tool == "auto":
        tool = "wrk" if wrk_path() else "python"
    if tool == "wrk" and not wrk_path():
        raise SystemExit("BENCH_TOOL=wrk but wrk is not installed (apt-get install wrk)")
    load = run_wrk if tool == "wrk" else run_python

    started = time.monotonic()
    load_before = os.getloadavg()
    if load_before[0] > 1.0:
        print(f"Note: load average is already {load_before[0]:.1f} before the benchmark starts; "
              f"other work on this machine will lower every figure (ratios suffer less).")
    servers: dict[str, list[Server]] = {}
    stripe: order_bench.LocalStripe | None = None
    work = Path(tempfile.mkdtemp(prefix="marketline-bench-"))
    drain_paths = {"app": "/agent/sign-in", "ceiling": "/bare"}
    order_result: dict | None = None
    targets: list[Target] = []
    try:
        if ocfg.enabled:
            stripe = order_bench.LocalStripe(free_port(), ocfg.stripe_state)
            stripe.start()
            stripe.wait_ready()
            os.environ.update(stripe.app_env())  # before the app is imported or started
        env = dict(os.environ)
        print("Preparing the database ...")
        print("  " + flask_command("migrate", env=env, timeout=300))
        print("  " + flask_command("seed", "--if-empty", env=env, timeout=900))
        all_targets, data = pick_targets(database_url, cfg)
        targets = all_targets if pages else []
        print(f"  {data['database']}: {data['products']:,} products, "
              f"{data['customers']:,} customers")
        sales = data["sales"]
        print(f"  sales: {sales['order_lines']:,} order lines, {sales['invoices']:,} invoices, "
              f"{sales['credit_notes']:,} credit notes, {sales['sales_facts']:,} sales facts, "
              f"{sales['sales_days']:,} roll-up cells")
        if any(t.name == "ageing" for t in targets):
            if _is_dev_database(database_url) and "BENCH_AGEING_INVOICES" not in os.environ:
                print("  ageing: the development database keeps its own invoices (set "
                      "BENCH_AGEING_INVOICES to add the bench's open invoices here)")
            else:
                from bench import ageing as ageing_bench
                data["ageing"] = ageing_bench.prepare(database_url)
                print(f"  ageing: {data['ageing']['open_invoices']:,} open invoices over "
                      f"{data['ageing']['customers']:,} customers "
                      f"({data['ageing']['added']:,} added in {data['ageing']['seconds']} s)")
        if targets:
            check_in_process(targets, cfg, data["category_path"])
            targets = [t for t in targets if t.status == 200]
            if any(t.name.startswith("analytics") for t in targets):
                from bench import analytics as analytics_bench
                data["analytics"] = analytics_bench.time_report(database_url)
                for name, figures in data["analytics"].items():
                    print(f"  in-process {name}: p50 {figures['ms_p50']} ms, "
                          f"p95 {figures['ms_p95']} ms ({figures['source']})")
            print(f"Load: {tool}, {cfg.connections} connections, {cfg.rounds} round(s) of "
                  f"{cfg.warmup:g} s warm-up + {cfg.duration:g} s per target, interleaved; "
                  f"gunicorn {cfg.workers} sync workers x 1 thread per server"
                  + (f"; {cfg.servers} servers of each, the load split over them at once."
                     if cfg.servers > 1 else "."))
        if ocfg.enabled:
            items = order_bench.prepare_items(database_url, ocfg.variants)
            print(f"  orders: {len(items)} variants to buy ({items[0].sku} ...), each topped up "
                  f"to {order_bench.TOP_UP:,} available; localstripe at {stripe.url}")
            sys.path.insert(0, str(PROJECT_ROOT))
            import wsgi  # noqa: E402  (reads DATABASE_URL and STRIPE_*, set above)

            order_check = order_bench.check_in_process(
                wsgi.application, stripe.url, items,
                profile_to=OUT / "profile-orders.txt" if cfg.profile else None)
            if cfg.profile:
                print(f"  profile of orders: "
                      f"{Path(order_check['profile']).relative_to(PROJECT_ROOT)}")

        servers["app"] = [Server(_server_name("app", n), "wsgi:application", env, cfg.workers,
                                 OUT) for n in range(cfg.servers)]
        if targets:
            servers["ceiling"] = [Server(_server_name("ceiling", n), "bench.ceiling:app", env,
                                         cfg.workers, OUT) for n in range(cfg.servers)]
        if celery:
            worker = scaleout.Worker(env, OUT, int(os.environ.get("BENCH_CELERY_CONCURRENCY")
                                                   or 1))
            worker.start()
        for group in servers.values():
            for server in group:
                server.start()
        for name, group in servers.items():
            for server in group:
                server.wait_ready(drain_paths[name])
        if worker is not None:
            worker.wait_ready()
            print(f"  {cfg.servers} app servers on ports "
                  f"{', '.join(str(s.port) for s in servers['app'])}; Celery worker on "
                  f"{queue_url} (log: {worker.log.relative_to(PROJECT_ROOT)})")

        def measure(group: list[Server], path: str, seconds: float, cookie: str) -> dict:
            if len(group) == 1:
                return load(group[0].base + path, seconds, cfg, work, cookie)
            return scaleout.split_load(load, [s.base + path for s in group], seconds, cfg,
                                       work, cookie)

        def drain_all(group: list[Server], path: str) -> float:
            return sum(server.drain(path) for server in group)

        for round_number in range(1, cfg.rounds + 1 if targets else 1):
            for target in targets:
                group = servers[target.server]
                if cfg.warmup > 0:
                    measure(group, target.path, cfg.warmup, target.cookie)
                    # Requests the warm-up left queued must not eat the measured run: on a
                    # page that takes seconds they would fill all of it.
                    drain_all(group, drain_paths[target.server])
                run = measure(group, target.path, cfg.duration, target.cookie)
                run["drain_seconds"] = round(drain_all(group, drain_paths[target.server]), 2)
                target.runs.append(run)
                print(f"  round {round_number}/{cfg.rounds}  {target.name:<9} "
                      f"{run['requests'] / run['seconds'] if run['seconds'] else 0:>9,.1f} req/s"
                      f"  p95 {_ms(run['p95'])} ms"
                      + (f"  errors {run['errors']}" if run["errors"] else "")
                      + ("  (" + ", ".join(f"{name} {part['rps']:,.1f}" for name, part
                                           in run["per_server"].items()) + ")"
                         if "per_server" in run else ""))
        if ocfg.enabled:
            apps = servers["app"]
            bases = [app.base for app in apps]
            print(f"Orders: {ocfg.shoppers} virtual shoppers, {ocfg.warmup:g} s warm-up + "
                  f"{ocfg.duration:g} s; gunicorn {cfg.workers} sync workers x 1 thread"
                  + (f" per server, {len(apps)} servers, each shopper's steps hopping "
                     f"servers" if len(apps) > 1 else "") + ".")
            if worker is not None:
                since = dt.datetime.now(dt.timezone.utc)
                reserved_before = scaleout.reserved_units(database_url,
                                                          [i.variant_id for i in items])
            warm = None
            if ocfg.warmup > 0:
                warm = order_bench.run_shoppers(bases, stripe.url, items, ocfg.shoppers,
                                                ocfg.warmup, REQUEST_TIMEOUT, "warm")
                drain_all(apps, drain_paths["app"])
            # CPU used per order: the noisy machine changes orders/s far more than this.
            cpu_pids = {"app": [app.proc.pid for app in apps],
                        "localstripe": [stripe.proc.pid]}
            if worker is not None:
                cpu_pids["celery worker"] = [worker.proc.pid]
            cpu_before = {k: order_bench.cpu_seconds(v) for k, v in cpu_pids.items()}
            own_before = os.times()
            measured = order_bench.run_shoppers(bases, stripe.url, items, ocfg.shoppers,
                                                ocfg.duration, REQUEST_TIMEOUT, "run")
            own_after = os.times()
            cpu_after = {k: order_bench.cpu_seconds(v) for k, v in cpu_pids.items()}
            drain = drain_all(apps, drain_paths["app"])
            summary = order_bench.summarise(measured)
            if summary["orders"]:
                cpu = {f"{k} workers" if k == "app" else k:
                       (cpu_after[k] - cpu_before[k]) * 1000 / summary["orders"]
                       if cpu_before[k] is not None and cpu_after[k] is not None else None
                       for k in cpu_pids}
                cpu["load generator"] = ((own_after.user + own_after.system - own_before.user
                                          - own_before.system) * 1000 / summary["orders"])
                summary["cpu_ms_per_order"] = cpu
            print(f"  {summary['orders']} orders in {summary['seconds']:.1f} s: "
                  f"{summary['orders_per_s']:.1f} orders/s, p95 {_ms(summary['place_ms']['p95'])} "
                  f"ms" + (f", errors {summary['errors']}" if summary["errors"] else ""))
            order_result = dict(
                settings=dict(shoppers=ocfg.shoppers, duration_s=ocfg.duration,
                              warmup_s=ocfg.warmup, variants=[i.sku for i in items],
                              stripe_state=ocfg.stripe_state, gunicorn_workers=cfg.workers,
                              timeout_s=REQUEST_TIMEOUT),
                **order_check, measured=summary, drain_seconds=round(drain, 2),
                warmup=order_bench.summarise(warm) if warm else None)
            if worker is not None:
                confirmed = measured.confirmed + (warm.confirmed if warm else [])
                queue = worker.drain(queue_url, expected=len(confirmed))
                order_result["database_check"] = scaleout.check_orders(
                    database_url, [i.variant_id for i in items], since, reserved_before,
                    confirmed)
                order_result["celery"] = queue
                order_result["settings"]["app_servers"] = len(apps)
    finally:
        for group in servers.values():
            for server in group:
                server.stop()
        if worker is not None:
            worker.stop()
        if stripe is not None:
            stripe.stop()
        shutil.rmtree(work, ignore_errors=True)

    summary = {t.name: aggregate(t.runs) for t in targets}
    ceiling_rps = summary["ceiling"]["rps"] if targets else None
    if targets:
        print()
        print(f"{data['dialect']}, {data['products']:,} products, "
              f"{data['sales']['order_lines']:,} order lines, "
              f"{data['sales']['sales_facts']:,} sales facts; ratio = page req/s / "
              f"ceiling req/s ({ceiling_rps:,.1f})")
        print_table(targets, summary)
    if order_result is not None:
        if ceiling_rps:
            # Like the pages, against the ceiling of the same run (measured before the orders,
            # so drift between the two is not cancelled as well as for interleaved pages).
            order_result["orders_per_s_to_ceiling_rps"] = (
                order_result["measured"]["orders_per_s"] / ceiling_rps)
        print()
        order_bench.print_report(order_result)
        if "database_check" in order_result:
            from bench import scaleout
            scaleout.print_report(order_result)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    result = dict(
        at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        commit=git_commit(), data=data, tool=tool,
        settings=dict(duration_s=cfg.duration, rounds=cfg.rounds, warmup_s=cfg.warmup,
                      connections=cfg.connections, wrk_threads=cfg.threads,
                      gunicorn_workers=cfg.workers, gunicorn_threads=1, worker_class="sync",
                      app_servers=cfg.servers,
                      search=cfg.search),
        ceiling_rps=round(ceiling_rps, 3) if ceiling_rps is not None else None,
        targets=[_rounded(dict(
            name=t.name, server=t.server, path=t.path, sql=t.sql,
            ratio=(summary[t.name]["rps"] / ceiling_rps if ceiling_rps else None),
            aim=AIMS.get(t.name), **summary[t.name],
            runs=[{k: v for k, v in r.items() if k != "samples_ms"} for r in t.runs]))
            for t in targets],
        orders=_rounded(order_result),
        wall_seconds=round(time.monotonic() - started, 1),
        load_average_before=[round(x, 2) for x in load_before],
        load_average_after=[round(x, 2) for x in os.getloadavg()],
        cpus=os.cpu_count(),
    )
    path = OUT / f"bench-{data['dialect']}-{stamp}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    (OUT / "latest.json").write_text(path.read_text())
    print(f"\nWritten: {path.relative_to(PROJECT_ROOT)} ({result['wall_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
