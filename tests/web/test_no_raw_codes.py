"""No code is shown to a person: every console and shop GET page of the demo, read as text.

Each GET rule of both apps is visited (its arguments filled from demo rows: orders, customers,
invoices, returns, quotes, products, variants, price lists ...) by every console role and
by demo customers of every kind; downloads (PDF, CSV, XML), media and one-time tokens are
listed in SKIP with the reason. A page's text (tags stripped) must hold no audit event name
(`order.placed`), no channel, price-list, shipping-method or payment-terms code of the demo
database (`callcenter`, `retail-eur`, `standard`, `net30`), no snake_case word (a state or
method such as `bank_transfer`) and no "UTC".
"""
from __future__ import annotations

import html
import re
import zlib

import pytest
from sqlalchemy import text

from core.labels import EVENT_LABELS
from tests.conftest import agent_client_for, sign_in

# Rules not walked, and why. Everything else with GET is visited.
SKIP = {
    "/media/<path:filename>": "a file",
    "/account/invoices/<number>.pdf": "a download", "/account/invoices/<number>.xml": "a download",
    "/account/quotes/<quote>/pdf": "a download",
    "/account/returns/<number>/label.pdf": "a download",
    "/account/statements/<month>.pdf": "a download",
    "/orders/returns/<number>/label.pdf": "a download",
    "/sitemap-products-<int:sitemap_file>.xml": "for robots", "/sitemap.xml": "for robots",
    "/robots.txt": "for robots",
    "/account/confirm/<token>": "a one-time token", "/account/email/confirm/<email_token>": "a one-time token",
    "/account/invitation/<invitation_token>": "a one-time token",
    "/account/reset-password/<token>": "a one-time token",
    "/pay/<token>": "a one-time token", "/pay/invoice/<token>": "a one-time token",
    "/orders/lookup/<number>/return": "a guest's signed link",
    "/orders/returns/<number>": "a guest's signed link",
    "/billing/invoices/<number>.pdf": "a download", "/billing/invoices/<number>.xml": "a download",
    "/catalog/price-lists/<int:list_id>/export.csv": "a download",
    "/dunning/letters/<int:letter_id>/pdf": "a download",
    "/fulfilment/orders/<number>/packing-slip.pdf": "a download",
    "/fulfilment/packing-slips.pdf": "a download",
    "/purchase-orders/<number>/pdf": "a download", "/quotes/<quote>/pdf": "a download",
    "/receivables/customers/<number>/statement.pdf": "a download",
}
# Pages that show codes on purpose, and why: the codes are what a person types there.
SHOWS_CODES = {
    "/catalog/import-export": "the columns and price-list codes of the CSV files",
    "/dunning/levels": "the placeholders a letter's text may use",
}
DOWNLOAD = re.compile(r"\.(csv|pdf|xml|txt|json|ics)$|/(export|pdf|download)(\b|$)")

# Arguments for console rules: SQL over the demo, several rows where the states differ.
ORDER_SAMPLE = ("SELECT number FROM orders WHERE id IN (SELECT min(id) FROM orders "
                "GROUP BY status, payment_state, payment_method, channel_code)")
CUSTOMER_SAMPLE = ("SELECT number FROM customers WHERE id IN (SELECT min(id) FROM customers "
                   "GROUP BY kind, payment_terms)")
CONSOLE_ARGS = {
    "number": {
        "/billing/customers/": CUSTOMER_SAMPLE, "/credit/customers/": CUSTOMER_SAMPLE,
        "/customers/": CUSTOMER_SAMPLE, "/collections/": CUSTOMER_SAMPLE,
        "/receivables/customers/": CUSTOMER_SAMPLE,
        "/billing/invoices/": "SELECT number FROM invoices WHERE id IN (SELECT min(id) FROM "
                              "invoices GROUP BY kind, status, payment_method)",
        "/fulfilment/orders/": ORDER_SAMPLE, "/orders/": ORDER_SAMPLE,
        "/order-entry/": "SELECT number FROM orders WHERE status = 'awaiting_payment' LIMIT 2",
        "/purchase-orders/": "SELECT number FROM purchase_orders",
    },
    "list_id": "SELECT id FROM price_lists",
    "product_id": "SELECT min(id) FROM products UNION SELECT id FROM products WHERE drop_ship",
    "promotion_id": "SELECT id FROM promotions LIMIT 3",
    "variant_id": "SELECT min(id) FROM variants",
    "address_id": None,  # from the customer row below
    "user_id": None,
    "run_id": "SELECT id FROM dunning_runs",
    "card_id": "SELECT id FROM gift_cards",
    "sale_id": "SELECT id FROM gift_card_requests",
    "quote": "SELECT number FROM quotes WHERE id IN (SELECT min(id) FROM quotes GROUP BY status)",
    "rma": "SELECT number FROM returns WHERE id IN (SELECT min(id) FROM returns GROUP BY status)",
    "category_id": "SELECT min(id) FROM categories",
    "channel_id": "SELECT id FROM channels",
    "method_id": "SELECT id FROM shipping_methods",
    "supplier_id": "SELECT id FROM suppliers",
    "rate_id": "SELECT min(id) FROM tax_rates",
    "agent_id": "SELECT min(id) FROM agents",
    "warehouse_id": "SELECT id FROM warehouses",
    "sku": "SELECT sku FROM variants WHERE id IN (SELECT min(id) FROM variants) "
           "UNION SELECT 'SHR-P4-12'",
    "arrival_id": "SELECT id FROM expected_arrivals",
}
COMPANY_CUSTOMER = "SELECT number FROM customers WHERE name = 'Acme Corp'"

CONSOLE_ROLES = ["admin", "agent", "supervisor", "catalog", "warehouse", "billing", "credit",
                 "manager"]
SHOP_USERS = ["shopper@example.com", "buyer@acme.example", "approver@acme.example",
              "admin@acme.example", "gina@globex.example", "gabi@example.com", "rosa@example.com"]


def _rows(db, sql: str, **params) -> list:
    return [r[0] for r in db.execute(text(sql), params) if r[0] is not None]


def _console_urls(rule: str, args: list[str], db) -> list[str]:
    """The paths to visit for a console rule, its arguments filled from the demo."""
    if not args:
        return [rule]
    if rule.startswith("/customers/<number>/"):
        number = _rows(db, COMPANY_CUSTOMER)[0]
        cid = _rows(db, "SELECT id FROM customers WHERE number = :n", n=number)[0]
        fill = {"number": number,
                "address_id": (_rows(db, "SELECT id FROM customer_addresses WHERE customer_id "
                                         "= :c", c=cid) or [None])[0],
                "user_id": (_rows(db, "SELECT id FROM customer_users WHERE customer_id = :c",
                                  c=cid) or [None])[0]}
        return [_fill(rule, fill)]
    (arg,) = args
    source = CONSOLE_ARGS[arg]
    if isinstance(source, dict):
        source = next(sql for prefix, sql in source.items() if rule.startswith(prefix))
    return [_fill(rule, {arg: value}) for value in _rows(db, source)]


def _fill(rule: str, values: dict) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule)


def _rules(app):
    for r in app.url_map.iter_rules():
        if "GET" in r.methods and r.endpoint != "static" and not r.endpoint.endswith(".static"):
            yield r


# --- what a raw code looks like --------------------------------------------------------------

TAGS = re.compile(r"<(script|style|template)\b.*?</\1>|<[^>]+>", re.S | re.I)
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def page_text(body: str) -> list[str]:
    """The text nodes of a page, unescaped and trimmed (attributes are not shown)."""
    body = re.sub(r"<!--.*?-->", "", body, flags=re.S)
    return [t for t in (" ".join(html.unescape(part).split())
                        for part in TAGS.split(body)[::1] if part and not part.startswith("<"))
            if t]


def _codes(db) -> tuple[set[str], set[str]]:
    """(codes matched anywhere, plain-word codes matched when they stand alone)."""
    codes = set(_rows(db, "SELECT code FROM channels UNION SELECT code FROM price_lists "
                          "UNION SELECT code FROM shipping_methods "
                          "UNION SELECT payment_terms FROM customers "
                          "UNION SELECT terms FROM invoices"))
    marked = {c for c in codes if re.search(r"[-_0-9]", c)}
    return marked, codes - marked


def raw_codes(texts: list[str], events: set[str], marked: set[str], plain: set[str]) -> set[str]:
    found = set()
    joined = "\n".join(texts)
    for word in re.findall(r"\b[a-z_]+\.[a-z_]+\b", joined):
        if word in events:
            found.add(word)
    for code in marked:
        if re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", joined):
            found.add(code)
    for t in texts:
        if t in plain or any(f"({c})" in t or t.endswith(f": {c}") for c in plain):
            found.add(t)
    found.update(SNAKE.findall(joined))
    if re.search(r"\bUTC\b", joined):
        found.add("UTC")
    return found


@pytest.fixture(autouse=True)
def _swept_on_sqlite(db_backend):
    """What a page says does not depend on the database: the PostgreSQL run of `make test`
    skips this sweep (about a minute of CI's thirty)."""
    if db_backend == "postgresql":
        pytest.skip("pages read the same on every database; swept in the SQLite run")


@pytest.fixture
def vocabulary(db):
    events = set(EVENT_LABELS) | set(_rows(db, "SELECT DISTINCT action FROM audit_events"))
    marked, plain = _codes(db)
    return events, marked, plain


def _report(bad: dict[str, set[str]]) -> str:
    return "raw codes shown:\n" + "\n".join(f"{url}: {', '.join(sorted(codes))}"
                                            for url, codes in sorted(bad.items()))


def _walk(client, urls, vocabulary) -> dict[str, set[str]]:
    events, marked, plain = vocabulary
    bad: dict[str, set[str]] = {}
    for url in urls:
        if url in SHOWS_CODES:
            continue
        response = client.get(url)
        if response.status_code in (302, 303, 401, 403, 404, 405):
            continue
        assert response.status_code < 500, (url, response.status_code)
        if not response.mimetype.startswith("text/html"):
            continue
        found = raw_codes(page_text(response.get_data(as_text=True)), events, marked, plain)
        if found:
            bad[url] = found
    return bad


def _console_pages(console_app, db, *, with_arguments: bool) -> list[str]:
    urls: list[str] = []
    for rule in _rules(console_app):
        if rule.rule in SKIP or DOWNLOAD.search(rule.rule) or rule.rule == "/sign-out":
            continue
        if rule.arguments and not with_arguments:
            continue
        urls += _console_urls(rule.rule, list(rule.arguments), db)
    return sorted(set(urls))


GROUPS = 4


@pytest.mark.parametrize("group", range(GROUPS))
def test_no_console_page_shows_the_administrator_a_raw_code(console_app, db, vocabulary, group):
    """The administrator (every role) opens every page: a quarter of them per test."""
    client = agent_client_for(console_app, "admin@marketline.example")
    urls = [u for u in _console_pages(console_app, db, with_arguments=True)
            if zlib.crc32(u.split("/")[1].encode()) % GROUPS == group]
    bad = _walk(client, urls, vocabulary)
    assert not bad, _report(bad)


@pytest.mark.parametrize("role", [r for r in CONSOLE_ROLES if r != "admin"])
def test_no_console_page_shows_a_role_a_raw_code(console_app, db, vocabulary, role):
    """Each other role's start page and lists (what the role sees differs there)."""
    client = agent_client_for(console_app, f"{role}@marketline.example")
    bad = _walk(client, _console_pages(console_app, db, with_arguments=False), vocabulary)
    assert not bad, _report(bad)


SHOP_ARGS = {
    "number": {"/account/invoices/": "SELECT number FROM invoices WHERE customer_id = :c",
               "/account/orders/": "SELECT number FROM orders WHERE id IN (SELECT min(id) FROM "
                                   "orders WHERE customer_id = :c GROUP BY status, "
                                   "payment_method, channel_code)",
               "/order/": "SELECT number FROM orders WHERE customer_id = :c LIMIT 2",
               "/account/returns/": "SELECT number FROM returns WHERE id IN (SELECT min(id) "
                                    "FROM returns WHERE customer_id = :c GROUP BY status)"},
    "quote": "SELECT number FROM quotes WHERE customer_id = :c",
    "waiting": "SELECT number FROM orders WHERE customer_id = :c "
               "AND status = 'awaiting_approval'",
    "address_id": "SELECT id FROM customer_addresses WHERE customer_id = :c LIMIT 1",
    "user_id": "SELECT id FROM customer_users WHERE customer_id = :c",
    "shopping_list_id": "SELECT id FROM shopping_lists WHERE customer_id = :c",
    "slug": {"/c/": "SELECT slug FROM categories",
             "/p/": "SELECT slug FROM products WHERE id IN (SELECT min(id) FROM products "
                    "GROUP BY category_id)"},
}


def _shop_urls(app, db, customer_id: int) -> list[str]:
    urls = []
    for rule in _rules(app):
        if rule.rule in SKIP or DOWNLOAD.search(rule.rule) or "sign-out" in rule.rule:
            continue
        args = list(rule.arguments)
        if not args:
            urls.append(rule.rule)
            continue
        (arg,) = args
        source = SHOP_ARGS[arg]
        if isinstance(source, dict):
            source = next(sql for prefix, sql in source.items() if rule.rule.startswith(prefix))
        rows = _rows(db, source, c=customer_id)
        if arg == "number" and "/orders/" in rule.rule and rule.rule.endswith(("/cancel",
                                                                                "/return")):
            rows = rows[:1]
        urls += [_fill(rule.rule, {arg: v}) for v in rows]
    return sorted(set(urls))


@pytest.mark.parametrize("email", SHOP_USERS)
def test_no_shop_page_shows_a_raw_code(shop_app, db, vocabulary, email):
    client = shop_app.test_client()
    assert sign_in(client, email, "demo-pass-1").status_code == 303
    customer_id = _rows(db, "SELECT customer_id FROM customer_users WHERE email = :e",
                        e=email)[0]
    bad = _walk(client, _shop_urls(shop_app, db, customer_id), vocabulary)
    assert not bad, _report(bad)


def test_a_guest_sees_no_raw_code_in_the_shop(client, db, vocabulary):
    urls = [u for u in _shop_urls(client.application, db, -1) if not u.startswith("/account")]
    bad = _walk(client, urls, vocabulary)
    assert not bad, _report(bad)


def test_every_get_page_is_walked_or_skipped_for_a_reason(console_app, shop_app):
    """A new page with an argument is given demo rows here (or a reason to skip it)."""
    for app, known in ((console_app, CONSOLE_ARGS), (shop_app, SHOP_ARGS)):
        for rule in _rules(app):
            if rule.rule in SKIP or DOWNLOAD.search(rule.rule):
                continue
            for arg in rule.arguments:
                assert arg in known, f"{rule.rule}: no demo rows for <{arg}>"


def test_the_sweep_sees_a_raw_code():
    texts = page_text("<p>Placed 06 Dec 2026 14:00 UTC</p><td>standard</td>"
                      "<li>order.placed order</li><td>bank_transfer</td><p>(net30)</p>")
    found = raw_codes(texts, {"order.placed"}, {"net30", "web-b2c"}, {"standard"})
    assert found == {"UTC", "standard", "order.placed", "bank_transfer", "net30"}


def _pdf_text(data: bytes) -> list[str]:
    import subprocess
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True,
                         check=True).stdout.decode()
    return [" ".join(line.split()) for line in out.splitlines() if line.strip()]


def test_no_email_or_pdf_of_the_demo_shows_a_raw_code(console_app, db, settings, vocabulary):
    """Order confirmations and shipment e-mails (text and HTML) of orders in every state and
    channel, and invoice and quote PDFs, read as text."""
    import shutil

    from sqlalchemy import select

    from core import notifications
    from core.fulfilment.models import Shipment
    from core.orders.models import Order
    events, marked, plain = vocabulary
    bad: dict[str, set[str]] = {}

    def check(what: str, texts: list[str]):
        found = raw_codes(texts, events, marked, plain)
        if found:
            bad[what] = found

    def mail_texts(message) -> list[str]:
        texts = message.get_body(("plain",)).get_content().splitlines()
        html_part = message.get_body(("html",))
        return [t.strip() for t in texts if t.strip()] + (
            page_text(html_part.get_content()) if html_part is not None else [])

    for number in _rows(db, ORDER_SAMPLE):
        order = db.scalar(select(Order).where(Order.number == number))
        check(f"confirmation {number}", mail_texts(
            notifications.order_confirmation_message(db, order, settings=settings)))
    for shipment in db.scalars(select(Shipment).limit(3)):
        check(f"shipment {shipment.id}", mail_texts(
            notifications.shipment_message(db, shipment, settings=settings, partial=False)))
    if shutil.which("pdftotext"):
        client = agent_client_for(console_app, "admin@marketline.example")
        for number in _rows(db, "SELECT number FROM invoices WHERE id IN (SELECT min(id) FROM "
                                "invoices GROUP BY kind, payment_method)"):
            check(f"invoice {number}.pdf",
                  _pdf_text(client.get(f"/billing/invoices/{number}.pdf").data))
        for number in _rows(db, "SELECT number FROM quotes LIMIT 2"):
            check(f"quote {number}.pdf", _pdf_text(client.get(f"/quotes/{number}/pdf").data))
        for number in _rows(db, "SELECT number FROM orders WHERE id IN (SELECT min(id) FROM "
                                "orders WHERE status IN ('in_fulfilment', 'partially_shipped') "
                                "GROUP BY status, shipping_method)"):
            check(f"packing slip {number}.pdf", _pdf_text(
                client.get(f"/fulfilment/orders/{number}/packing-slip.pdf").data))
    assert not bad, _report(bad)
