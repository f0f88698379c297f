"""Forms of the console's order pages: holds, line changes, cancellation, notes."""
from __future__ import annotations

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import (BooleanField, DateField, IntegerField, SelectField, StringField,
                     TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from core.orders.holds import KIND_LABELS, REASON_CODES
from core.workflows.order_maintenance import CANCEL_REASONS, MAX_QUANTITY, LineChanges


def options(pairs, optgroup: str | None = None) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value, label, optgroup=optgroup) for value, label in pairs]


def _reason_groups() -> list[SelectChoice]:
    """Reason codes grouped by kind, for an <optgroup> select: Manual first (its first
    reason is the default), each reason under the one kind it implies."""
    return [choice for kind, codes in REASON_CODES.items()
            for choice in options(codes.items(), optgroup=KIND_LABELS[kind])]


def _all_reasons() -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for codes in REASON_CODES.values():
        seen.update(codes)
    return sorted(seen.items(), key=lambda kv: kv[1])


class PlaceHoldForm(FlaskForm):
    """One reason list grouped by kind: the reason decides the kind (holds.kind_of), so a
    reason cannot mismatch it; a reason not in the list is refused by the select."""

    reason_code = SelectField("Reason", choices=_reason_groups(),
                              validators=[DataRequired("Choose a reason.")])
    until = DateField("Hold until (optional)", validators=[Optional()])
    note = TextAreaField("Note", validators=[Length(max=1000)])


class ReleaseHoldForm(FlaskForm):
    """One per hold on the page: built with prefix f"release-{hold.id}"."""

    note = TextAreaField("Why it can be released", validators=[Length(max=1000)])


class CancelOrderForm(FlaskForm):
    """Cancelling asks once: the box is ticked by hand without JavaScript, or by
    marketline.js when the agent confirms the dialog (data-confirm, data-confirm-box)."""

    reason_code = SelectField("Reason", choices=options([("", "Choose a reason"),
                                                         *CANCEL_REASONS.items()]),
                              validators=[DataRequired("Choose why the order is cancelled.")])
    note = TextAreaField("Note", validators=[Length(max=150)])
    confirmed = BooleanField("Yes, cancel this order", validators=[DataRequired(
        "Tick the box to confirm that the order is to be cancelled.")])

    def reason(self) -> str:
        label = CANCEL_REASONS[self.reason_code.data]
        note = (self.note.data or "").strip()
        return f"{label}: {note}" if note else label


class NoteForm(FlaskForm):
    text = TextAreaField("Note", validators=[DataRequired("Write the note first."),
                                             Length(max=2000)])


class ConfirmForm(FlaskForm):
    """A button that does something: only the CSRF token."""


class ChangeLinesForm(FlaskForm):
    """Quantities and removals come as qty-<line id> and remove-<line id>; see changes()."""

    add_sku = StringField("Add SKU", validators=[Optional(), Length(max=64)])
    add_quantity = IntegerField("Quantity to add", default=1,
                                validators=[Optional(), NumberRange(1, MAX_QUANTITY,
                                            f"Enter a quantity from 1 to {MAX_QUANTITY}.")])

    def changes(self, line_ids: list[int], formdata: MultiDict) -> LineChanges | None:
        """The requested changes; None (with form_errors) when a quantity is not a number."""
        quantities, remove = {}, set()
        for line_id in line_ids:
            raw = (formdata.get(f"qty-{line_id}") or "").strip()
            if raw:
                try:
                    quantities[line_id] = int(raw)
                except ValueError:
                    self.form_errors.append(f"Enter a whole number as quantity ({raw!r}).")
                    return None
                if quantities[line_id] < 0:
                    self.form_errors.append("A quantity cannot be negative; 0 removes the line.")
                    return None
            if formdata.get(f"remove-{line_id}"):
                remove.add(line_id)
        add = ()
        if (self.add_sku.data or "").strip():
            add = ((self.add_sku.data.strip(), self.add_quantity.data or 1),)
        return LineChanges(quantities=quantities, remove=frozenset(remove), add=add)


class HoldFilterForm(FlaskForm):
    """The worklist's filters (GET, no CSRF)."""

    class Meta:
        csrf = False

    kind = SelectField("Kind", choices=options([("", "Any kind"), *KIND_LABELS.items()]),
                       validators=[Optional()])
    reason = SelectField("Reason", choices=options([("", "Any reason"), *_all_reasons()]),
                         validators=[Optional()])
    placed_before = DateField("Placed before", validators=[Optional()])
    placed_by = SelectField("Placed by", choices=options([("", "Anyone")]), validate_choice=False,
                            validators=[Optional()])
