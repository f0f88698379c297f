"""The console's stock pages: receive stock (filling backorders), a variant's stock page with
adjust, count and transfer, the stock list, expected arrivals (add, receive, change the date
telling customers, cancel), the start page's low stock; roles, CSRF, errors at the field and
query counts."""
import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import clock
from core.inventory.models import ExpectedArrival, StockLevel, StockMovement
from tests.conftest import csrf_token
from tests.helpers import QueryCounter
from tests.unit.test_backorder_filling import backorderable, expect
from tests.unit.test_orders import place
from tests.web.conftest import text_of


def page(client, path) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def post(client, path, data, page_path="/stock/receive"):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, page_path)})


def level(db, variant_id, warehouse="MAIN"):
    db.expire_all()
    return db.scalar(select(StockLevel).where(StockLevel.variant_id == variant_id,
                                              StockLevel.warehouse == warehouse))


def error_at(html: str, field_id: str) -> str:
    match = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', html)
    assert match, f"no error shown at {field_id}"
    return match.group(1)


@pytest.fixture
def waiting(db):
    """A backorderable item none of which is in stock, two orders waiting for it (2 and 3
    units) and an arrival of 10 in two weeks."""
    variant, supplier = backorderable(db)
    arrival = expect(db, variant, supplier, 10, 14)
    orders = [place(db, [(variant.id, n)], key=f"web-wait-{n}") for n in (2, 3)]
    db.commit()
    return variant, supplier, arrival, orders


# -- roles and the way in --------------------------------------------------------------------


def test_a_plain_agent_reaches_no_stock_page_and_sees_no_stock_link(
        agent_client, warehouse_client, supervisor_client, db, waiting):
    variant, _, arrival, _ = waiting
    paths = ["/stock/", "/stock/receive", f"/stock/{variant.sku}", "/stock/arrivals",
             "/stock/arrivals/new", f"/stock/arrivals/{arrival.id}"]
    for path in paths:
        assert agent_client.get(path).status_code == 403, path
        assert supervisor_client.get(path).status_code == 200, path
        assert warehouse_client.get(path).status_code == 200, path
    token = csrf_token(agent_client, "/")
    response = agent_client.post("/stock/receive", data={
        "sku": variant.sku, "quantity": "5", "warehouse": "MAIN", "csrf_token": token})
    assert response.status_code == 403
    assert level(db, variant.id).on_hand == 0
    assert 'href="/stock/">Stock</a>' in page(warehouse_client, "/")
    assert 'href="/stock/">Stock</a>' not in page(agent_client, "/")


def test_an_unknown_sku_or_arrival_is_not_found(warehouse_client):
    assert warehouse_client.get("/stock/NO-SUCH-SKU").status_code == 404
    assert warehouse_client.get("/stock/arrivals/999999").status_code == 404


# -- receive stock ---------------------------------------------------------------------------


def test_the_receive_form_has_the_labelled_fields_and_takes_the_sku_from_the_link(
        warehouse_client):
    html = page(warehouse_client, "/stock/receive?sku=PAP-A4-80")
    assert "<h1" in html and "Receive stock</h1>" in html
    for label in ("SKU", "Quantity", "Warehouse", "Reference", "Cost price (optional)", "Note"):
        assert re.search(rf"<label for=\"[\w-]+\">{re.escape(label)}</label>", html), label
    assert 'value="PAP-A4-80"' in html
    assert ">Receive stock</button>" in html


def test_receiving_puts_stock_on_hand_and_says_which_orders_got_it(warehouse_client, db,
                                                                   waiting):
    variant, _, _, (first, second) = waiting
    response = post(warehouse_client, "/stock/receive", {
        "sku": variant.sku, "quantity": "4", "warehouse": "MAIN", "reference": "DN-500",
        "unit_cost": "3.20", "note": "one pallet"})
    assert response.status_code == 303
    html = page(warehouse_client, response.headers["Location"])
    assert f"Received 4 × {variant.sku} into MAIN (DN-500)." in html
    assert f"4 units went to backorders: {first.number} (2), {second.number} (2)." in html
    row = level(db, variant.id)
    assert (row.on_hand, row.reserved, row.backordered) == (4, 4, 1)
    receipt = db.scalar(select(StockMovement).where(StockMovement.reference == "DN-500",
                                                    StockMovement.kind == "receipt"))
    assert (receipt.quantity, receipt.unit_cost, receipt.note) == (4, Decimal("3.20"),
                                                                   "one pallet")
    assert "warehouse@marketline.example" in receipt.by or receipt.by == "Wes Warehouse"


@pytest.mark.parametrize("data, field, message", [
    ({"quantity": "abc"}, "quantity", "Enter a whole number of units"),
    ({"quantity": "0"}, "quantity", "Enter a whole number of units"),
    ({"quantity": ""}, "quantity", "Enter the units received."),
    ({"sku": "NO-SUCH"}, "sku", "There is no product with SKU NO-SUCH."),
    ({"sku": ""}, "sku", "Enter the SKU."),
    ({"warehouse": "NOWHERE"}, "warehouse", "Choose an active warehouse from the list."),
    ({"unit_cost": "-2"}, "unit_cost", "A cost price is zero or more."),
    ({"unit_cost": "lots"}, "unit_cost", ""),
])
def test_bad_input_on_the_receive_form_is_shown_at_its_field_and_nothing_is_posted(
        warehouse_client, db, data, field, message):
    before = last_movement(db)
    response = post(warehouse_client, "/stock/receive", {
        "sku": "PAP-A4-80", "quantity": "5", "warehouse": "MAIN", "reference": "DN-1", **data})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in error_at(html, field)
    assert last_movement(db) == before


def last_movement(db):
    db.expire_all()
    return db.scalar(select(StockMovement.id).order_by(StockMovement.id.desc()).limit(1))


def test_receiving_without_a_csrf_token_changes_nothing(warehouse_client, db):
    before = last_movement(db)
    response = warehouse_client.post("/stock/receive", data={
        "sku": "PAP-A4-80", "quantity": "5", "warehouse": "MAIN"})
    assert response.status_code == 400
    assert last_movement(db) == before


def test_receiving_costs_the_same_queries_for_one_waiting_order_or_five(
        warehouse_client, db, connection):
    counts = []
    for n in (1, 5):
        variant, _ = backorderable(db, lead_days=20 + n)
        for i in range(n):
            place(db, [(variant.id, 1)], key=f"q-{n}-{i}")
        db.commit()
        token = csrf_token(warehouse_client, "/stock/receive")
        with QueryCounter(connection) as counter:
            response = warehouse_client.post("/stock/receive", data={
                "sku": variant.sku, "quantity": "9", "warehouse": "MAIN", "reference": "Q",
                "csrf_token": token})
        assert response.status_code == 303
        assert level(db, variant.id).backordered == 0
        counts.append(counter.count)
    assert counts[0] == counts[1]


# -- a variant's stock page ------------------------------------------------------------------


def test_the_stock_page_shows_levels_and_movements_newest_first(warehouse_client, db):
    html = page(warehouse_client, "/stock/PAP-A4-80")
    assert "Stock of PAP-A4-80</h1>" in html
    assert "Levels" in html and "Movements" in html
    post(warehouse_client, "/stock/PAP-A4-80/adjust", {
        "adjust-warehouse": "MAIN", "adjust-change": "-1", "adjust-reason": "lost",
        "adjust-note": "shelf 4"}, "/stock/PAP-A4-80")
    html = page(warehouse_client, "/stock/PAP-A4-80")
    rows = re.findall(r"<tr><td>[\d -:]+</td><td>([^<]+)</td>", html)
    assert rows[0] == "Adjustment"
    assert "Lost or stolen: shelf 4" in html


def test_the_stock_page_costs_the_same_queries_for_few_or_many_movements(
        warehouse_client, db, connection):
    from core.inventory import services as inventory
    from tests.factories import VariantFactory
    variant = VariantFactory()
    inventory.receive(db, variant_id=variant.id, warehouse="MAIN", quantity=1, reference="A",
                      by="t")
    db.commit()
    path = f"/stock/{variant.sku}"
    warehouse_client.get(path)
    with QueryCounter(connection) as few:
        page(warehouse_client, path)
    for i in range(30):
        inventory.receive(db, variant_id=variant.id, warehouse="MAIN", quantity=1,
                          reference=f"B{i}", by="t")
    db.commit()
    with QueryCounter(connection) as many:
        html = page(warehouse_client, path)
    assert html.count("<td>Receipt</td>") == 31
    assert few.count == many.count


def test_adjust_count_and_transfer_post_from_the_stock_page(warehouse_client, db):
    from tests.factories import VariantFactory
    from core.inventory import services as inventory
    variant = VariantFactory()
    inventory.receive(db, variant_id=variant.id, warehouse="MAIN", quantity=10, reference="A",
                      by="t")
    db.commit()
    path = f"/stock/{variant.sku}"
    r = post(warehouse_client, f"{path}/adjust", {"adjust-warehouse": "MAIN",
                                                  "adjust-change": "+2",
                                                  "adjust-reason": "found"}, path)
    assert r.status_code == 303
    r = post(warehouse_client, f"{path}/count", {"count-warehouse": "MAIN",
                                                 "count-counted": "9"}, path)
    assert r.status_code == 303
    assert f"Counted 9 of {variant.sku} in MAIN: difference -3 posted." in page(
        warehouse_client, path)
    r = post(warehouse_client, f"{path}/transfer", {"transfer-source": "MAIN",
                                                    "transfer-target": "HAM",
                                                    "transfer-quantity": "4"}, path)
    if level(db, variant.id, "HAM") is None:  # no second warehouse in this database
        assert r.status_code == 200
        assert level(db, variant.id).on_hand == 9
    else:
        assert r.status_code == 303
        assert (level(db, variant.id).on_hand, level(db, variant.id, "HAM").on_hand) == (5, 4)


def test_units_found_on_the_stock_page_go_to_the_waiting_orders_first(warehouse_client, db,
                                                                      waiting):
    variant, _, _, (first, second) = waiting
    path = f"/stock/{variant.sku}"
    r = post(warehouse_client, f"{path}/adjust", {"adjust-warehouse": "MAIN",
                                                  "adjust-change": "3",
                                                  "adjust-reason": "found"}, path)
    assert r.status_code == 303
    html = page(warehouse_client, path)
    assert f"3 units went to backorders: {first.number} (2), {second.number} (1)." in html
    row = level(db, variant.id)
    assert (row.on_hand, row.reserved, row.backordered) == (3, 3, 2)
    r = post(warehouse_client, f"{path}/count", {"count-warehouse": "MAIN",
                                                 "count-counted": "5"}, path)
    assert r.status_code == 303
    assert f"2 units went to backorders: {second.number} (2)." in page(warehouse_client, path)
    row = level(db, variant.id)
    assert (row.on_hand, row.reserved, row.backordered) == (5, 5, 0)


@pytest.mark.parametrize("form, data, field, message", [
    ("adjust", {"warehouse": "MAIN", "change": "0", "reason": "found"}, "change", "not 0"),
    ("adjust", {"warehouse": "MAIN", "change": "-9999", "reason": "lost"}, "change",
     "on hand in MAIN"),
    ("adjust", {"warehouse": "MAIN", "change": "2", "reason": ""}, "reason", "Choose a reason"),
    ("count", {"warehouse": "MAIN", "counted": "-1"}, "counted", "Enter the units counted"),
    ("transfer", {"source": "MAIN", "target": "MAIN", "quantity": "1"}, "target",
     "two different warehouses"),
    ("transfer", {"source": "MAIN", "target": "", "quantity": "1"}, "target",
     "Choose a warehouse"),
])
def test_bad_input_on_the_stock_page_forms_is_shown_at_the_field(warehouse_client, db, form,
                                                                 data, field, message):
    from tests.unit.test_orders import vid
    before = level(db, vid(db, "PAP-A4-80"))
    path = "/stock/PAP-A4-80"
    response = post(warehouse_client, f"{path}/{form}",
                    {f"{form}-{k}": v for k, v in data.items()}, path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in error_at(html, f"{form}-{field}")
    assert level(db, before.variant_id).on_hand == before.on_hand


def test_the_stock_list_finds_by_sku_or_name_and_filters_low_stock(warehouse_client, db):
    html = page(warehouse_client, "/stock/?q=pap-a4")
    assert "PAP-A4-80" in html and "PEN-G2-BLU" not in html
    html = page(warehouse_client, "/stock/?low=y")
    assert "Low</span>" in html or "No stock matches." in html


def test_the_start_page_links_low_stock_to_receive_stock_prefilled(warehouse_client, db):
    from tests.factories import VariantFactory
    variant = VariantFactory()
    from core.inventory import services as inventory
    inventory.receive(db, variant_id=variant.id, warehouse="MAIN", quantity=1, reference="A",
                      by="t")
    db.commit()
    html = page(warehouse_client, "/")
    if variant.sku in html:
        assert f'href="/stock/receive?sku={variant.sku}"' in html
    assert 'href="/stock/receive?sku=' in html


# -- expected arrivals -----------------------------------------------------------------------


def test_a_new_arrival_is_listed_open_first_and_late_ones_flagged(warehouse_client, db,
                                                                 waiting):
    variant, supplier, arrival, _ = waiting
    expected = (clock.today() + dt.timedelta(days=5)).isoformat()
    response = post(warehouse_client, "/stock/arrivals/new", {
        "supplier": str(supplier.id), "sku": variant.sku, "quantity": "6", "warehouse": "MAIN",
        "expected_on": expected, "reference": "PO-NEW"}, "/stock/arrivals/new")
    assert response.status_code == 303
    new = db.scalar(select(ExpectedArrival).where(ExpectedArrival.reference == "PO-NEW"))
    assert (new.quantity, new.expected_on.isoformat(), new.status) == (6, expected, "open")
    late = expect(db, variant, supplier, 1, 0, reference="PO-LATE")
    late.expected_on = clock.today() - dt.timedelta(days=2)
    db.commit()
    html = page(warehouse_client, "/stock/arrivals?status=open")
    assert html.index("PO-LATE") < html.index("PO-NEW") < html.index(arrival.reference)
    assert re.search(r"PO-LATE|Late</span>", html) and "Late</span>" in html


def test_a_new_arrival_with_a_past_date_is_refused_at_the_field(warehouse_client, db, waiting):
    variant, supplier, _, _ = waiting
    response = post(warehouse_client, "/stock/arrivals/new", {
        "supplier": str(supplier.id), "sku": variant.sku, "quantity": "6", "warehouse": "MAIN",
        "expected_on": "2001-01-01", "reference": "PO-OLD"}, "/stock/arrivals/new")
    assert response.status_code == 200
    assert "today or later" in error_at(response.get_data(as_text=True), "expected_on")


def test_receiving_an_arrival_fills_the_waiting_orders(warehouse_client, db, waiting):
    variant, _, arrival, (first, second) = waiting
    path = f"/stock/arrivals/{arrival.id}"
    response = post(warehouse_client, f"{path}/receive", {"receive-quantity": ""}, path)
    assert response.status_code == 303
    html = page(warehouse_client, path)
    assert f"5 units went to backorders: {first.number} (2), {second.number} (3)." in html
    assert "Received</span>" in html
    db.expire_all()
    assert db.get(ExpectedArrival, arrival.id).status == "received"
    assert (level(db, variant.id).on_hand, level(db, variant.id).reserved) == (10, 5)


def test_too_many_units_on_an_arrival_are_refused_at_the_field(warehouse_client, db, waiting):
    _, _, arrival, _ = waiting
    path = f"/stock/arrivals/{arrival.id}"
    response = post(warehouse_client, f"{path}/receive", {"receive-quantity": "11"}, path)
    assert "from 1 to 10" in error_at(response.get_data(as_text=True), "receive-quantity")


def test_moving_an_arrival_later_lists_the_orders_and_e_mails_their_customers(
        warehouse_client, db, waiting, smtp_sink):
    _, _, arrival, (first, second) = waiting
    path = f"/stock/arrivals/{arrival.id}"
    later = clock.today() + dt.timedelta(days=40)
    response = post(warehouse_client, f"{path}/date", {"date-expected_on": later.isoformat()},
                    path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Orders that now arrive later" in html
    assert first.number in html and second.number in html
    message = smtp_sink.wait_for("ola@example.com", subject=first.number)
    assert "will arrive later" in message["Subject"]
    assert "now expected by" in text_of(message)


def test_cancelling_an_arrival_needs_the_csrf_token_and_then_cancels_it(
        warehouse_client, db, waiting):
    _, _, arrival, _ = waiting
    path = f"/stock/arrivals/{arrival.id}"
    assert warehouse_client.post(f"{path}/cancel").status_code == 400
    response = post(warehouse_client, f"{path}/cancel", {}, path)
    assert response.status_code == 200
    assert "The expected arrival is cancelled." in response.get_data(as_text=True)
    db.expire_all()
    assert db.get(ExpectedArrival, arrival.id).status == "cancelled"


def test_the_arrival_list_costs_the_same_queries_for_one_or_many(warehouse_client, db,
                                                                 connection, waiting):
    variant, supplier, _, _ = waiting
    warehouse_client.get("/stock/arrivals")
    with QueryCounter(connection) as few:
        page(warehouse_client, "/stock/arrivals")
    for i in range(8):
        expect(db, variant, supplier, 1, i + 1, reference=f"MANY-{i}")
    db.commit()
    with QueryCounter(connection) as many:
        page(warehouse_client, "/stock/arrivals")
    assert few.count == many.count



def test_the_stock_list_costs_the_same_queries_for_a_short_or_a_full_page(
        warehouse_client, db, connection):
    from core.inventory import services as inventory
    from tests.factories import VariantFactory
    first = VariantFactory(sku="ZZQ-00")
    inventory.receive(db, variant_id=first.id, warehouse="MAIN", quantity=1, reference="A",
                      by="t")
    db.commit()
    path = "/stock/?q=zzq-"
    warehouse_client.get(path)
    with QueryCounter(connection) as short:
        assert "ZZQ-00" in page(warehouse_client, path)
    for i in range(1, 20):
        v = VariantFactory(sku=f"ZZQ-{i:02d}")
        inventory.receive(db, variant_id=v.id, warehouse="MAIN", quantity=1, reference="A",
                          by="t")
    db.commit()
    with QueryCounter(connection) as full:
        html = page(warehouse_client, path)
    assert "ZZQ-19" in html and "20 stock rows" in html
    assert short.count == full.count
