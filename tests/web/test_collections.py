"""The collections pages: the worklist (ranked, explained, filtered, a fixed number of
queries at 10, 50 and 200,000 customers), the account page's call, promise, dispute and
follow-up forms (errors at the field, htmx fragments), "My follow-ups"; roles, CSRF, and
nobody reaches another customer's records through the URL."""
from __future__ import annotations

import datetime as dt
import re
import time
from decimal import Decimal as D

import pytest
from sqlalchemy import func, insert, select

from core import clock
from core.billing.models import Invoice
from core.credit import collections as coll
from core.credit.models import CollectionContact, CollectionTask, Dispute, PromiseToPay
from core.customers.models import Customer
from core.agents.models import Agent
from tests.collections_support import CLERK, account_customer, overdue_invoice
from tests.conftest import agent_client_for, csrf_token
from tests.helpers import QueryCounter


@pytest.fixture
def credit_client(console_app):
    """Bill Billing: billing and credit roles."""
    return agent_client_for(console_app, "billing@marketline.example")


def page(client, path) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def post(client, path, data, page_path="/collections/", **kwargs):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, page_path)},
                       **kwargs)


def count(db, model, **where) -> int:
    db.expire_all()
    stmt = select(func.count()).select_from(model)
    for name, value in where.items():
        stmt = stmt.where(getattr(model, name) == value)
    return db.scalar(stmt)


def agent_id(db, email: str) -> int:
    return db.scalar(select(Agent.id).where(Agent.email == email))


def ranked_names(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/collections/C-[^"]+">([^<]+)</a>', html)


# -- the worklist ---------------------------------------------------------------------------

def test_the_worklist_ranks_overdue_accounts_and_says_why(credit_client, db):
    low = account_customer(db, "Web Low")
    overdue_invoice(db, low, "50.00", 4)
    high = account_customer(db, "Web High")
    overdue_invoice(db, high, "5000.00", 90)
    db.commit()
    html = page(credit_client, "/collections/")
    names = ranked_names(html)
    assert names.index("Web High") < names.index("Web Low")
    assert "Oldest item 90 days overdue" in html and "5,000.00 EUR overdue" in html
    assert "Birch &amp; Co Architects" in html  # the demo's overdue accounts are there too
    found = page(credit_client, "/collections/?q=web+low")
    assert ranked_names(found) == ["Web Low"]
    assert ranked_names(page(credit_client, "/collections/?q=Web&min_days=30")) == ["Web High"]
    junk = page(credit_client, "/collections/?min_days=lots&q=Web")
    assert "Enter a number of days" in junk and set(ranked_names(junk)) >= {"Web High", "Web Low"}
    htmx = credit_client.get("/collections/?q=web", headers={"HX-Request": "true"})
    assert htmx.get_data(as_text=True).lstrip().startswith('<section id="results"')


def test_the_worklist_shows_contact_promise_disputes_and_next_follow_up(credit_client, db):
    c = account_customer(db, "Web Details")
    invoice = overdue_invoice(db, c, "400.00", 20)
    coll.record_call(db, c, outcome="no_answer", actor=CLERK)
    coll.promise_to_pay(db, c, amount=D("100.00"), promised_for=clock.today()
                        + dt.timedelta(days=5), actor=CLERK)
    coll.open_dispute(db, invoice, reason="Price", amount=D("10.00"), actor=CLERK)
    coll.add_task(db, c, agent_id=agent_id(db, "billing@marketline.example"),
                  due_on=clock.today(), note="Call again", actor=CLERK)
    db.commit()
    html = page(credit_client, "/collections/?q=web+details")
    assert "No answer" in html and "100.00 EUR by" in html
    assert clock.today().isoformat() in html
    assert "1 open dispute (no points)" in html
    mine = page(credit_client, "/collections/?mine=y")
    assert "Web Details" in ranked_names(mine)


def test_the_worklist_costs_the_same_queries_for_10_accounts_or_50(credit_client, db,
                                                                    connection):
    def make(n, start):
        for i in range(start, start + n):
            c = account_customer(db, f"Count {i:03d}")
            overdue_invoice(db, c, f"{100 + i}.00", 5 + i)
            coll.record_call(db, c, outcome="reached", actor=CLERK)
            coll.add_task(db, c, agent_id=agent_id(db, "billing@marketline.example"),
                          due_on=clock.today(), note="Call", actor=CLERK)
        db.commit()

    make(10, 0)
    credit_client.get("/collections/")  # warm-up
    with QueryCounter(connection) as ten:
        html = page(credit_client, "/collections/")
    assert len([n for n in ranked_names(html) if n.startswith("Count")]) == 10
    make(40, 10)
    with QueryCounter(connection) as fifty:
        html = page(credit_client, "/collections/?page=2")
    assert len(ranked_names(html)) == 25
    assert ten.count == fifty.count


def test_the_worklist_costs_the_same_queries_at_200k_customers(credit_client, db, connection):
    credit_client.get("/collections/")  # warm-up
    with QueryCounter(connection) as small:
        page(credit_client, "/collections/")
    start = time.monotonic()
    bulk = connection.execution_options(insertmanyvalues_page_size=5000)
    bulk.execute(insert(Customer), [
        {"number": f"C-B{i:07d}", "kind": "company", "name": f"Bulk Customer {i}",
         "email": f"bulk{i}@bulk.example", "payment_terms": "net30"} for i in range(200_000)])
    ids = connection.execute(select(Customer.id).where(Customer.number.like("C-B%"))
                             .order_by(Customer.id).limit(300)).scalars().all()
    today = clock.today()
    connection.execute(insert(Invoice), [
        {"kind": "invoice", "number": f"INV-B{n:06d}", "customer_id": cid, "currency": "EUR",
         "issue_date": today - dt.timedelta(days=40 + n % 90),
         "due_date": today - dt.timedelta(days=10 + n % 90), "net_total": D(100 + n),
         "tax_total": D(0), "gross_total": D(100 + n), "amount_open": D(100 + n),
         "payment_method": "on_account", "terms": "net30"} for n, cid in enumerate(ids)])
    with QueryCounter(connection) as large:
        html = page(credit_client, "/collections/?page=3")
    with QueryCounter(connection) as filtered:
        page(credit_client, "/collections/?q=Bulk+Customer+12&min_days=20")
    assert "Bulk Customer" in html and re.search(r"\b30[0-9] overdue accounts", html)
    assert small.count == large.count == filtered.count
    assert time.monotonic() - start < 60


# -- roles, CSRF, someone else's records -------------------------------------------------

def test_only_credit_supervisors_and_billing_see_collections(console_app, supervisor_client,
                                                             agent_client, credit_client, db):
    birch = db.scalar(select(Customer.number).where(Customer.name.like("Birch%")))
    for path in ("/collections/", f"/collections/{birch}", "/collections/mine"):
        assert supervisor_client.get(path).status_code == 200, path
        assert credit_client.get(path).status_code == 200, path
        assert agent_client.get(path).status_code == 403, path
    warehouse = agent_client_for(console_app, "warehouse@marketline.example")
    assert warehouse.get("/collections/").status_code == 403
    response = post(agent_client, f"/collections/{birch}/calls",
                    {"call-outcome": "reached"}, "/")
    assert response.status_code == 403
    assert "Collections</a>" in page(supervisor_client, "/")
    assert "Collections</a>" not in page(agent_client, "/")


def test_billing_without_credit_reads_but_does_not_record(console_app, db):
    db.add(Agent(email="clerk@marketline.example", full_name="Cleo Clerk", roles_text="billing",
                 password_hash=db.scalar(select(Agent.password_hash).where(
                     Agent.email == "billing@marketline.example"))))
    db.commit()
    clerk = agent_client_for(console_app, "clerk@marketline.example")
    birch = db.scalar(select(Customer).where(Customer.name.like("Birch%")))
    before = count(db, PromiseToPay, customer_id=birch.id)
    html = page(clerk, f"/collections/{birch.number}")
    assert "Record promise" not in html and "Ms Birch confirms" in html  # the demo's call
    response = post(clerk, f"/collections/{birch.number}/promises",
                    {"promise-amount": "10", "promise-promised_for": clock.today().isoformat()})
    assert response.status_code == 403
    assert count(db, PromiseToPay, customer_id=birch.id) == before


def test_a_post_without_its_csrf_token_is_refused_and_writes_nothing(credit_client, db):
    birch = db.scalar(select(Customer).where(Customer.name.like("Birch%")))
    before = count(db, CollectionContact, customer_id=birch.id)
    response = credit_client.post(f"/collections/{birch.number}/calls",
                                  data={"call-outcome": "reached"})
    assert response.status_code == 400
    assert count(db, CollectionContact, customer_id=birch.id) == before


def test_nobody_reaches_another_customers_promise_dispute_or_task(credit_client, db):
    mine, theirs = account_customer(db, "Own Account"), account_customer(db, "Their Account")
    invoice = overdue_invoice(db, theirs, "100.00", 10)
    promise = coll.promise_to_pay(db, theirs, amount=D("50"), actor=CLERK,
                                  promised_for=clock.today() + dt.timedelta(days=3))
    dispute = coll.open_dispute(db, invoice, reason="Price", actor=CLERK)
    task = coll.add_task(db, theirs, agent_id=agent_id(db, "billing@marketline.example"),
                         due_on=clock.today(), note="Call", actor=CLERK)
    db.commit()
    base = f"/collections/{mine.number}"
    for path, data in ((f"{base}/promises/{promise.id}/cancel", {}),
                       (f"{base}/disputes/{dispute.id}/resolve", {f"d{dispute.id}-resolution": "x"}),
                       (f"{base}/disputes/{dispute.id}/assign", {f"d{dispute.id}-assign_to": "0"}),
                       (f"{base}/tasks/{task.id}/done", {}),
                       (f"{base}/tasks/{task.id}/cancel", {})):
        assert post(credit_client, path, data).status_code == 404, path
    db.expire_all()
    assert promise.status == "open" and dispute.status == "open" and task.status == "open"
    assert credit_client.get("/collections/C-999999").status_code == 404


# -- the account page's forms ----------------------------------------------------------------

def test_a_promise_to_pay_from_the_account_page_logs_the_call_too(credit_client, db):
    c = account_customer(db, "Web Promise")
    a, b = overdue_invoice(db, c, "300.00", 30), overdue_invoice(db, c, "200.00", 10)
    later = overdue_invoice(db, c, "100.00", -10)
    db.commit()
    html = page(credit_client, f"/collections/{c.number}")
    assert re.search(rf'value="{a.id}" checked', html) and re.search(rf'value="{b.id}" checked', html)
    assert not re.search(rf'value="{later.id}" checked', html)  # not overdue: not preselected
    day = clock.today() + dt.timedelta(days=7)
    response = post(credit_client, f"/collections/{c.number}/promises",
                    {"promise-amount": "450.00", "promise-promised_for": day.isoformat(),
                     "promise-invoices": [str(a.id), str(b.id)], "promise-note": "Friday"})
    assert response.status_code == 303
    html = page(credit_client, response.headers["Location"])
    assert f"Promise to pay 450.00 EUR by {day.isoformat()} recorded" in html
    promise = db.scalar(select(PromiseToPay).where(PromiseToPay.customer_id == c.id))
    assert {i.id for i in promise.invoices} == {a.id, b.id}
    assert db.scalar(select(CollectionContact.outcome).where(
        CollectionContact.promise_id == promise.id)) == "promised"


@pytest.mark.parametrize("data, message", [
    ({"promise-amount": "0", "promise-promised_for": "+1"}, "more than 0"),
    ({"promise-amount": "abc", "promise-promised_for": "+1"}, "amount"),
    ({"promise-amount": "600", "promise-promised_for": "+1"}, "at most that"),
    ({"promise-amount": "50", "promise-promised_for": "+61"}, "at most 60 days ahead"),
    ({"promise-amount": "50", "promise-promised_for": "-1"}, "cannot be in the past"),
    ({"promise-amount": "50", "promise-promised_for": "not-a-day"}, "Not a valid date"),
])
def test_a_bad_promise_is_refused_at_its_field_and_nothing_is_written(credit_client, db,
                                                                     data, message):
    c = account_customer(db, "Web Bad Promise")
    invoice = overdue_invoice(db, c, "500.00", 30)
    db.commit()
    data = {**data, "promise-invoices": str(invoice.id)}
    day = data["promise-promised_for"]
    if day[0] in "+-":
        data = {**data, "promise-promised_for":
                (clock.today() + dt.timedelta(days=int(day))).isoformat()}
    response = post(credit_client, f"/collections/{c.number}/promises", data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in html and 'aria-invalid="true"' in html
    assert 'value="' + data["promise-amount"] + '"' in html  # what was typed stays
    assert count(db, PromiseToPay, customer_id=c.id) == 0
    assert count(db, CollectionContact, customer_id=c.id) == 0
    htmx = post(credit_client, f"/collections/{c.number}/promises", data,
                headers={"HX-Request": "true"})
    assert htmx.get_data(as_text=True).lstrip().startswith('<form id="promise-form"')


def test_a_promise_with_no_invoice_ticked_says_so_at_the_invoices(credit_client, db):
    c = account_customer(db, "Web No Invoices")
    overdue_invoice(db, c, "500.00", 30)
    db.commit()
    response = post(credit_client, f"/collections/{c.number}/promises", {
        "promise-amount": "50", "promise-promised_for": clock.today().isoformat()})
    html = response.get_data(as_text=True)
    assert re.search(r'<p class="error" id="promise-invoices-error">Choose the invoices', html)
    assert count(db, PromiseToPay, customer_id=c.id) == 0


def test_calls_disputes_and_follow_ups_from_the_account_page(credit_client, db):
    c = account_customer(db, "Web Flow")
    invoice = overdue_invoice(db, c, "250.00", 12)
    db.commit()
    base = f"/collections/{c.number}"
    bad = post(credit_client, f"{base}/calls", {"call-outcome": "", "call-channel": "phone"})
    assert bad.status_code == 200 and "Choose how the call went." in bad.get_data(as_text=True)
    assert post(credit_client, f"{base}/calls", {"call-outcome": "left_message",
                                                 "call-channel": "phone",
                                                 "call-note": "Voicemail"}).status_code == 303
    billing_id = agent_id(db, "billing@marketline.example")
    response = post(credit_client, f"{base}/disputes", {
        "dispute-invoice": str(invoice.id), "dispute-reason": "Two items missing",
        "dispute-amount": "40.00", "dispute-assign_to": str(billing_id)})
    assert response.status_code == 303
    dispute = db.scalar(select(Dispute).where(Dispute.customer_id == c.id))
    assert dispute.assigned_to_id == billing_id and dispute.amount == D("40.00")
    html = page(credit_client, base)
    assert "Disputed" in html and "Two items missing" in html and "Voicemail" in html
    refused = post(credit_client, f"{base}/disputes/{dispute.id}/resolve",
                   {f"d{dispute.id}-resolution": ""})
    assert "Say how the dispute was resolved." in refused.get_data(as_text=True)
    assert post(credit_client, f"{base}/disputes/{dispute.id}/resolve",
                {f"d{dispute.id}-resolution": "Credit note issued"}).status_code == 303
    db.expire_all()
    assert dispute.status == "resolved" and dispute.resolution == "Credit note issued"
    due = clock.today() + dt.timedelta(days=1)
    past = post(credit_client, f"{base}/tasks", {"task-agent": str(billing_id),
                                                 "task-due_on": "2000-01-01",
                                                 "task-note": "Call"})
    assert "cannot be due in the past" in past.get_data(as_text=True)
    assert post(credit_client, f"{base}/tasks", {"task-agent": str(billing_id),
                                                 "task-due_on": due.isoformat(),
                                                 "task-note": "Ask for remittance"}
                ).status_code == 303
    mine = page(credit_client, "/collections/mine")
    assert "Ask for remittance" in mine and "Web Flow" in mine
    task = db.scalar(select(CollectionTask).where(CollectionTask.customer_id == c.id))
    done = post(credit_client, f"{base}/tasks/{task.id}/done", {"back": "mine"})
    assert done.status_code == 303 and done.headers["Location"].endswith("/collections/mine")
    db.expire_all()
    assert task.status == "done"
    assert "Ask for remittance" not in page(credit_client, "/collections/mine")


def test_my_follow_ups_lists_mine_due_first_and_flags_the_overdue(credit_client, db):
    c = account_customer(db, "Web Mine")
    billing_id = agent_id(db, "billing@marketline.example")
    late = coll.add_task(db, c, agent_id=billing_id, due_on=clock.today(), note="First call",
                         actor=CLERK)
    coll.add_task(db, c, agent_id=billing_id, due_on=clock.today() + dt.timedelta(days=3),
                  note="Second call", actor=CLERK)
    coll.add_task(db, c, agent_id=agent_id(db, "supervisor@marketline.example"),
                  due_on=clock.today(), note="Not mine", actor=CLERK)
    db.commit()
    clock.travel(days=1)
    try:
        html = page(credit_client, "/collections/mine")
    finally:
        clock.reset()
    assert html.index("First call") < html.index("Second call") and "Not mine" not in html
    row = html[html.index(late.due_on.isoformat()):html.index("First call")]
    assert "Overdue" in row


def test_the_daily_task_settles_promises_whose_day_passed(db, session_factory):
    from core.credit.promise_tasks import review_promises_task
    c = account_customer(db, "Task Review")
    overdue_invoice(db, c, "100.00", 10)
    promise = coll.promise_to_pay(db, c, amount=D("100"), actor=CLERK,
                                  promised_for=clock.today() + dt.timedelta(days=1))
    db.commit()
    clock.travel(days=2)
    try:
        counts = review_promises_task.delay().get()
        again = review_promises_task.delay().get()
    finally:
        clock.reset()
    assert counts["broken"] >= 1 and again["broken"] == 0
    db.expire_all()
    assert promise.status == "broken"


# -- fix round: one promise per form, one open dispute, no button that answers 403 -----------

def test_a_promise_form_posted_twice_records_one_promise(credit_client, db):
    c = account_customer(db, "Web Twice")
    invoice = overdue_invoice(db, c, "300.00", 30)
    db.commit()
    html = page(credit_client, f"/collections/{c.number}")
    hidden = re.compile(r'<input id="promise-key" name="promise-key" type="hidden" '
                        r'value="([0-9a-f]{32})">')
    key = hidden.search(html).group(1)
    again = page(credit_client, f"/collections/{c.number}")
    assert hidden.search(again).group(1) != key  # one key per page shown
    day = (clock.today() + dt.timedelta(days=7)).isoformat()
    data = {"promise-key": key, "promise-amount": "120.00", "promise-promised_for": day,
            "promise-invoices": str(invoice.id)}
    first = post(credit_client, f"/collections/{c.number}/promises", data)
    second = post(credit_client, f"/collections/{c.number}/promises",
                  {**data, "promise-amount": "130.00"})
    assert first.status_code == second.status_code == 303
    assert count(db, PromiseToPay, customer_id=c.id) == 1
    assert count(db, CollectionContact, customer_id=c.id) == 1
    assert db.scalar(select(PromiseToPay.amount).where(PromiseToPay.customer_id == c.id)
                     ) == D("120.00")
    assert "Promise to pay 120.00 EUR" in page(credit_client, second.headers["Location"])
    fresh = post(credit_client, f"/collections/{c.number}/promises",
                 {**data, "promise-key": "not a key"})  # a new key: a new promise
    assert fresh.status_code == 303 and count(db, PromiseToPay, customer_id=c.id) == 2


def test_the_forms_htmx_posts_disable_their_button_while_posting(credit_client, db):
    birch = db.scalar(select(Customer.number).where(Customer.name.like("Birch%")))
    html = page(credit_client, f"/collections/{birch}")
    for form_id in ("call-form", "promise-form", "dispute-form", "task-form"):
        tag = re.search(rf'<form id="{form_id}"[^>]*>', html).group(0)
        assert "hx-post=" in tag and "hx-disabled-elt=\"find button[type='submit']\"" in tag
    htmx = post(credit_client, f"/collections/{birch}/calls", {"call-outcome": ""},
                headers={"HX-Request": "true"})
    assert "hx-disabled-elt=" in htmx.get_data(as_text=True)  # the fragment keeps it


def test_a_second_open_dispute_on_an_invoice_is_refused_at_the_field(credit_client, db):
    c = account_customer(db, "Web Dispute Twice")
    invoice = overdue_invoice(db, c, "250.00", 12)
    db.commit()
    data = {"dispute-invoice": str(invoice.id), "dispute-reason": "Two items missing"}
    assert post(credit_client, f"/collections/{c.number}/disputes", data).status_code == 303
    again = post(credit_client, f"/collections/{c.number}/disputes",
                 {**data, "dispute-reason": "Posted again"})
    assert again.status_code == 200
    assert re.search(rf'<p class="error" id="dispute-invoice-error">{invoice.number} is '
                     r'already under dispute\.</p>', again.get_data(as_text=True))
    assert count(db, Dispute, invoice_id=invoice.id) == 1


def test_billing_sees_done_only_on_its_own_follow_ups(console_app, db):
    db.add(Agent(email="clerk2@marketline.example", full_name="Cleo Clerk", roles_text="billing",
                 password_hash=db.scalar(select(Agent.password_hash).where(
                     Agent.email == "billing@marketline.example"))))
    db.commit()
    clerk_id = agent_id(db, "clerk2@marketline.example")
    c = account_customer(db, "Web Done Own")
    mine = coll.add_task(db, c, agent_id=clerk_id, due_on=clock.today(), note="Mine to do",
                         actor=CLERK)
    coll.add_task(db, c, agent_id=agent_id(db, "billing@marketline.example"),
                  due_on=clock.today(), note="Someone else's", actor=CLERK)
    db.commit()
    clerk = agent_client_for(console_app, "clerk2@marketline.example")
    html = page(clerk, f"/collections/{c.number}")
    assert 'aria-label="Done: Mine to do"' in html
    assert 'aria-label="Done: Someone else&#39;s"' not in html and "Someone else" in html
    assert 'aria-label="Cancel: Mine to do"' not in html  # cancelling is the credit team's
    done = post(clerk, f"/collections/{c.number}/tasks/{mine.id}/done", {},
                f"/collections/{c.number}")
    assert done.status_code == 303
    db.expire_all()
    assert mine.status == "done"
    credit = page(agent_client_for(console_app, "billing@marketline.example"),
                  f"/collections/{c.number}")  # who can write finishes anyone's
    assert credit.count('aria-label="Done: ') >= 1 and "Done: Someone else" in credit


def test_a_promise_with_a_key_that_is_no_key_is_refused_and_writes_nothing(credit_client, db):
    c = account_customer(db, "Web Long Key")
    invoice = overdue_invoice(db, c, "300.00", 30)
    db.commit()
    response = post(credit_client, f"/collections/{c.number}/promises", {
        "promise-key": "x" * 81, "promise-amount": "120.00",
        "promise-promised_for": clock.today().isoformat(), "promise-invoices": str(invoice.id)})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "The form was out of date" in html
    assert re.search(r'name="promise-key" type="hidden" value="[0-9a-f]{32}"', html)
    assert count(db, PromiseToPay, customer_id=c.id) == 0
