"""The console's sales insights pages (issue 16): who may open them, the filters (htmx
fragment, field messages for bad dates), the CSV of each table, and the customer statistics
costing the same queries for 3 or 30 customers."""
import csv
import io
from decimal import Decimal as D

import pytest

from core import clock
from core.auth.passwords import hash_password
from core.billing import invoicing
from core.billing.invoicing import FreeTextLine
from tests.billing_support import CLERK
from tests.conftest import agent_client_for
from tests.factories import AgentFactory, CustomerFactory
from tests.helpers import QueryCounter

PAGES = ["/analytics/returns", "/analytics/top", "/analytics/customers", "/analytics/dso"]


@pytest.fixture(autouse=True)
def real_clock():
    yield
    clock.reset()


def client_with_roles(console_app, db, roles: str):
    email = f"insights-{roles.replace(',', '-')}@test.example"
    AgentFactory(email=email, roles_text=roles, password_hash=hash_password("demo-pass-1"))
    db.commit()
    return agent_client_for(console_app, email)


@pytest.fixture
def manager(console_app, db):
    return client_with_roles(console_app, db, "manager")


@pytest.fixture
def supervisor(console_app, db):
    return client_with_roles(console_app, db, "supervisor")


def text(response) -> str:
    return " ".join(response.get_data(as_text=True).split())


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def invoiced_customer(db, name: str, amount: str):
    customer = CustomerFactory(kind="company", name=name, currency="EUR",
                               on_account_allowed=True, payment_terms="net30")
    db.flush()
    invoicing.issue_free_text(db, customer=customer, actor=CLERK, terms="net30",
                              lines=[FreeTextLine("Consulting", 1, D(amount), D(0))])
    return customer


@pytest.mark.parametrize("roles", ["manager", "supervisor", "admin"])
def test_managers_supervisors_and_admins_open_every_insight(console_app, db, roles):
    client = client_with_roles(console_app, db, roles)
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 200, path
        body = text(page)
        assert '<nav aria-label="Analytics"' in body and 'aria-current="page"' in body
        assert '<svg role="img"' in body or "Nothing to draw" in body
        assert client.get(path + "?format=csv").status_code == 200, path


@pytest.mark.parametrize("roles", ["agent", "billing", "credit", "catalog", "warehouse"])
def test_other_roles_get_403(console_app, db, roles):
    client = client_with_roles(console_app, db, roles)
    for path in PAGES:
        assert client.get(path).status_code == 403, path
        assert client.get(path + "?format=csv").status_code == 403, path


def test_anonymous_visitors_are_sent_to_sign_in(console_app):
    response = console_app.test_client().get("/analytics/returns")
    assert response.status_code in (302, 303, 401)


def test_top_customers_csv_holds_the_figures_of_the_page(manager, supervisor, db):
    who = invoiced_customer(db, "Xavera Topline GmbH", "5000.00")
    db.commit()
    page = text(manager.get("/analytics/top"))
    assert "Xavera Topline GmbH" in page and "5,000.00 EUR" in page
    # the customer's 360 page is linked for those who may open it (not a manager alone)
    assert f'href="/customers/{who.number}"' not in page
    assert f'href="/customers/{who.number}"' in text(supervisor.get("/analytics/top"))
    response = manager.get("/analytics/top?format=csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = rows_of(response)
    assert rows[0][:6] == ["list", "rank", "number or SKU", "name", "currency", "revenue"]
    mine = [r for r in rows if r[2] == who.number]
    assert mine == [["customers", "1", who.number, "Xavera Topline GmbH", "EUR", "5000.00",
                     "0.00", "5000.00", "100.0", "0", "0"]]


def test_customer_statistics_csv_and_link(manager, supervisor, db):
    who = invoiced_customer(db, "Yodelia Statistik AG", "321.50")
    db.commit()
    page = text(manager.get("/analytics/customers?q=Yodelia"))
    assert "1 customer" in page
    assert f'<th scope="row">Yodelia Statistik AG <span class="badge">{who.number}</span>' in page
    assert "321.50 EUR" in page
    assert f'<a href="/customers/{who.number}">Yodelia Statistik AG</a>' in text(
        supervisor.get("/analytics/customers?q=Yodelia"))
    rows = rows_of(manager.get("/analytics/customers?q=Yodelia&format=csv"))
    assert rows[1][:5] == [who.number, "Yodelia Statistik AG", "EUR", "321.50", "0.00"]
    assert rows[1][6] == "321.50"  # open, not yet due
    assert len(rows) == 2


def test_filters_answer_htmx_with_the_fragment_only(manager):
    page = manager.get("/analytics/returns?start=2026-01-01&end=2026-06-30&channel=web-b2c",
                       headers={"HX-Request": "true"})
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "HX-Request" in page.headers["Vary"]
    assert body.lstrip().startswith('<div id="insight">') and "<html" not in body
    assert 'hx-get="/analytics/returns"' in body and 'hx-push-url="true"' in body
    assert "01 Jan 2026 to 30 Jun 2026" in body
    whole = manager.get("/analytics/returns?start=2026-01-01&end=2026-06-30")
    assert "<html" in whole.get_data(as_text=True)


@pytest.mark.parametrize("query, field, message", [
    ("start=2026-02-30", "start", "Not a valid date value"),
    ("end=yesterday", "end", "Not a valid date value"),
    ("start=2026-05-01&end=2026-04-01", "end", "on or after the first day"),
    ("start=2020-01-01&end=2026-01-01", "end", "at most three years"),
    ("channel=nowhere", "channel", "Not a valid choice"),
])
def test_bad_filters_get_a_message_at_the_field(manager, query, field, message):
    for path in ("/analytics/returns", "/analytics/top"):
        page = manager.get(f"{path}?{query}")
        body = text(page)
        assert page.status_code == 200
        assert f'id="{field}-error">' in body and message in body
        assert f'aria-describedby="{field}-hint {field}-error" aria-invalid="true"' in body or \
            f'aria-describedby="{field}-error" aria-invalid="true"' in body
        assert "Correct the filters above" in body
        refused = manager.get(f"{path}?{query}&format=csv")
        assert refused.status_code == 400 and message in refused.get_data(as_text=True)


def test_dso_page_says_its_formula_and_lists_each_month_end(manager):
    body = text(manager.get("/analytics/dso?months=6"))
    assert "DSO = receivables open at the month end ÷ gross revenue of the 90 days" in body
    assert body.count('<tr><th scope="row">') == 6
    rows = rows_of(manager.get("/analytics/dso?months=3&format=csv"))
    assert rows[0] == ["month end", "currency", "receivables (1200)", "gross revenue, 90 days",
                       "DSO days"]
    assert len(rows) == 4
    assert "Not a valid choice" in text(manager.get("/analytics/dso?months=7"))


def test_customer_statistics_cost_the_same_queries_for_3_or_30_customers(supervisor, db,
                                                                         connection):
    manager = supervisor  # whose rows link to the customers' pages
    path = "/analytics/customers?q=Bulkstat"
    for i in range(3):
        invoiced_customer(db, f"Bulkstat {i:02d}", f"{100 + i}.00")
    db.commit()
    manager.get(path)
    with QueryCounter(connection) as few:
        small = text(manager.get(path))
    assert "3 customers" in small
    for i in range(3, 30):
        invoiced_customer(db, f"Bulkstat {i:02d}", f"{100 + i}.00")
    db.commit()
    with QueryCounter(connection) as lots:
        big = text(manager.get(path))
    assert "30 customers" in big and big.count('<th scope="row"><a href="/customers/') == 30
    assert lots.count == few.count
    # the largest turnover first
    assert big.index("Bulkstat 29") < big.index("Bulkstat 00")


def test_customer_statistics_page_through_fifty_at_a_time(supervisor, db):
    manager = supervisor  # whose rows link to the customers' pages
    for i in range(51):
        CustomerFactory(kind="company", name=f"Pagestat {i:02d}")
    db.commit()
    first = text(manager.get("/analytics/customers?q=Pagestat&sort=name"))
    assert "51 customers" in first and "Page 1 of 2" in first
    assert first.count('<th scope="row"><a href="/customers/') == 50
    assert 'hx-get="/analytics/customers?q=Pagestat&amp;sort=name&amp;page=2" ' \
           'hx-target="#insight" hx-push-url="true" rel="next"' in first
    second = text(manager.get("/analytics/customers?q=Pagestat&sort=name&page=2"))
    assert second.count('<th scope="row"><a href="/customers/') == 1 and "Pagestat 50" in second
