"""One transition table per status dimension (DESIGN.md, "States"; principle 4).

A `Machine` holds a table (state -> the states it may become), the labels people read, and
the domain error an illegal move raises. Each package that owns a document instantiates its
machines in its `states` module and changes a status only through the transition
functions there, which call `Machine.move`; `tests/unit/test_transition_tables.py` walks
every table in `MACHINES` and checks that no other code assigns a status.

A move records its audit event too: the caller passes `audit=audit.Entry(session, action,
actor, channel, data)` and the move records it, with the moved object as its subject, once
the table allowed the move and the status changed (an illegal move records nothing). A
caller whose audit event names another object (a payment attempt's move audited on its
order) or that has no audit event for the move (a payment state re-stated) passes none.
"""
from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from core.audit import Entry
from core.errors import DomainError

# Every machine, by name; each names the columns ("table.column") whose values it governs.
MACHINES: dict[str, "Machine"] = {}


class Machine:
    """A transition table over the values of `states` (a StrEnum), with `labels` for
    messages and `error` (a DomainError) for an illegal move. A state absent from the table
    may become nothing. A move to the state the object is in is a move like any other: it
    is allowed only where the table lists it."""

    def __init__(self, name: str, states: type[StrEnum],
                 transitions: Mapping[str, set[str] | frozenset[str]], *,
                 labels: Mapping[str, str], error: type[DomainError], noun: str,
                 columns: tuple[str, ...] = (), doc: str = "") -> None:
        unknown = {s for s in transitions} | {t for ts in transitions.values() for t in ts}
        unknown -= {s.value for s in states}
        if unknown:
            raise ValueError(f"{name}: {sorted(unknown)} are not {states.__name__} values")
        self.name, self.states, self.error, self.noun = name, states, error, noun
        self.transitions = {states(s): frozenset(states(t) for t in ts)
                            for s, ts in transitions.items()}
        self.labels = dict(labels)
        self.columns = columns
        self.__doc__ = doc  # why the table is as it is
        if name in MACHINES:
            raise ValueError(f"A machine named {name} is already registered.")
        MACHINES[name] = self

    def label(self, state: str) -> str:
        return self.labels.get(state, str(state))

    def allows(self, current: str, target: str) -> bool:
        return target in self.transitions.get(current, frozenset())

    def check(self, current: str, target: str, *, noun: str | None = None) -> None:
        """Raise `error` unless the table allows current -> target."""
        if not self.allows(current, target):
            raise self.error(
                f"{noun or self.noun} that is {self.label(current).lower()} cannot become "
                f"{self.label(target).lower()}.")

    def move(self, obj, target: str, attribute: str = "status", *,
             noun: str | None = None, audit: Entry | None = None) -> str:
        """Set `obj.<attribute>` to `target` after checking the table, then record `audit`
        (if given) with `obj` as its subject; returns the previous state. The one assignment
        of a status in core."""
        current = getattr(obj, attribute)
        self.check(current, target, noun=noun)
        setattr(obj, attribute, self.states(target))
        if audit is not None:
            audit.record(obj)
        return current
