"""The console's order page and hold worklist: roles, actions, audit, query counts."""
import datetime as dt
import re
from itertools import pairwise

import pytest
from sqlalchemy import select

from core.audit import Actor, AuditEvent
from core.inventory.models import StockLevel
from core.orders import holds
from core.orders.models import Order, OrderHold, OrderNote
from core.payments.models import PaymentAttempt
from tests.fakes import FakeGateway
from tests.conftest import csrf_token, sign_in
from tests.helpers import QueryCounter
from tests.unit.test_order_maintenance import authorise
from tests.unit.test_orders import place, vid
from tests.web.conftest import text_of


@pytest.fixture
def payment_gateway():
    """The apps take card payments through the fake (tests/fakes.py)."""
    return FakeGateway()


SYSTEM = Actor.system("test")


@pytest.fixture
def order(db):
    order = place(db, [(vid(db, "PAP-A4-80"), 2), (vid(db, "PEN-G2-BLU"), 1)], key="console-1")
    db.commit()
    return order


def hold_on(db, order, kind, reason="", actor=SYSTEM):
    reason = reason or next(iter(holds.REASON_CODES[kind]))
    hold = holds.place_hold(db, order, kind=kind, reason_code=reason, note="from the test",
                            actor=actor)
    db.commit()
    return hold


def post(client, path, data=None, number=None, prefix=None):
    """Post a form of the order page; its fields and token carry the form's prefix."""
    token = csrf_token(client, f"/orders/{number}" if number else "/orders/holds")
    if prefix:
        data = {f"{prefix}-{k}" if not k.startswith(("qty-", "remove-")) else k: v
                for k, v in (data or {}).items()}
    return client.post(path, data={**(data or {}), "csrf_token": token,
                                   f"{prefix}-csrf_token": token})


def page(client, path) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_the_order_page_shows_lines_totals_addresses_payment_holds_and_timeline(
        agent_client, db, order):
    hold_on(db, order, "approval", "spending_limit")
    authorise(db, order)
    db.commit()
    html = page(agent_client, f"/orders/{order.number}")
    assert f"<h1>Order {order.number}</h1>" in html
    for text in ("PAP-A4-80", "PEN-G2-BLU", "Hauptstraße 1", "Approval: Above the buyer",
                 f"pi_{order.number}", "Order placed", "Payment authorised", "Hold placed",
                 order.money(order.gross_total).format()):
        assert text in html, text
    assert html.count(">Release hold</button>") == 1
    headings = [int(h) for h in re.findall(r"<h([1-6])[ >]", html)]
    assert headings[0] == 1 and all(b - a <= 1 for a, b in pairwise(headings))


def test_an_unknown_order_number_is_404(agent_client):
    assert agent_client.get("/orders/SO-999999").status_code == 404


def test_a_supervisor_releases_an_approval_hold(supervisor_client, db, order):
    hold = hold_on(db, order, "approval", "spending_limit")
    response = post(supervisor_client, f"/orders/{order.number}/holds/{hold.id}/release",
                    {"note": "Approved on the phone"}, order.number, f"release-{hold.id}")
    assert response.status_code == 303, response.get_data(as_text=True)
    db.expire_all()
    hold = db.get(OrderHold, hold.id)
    assert hold.released_at is not None and hold.released_by == "supervisor@marketline.example"
    assert hold.release_note == "Approved on the phone"
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "order.hold_released",
                                               AuditEvent.subject_id == str(order.id)))
    assert event.actor_label == "supervisor@marketline.example"
    assert event.data["kind"] == "approval" and event.data["reason"] == "spending_limit"


def test_an_agent_is_refused_an_approval_hold_with_a_message_at_the_hold(agent_client, db, order):
    hold = hold_on(db, order, "approval", "spending_limit")
    response = post(agent_client, f"/orders/{order.number}/holds/{hold.id}/release",
                    {"note": "please"}, order.number, f"release-{hold.id}")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert re.search(rf'id="hold-{hold.id}".*?role="alert">Only an agent with the supervisor role',
                     html, re.DOTALL)
    db.expire_all()
    assert db.get(OrderHold, hold.id).released_at is None


def test_an_agent_releases_a_manual_hold_someone_else_placed(agent_client, db, order):
    hold = hold_on(db, order, "manual", "customer_request",
                   actor=Actor("agent", 99, "someone@marketline.example"))
    response = post(agent_client, f"/orders/{order.number}/holds/{hold.id}/release", {},
                    order.number, f"release-{hold.id}")
    assert response.status_code == 303
    db.expire_all()
    assert db.get(OrderHold, hold.id).released_by == "agent@marketline.example"


def test_an_agent_places_a_hold_from_the_order_page(agent_client, db, order):
    response = post(agent_client, f"/orders/{order.number}/holds",
                    {"reason_code": "address_check", "note": "No house number"},
                    order.number, "hold")
    assert response.status_code == 303, response.get_data(as_text=True)
    hold = db.scalar(select(OrderHold).where(OrderHold.order_id == order.id))
    assert (hold.kind, hold.reason_code, hold.note, hold.placed_by, hold.hold_until) == (
        "manual", "address_check", "No house number", "agent@marketline.example", None)
    # the reason decides the kind: a kind sent along is ignored
    response = post(agent_client, f"/orders/{order.number}/holds",
                    {"kind": "manual", "reason_code": "over_limit"}, order.number, "hold")
    assert response.status_code == 303
    credit = db.scalar(select(OrderHold).where(OrderHold.order_id == order.id,
                                               OrderHold.reason_code == "over_limit"))
    assert credit.kind == "credit"
    # a reason that is not on the list is refused at the field, nothing is placed
    response = post(agent_client, f"/orders/{order.number}/holds",
                    {"reason_code": "made_up"}, order.number, "hold")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.search(r'id="hold-reason_code-error"[^>]*>Not a valid choice', html), html
    assert "<details class=\"place-hold\" open>" in html  # the form stays open at its error
    assert len(db.scalars(select(OrderHold).where(OrderHold.order_id == order.id)).all()) == 2


def test_the_hold_form_is_one_reason_list_grouped_by_kind_manual_first_and_folded(
        agent_client, order):
    html = page(agent_client, f"/orders/{order.number}")
    form = html[html.index('<details class="place-hold">'):]
    form = form[:form.index("</details>")]
    assert "<summary" in form and ">Place a hold</summary>" in form
    assert 'name="hold-kind"' not in form  # no separate Kind select
    groups = re.findall(r'<optgroup label="([^"]+)">', form)
    assert groups == ["Manual", "Payment review", "Approval", "Credit"]
    manual = form[form.index('<optgroup label="Manual">'):form.index('<optgroup label="Payment')]
    assert 'value="customer_request"' in manual and 'value="over_limit"' not in manual
    # the first option, a manual reason, is what a fresh form submits
    assert re.search(r'<option[^>]*>', form).group(0) == '<option value="customer_request">'
    assert re.search(r'<label for="hold-until">Hold until \(optional\)</label>', form)
    assert 'type="date"' in form


def test_a_hold_until_a_day_is_shown_with_its_day_and_a_past_day_is_refused(
        agent_client, db, order):
    from core import clock
    day = clock.today() + dt.timedelta(days=9)
    response = post(agent_client, f"/orders/{order.number}/holds",
                    {"reason_code": "customer_request", "until": day.isoformat(),
                     "note": "Deliver after the 15th"}, order.number, "hold")
    assert response.status_code == 303, response.get_data(as_text=True)
    hold = db.scalar(select(OrderHold).where(OrderHold.order_id == order.id))
    assert hold.hold_until == day
    html = page(agent_client, f"/orders/{order.number}")
    card = html[html.index(f'id="hold-{hold.id}"'):]
    assert f"Until {day.isoformat()}" in card[:card.index("</li>")]
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "order.hold_placed",
                                               AuditEvent.subject_id == str(order.id)))
    assert event.data["until"] == day.isoformat()
    response = post(agent_client, f"/orders/{order.number}/holds",
                    {"reason_code": "stock_check",
                     "until": (clock.today() - dt.timedelta(days=1)).isoformat()},
                    order.number, "hold")
    assert response.status_code == 200
    assert "Choose a day from today on" in response.get_data(as_text=True)
    assert db.scalar(select(OrderHold).where(OrderHold.reason_code == "stock_check",
                                             OrderHold.order_id == order.id)) is None


def test_the_worklist_flags_holds_whose_day_has_come_and_lists_them_first(
        agent_client, db, order):
    from core import clock
    later = place(db, [(vid(db, "PAP-A4-80"), 1)], key="console-due")
    db.commit()
    hold_on(db, order, "manual", "stock_check")  # no day: after the due ones
    due = holds.place_hold(db, later, kind="manual", reason_code="customer_request",
                           note="", actor=SYSTEM, until=clock.today())
    db.commit()
    html = page(agent_client, "/orders/holds")
    rows = re.findall(r'<tr>\s*<th scope="row"><a href="/orders/([^"]+)">.*?</tr>', html, re.S)
    assert rows[0] == later.number
    first = html[html.index(f">{later.number}</a>"):]
    first = first[:first.index("</tr>")]
    assert f"{due.hold_until.isoformat()} <span class=\"badge badge-due\">Due</span>" in first
    mine = html[html.index(f">{order.number}</a>"):]
    assert "badge-due" not in mine[:mine.index("</tr>")]


def test_a_manual_hold_says_it_releases_itself_and_the_hourly_task_and_command_release_it(
        agent_client, console_app, db, order, settings):
    from core import clock
    from core.tasks import celery_app, configure_celery
    from core.workflows.tasks import release_due_holds
    later = place(db, [(vid(db, "PAP-A4-80"), 1)], key="console-until")
    db.commit()
    day = clock.today() + dt.timedelta(days=3)
    waits = holds.place_hold(db, later, kind="manual", reason_code="customer_request",
                             note="", actor=SYSTEM, until=day)
    due = holds.place_hold(db, order, kind="manual", reason_code="stock_check", note="",
                           actor=SYSTEM, until=clock.today())
    db.commit()
    row = page(agent_client, "/orders/holds")
    row = row[row.index(f">{later.number}</a>"):]
    assert f"{day.isoformat()} <span class=\"muted\">(released that day)</span>" in row[
        :row.index("</tr>")]
    card = page(agent_client, f"/orders/{later.number}")
    assert f"Until {day.isoformat()}: released by itself on that day" in card

    configure_celery(settings)
    assert {"task": "marketline.release_due_holds", "schedule": 3600.0} in (
        celery_app.conf.beat_schedule.values())
    assert release_due_holds() == 1  # the hourly task
    db.expire_all()
    assert db.get(OrderHold, due.id).released_by == "its hold-until date"
    assert db.get(OrderHold, waits.id).released_at is None
    assert "released by its hold-until date on" in page(agent_client, f"/orders/{order.number}")
    result = console_app.test_cli_runner().invoke(args=["release-due-holds"])
    assert result.exit_code == 0 and "0 hold(s) released" in result.output, result.output


def _held_orders(db, n, start=0):
    paper = vid(db, "PAP-A4-80")
    for i in range(start, start + n):
        o = place(db, [(paper, 1)], key=f"wl-web-{i}")
        holds.place_hold(db, o, kind="credit" if i % 2 else "manual",
                         reason_code="over_limit" if i % 2 else "other", note=f"n{i}",
                         actor=Actor("agent", i, f"agent{i % 3}@marketline.example"))
    db.commit()


def test_the_worklist_filters_by_kind_reason_age_and_who_placed(agent_client, db):
    numbers = lambda html: set(re.findall(r">(SO-\d+)</a>", html))
    demo_credit = numbers(page(agent_client, "/orders/holds?kind=credit"))  # core.demo.approvals
    _held_orders(db, 4)
    everything = numbers(page(agent_client, "/orders/holds"))
    assert len(everything) >= 4
    credit = numbers(page(agent_client, "/orders/holds?kind=credit")) - demo_credit
    manual = numbers(page(agent_client, "/orders/holds?reason=other"))
    assert len(credit) == 2 and len(manual) == 2 and not credit & manual
    assert numbers(page(agent_client, "/orders/holds?placed_before=2000-01-01")) == set()
    by_one = numbers(page(agent_client, "/orders/holds?placed_by=agent1%40marketline.example"))
    assert len(by_one) == 1
    html = agent_client.get("/orders/holds?kind=credit", headers={"HX-Request": "true"}
                            ).get_data(as_text=True)
    assert "<h1>" not in html and len(numbers(html) - demo_credit) == 2  # the results only


def test_the_worklist_costs_the_same_queries_for_1_and_15_held_orders(agent_client, db,
                                                                      connection):
    _held_orders(db, 1)
    agent_client.get("/orders/holds")  # warm-up: anything cached per process
    with QueryCounter(connection) as one:
        assert agent_client.get("/orders/holds").status_code == 200
    _held_orders(db, 14, start=1)
    with QueryCounter(connection) as fifteen:
        html = page(agent_client, "/orders/holds")
    assert html.count("/orders/SO-") >= 15
    assert one.count == fifteen.count


def test_cancelling_with_a_reason_releases_stock_and_records_the_agent(agent_client, db, order):
    paper = vid(db, "PAP-A4-80")
    before = db.scalar(select(StockLevel.reserved).where(StockLevel.variant_id == paper))
    response = post(agent_client, f"/orders/{order.number}/cancel",
                    {"reason_code": "customer_request", "note": "Ordered twice",
                     "confirmed": "y"}, order.number, "cancel")
    assert response.status_code == 303, response.get_data(as_text=True)
    db.expire_all()
    cancelled = db.get(Order, order.id)
    assert cancelled.status == "cancelled"
    assert cancelled.cancel_reason == "Customer asked to cancel: Ordered twice"
    after = db.scalar(select(StockLevel.reserved).where(StockLevel.variant_id == paper))
    assert after == before - 2
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "order.cancelled",
                                               AuditEvent.subject_id == str(order.id)))
    assert event.actor_label == "agent@marketline.example"
    # without a reason nothing happens
    again = place(db, [(paper, 1)], key="console-2")
    db.commit()
    response = post(agent_client, f"/orders/{again.number}/cancel", {"reason_code": ""},
                    again.number, "cancel")
    assert "Choose why the order is cancelled" in response.get_data(as_text=True)
    db.expire_all()
    assert db.get(Order, again.id).status == "pending_payment"


def test_cancelling_asks_once_a_danger_button_with_a_box_to_tick_without_javascript(
        agent_client, db, order):
    html = page(agent_client, f"/orders/{order.number}")
    block = html[html.index('id="cancel-h"'):]
    block = block[:block.index("</form>")]
    assert re.search(r'<button type="submit" class="danger" data-confirm="Cancel order '
                     rf'{order.number}\?[^"]*">Cancel order</button>', block)
    assert 'data-confirm-box' in block and 'type="checkbox"' in block
    assert '<label for="cancel-confirmed">Yes, cancel this order</label>' in block
    # without the box ticked (no JavaScript to ask), nothing is cancelled
    response = post(agent_client, f"/orders/{order.number}/cancel",
                    {"reason_code": "duplicate"}, order.number, "cancel")
    assert response.status_code == 200
    assert "Tick the box to confirm" in response.get_data(as_text=True)
    db.expire_all()
    assert db.get(Order, order.id).status != "cancelled"


def test_cancelling_voids_the_card_authorisation(agent_client, db, order, payment_gateway):
    attempt = authorise(db, order)
    db.commit()
    gateway = payment_gateway
    response = post(agent_client, f"/orders/{order.number}/cancel",
                    {"reason_code": "duplicate", "confirmed": "y"}, order.number, "cancel")
    assert response.status_code == 303
    assert gateway.cancelled == [attempt.stripe_id]
    db.expire_all()
    assert db.get(Order, order.id).payment_state == "unpaid"


def test_notes_are_added_and_shown_newest_first(agent_client, db, order):
    for text in ("Called the customer", "Customer called back"):
        response = post(agent_client, f"/orders/{order.number}/notes", {"text": text},
                        order.number, "note")
        assert response.status_code == 303
    notes = db.scalars(select(OrderNote).where(OrderNote.order_id == order.id)).all()
    assert {n.author for n in notes} == {"agent@marketline.example"}
    html = page(agent_client, f"/orders/{order.number}")
    assert html.index("Customer called back") < html.index("Called the customer")
    response = post(agent_client, f"/orders/{order.number}/notes", {"text": ""}, order.number,
                    "note")
    assert "Write the note first" in response.get_data(as_text=True)


def test_the_confirmation_is_sent_again_and_audited(agent_client, db, order, smtp_sink):
    response = post(agent_client, f"/orders/{order.number}/confirmation", {}, order.number,
                    "resend")
    assert response.status_code == 303
    message = smtp_sink.wait_for(order.email)
    assert order.number in message["Subject"]
    body = text_of(message)
    assert f"Thank you for your order {order.number}" in body and "PAP-A4-80" in body
    assert db.scalar(select(AuditEvent.actor_label).where(
        AuditEvent.action == "order.confirmation_resent",
        AuditEvent.subject_id == str(order.id))) == "agent@marketline.example"


def test_changing_lines_from_the_page_re_reserves_and_voids_a_short_authorisation(
        agent_client, db, order, payment_gateway):
    attempt = authorise(db, order)
    db.commit()
    gateway = payment_gateway
    paper_line, pen_line = order.lines
    response = post(agent_client, f"/orders/{order.number}/lines",
                    {f"qty-{paper_line.id}": "5", f"remove-{pen_line.id}": "y",
                     "add_sku": "PAP-A4-80-BOX", "add_quantity": "2"}, order.number, "lines")
    assert response.status_code == 303, response.get_data(as_text=True)
    db.expire_all()
    changed = db.get(Order, order.id)
    assert [(l.sku, l.quantity) for l in changed.lines] == [("PAP-A4-80", 5), ("PAP-A4-80-BOX", 2)]
    assert gateway.cancelled == [attempt.stripe_id]
    assert db.get(PaymentAttempt, attempt.id).status == "cancelled"
    assert changed.payment_state == "unpaid"
    assert [(h.kind, h.reason_code) for h in changed.active_holds] == [
        ("payment_review", "reauthorisation_needed")]
    html = page(agent_client, f"/orders/{order.number}")
    assert "Lines changed" in html and "voided" in html


def test_a_short_line_change_is_refused_with_a_message(agent_client, db, order):
    paper_line = order.lines[0]
    response = post(agent_client, f"/orders/{order.number}/lines",
                    {f"qty-{paper_line.id}": "9999"}, order.number, "lines")
    assert response.status_code == 200
    assert "Not enough stock for PAP-A4-80" in response.get_data(as_text=True)
    db.expire_all()
    assert db.get(Order, order.id).lines[0].quantity == 2


@pytest.mark.parametrize("action", ["holds", "notes", "cancel", "confirmation", "lines"])
def test_every_action_needs_the_csrf_token(agent_client, db, order, action):
    response = agent_client.post(f"/orders/{order.number}/{action}",
                                 data={"text": "x", "reason_code": "duplicate",
                                       "kind": "manual"})
    assert response.status_code == 400
    db.expire_all()
    assert db.get(Order, order.id).status == "pending_payment"
    assert db.scalar(select(OrderNote).where(OrderNote.order_id == order.id)) is None


def test_a_customers_storefront_session_cannot_reach_the_order_pages(client, console_app, db,
                                                                    order):
    hold = hold_on(db, order, "manual", "other")
    assert sign_in(client, "shopper@example.com", "demo-pass-1").status_code == 303
    console = console_app.test_client()
    console.set_cookie("ml_console", client.get_cookie("ml_shop").value)
    for path in ("/orders/holds", f"/orders/{order.number}"):
        response = console.get(path)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    response = console.post(f"/orders/{order.number}/holds/{hold.id}/release")
    assert response.status_code in (302, 400)  # no CSRF token of this app, and no agent
    db.expire_all()
    assert db.get(OrderHold, hold.id).released_at is None


def test_the_catalog_role_cannot_open_the_order_pages(console_app, order):
    from tests.conftest import agent_client_for
    client = agent_client_for(console_app, "catalog@marketline.example")
    assert client.get(f"/orders/{order.number}").status_code == 403
    assert client.get("/orders/holds").status_code == 403


def test_releasing_a_released_hold_says_so_and_an_unknown_hold_is_404(supervisor_client, db,
                                                                       order):
    hold = hold_on(db, order, "manual", "other")
    path = f"/orders/{order.number}/holds/{hold.id}/release"
    assert post(supervisor_client, path, {}, order.number, f"release-{hold.id}").status_code == 303
    again = post(supervisor_client, path, {}, order.number, f"release-{hold.id}")
    assert "already released by supervisor@marketline.example" in again.get_data(as_text=True)
    missing = post(supervisor_client, f"/orders/{order.number}/holds/999999/release", {},
                   order.number, "release-999999")
    assert missing.status_code == 404
