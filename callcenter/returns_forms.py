"""Forms of the console's return pages: the return taken on the phone, the worklist's
filters, the decision, the receipt, closing and settling again.

A return's lines come as per-line inputs named as the returns service names its fields:
quantity-<order line id>, reason-<id>, comment-<id> and replacement-<id> on the request;
quantity-<return line id>, condition-<id> and disposition-<id> on the receipt. The forms
read them (`request_lines`, `received`) and give back errors by input name, so a refusal
of the service lands at the same input."""
from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from callcenter.order_admin_forms import options
from core.parsing import parse_int
from core.returns import policy
from core.returns.services import Received, RequestLine
from core.workflows.return_desk import STATE_FILTERS

MAX_QUANTITY = 9999
COMMENT_LENGTH = 500
NOTE_LENGTH = 300
REPLACE_ON = {"approval": "As soon as the return is approved",
              "receipt": "Once the returned goods are in"}
KEY = re.compile(r"[0-9a-f]{32}")


def form_key(raw: str | None) -> str:
    """The page's one-submit key as posted, or a new one when what came is not a key."""
    return raw if raw and KEY.fullmatch(raw) else uuid.uuid4().hex


def _quantity(formdata: MultiDict, name: str, errors: dict[str, str]) -> int:
    quantity = parse_int((formdata.get(name) or "").strip() or "0", low=0, high=MAX_QUANTITY)
    if quantity is None:
        errors[name] = "Enter a whole number of units, 0 for none."
        return 0
    return quantity


class ReturnFilterForm(FlaskForm):
    """The worklist's filters (GET, no CSRF)."""

    class Meta:
        csrf = False

    state = SelectField("State", choices=options(STATE_FILTERS.items()), default="",
                        validators=[Optional()])
    q = StringField("RMA or order number", validators=[Optional(), Length(max=40)])


class ReturnRequestForm(FlaskForm):
    """A return taken on the phone; the refund methods are the order's (set by the view)."""

    key = HiddenField(validators=[Length(max=80)])  # one return per page: a resubmit is it
    resolution = RadioField("What the customer gets", default="refund",
                            choices=options(policy.RESOLUTIONS.items()),
                            validators=[DataRequired("Choose money back or an exchange.")])
    refund_method = RadioField("Where the money goes", choices=[], validate_choice=False,
                               validators=[Optional()])
    replace_on = RadioField("When the replacement ships", default="receipt",
                            choices=options(REPLACE_ON.items()),
                            validators=[DataRequired("Choose when the replacement ships.")])
    note = TextAreaField("Note for the file (optional)",
                         validators=[Optional(), Length(max=NOTE_LENGTH)])

    def request_lines(self, line_ids: Sequence[int],
                      replacements: Mapping[int, Sequence[tuple[int, str]]],
                      formdata: MultiDict) -> tuple[list[RequestLine], dict[str, str]]:
        """The lines asked for (quantity above 0), and errors by input name."""
        lines, errors = [], {}
        exchange = self.resolution.data == "exchange"
        for line_id in line_ids:
            quantity = _quantity(formdata, f"quantity-{line_id}", errors)
            reason = (formdata.get(f"reason-{line_id}") or "").strip()
            comment = (formdata.get(f"comment-{line_id}") or "").strip()
            if len(comment) > COMMENT_LENGTH:
                errors[f"comment-{line_id}"] = (f"Keep the comment to {COMMENT_LENGTH} "
                                                "characters.")
            replacement = None
            raw = (formdata.get(f"replacement-{line_id}") or "").strip()
            if exchange and raw:
                allowed = {str(v) for v, _ in replacements.get(line_id, ())}
                if raw not in allowed:
                    errors[f"replacement-{line_id}"] = "Choose a variant of the same product."
                else:
                    replacement = int(raw)
            if quantity:
                lines.append(RequestLine(line_id, quantity, reason, comment, replacement))
        return lines, errors


class ReceiveForm(FlaskForm):
    """What came back, per return line; `key` makes a second submit of the page a no-op."""

    key = HiddenField(validators=[Length(max=80)])

    def received(self, line_ids: Sequence[int], formdata: MultiDict
                 ) -> tuple[dict[int, Received], dict[str, str]]:
        """(return line id -> Received) for the lines with a quantity, and errors by input
        name."""
        found, errors = {}, {}
        for line_id in line_ids:
            quantity = _quantity(formdata, f"quantity-{line_id}", errors)
            if quantity:
                found[line_id] = Received(
                    quantity, condition=(formdata.get(f"condition-{line_id}") or "").strip(),
                    disposition=(formdata.get(f"disposition-{line_id}") or "").strip())
        return found, errors


class ApproveForm(FlaskForm):
    note = StringField("Note (optional)", validators=[Optional(), Length(max=NOTE_LENGTH)])


class RejectForm(FlaskForm):
    note = StringField("Why it is rejected (the customer reads it)", validators=[
        DataRequired("Say why the return is rejected; the customer reads it."),
        Length(max=NOTE_LENGTH)])


class CloseForm(FlaskForm):
    note = StringField("Why it is closed", validators=[
        DataRequired("Say why the return is closed."), Length(max=NOTE_LENGTH)])


class SettleForm(FlaskForm):
    """Retry refund: only the CSRF token."""
