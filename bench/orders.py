"""The orders benchmark: virtual shoppers buy through the real checkout, paying on localstripe.

Run by bench.run after the page benchmarks (BENCH_ORDERS=1, the default; 0 skips it; "only"
runs it without the page benchmarks). Each virtual shopper is a thread; each loop is one
new shopper (a fresh requests.Session, so a fresh cookie, CSRF token and cart), doing what
a browser does (storefront/static/checkout.js):

1. GET the product page (the CSRF token is in <meta name="csrf-token">);
2. POST /cart/add (variant_id, quantity, csrf_token), following the 303 to the cart page;
3. GET /checkout: the form's hidden `key`, the CSRF token, the chosen shipping method
   (a browser then asks /checkout/card-setup for a SetupIntent; the bench's
   PaymentMethod below needs none);
4. create a card PaymentMethod on localstripe with the stripe SDK: the stand-in for the
   browser's confirmCardSetup (Stripe.js), so it is not counted as the shop's time;
5. POST /checkout with the form fields and `payment_method`, header X-CSRFToken and
   Accept: application/json: the order is placed (number, lines, stock reservation), then
   its PaymentIntent created and confirmed on localstripe. This request is the one timed;
   an answer {"status": "confirmed"} is a placed order, anything else an error.

Reported: orders/s = orders confirmed before the end / seconds; p50/p95/p99 of the POST
/checkout of those orders; errors = visits that failed at any step (a non-confirmed answer,
a failed page, a timeout), by kind with one example each; the whole loop's rate and
latency, and each earlier step's. A visit cut short by the end of the run, or confirmed
after it, is not counted either way (as wrk drops late replies).

What it buys: `BENCH_ORDERS_VARIANTS` sellable variants of the B2C web channel (large-data
ones when present), each topped up in the bench database to a million units available
before the run, so stock never runs out (the orders stay in the database; the bench
database is the bench's own). Shoppers pick them round-robin, so no single stock row is
the hot spot: what serialises placements is the order number (see the report).

localstripe is started on a free 127.0.0.1 port with TMPDIR set to a private folder. The
localstripe release we use (1.15.10) writes its state to the hard-coded path
/tmp/localstripe.pickle whatever TMPDIR says, and re-pickles its whole store after every
write, so each call gets slower as objects pile up (about 4 ms per PaymentMethod +
PaymentIntent at the start, 10 ms after 400 pairs, measured). `python -m bench.orders
localstripe` runs it with that file moved into the private folder (BENCH_STRIPE_STATE=file)
or, by default, kept in memory only (BENCH_STRIPE_STATE=memory): a throw-away instance needs
no file, and the figure should measure the shop, not localstripe's pickling.

Settings (environment):
    BENCH_ORDERS            1 (default) | 0 | only
    BENCH_ORDERS_SHOPPERS   concurrent virtual shoppers (threads; default 8)
    BENCH_ORDERS_DURATION   seconds of the measured run (default 15; "15s" works too)
    BENCH_ORDERS_WARMUP     seconds of warm-up with all shoppers first (default 3)
    BENCH_ORDERS_VARIANTS   how many variants the shoppers buy, round-robin (default 20)
    BENCH_STRIPE_STATE      memory (default) | file: localstripe's store, see above
"""
from __future__ import annotations

import contextlib
import cProfile
import io
import itertools
import json
import logging
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
TOP_UP = 1_000_000  # units available per benchmarked variant after the top-up
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
ADDRESS = {"full_name": "Bench Shopper", "line1": "Hauptstraße 5", "city": "Berlin",
           "postal_code": "10115", "country": "DE"}
STEPS = ("product", "cart", "checkout_page", "payment_method", "place")
STEP_LABELS = {
    "product": "GET product page",
    "cart": "POST /cart/add (+ cart page)",
    "checkout_page": "GET /checkout",
    "payment_method": "PaymentMethod (Stripe.js stand-in)",
    "place": "POST /checkout (order + payment)",
}
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
KEY_INPUT = re.compile(r'<input[^>]*\bname="key"[^>]*>')
VALUE_ATTR = re.compile(r'\bvalue="([^"]*)"')
ORDER_LINK = re.compile(r"/order/([^/?#]+)/thanks")  # the confirmation page of the answer
SHIPPING_CHECKED = re.compile(r'name="shipping_method" value="([^"]+)" checked')


def _seconds(value: str | None, default: float) -> float:
    if not value:
        return default
    value = value.strip().lower()
    if value.endswith("ms"):
        return float(value[:-2]) / 1000
    if value.endswith("m"):
        return float(value[:-1]) * 60
    return float(value.rstrip("s"))


@dataclass
class OrdersConfig:
    mode: str = "1"  # "1" | "0" | "only"
    shoppers: int = 8
    duration: float = 15.0
    warmup: float = 3.0
    variants: int = 20
    stripe_state: str = "memory"
    timeout: float = 10.0

    @property
    def enabled(self) -> bool:
        return self.mode != "0"

    @classmethod
    def from_env(cls, timeout: float) -> "OrdersConfig":
        env = os.environ
        mode = env.get("BENCH_ORDERS", "1").strip().lower() or "1"
        mode = {"true": "1", "yes": "1", "on": "1", "false": "0", "no": "0", "off": "0"}.get(
            mode, mode)
        if mode not in ("0", "1", "only"):
            raise SystemExit(f"BENCH_ORDERS must be 1, 0 or only, not {mode!r}")
        state = env.get("BENCH_STRIPE_STATE", "memory").strip().lower() or "memory"
        if state not in ("memory", "file"):
            raise SystemExit(f"BENCH_STRIPE_STATE must be memory or file, not {state!r}")
        return cls(mode=mode,
                   shoppers=max(1, int(env.get("BENCH_ORDERS_SHOPPERS", "8"))),
                   duration=_seconds(env.get("BENCH_ORDERS_DURATION"), 15.0),
                   warmup=_seconds(env.get("BENCH_ORDERS_WARMUP"), 3.0),
                   variants=max(1, int(env.get("BENCH_ORDERS_VARIANTS", "20"))),
                   stripe_state=state, timeout=timeout)


# --- localstripe -----------------------------------------------------------------------------

class LocalStripe:
    """localstripe on a free loopback port, its state in a private temp folder; stopped by pid."""

    def __init__(self, port: int, state: str = "memory"):
        self.port, self.state = port, state
        self.folder: Path | None = None
        self.proc: subprocess.Popen | None = None
        self._log = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def js_url(self) -> str:
        return f"{self.url}/js.stripe.com/v3/"

    def app_env(self) -> dict[str, str]:
        return {"STRIPE_API_BASE": self.url, "STRIPE_JS_URL": self.js_url}

    def start(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="marketline-bench-localstripe-"))
        self._log = open(self.folder / "localstripe.log", "wb")
        env = {**os.environ, "TMPDIR": str(self.folder), "BENCH_STRIPE_STATE": self.state}
        # Own session, like the gunicorn servers: the runner stops it (also on Ctrl-C).
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.orders", "localstripe", "--port", str(self.port),
             "--from-scratch"], cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"localstripe exited:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.js_url, timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"localstripe not answering after {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = (self.folder / "localstripe.log").read_text(errors="replace")
            return "\n".join(text.splitlines()[-lines:])
        except (OSError, TypeError):
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # by pid; aiohttp stops on SIGTERM
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def serve_localstripe(argv: list[str]) -> None:
    """localstripe's own server, with its store file in tempfile.gettempdir() (TMPDIR), or
    not written at all (BENCH_STRIPE_STATE=memory); localstripe itself always uses /tmp."""
    import pickle

    from localstripe import resources, server

    path = Path(tempfile.gettempdir()) / "localstripe.pickle"

    def load(store):
        try:
            with open(path, "rb") as f:
                old = pickle.load(f)
        except FileNotFoundError:
            return
        store.clear()
        store.update(old)

    def dump(store):
        with open(path, "wb") as f:
            pickle.dump(store, f, protocol=pickle.HIGHEST_PROTOCOL)

    resources.Store.try_load_from_disk = load
    if os.environ.get("BENCH_STRIPE_STATE", "memory") == "memory":
        resources.Store.dump_to_disk = lambda store: None
    else:
        resources.Store.dump_to_disk = dump
    sys.argv = ["localstripe", *argv]
    server.start()


# --- what the shoppers buy -------------------------------------------------------------------

@dataclass(frozen=True)
class Item:
    variant_id: int
    sku: str
    path: str  # the product page


def prepare_items(database_url: str, count: int) -> list[Item]:
    """Sellable, light variants of the B2C web channel (large-data ones first), topped up so
    that TOP_UP units are available to sell."""
    from urllib.parse import quote

    from sqlalchemy import select, update
    from sqlalchemy.orm import Session

    from core.catalog.assortment import sellable
    from core.catalog.models import Channel, Product, Variant
    from core.db import make_engine
    from core.inventory.models import StockLevel
    from core.inventory.services import WAREHOUSE
    from storefront.viewer import B2C

    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            channel_id = session.scalar(select(Channel.id).where(Channel.code == B2C))
            if channel_id is None:
                raise RuntimeError(f"no {B2C} channel in the database")
            base = (select(Variant.id, Variant.sku, Product.slug)
                    .join(Product, Product.id == Variant.product_id)
                    .join(StockLevel, (StockLevel.variant_id == Variant.id)
                          & (StockLevel.warehouse == WAREHOUSE))
                    .where(Variant.active, sellable(session, channel_id),
                           Variant.weight_grams.between(1, 2000))
                    .order_by(Variant.id))
            rows = session.execute(base.where(Variant.sku.like("LG-%")).limit(count)).all()
            if len(rows) < count:
                rows = session.execute(base.limit(count)).all()
            if not rows:
                raise RuntimeError("no sellable variant with a stock level to buy")
            session.execute(
                update(StockLevel)
                .where(StockLevel.variant_id.in_([r.id for r in rows]),
                       StockLevel.warehouse == WAREHOUSE,
                       StockLevel.on_hand - StockLevel.reserved < TOP_UP)
                .values(on_hand=StockLevel.reserved + TOP_UP)
                .execution_options(synchronize_session=False))
            session.commit()
    finally:
        engine.dispose()
    return [Item(r.id, r.sku, f"/p/{quote(r.slug)}") for r in rows]


# --- one shopper -----------------------------------------------------------------------------

class ShopperError(Exception):
    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind, self.detail = kind, detail


class HttpBrowser:
    """A browser over HTTP: requests.Session (a cookie jar, redirects followed).

    Given several bases (app servers), each request goes to the next one, starting at
    `first`: one visitor's steps hop servers (product page on A, add to cart on B, checkout
    page on A, POST /checkout on B), so its cookie session and cart must hold on every
    server. `last` is the base of the latest request."""

    def __init__(self, base: str | list[str], timeout: float, first: int = 0):
        import requests
        self.bases = [base] if isinstance(base, str) else list(base)
        self.timeout, self._next = timeout, first
        self.last = self.bases[first % len(self.bases)]
        self.session = requests.Session()

    @property
    def base(self) -> str:
        self.last = self.bases[self._next % len(self.bases)]
        self._next += 1
        return self.last

    def get(self, path: str) -> tuple[int, str]:
        r = self.session.get(self.base + path, timeout=self.timeout)
        return r.status_code, r.text

    def post(self, path: str, data: dict, headers: dict | None = None) -> tuple[int, str]:
        r = self.session.post(self.base + path, data=data, headers=headers or {},
                              timeout=self.timeout)
        return r.status_code, r.text

    def close(self) -> None:
        self.session.close()


class WsgiBrowser:
    """The same, in this process (werkzeug's test client): for SQL counts and the profile."""

    def __init__(self, app):
        from werkzeug.test import Client
        self.client = Client(app)

    def get(self, path: str) -> tuple[int, str]:
        r = self.client.get(path, follow_redirects=True)
        return r.status_code, r.get_data(as_text=True)

    def post(self, path: str, data: dict, headers: dict | None = None) -> tuple[int, str]:
        r = self.client.post(path, data=data, headers=headers or {}, follow_redirects=True)
        return r.status_code, r.get_data(as_text=True)

    def close(self) -> None:
        pass


def _expect(step: str, status: int, page: str) -> None:
    if status != 200:
        raise ShopperError(f"{step}: HTTP {status}", page[:300])


def _csrf(step: str, page: str) -> str:
    match = CSRF_META.search(page)
    if not match:
        raise ShopperError(f"{step}: no CSRF token", page[:300])
    return match.group(1)


def buy(browser, stripe_client, item: Item, email: str, deadline: float | None = None,
        on_place=None, confirmed: list[str] | None = None) -> dict[str, float]:
    """One shopper's visit, product page to confirmed order; the seconds of each step.

    Raises ShopperError for anything but a confirmed order; returns None when `deadline`
    passed before the order was sent (the visit is abandoned, not an error). The number of
    every confirmed order, late or not, is appended to `confirmed`.
    """
    timings: dict[str, float] = {}

    def late() -> bool:
        return deadline is not None and time.monotonic() >= deadline

    t = time.perf_counter()
    status, page = browser.get(item.path)
    timings["product"] = time.perf_counter() - t
    _expect("product page", status, page)
    token = _csrf("product page", page)
    if late():
        return None
    t = time.perf_counter()
    status, page = browser.post("/cart/add", {"variant_id": item.variant_id, "quantity": 1,
                                              "csrf_token": token})
    timings["cart"] = time.perf_counter() - t
    _expect("add to cart", status, page)
    if late():
        return None
    t = time.perf_counter()
    status, page = browser.get("/checkout")
    timings["checkout_page"] = time.perf_counter() - t
    _expect("checkout page", status, page)
    token = _csrf("checkout page", page)
    key_input = KEY_INPUT.search(page)
    key = VALUE_ATTR.search(key_input.group(0)) if key_input else None
    if key is None or not key.group(1):
        raise ShopperError("checkout page: no key", page[:300])
    shipping = SHIPPING_CHECKED.search(page)
    if late():
        return None
    t = time.perf_counter()
    try:
        method = stripe_client.v1.payment_methods.create({"type": "card", "card": CARD})
    except Exception as err:  # noqa: BLE001 - any SDK or network failure is one error
        raise ShopperError("PaymentMethod on localstripe failed", repr(err)[:300]) from None
    timings["payment_method"] = time.perf_counter() - t
    if late():
        return None
    form = dict(ADDRESS, email=email, csrf_token=token, key=key.group(1),
                shipping_method=shipping.group(1) if shipping else "standard",
                payment_method=method.id)
    headers = {"X-CSRFToken": token, "Accept": "application/json"}
    if on_place is not None:
        on_place(True)
    t = time.perf_counter()
    try:
        status, body = browser.post("/checkout", form, headers)
    finally:
        timings["place"] = time.perf_counter() - t
        if on_place is not None:
            on_place(False)
    try:
        answer = json.loads(body)
    except ValueError:
        raise ShopperError(f"POST /checkout: HTTP {status}, not JSON", body[:300]) from None
    if answer.get("status") != "confirmed":
        detail = answer.get("message") or answer.get("errors") or answer.get("detail") or ""
        raise ShopperError(f"POST /checkout: HTTP {status} {answer.get('status')}",
                           str(detail)[:300])
    if confirmed is not None:
        number = ORDER_LINK.search(answer.get("redirect", ""))
        confirmed.append(number.group(1) if number else "?")
    return timings


def stripe_client(stripe_url: str):
    import stripe
    return stripe.StripeClient("sk_test_bench", base_addresses={"api": stripe_url})


# --- the load --------------------------------------------------------------------------------

@dataclass
class _Run:
    seconds: float = 0.0
    placed: list[float] = field(default_factory=list)           # POST /checkout, confirmed
    loops: list[float] = field(default_factory=list)            # whole visits, confirmed
    steps: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STEPS})
    errors: dict[str, dict] = field(default_factory=dict)       # kind -> {count, example}
    abandoned: int = 0                                          # cut by the end of the run
    confirmed: list[str] = field(default_factory=list)          # every confirmed order number
    by_server: dict[str, list[float]] = field(default_factory=dict)  # base -> POST /checkout s

    def error(self, kind: str, detail: str) -> None:
        entry = self.errors.setdefault(kind, {"count": 0, "example": detail})
        entry["count"] += 1


def run_shoppers(base: str | list[str], stripe_url: str, items: list[Item], shoppers: int,
                 seconds: float, timeout: float, tag: str) -> _Run:
    """`shoppers` threads, each buying in a loop (a new visitor each time) until the deadline.
    Only visits whose order was confirmed before the deadline count; one whose order
    answered after it is dropped (as wrk drops late replies). With several bases (app
    servers), shopper i starts on server i and every step goes to the next (HttpBrowser)."""
    run = _Run()
    lock = threading.Lock()
    picks = itertools.count()
    start = time.monotonic()
    deadline = start + seconds

    def shopper(i: int) -> None:
        client = stripe_client(stripe_url)
        n = 0
        while time.monotonic() < deadline:
            n += 1
            item = items[next(picks) % len(items)]
            browser = HttpBrowser(base, timeout, first=i)
            t0 = time.perf_counter()
            try:
                timings = buy(browser, client, item, f"bench.{tag}.{i}.{n}@example.com",
                              deadline, confirmed=run.confirmed)
            except ShopperError as err:
                if time.monotonic() <= deadline:
                    with lock:
                        run.error(err.kind, err.detail)
                continue
            except Exception as err:  # noqa: BLE001 - a timeout, a refused connection
                if time.monotonic() <= deadline:
                    with lock:
                        run.error(type(err).__name__, str(err)[:300])
                continue
            finally:
                browser.close()
            loop = time.perf_counter() - t0
            with lock:
                if timings is None or time.monotonic() > deadline:
                    run.abandoned += 1
                    continue
                run.placed.append(timings["place"])
                run.by_server.setdefault(browser.last, []).append(timings["place"])
                run.loops.append(loop)
                for step, value in timings.items():
                    run.steps[step].append(value)

    threads = [threading.Thread(target=shopper, args=(i,), daemon=True) for i in range(shoppers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 5 * timeout + 10)
    run.seconds = min(time.monotonic(), deadline) - start
    return run


def cpu_seconds(root_pids: list[int]) -> float | None:
    """CPU time (user + system) used so far by these processes and their children (a gunicorn
    master and its workers), from /proc; None where there is no /proc."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}  # pid -> (parent pid, seconds)
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    wanted = set(root_pids)
    total = 0.0
    for pid, (ppid, seconds) in stats.items():
        if pid in wanted or ppid in wanted:
            total += seconds
    return total


def _pct(values_s: list[float]) -> dict:
    """Nearest-rank percentiles in milliseconds."""
    ms = sorted(v * 1000 for v in values_s)
    if not ms:
        return dict(count=0, p50=None, p95=None, p99=None, mean=None, max=None)

    def pick(p: float) -> float:
        return ms[min(len(ms) - 1, max(0, int(-(-p * len(ms) // 100)) - 1))]

    return dict(count=len(ms), p50=pick(50), p95=pick(95), p99=pick(99),
                mean=sum(ms) / len(ms), max=ms[-1])


def summarise(run: _Run) -> dict:
    placed = len(run.placed)
    errors = sum(e["count"] for e in run.errors.values())
    return dict(
        seconds=run.seconds, orders=placed,
        orders_per_s=placed / run.seconds if run.seconds else 0.0,
        place_ms=_pct(run.placed),
        loops_per_s=len(run.loops) / run.seconds if run.seconds else 0.0,
        loop_ms=_pct(run.loops),
        steps_ms={s: _pct(v) for s, v in run.steps.items()},
        errors=errors, error_share=errors / (errors + placed) if errors + placed else 0.0,
        error_kinds=run.errors, abandoned_at_end=run.abandoned,
        confirmed_answers=len(run.confirmed),
        place_ms_by_server={b: _pct(v) for b, v in sorted(run.by_server.items())})


# --- in-process check: one order, its SQL, optionally a profile -------------------------------

_SQL = {"count": 0, "on": False}


def _count_sql(_conn, _cursor, statement, *_args) -> None:
    if _SQL["on"] and not statement.lstrip().upper().startswith(
            ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
        _SQL["count"] += 1


def check_in_process(app, stripe_url: str, items: list[Item], *, profile_to: Path | None,
                     profile_orders: int = 30) -> dict:
    """Buy once in this process (it must work before any load), counting the SQL statements
    of the POST /checkout; with profile_to, profile `profile_orders` more POST /checkout."""
    client = stripe_client(stripe_url)
    # Without SMTP_URL the app prints each confirmation e-mail (core.mail); not on our screen.
    with contextlib.redirect_stdout(io.StringIO()), _quiet("marketline.mail"):
        return _check_in_process(app, client, items, profile_to, profile_orders)


@contextlib.contextmanager
def _quiet(logger_name: str):
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _check_in_process(app, client, items, profile_to, profile_orders) -> dict:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def flip(on: bool) -> None:
        _SQL["on"] = on

    event.listen(Engine, "before_cursor_execute", _count_sql)
    try:
        buy(WsgiBrowser(app), client, items[0], "bench.check.0@example.com")  # warm
        _SQL["count"] = 0
        timings = buy(WsgiBrowser(app), client, items[-1], "bench.check.1@example.com",
                      on_place=flip)
        result = dict(sql_per_place=_SQL["count"], in_process_place_ms=timings["place"] * 1000)
    except ShopperError as err:
        raise RuntimeError(f"a test order through the checkout failed: {err}") from None
    finally:
        event.remove(Engine, "before_cursor_execute", _count_sql)
    if profile_to is not None:
        profiler = cProfile.Profile()

        def toggle(on: bool) -> None:
            profiler.enable() if on else profiler.disable()

        spent = []
        for n in range(profile_orders):
            timings = buy(WsgiBrowser(app), client, items[n % len(items)],
                          f"bench.profile.{n}@example.com", on_place=toggle)
            spent.append(timings["place"])
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
        mean = sum(spent) / len(spent) * 1000
        profile_to.write_text(
            f"# POST /checkout, {profile_orders} orders in-process (one at a time, so no lock "
            f"waits), mean {mean:.1f} ms under the profiler\n" + text.getvalue())
        result["profile"] = str(profile_to)
    return result


# --- report ----------------------------------------------------------------------------------

def _ms(value) -> str:
    return "-" if value is None else f"{value:,.1f}"


def print_report(result: dict) -> None:
    s = result["measured"]
    print(f"orders: {result['settings']['shoppers']} virtual shoppers, "
          f"{s['seconds']:.1f} s, payment on localstripe ({result['settings']['stripe_state']} "
          f"state); a loop is one new visitor: product page, add to cart, checkout page, "
          f"PaymentMethod, order")
    header = f"{'what':<36} {'count':>6} {'per s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
    print(header)
    print("-" * len(header))
    place = s["place_ms"]
    print(f"{'orders placed (POST /checkout)':<36} {s['orders']:>6} {s['orders_per_s']:>7.1f} "
          f"{_ms(place['p50']):>8} {_ms(place['p95']):>8} {_ms(place['p99']):>8}")
    loop = s["loop_ms"]
    print(f"{'whole loop':<36} {loop['count']:>6} {s['loops_per_s']:>7.1f} "
          f"{_ms(loop['p50']):>8} {_ms(loop['p95']):>8} {_ms(loop['p99']):>8}")
    for step in STEPS[:-1]:
        p = s["steps_ms"][step]
        print(f"{'  ' + STEP_LABELS[step]:<36} {p['count']:>6} {'':>7} "
              f"{_ms(p['p50']):>8} {_ms(p['p95']):>8} {_ms(p['p99']):>8}")
    extra = []
    cpu = s.get("cpu_ms_per_order")
    if cpu:
        print("CPU per order (whole loop): " + ", ".join(
            f"{name} {value:,.1f} ms" for name, value in cpu.items() if value is not None))
    if "sql_per_place" in result:
        extra.append(f"{result['sql_per_place']} SQL statements per POST /checkout")
    if result.get("orders_per_s_to_ceiling_rps"):
        print(f"orders/s / ceiling req/s of this run: {result['orders_per_s_to_ceiling_rps']:.3f}")
    print(f"errors: {s['errors']} ({s['error_share']:.1%} of answers)"
          + (f"; {', '.join(extra)}" if extra else ""))
    for kind, entry in s["error_kinds"].items():
        print(f"  {entry['count']:>5} x {kind}: {entry['example'][:160]}")
    if s["orders"] and s["orders"] < 100:
        print("Fewer than 100 orders measured: rough figures; a longer BENCH_ORDERS_DURATION "
              "gives steadier ones.")


if __name__ == "__main__":
    if sys.argv[1:2] == ["localstripe"]:
        serve_localstripe(sys.argv[2:])
    else:
        raise SystemExit("usage: python -m bench.orders localstripe --port N [--from-scratch]")
