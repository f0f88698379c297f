"""What each login of a customer may do (review finding L9).

A person's login is the whole customer: it sees and does everything of its account. A
company's logins have a role:

    buyer     shops with their own cart; sees and acts on the orders, quotes and returns
              they placed themselves; uses the company's shared lists and address book
    approver  as a buyer, and sees every order, quote, invoice and return of the company;
              approves or rejects other buyers' orders that wait for approval; pays invoices
    admin     as an approver, and manages the company: invites buyers, changes roles and
              spending limits, deactivates logins, keeps the address book and bill-to

No one approves their own order. Every storefront page that shows or changes a customer's
document asks here (`sees_all`, `owns`) rather than comparing customer ids itself.
"""
from __future__ import annotations

from sqlalchemy import and_

from core.customers.models import CustomerUser

ROLES = {"buyer": "Buyer", "approver": "Approver", "admin": "Admin"}


def is_company(user: CustomerUser) -> bool:
    return user.customer.kind == "company"


def sees_all(user: CustomerUser) -> bool:
    """Sees every document of the customer (a person, or a company approver or admin)."""
    return not is_company(user) or user.role in ("approver", "admin")


def can_approve(user: CustomerUser) -> bool:
    return is_company(user) and user.active and user.role in ("approver", "admin")


def can_manage_company(user: CustomerUser) -> bool:
    return is_company(user) and user.active and user.role == "admin"


def can_pay_invoices(user: CustomerUser) -> bool:
    return sees_all(user)


def owned_by(user: CustomerUser, customer_id_column, placed_by_kind_column=None,
             placed_by_id_column=None):
    """A SQL condition: documents of the user's customer, and for a company buyer only those
    they placed (`placed_by_*` columns: "customer" and the login's id)."""
    mine = customer_id_column == user.customer_id
    if sees_all(user) or placed_by_id_column is None:
        return mine
    own = placed_by_id_column == user.id
    if placed_by_kind_column is not None:
        own = and_(placed_by_kind_column == "customer", own)
    return and_(mine, own)


def owns(user: CustomerUser, *, customer_id: int | None, placed_by_kind: str | None = "customer",
         placed_by_id: int | None = None) -> bool:
    """The same test for one document already loaded."""
    if customer_id is None or customer_id != user.customer_id:
        return False
    if sees_all(user):
        return True
    return placed_by_kind == "customer" and placed_by_id == user.id




def can_change_list(user: CustomerUser, *, customer_id: int, created_by_id: int | None) -> bool:
    """Renames or deletes a saved list of the customer: the login that made it, a company
    admin, or a person (their login is the whole customer). Every login of the customer
    uses the list and changes its lines."""
    if customer_id != user.customer_id or not user.active:
        return False
    return not is_company(user) or user.id == created_by_id or can_manage_company(user)
