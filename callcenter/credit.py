"""Credit control in the console (issue 15): the credit home (reviews due, orders waiting
on a credit hold, customers over their limit) and a customer's credit page (limit,
headroom, review date, exposure and what makes it up, which blocking rules bite, the
credit holds, open receivables at each month end against the limit, payment behaviour,
limit history), with the forms that change the limit and review date or record a review.

The credit team, supervisors and admin act; billing may read."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, url_for

from callcenter.access import requires_role
from callcenter.credit_forms import CreditLimitForm, CreditReviewForm
from core.credit import limits
from core.credit import queries
from core.customers import queries as customer_queries
from core.errors import NotFound
from core.web.auth import current_account, current_actor
from core.web.db import db_session
from core.web.forms import commit_or_refuse, page_arg
from core.web.render import redirect_to, render_page

bp = Blueprint("credit", __name__)
ACT = ("credit", "supervisor")  # admin holds every role
READ = (*ACT, "billing")
PER_PAGE = 25
REVIEW = "review"  # the review form's prefix: its fields sit beside the limit form's


def _settings():
    return current_app.config["MARKETLINE"]


@bp.get("/", endpoint="home")
@requires_role(*READ)
def home():
    return render_page(
        "credit/home.html",
        reviews=queries.reviews_due(db_session, page=page_arg("reviews_page"),
                                    per_page=PER_PAGE),
        held=queries.credit_holds(db_session, page=page_arg("holds_page"), per_page=PER_PAGE),
        over=queries.over_limit(db_session, page=page_arg("over_page"), per_page=PER_PAGE))


def _page(number: str, *, limit_form: CreditLimitForm | None = None,
          review_form: CreditReviewForm | None = None, status: int = 200):
    try:
        view = queries.credit_page(db_session, number,
                                   overdue_days=_settings().CREDIT_OVERDUE_DAYS)
    except NotFound:
        abort(404)
    c = view.customer
    return render_page(
        "credit/customer.html", view=view, c=c, chart=queries.chart(view.points),
        may_act=limits.may_set(current_account().roles),
        limit_form=limit_form or CreditLimitForm(formdata=None, credit_limit=c.credit_limit,
                                                 review_on=c.credit_review_on),
        review_form=review_form or CreditReviewForm(formdata=None, prefix=REVIEW),
        review_months=_settings().CREDIT_REVIEW_MONTHS, status=status)


@bp.get("/customers/<number>", endpoint="customer")
@requires_role(*READ)
def customer(number: str):
    return _page(number)


def _customer_or_404(number: str):
    try:
        return customer_queries.customer_by_number(db_session, number)
    except NotFound:
        abort(404)


@bp.post("/customers/<number>/limit", endpoint="set_limit")
@requires_role(*ACT)
def set_limit(number: str):
    customer = _customer_or_404(number)
    form = CreditLimitForm()
    if form.validate_on_submit():
        if done := commit_or_refuse(form, limits.set_credit_limit, customer,
                                    form.credit_limit.data, review_on=form.review_on.data,
                                    note=form.limit_note.data or "",
                                    actor=current_actor(), roles=current_account().roles,
                                    settings=_settings()):
            flash("Nothing changed." if done.value is None else
                  "Credit limit and review date saved.", "success")
            return redirect_to(url_for(".customer", number=number) + "#limit-h")
    return _page(number, limit_form=form, status=422)


@bp.post("/customers/<number>/reviewed", endpoint="mark_reviewed")
@requires_role(*ACT)
def mark_reviewed(number: str):
    customer = _customer_or_404(number)
    form = CreditReviewForm(prefix=REVIEW)
    if form.validate_on_submit():
        if done := commit_or_refuse(form, limits.mark_reviewed, customer,
                                    review_on=form.review_on.data, note=form.note.data or "",
                                    actor=current_actor(), roles=current_account().roles,
                                    settings=_settings()):
            flash(f"Credit review recorded; the next is due on "
                  f"{done.value.review_after.isoformat()}.", "success")
            return redirect_to(url_for(".customer", number=number) + "#review-h")
    return _page(number, review_form=form, status=422)
