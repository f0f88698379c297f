"""Forms of the ageing report and the statement of account pages."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional

from callcenter.order_admin_forms import options
from core.billing.ageing import SORTS


class AgeingForm(FlaskForm):
    class Meta:
        csrf = False

    as_of = DateField("As of", validators=[Optional()])
    q = StringField("Customer", validators=[Optional(), Length(max=100)])
    sort = SelectField("Sort by", choices=options(list(SORTS.items())), validators=[Optional()])


class PeriodForm(FlaskForm):
    """The statement's period, as query arguments (a GET form)."""

    class Meta:
        csrf = False

    start = DateField("From", validators=[Optional()])
    end = DateField("To", validators=[Optional()])


class EmailStatementForm(FlaskForm):
    start = DateField("From", validators=[Optional()])
    end = DateField("To", validators=[Optional()])
