"""Read-only figures for dashboards and analytics, and the sales facts they read.

Importing this package registers core.reporting.facts.record with core.billing, so every
invoice and credit note issued from then on is recorded as sales facts in its transaction.
The app factory (core.web.app), the Celery worker (core.tasks) and the tests import it.
"""
from core.billing import invoicing as _invoicing
from core.reporting import facts
from core.reporting.overview import operations_overview

if facts.record not in _invoicing.issued_hooks:
    _invoicing.issued_hooks.append(facts.record)

__all__ = ["facts", "operations_overview"]
