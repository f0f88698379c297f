"""Console: find a customer while they wait on the line, see everything about them
(Customer 360), create and edit customers, keep notes and log calls."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, request, url_for

from core import clock
from core.credit import limits as credit_limits
from core.customers import services as customers
from core.customers import queries
from core.errors import DomainError, NotFound
from core.orders import queries as order_queries
from core.orders import states
from core.reporting.activity import tell
from core.returns import states as return_states
from core.workflows import customer_contact
from core.workflows.customer_360 import customer_360
from core.workflows.customer_search import MIN_CONTAINS, search_customers
from core.web.auth import current_account, current_actor
from core.web.db import db_session
from core.web.htmx import htmx
from core.web.render import redirect_to, render_page
from callcenter.access import requires_role
from callcenter.documents import document_hit, open_document
from callcenter.doc_links import links_for_agent
from callcenter.catalog_forms import options
from callcenter.customer_forms import CreditLimitForm, CustomerForm, InteractionForm, NoteForm
from core.web.forms import commit_or_refuse, place_error

bp = Blueprint("customers", __name__)
ROLES = ("agent", "supervisor", "credit")
RESULTS = 20
LABELS = {"payment_terms": customers.PAYMENT_TERMS, "kinds": customers.KINDS,
          "reasons": customers.INTERACTION_REASONS,
          "outcomes": customers.INTERACTION_OUTCOMES,
          "channels": customers.INTERACTION_CHANNELS, "status": states.LABELS,
          "payment": order_queries.PAYMENT_LABELS, "returns": return_states.label}


def _customer_or_404(number: str):
    try:
        return queries.customer_by_number(db_session, number)
    except NotFound:
        abort(404)


@bp.get("/", endpoint="search")
@requires_role(*ROLES)
def search():
    q = " ".join(request.args.get("q", "").split())[:100]
    # A document number (SO-, INV-, RMA-, QT-) submitted opens the document; as the agent
    # types (htmx), the results offer it instead (one more query, for such text only).
    document = document_hit(q) if q else None
    if document is not None and not htmx:
        return open_document(q)
    hits = search_customers(db_session, q, limit=RESULTS + 1) if q else []
    return render_page("customers/search.html", block="results", q=q, hits=hits[:RESULTS],
                       more=len(hits) > RESULTS, min_chars=MIN_CONTAINS, document=document)


def _show(number: str, *, note_form: NoteForm | None = None,
          interaction_form: InteractionForm | None = None,
          limit_form: CreditLimitForm | None = None, status: int = 200):
    try:
        view = customer_360(db_session, number,
                            overdue_days=current_app.config["MARKETLINE"].CREDIT_OVERDUE_DAYS)
    except NotFound:
        abort(404)
    if limit_form is None:
        limit_form = CreditLimitForm(formdata=None, credit_limit=view.customer.credit_limit,
                                     review_on=view.customer.credit_review_on)
    return render_page("customers/show.html", view=view, c=view.customer, labels=LABELS,
                       trail=tell(db_session, view.events), links=links_for_agent(),
                       note_form=note_form or NoteForm(formdata=None),
                       interaction_form=interaction_form or InteractionForm(formdata=None),
                       limit_form=limit_form,
                       may_set_credit_limit=credit_limits.may_set(current_account().roles),
                       today=clock.today(),
                       review_months=current_app.config["MARKETLINE"].CREDIT_REVIEW_MONTHS,
                       status=status)


@bp.get("/<number>", endpoint="show")
@requires_role(*ROLES)
def show(number: str):
    return _show(number)


def _customer_form(**kwargs) -> CustomerForm:
    form = CustomerForm(**kwargs)
    form.price_group.choices = options((g, g) for g in customers.price_groups(db_session))
    return form


def _save(form: CustomerForm, save):
    """Run `save` and answer; errors go to the form, a likely duplicate to a warning."""
    try:
        customer = save(form.to_data(), bool(form.create_anyway.data))
    except customers.LikelyDuplicate as err:
        db_session.rollback()
        return None, err.matches
    except DomainError as err:
        db_session.rollback()
        place_error(form, err)
        return None, []
    db_session.commit()
    return customer, []


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
@requires_role(*ROLES)
def new():
    form = _customer_form()
    duplicates = []
    if form.validate_on_submit():
        customer, duplicates = _save(form, lambda data, anyway: customers.create_customer(
            db_session, data, actor=current_actor(), roles=current_account().roles,
            allow_duplicate=anyway))
        if customer is not None:
            flash(f"Customer {customer.number} created.", "success")
            return redirect_to(url_for(".show", number=customer.number))
    return render_page("customers/form.html", form=form, customer=None, duplicates=duplicates)


@bp.route("/<number>/edit", methods=["GET", "POST"], endpoint="edit")
@requires_role(*ROLES)
def edit(number: str):
    customer = _customer_or_404(number)
    duplicates = []
    if request.method == "GET":
        form = _customer_form(formdata=None)
        form.fill(customer, customers.default_address(db_session, customer))
    else:
        form = _customer_form()
        if form.validate_on_submit():
            saved, duplicates = _save(form, lambda data, anyway: customers.update_customer(
                db_session, customer, data, actor=current_actor(), roles=current_account().roles,
                allow_duplicate=anyway))
            if saved is not None:
                flash("Customer saved.", "success")
                return redirect_to(url_for(".show", number=saved.number))
            customer = _customer_or_404(number)
    return render_page("customers/form.html", form=form, customer=customer,
                       duplicates=duplicates)


@bp.post("/<number>/notes", endpoint="add_note")
@requires_role(*ROLES)
def add_note(number: str):
    customer = _customer_or_404(number)
    form = NoteForm()
    if form.validate_on_submit():
        if commit_or_refuse(form, customers.add_note, customer, form.text.data or "",
                            actor=current_actor()):
            flash("Note added.", "success")
            return redirect_to(url_for(".show", number=customer.number) + "#notes-h")
    return _show(number, note_form=form)


@bp.post("/<number>/interactions", endpoint="log_interaction")
@requires_role(*ROLES)
def log_interaction(number: str):
    customer = _customer_or_404(number)
    form = InteractionForm()
    if form.validate_on_submit():
        if commit_or_refuse(form, customer_contact.log_interaction, customer, actor=current_actor(),
                            channel=form.channel.data, reason=form.reason.data,
                            outcome=form.outcome.data, note=form.note.data or "",
                            order_number=form.order_number.data or ""):
            flash("Call logged.", "success")
            return redirect_to(url_for(".show", number=customer.number) + "#calls-h")
    return _show(number, interaction_form=form)


@bp.post("/<number>/credit-limit", endpoint="set_credit_limit")
@requires_role(*credit_limits.ROLES)
def set_credit_limit(number: str):
    """Change the customer's credit limit (credit, supervisor, admin); audited."""
    customer = _customer_or_404(number)
    form = CreditLimitForm()
    if form.validate_on_submit():
        if commit_or_refuse(form, credit_limits.set_credit_limit, customer,
                            form.credit_limit.data, review_on=form.review_on.data,
                            note=form.limit_note.data or "", actor=current_actor(),
                            roles=current_account().roles,
                            settings=current_app.config["MARKETLINE"]):
            flash("Credit limit saved." if form.credit_limit.data is not None else
                  "Credit limit removed: the customer has no limit.", "success")
            return redirect_to(url_for(".show", number=customer.number) + "#credit-limit-h")
    return _show(number, limit_form=form, status=422)
