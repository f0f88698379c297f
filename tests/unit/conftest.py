import pytest


def _no_database():
    raise RuntimeError("background tasks get no database in unit tests (tests/web has apps)")


@pytest.fixture(autouse=True)
def task_sessions():
    """Tasks run inline here (an e-mail after a commit) get no session: one of the worker's
    own would wait for the test's transaction (SQLite's write lock). A task that reads the
    database fails, logged, as a mail that could not be sent; the rest are sent."""
    from core.tasks import inline_with
    with inline_with(_no_database):
        yield
