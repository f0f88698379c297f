"""Stock in the console for the warehouse (supervisors and admin too): receive stock, a
variant's stock page with adjustments, cycle counts and transfers, the stock list, and
expected arrivals (add, change the date, cancel, receive)."""
from __future__ import annotations

from flask import Blueprint, flash, request, url_for

from callcenter.access import requires_role
from callcenter.order_admin_forms import options
from callcenter.stock_forms import (ActionForm, AdjustForm, ArrivalForm, BinForm, CountForm,
                                    ReceiveArrivalForm, ReceiveForm, RescheduleForm,
                                    StockFilterForm, TransferForm)
from core import clock
from core.db import utcnow
from core.inventory import bins, queries
from core.inventory.models import ADJUSTMENT_REASONS, MOVEMENT_KINDS
from core.inventory.states import label as arrival_label
from core.web.auth import current_actor
from core.web.db import db_session
from core.web.forms import commit_or_refuse, filter_args, page_arg
from core.web.render import redirect_to, render_page
from core.workflows import stock_changes, stock_receipts

bp = Blueprint("stock", __name__, url_prefix="/stock")
ROLES = ("warehouse", "supervisor")
PER_PAGE = 50


@bp.before_request
@requires_role(*ROLES)
def _only_warehouse():
    """Every view here is for the warehouse and supervisors (admin holds every role)."""


def _warehouses(*forms, found: list | None = None) -> list:
    """Offer the active warehouses in the forms' warehouse selects; answers them."""
    found = queries.warehouses(db_session) if found is None else found
    for form in forms:
        for field in form:
            if field.short_name in ("warehouse", "source", "target"):
                field.choices = options([("", "Choose a warehouse"), *found])
    return found


def _say_filled(receipt: stock_receipts.Receipt) -> None:
    movement = receipt.movement
    flash(f"Received {movement.quantity} × {movement.variant.sku} into {movement.warehouse} "
          f"({movement.reference}).", "success")
    _say_backorders(receipt.filled)


def _say_backorders(filled: list[stock_receipts.Filled]) -> None:
    if filled:
        orders: dict[str, int] = {}
        for f in filled:
            orders[f.order_number] = orders.get(f.order_number, 0) + f.units
        units = sum(orders.values())
        listed = ", ".join(f"{number} ({units})" for number, units in orders.items())
        flash(f"{units} unit{'s' if units != 1 else ''} went to backorders: {listed}.",
              "success")


# --- the stock list -----------------------------------------------------------------------


@bp.get("/", endpoint="index")
@requires_role(*ROLES)
def index():
    form = StockFilterForm(request.args)
    _warehouses(form)
    form.warehouse.choices = [("", "Every warehouse"), *form.warehouse.choices[1:]]
    form.validate()
    found = queries.stock_list(db_session, query=(form.q.data or "").strip()[:100],
                               warehouse=form.warehouse.data or "", low_only=bool(form.low.data),
                               page=page_arg(), per_page=PER_PAGE)
    return render_page("stock/index.html", block="results", form=form, found=found,
                       args=filter_args(form))


# --- receive stock ------------------------------------------------------------------------


@bp.route("/receive", methods=["GET", "POST"], endpoint="receive")
@requires_role(*ROLES)
def receive():
    form = ReceiveForm(data={"sku": request.args.get("sku", "")[:64]}
                       if request.method == "GET" else None)
    _warehouses(form)
    if request.method == "GET" and len(form.warehouse.choices) > 1:
        form.warehouse.data = form.warehouse.choices[1].value  # the first warehouse
    if form.validate_on_submit():
        if done := commit_or_refuse(form, stock_receipts.receive, sku=form.sku.data,
                                    warehouse=form.warehouse.data, quantity=form.quantity.data,
                                    reference=form.reference.data or "", note=form.note.data or "",
                                    unit_cost=form.unit_cost.data, actor=current_actor()):
            _say_filled(done.value)
            return redirect_to(url_for(".receive"))
    return render_page("stock/receive.html", block="form", form=form)


# --- one variant's stock ------------------------------------------------------------------


def _variant_page(sku: str, *, adjust=None, count=None, transfer=None, counted=None,
                  bin_form=None):
    known = queries.warehouses(db_session)
    codes = [code for code, _ in known] or [""]
    first, second = codes[0], (codes[1:] or [""])[0]
    adjust = adjust or AdjustForm(prefix="adjust", formdata=None, data={"warehouse": first})
    count = count or CountForm(prefix="count", formdata=None, data={"warehouse": first})
    transfer = transfer or TransferForm(prefix="transfer", formdata=None,
                                        data={"source": first, "target": second})
    found = queries.stock_page(db_session, sku, page=page_arg(), per_page=PER_PAGE)
    if bin_form is None:
        # Offered: the first warehouse's bin, to change it rather than type it again.
        first_bin = next((l.bin_location for l in found.levels if l.warehouse == first), "")
        bin_form = BinForm(prefix="bin", formdata=None,
                           data={"warehouse": first, "bin_location": first_bin})
    _warehouses(adjust, count, transfer, bin_form, found=known)
    return render_page("stock/variant.html", stock=found, adjust=adjust, count=count,
                       transfer=transfer, bin_form=bin_form, kinds=MOVEMENT_KINDS,
                       reasons=ADJUSTMENT_REASONS, counted=counted)


@bp.get("/<sku>", endpoint="variant")
@requires_role(*ROLES)
def variant(sku: str):
    return _variant_page(sku)


@bp.post("/<sku>/adjust", endpoint="adjust")
@requires_role(*ROLES)
def adjust(sku: str):
    found = queries.variant_by_sku(db_session, sku)
    form = AdjustForm(prefix="adjust")
    _warehouses(form)
    if form.validate_on_submit():
        if done := commit_or_refuse(form, stock_changes.adjust, variant_id=found.id,
                                    warehouse=form.warehouse.data, change=form.change.data,
                                    reason=form.reason.data, note=form.note.data or "",
                                    actor=current_actor()):
            moved = done.value.movement
            flash(f"Adjusted {found.sku} in {moved.warehouse} by {moved.quantity:+d} "
                  f"({ADJUSTMENT_REASONS[moved.reason]}).", "success")
            _say_backorders(done.value.filled)
            return redirect_to(url_for(".variant", sku=found.sku))
    return _variant_page(found.sku, adjust=form)


@bp.post("/<sku>/count", endpoint="count")
@requires_role(*ROLES)
def count(sku: str):
    found = queries.variant_by_sku(db_session, sku)
    form = CountForm(prefix="count")
    _warehouses(form)
    if form.validate_on_submit():
        if done := commit_or_refuse(form, stock_changes.count, variant_id=found.id,
                                    warehouse=form.warehouse.data, counted=form.counted.data,
                                    note=form.note.data or "", actor=current_actor()):
            moved = done.value.movement
            difference = moved.quantity
            flash(f"Counted {form.counted.data} of {found.sku} in {moved.warehouse}: "
                  f"difference {difference:+d} posted." if difference else
                  f"Counted {form.counted.data} of {found.sku} in {moved.warehouse}: "
                  "no difference.", "success")
            _say_backorders(done.value.filled)
            return redirect_to(url_for(".variant", sku=found.sku))
    return _variant_page(found.sku, count=form)


@bp.post("/<sku>/transfer", endpoint="transfer")
@requires_role(*ROLES)
def transfer(sku: str):
    found = queries.variant_by_sku(db_session, sku)
    form = TransferForm(prefix="transfer")
    _warehouses(form)
    if form.validate_on_submit():
        if done := commit_or_refuse(form, stock_changes.transfer, variant_id=found.id,
                                    source=form.source.data, target=form.target.data,
                                    quantity=form.quantity.data, note=form.note.data or "",
                                    actor=current_actor()):
            flash(f"Moved {form.quantity.data} × {found.sku} from {form.source.data} to "
                  f"{form.target.data}.", "success")
            _say_backorders(done.value.filled)
            return redirect_to(url_for(".variant", sku=found.sku))
    return _variant_page(found.sku, transfer=form)


@bp.post("/<sku>/bin", endpoint="set_bin")
@requires_role(*ROLES)
def set_bin(sku: str):
    found = queries.variant_by_sku(db_session, sku)
    form = BinForm(prefix="bin")
    _warehouses(form)
    if form.validate_on_submit():
        if done := commit_or_refuse(form, bins.set_bin, variant_id=found.id,
                                    warehouse=form.warehouse.data,
                                    bin_location=form.bin_location.data, actor=current_actor()):
            level = done.value
            flash(f"{found.sku} in {level.warehouse} is in bin {level.bin_location}."
                  if level.bin_location else
                  f"{found.sku} in {level.warehouse} has no bin now.", "success")
            return redirect_to(url_for(".variant", sku=found.sku))
    return _variant_page(found.sku, bin_form=form)


# --- expected arrivals --------------------------------------------------------------------


@bp.get("/arrivals", endpoint="arrivals")
@requires_role(*ROLES)
def arrivals():
    status = request.args.get("status", "")
    status = status if status in ("open", "received", "cancelled") else ""
    found = queries.arrivals(db_session, status=status, page=page_arg(), per_page=PER_PAGE)
    return render_page("stock/arrivals.html", found=found, arrival_status=status,
                       today=clock.business_date(utcnow()), is_late=queries.is_late,
                       label=arrival_label)


@bp.route("/arrivals/new", methods=["GET", "POST"], endpoint="new_arrival")
@requires_role(*ROLES)
def new_arrival():
    form = ArrivalForm(data={"sku": request.args.get("sku", "")[:64]}
                       if request.method == "GET" else None)
    _warehouses(form)
    form.supplier.choices = options([(0, "Choose a supplier"),
                                     *queries.suppliers(db_session)])
    if form.validate_on_submit():
        if done := commit_or_refuse(form, stock_receipts.add_arrival,
                                    supplier_id=form.supplier.data or None, sku=form.sku.data,
                                    quantity=form.quantity.data, warehouse=form.warehouse.data,
                                    expected_on=form.expected_on.data,
                                    reference=form.reference.data or "", actor=current_actor()):
            flash(f"Expected arrival of {done.value.quantity} units on "
                  f"{done.value.expected_on.isoformat()} recorded.", "success")
            return redirect_to(url_for(".arrival", arrival_id=done.value.id))
    return render_page("stock/arrival_new.html", block="form", form=form)


def _arrival_page(arrival_id: int, *, reschedule=None, receive_form=None, moved=None):
    found = queries.arrival(db_session, arrival_id)
    return render_page("stock/arrival.html", arrival=found, label=arrival_label,
                       late=queries.is_late(found, clock.business_date(utcnow())),
                       reschedule=reschedule or RescheduleForm(
                           prefix="date", data={"expected_on": found.expected_on}),
                       receive_form=receive_form or ReceiveArrivalForm(prefix="receive",
                                                                       formdata=None),
                       moved=moved)


@bp.get("/arrivals/<int:arrival_id>", endpoint="arrival")
@requires_role(*ROLES)
def arrival(arrival_id: int):
    return _arrival_page(arrival_id)


@bp.post("/arrivals/<int:arrival_id>/date", endpoint="reschedule")
@requires_role(*ROLES)
def reschedule(arrival_id: int):
    queries.arrival(db_session, arrival_id)  # 404 before anything else
    form = RescheduleForm(prefix="date")
    if form.validate_on_submit():
        if done := commit_or_refuse(form, stock_receipts.reschedule_arrival, arrival_id,
                                    expected_on=form.expected_on.data, actor=current_actor()):
            flash(f"The arrival is now expected on {form.expected_on.data.isoformat()}.",
                  "success")
            return _arrival_page(arrival_id, moved=done.value)
    return _arrival_page(arrival_id, reschedule=form)


@bp.post("/arrivals/<int:arrival_id>/cancel", endpoint="cancel")
@requires_role(*ROLES)
def cancel(arrival_id: int):
    queries.arrival(db_session, arrival_id)
    form = ActionForm()
    if not form.validate_on_submit():
        flash("The form had expired; try again.", "error")
        return redirect_to(url_for(".arrival", arrival_id=arrival_id))
    if done := commit_or_refuse(form, stock_receipts.cancel_arrival, arrival_id,
                                actor=current_actor()):
        flash("The expected arrival is cancelled.", "success")
        return _arrival_page(arrival_id, moved=done.value)
    for message in form.form_errors:
        flash(message, "error")
    return redirect_to(url_for(".arrival", arrival_id=arrival_id))


@bp.post("/arrivals/<int:arrival_id>/receive", endpoint="receive_arrival")
@requires_role(*ROLES)
def receive_arrival(arrival_id: int):
    queries.arrival(db_session, arrival_id)
    form = ReceiveArrivalForm(prefix="receive")
    if form.validate_on_submit():
        if done := commit_or_refuse(form, stock_receipts.receive_arrival, arrival_id,
                                    quantity=form.quantity.data, unit_cost=form.unit_cost.data,
                                    actor=current_actor()):
            _say_filled(done.value)
            return redirect_to(url_for(".arrival", arrival_id=arrival_id))
    return _arrival_page(arrival_id, receive_form=form)

