"""Forms of the purchase order pages: the list's filters, the supplier's shipment, and the
buttons that only carry a CSRF token ("Send again")."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import Optional

from callcenter.fulfilment_forms import ShipForm
from callcenter.order_admin_forms import options
from core.purchasing.queries import STATUSES


class PurchaseOrderFilterForm(FlaskForm):
    """The list's filters (GET, no CSRF); the view fills the suppliers."""

    class Meta:
        csrf = False

    supplier = SelectField("Supplier", choices=[], validators=[Optional()])
    status = SelectField("Status", choices=options([("", "Any status"), ("open", "Open"),
                                                    *STATUSES]),
                         validators=[Optional()])

    def supplier_id(self) -> int | None:
        value = self.supplier.data or ""
        return int(value) if value.isdigit() and not self.supplier.errors else None


class SupplierShipmentForm(ShipForm):
    """Carrier and tracking number as the supplier told us; units as qty-<PO line id>
    (ShipForm.quantities)."""


class ActionForm(FlaskForm):
    """A button that does something (send again): only the CSRF token."""
