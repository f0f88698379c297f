"""Fulfilment: release rules, the pick list, shipping in full and in part (stock, order
lines, statuses, backorders), shipment states, carriers and tracking links."""
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from core import clock, events
from core.audit import Actor, AuditEvent
from core.billing.models import Invoice
from core.fulfilment import carriers, queries, services, states
from core.fulfilment.models import Shipment
from core.fulfilment.services import FulfilmentError, NotReleasable
from core.inventory import services as inventory
from core.inventory.models import StockLevel
from core.orders import holds
from core.orders import states as order_states
from core.orders.models import Order
from core.payments import capture
from core.workflows import shipping
from tests.factories import StockLevelFactory, VariantFactory
from tests.helpers import QueryCounter
from tests.unit.test_order_maintenance import authorise
from tests.unit.test_orders import place, vid

WAREHOUSE = Actor("agent", 7, "wanda@marketline.example")


def confirmed(db, lines, key, *, pay="on_account"):
    """A confirmed order: on account, card authorised ("card"), or card unpaid ("unpaid")."""
    order = place(db, lines, key=key)
    if pay == "card":
        authorise(db, order)
    else:
        order_states.move(order, "confirmed")
        order.payment_method = "on_account" if pay == "on_account" else "card"
        order.payment_state = "on_account" if pay == "on_account" else "unpaid"
    db.flush()
    return order


def released(db, lines, key, pay="on_account"):
    order = confirmed(db, lines, key, pay=pay)
    services.release_order(db, order, actor=WAREHOUSE)
    return order


def stock(db, variant_id) -> tuple[int, int]:
    db.expire_all()
    level = db.scalar(select(StockLevel).where(StockLevel.variant_id == variant_id))
    return level.on_hand, level.reserved


@pytest.fixture
def five(db):
    """An on-account order of 5 units of an item with 8 on hand, released."""
    variant = VariantFactory(price=Decimal("10.00"))
    StockLevelFactory(variant=variant, on_hand=8)
    return released(db, [(variant.id, 5)], key="five"), variant.id


# -- release --------------------------------------------------------------------------------


@pytest.mark.parametrize("pay", ["on_account", "card"])
def test_release_sends_a_confirmed_secured_order_to_the_warehouse_and_audits_it(db, pay):
    order = confirmed(db, [(vid(db, "PAP-A4-80"), 1)], key=f"rel-{pay}", pay=pay)
    services.release_order(db, order, actor=WAREHOUSE)
    assert order.status == "in_fulfilment" and order.released_at is not None
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "order.released",
                                               AuditEvent.subject_id == str(order.id)))
    assert event.actor_label == WAREHOUSE.label


def test_an_order_on_hold_is_not_released(db):
    order = confirmed(db, [(vid(db, "PAP-A4-80"), 1)], key="rel-hold")
    holds.place_hold(db, order, kind="credit", reason_code="over_limit", note="",
                     actor=WAREHOUSE)
    with pytest.raises(NotReleasable, match="on hold .*Credit: Over the credit limit"):
        services.release_order(db, order, actor=WAREHOUSE)
    assert order.status == "confirmed" and order.released_at is None


def test_an_unpaid_card_order_is_not_released(db):
    order = confirmed(db, [(vid(db, "PAP-A4-80"), 1)], key="rel-unpaid", pay="unpaid")
    with pytest.raises(NotReleasable, match="not paid"):
        services.release_order(db, order, actor=WAREHOUSE)
    assert order.status == "confirmed"


def test_an_order_awaiting_payment_or_already_released_is_not_released(db):
    waiting = place(db, [(vid(db, "PAP-A4-80"), 1)], key="rel-waiting")
    with pytest.raises(NotReleasable, match="awaiting payment; only a confirmed order"):
        services.release_order(db, waiting, actor=WAREHOUSE)
    order = released(db, [(vid(db, "PAP-A4-80"), 1)], key="rel-twice")
    with pytest.raises(NotReleasable, match="being prepared"):
        services.release_order(db, order, actor=WAREHOUSE)


def test_a_batch_releases_what_it_can_and_reports_the_rest(db):
    paper = vid(db, "PAP-A4-80")
    good = confirmed(db, [(paper, 1)], key="batch-good")
    card = confirmed(db, [(paper, 1)], key="batch-card", pay="card")
    unpaid = confirmed(db, [(paper, 1)], key="batch-unpaid", pay="unpaid")
    held = confirmed(db, [(paper, 1)], key="batch-held")
    holds.place_hold(db, held, kind="manual", reason_code="other", note="", actor=WAREHOUSE)
    result = services.release_orders(db, [good.id, card.id, unpaid.id, held.id, 999_999],
                                     actor=WAREHOUSE)
    assert {o.id for o in result.released} == {good.id, card.id}
    refused = dict(result.refused)
    assert set(refused) == {unpaid.number, held.number, "999999"}
    assert "not paid" in refused[unpaid.number] and "on hold" in refused[held.number]
    assert (unpaid.status, held.status) == ("confirmed", "confirmed")
    with pytest.raises(NotReleasable, match="at least one"):
        services.release_orders(db, [], actor=WAREHOUSE)


# -- pick list ------------------------------------------------------------------------------


def test_pick_list_aggregates_by_sku_with_each_orders_outstanding_quantity(db, five):
    order, variant_id = five
    paper, pens = vid(db, "PAP-A4-80"), vid(db, "PEN-G2-BLU")
    other = released(db, [(paper, 2), (pens, 1)], key="pick-2")
    third = released(db, [(paper, 3)], key="pick-3")
    not_released = confirmed(db, [(paper, 4)], key="pick-4")
    services.ship(db, order, {order.lines[0].id: 3}, carrier="dhl", tracking_number="JJD1",
                  actor=WAREHOUSE)
    found = services.pick_list(db, [order.id, other.id, third.id, not_released.id])
    by_sku = {item.sku: item for item in found.items}
    assert {i.warehouse for i in found.items} == {"MAIN"}
    # In walking order: the demo's bins A-2-3 (pens) before A-10-1 (paper), then the
    # factory's item, which has no bin.
    assert [(i.sku, i.bin_location) for i in found.items] == [
        ("PEN-G2-BLU", "A-2-3"), ("PAP-A4-80", "A-10-1"), (order.lines[0].sku, "")]
    assert by_sku["PAP-A4-80"].outstanding == 5
    assert [(l.order_number, l.outstanding) for l in by_sku["PAP-A4-80"].lines] == [
        (other.number, 2), (third.number, 3)]
    assert by_sku["PEN-G2-BLU"].outstanding == 1
    shipped_sku = order.lines[0].sku
    assert (by_sku[shipped_sku].outstanding, by_sku[shipped_sku].reserved) == (2, 2)
    assert found.order_numbers == sorted([order.number, other.number, third.number])
    assert found.skipped == 1


def test_pick_list_groups_by_warehouse_so_a_picker_sees_only_their_shelves(db):
    variant = VariantFactory(price=Decimal("10.00"))
    StockLevelFactory(variant=variant, warehouse="MAIN", on_hand=2)
    StockLevelFactory(variant=variant, warehouse="HAM", on_hand=5)
    from_main = released(db, [(variant.id, 2)], key="pick-wh-main")
    from_ham = released(db, [(variant.id, 3)], key="pick-wh-ham")  # MAIN has none left
    assert [o.lines[0].warehouse for o in (from_main, from_ham)] == ["MAIN", "HAM"]
    found = services.pick_list(db, [from_main.id, from_ham.id])
    mine = [(i.warehouse, i.sku, i.to_pick, [l.order_number for l in i.lines])
            for i in found.items if i.sku == variant.sku]
    assert mine == [("HAM", variant.sku, 3, [from_ham.number]),
                    ("MAIN", variant.sku, 2, [from_main.number])]


def test_pick_list_counts_fully_backordered_lines_in_the_backorder_note(db):
    import datetime as dt
    from core.inventory.models import ExpectedArrival, Supplier
    supplier = Supplier(code="PICK-BO", name="Pick Supplier", lead_days=10)
    db.add(supplier)
    db.flush()
    variant = VariantFactory(price=Decimal("10.00"))
    variant.product.backorderable, variant.product.supplier_id = True, supplier.id
    StockLevelFactory(variant=variant, warehouse="MAIN", on_hand=1)
    db.add(ExpectedArrival(supplier_id=supplier.id, variant_id=variant.id, warehouse="MAIN",
                           quantity=10, expected_on=clock.today() + dt.timedelta(days=14)))
    db.flush()  # the backorders wait in MAIN, where the goods come
    partly = released(db, [(variant.id, 2)], key="pick-bo-partly")  # 1 reserved, 1 waits
    waits = released(db, [(variant.id, 3)], key="pick-bo-waits")  # all 3 wait
    assert (waits.lines[0].quantity_reserved, waits.lines[0].quantity_backordered) == (0, 3)
    found = services.pick_list(db, [partly.id, waits.id])
    [item] = [i for i in found.items if i.sku == variant.sku]
    assert (item.warehouse, item.to_pick, item.backordered) == ("MAIN", 1, 4)
    assert [l.order_number for l in item.picked_lines] == [partly.number]
    assert found.order_numbers == [partly.number] and found.skipped == 1


def test_pick_list_costs_one_query_for_one_order_or_many(db, connection):
    paper = vid(db, "PAP-A4-80")
    orders = [released(db, [(paper, 1)], key=f"pick-q-{i}") for i in range(6)]
    with QueryCounter(connection) as one:
        services.pick_list(db, [orders[0].id])
    with QueryCounter(connection) as six:
        assert len(services.pick_list(db, [o.id for o in orders]).items[0].lines) == 6
    assert one.count == six.count == 1


# -- shipping -------------------------------------------------------------------------------


def test_shipping_3_then_2_of_5_units(db, five):
    order, variant_id = five
    line = order.lines[0]
    assert stock(db, variant_id) == (8, 5)

    first = services.ship(db, order, {line.id: 3}, carrier="dhl",
                          tracking_number=" JJD 0001 ", actor=WAREHOUSE)
    assert (first.number, first.status, first.tracking_number) == (
        f"{order.number}-1", "shipped", "JJD0001")
    assert first.shipped_at is not None and [l.quantity for l in first.lines] == [3]
    assert (line.quantity_shipped, line.quantity_reserved) == (3, 2)
    assert stock(db, variant_id) == (5, 2)  # the backordered 2 stay reserved
    assert order.status == "partially_shipped"

    second = services.ship(db, order, {line.id: 2}, carrier="ups", tracking_number="1Z999",
                           actor=WAREHOUSE)
    assert second.number == f"{order.number}-2"
    assert (line.quantity_shipped, line.quantity_reserved) == (5, 0)
    assert stock(db, variant_id) == (3, 0)
    assert order.status == "shipped"
    actions = db.scalars(select(AuditEvent.action).where(
        AuditEvent.subject_id == str(order.id), AuditEvent.action.like("order.%shipped"))
        .order_by(AuditEvent.id)).all()
    assert actions == ["order.partially_shipped", "order.shipped"]
    invoiced = db.scalars(select(Invoice.shipment_id).where(Invoice.order_id == order.id)).all()
    assert sorted(invoiced) == [first.id, second.id]  # one invoice per shipment


def test_an_order_ships_in_full_at_once(db):
    paper, pens = vid(db, "PAP-A4-80"), vid(db, "PEN-G2-BLU")
    order = released(db, [(paper, 2), (pens, 1)], key="full")
    services.ship(db, order, {l.id: l.quantity for l in order.lines}, carrier="own",
                  tracking_number="", actor=WAREHOUSE)
    assert order.status == "shipped"
    assert all(l.quantity_shipped == l.quantity and l.quantity_reserved == 0
               for l in order.lines)


def test_over_shipping_is_refused_and_nothing_changes(db, five):
    order, variant_id = five
    line = order.lines[0]
    with pytest.raises(FulfilmentError, match="Ship from 1 to 5") as err:
        services.ship(db, order, {line.id: 6}, carrier="dhl", tracking_number="JJD1",
                      actor=WAREHOUSE)
    assert err.value.field == f"qty-{line.id}"
    services.ship(db, order, {line.id: 4}, carrier="dhl", tracking_number="JJD1",
                  actor=WAREHOUSE)
    with pytest.raises(FulfilmentError, match="Ship from 1 to 1"):
        services.ship(db, order, {line.id: 2}, carrier="dhl", tracking_number="JJD2",
                      actor=WAREHOUSE)
    assert (line.quantity_shipped, line.quantity_reserved) == (4, 1)
    assert stock(db, variant_id) == (4, 1)
    assert db.scalar(select(func.count()).select_from(Shipment)
                     .where(Shipment.order_id == order.id)) == 1


@pytest.mark.parametrize("quantities, carrier, tracking, field, message", [
    ("none", "dhl", "JJD1", None, "at least one line"),
    ("zero", "dhl", "JJD1", None, "at least one line"),
    ("negative", "dhl", "JJD1", "qty", "Ship from 1 to 5"),
    ("foreign", "dhl", "JJD1", None, "not on order"),
    ("one", "pigeon", "JJD1", "carrier", "carrier from the list"),
    ("one", "dhl", "", "tracking_number", "Enter the DHL tracking number"),
    ("one", "gls", "abc<script>", "tracking_number", "letters, digits or hyphens"),
    ("one", "own", "X123", "tracking_number", "no tracking numbers"),
])
def test_a_shipment_needs_quantities_a_listed_carrier_and_its_tracking_number(
        db, five, quantities, carrier, tracking, field, message):
    order, _ = five
    line_id = order.lines[0].id
    given_quantities = {"none": {}, "zero": {line_id: 0}, "negative": {line_id: -1},
                        "foreign": {999_999: 1}, "one": {line_id: 1}}[quantities]
    with pytest.raises(FulfilmentError, match=message) as err:
        services.ship(db, order, given_quantities, carrier=carrier, tracking_number=tracking,
                      actor=WAREHOUSE)
    assert err.value.field == (f"qty-{line_id}" if field == "qty" else field)
    assert order.status == "in_fulfilment"


def test_an_order_not_released_or_held_after_release_does_not_ship(db, five):
    order, _ = five
    holds.place_hold(db, order, kind="manual", reason_code="address_check", note="",
                     actor=WAREHOUSE)
    with pytest.raises(FulfilmentError, match="on hold"):
        services.ship(db, order, {order.lines[0].id: 1}, carrier="dhl",
                      tracking_number="JJD1", actor=WAREHOUSE)
    waiting = confirmed(db, [(vid(db, "PAP-A4-80"), 1)], key="not-released")
    with pytest.raises(FulfilmentError, match="only an order released"):
        services.ship(db, waiting, {waiting.lines[0].id: 1}, carrier="dhl",
                      tracking_number="JJD1", actor=WAREHOUSE)


def test_stock_records_short_of_the_reservation_refuse_the_shipment(db, five):
    order, variant_id = five
    level = db.scalar(select(StockLevel).where(StockLevel.variant_id == variant_id))
    level.reserved = 1  # someone corrected the stock by hand
    db.flush()
    with pytest.raises(inventory.StockMismatch, match="1 reserved"):
        services.ship(db, order, {order.lines[0].id: 3}, carrier="dhl",
                      tracking_number="JJD1", actor=WAREHOUSE)
    assert stock(db, variant_id) == (8, 1)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(on_hand=st.integers(0, 6), reserved=st.integers(0, 6), shipping=st.integers(1, 8),
       other=st.integers(1, 3))
def test_ship_out_never_leaves_stock_negative_and_is_all_or_nothing(db, on_hand, reserved,
                                                                  shipping, other):
    reserved = min(reserved, on_hand)
    with db.begin_nested() as outer:
        a = StockLevelFactory(on_hand=on_hand, reserved=reserved)
        b = StockLevelFactory(on_hand=5, reserved=3)
        lines = [(a.variant_id, "MAIN", shipping), (b.variant_id, "MAIN", min(other, 3))]
        if shipping <= reserved:
            inventory.ship_out(db, lines)
            assert stock(db, a.variant_id) == (on_hand - shipping, reserved - shipping)
            assert stock(db, b.variant_id) == (5 - min(other, 3), 3 - min(other, 3))
        else:
            with pytest.raises(inventory.StockMismatch):
                inventory.ship_out(db, lines)
            assert stock(db, a.variant_id) == (on_hand, reserved)
            assert stock(db, b.variant_id) == (5, 3)  # nothing of the other line either
        outer.rollback()


# -- delivery and states --------------------------------------------------------------------


def test_a_shipped_shipment_is_marked_delivered_once(db, five):
    order, _ = five
    shipment = services.ship(db, order, {order.lines[0].id: 5}, carrier="dpd",
                             tracking_number="0123456789", actor=WAREHOUSE)
    services.mark_delivered(db, shipment, actor=WAREHOUSE)
    assert shipment.status == "delivered" and shipment.delivered_at is not None
    with pytest.raises(states.IllegalShipmentTransition, match="delivered cannot become"):
        services.mark_delivered(db, shipment, actor=WAREHOUSE)
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "order.shipment_delivered",
        AuditEvent.subject_id == str(order.id))) == 1
    assert order.status == "completed"  # all shipped, every parcel arrived


def test_an_order_completes_only_when_everything_shipped_has_arrived(db, five):
    order, _ = five
    line = order.lines[0]
    first = services.ship(db, order, {line.id: 3}, carrier="dpd", tracking_number="0123456781",
                          actor=WAREHOUSE)
    services.mark_delivered(db, first, actor=WAREHOUSE)
    assert order.status == "partially_shipped"  # 2 units still to ship
    second = services.ship(db, order, {line.id: 2}, carrier="dpd", tracking_number="0123456782",
                           actor=WAREHOUSE)
    assert order.status == "shipped"
    services.mark_delivered(db, second, actor=WAREHOUSE)
    assert order.status == "completed"


def test_the_shipment_state_table():
    class S:
        status = "created"
    s = S()
    states.move(s, "picked")
    states.move(s, "shipped")
    with pytest.raises(states.IllegalShipmentTransition):
        states.move(s, "picked")
    s.status = "created"
    states.move(s, "shipped")  # picking is optional
    with pytest.raises(states.IllegalShipmentTransition):
        states.check("delivered", "shipped")


# -- carriers and the read side ---------------------------------------------------------------


@pytest.mark.parametrize("code, number, link", [
    ("dhl", "JJD0001", "https://www.dhl.com/de-en/home/tracking/tracking-parcel.html"
                       "?submit=1&tracking-id=JJD0001"),
    ("ups", "1Z999AA1", "https://www.ups.com/track?loc=en_US&tracknum=1Z999AA1"),
    ("dpd", "0123", "https://tracking.dpd.de/status/en_US/parcel/0123"),
    ("gls", "AB-12", "https://gls-group.com/DE/en/parcel-tracking?match=AB-12"),
    ("postnl", "3SABC", "https://jouw.postnl.nl/track-and-trace/3SABC"),
    ("fedex", "7777", "https://www.fedex.com/fedextrack/?trknbr=7777"),
    ("own", "", None),
    ("unknown", "1234", None),
])
def test_tracking_links(code, number, link):
    assert carriers.tracking_link(code, number) == link


def test_tracking_link_quotes_what_it_is_given():
    assert carriers.tracking_link("dpd", "a/b?c") == \
        "https://tracking.dpd.de/status/en_US/parcel/a%2Fb%3Fc"


def test_an_orders_shipments_are_read_in_one_query_with_their_items(db, connection):
    paper, pens = vid(db, "PAP-A4-80"), vid(db, "PEN-G2-BLU")
    order = released(db, [(paper, 3), (pens, 2)], key="read")
    paper_line, pen_line = order.lines
    services.ship(db, order, {paper_line.id: 1, pen_line.id: 2}, carrier="gls",
                  tracking_number="GLS-1", actor=WAREHOUSE)
    services.ship(db, order, {paper_line.id: 2}, carrier="own", tracking_number="",
                  actor=WAREHOUSE)
    with QueryCounter(connection) as counter:
        found = queries.shipments_for_order(db, order.id)
    assert counter.count == 1
    assert [(s.number, s.carrier, s.tracking_link) for s in found] == [
        (f"{order.number}-1", "GLS", "https://gls-group.com/DE/en/parcel-tracking?match=GLS-1"),
        (f"{order.number}-2", "Our own delivery van", None)]
    assert [(i.sku, i.quantity) for i in found[0].items] == [("PAP-A4-80", 1), ("PEN-G2-BLU", 2)]


def test_worklists_list_what_is_ready_to_release_and_to_ship(db):
    paper = vid(db, "PAP-A4-80")
    ready = confirmed(db, [(paper, 1)], key="wl-ready")
    unpaid = confirmed(db, [(paper, 1)], key="wl-unpaid", pay="unpaid")
    held = confirmed(db, [(paper, 1)], key="wl-held")
    holds.place_hold(db, held, kind="manual", reason_code="other", note="", actor=WAREHOUSE)
    going = released(db, [(paper, 2)], key="wl-going")
    done = released(db, [(paper, 1)], key="wl-done")
    services.ship(db, done, {done.lines[0].id: 1}, carrier="own", tracking_number="",
                  actor=WAREHOUSE)
    release_numbers = {o.number for o, _ in queries.to_release(
        db, queries.ReleaseFilters(), per_page=1000).items}
    assert ready.number in release_numbers
    assert not {unpaid.number, held.number, going.number} & release_numbers
    ship_numbers = {o.number for o, _ in queries.to_ship(
        db, queries.ShipFilters(), per_page=1000).items}
    assert going.number in ship_numbers and done.number not in ship_numbers
    assert ready.number not in ship_numbers
    only = queries.to_ship(db, queries.ShipFilters(number=going.number[-4:]), per_page=1000)
    assert going.number in {o.number for o, _ in only.items}


def test_release_filters_agree_with_the_release_rule(db):
    """Whatever the worklist offers, release_order accepts (same rule, twice written)."""
    paper = vid(db, "PAP-A4-80")
    for i, pay in enumerate(["on_account", "card", "unpaid"]):
        confirmed(db, [(paper, 1)], key=f"agree-{i}", pay=pay)
    offered = queries.to_release(db, queries.ReleaseFilters(), per_page=1000).items
    assert offered
    for order, _ in offered:
        assert services.release_refusal(order) is None, order.number
    others = db.scalars(select(Order).where(Order.status == "confirmed",
                                            Order.id.not_in([o.id for o, _ in offered]))).all()
    for order in others:
        assert services.release_refusal(order) is not None, order.number


# -- the flow: ship and invoice, commit, collect, e-mail ---------------------------------------


class Recorder:
    def __init__(self, db):
        self.db, self.events = db, []

    def commit(self):
        """Commit, noting the e-mails the commit has sent (the events it dispatches)."""
        mails = [("mail", self.db.get(Shipment, e.shipment_id).number,
                  self.db.get(Shipment, e.shipment_id).status)
                 for e in events.pending(self.db) if isinstance(e, events.ShipmentSent)]
        self.events.append("commit")
        self.events.extend(mails)
        self.db.commit()


def test_ship_order_commits_before_collecting_and_mails_last(db, five, monkeypatch):
    order, _ = five
    db.commit()
    seen = Recorder(db)

    def collect(session, gateway, invoice_id, *, actor, commit):
        seen.events.append(("collect", session.in_transaction(),
                            db.get(Invoice, invoice_id).shipment_id is not None))
        return capture.CollectOutcome("captured")

    monkeypatch.setattr(capture, "collect_invoice", collect)
    outcome = shipping.ship_order(db, object(), order.id, {order.lines[0].id: 2}, carrier="dhl",
                                  tracking_number="JJD1", actor=WAREHOUSE, commit=seen.commit)
    assert seen.events == ["commit", ("collect", False, True),
                           "commit", ("mail", f"{order.number}-1", "shipped")]
    assert outcome.invoice.shipment_id == outcome.shipment.id and outcome.payment_problem == ""


def test_an_on_account_shipment_is_left_for_the_customer_to_pay(db, five):
    order, _ = five
    db.commit()
    seen = Recorder(db)
    outcome = shipping.ship_order(db, object(), order.id, {order.lines[0].id: 5}, carrier="own",
                                  tracking_number="", actor=WAREHOUSE, commit=seen.commit)
    assert outcome.collection.status == "on_account" and outcome.payment_problem == ""
    assert seen.events[-1] == ("mail", f"{order.number}-1", "shipped")


def test_a_collection_that_breaks_keeps_the_shipment_and_still_mails(db, five, monkeypatch):
    order, _ = five
    db.commit()
    seen = Recorder(db)

    def broken(*args, **kwargs):
        raise RuntimeError("socket closed")

    monkeypatch.setattr(capture, "collect_invoice", broken)
    outcome = shipping.ship_order(db, object(), order.id, {order.lines[0].id: 1}, carrier="own",
                                  tracking_number="", actor=WAREHOUSE, commit=seen.commit)
    assert "billing will follow it up" in outcome.payment_problem
    db.expire_all()
    assert db.get(Order, order.id).status == "partially_shipped"
    assert seen.events[-1][0] == "mail"


def test_a_refused_shipment_commits_nothing_and_mails_nobody(db, five):
    order, _ = five
    db.commit()
    seen = Recorder(db)
    with pytest.raises(FulfilmentError):
        shipping.ship_order(db, object(), order.id, {order.lines[0].id: 9}, carrier="own",
                            tracking_number="", actor=WAREHOUSE, commit=seen.commit)
    assert seen.events == []
