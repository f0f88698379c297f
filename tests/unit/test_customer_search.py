"""Customer search for agents: every key a caller reads out finds the customer."""
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.customers.models import Customer, CustomerAddress
from core.orders.models import Order
from core.workflows.customer_search import phone_needle, search_customers, series_number
from tests.factories import CustomerFactory
from tests.helpers import QueryCounter

SHOPPER = "shopper@example.com"  # the demo shopper, Sam Shopper, +49 30 1234 5678, 10115


def numbers(hits) -> list[str]:
    return [h.number for h in hits]


@pytest.fixture
def shopper(db) -> Customer:
    return db.scalar(select(Customer).where(Customer.email == SHOPPER))


def make_order(db, customer, number: str) -> Order:
    zero = Decimal("0")
    order = Order(number=number, idempotency_key=f"key-{number}", customer_id=customer.id,
                  email=customer.email, channel_code="web-b2c", placed_by_kind="customer",
                  currency="EUR", prices_include_tax=True, subtotal=zero, discount_total=zero,
                  net_total=zero, tax_total=zero, gross_total=Decimal("10.00"))
    db.add(order)
    db.flush()
    return order


@pytest.mark.parametrize("text", ["+49 30 1234 5678", "+49 30 1234-5678", "030 1234",
                                  "1234 5678", "0049 30 12345678", "(030) 1234 56",
                                  "4930123456"])
def test_a_phone_in_any_format_finds_the_demo_shopper(db, shopper, text):
    hits = search_customers(db, text)
    assert shopper.number in numbers(hits)
    assert next(h for h in hits if h.number == shopper.number).matched_on == "phone"


@pytest.mark.parametrize("text", ["Sam Shopper", "sam shopper", "shopper sam", "SHOPP", "m Shop"])
def test_part_of_the_name_in_any_case_and_word_order_finds_the_customer(db, shopper, text):
    assert shopper.number in numbers(search_customers(db, text))


def test_the_exact_email_in_any_case_ranks_first(db, shopper):
    CustomerFactory(name="Other Shopper", email="shopper@example.com.invalid")
    hits = search_customers(db, "Shopper@Example.COM")
    assert hits[0].number == shopper.number and hits[0].matched_on == "e-mail"


def test_part_of_an_email_finds_the_customer(db, shopper):
    assert shopper.number in numbers(search_customers(db, "example.com"))
    assert numbers(search_customers(db, "purchasing@acme")) == [
        db.scalar(select(Customer.number).where(Customer.name == "Acme Corp"))]


@pytest.mark.parametrize("written", ["C-{n}", "c-{n}", "C{n}", "{short}", "{n}"])
def test_the_customer_number_with_or_without_prefix_and_zeros_ranks_first(db, shopper,
                                                                          written):
    digits = shopper.number.removeprefix("C-")
    text = written.format(n=digits, short=str(int(digits)))
    hits = search_customers(db, text)
    assert hits[0].number == shopper.number and hits[0].matched_on == "customer number"


def test_an_order_number_finds_the_customer_who_placed_it(db, shopper):
    make_order(db, shopper, "SO-000123")
    for text in ("SO-000123", "so-123", "SO123"):
        hits = search_customers(db, text)
        assert numbers(hits) == [shopper.number], text
        assert hits[0].matched_on == "order number"


def test_a_bare_number_is_not_taken_for_an_order_number(db, shopper):
    other = CustomerFactory(name="Orderly Person")
    make_order(db, other, "SO-000777")
    assert other.number not in numbers(search_customers(db, "777"))


def test_the_postcode_finds_the_customer(db, shopper):
    hits = search_customers(db, "10115")
    assert shopper.number in numbers(hits)
    assert next(h for h in hits if h.number == shopper.number).matched_on == "postcode"


def test_a_company_name_finds_the_company_and_a_person_working_there(db):
    person = CustomerFactory(name="Petra Person", email="petra@widgets.example")
    db.add(CustomerAddress(customer=person, full_name="Petra Person", company="Widget Works",
                           line1="Road 1", city="Berlin", postal_code="10117", country="DE",
                           default_shipping=True))
    company = CustomerFactory(name="Widget Works GmbH", kind="company",
                              email="info@ww.example")
    db.flush()
    hits = {h.number: h for h in search_customers(db, "widget works")}
    assert set(hits) == {person.number, company.number}
    assert hits[person.number].company_label == "Widget Works"
    assert hits[person.number].matched_on == "company"
    assert hits[company.number].company_label == "Widget Works GmbH"


def test_exact_matches_come_before_partial_ones(db):
    exact = CustomerFactory(name="Zed Exact", email="zz-rank@test.example")
    CustomerFactory(name="Zed Partial", email="zz-rank@test.example.org")
    hits = search_customers(db, "zz-rank@test.example")
    assert hits[0].number == exact.number


def test_short_or_empty_input_finds_nothing_by_substring(db):
    assert search_customers(db, "") == [] and search_customers(db, "   ") == []
    assert search_customers(db, "sa") == []


def test_like_wildcards_in_the_input_are_taken_literally(db):
    assert search_customers(db, "%%%") == [] and search_customers(db, "___") == []


def test_the_limit_holds(db):
    for i in range(8):
        CustomerFactory(name=f"Limitless Larry {i}")
    db.flush()
    assert len(search_customers(db, "limitless", limit=5)) == 5
    assert len(search_customers(db, "limitless")) == 8


def test_one_sql_statement_whatever_the_number_of_matches(db, connection):
    for i in range(30):
        CustomerFactory(name=f"Manymatch {i}")
    db.flush()
    with QueryCounter(connection) as few:
        search_customers(db, "Sam Shopper")
    with QueryCounter(connection) as many:
        assert len(search_customers(db, "manymatch")) == 20
    assert few.count == many.count == 1


def test_searches_of_one_shape_share_a_statement_but_not_their_values(db):
    """The statement of a shape is built once; each search binds its own words."""
    first = CustomerFactory(name="Quillon Apple", email="qa@test.example")
    second = CustomerFactory(name="Quillon Berry", email="qb@test.example")
    db.flush()
    assert numbers(search_customers(db, "quillon apple")) == [first.number]
    assert numbers(search_customers(db, "quillon berry")) == [second.number]
    assert numbers(search_customers(db, "QB@test.example"))[:1] == [second.number]
    assert numbers(search_customers(db, "qa@test.example"))[:1] == [first.number]
    assert search_customers(db, "quillon cherry") == []


def test_number_and_phone_parsing():
    assert series_number("customer", "c-000042") == "C-000042"
    assert series_number("customer", "42") == "C-000042"
    assert series_number("customer", "SO-42") is None
    assert series_number("order", "so 42") == "SO-000042"
    assert phone_needle("+49 (30) 1234-5678") == "493012345678"
    assert phone_needle("030 1234") == "301234"
    assert phone_needle("0049 30") == "4930"
    assert phone_needle("Sam") is None and phone_needle("01") is None


# -- a company's logins (buyers, contacts) find the company --------------------------------


@pytest.fixture
def quillcorp(db):
    from tests.factories import CustomerUserFactory
    company = CustomerFactory(name="Quillcorp Trading", kind="company",
                              email="office@quillcorp.example")
    CustomerUserFactory(customer=company, full_name="Wendeline Zarbock",
                        email="w.zarbock@quillcorp.example")
    return company


@pytest.mark.parametrize("text", ["Wendeline Zarbock", "zarbock", "ZARBOCK wendeline",
                                  "w.zarbock@quillcorp.example", "W.Zarbock@Quillcorp.Example",
                                  "w.zarbock"])
def test_a_contact_by_name_or_email_finds_the_company_and_says_who(db, quillcorp, text):
    hits = search_customers(db, text)
    assert numbers(hits) == [quillcorp.number]
    assert hits[0].matched_on == "contact Wendeline Zarbock"


def test_the_company_found_by_its_own_name_says_name_not_contact(db, quillcorp):
    hits = search_customers(db, "quillcorp trading")
    assert numbers(hits) == [quillcorp.number] and hits[0].matched_on == "name"


def test_a_contact_search_is_still_one_statement(db, quillcorp, connection):
    search_customers(db, "warm up")
    with QueryCounter(connection) as counted:
        search_customers(db, "zarbock")
    assert counted.count == 1
