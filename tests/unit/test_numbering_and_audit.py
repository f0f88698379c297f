from core.audit import Actor, AuditEvent, record
from core.numbering import PREFIXES, next_number, peek, take_numbers


def test_numbers_follow_each_other_without_gaps(db):
    first = next_number(db, "invoice")
    second = next_number(db, "invoice")
    assert first.startswith("INV-") and len(first) == len("INV-000001")
    assert int(second[4:]) == int(first[4:]) + 1


def test_a_rolled_back_invoice_number_is_given_again(db):
    nested = db.begin_nested()
    taken = next_number(db, "invoice")
    nested.rollback()
    assert next_number(db, "invoice") == taken


def test_order_numbers_never_repeat_and_rise(db):
    nested = db.begin_nested()
    given_back = next_number(db, "order")  # gapless on SQLite, a gap on PostgreSQL
    nested.rollback()
    numbers = [next_number(db, "order") for _ in range(3)]
    values = [int(n.removeprefix("SO-")) for n in numbers]
    assert values == sorted(set(values)) and values[0] >= int(given_back.removeprefix("SO-"))
    assert peek(db, "order") == values[-1] + 1


def test_a_block_of_numbers_is_consecutive_and_the_series_goes_on_after_it(db):
    for series in ("order", "invoice"):
        first = take_numbers(db, series, 5)
        assert peek(db, series) == first + 5
        assert next_number(db, series) == f"{PREFIXES[series]}{first + 5:06d}"


def test_each_series_has_its_own_prefix(db):
    assert next_number(db, "customer").startswith("C-")
    assert next_number(db, "order").startswith("SO-")
    assert next_number(db, "credit_note").startswith("CN-")
    assert next_number(db, "return").startswith("RMA-")


def test_audit_event_records_actor_channel_subject_and_data(db):
    from tests.factories import CustomerFactory
    customer = CustomerFactory()
    event = record(db, "customer.updated", actor=Actor("agent", 7, "a@x"), channel="console",
                   subject=customer, data={"field": "phone"})
    db.flush()
    db.expire_all()
    stored = db.get(AuditEvent, event.id)
    assert (stored.actor_kind, stored.actor_id, stored.actor_label) == ("agent", 7, "a@x")
    assert (stored.subject_type, stored.subject_id) == ("customers", str(customer.id))
    assert stored.channel == "console" and stored.data == {"field": "phone"}
    assert stored.at is not None
