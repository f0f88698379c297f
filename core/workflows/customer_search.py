"""Customer search for agents on the phone: one box, any key the caller reads out.

Name, e-mail, phone (any formatting), company, customer number, order number or postcode,
or the name or e-mail of one of the customer's logins (a company's buyers and contacts).
The search is one SQL statement whatever the result size: a UNION ALL of small branches,
each served by an index (on PostgreSQL: GIN trigram indexes on lower(name), lower(email),
phone_digits and lower(address company), btree on number, postal_code and order number;
see migration 0006), each branch capped at `limit` rows and tagged with a rank. The
customers are then read by primary key and ordered: exact matches (customer number, order
number, e-mail) first, then postcode, then partial matches, by name within a rank.
The statement of each shape (which branches, how many name words) is built once per process
with the values as bound parameters: a search only binds them (see _Shape).

Substring matches need three characters (a trigram); shorter input only finds exact keys.

A login's (contact's) e-mail is found exactly through the unique index on
customer_users.email (stored lower-case); its name and e-mail part through trigram GIN
indexes on lower(full_name) and email (migration 0022), as the customer branches are.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Select, String, bindparam, func, literal, select, union_all
from sqlalchemy.orm import Session

from core.customers.models import Customer, CustomerAddress, CustomerUser
from core.numbering import PREFIXES
from core.orders.models import Order

MIN_CONTAINS = 3  # trigram indexes serve LIKE '%x%' from three characters
MAX_TEXT = 100

# Rank of each kind of match: lower is shown first. Values double as "matched on" codes.
(BY_NUMBER, BY_ORDER, BY_EMAIL, BY_CONTACT_EMAIL, BY_POSTCODE, BY_NAME, BY_CONTACT,
 BY_COMPANY, BY_EMAIL_PART, BY_CONTACT_EMAIL_PART, BY_PHONE) = range(11)
MATCH_LABELS = {BY_NUMBER: "customer number", BY_ORDER: "order number", BY_EMAIL: "e-mail",
                BY_CONTACT_EMAIL: "contact", BY_POSTCODE: "postcode", BY_NAME: "name",
                BY_CONTACT: "contact", BY_COMPANY: "company", BY_EMAIL_PART: "e-mail",
                BY_CONTACT_EMAIL_PART: "contact", BY_PHONE: "phone"}
# Matches on a login: the hit names the person found ("contact Bea Buyer").
CONTACT_RANKS = frozenset({BY_CONTACT_EMAIL, BY_CONTACT, BY_CONTACT_EMAIL_PART})

_PHONE_CHARS = re.compile(r"^[\d\s+\-()/.]+$")
_POSTCODE = re.compile(r"^[A-Za-z0-9]{3,10}$")


@dataclass(frozen=True)
class CustomerHit:
    """One row of the results: what an agent reads back to the caller to confirm."""

    id: int
    number: str
    kind: str
    name: str
    email: str
    phone: str
    postal_code: str
    company: str
    matched_on: str

    @property
    def company_label(self) -> str:
        return self.name if self.kind == "company" else self.company


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(text: str) -> str:
    return f"%{_like_escape(text)}%"


def series_number(series: str, text: str) -> str | None:
    """'C-000001', 'c-1', 'C1', '1' and '000001' -> 'C-000001' for the customer series."""
    prefix = PREFIXES[series]
    bare = prefix.rstrip("-")
    match = re.fullmatch(rf"(?:{re.escape(bare)}-?)?\s*(\d{{1,9}})", text.strip(), re.IGNORECASE)
    if match is None:
        return None
    return f"{prefix}{int(match.group(1)):06d}"


def phone_needle(text: str) -> str | None:
    """The digits to look for inside phone_digits, or None when the text is no phone.

    '+49 30 1234-5678' -> '493012345678'; '0049 30 ...' drops the international prefix;
    a national '030 1234' drops its trunk zero, so '301234' is found inside '49301234...'.
    """
    if not _PHONE_CHARS.match(text):
        return None
    digits = re.sub(r"\D", "", text)
    if digits.startswith("00"):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = digits[1:]
    return digits if len(digits) >= MIN_CONTAINS else None


_NO_CONTACT = literal("", String)


def _branch(column, rank: int, where, limit: int, contact=None) -> Select:
    """An exact-key branch: a btree index finds its few rows. `contact`: the name of the
    login found (contact branches), else ''."""
    sub = (select(column.label("customer_id"), literal(rank).label("rank"),
                  (_NO_CONTACT if contact is None else contact).label("contact"))
           .where(where).limit(limit).subquery())
    # Wrapped so every dialect accepts a LIMIT inside a UNION member.
    return select(sub.c.customer_id, sub.c.rank, sub.c.contact)


def _contains_branch(column, rank: int, where, limit: int, contact=None) -> Select:
    """A substring branch, planned for full retrieval and read only up to `limit` rows.

    Behind a LIMIT, PostgreSQL guesses a three-letter pattern matches 4 % of the table and
    picks a sequential scan that stops early, which reads the whole table when the pattern
    is rare (300 ms at 200,000 customers). A MATERIALIZED CTE is planned on its own, so it
    takes the trigram index, and is still read lazily: the outer LIMIT stops it after
    `limit` rows.
    """
    cte = (select(column.label("customer_id"),
                  (_NO_CONTACT if contact is None else contact).label("contact")).where(where)
           .cte(f"m{rank}").prefix_with("MATERIALIZED", dialect="postgresql"))
    sub = (select(cte.c.customer_id, literal(rank).label("rank"), cte.c.contact)
           .limit(limit).subquery())
    return select(sub.c.customer_id, sub.c.rank, sub.c.contact)


@dataclass(frozen=True)
class _Shape:
    """Which branches a search text takes (and how many name words): the statement's form.

    The values themselves are bound parameters, so one statement per shape is built once
    per process (a few dozen shapes in practice) and only its parameters change: building
    and keying the SQL expression cost more than the statement takes to run.
    """

    number: bool = False
    order: bool = False
    email: bool = False
    postcode: bool = False
    name_words: int = 0  # > 0: the name, company (and e-mail part) substring branches
    email_part: bool = False
    phone: bool = False


def _parse(text: str) -> tuple[_Shape, dict[str, str]]:
    """The shape of the search for `text` and the values of its parameters."""
    lowered = text.lower()
    params: dict[str, str] = {}
    number = series_number("customer", text)
    if number:
        params["number"] = number
    # A bare number is a customer number, a phone or a postcode; orders need their prefix.
    order_number = series_number("order", text) if text[:1].isalpha() else None
    if order_number:
        params["order_number"] = order_number
    email = "@" in text
    if email:
        params["email"] = lowered
    postcode = bool(_POSTCODE.match(text)) and any(ch.isdigit() for ch in text)
    if postcode:
        params["postcode"] = text.upper()
    words = [w for w in lowered.split() if w]
    is_key = bool(order_number) or (number is not None and not text.isdigit())
    name_words = 0
    email_part = False
    if (any(len(w) >= MIN_CONTAINS for w in words) and not _PHONE_CHARS.match(text)
            and not is_key):
        name_words = len(words)
        for i, word in enumerate(words):
            params[f"word{i}"] = _contains(word)
        params["contains"] = _contains(lowered)
        email_part = " " not in lowered
    needle = phone_needle(text)
    if needle:
        params["phone"] = _contains(needle)
    return _Shape(number=number is not None, order=bool(order_number), email=email,
                  postcode=postcode, name_words=name_words, email_part=email_part,
                  phone=needle is not None), params


def _branches(shape: _Shape, limit: int) -> list[Select]:
    branches: list[Select] = []
    if shape.number:
        branches.append(_branch(Customer.id, BY_NUMBER,
                                Customer.number == bindparam("number"), limit))
    if shape.order:
        branches.append(_branch(Order.customer_id, BY_ORDER,
                                (Order.number == bindparam("order_number"))
                                & Order.customer_id.is_not(None),
                                limit))
    if shape.email:
        branches.append(_branch(Customer.id, BY_EMAIL,
                                func.lower(Customer.email) == bindparam("email"), limit))
        branches.append(_branch(CustomerUser.customer_id, BY_CONTACT_EMAIL,
                                CustomerUser.email == bindparam("email"), limit,
                                contact=CustomerUser.full_name))
    if shape.postcode:
        branches.append(_branch(Customer.id, BY_POSTCODE,
                                Customer.postal_code == bindparam("postcode"), limit))
    if shape.name_words:
        name = func.lower(Customer.name)
        where = None
        for i in range(shape.name_words):
            clause = name.like(bindparam(f"word{i}", type_=String), escape="\\")
            where = clause if where is None else where & clause
        branches.append(_contains_branch(Customer.id, BY_NAME, where, limit))
        contact_name = func.lower(CustomerUser.full_name)
        where = None
        for i in range(shape.name_words):
            clause = contact_name.like(bindparam(f"word{i}", type_=String), escape="\\")
            where = clause if where is None else where & clause
        branches.append(_contains_branch(CustomerUser.customer_id, BY_CONTACT, where, limit,
                                         contact=CustomerUser.full_name))
        branches.append(_contains_branch(CustomerAddress.customer_id, BY_COMPANY,
                                func.lower(CustomerAddress.company).like(bindparam("contains", type_=String),
                                                                          escape="\\"),
                                limit))
        if shape.email_part:
            branches.append(_contains_branch(Customer.id, BY_EMAIL_PART,
                                    func.lower(Customer.email).like(bindparam("contains", type_=String),
                                                                    escape="\\"),
                                    limit))
            branches.append(_contains_branch(
                CustomerUser.customer_id, BY_CONTACT_EMAIL_PART,
                CustomerUser.email.like(bindparam("contains", type_=String), escape="\\"),
                limit, contact=CustomerUser.full_name))
    if shape.phone:
        branches.append(_contains_branch(Customer.id, BY_PHONE,
                                Customer.phone_digits.like(bindparam("phone", type_=String), escape="\\"),
                                limit))
    return branches


@lru_cache(maxsize=256)
def _statement(shape: _Shape, limit: int) -> Select | None:
    """The one statement of a search of this shape, its values left as parameters."""
    branches = _branches(shape, limit)
    if not branches:
        return None
    matches = union_all(*branches).subquery("matches")
    best = (select(matches.c.customer_id, func.min(matches.c.rank).label("rank"),
                   func.max(matches.c.contact).label("contact"))
            .group_by(matches.c.customer_id).subquery("best"))
    company = (select(CustomerAddress.company)
               .where(CustomerAddress.customer_id == Customer.id, CustomerAddress.company != "")
               .order_by(CustomerAddress.default_billing.desc(),
                         CustomerAddress.default_shipping.desc(), CustomerAddress.id)
               .limit(1).scalar_subquery())
    return (select(Customer.id, Customer.number, Customer.kind, Customer.name, Customer.email,
                   Customer.phone, Customer.postal_code, func.coalesce(company, ""),
                   best.c.rank, best.c.contact)
            .join(best, best.c.customer_id == Customer.id)
            .order_by(best.c.rank, Customer.name, Customer.id)
            .limit(limit))


def search_customers(session: Session, text: str, limit: int = 20) -> list[CustomerHit]:
    """Customers matching `text` on any key, exact matches first; one SQL statement."""
    text = " ".join((text or "").split())[:MAX_TEXT]
    if not text or limit < 1:
        return []
    shape, params = _parse(text)
    statement = _statement(shape, limit)
    if statement is None:
        return []
    rows = session.execute(statement, params)
    return [CustomerHit(id=r[0], number=r[1], kind=r[2], name=r[3], email=r[4], phone=r[5],
                        postal_code=r[6], company=r[7], matched_on=_matched_on(r[8], r[9]))
            for r in rows]


def _matched_on(rank: int, contact: str | None) -> str:
    """What the hit was found by; a login names its person: "contact Bea Buyer"."""
    if rank in CONTACT_RANKS and contact:
        return f"contact {contact}"
    return MATCH_LABELS[rank]
