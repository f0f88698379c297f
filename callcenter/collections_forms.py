"""Forms of the collections pages: the worklist's filters, the call, the promise to pay,
disputes and follow-up tasks."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, HiddenField, SelectField, SelectMultipleField,
                     StringField, TextAreaField)
from wtforms.validators import InputRequired, Length, Optional

from callcenter.order_admin_forms import options
from callcenter.stock_forms import UnitsField
from core.credit.collections import CONTACT_CHANNELS, OUTCOMES
from core.web.forms import AmountField, record_id


class WorklistFilterForm(FlaskForm):
    """The worklist's filters (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField("Customer name or number", validators=[Optional(), Length(max=100)])
    min_days = UnitsField("At least days overdue", low=0, high=10_000,
                          message="Enter a number of days from 0 to 10,000.",
                          validators=[Optional()])
    mine = BooleanField("Only accounts with my follow-ups")


class CallForm(FlaskForm):
    outcome = SelectField("Outcome", choices=options([("", "Choose the outcome"),
                                                      *OUTCOMES.items()]),
                          validators=[InputRequired("Choose how the call went.")])
    channel = SelectField("By", choices=options(CONTACT_CHANNELS.items()), default="phone")
    note = TextAreaField("Note", validators=[Length(max=1000)])


class PromiseForm(FlaskForm):
    key = HiddenField(validators=[Length(max=80)])  # one promise per page: a resubmit is it
    promised_for = DateField("Pays by", validators=[InputRequired("Enter the day they pay by.")])
    amount = AmountField("Amount promised", validators=[InputRequired("Enter the amount.")])
    invoices = SelectMultipleField("Invoices it covers", coerce=record_id, choices=[],
                                   validate_choice=False)
    note = TextAreaField("Note", validators=[Length(max=500)])


class DisputeForm(FlaskForm):
    invoice = SelectField("Invoice", coerce=record_id, choices=[], validate_choice=False,
                          validators=[InputRequired("Choose the invoice disputed.")])
    reason = TextAreaField("What the customer disputes", validators=[
        InputRequired("Say what the customer disputes."), Length(max=500)])
    amount = AmountField("Amount disputed (empty: the whole invoice)", validators=[Optional()])
    assign_to = SelectField("Assign to", coerce=record_id, choices=[], validate_choice=False)


class AssignForm(FlaskForm):
    assign_to = SelectField("Assign to", coerce=record_id, choices=[], validate_choice=False)


class ResolveForm(FlaskForm):
    resolution = TextAreaField("Resolution", validators=[
        InputRequired("Say how the dispute was resolved."), Length(max=500)])


class TaskForm(FlaskForm):
    agent = SelectField("Who follows up", coerce=record_id, choices=[], validate_choice=False,
                        validators=[InputRequired("Choose who follows up.")])
    due_on = DateField("Due on", validators=[InputRequired("Enter the day to follow up.")])
    note = StringField("What to do", validators=[InputRequired("Say what to follow up."),
                                                 Length(max=500)])


class ActionForm(FlaskForm):
    """A button that posts (CSRF only)."""
