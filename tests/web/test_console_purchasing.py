"""The console's purchase order pages: the list (open first, filters, fixed queries), one
purchase order with its PDF and "Send again", recording the supplier's shipment (errors at
the field, nothing half-written), the order pages showing drop-shipped lines; roles, CSRF."""
import re

import pytest
from sqlalchemy import func, select

from core.fulfilment.models import Shipment
from core.orders.models import Order
from core.purchasing import services as purchasing
from core.purchasing.models import PurchaseOrder
from tests.conftest import agent_client_for, csrf_token
from tests.helpers import QueryCounter
from tests.unit.test_drop_shipment import drop_shipped, released, stocked, supplier
from tests.web.conftest import text_of


def page(client, path) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def post(client, path, data, page_path="/purchase-orders/"):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, page_path)})


def drop_order(db, key, *, units=2, with_stock=False, by=None):
    """A released on-account order with a drop-shipped line (and one of ours), committed;
    its purchase order."""
    by = by or supplier(db, code=f"S-{key}"[:20], email=f"{key}@supplier.example")
    lines = [(drop_shipped(db, by), units)] + ([(stocked(db), 1)] if with_stock else [])
    order = released(db, lines, key=key)
    db.commit()
    return order, purchasing.for_order(db, order.id)[0]


def fresh(db, model, id_):
    db.expire_all()
    return db.get(model, id_)


# -- the list -------------------------------------------------------------------------------

def test_the_list_shows_open_purchase_orders_first_and_filters_them(warehouse_client, db):
    order, po = drop_order(db, "l-open")
    html = page(warehouse_client, "/purchase-orders/")
    numbers = re.findall(r'href="/purchase-orders/(PO-\d+)"', html)
    assert numbers[0] == po.number  # the newest open one
    assert "PO-000002" in numbers and numbers.index("PO-000002") > numbers.index("PO-000001")
    assert order.number in html and "Sent to supplier" in html
    shipped = page(warehouse_client, "/purchase-orders/?status=shipped")
    assert re.findall(r'href="/purchase-orders/(PO-\d+)"', shipped) == ["PO-000002"]
    mine = page(warehouse_client, f"/purchase-orders/?supplier={po.supplier_id}&status=open")
    assert re.findall(r'href="/purchase-orders/(PO-\d+)"', mine) == [po.number]
    junk = page(warehouse_client, "/purchase-orders/?supplier=x&status=nonsense")
    assert po.number in junk  # a filter that makes no sense filters nothing


def test_the_list_costs_the_same_queries_for_three_purchase_orders_or_fifteen(
        warehouse_client, db, connection):
    nordic = supplier(db, code="S-COUNT", email="count@supplier.example")
    drop_order(db, "c-0", by=nordic)
    path = f"/purchase-orders/?supplier={nordic.id}"
    warehouse_client.get(path)  # warm-up
    with QueryCounter(connection) as one:
        assert warehouse_client.get(path).status_code == 200
    for i in range(1, 13):
        drop_order(db, f"c-{i}", by=nordic)
    with QueryCounter(connection) as thirteen:
        html = page(warehouse_client, path)
    assert len(set(re.findall(r'href="/purchase-orders/(PO-\d+)"', html))) == 13
    assert one.count == thirteen.count


def test_only_warehouse_staff_supervisors_and_admins_see_purchase_orders(
        console_app, supervisor_client, agent_client, db):
    _, po = drop_order(db, "roles")
    for path in ("/purchase-orders/", f"/purchase-orders/{po.number}",
                 f"/purchase-orders/{po.number}/pdf"):
        assert supervisor_client.get(path).status_code == 200, path
        assert agent_client.get(path).status_code == 403, path
    catalog = agent_client_for(console_app, "catalog@marketline.example")
    assert catalog.get("/purchase-orders/").status_code == 403
    response = post(agent_client, f"/purchase-orders/{po.number}/shipment",
                    {f"qty-{po.lines[0].id}": "1", "carrier": "own"}, "/")
    assert response.status_code == 403
    assert fresh(db, PurchaseOrder, po.id).status == "sent"
    assert "Purchase orders</a>" in page(supervisor_client, "/")
    assert "Purchase orders</a>" not in page(agent_client, "/")


def test_an_unknown_purchase_order_is_404(warehouse_client):
    assert warehouse_client.get("/purchase-orders/PO-999999").status_code == 404
    assert warehouse_client.get("/purchase-orders/PO-999999/pdf").status_code == 404


# -- one purchase order -------------------------------------------------------------------------

def test_the_page_shows_lines_the_sales_order_and_the_pdf(warehouse_client, db):
    order, po = drop_order(db, "detail", units=3)
    html = page(warehouse_client, f"/purchase-orders/{po.number}")
    assert f"<h1>Purchase order {po.number}</h1>" in html
    assert f'href="/fulfilment/orders/{order.number}"' in html
    assert po.lines[0].sku in html and "Ola Order" in html  # ship to the customer
    assert '<label class="visually-hidden" for="qty-' in html
    assert ">Record supplier shipment</button>" in html
    response = warehouse_client.get(f"/purchase-orders/{po.number}/pdf")
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    assert f'filename="{po.number}.pdf"' in response.headers["Content-Disposition"]


def test_recording_the_suppliers_shipment_ships_and_invoices_the_order(
        warehouse_client, db, smtp_sink):
    order, po = drop_order(db, "record", units=2)
    line = po.lines[0]
    response = post(warehouse_client, f"/purchase-orders/{po.number}/shipment",
                    {f"qty-{line.id}": "2", "carrier": "dhl", "tracking_number": "JD 0141 77"})
    assert response.status_code == 303
    html = page(warehouse_client, response.headers["Location"])
    assert "is recorded; invoice INV-" in html and "Shipped by supplier" in html
    assert "JD014177" in html  # the shipment, with its tracking
    assert fresh(db, PurchaseOrder, po.id).status == "shipped"
    assert fresh(db, Order, order.id).status == "shipped"
    shipment = db.scalar(select(Shipment).where(Shipment.purchase_order_id == po.id))
    assert shipment.tracking_number == "JD014177"
    mail = smtp_sink.wait_for("ola@example.com", subject=shipment.number[:9])
    assert "JD014177" in text_of(mail)
    assert ">Record supplier shipment</button>" not in html


@pytest.mark.parametrize("data, field, message", [
    ({"qty": "3", "carrier": "dhl", "tracking_number": "JD0141"}, "qty",
     "Enter from 1 to 2 units"),
    ({"qty": "two", "carrier": "dhl", "tracking_number": "JD0141"}, "qty",
     "Enter a whole number of units"),
    ({"qty": "1", "carrier": "", "tracking_number": "JD0141"}, "carrier",
     "Choose the carrier"),
    ({"qty": "1", "carrier": "dhl", "tracking_number": ""}, "tracking_number",
     "Enter the DHL tracking number"),
    ({"qty": "0", "carrier": "dhl", "tracking_number": "JD0141"}, None,
     "Enter the units the supplier shipped for at least one line"),
])
def test_bad_input_is_shown_at_its_field_and_nothing_is_written(warehouse_client, db, data,
                                                                field, message):
    order, po = drop_order(db, f"bad-{field}-{data['qty']}")
    name = f"qty-{po.lines[0].id}"
    form = {name: data["qty"], "carrier": data["carrier"],
            "tracking_number": data["tracking_number"]}
    response = post(warehouse_client, f"/purchase-orders/{po.number}/shipment", form)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in html
    if field == "qty":
        assert f'id="{name}-error"' in html and 'aria-invalid="true"' in html
    elif field:
        assert re.search(rf'<p class="error" id="{field}-error">[^<]*{message}', html)
    else:
        assert 'class="form-errors" role="alert"' in html
    assert f'value="{data["qty"]}"' in html  # the user's value stays
    assert fresh(db, PurchaseOrder, po.id).status == "sent"
    assert db.scalar(select(func.count()).select_from(Shipment)
                     .where(Shipment.order_id == order.id)) == 0


def test_recording_without_a_csrf_token_changes_nothing(warehouse_client, db):
    _, po = drop_order(db, "csrf")
    response = warehouse_client.post(f"/purchase-orders/{po.number}/shipment", data={
        f"qty-{po.lines[0].id}": "2", "carrier": "own"})
    assert response.status_code == 400
    response = warehouse_client.post(f"/purchase-orders/{po.number}/send-again")
    assert response.status_code == 400
    assert fresh(db, PurchaseOrder, po.id).status == "sent"


def test_send_again_e_mails_the_supplier_the_pdf(warehouse_client, db, smtp_sink):
    _, po = drop_order(db, "again")
    response = post(warehouse_client, f"/purchase-orders/{po.number}/send-again", {})
    assert response.status_code == 303
    assert "again@supplier.example again" in page(warehouse_client, response.headers["Location"])
    message = smtp_sink.wait_for("again@supplier.example", subject=po.number)
    [pdf] = list(message.iter_attachments())
    assert pdf.get_filename() == f"{po.number}.pdf"
    assert fresh(db, PurchaseOrder, po.id).emailed_at is not None


# -- release and the order pages ------------------------------------------------------------------

def test_releasing_in_the_console_sends_the_purchase_order_to_the_supplier(
        warehouse_client, db, smtp_sink):
    from tests.unit.test_drop_shipment import confirmed
    nordic = supplier(db, code="S-REL", email="release@supplier.example")
    order = confirmed(db, [(drop_shipped(db, nordic), 1)], key="rel-console")
    db.commit()
    response = post(warehouse_client, "/fulfilment/release", {"order": [str(order.id)]},
                    "/fulfilment/release")
    assert response.status_code == 303
    [po] = purchasing.for_order(db, order.id)
    message = smtp_sink.wait_for("release@supplier.example", subject=po.number)
    assert "Please ship directly to the customer" in text_of(message)


def test_the_order_pages_show_drop_shipped_lines_and_their_purchase_orders(
        warehouse_client, supervisor_client, db):
    order, po = drop_order(db, "pages", with_stock=True)
    html = page(supervisor_client, f"/orders/{order.number}")
    assert '<h2 id="purchase-orders-h">Purchase orders</h2>' in html
    assert f'href="/purchase-orders/{po.number}"' in html and "Sent to supplier" in html
    ship = page(warehouse_client, f"/fulfilment/orders/{order.number}")
    assert "Shipped by its supplier (purchase order)" in ship
    assert f'name="qty-{po.lines[0].order_line_id}"' not in ship
    ours = next(l for l in order.lines if l.warehouse is not None)
    response = post(warehouse_client, f"/fulfilment/orders/{order.number}/ship",
                    {f"qty-{ours.id}": "1", "carrier": "own"}, f"/fulfilment/orders/{order.number}")
    assert response.status_code == 303
    assert fresh(db, Order, order.id).status == "partially_shipped"
