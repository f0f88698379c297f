"""Filter forms of the sales insights pages: GET forms (no CSRF), read from the query."""
from __future__ import annotations

import datetime as dt

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional

from callcenter.order_admin_forms import options
from core import clock
from core.reporting.insights import SORTS

LONGEST_RANGE_DAYS = 3 * 366
MONTHS = [("3", "3 months"), ("6", "6 months"), ("12", "12 months"), ("24", "24 months"),
          ("36", "36 months")]


def _currencies(channels) -> list[tuple[str, str]]:
    codes = sorted({currency for _, _, currency in channels} | {"EUR"})
    return [(c, c) for c in codes]


class RangeForm(FlaskForm):
    """A date range (default: the last 90 days up to today), a channel and a currency."""

    class Meta:
        csrf = False

    start = DateField("From", validators=[Optional()])
    end = DateField("To", validators=[Optional()])
    channel = SelectField("Channel", validators=[Optional()])
    currency = SelectField("Currency", validators=[Optional()])

    def __init__(self, *args, channels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.channel.choices = options([("", "All channels"),
                                        *((code, name) for code, name, _ in channels)])
        self.currency.choices = options(_currencies(channels))

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if ok and self.start.data and self.end.data:
            if self.end.data < self.start.data:
                self.end.errors.append("Enter a day on or after the first day.")
                ok = False
            elif (self.end.data - self.start.data).days > LONGEST_RANGE_DAYS:
                self.end.errors.append("Choose a range of at most three years.")
                ok = False
        return ok

    def chosen(self) -> dict:
        """The range, channel and currency asked for, with the defaults filled in."""
        end = self.end.data or clock.today()
        start = self.start.data or end - dt.timedelta(days=89)
        if start > end:  # only a start in the future was given
            end = start
        return dict(start=start, end=end, channel=self.channel.data or None,
                    currency=self.currency.data or "EUR")


class StatisticsForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Customer", validators=[Optional(), Length(max=100)])
    sort = SelectField("Sort by", choices=options(list(SORTS.items())), validators=[Optional()])


class DsoForm(FlaskForm):
    class Meta:
        csrf = False

    months = SelectField("Months", choices=options(MONTHS), default="12",
                         validators=[Optional()])
    currency = SelectField("Currency", validators=[Optional()])

    def __init__(self, *args, channels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.currency.choices = options(_currencies(channels))
