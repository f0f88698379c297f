"""Two real app servers (gunicorn, two workers each) over one PostgreSQL database: no unit sold
twice, no session lost between them, no throttle counted per process.

The servers are separate processes sharing only what production shares: the database, the
SECRET_KEY and the payment service (localstripe). Every visitor's steps hop servers (the
product page on one, add to cart on the other, and so on: bench.orders.HttpBrowser), so a
session or cart kept in one process would fail the visit.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bench.orders import HttpBrowser, Item, ShopperError, buy, stripe_client
from core.catalog.models import Product, Variant
from core.inventory.models import StockLevel
from core.orders.models import Cart, CartLine, Order, OrderLine
from core.ratelimit import RateCounter
from tests.conftest import CSRF_META, free_port, wait_for
from tests.pg import test_checkout_concurrency as checkout_tests

ROOT = Path(__file__).resolve().parents[2]
STOCK, SHOPPERS = 5, 16
CODES_PER_MINUTE = 4  # the coupon budget per client address, made small for the test
make_variant = checkout_tests.make_variant  # the fixture: a committed variant, removed after


@pytest.fixture(scope="module")
def servers(database_url, engine, localstripe, tmp_path_factory):
    """Two gunicorn servers of wsgi:application over the run's demo database, on free ports;
    stopped (by pid) afterwards, and the rate counters they committed removed."""
    logs = tmp_path_factory.mktemp("gunicorn")
    env = {**os.environ, "DATABASE_URL": database_url,
           "SECRET_KEY": "two-servers-share-this-secret-key-0123456789",
           "STRIPE_API_BASE": localstripe, "STRIPE_JS_URL": f"{localstripe}/js.stripe.com/v3/",
           "REDIS_URL": "", "SMTP_URL": "", "RATE_LIMIT_PAYMENTS_PER_HOUR": "0",
           "RATE_LIMIT_CODES_PER_MINUTE": str(CODES_PER_MINUTE)}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    processes, bases = [], []
    try:
        for n in range(2):
            port = free_port()
            processes.append(subprocess.Popen(
                [str(gunicorn), "--workers", "2", "--bind", f"127.0.0.1:{port}",
                 "--timeout", "30", "--graceful-timeout", "2", "--error-logfile",
                 str(logs / f"server-{n}.log"), "wsgi:application"],
                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))
            bases.append(f"http://127.0.0.1:{port}")
        for base in bases:
            wait_for(base + "/", timeout=30)
        yield bases
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        with Session(engine) as s:  # the budgets of 127.0.0.1 they spent
            s.execute(delete(RateCounter))
            s.commit()


@pytest.fixture
def scarce_item(engine, make_variant):
    """A new product sold in the shop at 9.99 with STOCK units (make_variant: removed
    afterwards with its orders), and the carts the shoppers filled with it."""
    variant_id = make_variant(on_hand=STOCK)
    with Session(engine) as s:
        sku, slug = s.execute(select(Variant.sku, Product.slug).join(Product)
                              .where(Variant.id == variant_id)).one()
    yield Item(variant_id, sku, f"/p/{slug}")
    with Session(engine) as s:
        s.execute(delete(Cart).where(Cart.id.in_(
            select(CartLine.cart_id).where(CartLine.variant_id == variant_id))))
        s.commit()


def test_sixteen_shoppers_hopping_between_two_servers_buy_exactly_the_five_in_stock(
        servers, engine, scarce_item, localstripe):
    item = scarce_item
    barrier = threading.Barrier(SHOPPERS, timeout=30)
    confirmed: list[str] = []
    refused: list[ShopperError] = []
    failed: list[str] = []

    def at_checkout(placing: bool) -> None:
        if placing:  # every cart holds the unit: all sixteen submit together
            barrier.wait()

    def shopper(i: int) -> None:
        browser = HttpBrowser(servers, timeout=30, first=i)  # A, B, A, B or B, A, B, A
        try:
            buy(browser, stripe_client(localstripe), item, f"race.{i}@example.com",
                on_place=at_checkout, confirmed=confirmed)
        except ShopperError as err:
            refused.append(err)
        except Exception as err:  # noqa: BLE001 - a timeout or a broken barrier
            failed.append(repr(err))
        finally:
            browser.close()

    threads = [threading.Thread(target=shopper, args=(i,)) for i in range(SHOPPERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert failed == []
    assert len(confirmed) == STOCK, [str(e) for e in refused]
    assert len(refused) == SHOPPERS - STOCK
    for err in refused:  # the clear answer at the form, never a 500
        assert err.kind == "POST /checkout: HTTP 422 invalid", err
        assert "Not enough stock" in err.detail or "stock changed" in err.detail, err
    with Session(engine) as s:
        level = s.scalar(select(StockLevel).where(StockLevel.variant_id == item.variant_id))
        assert (level.on_hand, level.reserved) == (STOCK, STOCK)
        placed = s.execute(select(Order.number, Order.status).join(OrderLine)
                           .where(OrderLine.variant_id == item.variant_id)).all()
        assert sorted(placed) == sorted((number, "confirmed") for number in confirmed)
        units = s.scalar(select(func.sum(OrderLine.quantity))
                         .where(OrderLine.variant_id == item.variant_id))
        assert units == STOCK


def test_a_customer_signed_in_on_one_server_is_signed_in_on_the_other(servers):
    a, b = servers
    with requests.Session() as browser:
        token = _csrf(browser, a + "/account/sign-in")
        answer = browser.post(a + "/account/sign-in", allow_redirects=False,
                              data={"email": "shopper@example.com", "password": "demo-pass-1",
                                    "csrf_token": token})
        assert answer.status_code == 303, answer.text[:300]
        page = browser.get(b + "/account/", allow_redirects=False)  # signed-in only
        assert page.status_code == 200, page.headers.get("Location")
        assert "Sign out" in page.text
    with requests.Session() as stranger:  # what a lost session would look like
        assert stranger.get(b + "/account/", allow_redirects=False).status_code in (302, 303)


def test_the_coupon_throttle_counts_the_tries_of_both_servers_together(servers):
    """The budget is per client address, in the database: tries spread over two servers
    (four worker processes) are refused after CODES_PER_MINUTE in all, not per process."""
    refusals = []
    with requests.Session() as browser:
        token = _csrf(browser, servers[0] + "/cart")
        for n in range(CODES_PER_MINUTE + 2):
            page = browser.post(servers[n % 2] + "/cart/coupon",
                                data={"code": f"WRONG{n}", "csrf_token": token})
            refusals.append(page.status_code == 429 or "Too many coupon codes" in page.text)
    assert refusals == [False] * CODES_PER_MINUTE + [True, True]


def _csrf(browser: requests.Session, url: str) -> str:
    page = browser.get(url)
    assert page.status_code == 200, url
    return CSRF_META.search(page.text).group(1)
