"""The stock journal: every command posts a movement beside its balance (core.inventory.services),
refuses bad input at the field, and random sequences keep on hand = sum of movements and
reserved = sum of reservations, never negative (Hypothesis stateful test)."""
from decimal import Decimal

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as run_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from hypothesis.stateful import run_state_machine_as_test
from sqlalchemy import func, select

from core.inventory import services as inventory
from core.inventory.models import StockLevel, StockMovement, Warehouse
from core.inventory.services import StockError
from tests.factories import VariantFactory

BY = "wes@marketline.example"


@pytest.fixture
def item(db):
    """A variant with no stock, and a second warehouse WH2 beside MAIN."""
    db.add(Warehouse(code="WH2", name="Second", position=9))
    db.flush()
    return VariantFactory().id


def level(db, vid, warehouse="MAIN"):
    db.expire_all()
    return db.scalar(select(StockLevel).where(StockLevel.variant_id == vid,
                                              StockLevel.warehouse == warehouse))


def movements(db, vid):
    return list(db.scalars(select(StockMovement).where(StockMovement.variant_id == vid)
                           .order_by(StockMovement.id)))


def test_receive_puts_units_on_hand_with_a_receipt_naming_reference_cost_and_who(db, item):
    inventory.receive(db, variant_id=item, warehouse="MAIN", quantity=12, reference="DN-1",
                      by=BY, note="pallet 3", unit_cost=Decimal("2.50"))
    assert (level(db, item).on_hand, level(db, item).reserved) == (12, 0)
    (m,) = movements(db, item)
    assert (m.kind, m.quantity, m.reserved, m.reference, m.note, m.unit_cost, m.by) == (
        "receipt", 12, 0, "DN-1", "pallet 3", Decimal("2.50"), BY)


@pytest.mark.parametrize("kwargs, field", [
    ({"quantity": 0}, "quantity"), ({"quantity": -3}, "quantity"),
    ({"quantity": 2_000_000}, "quantity"), ({"warehouse": "NOPE"}, "warehouse"),
    ({"unit_cost": Decimal("-1")}, "unit_cost")])
def test_receive_refuses_bad_input_at_the_field_and_posts_nothing(db, item, kwargs, field):
    values = dict(variant_id=item, warehouse="MAIN", quantity=5, reference="DN", by=BY)
    values.update(kwargs)
    with pytest.raises(StockError) as refused:
        inventory.receive(db, **values)
    assert refused.value.field == field
    assert movements(db, item) == []


def test_adjust_posts_the_change_with_its_reason_and_scraps_damaged_units(db, item):
    inventory.receive(db, variant_id=item, warehouse="MAIN", quantity=10, reference="R", by=BY)
    found = inventory.adjust(db, variant_id=item, warehouse="MAIN", change=2, reason="found",
                             by=BY)
    damaged = inventory.adjust(db, variant_id=item, warehouse="MAIN", change=-3,
                               reason="damaged", by=BY, note="forklift")
    assert (found.kind, found.quantity, found.reason) == ("adjustment", 2, "found")
    assert (damaged.kind, damaged.quantity, damaged.note) == ("scrap", -3, "forklift")
    assert level(db, item).on_hand == 9


@pytest.mark.parametrize("change, reason, field", [
    (0, "found", "change"), (3, "whim", "reason"), (-11, "lost", "quantity")])
def test_adjust_refuses_no_change_an_unknown_reason_and_going_below_zero(db, item, change,
                                                                        reason, field):
    inventory.receive(db, variant_id=item, warehouse="MAIN", quantity=10, reference="R", by=BY)
    with pytest.raises(StockError) as refused:
        inventory.adjust(db, variant_id=item, warehouse="MAIN", change=change, reason=reason,
                         by=BY)
    assert refused.value.field == field
    assert level(db, item).on_hand == 10


def test_adjust_cannot_take_away_units_reserved_for_orders(db, item):
    inventory.receive(db, variant_id=item, warehouse="MAIN", quantity=5, reference="R", by=BY)
    inventory.reserve(db, [(item, 4)], warehouses=["MAIN"], reference="SO-1")
    with pytest.raises(StockError, match="4 of the 5 on hand in MAIN are reserved"):
        inventory.adjust(db, variant_id=item, warehouse="MAIN", change=-2, reason="lost", by=BY)


def test_a_count_posts_the_difference_and_a_zero_difference_too(db, item):
    inventory.receive(db, variant_id=item, warehouse="MAIN", quantity=10, reference="R", by=BY)
    short = inventory.count(db, variant_id=item, warehouse="MAIN", counted=7, by=BY)
    same = inventory.count(db, variant_id=item, warehouse="MAIN", counted=7, by=BY)
    assert (short.kind, short.quantity, same.quantity) == ("count", -3, 0)
    assert level(db, item).on_hand == 7


def test_a_count_below_what_is_reserved_is_refused_at_the_field(db, item):
    inventory.receive(db, variant_id=item, warehouse="MAIN", quantity=5, reference="R", by=BY)
    inventory.reserve(db, [(item, 3)], warehouses=["MAIN"], reference="SO-1")
    with pytest.raises(StockError, match="3 units are reserved") as refused:
        inventory.count(db, variant_id=item, warehouse="MAIN", counted=2, by=BY)
    assert refused.value.field == "counted"
    with pytest.raises(StockError) as refused:
        inventory.count(db, variant_id=item, warehouse="MAIN", counted=-1, by=BY)
    assert refused.value.field == "counted"


def test_a_transfer_moves_units_out_of_one_warehouse_into_the_other(db, item):
    inventory.receive(db, variant_id=item, warehouse="MAIN", quantity=10, reference="R", by=BY)
    out, into = inventory.transfer(db, variant_id=item, source="MAIN", target="WH2",
                                   quantity=4, by=BY)
    assert (out.kind, out.quantity, into.kind, into.quantity) == (
        "transfer_out", -4, "transfer_in", 4)
    assert out.reference == into.reference == "MAIN>WH2"
    assert (level(db, item).on_hand, level(db, item, "WH2").on_hand) == (6, 4)


@pytest.mark.parametrize("source, target, quantity, field", [
    ("MAIN", "MAIN", 1, "target"), ("NOPE", "WH2", 1, "source"), ("MAIN", "NOPE", 1, "target"),
    ("MAIN", "WH2", 0, "quantity"), ("MAIN", "WH2", 11, "quantity")])
def test_a_transfer_refuses_bad_input_at_the_field(db, item, source, target, quantity, field):
    inventory.receive(db, variant_id=item, warehouse="MAIN", quantity=10, reference="R", by=BY)
    with pytest.raises(StockError) as refused:
        inventory.transfer(db, variant_id=item, source=source, target=target,
                           quantity=quantity, by=BY)
    assert refused.value.field == field
    assert level(db, item).on_hand == 10


def test_every_command_keeps_the_row_equal_to_its_journal(db, item):
    inventory.receive(db, variant_id=item, warehouse="MAIN", quantity=10, reference="R", by=BY)
    inventory.reserve(db, [(item, 3)], warehouses=["MAIN"], reference="SO-1")
    inventory.ship_out(db, [(item, "MAIN", 2)], reference="SH-1")
    inventory.release(db, [(item, "MAIN", 1, 0)], reference="SO-1")
    inventory.transfer(db, variant_id=item, source="MAIN", target="WH2", quantity=2, by=BY)
    inventory.count(db, variant_id=item, warehouse="WH2", counted=5, by=BY)
    for warehouse in ("MAIN", "WH2"):
        row = level(db, item, warehouse)
        assert (row.on_hand, row.reserved) == inventory.journal_balance(db, item, warehouse)
    assert (level(db, item).on_hand, level(db, item, "WH2").on_hand) == (6, 5)


# -- random sequences --------------------------------------------------------------------------

WAREHOUSES = ["MAIN", "WH2"]


def test_random_sequences_keep_stock_equal_to_its_journal_and_never_negative(db):
    db.add(Warehouse(code="WH2", name="Second", position=9))
    db.flush()
    plain = VariantFactory()
    backorderable = VariantFactory()
    backorderable.product.backorderable = True
    db.flush()
    variants = [plain.id, backorderable.id]

    class Journal(RuleBasedStateMachine):
        @initialize()
        def start(self):
            self.savepoint = db.begin_nested()
            # What the books must say, per (variant, warehouse): [on hand, reserved].
            self.books = {(v, w): [0, 0] for v in variants for w in WAREHOUSES}
            self.held: list[list] = []  # [variant, warehouse, reserved, backordered]

        def teardown(self):
            self.savepoint.rollback()
            db.expire_all()

        def attempt(self, command, **kwargs):
            """Run a command in a savepoint: True when it went through, False when it
            refused (StockError), its half-done work undone."""
            step = db.begin_nested()
            try:
                answer = command(db, **kwargs)
            except StockError:
                step.rollback()
                return False, None
            step.commit()
            return True, answer

        @rule(v=st.sampled_from(variants), w=st.sampled_from(WAREHOUSES), q=st.integers(1, 20))
        def receive(self, v, w, q):
            done, _ = self.attempt(inventory.receive, variant_id=v, warehouse=w, quantity=q,
                                   reference="R", by=BY)
            assert done
            self.books[(v, w)][0] += q

        @rule(v=st.sampled_from(variants), w=st.sampled_from(WAREHOUSES),
              change=st.integers(-15, 15).filter(bool),
              reason=st.sampled_from(["lost", "found", "damaged", "correction"]))
        def adjust(self, v, w, change, reason):
            on, held = self.books[(v, w)]
            done, _ = self.attempt(inventory.adjust, variant_id=v, warehouse=w, change=change,
                                   reason=reason, by=BY)
            assert done == (on + change >= held)
            if done:
                self.books[(v, w)][0] += change

        @rule(v=st.sampled_from(variants), w=st.sampled_from(WAREHOUSES),
              counted=st.integers(0, 25))
        def count(self, v, w, counted):
            done, _ = self.attempt(inventory.count, variant_id=v, warehouse=w, counted=counted,
                                   by=BY)
            assert done == (counted >= self.books[(v, w)][1])
            if done:
                self.books[(v, w)][0] = counted

        @rule(v=st.sampled_from(variants), q=st.integers(1, 15), forward=st.booleans())
        def transfer(self, v, q, forward):
            source, target = WAREHOUSES if forward else WAREHOUSES[::-1]
            on, held = self.books[(v, source)]
            done, _ = self.attempt(inventory.transfer, variant_id=v, source=source,
                                   target=target, quantity=q, by=BY)
            assert done == (on - q >= held)
            if done:
                self.books[(v, source)][0] -= q
                self.books[(v, target)][0] += q

        @rule(v=st.sampled_from(variants), q=st.integers(1, 15))
        def reserve(self, v, q):
            done, answer = self.attempt(inventory.reserve, lines=[(v, q)],
                                        warehouses=WAREHOUSES, reference="SO", by=BY)
            free = max(on - held for on, held in (self.books[(v, w)] for w in WAREHOUSES))
            if v == plain.id:
                assert done == (free >= q)
            if done:
                r = answer[v]
                self.books[(v, r.warehouse)][1] += r.reserved
                self.held.append([v, r.warehouse, r.reserved, r.backordered])

        @rule(data=st.data())
        def release(self, data):
            if not self.held:
                return
            v, w, reserved, backordered = self.held.pop(
                data.draw(st.integers(0, len(self.held) - 1)))
            inventory.release(db, [(v, w, reserved, backordered)], reference="SO", by=BY)
            self.books[(v, w)][1] -= reserved

        @rule(data=st.data())
        def ship_out(self, data):
            holding = [h for h in self.held if h[2] > 0]
            if not holding:
                return
            h = data.draw(st.sampled_from(holding))
            q = data.draw(st.integers(1, h[2]))
            inventory.ship_out(db, [(h[0], h[1], q)], reference="SH", by=BY)
            h[2] -= q
            self.books[(h[0], h[1])][0] -= q
            self.books[(h[0], h[1])][1] -= q

        @invariant()
        def rows_equal_their_journal_and_the_books(self):
            db.expire_all()
            rows = {(l.variant_id, l.warehouse): l for l in db.scalars(
                select(StockLevel).where(StockLevel.variant_id.in_(variants)))}
            sums = {(v, w): (int(q), int(r)) for v, w, q, r in db.execute(
                select(StockMovement.variant_id, StockMovement.warehouse,
                       func.sum(StockMovement.quantity), func.sum(StockMovement.reserved))
                .where(StockMovement.variant_id.in_(variants))
                .group_by(StockMovement.variant_id, StockMovement.warehouse))}
            for key, (on, held) in self.books.items():
                row = rows.get(key)
                found = (row.on_hand, row.reserved) if row else (0, 0)
                assert found == (on, held) == sums.get(key, (0, 0))
                assert on >= held >= 0
                assert row is None or row.backordered >= 0

    run_state_machine_as_test(Journal, settings=run_settings(
        max_examples=40, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))
