"""Returns in the console: a return taken on the phone from the order page, the returns
worklist, and one return's page with its decision, receipt, settlement and closing.

Roles:
- take a return on the phone, approve or reject, close: agent and supervisor (a return
  above RETURN_APPROVAL_LIMIT only a supervisor decides; core.returns.decision_refusal);
- receive the goods: warehouse and supervisor. Agents do not: whoever books the goods in
  also releases the refund, so it is the people at the dock, not the person on the phone;
- retry a refund that did not go through: billing, credit and supervisor;
- look: all of these. Admin holds every role.

Every step that may owe the customer something (a request that approved itself, an
approval, a receipt) is committed first, then settled (core.returns.settlement.settle:
credit notes, the refund, the replacement order), which commits itself.
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, request, url_for

from callcenter.access import requires_role
from callcenter.returns_forms import (ApproveForm, CloseForm, ReceiveForm, RejectForm,
                                      REPLACE_ON, ReturnFilterForm, ReturnRequestForm,
                                      SettleForm, form_key, options)
from core.errors import DomainError
from core.orders import states as order_states
from core.returns import policy
from core.returns import services as returns
from core.returns.settlement import Settled, settle
from core.returns.states import RETURN
from core.workflows import order_maintenance as maintenance
from core.workflows import return_desk as desk
from core.workflows import stock_changes
from core.web.auth import current_account, current_actor
from core.web.db import db_session
from core.web.forms import filter_args, page_arg, place_error
from core.web.payments import gateway
from core.web.render import redirect_to, render_page

bp = Blueprint("returns", __name__)
VIEW = ("agent", "supervisor", "warehouse", "billing", "credit")
TAKE = ("agent", "supervisor")  # a return on the phone
DECIDE = ("agent", "supervisor")  # approve, reject (above the limit: supervisor)
RECEIVE = ("warehouse", "supervisor")
SETTLE = ("billing", "credit", "supervisor")  # retry a refund
CLOSE = ("agent", "supervisor")
PER_PAGE = 50


def _settings():
    return current_app.config["MARKETLINE"]


def _may(*roles: str) -> bool:
    return current_account().has_role(*roles)


# --- the worklist -------------------------------------------------------------------------


@bp.get("/returns", endpoint="worklist")
@requires_role(*VIEW)
def worklist():
    form = ReturnFilterForm(request.args)
    form.validate()
    filters = desk.ReturnFilters(state=form.state.data if not form.state.errors else "",
                                 query=(form.q.data or "") if not form.q.errors else "")
    found = desk.worklist(db_session, filters, page=page_arg(), per_page=PER_PAGE)
    return render_page("returns/worklist.html", block="results", form=form, found=found,
                       args=filter_args(form), filters=filters, label=returns.label)


# --- a return on the phone ------------------------------------------------------------------


def _request_form(order, **kwargs) -> ReturnRequestForm:
    form = ReturnRequestForm(**kwargs)
    methods = returns.refund_methods(db_session, order)
    form.refund_method.choices = options(methods.items())
    if not form.refund_method.data and methods:
        form.refund_method.data = next(iter(methods))
    return form


def _new_page(order, *, form: ReturnRequestForm | None = None, errors=None, status: int = 200):
    settings = _settings()
    rows = returns.returnable_lines(db_session, order, settings)
    form = form or _request_form(order, formdata=None, key=form_key(None))
    return render_page(
        "returns/new.html", status=status, order=order, rows=rows, form=form,
        errors=errors or {}, replacements=desk.replacement_choices(db_session, order),
        reasons=desk.reason_labels(), summary=desk.policy_summary(settings, order.currency),
        status_label=order_states.LABELS.get(order.status, order.status),
        open_lines=[r for r in rows if r.refusal is None])


@bp.route("/orders/<number>/returns/new", methods=["GET", "POST"], endpoint="new")
@requires_role(*TAKE)
def new(number: str):
    order = maintenance.find_order(db_session, number)
    if request.method == "GET":
        return _new_page(order)
    form = _request_form(order)
    rows = returns.returnable_lines(db_session, order, _settings())
    replacements = desk.replacement_choices(db_session, order)
    lines, errors = form.request_lines([r.line.id for r in rows if r.refusal is None],
                                       replacements, request.form)
    if not form.validate_on_submit() or errors:
        return _new_page(order, form=form, errors=errors)
    wanted = returns.Request(lines=lines, resolution=form.resolution.data,
                             refund_method=form.refund_method.data or "",
                             replace_on=form.replace_on.data, note=form.note.data or "")
    try:
        rma = returns.request_return(db_session, order, wanted, actor=current_actor(),
                                     channel="phone", key=f"console-{form_key(form.key.data)}",
                                     settings=_settings())
    except DomainError as err:
        db_session.rollback()
        if err.field and err.field.rsplit("-", 1)[0] in ("quantity", "reason", "comment",
                                                          "replacement"):
            errors[err.field] = str(err)
        else:
            place_error(form, err)
        return _new_page(order, form=form, errors=errors)
    db_session.commit()
    settled = _settle(rma.id)
    flash(_request_message(settled), "success")
    _flash_problem(settled)
    return redirect_to(url_for(".detail", rma=rma.number))


def _request_message(settled: Settled) -> str:
    rma = settled.rma
    if rma.status == returns.R.REQUESTED:
        who = "a supervisor" if rma.needs_supervisor else "an agent"
        return (f"Return {rma.number} is recorded; it waits for {who} to approve it "
                f"({rma.money(rma.value).format()}).")
    return f"Return {rma.number} is recorded and approved by the returns policy. " + \
        _outcome(settled)


# --- one return -----------------------------------------------------------------------------


def _page(number: str, *, status: int = 200, approve_form=None, reject_form=None,
          receive_form=None, receive_errors=None, close_form=None, decision_problem=""):
    view = desk.return_page(db_session, number)
    rma = view.rma
    roles = current_account().roles
    return render_page(
        "returns/detail.html", status=status, view=view, rma=rma, money=rma.money,
        reasons=desk.reason_labels(), conditions=policy.CONDITIONS,
        dispositions=policy.DISPOSITIONS, resolutions=policy.RESOLUTIONS,
        refund_method=policy.refund_method_label(rma.refund_method),
        replace_on=REPLACE_ON,
        order_status=order_states.LABELS,
        decision_refusal=returns.decision_refusal(rma, roles),
        decision_problem=decision_problem,
        may_decide=_may(*DECIDE) and rma.status == returns.R.REQUESTED,
        may_receive=_may(*RECEIVE) and view.awaiting_goods,
        may_settle=_may(*SETTLE) and view.settling_due,
        may_close=_may(*CLOSE) and RETURN.allows(rma.status, returns.R.CLOSED),
        approve_form=approve_form or ApproveForm(prefix="approve", formdata=None),
        reject_form=reject_form or RejectForm(prefix="reject", formdata=None),
        receive_form=receive_form or ReceiveForm(prefix="receive", formdata=None,
                                                 key=form_key(None)),
        receive_errors=receive_errors or {},
        close_form=close_form or CloseForm(prefix="close", formdata=None),
        settle_form=SettleForm(prefix="settle", formdata=None))


@bp.get("/returns/<rma>", endpoint="detail")
@requires_role(*VIEW)
def detail(rma: str):
    return _page(rma)


def _settle(return_id: int) -> Settled:
    return settle(db_session, gateway(), return_id, actor=current_actor(),
                  commit=db_session.commit)


def _outcome(settled: Settled) -> str:
    """What the settlement did, in a sentence or two."""
    rma, parts = settled.rma, []
    if settled.credit_notes:
        parts.append(f"Credit note {', '.join(settled.credit_notes)} issued.")
    if settled.refunded:
        parts.append(f"{rma.money(settled.refunded).format()} refunded "
                     f"({policy.refund_method_label(rma.refund_method).lower()}).")
    if settled.replacement:
        parts.append(f"Replacement order {settled.replacement} is placed for the warehouse.")
    if rma.status == returns.R.LABEL_SENT and not parts:
        parts.append("The customer gets the return label by e-mail.")
    return " ".join(parts)


def _flash_problem(settled: Settled) -> None:
    if settled.problem:
        flash(f"The refund of {settled.rma.number} did not go through: {settled.problem} "
              "Billing can retry it from the return's page.", "error")


def _decided(number: str, form, decide):
    """Run a decision (approve or reject); a decision the agent may not take is a 403
    with the reason."""
    rma = returns.by_number(db_session, number)
    try:
        decided = decide(rma)
    except returns.DecisionNotAllowed as err:
        db_session.rollback()
        return None, _page(number, status=403, decision_problem=str(err))
    except DomainError as err:
        db_session.rollback()
        if err.field:
            place_error(form, err)
        else:  # decided meanwhile: the form is gone from the page, so say it on top
            flash(str(err), "error")
        return None, None
    db_session.commit()
    return decided, None


@bp.post("/returns/<rma>/approve", endpoint="approve")
@requires_role(*DECIDE)
def approve(rma: str):
    form = ApproveForm(prefix="approve")
    if form.validate_on_submit():
        decided, refused = _decided(rma, form, lambda r: returns.approve(
            db_session, r, actor=current_actor(), roles=current_account().roles,
            note=form.note.data or ""))
        if refused is not None:
            return refused
        if decided is not None:
            settled = _settle(decided.id)
            flash(f"Return {decided.number} is approved. {_outcome(settled)}".strip(),
                  "success")
            _flash_problem(settled)
            return redirect_to(url_for(".detail", rma=decided.number))
    return _page(rma, approve_form=form)


@bp.post("/returns/<rma>/reject", endpoint="reject")
@requires_role(*DECIDE)
def reject(rma: str):
    form = RejectForm(prefix="reject")
    if form.validate_on_submit():
        decided, refused = _decided(rma, form, lambda r: returns.reject(
            db_session, r, actor=current_actor(), roles=current_account().roles,
            note=form.note.data or ""))
        if refused is not None:
            return refused
        if decided is not None:
            flash(f"Return {decided.number} is rejected; the customer is told why.", "success")
            return redirect_to(url_for(".detail", rma=decided.number))
    return _page(rma, reject_form=form)


@bp.post("/returns/<rma>/receive", endpoint="receive")
@requires_role(*RECEIVE)
def receive(rma: str):
    found = returns.by_number(db_session, rma)
    form = ReceiveForm(prefix="receive")
    received, errors = form.received([l.id for l in found.lines], request.form)
    if not form.validate_on_submit() or errors:
        return _page(rma, receive_form=form, receive_errors=errors)
    try:
        outcome = stock_changes.receive_returned_goods(
            db_session, found, received, actor=current_actor(),
            key=f"console-{form_key(form.key.data)}").outcome
    except DomainError as err:
        db_session.rollback()
        if err.field and err.field.rsplit("-", 1)[0] in ("quantity", "condition",
                                                          "disposition"):
            errors[err.field] = str(err)
        else:
            place_error(form, err)
        return _page(rma, receive_form=form, receive_errors=errors)
    db_session.commit()
    settled = _settle(found.id)
    if outcome.repeated:
        flash("This receipt was already recorded; nothing more was booked.", "success")
    else:
        flash(f"Received for {found.number}: {_receipt_text(outcome)}. {_outcome(settled)}"
              .strip(), "success")
    _flash_problem(settled)
    return redirect_to(url_for(".detail", rma=found.number))


def _receipt_text(outcome: returns.ReceiptOutcome) -> str:
    parts = [f"{q} × {sku} restocked" for sku, q in outcome.restocked.items()]
    parts += [f"{q} × {sku} scrapped" for sku, q in outcome.scrapped.items()]
    return ", ".join(parts)


@bp.post("/returns/<rma>/settle", endpoint="settle")
@requires_role(*SETTLE)
def settle_again(rma: str):
    found = returns.by_number(db_session, rma)
    if SettleForm(prefix="settle").validate_on_submit():
        db_session.commit()  # settle runs with no transaction of ours open
        settled = _settle(found.id)
        if settled.problem:
            _flash_problem(settled)
        else:
            flash(f"Settled {found.number}. {_outcome(settled) or 'Nothing more was owed.'}",
                  "success")
    else:
        flash("The form had expired; try again.", "error")
    return redirect_to(url_for(".detail", rma=found.number))


@bp.post("/returns/<rma>/close", endpoint="close")
@requires_role(*CLOSE)
def close(rma: str):
    found = returns.by_number(db_session, rma)
    form = CloseForm(prefix="close")
    if form.validate_on_submit():
        try:
            returns.close(db_session, found, actor=current_actor(),
                          roles=current_account().roles, note=form.note.data or "")
        except returns.DecisionNotAllowed as err:
            db_session.rollback()
            return _page(rma, status=403, decision_problem=str(err))
        except DomainError as err:
            db_session.rollback()
            place_error(form, err)
        else:
            db_session.commit()
            settled = _settle(found.id)  # what did come back is still paid out
            flash(f"Return {found.number} is closed. {_outcome(settled)}".strip(), "success")
            _flash_problem(settled)
            return redirect_to(url_for(".detail", rma=found.number))
    return _page(rma, close_form=form)
