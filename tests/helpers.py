"""Small helpers shared by test modules."""
from __future__ import annotations

import threading
import traceback

from sqlalchemy import event


class QueryCounter:
    """Counts the SQL statements sent on a connection while the block runs."""

    def __init__(self, connection):
        self.connection, self.count = connection, 0

    def __enter__(self):
        event.listen(self.connection, "before_cursor_execute", self._hit)
        return self

    def __exit__(self, *exc):
        event.remove(self.connection, "before_cursor_execute", self._hit)

    def _hit(self, *args):
        self.count += 1


def run_threads(n: int, target) -> list:
    """Run target(i) in n threads released together; fail with every traceback if any raised."""
    results, errors = [None] * n, []
    barrier = threading.Barrier(n)

    def work(i):
        try:
            barrier.wait()
            results[i] = target(i)
        except Exception:  # noqa: BLE001 - reported below, with the traceback
            errors.append(f"thread {i}:\n{traceback.format_exc()}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread is still running after 60 s"
    assert not errors, "\n".join(errors)
    return results


def forget_sales_facts(session, invoice_ids) -> None:
    """Before a test that committed invoices deletes them: their sales facts go first (they
    point at the invoice lines) and the daily roll-up is summed again without them."""
    from sqlalchemy import delete

    from core.reporting import facts
    from core.reporting.models import SalesFact
    session.execute(delete(SalesFact).where(SalesFact.invoice_id.in_(list(invoice_ids))))
    facts.rebuild_days(session)
