"""The warehouse in the console: orders to release, orders to ship, the pick list, shipping
an order (in full or in part) and marking shipments delivered.

Warehouse staff act; supervisors may look (admin does both)."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, request, url_for

from callcenter.access import requires_role
from callcenter.fulfilment_forms import (
    ActionForm,
    ReleaseFilterForm,
    ReleaseForm,
    ShipFilterForm,
    ShipForm,
    order_ids,
)
from core.errors import DomainError
from core.fulfilment import carriers, packing_slip, queries, services
from core.orders import holds
from core.orders import promises as promising
from core.orders import states as order_states
from core.orders.queries import PAYMENT_LABELS
from core.workflows import order_maintenance as maintenance
from core.workflows import credit_gates
from core.web.auth import current_account, current_actor
from core.web.db import db_session
from core.web.forms import filter_args, page_arg, place_error
from core.web.payments import gateway
from core.web.render import redirect_to, render_page

bp = Blueprint("fulfilment", __name__)
VIEW = ("warehouse", "supervisor")
ACT = ("warehouse",)
PER_PAGE = 50
# One promised day per order on every warehouse page (and whether it has passed).
bp.app_template_filter("promised_day")(promising.order_promised)
bp.app_template_test("late")(promising.is_late)


def _overdue_days() -> int:
    return current_app.config["MARKETLINE"].CREDIT_OVERDUE_DAYS


def _clean(form, name):
    field = form[name]
    return None if field.errors else field.data


# --- to release ---------------------------------------------------------------------------


@bp.get("/release", endpoint="to_release")
@requires_role(*VIEW)
def to_release():
    form = ReleaseFilterForm(request.args)
    form.validate()
    filters = queries.ReleaseFilters(number=_clean(form, "number") or "",
                                     payment=_clean(form, "payment") or "",
                                     placed_before=_clean(form, "placed_before"))
    found = queries.to_release(db_session, filters, page=page_arg(), per_page=PER_PAGE)
    return render_page("fulfilment/to_release.html", block="results", form=form, found=found,
                       args=filter_args(form), release_form=ReleaseForm(formdata=None),
                       payment_labels=PAYMENT_LABELS)


@bp.post("/release", endpoint="release")
@requires_role(*ACT)
def release():
    form = ReleaseForm()
    if not form.validate_on_submit():
        flash("The form had expired; tick the orders again and release them.", "error")
        return redirect_to(url_for(".to_release"))
    try:
        result = credit_gates.release_orders(
            db_session, order_ids(request.form.getlist("order"), services.MAX_BATCH),
            actor=current_actor(), overdue_days=_overdue_days())
    except DomainError as err:
        db_session.rollback()
        flash(str(err), "error")
        return redirect_to(url_for(".to_release"))
    db_session.commit()
    if result.released:
        numbers = ", ".join(o.number for o in result.released)
        count = len(result.released)
        flash(f"{count} order{'' if count == 1 else 's'} sent to the warehouse: {numbers}.",
              "success")
    for number, why in result.refused:
        flash(f"{number} was not released: {why}", "error")
    return redirect_to(url_for(".to_ship" if result.released and not result.refused
                               else ".to_release"))


# --- to ship and the pick list --------------------------------------------------------------


@bp.get("/ship", endpoint="to_ship")
@requires_role(*VIEW)
def to_ship():
    form = ShipFilterForm(request.args)
    form.validate()
    filters = queries.ShipFilters(number=_clean(form, "number") or "",
                                  status=_clean(form, "status") or "",
                                  promised_by=_clean(form, "promised_by"))
    found = queries.to_ship(db_session, filters, page=page_arg(), per_page=PER_PAGE)
    return render_page("fulfilment/to_ship.html", block="results", form=form, found=found,
                       args=filter_args(form), status_labels=order_states.LABELS,
                       outstanding=services.outstanding)


@bp.get("/pick-list", endpoint="pick_list")
@requires_role(*VIEW)
def pick_list():
    ids = order_ids(request.args.getlist("order"), services.MAX_BATCH)
    return render_page("fulfilment/pick_list.html", picks=services.pick_list(db_session, ids),
                       asked=len(ids))


# --- packing slips ----------------------------------------------------------------------------


def _slips_pdf(slips: list[packing_slip.PackingSlip]) -> Response:
    seller = packing_slip.Seller.from_settings(current_app.config["MARKETLINE"])
    body = packing_slip.packing_slips_pdf(slips, seller=seller)
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{packing_slip.pdf_filename(slips)}"'})


@bp.get("/orders/<number>/packing-slip.pdf", endpoint="packing_slip")
@requires_role(*VIEW)
def packing_slip_pdf(number: str):
    order = maintenance.find_order(db_session, number)  # NotFound: 404
    return _slips_pdf(packing_slip.packing_slips(db_session, [order.id], released_only=False))


@bp.get("/packing-slips.pdf", endpoint="packing_slips")
@requires_role(*VIEW)
def packing_slips_pdf():
    """The ticked orders' packing slips, one PDF, each order on its own page."""
    ids = order_ids(request.args.getlist("order"), services.MAX_BATCH)
    slips = packing_slip.packing_slips(db_session, ids)
    if not slips:
        flash("Tick the orders to print packing slips for: orders with the warehouse that "
              "still have something to ship." if not ids else
              "None of the ticked orders is with the warehouse; no packing slip to print.",
              "error")
        return redirect_to(url_for(".to_ship"))
    return _slips_pdf(slips)


# --- one order: ship it, its shipments --------------------------------------------------------


def _order_page(order, *, form: ShipForm | None = None, line_errors=None, status: int = 200):
    shippable = order.status in services.RELEASED and not order.on_hold
    # After a partial shipment Ship now starts at 0 unless the warehouse asks to fill it in.
    after_partial = services.partly_shipped(order)
    fill = not after_partial or request.args.get("fill") == "outstanding"
    return render_page(
        "fulfilment/order.html", status=status, order=order,
        status_label=order_states.LABELS.get(order.status, order.status),
        payment_label=PAYMENT_LABELS.get(order.payment_state, order.payment_state),
        shipments=queries.shipments_for_order(db_session, order.id),
        form=form or ShipForm(formdata=None), line_errors=line_errors or {},
        shippable=shippable, may_act=current_account().has_role(*ACT),
        outstanding=services.outstanding, describe=holds.describe,
        carriers=carriers.CARRIERS.values(), after_partial=after_partial, filled=fill,
        ship_now=lambda line: services.ship_now_default(line, fill=fill),
        shipping_method=queries.shipping_method_name(db_session, order.shipping_method),
        released_statuses=services.RELEASED)


@bp.get("/orders/<number>", endpoint="order")
@requires_role(*VIEW)
def order_page(number: str):
    return _order_page(maintenance.find_order(db_session, number))


@bp.post("/orders/<number>/ship", endpoint="ship")
@requires_role(*ACT)
def ship(number: str):
    order = maintenance.find_order(db_session, number)
    form = ShipForm()
    quantities, line_errors = form.quantities([l.id for l in order.lines], request.form)
    if form.validate_on_submit() and not line_errors:
        try:
            checked = credit_gates.ship_order(
                db_session, gateway(), order.id,
                quantities, carrier=form.carrier.data,
                tracking_number=form.tracking_number.data or "", actor=current_actor(),
                commit=db_session.commit, overdue_days=_overdue_days())
            outcome = checked.outcome
        except DomainError as err:
            db_session.rollback()
            if err.field and err.field.startswith("qty-"):
                line_errors[err.field] = str(err)
            else:
                place_error(form, err)
        else:
            flash(f"Shipment {outcome.shipment.number} is on its way; invoice "
                  f"{outcome.invoice.number} is issued and the customer is told.", "success")
            if problem := outcome.payment_problem:
                flash(f"Payment for invoice {outcome.invoice.number}: {problem}", "error")
            if problem := checked.credit_problem:
                flash(problem, "error")
            return redirect_to(url_for(".order", number=order.number))
    return _order_page(order, form=form, line_errors=line_errors)


@bp.post("/shipments/<int:shipment_id>/delivered", endpoint="delivered")
@requires_role(*ACT)
def delivered(shipment_id: int):
    shipment = services.get_shipment(db_session, shipment_id, lock=True)  # NotFound: 404
    number = shipment.order.number
    if ActionForm().validate_on_submit():
        try:
            services.mark_delivered(db_session, shipment, actor=current_actor())
        except DomainError as err:
            db_session.rollback()
            flash(str(err), "error")
        else:
            db_session.commit()
            flash(f"Shipment {shipment.number} is delivered.", "success")
    else:
        flash("The form had expired; try again.", "error")
    return redirect_to(url_for(".order", number=number))
