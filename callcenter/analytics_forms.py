"""The sales analytics page's filters (a GET form: no CSRF, bookmarkable)."""
from __future__ import annotations

import datetime as dt

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.validators import Optional

from callcenter.order_admin_forms import options
from core.reporting.analytics import DIMENSIONS, Choices, Filters

DEFAULT_DAYS = 30  # the last 30 days up to today
LONGEST = 3 * 366  # days a range may span
GRAIN_LABELS = [("day", "Day"), ("week", "Week"), ("month", "Month")]
ANY = ""


class AnalyticsForm(FlaskForm):
    class Meta:
        csrf = False

    start = DateField("From", validators=[Optional()])
    end = DateField("To", validators=[Optional()])
    grain = SelectField("Show by", choices=options(GRAIN_LABELS), default="day",
                        validate_choice=False)
    currency = SelectField("Currency", validate_choice=False)
    channel = SelectField("Channel", validate_choice=False)
    category = SelectField("Category", validate_choice=False)
    group = SelectField("Customer group", validate_choice=False)
    agent = SelectField("Agent (phone orders)", validate_choice=False)
    by = SelectField("Break down by", choices=options(DIMENSIONS.items()), default="channel",
                     validate_choice=False)

    def offer(self, choices: Choices) -> AnalyticsForm:
        """Fill the selects from what the database holds."""
        self.currency.choices = options((c, c) for c in choices.currencies)
        self.channel.choices = options([(ANY, "All channels"), *(
            (code, f"{name} ({currency})") for code, name, currency in choices.channels)])
        self.category.choices = options([(ANY, "All categories"),
                                         *((str(i), n) for i, n in choices.categories)])
        self.group.choices = options([(ANY, "All customer groups"),
                                      *((g, g) for g in choices.groups)])
        self.agent.choices = options([(ANY, "All agents"),
                                      *((str(i), n) for i, n in choices.agents)])
        return self

    def _known(self, field, message: str) -> None:
        if field.data not in (None, "") and field.data not in {c.value for c in field.choices}:
            field.errors.append(message)

    def check(self, today: dt.date) -> bool:
        """Validate, fill the defaults (the last 30 days, the first currency) and say whether
        the filters can be run."""
        self.validate()
        if not self.start.errors and not self.end.errors:
            if self.end.data is None:
                self.end.data = today if self.start.data is None or self.start.data <= today \
                    else self.start.data + dt.timedelta(days=DEFAULT_DAYS - 1)
            if self.start.data is None:
                self.start.data = self.end.data - dt.timedelta(days=DEFAULT_DAYS - 1)
            if self.end.data < self.start.data:
                self.end.errors.append("The end is before the start: choose a later day.")
            elif (self.end.data - self.start.data).days >= LONGEST:
                self.end.errors.append("The range is longer than 3 years: choose a shorter one.")
        if not self.currency.data and self.currency.choices:
            self.currency.data = self.currency.choices[0].value
        self.grain.data = self.grain.data or "day"
        self.by.data = self.by.data or "channel"
        self._known(self.grain, "Choose day, week or month.")
        self._known(self.currency, "Choose a currency from the list.")
        self._known(self.channel, "There is no such channel: choose one from the list.")
        self._known(self.category, "There is no such category: choose one from the list.")
        self._known(self.group, "There is no such customer group: choose one from the list.")
        self._known(self.agent, "There is no such agent: choose one from the list.")
        self._known(self.by, "Choose what to break the figures down by.")
        return not any(f.errors for f in self)

    def args(self) -> dict[str, str]:
        """The filters in force (defaults filled in) as query arguments: links keep them."""
        return {name: f.data.isoformat() if isinstance(f.data, dt.date) else f.data
                for name, f in self._fields.items() if f.data}

    def filters(self) -> Filters:
        return Filters(start=self.start.data, end=self.end.data, currency=self.currency.data,
                       grain=self.grain.data, channel=self.channel.data or None,
                       category_id=int(self.category.data) if self.category.data else None,
                       customer_group=self.group.data or None,
                       agent_id=int(self.agent.data) if self.agent.data else None)
