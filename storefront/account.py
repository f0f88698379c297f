"""The shopper's account: register, sign in and out, reset a password."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, render_template, request, session, url_for
from flask_login import login_required

from core.customers import services as customers
from core.errors import DomainError
from core.mail import send_mail
from core.ratelimit import RateLimited
from core.web.auth import current_account, login_limit, sign_in, sign_out
from core.web.db import db_session
from core.web.forms import place_error
from core.web.render import redirect_to, render_page
from storefront.cart import TOKEN_KEY, merge_guest_cart
from storefront.forms import ForgotPasswordForm, RegisterForm, ResetPasswordForm, SignInForm
from storefront.limits import count, form_status, with_retry_after

bp = Blueprint("account", __name__, url_prefix="/account")


def _next_url() -> str:
    """Where to go after signing in: a path on this site, or the account page."""
    target = request.args.get("next", "")
    parts = urlsplit(target)
    # Browsers drop tabs and newlines and read "\\" as "/": "/\t/evil" would become
    # "//evil", another site. Only a plain path of printable characters passes.
    safe = (target.startswith("/") and not target.startswith("//")
            and not any(ch <= " " or ch == "\\" for ch in target)
            and not parts.scheme and not parts.netloc)
    return target if safe else url_for("account.overview")


def _sign_in_keeping_cart(user) -> None:
    """Sign in (a fresh session) and bring the guest cart along into the customer's cart."""
    token = session.get(TOKEN_KEY)
    sign_in(user)
    merge_guest_cart(user.customer_id, token)


@bp.route("/register", methods=["GET", "POST"])
def register():
    form = RegisterForm()
    refused = None
    if form.validate_on_submit():
        try:
            count("register")
            user = customers.register_customer(db_session, email=form.email.data,
                                               full_name=form.full_name.data,
                                               password=form.password.data)
        except DomainError as err:
            place_error(form, err)
            refused = err if isinstance(err, RateLimited) else None
        else:
            _sign_in_keeping_cart(user)
            db_session.commit()
            flash(f"Welcome, {user.full_name}. Your account is ready.", "success")
            return redirect_to(_next_url())
    return with_retry_after(render_page("account/register.html", block="form", form=form,
                                        status=form_status() if refused else 200), refused)


@bp.route("/sign-in", methods=["GET", "POST"], endpoint="sign_in")
def sign_in_view():
    form = SignInForm()
    if form.validate_on_submit():
        try:
            user = customers.authenticate(db_session, email=form.email.data,
                                          password=form.password.data,
                                          remote_addr=request.remote_addr, limit=login_limit(),
                                          commit=db_session.commit)
        except DomainError as err:
            db_session.commit()
            place_error(form, err)  # a wrong password, or how long to wait (TooManyAttempts)
        else:
            _sign_in_keeping_cart(user)
            db_session.commit()
            return redirect_to(_next_url())
    return render_page("account/sign_in.html", block="form", form=form)



@bp.post("/sign-out", endpoint="sign_out")
def sign_out_view():
    sign_out()
    db_session.commit()
    flash("You are signed out.", "info")
    return redirect_to(url_for("shop.home"))


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        try:
            count("password_reset", email=form.email.data)
        except RateLimited as err:
            place_error(form, err)
            return with_retry_after(render_page("account/forgot_password.html", block="form",
                                                form=form, status=form_status()), err)
        found = customers.request_password_reset(db_session, form.email.data)
        db_session.commit()
        if found:
            user, token = found
            link = url_for("account.reset_password", token=token, _external=True)
            send_mail(to=user.email, subject="Reset your Marketline password",
                      text=render_template("account/reset_email.txt", user=user, link=link),
                      html=render_template("account/reset_email.html", user=user, link=link))
        return render_page("account/forgot_sent.html", email=form.email.data)
    return render_page("account/forgot_password.html", block="form", form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    form = ResetPasswordForm()
    try:
        customers.valid_reset(db_session, token)
    except DomainError as err:
        return render_page("account/reset_invalid.html", status=400, message=str(err))
    if form.validate_on_submit():
        try:
            user = customers.reset_password(db_session, token=token,
                                            new_password=form.password.data)
        except DomainError as err:
            place_error(form, err)
        else:
            sign_in(user)
            db_session.commit()
            flash("Your password is changed and you are signed in.", "success")
            return redirect_to(url_for("account.overview"))
    return render_page("account/reset_password.html", block="form", form=form, token=token)


@bp.get("/")
@login_required
def overview():
    return render_page("account/overview.html", user=current_account())
