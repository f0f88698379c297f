"""Forms of the warehouse pages: worklist filters, release, ship, mark delivered."""
from __future__ import annotations

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from callcenter.order_admin_forms import options
from core.fulfilment.carriers import CARRIERS
from core.orders import states as order_states
from core.parsing import parse_int

MAX_QUANTITY = 9999


def order_ids(values: list[str], limit: int) -> list[int]:
    """The order ids of ticked checkboxes (`order=<id>`), what is not a number left out."""
    found = (parse_int(v, low=1) for v in values)
    return [v for v in found if v is not None][:limit]


class ReleaseFilterForm(FlaskForm):
    """The "to release" worklist's filters (GET, no CSRF)."""

    class Meta:
        csrf = False

    number = StringField("Order number", validators=[Optional(), Length(max=20)])
    payment = SelectField("Payment", choices=options([("", "Any payment"),
                                                      ("card", "Card authorised"),
                                                      ("on_account", "On account")]),
                          validators=[Optional()])
    placed_before = DateField("Placed before", validators=[Optional()])


class ShipFilterForm(FlaskForm):
    """The "to ship" worklist's filters (GET, no CSRF)."""

    class Meta:
        csrf = False

    number = StringField("Order number", validators=[Optional(), Length(max=20)])
    status = SelectField("Status", choices=options(
        [("", "Any"), *((s, order_states.LABELS[s]) for s in ("in_fulfilment",
                                                               "partially_shipped"))]),
        validators=[Optional()])
    promised_by = DateField("Promised by", validators=[Optional()])


class ReleaseForm(FlaskForm):
    """The ticked orders come as order=<id>; only the CSRF token is a field."""


class ShipForm(FlaskForm):
    """Quantities come as qty-<order line id>; see quantities()."""

    carrier = SelectField("Carrier", choices=options([("", "Choose the carrier"),
                                                      *((c.code, c.name)
                                                        for c in CARRIERS.values())]),
                          validators=[DataRequired("Choose the carrier.")])
    tracking_number = StringField("Tracking number", validators=[Length(max=100)])

    def quantities(self, line_ids: list[int], formdata: MultiDict
                   ) -> tuple[dict[int, int], dict[str, str]]:
        """(order line id -> quantity to ship, errors by input name). An empty box is 0."""
        found, errors = {}, {}
        for line_id in line_ids:
            name = f"qty-{line_id}"
            quantity = parse_int((formdata.get(name) or "").strip() or "0", low=0,
                                 high=MAX_QUANTITY)
            if quantity is None:
                errors[name] = "Enter a whole number of units, 0 to leave the line for later."
            else:
                found[line_id] = quantity
        return found, errors


class ActionForm(FlaskForm):
    """A button that does something (mark delivered): only the CSRF token."""
