"""After the order: the customer's order history and detail, cancelling before shipment,
and the guest look-up (guest orders only) by order number, e-mail and postcode."""
from __future__ import annotations


from flask import Blueprint, flash, request, url_for
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Email, Length

from core.errors import DomainError, NotFound
from core.orders import queries, states
from core.ratelimit import RateLimited
from core.workflows import order_page
from core.workflows.cancellation import cancel_and_void, refusal
from core.web.auth import current_account, current_actor
from core.web.db import db_session
from core.web.forms import page_arg
from core.web.payments import gateway
from core.web.render import redirect_to, render_page
from storefront import returns
from storefront.limits import limits, with_retry_after

bp = Blueprint("orders", __name__)


class LookupForm(FlaskForm):
    number = StringField("Order number", validators=[DataRequired("Enter the order number."),
                                                     Length(max=20)])
    email = EmailField("Email", validators=[DataRequired("Enter the e-mail used for the order."),
                                            Email("Enter a valid e-mail address."),
                                            Length(max=254)])
    postcode = StringField("Postcode", validators=[
        DataRequired("Enter the postcode of the delivery address."), Length(max=20)])


@bp.app_template_filter("order_status")
def order_status(status: str) -> str:
    return states.LABELS.get(status, status)


@bp.get("/account/orders")
@login_required
def history():
    result = queries.order_history(db_session, current_account(),
                                   page=page_arg())
    return render_page("orders/history.html", result=result)


@bp.get("/account/orders/<number>")
@login_required
def detail(number: str):
    order = queries.customer_order(db_session, current_account(), number)
    return render_page("orders/detail.html",
                       view=order_page.order_detail(db_session, order, with_documents=True),
                       owner=True, **returns.on_order_page(order))


@bp.get("/account/orders/<number>/cancel")
@login_required
def confirm_cancel(number: str):
    order = queries.customer_order(db_session, current_account(), number)
    if problem := refusal(order):
        flash(problem, "error")
        return redirect_to(url_for(".detail", number=order.number))
    return render_page("orders/cancel.html", view=order_page.order_detail(db_session, order))


@bp.post("/account/orders/<number>/cancel")
@login_required
def cancel(number: str):
    user = current_account()
    order = queries.customer_order(db_session, user, number, lock=True)
    try:
        cancel_and_void(db_session, order, gateway=gateway(),
                        actor=current_actor(), reason="Cancelled by the customer",
                        commit=db_session.commit)
    except DomainError as err:
        db_session.rollback()
        flash(str(err), "error")
    else:
        db_session.commit()
        flash(f"Order {order.number} is cancelled. Nothing will be charged to your card.",
              "success")
    return redirect_to(url_for(".detail", number=order.number))


@bp.route("/orders/lookup", methods=["GET", "POST"])
def lookup():
    form = LookupForm()
    status, refused = 200, None
    if form.validate_on_submit():
        try:
            order = queries.lookup_guest_order(db_session, number=form.number.data,
                                               email=form.email.data,
                                               postcode=form.postcode.data,
                                               remote_addr=request.remote_addr, limits=limits())
        except RateLimited as err:
            form.form_errors.append(str(err))
            status, refused = 429, err
        except NotFound:
            form.form_errors.append(queries.NOT_FOUND)
        else:
            view = order_page.order_detail(db_session, order, with_documents=True)
            shown = returns.on_order_page(order)
            db_session.commit()  # keeps the look-up counted
            returns.remember_guest_order(order)  # its returns open for this browser
            return render_page("orders/detail.html", view=view, owner=False,
                               postcode=form.postcode.data, **shown)
        db_session.commit()
    return with_retry_after(render_page("orders/lookup.html", form=form, status=status), refused)
