"""Console sign-in and the start page."""
from __future__ import annotations

from flask import Blueprint, flash, request, url_for

from core.agents import services as agents
from core.reporting import operations_overview
from core.errors import DomainError
from core.web.auth import current_account, login_limit, sign_out
from core.web.db import db_session
from core.web.render import redirect_to, render_page
from callcenter import two_step
from callcenter.access import requires_role
from callcenter.forms import AgentSignInForm

bp = Blueprint("console", __name__)


@bp.get("/")
@requires_role("agent", "supervisor", "credit", "catalog", "warehouse", "billing")
def home():
    overview = operations_overview(db_session)
    return render_page("console/home.html", agent=current_account(), overview=overview)


@bp.route("/sign-in", methods=["GET", "POST"], endpoint="sign_in")
def sign_in_view():
    form = AgentSignInForm()
    if form.validate_on_submit():
        try:
            agent = agents.authenticate(db_session, email=form.email.data,
                                        password=form.password.data,
                                        remote_addr=request.remote_addr, limit=login_limit(),
                                        commit=db_session.commit)
        except DomainError as err:
            db_session.commit()
            form.form_errors.append(str(err))
        else:
            return two_step.after_first_step(agent, via="password")
    return render_page("console/sign_in.html", block="form", form=form)


@bp.post("/sign-out", endpoint="sign_out")
def sign_out_view():
    sign_out()
    db_session.commit()
    flash("You are signed out.", "info")
    return redirect_to(url_for("console.sign_in"))
