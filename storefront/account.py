"""The shopper's account: register and confirm the address, sign in and out, reset and
change a password, sign out everywhere.

E-mails are composed and queued by core.notifications after commit. Their links come from
SHOP_URL, never from the request's host (which a client chooses).
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, request, session, url_for
from flask_login import login_required

from core.customers import services as customers
from core.errors import DomainError
from core.orders import queries as order_queries
from core.ratelimit import RateLimited
from core.web.auth import current_account, login_limit, sign_in, sign_out
from core.web.db import db_session
from core.web.forms import place_error
from core.web.render import redirect_to, render_page
from storefront import returns
from storefront.cart import TOKEN_KEY, merge_guest_cart
from storefront.forms import (ChangePasswordForm, ConfirmEmailForm, ForgotPasswordForm,
                             RegisterForm, ResetPasswordForm, SignInForm)
from storefront.limits import count, form_status, with_retry_after

bp = Blueprint("account", __name__, url_prefix="/account")
REGISTERED_KEY = "registered_email"


def _shop_name() -> str:
    return current_app.config["MARKETLINE"].SELLER_NAME


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
    merge_guest_cart(user, token)


@bp.route("/register", methods=["GET", "POST"])
def register():
    """The same answer whether or not the address has an account (see customers.sign_up)."""
    form = RegisterForm()
    refused = None
    if form.validate_on_submit():
        try:
            count("register", email=form.email.data)
            signed_up = customers.sign_up(db_session, email=form.email.data,
                                          full_name=form.full_name.data,
                                          password=form.password.data, shop_name=_shop_name())
        except DomainError as err:
            place_error(form, err)
            refused = err if isinstance(err, RateLimited) else None
        else:
            db_session.commit()  # e-mails the link, or the notice (core.notifications)
            session[REGISTERED_KEY] = signed_up.user.email
            return redirect_to(url_for("account.check_email"))
    return with_retry_after(render_page("account/register.html", block="form", form=form,
                                        status=form_status() if refused else 200), refused)


@bp.get("/check-your-email")
def check_email():
    return render_page("account/check_email.html", email=session.get(REGISTERED_KEY, ""))


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm_email(token: str):
    """The link from the confirmation e-mail: the password chosen at registration confirms
    the address and signs in."""
    form = ConfirmEmailForm()
    try:
        user = customers.valid_confirmation(db_session, token)
    except DomainError as err:
        return render_page("account/confirm_invalid.html", status=400, message=str(err))
    if form.validate_on_submit():
        try:
            user = customers.confirm_email(db_session, token=token, password=form.password.data,
                                           remote_addr=request.remote_addr, limit=login_limit())
        except DomainError as err:
            db_session.commit()  # keep the failed attempt: it is what throttling counts
            place_error(form, err)
        else:
            _sign_in_keeping_cart(user)
            db_session.commit()
            flash(f"Your e-mail address is confirmed. Welcome, {user.full_name}.", "success")
            return redirect_to(url_for("account.overview"))
    return render_page("account/confirm_email.html", block="form", form=form, token=token,
                       email=user.email)


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
            # Keep the failed attempt: it is what throttling counts. An unconfirmed
            # address is e-mailed a fresh link (core.notifications).
            db_session.commit()
            place_error(form, err)
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
        customers.ask_for_password_reset(db_session, form.email.data)
        db_session.commit()
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
                                            new_password=form.password.data,
                                            shop_name=_shop_name())
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
    user = current_account()
    return render_page("account/overview.html", user=user,
                       orders=order_queries.latest_orders(db_session, user),
                       returns=returns.latest_returns(user))


@bp.route("/password", methods=["GET", "POST"], endpoint="change_password")
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_account()
        try:
            customers.change_password(db_session, user, current_password=form.current_password.data,
                                      new_password=form.password.data,
                                      remote_addr=request.remote_addr, limit=login_limit(),
                                      shop_name=_shop_name())
        except DomainError as err:
            db_session.commit()  # keep the failed attempt: it is what throttling counts
            place_error(form, err)
        else:
            sign_in(user)  # every session was ended: this browser starts a fresh one
            db_session.commit()
            flash("Your password is changed. You are signed out on every other device.",
                  "success")
            return redirect_to(url_for("account.overview"))
    return render_page("account/change_password.html", block="form", form=form)


@bp.post("/sign-out-everywhere", endpoint="sign_out_everywhere")
@login_required
def sign_out_everywhere():
    user = current_account()
    customers.sign_out_everywhere(db_session, user)
    sign_in(user)  # this browser stays signed in, with a new session
    db_session.commit()
    flash("You are signed out on every other device.", "success")
    return redirect_to(url_for("account.overview"))
