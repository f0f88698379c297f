"""Forms of the credit pages (core.credit.limits checks the rules; the forms carry values)."""
from __future__ import annotations

from callcenter.customer_forms import CreditLimitForm, CreditReviewForm

__all__ = ["CreditLimitForm", "CreditReviewForm"]
