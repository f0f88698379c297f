"""Collections in the console: the worklist of overdue accounts ranked by risk, one
account's page (overdue items, the call, the promise to pay, disputes per invoice, follow-up
tasks, history) and "My follow-ups".

Credit controllers and supervisors work here (admin holds every role); billing may read,
resolve the disputes and finish the follow-ups assigned to it."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, request, url_for
from flask_login import current_user

from callcenter.access import requires_role
from callcenter.collections_forms import (ActionForm, AssignForm, CallForm, DisputeForm,
                                          PromiseForm, ResolveForm, TaskForm,
                                          WorklistFilterForm)
from callcenter.order_admin_forms import options
from callcenter.returns_forms import form_key
from core import clock
from core.credit import collections as coll
from core.credit import worklist
from core.credit.collections import CONTACT_CHANNELS, OUTCOMES
from core.credit.states import DISPUTE, PROMISE, TASK, DisputeStatus
from core.web.auth import current_actor
from core.web.db import db_session
from core.web.forms import commit_or_refuse, filter_args, page_arg
from core.web.render import redirect_to, render_page

bp = Blueprint("collections", __name__)
READ = ("credit", "supervisor", "billing")
WRITE = ("credit", "supervisor")
RESOLVE = ("credit", "supervisor", "billing")
PER_PAGE = 25


def _customer(number: str):
    return coll.customer_numbered(db_session, number)  # NotFound: 404


# --- the worklist --------------------------------------------------------------------------

@bp.get("/", endpoint="worklist")
@requires_role(*READ)
def worklist_page():
    form = WorklistFilterForm(request.args)
    form.validate()
    filters = worklist.Filters(
        mine=current_user.user.id if form.mine.data else None,
        min_days=0 if form.min_days.errors else (form.min_days.data or 0),
        query="" if form.q.errors else (form.q.data or ""))
    found = worklist.worklist(db_session, filters, page=page_arg(), per_page=PER_PAGE)
    return render_page("collections/worklist.html", block="results", form=form, found=found,
                       args=filter_args(form), outcomes=OUTCOMES, today=clock.today())


@bp.get("/mine", endpoint="mine")
@requires_role(*READ)
def my_follow_ups():
    found = worklist.my_tasks(db_session, current_user.user.id, page=page_arg(), per_page=50)
    return render_page("collections/mine.html", found=found, today=clock.today())


# --- one account ---------------------------------------------------------------------------

def _agent_choices(roles, first: str):
    return options([(0, first), *((a.id, a.full_name) for a in
                                  coll.assignable_agents(db_session, roles))])


def _page(customer, *, call=None, promise=None, dispute=None, task=None, failed=None,
          status: int = 200, block: str | None = None):
    """The account page; a form given is shown as posted (with its errors); `failed` is
    (dispute id, assign or resolve form) whose post was refused."""
    found = worklist.account(db_session, customer)
    overdue = found.overdue_ids
    call = call or CallForm(prefix="call", formdata=None)
    promise = promise or PromiseForm(prefix="promise", formdata=None,
                                     data={"invoices": overdue, "key": form_key(None)})
    promise.invoices.choices = options((i.invoice.id, i.invoice.number) for i in found.items)
    dispute = dispute or DisputeForm(prefix="dispute", formdata=None)
    dispute.invoice.choices = options([(0, "Choose the invoice"), *(
        (i.invoice.id, f"{i.invoice.number} ({i.invoice.amount_open:,.2f} "
                       f"{i.invoice.currency} open)") for i in found.items if not i.dispute)])
    dispute.assign_to.choices = _agent_choices(coll.DISPUTE_ROLES, "Nobody yet")
    task = task or TaskForm(prefix="task", formdata=None,
                            data={"agent": current_user.user.id,
                                  "due_on": clock.today() + dt.timedelta(days=1)})
    task.agent.choices = _agent_choices(coll.TASK_ROLES, "Choose who follows up")
    dispute_forms = {}
    for d in found.disputes:
        if d.status == DisputeStatus.OPEN:
            assign = AssignForm(prefix=f"d{d.id}", formdata=None,
                                data={"assign_to": d.assigned_to_id or 0})
            resolve = ResolveForm(prefix=f"d{d.id}", formdata=None)
            if failed and failed[0] == d.id:
                assign, resolve = ((failed[1], resolve) if isinstance(failed[1], AssignForm)
                                   else (assign, failed[1]))
            assign.assign_to.choices = dispute.assign_to.choices
            dispute_forms[d.id] = (assign, resolve)
    can_write = current_user.user.has_role(*WRITE)
    return render_page("collections/account.html", block=block, status=status,
                       account=found, call=call, promise=promise, dispute=dispute, task=task,
                       dispute_forms=dispute_forms, can_write=can_write,
                       me=current_user.user.id,
                       can_resolve=current_user.user.has_role(*RESOLVE),
                       outcomes=OUTCOMES, channels=CONTACT_CHANNELS, promise_label=PROMISE.label,
                       dispute_label=DISPUTE.label, task_label=TASK.label, overdue=overdue)


def _back(customer, anchor: str = ""):
    return redirect_to(url_for(".account", number=customer.number) + anchor)


@bp.get("/<number>", endpoint="account")
@requires_role(*READ)
def account(number: str):
    return _page(_customer(number))


@bp.post("/<number>/calls", endpoint="call")
@requires_role(*WRITE)
def call(number: str):
    customer = _customer(number)
    form = CallForm(prefix="call")
    if form.validate_on_submit():
        if commit_or_refuse(form, coll.record_call, customer, outcome=form.outcome.data,
                            note=form.note.data or "", channel=form.channel.data,
                            actor=current_actor()):
            flash(f"Call logged: {OUTCOMES[form.outcome.data].lower()}.", "success")
            return _back(customer, "#history-h")
    return _page(customer, call=form, block="call_form")


@bp.post("/<number>/promises", endpoint="promise")
@requires_role(*WRITE)
def promise(number: str):
    customer = _customer(number)
    form = PromiseForm(prefix="promise")
    if form.validate_on_submit():
        # The page's key as posted (a resubmit of the page is the promise it made), or a
        # new one when what came is not a key.
        form.key.data = form_key(form.key.data)
        if done := commit_or_refuse(form, coll.promise_to_pay, customer,
                                    amount=form.amount.data,
                                    promised_for=form.promised_for.data,
                                    invoices=form.invoices.data or [], note=form.note.data or "",
                                    actor=current_actor(), log_call=True, key=form.key.data):
            made = done.value
            flash(f"Promise to pay {made.amount:,.2f} {made.currency} by "
                  f"{made.promised_for.isoformat()} recorded, with the call.", "success")
            return _back(customer)
    elif form.key.errors:  # not the page's key: a fresh one, and say so
        form.key.data = form_key(None)
        form.form_errors.append("The form was out of date; check it and record it again.")
    return _page(customer, promise=form, block="promise_form")


@bp.post("/<number>/promises/<int:promise_id>/cancel", endpoint="cancel_promise")
@requires_role(*WRITE)
def cancel_promise(number: str, promise_id: int):
    customer = _customer(number)
    found = coll.promise_of(db_session, customer, promise_id)
    form = ActionForm()
    if not form.validate_on_submit():
        flash("The form had expired; try again.", "error")
    elif commit_or_refuse(form, coll.cancel_promise, found, actor=current_actor()):
        flash("The promise to pay is withdrawn.", "success")
    else:
        for message in form.form_errors:
            flash(message, "error")
    return _back(customer)


@bp.post("/<number>/disputes", endpoint="dispute")
@requires_role(*WRITE)
def dispute(number: str):
    customer = _customer(number)
    form = DisputeForm(prefix="dispute")
    if form.validate_on_submit():
        invoice = next((i for i in coll.open_invoices(db_session, customer)
                        if i.id == form.invoice.data), None)
        if invoice is None:
            form.invoice.errors = ["Choose one of the customer's open invoices."]
        elif commit_or_refuse(form, coll.open_dispute, invoice, reason=form.reason.data,
                              amount=form.amount.data, assign_to=form.assign_to.data or None,
                              actor=current_actor()):
            flash(f"{invoice.number} is under dispute; no dunning letter goes to it while the "
                  "dispute is open.", "success")
            return _back(customer, "#disputes-h")
    return _page(customer, dispute=form, block="dispute_form")


@bp.post("/<number>/disputes/<int:dispute_id>/assign", endpoint="assign_dispute")
@requires_role(*WRITE)
def assign_dispute(number: str, dispute_id: int):
    customer = _customer(number)
    found = coll.dispute_of(db_session, customer, dispute_id)
    form = AssignForm(prefix=f"d{found.id}")
    if form.validate_on_submit():
        if commit_or_refuse(form, coll.assign_dispute, found, agent_id=form.assign_to.data,
                            actor=current_actor()):
            flash("The dispute is assigned.", "success")
            return _back(customer, "#disputes-h")
    return _page(customer, failed=(found.id, form))


@bp.post("/<number>/disputes/<int:dispute_id>/resolve", endpoint="resolve_dispute")
@requires_role(*RESOLVE)
def resolve_dispute(number: str, dispute_id: int):
    customer = _customer(number)
    found = coll.dispute_of(db_session, customer, dispute_id)
    form = ResolveForm(prefix=f"d{found.id}")
    if form.validate_on_submit():
        if commit_or_refuse(form, coll.resolve_dispute, found,
                            resolution=form.resolution.data, actor=current_actor()):
            flash("The dispute is resolved.", "success")
            return _back(customer, "#disputes-h")
    return _page(customer, failed=(found.id, form))


@bp.post("/<number>/tasks", endpoint="task")
@requires_role(*WRITE)
def task(number: str):
    customer = _customer(number)
    form = TaskForm(prefix="task")
    if form.validate_on_submit():
        if done := commit_or_refuse(form, coll.add_task, customer, agent_id=form.agent.data,
                                    due_on=form.due_on.data, note=form.note.data,
                                    actor=current_actor()):
            flash(f"Follow-up due on {done.value.due_on.isoformat()} added.", "success")
            return _back(customer, "#tasks-h")
    return _page(customer, task=form, block="task_form")


def _finish(number: str, task_id: int, service, said: str):
    customer = _customer(number)
    found = coll.task_of(db_session, customer, task_id)
    if not (current_user.user.has_role(*WRITE) or found.agent_id == current_user.user.id):
        abort(403)
    form = ActionForm()
    if not form.validate_on_submit():
        flash("The form had expired; try again.", "error")
    elif commit_or_refuse(form, service, found, actor=current_actor()):
        flash(said, "success")
    else:
        for message in form.form_errors:
            flash(message, "error")
    back = request.form.get("back", "")
    if back == "mine":
        return redirect_to(url_for(".mine"))
    return _back(customer, "#tasks-h")


@bp.post("/<number>/tasks/<int:task_id>/done", endpoint="task_done")
@requires_role(*RESOLVE)
def task_done(number: str, task_id: int):
    return _finish(number, task_id, coll.complete_task, "The follow-up is done.")


@bp.post("/<number>/tasks/<int:task_id>/cancel", endpoint="task_cancel")
@requires_role(*WRITE)
def task_cancel(number: str, task_id: int):
    return _finish(number, task_id, coll.cancel_task, "The follow-up is cancelled.")

