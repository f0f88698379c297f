"""The Approvals page: a company's approvers and admins decide the orders that wait because
they went over their buyer's spending limits (core.workflows.approvals).

Only approvers and admins of a company see it (others get 403 with a message); an order is
found only among the viewer's company's waiting orders (404 for any other; one that was
decided meanwhile, a double click, leads back to the list with a message). Approve
releases the hold; an order waiting longer than APPROVAL_PRICE_DAYS shows its new total at
today's prices first (its own page) and is re-priced when approved. Reject needs a comment
and cancels the order. A buyer never decides their own order (the service refuses it).
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Blueprint, abort, current_app, flash, url_for
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import Length, Optional

from core.customers import roles
from core.errors import DomainError, NotFound
from core.orders.holds import HoldNotAllowed
from core.workflows import approvals
from core.workflows.order_page import awaiting_approval_ids, customer_status_label
from core.web.auth import current_account
from core.web.db import db_session
from core.web.payments import gateway
from core.web.render import redirect_to, render_page

bp = Blueprint("approvals", __name__)
FORBIDDEN = ("Only your company's approvers and admins see the Approvals page. Orders over "
             "your spending limit wait there for one of them.")


class DecisionForm(FlaskForm):
    comment = TextAreaField("Comment", validators=[Optional(), Length(
        max=500, message="Keep the comment under 500 characters.")])
    expected_total = HiddenField()  # the re-priced total the approver was shown


def _price_days() -> int:
    return current_app.config["MARKETLINE"].APPROVAL_PRICE_DAYS


def _approver():
    user = current_account()
    if user is None or not roles.can_approve(user):
        return None
    return user


def _list(*, status: int = 200, problems: dict | None = None):
    user = _approver()
    if user is None:
        return render_page("approvals/list.html", rows=[], forbidden=FORBIDDEN, status=403)
    rows = approvals.waiting(db_session, user, price_days=_price_days())
    return render_page("approvals/list.html", rows=rows, forbidden=None, status=status,
                       problems=problems or {}, price_days=_price_days())


@bp.get("/account/approvals")
@login_required
def index():
    return _list()


def _waiting_or_404(user, waiting: str):
    try:
        return approvals.find_waiting(db_session, user, waiting, price_days=_price_days())
    except NotFound:
        abort(404)
    except approvals.AlreadyDecided as err:
        flash(str(err), "info")
        return None


@bp.get("/account/approvals/<waiting>")
@login_required
def review(waiting: str):
    """One waiting order with its new total at today's prices (when it is that old)."""
    user = _approver()
    if user is None:
        return render_page("approvals/list.html", rows=[], forbidden=FORBIDDEN, status=403)
    found = _waiting_or_404(user, waiting)
    if found is None:
        return redirect_to(url_for(".index"))
    return render_page("approvals/review.html", row=found, price_days=_price_days(),
                       change=approvals.price_change(db_session, found), problem=None)


def _expected(raw: str | None) -> Decimal | None:
    try:
        return Decimal(raw) if raw else None
    except InvalidOperation:
        return None


def _decide(waiting: str, which: str, decide, done: str):
    """Approve or reject (`which`) the waiting order through `decide(user, form)`, then
    say `done` (with the order's number) on the list. An order decided meanwhile (a double
    click, another approver first) is said so on the list; another company's is 404."""
    user = _approver()
    if user is None:
        return render_page("approvals/list.html", rows=[], forbidden=FORBIDDEN, status=403)
    form = DecisionForm()
    if not form.validate_on_submit():
        return _list(status=422, problems={waiting: {which: " ".join(
            form.comment.errors) or "Reload the page and try again."}})
    try:
        order = decide(user, form)
    except NotFound:
        db_session.rollback()
        abort(404)
    except approvals.AlreadyDecided as err:
        db_session.rollback()
        flash(str(err), "info")
        return redirect_to(url_for(".index"))
    except DomainError as err:
        db_session.rollback()
        status = 403 if isinstance(err, HoldNotAllowed) else 422
        return _list(status=status, problems={waiting: {which: str(err)}})
    db_session.commit()
    flash(done.format(number=order.number), "success")
    return redirect_to(url_for(".index"))


@bp.post("/account/approvals/<waiting>/approve")
@login_required
def approve(waiting: str):
    return _decide(waiting, "approve", lambda user, form: approvals.approve(
        db_session, user, waiting, comment=form.comment.data or "",
        expected_total=_expected(form.expected_total.data), price_days=_price_days(),
        overdue_days=current_app.config["MARKETLINE"].CREDIT_OVERDUE_DAYS),
        "Order {number} is approved and goes on to the warehouse.")


@bp.post("/account/approvals/<waiting>/reject")
@login_required
def reject(waiting: str):
    return _decide(waiting, "reject", lambda user, form: approvals.reject(
        db_session, user, waiting, comment=form.comment.data or "", gateway=gateway(),
        commit=db_session.commit),
        "Order {number} is rejected and cancelled; its buyer is told why.")


@bp.app_context_processor
def approvals_nav() -> dict:
    """The Approvals link for the logins who approve; and, for order lists, the label of an
    order waiting for approval (one query for a page: `awaiting_approval_ids`)."""
    user = current_account()
    return {"shows_approvals": bool(user is not None and roles.can_approve(user)),
            "awaiting_approval_ids": lambda found: awaiting_approval_ids(
                db_session, [o.id for o in found]),
            "order_status_for": lambda order, waiting=(): customer_status_label(
                order, waiting=order.id in waiting)}
