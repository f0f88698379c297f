"""Discount limits after placement: one check for phone placement and line changes, by
percent and by the money given away (security review H4)."""
from decimal import Decimal

import pytest

from core.audit import Actor
from core.config import load_settings
from core.orders import discounts, holds
from core.pricing.engine import round_money
from core.workflows import order_maintenance as maintenance
from core.workflows import phone_orders as phone
from core.workflows.order_maintenance import LineChanges
from tests.fakes import FakeGateway
from tests.factories import AgentFactory
from tests.unit.test_order_maintenance import authorise
from tests.unit.test_phone_orders import LIMITS, agent, customer, place, vid

SUPERVISOR = "supervisor@marketline.example"
PEN_AT_25 = phone.PriceOverride("volume_deal", percent=Decimal(25))


def authority_of(db, email="agent@marketline.example") -> discounts.Authority:
    return discounts.authority(agent(db, email), LIMITS)


def actor_of(db, email="agent@marketline.example") -> Actor:
    who = agent(db, email)
    return Actor("agent", who.id, who.email)


def approval_holds(order):
    return [h for h in order.active_holds if (h.kind, h.reason_code) == (
        discounts.KIND, discounts.REASON)]


def test_the_amount_limits_come_from_settings_and_admin_has_none(db):
    limits = discounts.DiscountLimits.from_settings(load_settings(environ={
        "DISCOUNT_AMOUNT_LIMIT_AGENT": "100", "DISCOUNT_AMOUNT_LIMIT_SUPERVISOR": "900"}))
    assert (limits.agent_amount, limits.supervisor_amount) == (100, 900)
    assert discounts.amount_limit(agent(db), limits) == 100
    assert discounts.amount_limit(agent(db, SUPERVISOR), limits) == 900
    assert discounts.amount_limit(AgentFactory(roles_text="admin"), limits) is None
    assert discounts.amount_limit(AgentFactory(roles_text="billing"), limits) == 0


def test_money_given_away_counts_overridden_lines_only():
    assert discounts.given_away([(Decimal("10.00"), Decimal("7.50"), 4), (None, Decimal("3"), 9),
                                 (Decimal("5.00"), Decimal("6.00"), 2)]) == Decimal("10.00")


def test_an_approved_discount_is_judged_again_when_its_line_grows_even_if_the_total_falls(db):
    shopper = customer(db, "shopper")
    pens, machine = vid(db, "PEN-G2-BLU"), vid(db, "COF-RKT-R58")
    order = place(db, shopper, [(pens, 2), (machine, 1)], by=agent(db, SUPERVISOR),
                  overrides={pens: PEN_AT_25}, key="grow-1")
    assert approval_holds(order) == []  # 25 % is within a supervisor's 30 %
    attempt = authorise(db, order)
    pen_line, machine_line = order.lines
    outcome = maintenance.change_lines(
        db, order, actor=actor_of(db), authority=authority_of(db), gateway=FakeGateway(),
        changes=LineChanges(quantities={pen_line.id: 5}, remove=frozenset({machine_line.id})))
    assert outcome.total_after < outcome.total_before and outcome.authorisation == "kept"
    assert attempt.status == "authorised"
    [hold] = approval_holds(order)
    assert outcome.approval is hold and hold.placed_by == "agent@marketline.example"
    assert "PEN-G2-BLU 25.0 %" in hold.note


def test_adding_more_of_an_overridden_sku_counts_as_growing_its_line(db):
    pens = vid(db, "PEN-G2-BLU")
    order = place(db, customer(db, "acme"), [(pens, 1)], by=agent(db, SUPERVISOR),
                  overrides={pens: PEN_AT_25}, payment="on_account", key="grow-2")
    maintenance.change_lines(db, order, actor=actor_of(db), authority=authority_of(db),
                             changes=LineChanges(add=(("PEN-G2-BLU", 2),)))
    assert [(l.sku, l.quantity) for l in order.lines] == [("PEN-G2-BLU", 3)]
    assert len(approval_holds(order)) == 1


def test_a_supervisor_who_raises_the_quantity_cannot_approve_it_alone(db):
    pens = vid(db, "PEN-G2-BLU")
    by = agent(db, SUPERVISOR)
    order = place(db, customer(db, "acme"), [(pens, 1)], payment="on_account", key="grow-3",
                  overrides={pens: phone.PriceOverride("volume_deal", percent=Decimal(50))})
    [first] = approval_holds(order)
    holds.release_hold(db, first, actor=actor_of(db, SUPERVISOR), note="ok",
                       roles=by.roles)
    maintenance.change_lines(db, order, actor=actor_of(db, SUPERVISOR),
                             authority=authority_of(db, SUPERVISOR),
                             changes=LineChanges(quantities={order.lines[0].id: 4}))
    [again] = approval_holds(order)
    assert again.placed_by == SUPERVISOR
    with pytest.raises(holds.HoldNotAllowed, match="another supervisor"):
        holds.release_hold(db, again, actor=actor_of(db, SUPERVISOR), note="", roles=by.roles)


def test_changes_within_the_limits_or_to_lines_without_overrides_need_no_approval(db):
    paper, pens = vid(db, "PAP-A4-80"), vid(db, "PEN-G2-BLU")
    order = place(db, customer(db, "acme"), [(paper, 2), (pens, 1)], payment="on_account",
                  overrides={pens: phone.PriceOverride("loyalty", percent=Decimal(5))},
                  key="grow-4")
    paper_line, pen_line = order.lines
    outcome = maintenance.change_lines(
        db, order, actor=actor_of(db), authority=authority_of(db),
        changes=LineChanges(quantities={paper_line.id: 40, pen_line.id: 3}))
    assert outcome.approval is None and approval_holds(order) == []


def test_without_an_authority_any_growth_of_an_agents_price_needs_approval(db):
    pens = vid(db, "PEN-G2-BLU")
    order = place(db, customer(db, "acme"), [(pens, 1)], payment="on_account", key="grow-5",
                  overrides={pens: phone.PriceOverride("loyalty", percent=Decimal(5))})
    maintenance.change_lines(db, order, actor=actor_of(db),
                             changes=LineChanges(quantities={order.lines[0].id: 2}))
    assert len(approval_holds(order)) == 1


def test_the_entry_screen_flags_an_amount_beyond_the_agents_limit(db):
    machine = vid(db, "COF-RKT-R58")
    entry = phone.price_entry(db, customer(db, "shopper"), [(machine, 2)],
                              {machine: phone.PriceOverride("loyalty", percent=Decimal(8))}, (),
                              agent=agent(db), limits=LIMITS)
    assert not entry.lines[0].over_limit and entry.over_amount and entry.needs_approval
    expected = 2 * (entry.lines[0].list_unit - round_money(
        entry.lines[0].list_unit * Decimal("0.92"), "EUR"))
    assert entry.given_away == expected and entry.amount_limit == 250
