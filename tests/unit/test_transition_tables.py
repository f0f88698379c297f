"""Every status dimension has one transition table, and nothing changes a status but the
transition functions (DESIGN.md principle 4; architecture review 7.2 item 1).

1. Every registered machine (core.statemachine.MACHINES) is walked: for every pair of its
   enum's values, a move succeeds if and only if the table lists it, and otherwise raises
   the machine's domain error and leaves the object as it was. Every column named status,
   payment_state or state in the SQLAlchemy metadata is governed by a machine, and its
   default is one of the machine's values.
2. An AST scan of core/, storefront/ and callcenter/ (every .py file under them, whatever
   it is called or wherever it moves) finds every write of a status:
   - `x.status = ...`, `x.payment_state = ...`, `x.state = ...` (also in tuple targets and
     augmented or annotated assignments), and `setattr(x, "status", ...)` with the name
     written out: allowed nowhere (the one write is `setattr` inside
     core.statemachine.Machine.move, whose attribute is a parameter);
   - `.values(status=...)`, `.values(**{"status": ...})` and `.values({"status": ...})`,
     i.e. bulk UPDATEs and INSERTs: allowed nowhere;
   - `<MACHINE>.move(...)` on a machine (ORDER, PAYMENT, ...): only inside the transition
     functions of a `states.py` module (TRANSITION_FUNCTIONS, by qualified name);
   - constructors of a model with a status column (`Order(status=...)`): the initial
     value must be named (an enum member or an expression), never a string literal.
   Not covered: `setattr` with a computed attribute name (the generic form editors in
   catalog and customers, whose models have no status), and holds, whose state is
   `released_at` (release_hold is their one transition; HOLD's table is checked there).
3. A move given an audit entry (audit.Entry) records exactly that event, with the moved
   object as its subject, after the status changed; an illegal move records nothing (the
   table is checked first). Every transition function passes the entry on.
"""
from __future__ import annotations

import ast
import datetime as dt
import importlib
import itertools
import pkgutil
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import core
from core import audit
from core.db import Base
from core.errors import DomainError
from core.statemachine import MACHINES, Machine

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("core", "storefront", "callcenter")
STATUS_ATTRIBUTES = frozenset({"status", "payment_state", "state"})

# The transition functions: the only callers of a machine's move, by module and qualified
# name. The module is found by file name (states.py), so a package may move without
# changing this list.
TRANSITION_FUNCTIONS = frozenset({
    "core.orders.states.move", "core.orders.states.move_payment",
    "core.fulfilment.states.move",
    "core.payments.states.move_attempt",
    "core.billing.states.restate", "core.billing.states.move_refund",
    "core.billing.states.move_request",
    "core.returns.states.move_return",
    "core.quotes.states.move_quote",
    "core.inventory.states.move_arrival",
    "core.purchasing.states.move_purchase_order",
    "core.credit.states.move_promise", "core.credit.states.move_dispute",
    "core.credit.states.move_task", "core.credit.states.move_run",
    "core.credit.states.move_letter",
})


def _import_everything() -> None:
    """Every states module, holds (HOLD) and every models module, so MACHINES and the
    metadata are complete."""
    for info in pkgutil.walk_packages(core.__path__, "core."):
        if info.name.rsplit(".", 1)[-1] in ("states", "models", "holds"):
            importlib.import_module(info.name)


_import_everything()


class Thing:
    """Something with a status (and a payment state) for a machine to move."""

    def __init__(self, value):
        self.status = self.payment_state = self.state = value


# -- 1. the tables ---------------------------------------------------------------------------

def test_the_machines_are_registered():
    assert {"order", "order_payment", "shipment", "invoice", "refund", "credit_request",
            "payment_attempt", "hold", "gift_card"} <= set(MACHINES)


@pytest.mark.parametrize("machine", MACHINES.values(), ids=list(MACHINES))
def test_every_move_succeeds_exactly_when_the_table_lists_it(machine: Machine):
    assert issubclass(machine.error, DomainError)
    assert machine.__doc__ and machine.__doc__.strip(), "say why the table is as it is"
    values = list(machine.states)
    assert set(machine.transitions) == set(values), "every state has a row, final ones too"
    assert set(machine.labels) >= set(values), "every state has a label"
    for current, target in itertools.product(values, repeat=2):
        thing = Thing(current.value)
        if target in machine.transitions[current]:
            assert machine.move(thing, target.value) == current
            assert thing.status == target and type(thing.status) is machine.states
            machine.check(current.value, target.value)
        else:
            with pytest.raises(machine.error, match="cannot become"):
                machine.move(thing, target.value)
            assert thing.status == current.value  # unchanged
            with pytest.raises(machine.error):
                machine.check(current.value, target.value)


def _status_columns():
    return sorted(f"{table.name}.{column.name}" for table in Base.metadata.tables.values()
                  for column in table.columns if column.name in STATUS_ATTRIBUTES)


def test_every_status_column_has_a_machine_and_starts_in_it():
    governed = {column: machine for machine in MACHINES.values() for column in machine.columns}
    columns = _status_columns()
    assert columns, "the metadata has status columns"
    assert [c for c in columns if c not in governed] == []
    assert [c for c in governed if c not in columns] == []  # no machine names a lost column
    for name in columns:
        table, column = name.split(".")
        default = Base.metadata.tables[table].columns[column].default
        assert default is not None and default.is_scalar, f"{name} has a default"
        assert default.arg in set(governed[name].states), f"{name} starts in its machine"


# -- the audit event of a move -------------------------------------------------------------------

class Recorder:
    """A session that keeps what is added to it (unit tests have no database)."""

    def __init__(self):
        self.added = []

    def add(self, obj):
        self.added.append(obj)


class Document(Thing):
    __tablename__ = "documents"

    def __init__(self, value):
        super().__init__(value)
        self.id = 7


def _allowed_and_not(machine: Machine):
    pairs = list(itertools.product(machine.states, repeat=2))
    return (next((c, t) for c, t in pairs if t in machine.transitions[c]),
            next((c, t) for c, t in pairs if t not in machine.transitions[c]))


@pytest.mark.parametrize("machine", MACHINES.values(), ids=list(MACHINES))
def test_a_move_records_its_audit_event_on_the_moved_object(machine: Machine):
    (current, target), _ = _allowed_and_not(machine)
    session, thing, actor = Recorder(), Document(current.value), audit.Actor("agent", 3, "Ann")
    entry = audit.Entry(session, "thing.moved", actor, "backoffice", {"why": "because"})
    assert machine.move(thing, target.value, audit=entry) == current
    [event] = session.added
    assert isinstance(event, audit.AuditEvent) and thing.status == target
    assert (event.action, event.subject_type, event.subject_id) == ("thing.moved", "documents", "7")
    assert (event.actor_kind, event.actor_id, event.actor_label) == ("agent", 3, "Ann")
    assert (event.channel, event.data) == ("backoffice", {"why": "because"})


@pytest.mark.parametrize("machine", MACHINES.values(), ids=list(MACHINES))
def test_an_illegal_move_records_nothing(machine: Machine):
    _, (current, target) = _allowed_and_not(machine)
    session, thing = Recorder(), Document(current.value)
    with pytest.raises(machine.error):
        machine.move(thing, target.value,
                     audit=audit.Entry(session, "thing.moved", audit.Actor.system(), "system"))
    assert session.added == [] and thing.status == current.value


def test_the_transition_functions_pass_the_audit_event_on():
    from core.billing import states as billing
    from core.fulfilment import states as fulfilment
    from core.orders import states as orders
    from core.payments import states as payments
    moves = [(orders.move, "draft", "confirmed"), (orders.move_payment, "unpaid", "authorised"),
             (fulfilment.move, "created", "shipped"),
             (payments.move_attempt, "creating", "authorised"),
             (billing.move_refund, "pending", "succeeded"),
             (billing.move_request, "requested", "approved")]
    for move, current, target in moves:
        session, thing = Recorder(), Document(current)
        move(thing, target, audit=audit.Entry(session, "thing.moved", audit.Actor.system(),
                                              "system"))
        assert [(e.action, e.subject_id) for e in session.added] == [("thing.moved", "7")], move
    session, invoice = Recorder(), Document("open")
    invoice.amount_open, invoice.gross_total = 0, 10
    billing.restate(invoice, audit=audit.Entry(session, "invoice.paid", audit.Actor.system(),
                                               "system"))
    assert invoice.status == "paid" and [e.action for e in session.added] == ["invoice.paid"]
    billing.restate(invoice, audit=audit.Entry(session, "invoice.paid", audit.Actor.system(),
                                               "system"))  # nothing moves: nothing recorded
    assert len(session.added) == 1


# -- Hypothesis: random walks stay inside the table ---------------------------------------------

@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_random_walks_never_leave_the_table(data):
    machine = data.draw(st.sampled_from(list(MACHINES.values())), label="machine")
    values = list(machine.states)
    thing = Thing(data.draw(st.sampled_from(values), label="start").value)
    for target in data.draw(st.lists(st.sampled_from(values), max_size=12), label="moves"):
        before = thing.status
        try:
            machine.move(thing, target)
        except machine.error:
            assert target not in machine.transitions[before] and thing.status == before
        else:
            assert target in machine.transitions[before] and thing.status == target
        assert thing.status in set(values)


# -- 2. nothing else writes a status ------------------------------------------------------------

def _model_classes_with_status() -> frozenset[str]:
    return frozenset(mapper.class_.__name__ for mapper in Base.registry.mappers
                     if STATUS_ATTRIBUTES & set(mapper.columns.keys()))


def _machine_names() -> frozenset[str]:
    """The names the states modules bind machines to (ORDER, PAYMENT, ...)."""
    names = set()
    for path in (ROOT / "core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                    and isinstance(node.value.func, ast.Name) and node.value.func.id == "Machine"):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return frozenset(names)


class _Scanner(ast.NodeVisitor):
    def __init__(self, module: str, *, models: frozenset[str], machines: frozenset[str]):
        self.module, self.models, self.machines = module, models, machines
        self.scope: list[str] = []
        self.found: list[tuple[int, str]] = []

    def _where(self) -> str:
        return ".".join([self.module, *self.scope])

    def _scoped(self, node):
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scoped

    def _targets(self, node, targets):
        for target in targets:
            for element in ast.walk(target):
                if (isinstance(element, ast.Attribute) and element.attr in STATUS_ATTRIBUTES
                        and isinstance(element.ctx, ast.Store)):
                    self.found.append((node.lineno, f"assigns .{element.attr}"))
        self.generic_visit(node)

    def visit_Assign(self, node):
        self._targets(node, node.targets)

    def visit_AugAssign(self, node):
        self._targets(node, [node.target])

    def visit_AnnAssign(self, node):
        self._targets(node, [node.target])

    def visit_Call(self, node):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if (name == "setattr" and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
                and node.args[1].value in STATUS_ATTRIBUTES):
            self.found.append((node.lineno, f"setattr .{node.args[1].value}"))
        if isinstance(func, ast.Attribute) and func.attr == "values":
            keys = {k.arg for k in node.keywords if k.arg}
            for mapping in [k.value for k in node.keywords if k.arg is None] + list(node.args):
                if isinstance(mapping, ast.Dict):
                    keys |= {k.value for k in mapping.keys if isinstance(k, ast.Constant)}
            for key in sorted(keys & STATUS_ATTRIBUTES):
                self.found.append((node.lineno, f"bulk .values({key}=...)"))
        if name in self.models:
            for keyword in node.keywords:
                if keyword.arg in STATUS_ATTRIBUTES and any(
                        isinstance(n, ast.Constant) and isinstance(n.value, str)
                        for n in ast.walk(keyword.value)):
                    self.found.append((node.lineno, f"{name}({keyword.arg}='...') literal"))
        if isinstance(func, ast.Attribute) and func.attr == "move":
            receiver = func.value
            receiver_name = (receiver.id if isinstance(receiver, ast.Name)
                             else getattr(receiver, "attr", None))
            if receiver_name in self.machines and self._where() not in TRANSITION_FUNCTIONS:
                self.found.append((node.lineno, f"{receiver_name}.move outside a transition "
                                                f"function"))
        self.generic_visit(node)


def scan(source: str, module: str, *, models: frozenset[str],
         machines: frozenset[str]) -> list[tuple[int, str]]:
    """Where `source` writes a status other than through a transition function."""
    scanner = _Scanner(module, models=models, machines=machines)
    scanner.visit(ast.parse(source))
    return scanner.found


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_code_writes_a_status_outside_the_transition_functions():
    models, machines = _model_classes_with_status(), _machine_names()
    assert {"Order", "Shipment", "Invoice", "PaymentAttempt", "Refund"} <= models
    assert {"ORDER", "PAYMENT", "SHIPMENT", "ATTEMPT", "INVOICE"} <= machines
    offences = []
    files = [p for d in SCANNED for p in sorted((ROOT / d).rglob("*.py"))]
    assert len(files) > 100
    for path in files:
        for line, what in scan(path.read_text(), _module_name(path), models=models,
                               machines=machines):
            offences.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert offences == [], ("change a status only through the transition functions of the "
                            "package's states module:\n" + "\n".join(offences))


STRAY = '''
from sqlalchemy import update
def fix(session, order, attempt, refund):
    order.payment_state = "captured"
    attempt.status, attempt.error = "failed", ""
    setattr(refund, "status", "failed")
    session.execute(update(Order).values(status="cancelled"))
    session.execute(update(Order).values({"payment_state": "unpaid"}))
    session.add(Order(number="SO-1", status="confirmed"))
    states.ORDER.move(order, "confirmed")
'''


def test_the_scan_finds_each_kind_of_stray_write():
    found = scan(STRAY, "core.orders.fix", models=frozenset({"Order"}),
                 machines=frozenset({"ORDER"}))
    assert [line for line, _ in found] == [4, 5, 6, 7, 8, 9, 10]
    in_states = scan(STRAY.replace("def fix", "def move"), "core.orders.states",
                     models=frozenset({"Order"}), machines=frozenset({"ORDER"}))
    assert [line for line, _ in in_states] == [4, 5, 6, 7, 8, 9]  # a transition function may move


# -- the gift card: only "disabled" is stored (gift_cards.active), the rest is derived ------

def _card(**values):
    from types import SimpleNamespace
    card = dict(active=True, balance=D("10.00"), expires_on=None, last4="AB12")
    card.update(values)
    return SimpleNamespace(**card)


def test_a_gift_cards_state_follows_its_flag_balance_and_expiry():
    from core.billing.states import GiftCardStatus, gift_card_status
    today = dt.date(2026, 12, 4)
    assert gift_card_status(_card(), today) is GiftCardStatus.ACTIVE
    assert gift_card_status(_card(balance=D(0)), today) is GiftCardStatus.USED
    assert gift_card_status(_card(expires_on=dt.date(2026, 12, 3)), today) is GiftCardStatus.EXPIRED
    assert gift_card_status(_card(active=False, balance=D(0)), today) is GiftCardStatus.DISABLED


def test_disabling_a_gift_card_goes_through_its_table_once():
    from core.billing.states import IllegalGiftCardTransition, disable_gift_card
    today = dt.date(2026, 12, 4)
    for card in (_card(), _card(balance=D(0)), _card(expires_on=dt.date(2020, 1, 1))):
        disable_gift_card(card, today)
        assert card.active is False
    with pytest.raises(IllegalGiftCardTransition):
        disable_gift_card(card, today)

