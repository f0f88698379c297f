"""The warehouse's paperwork: bin locations set on a variant's stock page, the pick list in
walking order with each order's ship-to and shipping method, and packing slips (one order,
or the ticked orders in one PDF, a page each). Roles, CSRF, errors at the field, query
counts; the PDFs read as text."""
import re
import subprocess

import pytest
from sqlalchemy import select

from core.audit import AuditEvent
from core.fulfilment import services
from core.inventory.models import StockLevel
from core.orders.shipping import ShippingMethod
from tests.conftest import csrf_token
from tests.factories import StockLevelFactory, VariantFactory
from tests.helpers import QueryCounter
from tests.unit.test_fulfilment import WAREHOUSE, confirmed, released
from tests.unit.test_orders import vid
from tests.web.test_console_fulfilment import page, post


def level(db, variant_id, warehouse="MAIN") -> StockLevel:
    db.expire_all()
    return db.scalar(select(StockLevel).where(StockLevel.variant_id == variant_id,
                                              StockLevel.warehouse == warehouse))


def pdf_pages(data: bytes) -> list[str]:
    """The PDF's text, page by page (pdftotext ends each page with a form feed)."""
    assert data.startswith(b"%PDF-"), data[:20]
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True,
                         check=True).stdout.decode()
    return [" ".join(p.split()) for p in out.split("\f")[:-1]]


def stocked(db, bin_location: str, on_hand: int = 20):
    """A new variant with stock in MAIN in the given bin ("" for none)."""
    variant = VariantFactory()
    StockLevelFactory(variant=variant, on_hand=on_hand, warehouse="MAIN",
                      bin_location=bin_location)
    return variant


def method_name(db, code: str) -> str:
    return db.scalar(select(ShippingMethod.name).where(ShippingMethod.code == code))


# -- bins on the stock page ------------------------------------------------------------------


def test_the_warehouse_sets_and_clears_a_bin_on_the_stock_page(warehouse_client, db):
    variant = stocked(db, "")
    db.commit()
    path = f"/stock/{variant.sku}"
    html = page(warehouse_client, path)
    assert '<h2 id="bin-h">Bin location</h2>' in html
    assert '<label for="bin-bin_location">Bin</label>' in html
    response = post(warehouse_client, f"{path}/bin", {"bin-warehouse": "MAIN",
                                                      "bin-bin_location": "  A-03-2 "}, path)
    assert response.status_code == 303
    assert level(db, variant.id).bin_location == "A-03-2"
    html = page(warehouse_client, path)
    assert f"{variant.sku} in MAIN is in bin A-03-2." in html
    assert "<td>A-03-2</td></tr>" in html  # the levels table
    assert 'value="A-03-2"' in html  # offered again to change it
    assert "<td>A-03-2</td>" in page(warehouse_client, f"/stock/?q={variant.sku}")
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "stock.bin_set")
                      .order_by(AuditEvent.id.desc()))
    assert event.data["to"] == "A-03-2" and event.actor_label == "warehouse@marketline.example"
    response = post(warehouse_client, f"{path}/bin", {"bin-warehouse": "MAIN",
                                                      "bin-bin_location": ""}, path)
    assert response.status_code == 303
    assert level(db, variant.id).bin_location == ""


@pytest.mark.parametrize("typed, message", [
    ("A" * 21, "at most 20 characters"),
    ("<A-1>", "letters, digits"),
    ("-A", "starts with a letter or digit"),
])
def test_a_bad_bin_is_refused_at_the_field_and_nothing_changes(warehouse_client, db, typed,
                                                                message):
    variant = stocked(db, "B-1")
    db.commit()
    path = f"/stock/{variant.sku}"
    response = post(warehouse_client, f"{path}/bin", {"bin-warehouse": "MAIN",
                                                      "bin-bin_location": typed}, path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    error = re.search(r'<p class="error" id="bin-bin_location-error">([^<]*)</p>', html)
    assert error and message in error.group(1)
    assert level(db, variant.id).bin_location == "B-1"


def test_only_the_warehouse_sets_bins_and_only_with_the_csrf_token(
        warehouse_client, agent_client, db):
    variant = stocked(db, "B-1")
    db.commit()
    path = f"/stock/{variant.sku}"
    token = csrf_token(agent_client, "/")
    response = agent_client.post(f"{path}/bin", data={
        "bin-warehouse": "MAIN", "bin-bin_location": "Z-9", "csrf_token": token})
    assert response.status_code == 403
    response = warehouse_client.post(f"{path}/bin", data={
        "bin-warehouse": "MAIN", "bin-bin_location": "Z-9"})
    assert response.status_code == 400
    assert level(db, variant.id).bin_location == "B-1"


def test_the_demo_stock_has_bins_and_its_pick_list_walks_them(db):
    from core.orders.models import Order
    bins = db.scalars(select(StockLevel.bin_location)).all()
    assert sum(1 for b in bins if b) >= 10
    assert "" in bins  # some rows have none yet: they come last on the pick list
    with_warehouse = db.scalars(select(Order.id).where(
        Order.status.in_(services.RELEASED))).all()
    picks = services.pick_list(db, with_warehouse)
    walk = [(i.sku, i.bin_location) for i in picks.items]
    shown = [w for w in walk if w[0] in ("PEN-G2-BLU", "PAP-A4-80", "STN-76-YEL")]
    assert shown == [("PEN-G2-BLU", "A-2-3"), ("PAP-A4-80", "A-10-1"), ("STN-76-YEL", "")]


# -- the pick list ---------------------------------------------------------------------------


def test_the_pick_list_walks_by_warehouse_then_bin_in_natural_order_then_sku(
        warehouse_client, db):
    far, near, loose, twin = (stocked(db, "A-10"), stocked(db, "A-2"), stocked(db, ""),
                              stocked(db, "a-2"))
    first = released(db, [(loose.id, 1), (far.id, 2)], key="walk-1")
    second = released(db, [(near.id, 3), (twin.id, 1)], key="walk-2")
    db.commit()
    html = page(warehouse_client, f"/fulfilment/pick-list?order={first.id}&order={second.id}")
    rows = re.findall(r'data-testid="bin">([^<]+)</td>\s*<th scope="row"><code>([^<]+)</code>',
                      html)
    # A-2 and a-2 are one bin to a person: SKU decides; A-10 after A-2; no bin last.
    walk = sorted([(near.sku, "A-2"), (twin.sku, "a-2")]) + [(far.sku, "A-10"),
                                                             (loose.sku, "—")]
    assert [(sku, where) for where, sku in rows] == walk
    assert '<th scope="col">Bin</th>' in html


def test_the_pick_list_says_where_each_order_goes_and_how(warehouse_client, db):
    paper = vid(db, "PAP-A4-80")
    order = released(db, [(paper, 1)], key="walk-ship-to")
    order.shipping_address = {**order.shipping_address, "full_name": "Petra Picker",
                              "city": "Graz", "country": "AT", "postal_code": "8010"}
    express = released(db, [(paper, 1)], key="walk-express")
    db.commit()
    name = method_name(db, order.shipping_method)
    assert name and name != order.shipping_method
    html = page(warehouse_client, f"/fulfilment/pick-list?order={order.id}&order={express.id}")
    section = html[html.index('id="pick-orders-h"'):]
    row = section[section.index(f">{order.number}</a>"):].split("</tr>")[0]
    assert "Petra Picker, Graz, Austria" in row
    assert f"<td>{name}</td>" in row
    assert f'href="/fulfilment/orders/{order.number}/packing-slip.pdf"' in row
    assert f">{express.number}</a>" in section


def test_the_pick_list_costs_the_same_queries_for_one_order_or_eight(warehouse_client, db,
                                                                     connection):
    paper, pens = vid(db, "PAP-A4-80"), vid(db, "PEN-G2-BLU")
    ids = [released(db, [(paper, 1), (pens, 1)], key="walk-count-0").id]
    db.commit()
    path = "/fulfilment/pick-list?" + "&".join(f"order={i}" for i in ids)
    warehouse_client.get(path)  # warm-up
    with QueryCounter(connection) as one:
        page(warehouse_client, path)
    for i in range(1, 8):
        extra = stocked(db, f"C-{i}")
        ids.append(released(db, [(paper, 1), (pens, 1), (extra.id, 1)],
                            key=f"walk-count-{i}").id)
    db.commit()
    path = "/fulfilment/pick-list?" + "&".join(f"order={i}" for i in ids)
    with QueryCounter(connection) as eight:
        html = page(warehouse_client, path)
    assert len(set(re.findall(r"/fulfilment/orders/(SO-\d+)/packing-slip", html))) == 8
    assert one.count == eight.count


# -- packing slips ---------------------------------------------------------------------------


@pytest.fixture
def part_shipped(db):
    """A released order of 5 of an item in bin A-07-1 (2 already shipped) and 3 of another
    with no bin."""
    binned, loose = stocked(db, "A-07-1"), stocked(db, "")
    order = released(db, [(binned.id, 5), (loose.id, 3)], key="slip-part")
    services.ship(db, order, {order.lines[0].id: 2}, carrier="own", tracking_number="",
                  actor=WAREHOUSE)
    order.shipping_address = {**order.shipping_address, "full_name": "Sam Slip",
                              "company": "Slip & Co", "city": "Lyon", "country": "FR",
                              "postal_code": "69001", "line1": "1 Rue de la Paix"}
    db.commit()
    return order, binned, loose


def test_a_packing_slip_lists_what_ships_now_with_bins_and_no_prices(warehouse_client, db,
                                                                     part_shipped):
    order, binned, loose = part_shipped
    response = warehouse_client.get(f"/fulfilment/orders/{order.number}/packing-slip.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert f'filename="{order.number}-packing-slip.pdf"' in response.headers[
        "Content-Disposition"]
    (text,) = pdf_pages(response.data)
    assert "Packing slip" in text and order.number in text
    assert "Sam Slip" in text and "Slip & Co" in text and "69001 Lyon" in text
    assert "France" in text
    name = method_name(db, order.shipping_method)
    assert name in text and f" {order.shipping_method} " not in f" {text} "
    assert f"{binned.sku} " in text and f"{loose.sku} " in text
    assert re.search(rf"{binned.sku} .*A-07-1 5 3\b", text), text  # ordered 5, 3 to ship now
    assert re.search(rf"{loose.sku} .*— 3 3\b", text), text
    assert "Marketline" in text or "GmbH" in text  # the letterhead
    assert "EUR" not in text and "€" not in text
    for line in order.lines:
        assert f"{line.unit_price:.2f}" not in text and f"{line.gross:.2f}" not in text


def test_the_fulfilment_order_page_links_its_packing_slip(warehouse_client, part_shipped):
    order, _, _ = part_shipped
    html = page(warehouse_client, f"/fulfilment/orders/{order.number}")
    assert (f'<a href="/fulfilment/orders/{order.number}/packing-slip.pdf">Packing slip of '
            f'{order.number} (PDF)</a>') in html


def test_packing_slips_are_refused_as_the_neighbouring_pages_are(
        console_app, agent_client, supervisor_client, warehouse_client, part_shipped):
    order, _, _ = part_shipped
    single = f"/fulfilment/orders/{order.number}/packing-slip.pdf"
    bulk = f"/fulfilment/packing-slips.pdf?order={order.id}"
    for path in (single, bulk):
        assert agent_client.get(path).status_code == 403, path
        assert supervisor_client.get(path).status_code == 200, path
        anonymous = console_app.test_client().get(path)
        assert anonymous.status_code in (302, 303) and not anonymous.data.startswith(b"%PDF")
    assert warehouse_client.get("/fulfilment/orders/SO-999999/packing-slip.pdf"
                                ).status_code == 404


def test_bulk_packing_slips_give_one_page_per_ticked_order(warehouse_client, db,
                                                           part_shipped):
    order, _, _ = part_shipped
    paper = vid(db, "PAP-A4-80")
    second = released(db, [(paper, 2)], key="slip-bulk-2")
    third = released(db, [(paper, 1)], key="slip-bulk-3")
    not_released = confirmed(db, [(paper, 1)], key="slip-bulk-confirmed")
    db.commit()
    html = page(warehouse_client, "/fulfilment/ship")
    assert ('<button type="submit" formaction="/fulfilment/packing-slips.pdf">Packing slips '
            'for the ticked orders (PDF)</button>') in html
    ids = [order.id, second.id, third.id, not_released.id]
    response = warehouse_client.get("/fulfilment/packing-slips.pdf?"
                                    + "&".join(f"order={i}" for i in ids) + "&order=junk")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pages = pdf_pages(response.data)
    numbers = sorted([order.number, second.number, third.number])
    assert len(pages) == 3
    for text, number in zip(pages, numbers):
        assert number in text and "Packing slip" in text
        assert f"{number} · page 1 of 1" in text
        assert not_released.number not in text


def test_bulk_packing_slips_of_no_ticked_order_say_what_to_do(warehouse_client, db):
    response = warehouse_client.get("/fulfilment/packing-slips.pdf")
    assert response.status_code in (302, 303)
    assert response.headers["Location"].endswith("/fulfilment/ship")
    assert "Tick the orders to print packing slips for" in page(warehouse_client,
                                                                "/fulfilment/ship")
    waiting = confirmed(db, [(vid(db, "PAP-A4-80"), 1)], key="slip-none")
    db.commit()
    response = warehouse_client.get(f"/fulfilment/packing-slips.pdf?order={waiting.id}")
    assert response.status_code in (302, 303)
    assert "None of the ticked orders is with the warehouse" in page(warehouse_client,
                                                                     "/fulfilment/ship")


def test_bulk_packing_slips_cost_the_same_queries_for_one_order_or_four(
        warehouse_client, db, connection):
    paper, pens = vid(db, "PAP-A4-80"), vid(db, "PEN-G2-BLU")
    ids = [released(db, [(paper, 1)], key="slip-count-0").id]
    db.commit()
    path = "/fulfilment/packing-slips.pdf?" + "&".join(f"order={i}" for i in ids)
    warehouse_client.get(path)  # warm-up
    with QueryCounter(connection) as one:
        assert warehouse_client.get(path).status_code == 200
    for i in range(1, 4):
        ids.append(released(db, [(paper, 1), (pens, 2)], key=f"slip-count-{i}").id)
    db.commit()
    path = "/fulfilment/packing-slips.pdf?" + "&".join(f"order={i}" for i in ids)
    with QueryCounter(connection) as four:
        response = warehouse_client.get(path)
    assert len(pdf_pages(response.data)) == 4
    assert one.count == four.count
