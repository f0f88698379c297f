"""The error billing's commands raise when a request breaks a billing rule."""
from __future__ import annotations

from core.errors import DomainError


class BillingError(DomainError):
    code = "billing"
