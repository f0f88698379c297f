"""PostgreSQL-only tests: concurrency, locks, isolation. Skipped, with the reason shown,
unless the run is `--db=postgresql` with TEST_DATABASE_URL set (as `make test` does in CI)."""
import pytest


def pytest_collection_modifyitems(config, items):
    if config.getoption("--db") == "postgresql":
        return
    skip = pytest.mark.skip(reason="PostgreSQL tests: set TEST_DATABASE_URL and run with "
                                   "--db=postgresql (make test does both when the variable is set)")
    for item in items:
        if "tests/pg/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(skip)
