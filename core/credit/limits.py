"""Setting a customer's credit limit: who may, and the audit trail."""
from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal

from sqlalchemy.orm import Session

from core import audit
from core.customers.models import Customer
from core.errors import DomainError

# The credit team decides limits; a supervisor (who may also release credit holds when
# they hold the credit role) and admin may set them too.
ROLES = frozenset({"credit", "supervisor", "admin"})
MAX_LIMIT = Decimal("100000000")


class CreditLimitError(DomainError):
    code = "credit_limit"


class CreditLimitNotAllowed(CreditLimitError):
    code = "credit_limit_not_allowed"


def may_set(roles: Collection[str]) -> bool:
    return bool(ROLES.intersection(roles))


def set_credit_limit(session: Session, customer: Customer, limit: Decimal | None, *,
                     actor: audit.Actor, roles: Collection[str], channel: str = "console"
                     ) -> None:
    """Set (or, with None, remove) the customer's credit limit. Audited. Flushes."""
    if not may_set(roles):
        raise CreditLimitNotAllowed("Only an agent with the credit or supervisor role can "
                                    "change a credit limit.")
    if limit is not None and not Decimal(0) <= limit < MAX_LIMIT:
        raise CreditLimitError("Enter a credit limit from 0 up, or leave it empty for none.",
                               field="credit_limit")
    before = customer.credit_limit
    if before == limit:
        return
    customer.credit_limit = limit
    audit.record(session, "customer.credit_limit_changed", actor=actor, channel=channel,
                 subject=customer,
                 data={"before": None if before is None else str(before),
                       "after": None if limit is None else str(limit)})
    session.flush()
