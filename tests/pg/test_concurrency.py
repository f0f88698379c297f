"""What only a real server with concurrent transactions shows."""

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.auth.services import BadCredentials, TooManyAttempts
from core.numbering import NumberSeries, next_number
from core.ratelimit import RateCounter
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


def test_parallel_wrong_passwords_reach_the_hash_no_more_often_than_the_limit(engine,
                                                                             monkeypatch):
    """Every attempt is counted (an atomic upsert) before its password is hashed, so thirty
    guesses at once cannot all pass the check before one failure is counted (review M4)."""
    from core.agents import services as agents
    from core.auth import passwords
    real, hashed = passwords.verify_password, []

    def counting(password_hash, password):
        hashed.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", counting)

    def attempt(_):
        with Session(engine) as session:
            try:
                agents.authenticate(session, email="agent@marketline.example",
                                    password="wrong-guess", remote_addr="198.51.100.77",
                                    limit=10, commit=session.commit)
            except TooManyAttempts:
                return "refused"
            except BadCredentials:
                return "checked"
            finally:
                session.commit()

    try:
        outcomes = run_threads(30, attempt)
        assert outcomes.count("checked") == 10 and outcomes.count("refused") == 20
        assert len(hashed) == 10
        with Session(engine) as session:  # the eleventh, later, is refused as well
            try:
                agents.authenticate(session, email="agent@marketline.example",
                                    password="demo-pass-1", remote_addr="198.51.100.77",
                                    limit=10)
                raised = False
            except TooManyAttempts:
                raised = True
        assert raised and len(hashed) == 10
    finally:
        with Session(engine) as session:
            session.execute(delete(RateCounter).where(RateCounter.key.like("signin-agent:%")))
            session.commit()
