"""Names for codes and local times (core.labels): every audit event the code records has a
label, enum-like codes have names, and times are shown in a time zone, across DST."""
import ast
import datetime as dt
import pathlib
import re

import pytest

from core.labels import (EVENT_LABELS, code_label, event_label, from_local, local_time,
                         shop_time, to_local)
from core.purchasing.states import PurchaseOrderStatus
from core.returns.states import ReturnStatus

ROOT = pathlib.Path(__file__).resolve().parents[2]
UTC = dt.timezone.utc

# Dotted strings that look like events but are not: endpoints and template names.
NOT_EVENTS = re.compile(r"^(paylink|two_step|stock)\.|^(catalog\.product|collections\.account|"
                        r"collections\.mine)$|\.(html|txt|pdf|xml|csv)$")
# Event names built at run time (f-strings) and the values they are built from.
DYNAMIC = {
    "order.": ["partially_shipped", "shipped"],  # core.fulfilment.services: f"order.{target}"
    "return.": [s.value for s in ReturnStatus],
    "purchase_order.": [s.value for s in PurchaseOrderStatus],
    "customer.address_": ["added", "edited", "deleted"],
    "collections.promise_": ["kept", "broken", "cancelled"],
    "credit_request.": ["requested", "approved", "rejected"],
    "gift_card_request.": ["requested", "approved", "rejected"],
    "": ["invoice.issued", "credit_note.issued"],  # core.billing.invoicing: f"{kind}.issued"
}


def recorded_event_names() -> set[str]:
    """Every dotted string literal in core and the apps whose head is an event's head (the
    heads of EVENT_LABELS: a new head is caught by the demo check below)."""
    heads = {name.partition(".")[0] for name in EVENT_LABELS}
    found = set()
    for package in ("core", "callcenter", "storefront"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                        and re.fullmatch(r"[a-z_]+\.[a-z_]*[a-z]", node.value)
                        and node.value.partition(".")[0] in heads
                        and not NOT_EVENTS.search(node.value)):
                    found.add(node.value)
    found.update(prefix + value for prefix, values in DYNAMIC.items() for value in values)
    return found


def test_every_event_the_code_records_has_a_label():
    names = recorded_event_names()
    assert len(names) > 150
    assert sorted(names - set(EVENT_LABELS)) == []


def test_every_event_of_the_demo_has_a_label(db):
    from sqlalchemy import select

    from core.audit import AuditEvent
    actions = set(db.scalars(select(AuditEvent.action).distinct()))
    assert actions and sorted(actions - set(EVENT_LABELS)) == []


def test_labels_are_words_not_codes():
    for name, label in EVENT_LABELS.items():
        assert label[0].isupper() and "_" not in label and "." not in label, name


def test_an_event_without_a_label_still_reads_as_words():
    assert event_label("order.hold_placed") == "Hold placed"
    assert event_label("customer.password_reset_requested") == "Password reset asked for"
    assert event_label("widget.frobbed_twice") == "Widget frobbed twice"


def test_enum_like_codes_have_names():
    assert code_label("bank_transfer") == "Bank transfer"
    assert code_label("pay_link") == "Payment link"
    assert code_label("authorised") == "Authorised"
    assert code_label("net30") == "Net 30 days"
    assert code_label("something_new") == "Something new"
    assert code_label("web", {"web": "Shop"}) == "Shop"
    assert code_label(None) == ""


@pytest.mark.parametrize("utc, berlin", [
    (dt.datetime(2026, 3, 29, 0, 30, tzinfo=UTC), "29 Mar 2026 01:30"),  # CET, +1
    (dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "29 Mar 2026 03:30"),  # CEST from 01:00 UTC
    (dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "25 Oct 2026 02:30"),  # still CEST
    (dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "25 Oct 2026 02:30"),  # CET again
    (dt.datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "01 Jan 2027 00:30"),  # the next day
])
def test_times_are_shown_in_berlin_across_daylight_saving(utc, berlin):
    assert local_time(utc, tz="Europe/Berlin") == berlin


def test_a_naive_time_is_utc_and_a_date_stays_a_date():
    assert local_time(dt.datetime(2026, 3, 29, 1, 30), tz="Europe/Berlin") == "29 Mar 2026 03:30"
    assert local_time(dt.date(2026, 3, 29), "%d %b %Y %H:%M", "Europe/Berlin") == "29 Mar 2026"
    assert local_time(None) == ""
    assert local_time(dt.datetime(2026, 7, 1, 12, tzinfo=UTC), "%H:%M", "America/New_York") \
        == "08:00"


def test_the_shop_zone_is_berlin_unless_set():
    assert shop_time(dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "%H:%M") == "03:30"


def test_a_time_typed_in_the_console_zone_is_stored_as_utc():
    typed = dt.datetime(2026, 3, 29, 3, 30)
    stored = from_local(typed, "Europe/Berlin")
    assert stored == dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert to_local(stored, "Europe/Berlin").replace(tzinfo=None) == typed
    assert from_local(None) is None
