"""Forms of the dunning pages: starting a run, the buttons that only carry a CSRF token
(remove, put back, send, cancel), and the four levels' setup."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, Form, FormField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from callcenter.stock_forms import UnitsField
from core.credit import dunning
from core.web.forms import AmountField


class StartRunForm(FlaskForm):
    as_of = DateField("As of", validators=[InputRequired("Enter the day the run looks at.")])


class ActionForm(FlaskForm):
    """A button that does something (remove, put back, send, cancel): only the CSRF token."""


class LevelForm(Form):
    """One level (a subform: the page's form carries the CSRF token)."""

    name = StringField("Name", validators=[DataRequired("Name the level."), Length(max=60)])
    days_overdue = UnitsField("From days overdue", low=1, high=3650,
                              message="Enter the days overdue as a whole number from 1 to 3,650.",
                              validators=[InputRequired("Enter the days overdue.")])
    fee = AmountField("Fee", validators=[InputRequired("Enter the fee (0 for none).")])
    charges_interest = BooleanField("Charges default interest")
    subject = StringField("Subject", validators=[DataRequired("Write the letter's subject."),
                                                 Length(max=200)])
    body = TextAreaField("Letter text", validators=[DataRequired("Write the letter's text."),
                                                    Length(max=4000)])

    def change(self, level: int) -> dunning.LevelChange:
        return dunning.LevelChange(level=level, name=self.name.data or "",
                                   days_overdue=self.days_overdue.data, fee=self.fee.data,
                                   charges_interest=bool(self.charges_interest.data),
                                   subject=self.subject.data or "", body=self.body.data or "")


class LevelsForm(FlaskForm):
    level1 = FormField(LevelForm)
    level2 = FormField(LevelForm)
    level3 = FormField(LevelForm)
    level4 = FormField(LevelForm)

    def subforms(self) -> list[tuple[int, LevelForm]]:
        return [(n, getattr(self, f"level{n}").form) for n in (1, 2, 3, 4)]

    def changes(self) -> list[dunning.LevelChange]:
        return [form.change(n) for n, form in self.subforms()]
