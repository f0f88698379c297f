"""Every login's own account details: the profile (name, phone), changing the e-mail address
(confirmed by a link sent to the new one), and an invited company buyer's first visit
(choose a password, then signed in). Changing the password is storefront.account's."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, request, url_for
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, TelField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from core.customers import company
from core.errors import DomainError
from core.ratelimit import RateLimited
from core.web.auth import current_account, login_limit, sign_in
from core.web.db import db_session
from core.web.forms import commit_or_refuse, place_error
from core.web.render import redirect_to, render_page
from storefront.forms import NEW_PASSWORD
from storefront.limits import count

bp = Blueprint("profile", __name__, url_prefix="/account")


class ProfileForm(FlaskForm):
    full_name = StringField("Full name", validators=[Length(max=200)])
    phone = TelField("Phone (optional)", validators=[Optional(), Length(max=40)])


class EmailChangeForm(FlaskForm):
    new_email = EmailField("New e-mail address", validators=[
        DataRequired("Enter the new e-mail address."), Email("Enter a valid e-mail address."),
        Length(max=254)])
    current_password = PasswordField("Current password", validators=[
        DataRequired("Enter your current password.")])


class InvitationForm(FlaskForm):
    password = PasswordField("Choose a password", validators=NEW_PASSWORD)
    confirm = PasswordField("Repeat the password",
                            validators=[DataRequired("Repeat the password."),
                                        EqualTo("password", "The two passwords differ.")])


def _shop_name() -> str:
    return current_app.config["MARKETLINE"].SELLER_NAME


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    user = current_account()
    form = ProfileForm(data={"full_name": user.full_name, "phone": user.phone})
    if form.validate_on_submit():
        if commit_or_refuse(form, company.update_profile, user,
                            full_name=form.full_name.data or "", phone=form.phone.data or ""):
            flash("Your profile is saved.", "success")
            return redirect_to(url_for(".profile"))
    return render_page("account/profile.html", block="form", form=form, user=user)


@bp.route("/email", methods=["GET", "POST"])
@login_required
def change_email():
    user = current_account()
    form = EmailChangeForm()
    if form.validate_on_submit():
        try:
            count("email_change", account=user.id)
            company.request_email_change(db_session, user, new_email=form.new_email.data,
                                         current_password=form.current_password.data,
                                         remote_addr=request.remote_addr, limit=login_limit())
        except RateLimited as err:
            place_error(form, err)
        except DomainError as err:
            db_session.commit()  # keep the failed attempt: it is what throttling counts
            place_error(form, err)
        else:
            db_session.commit()  # e-mails the link (core.notifications)
            return render_page("account/email_sent.html", new_email=form.new_email.data.strip())
    return render_page("account/change_email.html", block="form", form=form, user=user)


@bp.route("/email/confirm/<email_token>", methods=["GET", "POST"])
def confirm_email_change(email_token: str):
    """The link in the e-mail to the new address. Opening it asks for one click, so a mail
    scanner that follows links changes nothing."""
    try:
        link = company.valid_email_change(db_session, email_token)
    except DomainError as err:
        return render_page("account/email_change_invalid.html", status=400, message=str(err))
    form = FlaskForm()
    if form.validate_on_submit():
        try:
            user = company.confirm_email_change(db_session, email_token)
        except DomainError as err:
            db_session.rollback()
            return render_page("account/email_change_invalid.html", status=400,
                               message=str(err))
        db_session.commit()
        flash(f"Your e-mail address is now {user.email}. You were signed out everywhere: "
              "sign in with it from now on.", "success")
        return redirect_to(url_for("account.sign_in"))
    return render_page("account/confirm_email_change.html", form=form, token=email_token,
                       new_email=link.new_email)


@bp.route("/invitation/<invitation_token>", methods=["GET", "POST"])
def invitation(invitation_token: str):
    """An invited buyer chooses a password; then they are signed in."""
    try:
        user = company.valid_invitation(db_session, invitation_token)
    except DomainError as err:
        return render_page("account/invitation_invalid.html", status=400, message=str(err))
    form = InvitationForm()
    if form.validate_on_submit():
        try:
            user = company.accept_invitation(db_session, invitation_token,
                                             form.password.data, shop_name=_shop_name())
        except company.InvalidInvitation as err:
            db_session.rollback()
            return render_page("account/invitation_invalid.html", status=400,
                               message=str(err))
        except DomainError as err:
            db_session.rollback()
            place_error(form, err)
        else:
            sign_in(user)
            db_session.commit()
            flash(f"Welcome, {user.full_name}. You buy for {user.customer.name}.", "success")
            return redirect_to(url_for("account.overview"))
    return render_page("account/invitation.html", block="form", form=form,
                       token=invitation_token, user=user)
