"""Dunning in the console: the runs, starting one (it proposes its letters in the
background; the run page polls its progress with htmx), reviewing the proposed letters
(remove, put back, each letter's PDF; a hundred letters a page), sending them, trying a failed
run again, and the levels' setup.

Credit controllers and supervisors (admin holds every role); billing may look."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, request, url_for

from callcenter.access import requires_role
from callcenter.dunning_forms import ActionForm, LevelsForm, StartRunForm
from core import clock
from core.credit import dunning, letters
from core.credit.states import LETTER, RUN
from core.errors import DomainError
from core.web.auth import current_actor
from core.web.db import db_session
from core.web.forms import commit_or_refuse
from core.web.render import redirect_to, render_page
from core.workflows import dunning_runs

bp = Blueprint("dunning", __name__, url_prefix="/dunning")
READ = ("credit", "supervisor", "billing")
WRITE = ("credit", "supervisor")


@bp.context_processor
def _labels():
    return {"RUN_LABEL": RUN.label, "LETTER_LABEL": LETTER.label, "write_roles": WRITE}


def _runs_page(form: StartRunForm | None = None):
    form = form or StartRunForm(formdata=None, data={"as_of": clock.today()})
    return render_page("dunning/runs.html", form=form, rows=dunning.runs(db_session))


@bp.get("/", endpoint="runs")
@requires_role(*READ)
def runs():
    return _runs_page()


@bp.post("/runs", endpoint="start")
@requires_role(*WRITE)
def start():
    form = StartRunForm()
    if form.validate_on_submit():
        if done := commit_or_refuse(form, dunning.start_run, as_of=form.as_of.data,
                                    actor=current_actor()):
            if not dunning_runs.queue_proposal(done.value.id):
                flash("The run could not look at the accounts; see the run for why.", "error")
            return redirect_to(url_for(".run", run_id=done.value.id))
    return _runs_page(form)


@bp.get("/runs/<int:run_id>", endpoint="run")
@requires_role(*READ)
def run(run_id: int):
    page = request.args.get("page", 1, type=int) or 1
    view = dunning.run_view(db_session, run_id, page=page)  # NotFound: 404
    return render_page("dunning/run.html", block="run", view=view, run=view.run)


def _act(service, target, *, run_id: int, done: str):
    """Post a button: call `service(session, target, actor=...)`, commit, back to the run."""
    if not ActionForm().validate_on_submit():
        flash("The form had expired; try again.", "error")
        return redirect_to(url_for(".run", run_id=run_id))
    try:
        service(db_session, target, actor=current_actor())
    except DomainError as err:
        db_session.rollback()
        flash(str(err), "error")
    else:
        db_session.commit()
        flash(done, "success")
    return redirect_to(url_for(".run", run_id=run_id))


@bp.post("/letters/<int:letter_id>/remove", endpoint="remove_letter")
@requires_role(*WRITE)
def remove_letter(letter_id: int):
    letter = dunning.get_letter(db_session, letter_id)
    return _act(dunning.remove_letter, letter, run_id=letter.run_id,
                done="The letter is taken out of the run: it will not be sent.")


@bp.post("/letters/<int:letter_id>/restore", endpoint="restore_letter")
@requires_role(*WRITE)
def restore_letter(letter_id: int):
    letter = dunning.get_letter(db_session, letter_id)
    return _act(dunning.restore_letter, letter, run_id=letter.run_id,
                done="The letter is back in the run.")


@bp.post("/runs/<int:run_id>/cancel", endpoint="cancel")
@requires_role(*WRITE)
def cancel(run_id: int):
    found = dunning.get_run(db_session, run_id)
    return _act(dunning.cancel_run, found, run_id=found.id,
                done="The run is cancelled: no letter was sent.")


@bp.post("/runs/<int:run_id>/retry", endpoint="retry")
@requires_role(*WRITE)
def retry(run_id: int):
    found = dunning.get_run(db_session, run_id)
    if not ActionForm().validate_on_submit():
        flash("The form had expired; try again.", "error")
        return redirect_to(url_for(".run", run_id=run_id))
    try:
        dunning.retry_run(db_session, found, actor=current_actor())
    except DomainError as err:
        db_session.rollback()
        flash(str(err), "error")
    else:
        db_session.commit()
        if dunning_runs.queue_proposal(run_id):
            flash("The run is tried again: it looks at the accounts afresh.", "success")
        else:
            flash("The run could not look at the accounts; see the run for why.", "error")
    return redirect_to(url_for(".run", run_id=run_id))


@bp.post("/runs/<int:run_id>/send", endpoint="send")
@requires_role(*WRITE)
def send(run_id: int):
    found = dunning.get_run(db_session, run_id)
    settings = current_app.config["MARKETLINE"]
    if not ActionForm().validate_on_submit():
        flash("The form had expired; try again.", "error")
        return redirect_to(url_for(".run", run_id=run_id))
    try:
        sent = dunning.send_run(db_session, found, actor=current_actor(), settings=settings)
    except DomainError as err:
        db_session.rollback()
        flash(str(err), "error")
    else:
        db_session.commit()
        flash(f"Sent {len(sent)} letter{'' if len(sent) == 1 else 's'}; the customers are "
              "e-mailed their letters.", "success")
    return redirect_to(url_for(".run", run_id=run_id))


@bp.get("/letters/<int:letter_id>/pdf", endpoint="letter_pdf")
@requires_role(*READ)
def letter_pdf(letter_id: int):
    letter = dunning.get_letter(db_session, letter_id)
    seller = letters.Seller.from_settings(current_app.config["MARKETLINE"])
    body = letters.letter_pdf(db_session, letter, seller=seller)
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{letters.pdf_filename(letter)}"'})


@bp.route("/levels", methods=["GET", "POST"], endpoint="levels")
@requires_role(*WRITE)
def levels():
    ladder = dunning.levels(db_session)
    if request.method == "GET":
        form = LevelsForm(formdata=None, data={f"level{l.level}": {
            "name": l.name, "days_overdue": l.days_overdue, "fee": l.fee,
            "charges_interest": l.charges_interest, "subject": l.subject, "body": l.body}
            for l in ladder})
    else:
        form = LevelsForm()
        if form.validate_on_submit():
            if commit_or_refuse(form, dunning.update_levels, form.changes(),
                                actor=current_actor()):
                flash("The dunning levels are saved.", "success")
                return redirect_to(url_for(".levels"))
    return render_page("dunning/levels.html", form=form,
                       placeholders=dunning.PLACEHOLDERS)
