"""Order administration in the console: the hold worklist, and the order page with its
actions (holds, line changes, cancellation, confirmation e-mail, notes)."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, request, url_for
from markupsafe import Markup

from callcenter.access import requires_role
from callcenter.order_admin_forms import (
    CancelOrderForm,
    ChangeLinesForm,
    ConfirmForm,
    HoldFilterForm,
    NoteForm,
    PlaceHoldForm,
    ReleaseHoldForm,
    options,
)
from core.errors import DomainError
from core.orders import discounts, holds, states
from core.orders import promises as promising
from core.orders.holds import HoldFilters, HoldNotAllowed
from core.orders.queries import PAYMENT_LABELS, awaiting_payment
from core.purchasing import services as purchasing
from core.purchasing.states import label as purchase_order_label
from core.returns import services as returns
from core.workflows import order_maintenance as maintenance
from core.workflows.cancellation import cancel_and_void, refusal
from core.workflows.phone_orders import CHANNEL as PHONE_CHANNEL
from core.web.auth import current_account, current_actor
from core.web.db import db_session
from core.web.forms import commit_or_refuse, filter_args, page_arg
from core.web.payments import gateway
from core.web.render import redirect_to, render_page

bp = Blueprint("console_orders", __name__)
# When each line ships, in the shop's words (core.orders.promises); the console's pages share it.
bp.app_template_filter("line_promise")(promising.line_status)
bp.app_template_filter("ship_day")(promising.day)
ROLES = ("agent", "supervisor", "credit")
PER_PAGE = 50


@bp.app_template_global("order_link")
def order_link(number: str | None, text: str | None = None) -> Markup:
    """An order number as a link to its console page, for the roles that may open it; for
    the others the number alone (kept on one line either way)."""
    if not number:
        return Markup("")
    if current_account().has_role(*ROLES):
        return Markup('<a class="nowrap" href="{}">{}</a>').format(
            url_for("console_orders.detail", number=number), text or number)
    return Markup('<span class="nowrap">{}</span>').format(text or number)


def _roles() -> frozenset[str]:
    return current_account().roles


def _saved(message: str, order) -> object:
    flash(message, "success")
    return redirect_to(url_for(".detail", number=order.number))


def _done(message: str, order) -> object:
    db_session.commit()
    return _saved(message, order)


# --- the hold worklist ------------------------------------------------------------------


@bp.get("/holds", endpoint="holds")
@requires_role(*ROLES)
def hold_worklist():
    form = HoldFilterForm(request.args)
    form.validate()
    filters = HoldFilters(kind=form.kind.data if not form.kind.errors else "",
                          reason=form.reason.data if not form.reason.errors else "",
                          placed_before=form.placed_before.data if not form.placed_before.errors
                          else None,
                          placed_by=(form.placed_by.data or "")[:200])
    found = holds.worklist(db_session, filters, page=page_arg(), per_page=PER_PAGE)
    form.placed_by.choices = options([("", "Anyone"),
                                      *((p, p) for p in holds.hold_placers(db_session))])
    return render_page("order_admin/holds.html", block="results", form=form, found=found,
                       args=filter_args(form))


# --- orders awaiting payment -------------------------------------------------------------


@bp.get("/awaiting-payment", endpoint="awaiting_payment")
@requires_role("agent", "supervisor")
def awaiting_payment_worklist():
    """Phone orders whose card was not taken or whose payment link is not paid yet, oldest
    first: each opens its order page, which takes the card, sends the link again or cancels."""
    found = awaiting_payment(db_session, channel=PHONE_CHANNEL, page=page_arg(),
                             per_page=PER_PAGE)
    return render_page("order_admin/awaiting_payment.html", block="results", found=found,
                       method_labels={"card": "Card by phone, not taken yet",
                                      "pay_link": "Payment link sent"})


# --- the order page ---------------------------------------------------------------------


def _release_forms(order, submitted: ReleaseHoldForm | None = None, hold_id: int | None = None):
    forms = {}
    for hold in order.active_holds:
        if submitted is not None and hold.id == hold_id:
            forms[hold.id] = submitted
        else:
            forms[hold.id] = ReleaseHoldForm(prefix=f"release-{hold.id}", formdata=None)
    return forms


def _page(order, *, status: int = 200, hold_form=None, lines_form=None, cancel_form=None,
          note_form=None, release_form=None, release_hold_id=None, hold_problems=None):
    view = maintenance.console_order(db_session, order)
    return render_page(
        "order_admin/detail.html", status=status, view=view, order=order,
        status_label=states.LABELS.get(order.status, order.status),
        payment_label=PAYMENT_LABELS.get(order.payment_state, order.payment_state),
        hold_form=hold_form or PlaceHoldForm(prefix="hold", formdata=None),
        lines_form=lines_form or ChangeLinesForm(prefix="lines", formdata=None),
        cancel_form=cancel_form or CancelOrderForm(prefix="cancel", formdata=None),
        note_form=note_form or NoteForm(prefix="note", formdata=None),
        confirm_form=ConfirmForm(prefix="resend", formdata=None),
        release_forms=_release_forms(order, release_form, release_hold_id),
        hold_problems=hold_problems or {}, cancel_refusal=refusal(order),
        roles=_roles(), describe=holds.describe,
        release_refusal=lambda hold: holds.refusal_for(hold, label=current_actor().label,
                                                       roles=_roles()),
        kind_labels=holds.KIND_LABELS, hold_due=holds.is_due,
        hold_releases_itself=holds.releases_itself,
        returns=returns.for_order(db_session, order.id),
        return_label=returns.label,
        can_return=returns.can_return(db_session, order, current_app.config["MARKETLINE"]),
        purchase_orders=purchasing.for_order(db_session, order.id),
        purchase_order_label=purchase_order_label,
        awaiting_payment=(order.status == states.S.PENDING_PAYMENT
                          and order.channel_code == PHONE_CHANNEL))


@bp.get("/<number>", endpoint="detail")
@requires_role(*ROLES)
def detail(number: str):
    return _page(maintenance.find_order(db_session, number))


@bp.post("/<number>/holds", endpoint="place_hold")
@requires_role(*ROLES)
def place_hold(number: str):
    order = maintenance.find_order(db_session, number, lock=True)
    form = PlaceHoldForm(prefix="hold")
    if form.validate_on_submit():
        if done := commit_or_refuse(form, holds.place_hold, order,
                                    kind=holds.kind_of(form.reason_code.data),
                                    reason_code=form.reason_code.data, note=form.note.data,
                                    until=form.until.data, actor=current_actor()):
            return _saved(f"Order {order.number} is on hold: {holds.describe(done.value)}.",
                          order)
    return _page(order, hold_form=form)


@bp.post("/<number>/holds/<int:hold_id>/release", endpoint="release_hold")
@requires_role(*ROLES)
def release_hold(number: str, hold_id: int):
    order = maintenance.find_order(db_session, number, lock=True)
    form = ReleaseHoldForm(prefix=f"release-{hold_id}")
    if not form.validate_on_submit():
        return _page(order, release_form=form, release_hold_id=hold_id)
    hold = holds.get_hold(db_session, order, hold_id)  # NotFound: 404
    try:
        holds.release_hold(db_session, hold, actor=current_actor(), note=form.note.data,
                           roles=_roles())
    except HoldNotAllowed as err:
        db_session.rollback()
        return _page(order, status=403, hold_problems={hold_id: str(err)})
    except DomainError as err:  # released meanwhile: no longer on the page, so say it on top
        db_session.rollback()
        flash(str(err), "error")
        return _page(order)
    return _done(f"Hold released: {holds.describe(hold)}.", order)


@bp.post("/<number>/lines", endpoint="change_lines")
@requires_role(*ROLES)
def change_lines(number: str):
    order = maintenance.find_order(db_session, number, lock=True)
    form = ChangeLinesForm(prefix="lines")
    if form.validate_on_submit():
        changes = form.changes([l.id for l in order.lines], request.form)
        if changes is not None:
            if done := commit_or_refuse(form, maintenance.change_lines, order, changes=changes,
                                        actor=current_actor(), gateway=gateway(),
                                        commit=db_session.commit,
                                        authority=_discount_authority(),
                                        overdue_days=current_app.config[
                                            "MARKETLINE"].CREDIT_OVERDUE_DAYS):
                return _saved(_change_message(order, done.value), order)
    return _page(order, lines_form=form)


def _discount_authority() -> discounts.Authority:
    """What the signed-in agent may give away without a supervisor's approval."""
    limits = discounts.DiscountLimits.from_settings(current_app.config["MARKETLINE"])
    return discounts.authority(current_account(), limits)


def _change_message(order, outcome) -> str:
    message = _payment_message(order, outcome)
    if outcome.approval is not None:
        message += (" A discount on the order is now beyond your limit: the order is on "
                    "hold until a supervisor other than you approves it.")
    if outcome.credit is not None:
        message += (" The order on account now takes the customer over their credit limit "
                    "(or they have invoices long overdue): it is on credit hold until the "
                    "credit team releases it.")
    return message


def _payment_message(order, outcome) -> str:
    total = order.money(outcome.total_after).format()
    if outcome.authorisation == "voided":
        return (f"Lines changed; the new total {total} is more than the card authorisation, "
                "which was voided. The order is on hold until the card is authorised again: "
                "take the card or send a pay link.")
    if outcome.authorisation == "void_failed":
        return (f"Lines changed; the new total is {total}. The old card authorisation could "
                "not be voided: retry it from the payment service. The order is on hold.")
    if outcome.authorisation == "kept":
        return (f"Lines changed; the new total is {total}. The card authorisation still "
                "covers it; the smaller amount is charged at shipment.")
    return f"Lines changed; the new total is {total}."


@bp.post("/<number>/cancel", endpoint="cancel")
@requires_role(*ROLES)
def cancel(number: str):
    order = maintenance.find_order(db_session, number, lock=True)
    form = CancelOrderForm(prefix="cancel")
    if form.validate_on_submit():
        if commit_or_refuse(form, cancel_and_void, order, gateway=gateway(),
                            actor=current_actor(), reason=form.reason(),
                            commit=db_session.commit):
            return _saved(f"Order {order.number} is cancelled; its stock is released.", order)
    return _page(order, cancel_form=form)


@bp.post("/<number>/confirmation", endpoint="resend_confirmation")
@requires_role(*ROLES)
def resend_confirmation(number: str):
    order = maintenance.find_order(db_session, number)
    form = ConfirmForm(prefix="resend")
    if form.validate_on_submit():
        try:
            maintenance.record_confirmation_resent(db_session, order, actor=current_actor())
        except DomainError as err:
            db_session.rollback()
            flash(str(err), "error")
            return redirect_to(url_for(".detail", number=order.number))
        db_session.commit()
        flash(f"The confirmation e-mail is on its way to {order.email}.", "success")
    return redirect_to(url_for(".detail", number=order.number))


@bp.post("/<number>/notes", endpoint="add_note")
@requires_role(*ROLES)
def add_note(number: str):
    order = maintenance.find_order(db_session, number)
    form = NoteForm(prefix="note")
    if form.validate_on_submit():
        if commit_or_refuse(form, maintenance.add_note, order, text=form.text.data,
                            actor=current_actor()):
            return _saved("Note added.", order)
    return _page(order, note_form=form)
