"""What only a real server with concurrent transactions shows."""

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.auth.models import LoginAttempt
from core.auth.services import TooManyAttempts, check_throttle, note_failure
from core.numbering import NumberSeries, next_number
from tests.helpers import run_threads


def test_twenty_threads_taking_invoice_numbers_get_no_gap_and_no_duplicate(engine):
    with Session(engine) as s:
        start = s.scalar(select(NumberSeries.next_value).where(NumberSeries.name == "invoice"))

    def take(i):
        with Session(engine) as session:
            number = next_number(session, "invoice")
            if i % 5 == 4:  # some transactions roll back: their numbers are reused
                session.rollback()
                return None
            session.commit()
            return number

    numbers = [n for n in run_threads(20, take) if n]
    values = sorted(int(n.removeprefix("INV-")) for n in numbers)
    assert len(values) == 16 and len(set(values)) == 16
    assert values == list(range(start, start + 16))


def test_wrong_passwords_sent_in_parallel_are_all_counted(engine):
    key = ["customer:email:race@example.com"]

    def attempt(_):
        with Session(engine) as session:
            try:
                check_throttle(session, key, limit=10)
            except TooManyAttempts:
                return "blocked"
            note_failure(session, key)
            session.commit()
            return "checked"

    try:
        run_threads(10, attempt)  # ten failures recorded in parallel
        with Session(engine) as session:
            try:
                check_throttle(session, key, limit=10)
                raised = False
            except TooManyAttempts:
                raised = True
        assert raised
    finally:
        with Session(engine) as session:
            session.execute(delete(LoginAttempt).where(LoginAttempt.key.in_(key)))
            session.commit()
