"""Two-step sign-in in the console: the code after the password (or single sign-on),
enrolling an authenticator app, recovery codes, and the agent's own account page.

After the first step a sign-in is held (core.web.auth.hold_sign_in): the agent is not
signed in, and every console page sends them to the sign-in page, until the code is
right or, where their role requires two-step sign-in, until they have enrolled.
The new secret waits in the cookie session, sealed, until a first code confirms it.
Sealing uses SECRET_KEY; opening tries SECRET_KEY_FALLBACKS too (mfa.secret_keys), so a key
rotation locks nobody out.
"""
from __future__ import annotations

import json

import segno
from flask import Blueprint, current_app, flash, make_response, session, url_for
from markupsafe import Markup

from core.agents import admin as agent_admin
from core.agents import mfa
from core.agents import services as agents
from core.agents.models import ROLES
from core import labels
from core.errors import DomainError
from core.web.auth import (HELD_SIGN_IN, current_account, drop_held_sign_in, held_sign_in,
                           hold_sign_in, sign_in)
from core.web.db import db_session
from core.web.forms import place_error
from core.web.render import redirect_to, render_page
from callcenter.access import requires_role
from callcenter.forms import RenewRecoveryCodesForm, SecondStepForm, SetUpForm, TimeZoneForm

bp = Blueprint("two_step", __name__)

NEW_SECRET = "_totp_new_secret"
NEW_RECOVERY_CODES = "_new_recovery_codes"


def _secret_keys() -> list[str]:
    """The current SECRET_KEY, then the fallbacks still accepted during a rotation."""
    return mfa.secret_keys(current_app.config["MARKETLINE"])


def after_first_step(agent, *, via: str, idp_mfa: bool = False):
    """Sign `agent` in, or hold the sign-in for the second step it needs. Commits."""
    settings = current_app.config["MARKETLINE"]
    step = mfa.second_step(agent, required=settings.console_require_mfa, idp_mfa=idp_mfa)
    if step is None:
        sign_in(agent)
        db_session.commit()
        return redirect_to(url_for("console.home"))
    hold_sign_in(agent, step=step, via=via)
    db_session.commit()
    return redirect_to(url_for("two_step.code" if step == mfa.CODE else "two_step.set_up"))


def _held(step: str):
    held = held_sign_in()
    if held is None or held.step != step:
        return None
    return held


def _start_again():
    if HELD_SIGN_IN in session:
        flash("Your sign-in timed out. Please sign in again.", "info")
    drop_held_sign_in()
    return redirect_to(url_for("console.sign_in"))


# --- the second step -----------------------------------------------------------------------

@bp.route("/sign-in/code", methods=["GET", "POST"], endpoint="code")
def code():
    held = _held(mfa.CODE)
    if held is None:
        return _start_again()
    form = SecondStepForm()
    if form.validate_on_submit():
        try:
            method = mfa.verify(db_session, held.user, form.code.data, secret_key=_secret_keys())
        except DomainError as err:
            db_session.commit()  # the attempt counts, and its audit event stays
            place_error(form, err)
        else:
            agent = held.user
            sign_in(agent)
            db_session.commit()
            if method == "recovery":
                left = mfa.recovery_codes_left(db_session, agent)
                flash(f"You signed in with a recovery code; {left} are left. If you lost your "
                      "phone, set up the authenticator app again on your account page.", "info")
            return redirect_to(url_for("console.home"))
    return render_page("console/second_step.html", block="form", form=form)


# --- enrolment, right after the password (role requires it) -------------------------------

@bp.route("/sign-in/set-up", methods=["GET", "POST"], endpoint="set_up")
def set_up():
    held = _held(mfa.SET_UP)
    if held is None:
        return _start_again()
    agent = held.user
    if agent.totp_enabled:  # enrolled meanwhile (another tab): the code is what is left
        hold_sign_in(agent, step=mfa.CODE, via=held.via)
        return redirect_to(url_for("two_step.code"))
    secret = _new_secret()
    form = SetUpForm()
    if form.validate_on_submit():
        try:
            enrolled = mfa.enrol(db_session, agent, secret=secret, code=form.code.data,
                                 secret_key=_secret_keys(), actor=agents.actor_for(agent))
        except DomainError as err:
            db_session.commit()
            place_error(form, err)
        else:
            sign_in(agent)  # clears the cookie session, the new secret with it
            _keep_recovery_codes(enrolled.recovery_codes)
            db_session.commit()
            return redirect_to(url_for("two_step.recovery_codes"))
    return _set_up_page(form, agent, secret, action=url_for("two_step.set_up"), required=True)


# --- the agent's own account: enrol, replace, new recovery codes --------------------------

@bp.get("/account", endpoint="account")
@requires_role(*ROLES)
def account():
    return _account_page(current_account(), RenewRecoveryCodesForm())


@bp.post("/account/time-zone", endpoint="time_zone")
@requires_role(*ROLES)
def time_zone():
    agent = current_account()
    form = _time_zone_form()
    if form.validate_on_submit():
        try:
            agent_admin.set_time_zone(db_session, agent, form.time_zone.data,
                                      actor=agents.actor_for(agent))
        except DomainError as err:
            place_error(form, err)
        else:
            db_session.commit()
            flash("Your time zone is saved: the console shows your times in it.", "success")
            return redirect_to(url_for("two_step.account"))
    return _account_page(agent, RenewRecoveryCodesForm(), zone_form=form)


@bp.route("/account/two-step", methods=["GET", "POST"], endpoint="enrol")
@requires_role(*ROLES)
def enrol():
    agent = current_account()
    secret = _new_secret()
    form = SetUpForm()
    if form.validate_on_submit():
        try:
            enrolled = mfa.enrol(db_session, agent, secret=secret, code=form.code.data,
                                 current_code=form.current_code.data, secret_key=_secret_keys(),
                                 actor=agents.actor_for(agent))
        except DomainError as err:
            db_session.commit()
            place_error(form, err)
        else:
            session.pop(NEW_SECRET, None)
            _keep_recovery_codes(enrolled.recovery_codes)
            db_session.commit()
            return redirect_to(url_for("two_step.recovery_codes"))
    return _set_up_page(form, agent, secret, action=url_for("two_step.enrol"), required=False)


@bp.route("/account/recovery-codes", methods=["GET", "POST"], endpoint="recovery_codes")
@requires_role(*ROLES)
def recovery_codes():
    agent = current_account()
    form = RenewRecoveryCodesForm()
    if form.validate_on_submit():
        try:
            codes = mfa.renew_recovery_codes(db_session, agent, code=form.code.data,
                                             secret_key=_secret_keys(),
                                             actor=agents.actor_for(agent))
        except DomainError as err:
            db_session.commit()
            place_error(form, err)
            return _account_page(agent, form)
        _keep_recovery_codes(codes)
        db_session.commit()
        return redirect_to(url_for("two_step.recovery_codes"))
    codes = _shown_recovery_codes()
    if codes is None:
        return redirect_to(url_for("two_step.account"))
    response = make_response(render_page("console/recovery_codes.html", codes=codes))
    response.headers["Cache-Control"] = "no-store"  # shown once: not from the back button
    return response


# --- helpers -----------------------------------------------------------------------------

def _time_zone_form(**kwargs) -> TimeZoneForm:
    return TimeZoneForm(console_zone=current_app.config["MARKETLINE"].CONSOLE_TIMEZONE, **kwargs)


def _account_page(agent, form, zone_form: TimeZoneForm | None = None):
    left = mfa.recovery_codes_left(db_session, agent) if agent.totp_enabled else 0
    settings = current_app.config["MARKETLINE"]
    required = settings.console_require_mfa and agent.has_role(*mfa.MFA_ROLES)
    zone_form = zone_form or _time_zone_form(data={"time_zone": agent.time_zone or ""})
    return render_page("console/account.html", agent=agent, recovery_codes_left=left,
                       required=required, form=form, zone_form=zone_form,
                       console_zone=labels.zone_label(settings.CONSOLE_TIMEZONE))


def _new_secret() -> str:
    """The secret being enrolled, the same across reloads of the page until confirmed."""
    sealed = session.get(NEW_SECRET)
    secret, current = (mfa.unseal_with(sealed, _secret_keys()) if isinstance(sealed, str)
                       else (None, False))
    if secret is None:
        secret = mfa.new_secret()
    if not current:  # new, or sealed under a key being retired
        session[NEW_SECRET] = mfa.seal(secret, _secret_keys())
    return secret


def _set_up_page(form, agent, secret: str, *, action: str, required: bool):
    uri = mfa.provisioning_uri(secret, agent)
    qr = segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff",
                                                 title="QR code of your authenticator key",
                                                 svgclass="qr-code")
    response = make_response(render_page(
        "console/set_up.html", form=form, agent=agent, action=action, required=required,
        secret=" ".join(secret[i:i + 4] for i in range(0, len(secret), 4)), uri=uri,
        qr=Markup(qr)))
    response.headers["Cache-Control"] = "no-store"
    return response


def _keep_recovery_codes(codes: list[str]) -> None:
    # Sealed: the cookie session is signed but readable. Shown once by recovery_codes().
    session[NEW_RECOVERY_CODES] = mfa.seal(json.dumps(codes), _secret_keys())


def _shown_recovery_codes() -> list[str] | None:
    sealed = session.pop(NEW_RECOVERY_CODES, None)
    plain = mfa.unseal(sealed, _secret_keys()) if isinstance(sealed, str) else None
    return json.loads(plain) if plain else None
