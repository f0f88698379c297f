"""Quick order, Order again and saved lists in the shop: what is added, what is refused and
why, by line; query counts that do not grow with the lines; no one else's lists or orders."""
import io
import re

import pytest
from sqlalchemy import select

from core.catalog.models import AssortmentRule, Channel, Variant
from core.customers.models import Customer, CustomerUser
from core.orders.models import Cart, Order, ShoppingList, ShoppingListLine
from tests.conftest import csrf_token, sign_in
from tests.factories import StockLevelFactory, VariantFactory
from tests.helpers import QueryCounter

BUYER, ADMIN = "buyer@acme.example", "admin@acme.example"


def text(response) -> str:
    return response.get_data(as_text=True)


def as_user(client, email):
    response = sign_in(client, email, "demo-pass-1")
    assert response.status_code == 303, text(response)
    return client


def cart_lines(db, email) -> dict[str, int]:
    user = db.scalar(select(CustomerUser).where(CustomerUser.email == email))
    db.expire_all()
    cart = db.scalar(select(Cart).where(Cart.user_id == user.id))
    if cart is None:
        return {}
    skus = dict(db.execute(select(Variant.id, Variant.sku)).all())
    return {skus[l.variant_id]: l.quantity for l in cart.lines}


def quick(client, lines="", **extra):
    token = csrf_token(client, "/quick-order/")
    return client.post("/quick-order/", data={"lines": lines, "csrf_token": token, **extra},
                       content_type="multipart/form-data")


def test_quick_order_of_five_skus_with_one_unknown_adds_four_and_reports_the_line(client, db):
    as_user(client, BUYER)
    html = text(quick(client, "PAP-A4-80\t10\r\npen-g2-blu,3\r\nNOPE-1 2\r\n"
                              "TON-TN3430;1\r\n\r\nSTN-76-YEL 4\r\n"))
    assert "Added 4 lines (18 units)" in html
    assert re.search(r"<td>Line 3</td><td><code>NOPE-1 2</code></td><td>Unknown SKU", html)
    assert cart_lines(db, BUYER) == {"PAP-A4-80": 10, "PEN-G2-BLU": 3, "TON-TN3430": 1,
                                     "STN-76-YEL": 4}
    # the refused line stays in the box to be corrected; those added leave it
    assert re.search(r'<textarea[^>]*name="lines"[^>]*>NOPE-1 2</textarea>', html)


def test_the_same_quick_order_page_sent_twice_adds_its_lines_once(client, db):
    """A page sent again (a double click past the script, back and resend) carries the same
    key: its lines are in the cart once and the second answer says so (review finding 11)."""
    as_user(client, BUYER)
    key = re.search(r'name="key" value="([0-9a-f]{32})"',
                    text(client.get("/quick-order/"))).group(1)
    assert "Added 1 line" in text(quick(client, "PAP-A4-80 10", key=key))
    again = quick(client, "PAP-A4-80 10", key=key)
    assert again.status_code == 409 and "added to your cart already" in text(again)
    assert cart_lines(db, BUYER) == {"PAP-A4-80": 10}
    assert "Added 1 line" in text(quick(client, "PAP-A4-80 10"))  # a fresh page adds again
    assert cart_lines(db, BUYER) == {"PAP-A4-80": 20}


def test_refused_lines_say_why_and_nothing_is_half_added(client, db):
    as_user(client, BUYER)
    html = text(quick(client, "sku,quantity\nNTB-A5-RUL-RED 5\nPAP-A4-80 1.5\nPAP-A4-80 0\n"
                              "TON-415A-Y 1\nPEN-G2-BLU\npen-g2-blu 2\n"))
    assert "Only 3 of Hardcover Notebook A5 Ruled – Red (NTB-A5-RUL-RED) are in stock." in html  # line 2: none of the 5 added
    assert "“1.5” is not a whole number." in html and "at least 1" in html
    assert "Toner Cartridges 415A – Yellow (TON-415A-Y) is out of stock." in html
    assert "PEN-G2-BLU is on line 6 and line 7: the quantities were added together (3)." in html
    assert cart_lines(db, BUYER) == {"PEN-G2-BLU": 3}


def test_a_sku_outside_the_viewers_catalogue_is_reported_as_such(client, db):
    as_user(client, "shopper@example.com")  # web-b2c does not sell the batch brewer
    html = text(quick(client, "COF-BRV-B10 1\nPAP-A4-80 2"))
    assert "COF-BRV-B10 is not in your catalogue." in html
    assert cart_lines(db, "shopper@example.com") == {"PAP-A4-80": 2}


def test_a_csv_upload_is_added_and_bad_files_are_refused_with_a_message(client, db):
    as_user(client, BUYER)
    data = "\ufeffItem;Description;Qty\r\nPAP-A4-80;Copy paper;7\r\nXX-1;?;1\r\n".encode()
    html = text(quick(client, file=(io.BytesIO(data), "order.csv")))
    assert "Added 1 line (7 units)" in html and "<td>File line 3</td>" in html
    html = text(quick(client, "PAP-A4-80 1", file=(io.BytesIO("PAP;3".encode("utf-16")), "x.csv")))
    assert "not UTF-8" in html
    assert re.search(r'<textarea[^>]*>PAP-A4-80 1</textarea>', html)  # kept as typed
    assert cart_lines(db, BUYER) == {"PAP-A4-80": 7}


def test_rows_are_added_like_lines(client, db):
    as_user(client, BUYER)
    html = text(quick(client, **{"sku-0": "PAP-A4-80", "qty-0": "2", "sku-1": "", "qty-1": "",
                                 "sku-2": "nope", "qty-2": "1"}))
    assert "<td>Row 3</td>" in html and "Added 1 line" in html


def test_add_row_gives_one_more_row_and_keeps_what_was_typed(client):
    token = csrf_token(client, "/quick-order/")
    part = text(client.post("/quick-order/", data={"csrf_token": token, "action": "add_row",
                                                   **{f"sku-{i}": "" for i in range(5)},
                                                   "sku-0": "PAP-A4-80"},
                            headers={"HX-Request": "true"}))
    assert "<html" not in part and 'id="sku-5"' in part and 'value="PAP-A4-80"' in part


def test_the_lookup_fragment_shows_name_price_and_stock_in_the_viewers_prices(client):
    as_user(client, BUYER)
    part = text(client.get("/quick-order/lookup?row=2&sku-2=pap-a4-80&qty-2=1",
                           headers={"HX-Request": "true"}))
    assert "<html" not in part and 'id="info-2"' in part
    assert "Everyday Copy Paper" in part and "excl. VAT" in part and "in stock" in part
    assert "Unknown SKU" in text(client.get("/quick-order/lookup?row=0&sku-0=ZZZ"))


def _many(db, n):
    category = None
    skus = []
    for i in range(n):
        variant = VariantFactory(sku=f"QO-{n}-{i:04d}", **({"product__category": category}
                                                          if category else {}))
        category = variant.product.category
        StockLevelFactory(variant=variant, on_hand=50)
        skus.append(variant.sku)
    return skus


def test_a_quick_order_of_500_lines_runs_as_many_queries_as_one_of_5(client, db, connection):
    as_user(client, "shopper@example.com")  # retail prices: the factory's
    small, large = _many(db, 5), _many(db, 500)
    db.commit()
    counts = []
    for skus in (small, large):
        token = csrf_token(client, "/quick-order/")
        with QueryCounter(connection) as counter:
            response = client.post("/quick-order/", data={
                "lines": "\n".join(f"{s} 2" for s in skus), "csrf_token": token})
        assert f"Added {len(skus)} lines" in text(response)
        counts.append(counter.count)
        db.execute(Cart.__table__.delete())
        db.commit()
    print("quick order queries (5, 500 lines):", counts)
    assert counts[0] == counts[1]


def test_501_lines_refuse_the_last_as_over_the_limit(client, db):
    as_user(client, BUYER)
    html = text(quick(client, "\n".join(["PAP-A4-80 1"] * 501)))
    assert "<td>Line 501</td>" in html and "Over the 500-line limit" in html


# -- order again ------------------------------------------------------------------------------

def _order(db, po):
    return db.scalar(select(Order).where(Order.po_number == po))


def test_order_again_puts_the_lines_in_the_cart_at_todays_prices(client, db):
    as_user(client, ADMIN)
    order = _order(db, "PO-7779")  # PEN-G2-BLU 20, STN-76-YEL 12
    detail = text(client.get(f"/account/orders/{order.number}"))
    assert "Order again" in detail
    token = csrf_token(client, f"/account/orders/{order.number}")
    response = client.post(f"/account/orders/{order.number}/order-again",
                           data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"].endswith("/cart/")
    assert cart_lines(db, ADMIN) == {"PEN-G2-BLU": 20, "STN-76-YEL": 12}


def test_order_again_lists_what_is_no_longer_available(client, db):
    as_user(client, ADMIN)
    order = _order(db, "PO-7781")  # PAP-A4-80-BOX 4, TON-TN3430 2
    b2b = db.scalar(select(Channel).where(Channel.code == "web-b2b"))
    box = db.scalar(select(Variant).where(Variant.sku == "PAP-A4-80-BOX"))
    db.add(AssortmentRule(channel_id=b2b.id, mode="exclude", product_id=box.product_id))
    db.commit()
    token = csrf_token(client, "/")
    client.post(f"/account/orders/{order.number}/order-again", data={"csrf_token": token})
    html = text(client.get("/cart/"))
    assert "It is no longer sold." in html and "PAP-A4-80-BOX" in html
    assert cart_lines(db, ADMIN) == {"TON-TN3430": 2}


def test_no_one_orders_another_customers_order_again(client, db):
    as_user(client, "gina@globex.example")
    order = _order(db, "PO-7779")
    token = csrf_token(client, "/")
    response = client.post(f"/account/orders/{order.number}/order-again",
                           data={"csrf_token": token})
    assert response.status_code == 404
    assert cart_lines(db, "gina@globex.example") == {}


def test_a_buyer_cannot_order_again_an_order_they_do_not_own(client, db):
    as_user(client, BUYER)  # Acme's phone orders were placed by an agent, not by Bea
    order = _order(db, "PO-7779")
    token = csrf_token(client, "/")
    assert client.post(f"/account/orders/{order.number}/order-again",
                       data={"csrf_token": token}).status_code == 404


# -- lists ------------------------------------------------------------------------------------

def _save_cart_as(client, name):
    token = csrf_token(client, "/cart/")
    return client.post("/lists/", data={"name": name, "csrf_token": token})


def test_save_the_cart_as_a_list_and_add_it_back(client, db):
    as_user(client, BUYER)
    quick(client, "PAP-A4-80 3\nPEN-G2-BLU 2")
    response = _save_cart_as(client, "Weekly")
    assert response.status_code == 303
    page_url = response.headers["Location"]
    page = text(client.get(page_url))
    assert "Weekly" in page and "Everyday Copy Paper" in page and "in stock" in page
    assert "Duplicate" not in page
    again = text(client.get("/cart/"))
    assert "Save as list" in again
    assert "already have a list called" in text(client.get(
        _save_cart_as(client, "weekly").headers["Location"]))
    db.execute(Cart.__table__.delete())
    db.commit()
    lst = db.scalar(select(ShoppingList).where(ShoppingList.name == "Weekly"))
    pen = next(l for l in lst.lines if l.quantity == 2)
    token = csrf_token(client, page_url)
    response = client.post(page_url, data={"csrf_token": token, "action": "add_chosen",
                                           "line": str(pen.id), f"qty-{pen.id}": "5"})
    assert response.status_code == 303
    assert cart_lines(db, BUYER) == {"PEN-G2-BLU": 5}
    client.post(page_url, data={"csrf_token": token, "action": "add_all"})
    assert cart_lines(db, BUYER) == {"PEN-G2-BLU": 7, "PAP-A4-80": 3}


def test_quantities_are_saved_all_or_none_and_lines_removed(client, db):
    as_user(client, BUYER)
    quick(client, "PAP-A4-80 3\nPEN-G2-BLU 2")
    url = _save_cart_as(client, "Edits").headers["Location"]
    lst = db.scalar(select(ShoppingList).where(ShoppingList.name == "Edits"))
    a, b = lst.lines
    token = csrf_token(client, url)
    html = text(client.post(url, data={"csrf_token": token, f"qty-{a.id}": "9",
                                       f"qty-{b.id}": "x"}))
    assert "whole number from 1 to 9999" in html
    db.expire_all()
    assert [l.quantity for l in lst.lines] == [3, 2]
    client.post(url, data={"csrf_token": token, "action": "remove", "line": str(a.id)})
    db.expire_all()
    assert [l.variant_id for l in lst.lines] == [b.variant_id]


def test_lists_are_shared_by_the_company_and_only_the_maker_or_an_admin_deletes(client, db):
    as_user(client, BUYER)
    quick(client, "PAP-A4-80 3")
    url = _save_cart_as(client, "Bea list").headers["Location"]
    client.post("/account/sign-out", data={"csrf_token": csrf_token(client, "/")})
    as_user(client, "approver@acme.example")
    page = text(client.get(url))
    assert "Bea list" in page and "Delete this list" not in page
    lst = db.scalar(select(ShoppingList).where(ShoppingList.name == "Bea list"))
    html = text(client.post(f"{url}/delete", data={"csrf_token": csrf_token(client, url)}))
    assert "Only the buyer who made this list or a company admin" in html
    client.post("/account/sign-out", data={"csrf_token": csrf_token(client, "/")})
    as_user(client, ADMIN)
    assert client.post(f"{url}/delete",
                       data={"csrf_token": csrf_token(client, url)}).status_code == 303
    assert db.scalar(select(ShoppingList.id).where(ShoppingList.id == lst.id)) is None


def test_another_companys_list_is_404(client, db):
    acme = db.scalar(select(Customer).where(Customer.name == "Acme Corp"))
    variant = db.scalar(select(Variant).where(Variant.sku == "PAP-A4-80"))
    lst = ShoppingList(customer_id=acme.id, name="Secret",
                       lines=[ShoppingListLine(variant_id=variant.id, quantity=1)])
    db.add(lst)
    db.commit()
    as_user(client, "gina@globex.example")
    assert client.get(f"/lists/{lst.id}").status_code == 404
    token = csrf_token(client, "/")
    for path in ("", "/rename", "/delete"):
        assert client.post(f"/lists/{lst.id}{path}", data={"csrf_token": token,
                                                           "action": "add_all"}).status_code == 404
    assert "Secret" not in text(client.get("/lists/"))
    assert cart_lines(db, "gina@globex.example") == {}


def _lists(db, n, lines):
    acme = db.scalar(select(Customer).where(Customer.name == "Acme Corp"))
    variants = db.scalars(select(Variant.id).order_by(Variant.id).limit(lines)).all()
    for i in range(n):
        db.add(ShoppingList(customer_id=acme.id, name=f"L{lines}-{i}",
                            lines=[ShoppingListLine(variant_id=v, quantity=1) for v in variants]))
    db.commit()
    return db.scalar(select(ShoppingList.id).where(ShoppingList.name == f"L{lines}-0"))


@pytest.fixture
def count(connection):
    def run(client, path):
        with QueryCounter(connection) as counter:
            assert client.get(path).status_code == 200
        return counter.count
    return run


def test_the_lists_index_and_a_list_page_run_a_fixed_number_of_queries(client, db, count):
    as_user(client, BUYER)
    one = _lists(db, 1, 1)
    client.get("/lists/")
    small_index, small_page = count(client, "/lists/"), count(client, f"/lists/{one}")
    many = _lists(db, 30, 40)
    large_index, large_page = count(client, "/lists/"), count(client, f"/lists/{many}")
    print("lists index queries:", small_index, large_index, "list page:", small_page, large_page)
    assert small_index == large_index and small_page == large_page


def test_add_to_list_from_a_product_page(client, db):
    as_user(client, BUYER)
    quick(client, "PAP-A4-80 1")
    url = _save_cart_as(client, "From pages").headers["Location"]
    pen = db.scalar(select(Variant).where(Variant.sku == "PEN-G2-BLU"))
    html = text(client.get(f"/p/{pen.product.slug}"))
    assert "Add to list" in html
    lst = db.scalar(select(ShoppingList).where(ShoppingList.name == "From pages"))
    client.post("/lists/add-item", data={"csrf_token": csrf_token(client, url), "list": lst.id,
                                         "variant_id": pen.id, "quantity": "4", "back": url})
    assert pen.product.name in text(client.get(url))


def test_a_guest_quick_orders_into_the_guest_cart_but_has_no_lists(client):
    html = text(quick(client, "PAP-A4-80 2"))
    assert "Added 1 line (2 units)" in html and "Quick order" in html
    assert "Everyday Copy Paper" in text(client.get("/cart/"))
    assert "Save as list" not in text(client.get("/cart/"))
    assert client.get("/lists/").status_code in (302, 303)


def test_text_refused_whole_stays_in_the_box(client):
    pasted = "PAP-A4-80 1\n" + "X" * 100_000
    html = text(quick(client, pasted))
    assert "Paste at most 100,000 characters" in html and 'aria-invalid="true"' in html
    assert "XXXXXXXXXX</textarea>" in html and "Added" not in html
