"""Form helpers shared by both apps: placing a domain error at its field, fields that read
numbers safely (core.parsing), and the one check for a same-site path to go back to."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar
from urllib.parse import urlsplit

from flask import request
from flask_wtf import FlaskForm
from wtforms import FieldList, StringField
from wtforms.validators import ValidationError

from core.errors import DomainError
from core.parsing import AMOUNT_LIMIT, AMOUNT_PLACES, NumberError, int_or, read_decimal
from core.web.db import db_session

T = TypeVar("T")


def place_error(form: FlaskForm, err: DomainError) -> None:
    """Put a domain error at the field it names ("address-city" reaches a subform's field),
    else at the top of the form."""
    target = None
    if err.field:
        name, _, sub = err.field.partition("-")
        target = form._fields.get(name)
        if sub and target is not None:
            target = getattr(target, "form", None) and target.form._fields.get(sub)
    if target is not None:
        target.errors = [*target.errors, str(err)]
    else:
        form.form_errors.append(str(err))


@dataclass(frozen=True)
class Done(Generic[T]):
    """What a service did that was committed: its answer is `value`."""

    value: T


def commit_or_refuse(form: FlaskForm, service: Callable[..., T], /, *args,
                     **kwargs) -> Done[T] | None:
    """Call `service(db_session, *args, **kwargs)` and commit what it did: Done(its answer).
    If it refuses (DomainError), roll back, put the refusal on the form (place_error) and
    answer None, so the view shows the form again:

        if done := commit_or_refuse(form, customers.add_note, customer, text, actor=actor):
            flash("Note added.", "success")
            return redirect_to(...)
    """
    try:
        value = service(db_session, *args, **kwargs)
    except DomainError as err:
        db_session.rollback()
        place_error(form, err)
        return None
    db_session.commit()
    return Done(value)


class DecimalTextField(StringField):
    """A decimal typed as 12.50 or 12,50; data is a Decimal, or None when empty.

    Bounded (`places`, and below `limit` in size) so that what passes can be quantized,
    compared and stored: "1e30", "NaN", "sNaN", "²" or a thousand digits get a message at
    the field instead."""

    def __init__(self, label=None, validators=None, *, places: int = AMOUNT_PLACES,
                 limit: Decimal = AMOUNT_LIMIT, noun: str = "amount", example: str = "12.50",
                 **kwargs):
        super().__init__(label, validators, **kwargs)
        self.places, self.limit, self.noun, self.example = places, limit, noun, example

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        try:
            self.data = read_decimal(valuelist[0], places=self.places, limit=self.limit,
                                     label=self.noun, example=self.example)
        except NumberError as err:
            self.data = None
            raise ValueError(str(err)) from None

    def post_validate(self, form, validation_stopped):
        # DataRequired sees no data and says "Enter the amount."; what was typed deserves
        # the message that says what is wrong with it.
        if self.process_errors:
            self.errors = list(self.process_errors)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else format(Decimal(self.data).normalize(), "f")


class AmountField(DecimalTextField):
    """A money amount: at most four decimals (the currency's own rule is the service's) and
    below 10**14."""


class PercentField(DecimalTextField):
    """A percentage from `low` to `high` with at most two decimals."""

    def __init__(self, label=None, validators=None, *, low: Decimal = Decimal("0.01"),
                 high: Decimal = Decimal(100), message: str | None = None, **kwargs):
        kwargs.setdefault("places", 2)
        kwargs.setdefault("limit", Decimal(1000))
        kwargs.setdefault("noun", "percentage")
        kwargs.setdefault("example", "12.5")
        super().__init__(label, validators, **kwargs)
        self.low, self.high = Decimal(low), Decimal(high)
        self.message = message or (f"Enter a percentage from {self.low.normalize():f} to "
                                   f"{self.high.normalize():f}.")

    def pre_validate(self, form):
        if self.data is not None and not self.low <= self.data <= self.high:
            raise ValidationError(self.message)


class IndexedFieldList(FieldList):
    """FieldList that reads only plain, small entry numbers from the form.

    WTForms finds the entries of `lines-3-description` with `str.isdigit()` and `int()`,
    so a posted `lines-²-description` raised ValueError; any other name is ignored here,
    as it is for names of other fields."""

    def _extract_indices(self, prefix, formdata):
        offset = len(prefix) + 1
        for name in formdata:
            if name.startswith(prefix):
                index = name[offset:].split(self._field_separator, 1)[0]
                if index.isascii() and index.isdigit() and len(index) <= 4:
                    yield int(index)


STRIPE_ID = re.compile(r"[A-Za-z0-9_]{1,80}")  # pm_…, as our String(80) columns hold them


def card_reference(raw: str | None) -> str:
    """The PaymentMethod id a card form posted ("pm_…"), or "" when what was posted cannot
    be one: the views then answer "Enter your card details." as for an empty card."""
    value = (raw or "").strip()
    return value if STRIPE_ID.fullmatch(value) else ""


MOST_PAGES = 100_000


def page_arg(name: str = "page") -> int:
    """The page a list is asked for (?page=3): 1 for junk, at most MOST_PAGES."""
    return int_or(request.args.get(name), 1, low=1, high=MOST_PAGES)


def filter_args(form) -> dict[str, str]:
    """The filters a pager's links carry: the filter form's own query arguments, non-empty
    (never "_external", "_scheme" or "_anchor", which url_for would read as its own)."""
    return {k: v for k, v in request.args.items() if k in form._fields and v}


def same_site_path(target: str | None) -> str | None:
    """`target` as a path on this site to send the browser to, or None.

    A plain path passes; so does a full URL of this very host (a Referer header), reduced
    to its path and query. Browsers drop tabs and newlines and read "\\" as "/", so
    "/\\t/evil" would become "//evil", another site: such characters never pass."""
    target = target or ""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("http", "https") or parts.netloc != request.host:
            return None
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        parts = urlsplit(target)
    safe = (target.startswith("/") and not target.startswith("//")
            and not any(ch <= " " or ch == "\\" or ch == "\x7f" for ch in target)
            and not parts.scheme and not parts.netloc)
    return target if safe else None


RECORD_ID_LIMIT = 2**31  # ids are INTEGER columns: anything larger names no record


def record_id(value) -> int:
    """A select's record id (0: none chosen) as an int, refusing what no row can have (a
    20-digit number would overflow the database's integer): the field says "Not a valid
    choice" instead of the page failing."""
    if value in (None, ""):
        return 0
    number = int(value)
    if not 0 <= number < RECORD_ID_LIMIT:
        raise ValueError("Not a valid choice.")
    return number
