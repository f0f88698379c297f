"""Purchase orders to drop-shipping suppliers in the console: the list (open ones first),
one purchase order with its PDF and "Send again", and recording the supplier's shipment
(carrier, tracking number, units per line), which ships, invoices and captures the order.

Warehouse staff and supervisors (admin holds every role)."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, request, url_for

from callcenter.access import requires_role
from callcenter.order_admin_forms import options
from callcenter.purchasing_forms import ActionForm, PurchaseOrderFilterForm, SupplierShipmentForm
from core.errors import DomainError
from core.purchasing import document, queries
from core.purchasing import services as purchasing
from core.purchasing.states import label
from core.web.auth import current_actor
from core.web.db import db_session
from core.web.forms import filter_args, page_arg, place_error
from core.web.payments import gateway
from core.web.render import redirect_to, render_page
from core.workflows import credit_gates, drop_shipment

bp = Blueprint("purchasing", __name__)
ROLES = ("warehouse", "supervisor")
PER_PAGE = 50


@bp.get("/", endpoint="list")
@requires_role(*ROLES)
def purchase_orders():
    form = PurchaseOrderFilterForm(request.args)
    form.supplier.choices = options([("", "Any supplier"), *(
        (str(i), name) for i, name in queries.suppliers(db_session))])
    form.validate()
    filters = queries.Filters(supplier_id=form.supplier_id(),
                              status="" if form.status.errors else form.status.data or "")
    found = queries.purchase_orders(db_session, filters, page=page_arg(), per_page=PER_PAGE)
    return render_page("purchasing/list.html", block="results", form=form, found=found,
                       args=filter_args(form), label=label)


def _page(po, *, form: SupplierShipmentForm | None = None, line_errors=None):
    return render_page("purchasing/detail.html", po=po, doc=document.describe(db_session, po),
                       form=form or SupplierShipmentForm(formdata=None),
                       line_errors=line_errors or {}, label=label,
                       shipments=drop_shipment.shipments_of(db_session, po),
                       open=po.status in purchasing.OPEN)


@bp.get("/<number>", endpoint="detail")
@requires_role(*ROLES)
def detail(number: str):
    return _page(purchasing.get(db_session, number))  # NotFound: 404


@bp.get("/<number>/pdf", endpoint="pdf")
@requires_role(*ROLES)
def pdf(number: str):
    po = purchasing.get(db_session, number)
    seller = document.Seller.from_settings(current_app.config["MARKETLINE"])
    body = document.purchase_order_pdf(db_session, po, seller=seller)
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{document.pdf_filename(po)}"'})


@bp.post("/<number>/send-again", endpoint="send_again")
@requires_role(*ROLES)
def send_again(number: str):
    po = purchasing.get(db_session, number)
    if not ActionForm().validate_on_submit():
        flash("The form had expired; try again.", "error")
        return redirect_to(url_for(".detail", number=po.number))
    try:
        drop_shipment.send_again(db_session, po, actor=current_actor())
    except DomainError as err:
        db_session.rollback()
        flash(str(err), "error")
    else:
        db_session.commit()
        flash(f"Purchase order {po.number} is on its way to {po.supplier.email} again.",
              "success")
    return redirect_to(url_for(".detail", number=po.number))


@bp.post("/<number>/shipment", endpoint="record_shipment")
@requires_role(*ROLES)
def record_shipment(number: str):
    po = purchasing.get(db_session, number)
    form = SupplierShipmentForm()
    quantities, line_errors = form.quantities([l.id for l in po.lines], request.form)
    if form.validate_on_submit() and not line_errors:
        try:
            checked = credit_gates.record_supplier_shipment(
                db_session, gateway(), po.number, quantities, carrier=form.carrier.data,
                tracking_number=form.tracking_number.data or "", actor=current_actor(),
                commit=db_session.commit,
                overdue_days=current_app.config["MARKETLINE"].CREDIT_OVERDUE_DAYS)
            outcome = checked.outcome
        except DomainError as err:
            db_session.rollback()
            if err.field and err.field.startswith("qty-"):
                line_errors[err.field] = str(err)
            else:
                place_error(form, err)
            po = purchasing.get(db_session, number)
        else:
            flash(f"Shipment {outcome.shipment.number} is recorded; invoice "
                  f"{outcome.invoice.number} is issued and the customer is told.", "success")
            if problem := outcome.payment_problem:
                flash(f"Payment for invoice {outcome.invoice.number}: {problem}", "error")
            if problem := checked.credit_problem:
                flash(problem, "error")
            return redirect_to(url_for(".detail", number=po.number))
    return _page(po, form=form, line_errors=line_errors)
