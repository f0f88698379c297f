"""Customers in the console: search as you type, the Customer 360 page, create and edit,
notes and the call log; roles, CSRF and query counts."""
import datetime as dt
import itertools
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.audit import AuditEvent
from core.customers.models import Customer, CustomerAddress, CustomerNote, Interaction
from core.orders.models import Order, OrderHold
from core.payments.models import PaymentAttempt
from tests.conftest import agent_client_for, csrf_token
from tests.factories import CustomerFactory
from tests.helpers import QueryCounter

SHOPPER = "shopper@example.com"
ADDRESS = {"address-full_name": "Nora New", "address-line1": "Hauptstraße 5",
           "address-postal_code": "10117", "address-city": "Berlin", "address-country": "DE"}


def _post(client, path, data, **kwargs):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, "/customers/")},
                       **kwargs)


def _shopper(db) -> Customer:
    return db.scalar(select(Customer).where(Customer.email == SHOPPER))


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def _order(db, customer, number, *, method="card", status="confirmed", gross="10.00",
           days_ago=0, channel="web-b2c"):
    zero = Decimal("0")
    order = Order(number=number, idempotency_key=f"key-{number}", customer_id=customer.id,
                  email=customer.email, channel_code=channel, placed_by_kind="customer",
                  currency="EUR", prices_include_tax=True, status=status,
                  payment_method=method, subtotal=zero, discount_total=zero, net_total=zero,
                  tax_total=zero, gross_total=Decimal(gross),
                  placed_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago))
    db.add(order)
    db.flush()
    return order


# --- access -----------------------------------------------------------------------------------


def _customer_routes(number):
    return [("GET", "/customers/"), ("GET", f"/customers/{number}"), ("GET", "/customers/new"),
            ("POST", "/customers/new"), ("GET", f"/customers/{number}/edit"),
            ("POST", f"/customers/{number}/edit"), ("POST", f"/customers/{number}/notes"),
            ("POST", f"/customers/{number}/interactions")]


def test_a_catalog_only_agent_gets_403_on_every_customer_route(console_app, db):
    catalog_client = agent_client_for(console_app, "catalog@marketline.example")
    token = csrf_token(catalog_client, "/")
    before = _count(db, Customer), _count(db, CustomerNote)
    for method, path in _customer_routes(_shopper(db).number):
        response = catalog_client.open(path, method=method, data={"csrf_token": token})
        assert response.status_code == 403, (method, path)
    assert (_count(db, Customer), _count(db, CustomerNote)) == before


def test_a_storefront_customer_session_is_sent_to_the_agent_sign_in(customer_client,
                                                                     console_app, db):
    console = console_app.test_client()
    console.set_cookie("ml_console", customer_client.get_cookie("ml_shop").value)
    for method, path in _customer_routes(_shopper(db).number):
        response = console.open(path, method=method)
        assert response.status_code in (302, 400), (method, path)  # 400: no CSRF token
        if method == "GET":
            assert "/sign-in" in response.headers["Location"]


@pytest.mark.parametrize("fixture", ["agent_client", "supervisor_client"])
def test_agents_and_supervisors_open_the_customer_pages(request, fixture, db):
    client = request.getfixturevalue(fixture)
    number = _shopper(db).number
    for path in ("/customers/", f"/customers/{number}", "/customers/new",
                 f"/customers/{number}/edit"):
        response = client.get(path)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, path
        assert html.count("<h1") == 1, path


def test_a_credit_agent_opens_the_customer_page(console_app, db):
    from core.auth.passwords import hash_password
    from tests.factories import AgentFactory
    AgentFactory(email="credit-role@test.example", roles_text="credit",
                 password_hash=hash_password("demo-pass-1"))
    db.commit()
    client = agent_client_for(console_app, "credit-role@test.example")
    assert client.get(f"/customers/{_shopper(db).number}").status_code == 200


def test_an_unknown_customer_number_is_404(agent_client):
    assert agent_client.get("/customers/C-999999").status_code == 404
    assert agent_client.get("/customers/C-999999/edit").status_code == 404


def test_posts_without_a_csrf_token_are_refused(agent_client, db):
    number = _shopper(db).number
    before = _count(db, Customer), _count(db, CustomerNote), _count(db, Interaction)
    assert agent_client.post("/customers/new", data={"name": "Sneaky", **ADDRESS,
                                                     "email": "s@x.example"}).status_code == 400
    assert agent_client.post(f"/customers/{number}/notes",
                             data={"text": "Sneaky"}).status_code == 400
    assert agent_client.post(f"/customers/{number}/interactions", data={
        "reason": "order", "outcome": "resolved", "channel": "phone"}).status_code == 400
    assert (_count(db, Customer), _count(db, CustomerNote), _count(db, Interaction)) == before


# --- search -----------------------------------------------------------------------------------


def test_the_search_page_has_a_labelled_box_that_searches_as_you_type(agent_client):
    html = agent_client.get("/customers/").get_data(as_text=True)
    assert '<label for="q">Search customers</label>' in html
    assert 'hx-get="/customers/"' in html and 'hx-target="#results"' in html
    assert re.search(r'hx-trigger="input changed delay:\d+ms', html)
    assert 'method="get" action="/customers/"' in html  # works without JavaScript


def test_search_answers_htmx_with_the_results_fragment_only(agent_client, db):
    number = _shopper(db).number
    response = agent_client.get("/customers/?q=030+1234", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert "<html" not in html and "<h1" not in html
    assert f'href="/customers/{number}"' in html and "Sam Shopper" in html
    assert "+49 30 1234 5678" in html and "10115" in html
    assert "HX-Request" in response.headers["Vary"]


def test_search_without_javascript_returns_the_whole_page_with_results(agent_client, db):
    html = agent_client.get("/customers/?q=SO-090042").get_data(as_text=True)
    assert "<h1>Customers</h1>" in html and "No customer matches" in html
    _order(db, _shopper(db), "SO-090042")
    db.commit()
    # Once the order exists, its number opens the order (as the agent types, the results
    # offer it: tests/web/test_console_navigation.py); part of it still finds the customer.
    response = agent_client.get("/customers/?q=SO-090042")
    assert response.status_code == 303 and response.headers["Location"].endswith(
        "/orders/SO-090042")
    html = agent_client.get("/customers/?q=SO-090042", headers={"HX-Request": "true"}
                            ).get_data(as_text=True)
    assert "Sam Shopper" in html and "order number" in html


def test_search_says_when_there_are_more_results_than_shown(agent_client, db):
    for i in range(22):
        CustomerFactory(name=f"Plentiful Pat {i}")
    db.commit()
    html = agent_client.get("/customers/?q=plentiful", headers={"HX-Request": "true"}
                            ).get_data(as_text=True)
    assert html.count("Plentiful Pat") == 20 and "type more to narrow" in html


def test_search_runs_as_many_queries_for_1_result_as_for_20(agent_client, db, connection):
    for i in range(25):
        CustomerFactory(name=f"Countme {i}")
    CustomerFactory(name="Solitary Sue")
    db.commit()
    agent_client.get("/customers/?q=warm-up")
    with QueryCounter(connection) as one:
        agent_client.get("/customers/?q=solitary")
    with QueryCounter(connection) as many:
        agent_client.get("/customers/?q=countme")
    # The agent's session (with the agent) in one statement, the search in another; the
    # test's SAVEPOINT and ROLLBACK TO around the request are the other two.
    assert one.count == many.count == 4


# --- Customer 360 -----------------------------------------------------------------------------


def test_the_360_page_shows_orders_holds_payments_notes_calls_and_the_trail(agent_client, db):
    shopper = _shopper(db)
    old = _order(db, shopper, "SO-000501", days_ago=3, channel="callcenter")
    new = _order(db, shopper, "SO-000502", method="on_account", gross="119.00")
    _order(db, shopper, "SO-000503", method="on_account", status="cancelled", gross="50.00")
    db.add(OrderHold(order_id=new.id, kind="credit", reason_code="over_limit", placed_by="system"))
    db.add(PaymentAttempt(order_id=old.id, key="pay-501", amount=Decimal("10.00"),
                          currency="EUR", status="authorised"))
    db.add(CustomerNote(customer_id=shopper.id, text="Prefers morning deliveries."))
    db.add(Interaction(customer_id=shopper.id, reason="status", outcome="resolved",
                       note="Asked where SO-000501 is."))
    db.add(AuditEvent(actor_kind="system", actor_label="system", channel="web",
                      action="order.placed", subject_type="orders", subject_id=str(new.id)))
    db.commit()
    html = agent_client.get(f"/customers/{shopper.number}").get_data(as_text=True)
    assert html.index("SO-000502") < html.index("SO-000501")  # newest first
    assert "Call center" in html and "callcenter" not in html and "credit hold" in html
    assert "3 orders, from every channel" in html
    assert re.search(r'id="on-account-open">119\.00', html)  # the cancelled one is not open
    assert "pay-501" not in html and "authorised" in html
    assert "Prefers morning deliveries." in html and "Asked where SO-000501 is." in html
    # The trail tells each event as a sentence with a link to its order, never by its name.
    assert "order.placed" not in html
    assert re.search(r'Order <a href="/orders/SO-000502">SO-000502</a> placed by', html)
    assert "Invalidenstraße 12" in html and "Card (paid when ordering)" in html
    headings = re.findall(r"<h([1-6])", html)
    assert headings[0] == "1"
    assert all(int(b) - int(a) <= 1 for a, b in itertools.pairwise(headings))


def test_the_360_page_shows_the_latest_20_orders_with_the_count(agent_client, db):
    shopper = _shopper(db)
    for i in range(25):
        _order(db, shopper, f"SO-{900 + i:06d}", days_ago=25 - i)
    db.commit()
    html = agent_client.get(f"/customers/{shopper.number}").get_data(as_text=True)
    assert "The latest 20 of 25 orders" in html
    assert "SO-000924" in html and "SO-000904" not in html


def test_the_360_page_runs_as_many_queries_for_1_order_as_for_25(agent_client, db, connection):
    one = CustomerFactory(name="One Order")
    many = CustomerFactory(name="Many Orders")
    _order(db, one, "SO-000701")
    db.add(CustomerNote(customer_id=one.id, text="a note"))
    for i in range(25):
        order = _order(db, many, f"SO-{800 + i:06d}")
        db.add(OrderHold(order_id=order.id, kind="manual", reason_code="check", placed_by="x"))
        db.add(PaymentAttempt(order_id=order.id, key=f"p-{i}", amount=Decimal("1"),
                              currency="EUR"))
        db.add(CustomerNote(customer_id=many.id, text=f"note {i}"))
        db.add(Interaction(customer_id=many.id, reason="order", outcome="resolved"))
    db.commit()
    agent_client.get(f"/customers/{one.number}")
    with QueryCounter(connection) as few:
        agent_client.get(f"/customers/{one.number}")
    with QueryCounter(connection) as lots:
        page = agent_client.get(f"/customers/{many.number}").get_data(as_text=True)
    assert page.count("manual hold") == 20
    assert few.count == lots.count


def test_the_new_order_button_opens_order_entry_for_this_customer(agent_client, db):
    number = _shopper(db).number
    html = agent_client.get(f"/customers/{number}").get_data(as_text=True)
    form = re.search(r'<form method="get" action="([^"]+)"[^>]*>\s*<input type="hidden" '
                     r'name="customer" value="([^"]+)">\s*<button type="submit">New order</button>',
                     html)
    assert form and form.group(1).endswith("/order-entry/new") and form.group(2) == number
    entry = agent_client.get(f"/order-entry/new?customer={number}")
    assert entry.status_code == 200 and "Phone order for" in entry.get_data(as_text=True)


# --- notes and calls --------------------------------------------------------------------------


def test_an_agent_adds_a_note_and_it_is_audited(agent_client, db):
    shopper = _shopper(db)
    response = _post(agent_client, f"/customers/{shopper.number}/notes",
                     {"text": "Call back after 3 pm."})
    assert response.status_code == 303
    html = agent_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Call back after 3 pm." in html and "Alex Agent" in html
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "customer.note_added",
                                              AuditEvent.subject_id == str(shopper.id),
                                              AuditEvent.channel == "console"))


def test_an_empty_note_is_explained_at_the_field(agent_client, db):
    response = _post(agent_client, f"/customers/{_shopper(db).number}/notes", {"text": "  "})
    assert response.status_code == 200
    assert 'id="text-error">Write the note.' in response.get_data(as_text=True)


def test_an_agent_logs_a_call_with_reason_and_outcome(agent_client, db):
    shopper = _shopper(db)
    _order(db, shopper, "SO-000611")
    db.commit()
    html = agent_client.get(f"/customers/{shopper.number}").get_data(as_text=True)
    assert '<label for="reason">Reason</label>' in html
    assert re.search(r'<select[^>]*id="reason"', html)
    response = _post(agent_client, f"/customers/{shopper.number}/interactions", {
        "channel": "phone", "reason": "status", "outcome": "follow_up",
        "order_number": "so-000611", "note": "Parcel late; will chase the carrier."})
    assert response.status_code == 303
    logged = db.scalar(select(Interaction).where(Interaction.customer_id == shopper.id))
    assert (logged.reason, logged.outcome, logged.order_number) == ("status", "follow_up",
                                                                     "SO-000611")
    html = agent_client.get(f"/customers/{shopper.number}").get_data(as_text=True)
    assert "Order status" in html and "Follow-up needed" in html and "Parcel late" in html


def test_a_call_needs_a_reason_and_someone_elses_order_is_refused(agent_client, db):
    shopper = _shopper(db)
    _order(db, CustomerFactory(), "SO-000612")
    db.commit()
    response = _post(agent_client, f"/customers/{shopper.number}/interactions", {
        "channel": "phone", "reason": "", "outcome": "resolved"})
    assert 'id="reason-error">' in response.get_data(as_text=True)
    response = _post(agent_client, f"/customers/{shopper.number}/interactions", {
        "channel": "phone", "reason": "status", "outcome": "resolved",
        "order_number": "SO-000612", "note": "kept"})
    html = response.get_data(as_text=True)
    assert 'id="order_number-error">SO-000612 is not an order of this customer.' in html
    assert "kept" in html  # the agent's text survives
    assert _count(db, Interaction) == 0


# --- create and edit --------------------------------------------------------------------------


@pytest.fixture
def credit_client(console_app, db):
    """An agent who also holds the credit and supervisor roles (terms, price groups)."""
    from core.auth.passwords import hash_password
    from tests.conftest import agent_client_for
    from tests.factories import AgentFactory
    AgentFactory(email="credit-desk@test.example", roles_text="agent,supervisor,credit",
                 password_hash=hash_password("demo-pass-1"))
    db.commit()
    return agent_client_for(console_app, "credit-desk@test.example")


def test_a_plain_agent_cannot_give_credit_or_a_cheaper_price_group(agent_client, db):
    shopper = _shopper(db)
    base = {"kind": "person", "name": "Sam Shopper", "email": SHOPPER, "phone": "+49 30 1234 5678",
            "price_group": "retail", "payment_terms": "card",
            "address-full_name": "Sam Shopper", "address-line1": "Invalidenstraße 12",
            "address-postal_code": "10115", "address-city": "Berlin", "address-country": "DE"}
    for change, field in [({"on_account_allowed": "y"}, "on_account_allowed"),
                          ({"payment_terms": "net30"}, "payment_terms"),
                          ({"price_group": "business"}, "price_group")]:
        html = _post(agent_client, f"/customers/{shopper.number}/edit",
                     {**base, **change}).get_data(as_text=True)
        assert "Only an agent with the" in html, field
    db.expire_all()
    shopper = _shopper(db)
    assert (shopper.on_account_allowed, shopper.payment_terms, shopper.price_group) == (
        False, "card", "retail")


def test_an_agent_creates_a_company_customer_with_the_next_number(credit_client, db):
    agent_client = credit_client
    response = _post(agent_client, "/customers/new", {
        "kind": "company", "name": "Nora New Trading", "email": "Orders@NoraNew.example",
        "phone": "+49 30 9999 0000", "price_group": "business", "payment_terms": "2-10-net30",
        "on_account_allowed": "y", **ADDRESS, "address-company": "Nora New Trading"})
    assert response.status_code == 303, response.get_data(as_text=True)
    created = db.scalar(select(Customer).where(Customer.name == "Nora New Trading"))
    assert response.headers["Location"].endswith(f"/customers/{created.number}")
    assert re.fullmatch(r"C-\d{6}", created.number)
    assert (created.kind, created.email, created.phone_digits, created.payment_terms,
            created.on_account_allowed, created.postal_code) == (
        "company", "orders@noranew.example", "493099990000", "2-10-net30", True, "10117")
    address = db.scalar(select(CustomerAddress).where(CustomerAddress.customer_id == created.id))
    assert address.default_shipping and address.city == "Berlin"
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "customer.created",
                                              AuditEvent.subject_id == str(created.id)))
    assert agent_client.get("/customers/?q=9999+0000").get_data(as_text=True).count(
        f'href="/customers/{created.number}"') == 1


def test_create_with_errors_comes_back_with_values_and_messages_at_the_fields(agent_client, db):
    before = _count(db, Customer)
    response = _post(agent_client, "/customers/new", {
        "kind": "person", "name": "", "email": "not-an-email", "price_group": "retail",
        "payment_terms": "card", **ADDRESS})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="name-error">Enter the customer' in html
    response = _post(agent_client, "/customers/new", {
        "kind": "person", "name": "Nora New", "email": "nora@new.example",
        "price_group": "retail", "payment_terms": "card",
        **ADDRESS, "address-postal_code": "1011"})
    html = response.get_data(as_text=True)
    assert 'id="address-postal_code-error">A postal code in Germany has five digits' in html
    assert 'value="nora@new.example"' in html and 'value="Hauptstraße 5"' in html
    response = _post(agent_client, "/customers/new", {
        "kind": "person", "name": "Nora New", "email": "", "phone": "",
        "price_group": "retail", "payment_terms": "card", **ADDRESS})
    assert 'id="email-error">Enter an e-mail address or a phone number' in \
        response.get_data(as_text=True)
    assert _count(db, Customer) == before


def test_a_likely_duplicate_warns_and_is_created_only_when_the_agent_confirms(agent_client, db):
    shopper = _shopper(db)
    data = {"kind": "person", "name": "Samuel Shopper", "email": "sam@elsewhere.example",
            "phone": "+49 (30) 1234-5678", "price_group": "retail", "payment_terms": "card",
            **ADDRESS}
    before = _count(db, Customer)
    response = _post(agent_client, "/customers/new", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Is this a customer we already have?" in html
    assert f'href="/customers/{shopper.number}"' in html
    assert '<button type="submit" name="create_anyway" value="y">Create anyway</button>' in html
    assert 'value="Samuel Shopper"' in html
    assert _count(db, Customer) == before
    response = _post(agent_client, "/customers/new", {**data, "create_anyway": "y"})
    assert response.status_code == 303
    created = db.scalar(select(Customer).where(Customer.name == "Samuel Shopper"))
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "customer.created",
                                               AuditEvent.subject_id == str(created.id)))
    assert event.data["duplicate_of"] == [shopper.number]


def test_the_same_email_in_another_case_is_a_likely_duplicate(agent_client, db):
    response = _post(agent_client, "/customers/new", {
        "kind": "person", "name": "Sam Again", "email": "SHOPPER@example.com",
        "price_group": "retail", "payment_terms": "card", **ADDRESS})
    assert "Is this a customer we already have?" in response.get_data(as_text=True)


def test_an_agent_edits_a_customer_and_the_change_is_audited(credit_client, db):
    agent_client = credit_client
    shopper = _shopper(db)
    form = agent_client.get(f"/customers/{shopper.number}/edit").get_data(as_text=True)
    assert 'value="Sam Shopper"' in form and 'value="Invalidenstraße 12"' in form
    response = _post(agent_client, f"/customers/{shopper.number}/edit", {
        "kind": "person", "name": "Sam Shopper", "email": SHOPPER, "phone": "+49 30 1234 5678",
        "price_group": "retail", "payment_terms": "net30", "on_account_allowed": "y",
        "address-full_name": "Sam Shopper", "address-line1": "Invalidenstraße 14",
        "address-postal_code": "10115", "address-city": "Berlin", "address-country": "DE"})
    assert response.status_code == 303, response.get_data(as_text=True)
    db.expire_all()
    shopper = _shopper(db)
    assert shopper.payment_terms == "net30" and shopper.on_account_allowed
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "customer.updated",
                                               AuditEvent.subject_id == str(shopper.id)))
    assert event.data["changes"]["payment_terms"] == ["card", "net30"]
    assert "address" in event.data["changes"]
    assert "Invalidenstraße 14" in agent_client.get(f"/customers/{shopper.number}").get_data(
        as_text=True)


def test_every_form_input_has_a_label(agent_client, db):
    number = _shopper(db).number
    for path in ("/customers/new", f"/customers/{number}/edit", f"/customers/{number}",
                 "/customers/"):
        html = agent_client.get(path).get_data(as_text=True)
        ids = re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*\bid="([^"]+)"',
                         html)
        assert ids, path
        for input_id in ids:
            assert f'for="{input_id}"' in html, (path, input_id)
