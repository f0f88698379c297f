"""The error billing's commands raise when a request breaks a billing rule."""
from __future__ import annotations

from core.errors import DomainError


class BillingError(DomainError):
    code = "billing"


class NothingAllocated(BillingError):
    """A payment would become customer credit as a whole while the customer has invoices
    open: the person recording it is asked first (the message is the question)."""

    code = "nothing_allocated"
