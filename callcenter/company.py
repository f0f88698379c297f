"""Console: a company customer's buyers (invite, role and spending limits, deactivate and
reactivate, resend an invitation) and any customer's address book and bill-to, for agents,
supervisors and admins. The services decide who may (core.customers.company.authorise);
these views only pass the agent along."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, url_for
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField
from wtforms.validators import Email, Length, Optional

from core.customers import company, roles
from core.customers import queries as customer_queries
from core.customers.models import Customer
from core.errors import DomainError, NotFound
from core.web.auth import current_account, current_actor
from core.web.db import db_session
from core.web.forms import AmountField, commit_or_refuse
from core.web.render import redirect_to, render_page
from callcenter.access import requires_role
from callcenter.catalog_forms import options
from callcenter.customer_forms import AddressForm as _AddressFields

bp = Blueprint("company", __name__, url_prefix="/customers")
ROLES = tuple(sorted(company.CONSOLE_ROLES - {"admin"}))  # admin holds every role


@bp.app_template_filter("buyer_status")
def buyer_status(user) -> str:
    """Active, Invited or Deactivated (core.customers.company.status)."""
    return company.STATUS_LABELS[company.status(user)]


class BuyerFields(FlaskForm):
    role = SelectField("Role", choices=options(roles.ROLES.items()), default="buyer",
                       validate_choice=False)
    order_limit = AmountField("Spending limit per order (optional)", places=2, noun="limit",
                              example="500.00")
    monthly_limit = AmountField("Spending limit per month (optional)", places=2,
                                noun="limit", example="2000.00")


class InviteForm(BuyerFields):
    full_name = StringField("Full name", validators=[Length(max=200)])
    email = EmailField("E-mail", validators=[Email("Enter a valid e-mail address."),
                                             Length(max=254)])


class AddressForm(FlaskForm, _AddressFields):
    """The console's address fields (callcenter.customer_forms) with a label."""

    label = StringField("Label (optional)", validators=[Optional(),
                                                        Length(max=company.LABEL_MAX)])

    def address(self) -> dict[str, str]:
        return {k: getattr(self, k).data or "" for k in
                ("full_name", "company", "line1", "line2", "city", "postal_code", "region",
                 "country", "phone")}


def _agent() -> company.ConsoleAgent:
    return company.ConsoleAgent(current_actor(), current_account().roles)


def _customer(number: str, need: str = "company") -> Customer:
    try:
        customer = customer_queries.customer_by_number(db_session, number)
        company.authorise(_agent(), customer, need)
    except NotFound:
        abort(404)
    return customer


def _days() -> int:
    return current_app.config["MARKETLINE"].INVITATION_DAYS


def _page(customer: Customer, form: InviteForm | None = None):
    return render_page("company/buyers.html", block="invite", c=customer,
                       buyers=company.buyers(db_session, customer),
                       form=form or InviteForm(formdata=None), status_of=company.status,
                       status_label=company.STATUS_LABELS, role_labels=roles.ROLES,
                       days=_days())


@bp.get("/<number>/buyers")
@requires_role(*ROLES)
def buyers(number: str):
    return _page(_customer(number))


@bp.post("/<number>/buyers/invite")
@requires_role(*ROLES)
def invite(number: str):
    customer = _customer(number)
    form = InviteForm()
    if form.validate_on_submit():
        if commit_or_refuse(form, company.invite_buyer, customer, email=form.email.data or "",
                            full_name=form.full_name.data or "", role=form.role.data or "",
                            order_limit=form.order_limit.data,
                            monthly_limit=form.monthly_limit.data, actor=_agent(),
                            days=_days()):
            flash(f"Invitation sent to {form.email.data}.", "success")
            return redirect_to(url_for(".buyers", number=customer.number))
    return _page(customer, form)


def _buyer_page(customer: Customer, user_id: int, form: BuyerFields | None = None):
    buyer = next((b for b in company.buyers(db_session, customer) if b.id == user_id), None)
    if buyer is None:
        abort(404)
    if form is None:
        form = BuyerFields(formdata=None, data={"role": buyer.role,
                                                "order_limit": buyer.order_limit,
                                                "monthly_limit": buyer.monthly_limit})
    return render_page("company/buyer.html", block="form", c=customer, buyer=buyer, form=form,
                       state=company.status(buyer), status_label=company.STATUS_LABELS)


@bp.get("/<number>/buyers/<int:user_id>")
@requires_role(*ROLES)
def buyer(number: str, user_id: int):
    return _buyer_page(_customer(number), user_id)


@bp.post("/<number>/buyers/<int:user_id>")
@requires_role(*ROLES)
def update_buyer(number: str, user_id: int):
    customer = _customer(number)
    form = BuyerFields()
    if form.validate_on_submit():
        if commit_or_refuse(form, company.update_buyer, customer, user_id,
                            role=form.role.data or "", order_limit=form.order_limit.data,
                            monthly_limit=form.monthly_limit.data, actor=_agent()):
            flash("Role and limits saved.", "success")
            return redirect_to(url_for(".buyer", number=customer.number, user_id=user_id))
    return _buyer_page(customer, user_id, form)


def _act(customer: Customer, target: str, service, done: str, **kwargs):
    form = FlaskForm()
    if form.validate_on_submit():
        try:
            service(db_session, customer, actor=_agent(), **kwargs)
        except NotFound:
            abort(404)
        except DomainError as err:
            db_session.rollback()
            flash(str(err), "error")
        else:
            db_session.commit()
            flash(done, "success")
    return redirect_to(target)


@bp.post("/<number>/buyers/<int:user_id>/deactivate")
@requires_role(*ROLES)
def deactivate(number: str, user_id: int):
    customer = _customer(number)
    return _act(customer, url_for(".buyer", number=customer.number, user_id=user_id),
                company.deactivate_buyer, "The login is deactivated and signed out everywhere.",
                user_id=user_id)


@bp.post("/<number>/buyers/<int:user_id>/reactivate")
@requires_role(*ROLES)
def reactivate(number: str, user_id: int):
    customer = _customer(number)
    return _act(customer, url_for(".buyer", number=customer.number, user_id=user_id),
                company.reactivate_buyer, "The login is active again.", user_id=user_id)


@bp.post("/<number>/buyers/<int:user_id>/resend")
@requires_role(*ROLES)
def resend(number: str, user_id: int):
    customer = _customer(number)
    return _act(customer, url_for(".buyer", number=customer.number, user_id=user_id),
                company.resend_invitation, "A new invitation is sent; the earlier links no "
                "longer work.", user_id=user_id, days=_days())


# --- the address book --------------------------------------------------------------------------

@bp.get("/<number>/addresses")
@requires_role(*ROLES)
def addresses(number: str):
    customer = _customer(number, "addresses")
    return render_page("company/addresses.html", c=customer,
                       addresses=company.addresses(db_session, customer))


def _address_form(customer: Customer, form: AddressForm, address_id: int | None):
    return render_page("company/address_form.html", block="form", c=customer, form=form,
                       address_id=address_id)


@bp.route("/<number>/addresses/new", methods=["GET", "POST"])
@requires_role(*ROLES)
def new_address(number: str):
    customer = _customer(number, "addresses")
    form = AddressForm()
    if form.validate_on_submit():
        if commit_or_refuse(form, company.add_address, customer, form.address(),
                            label=form.label.data or "", actor=_agent()):
            flash("Address added.", "success")
            return redirect_to(url_for(".addresses", number=customer.number))
    return _address_form(customer, form, None)


@bp.route("/<number>/addresses/<int:address_id>/edit", methods=["GET", "POST"])
@requires_role(*ROLES)
def edit_address(number: str, address_id: int):
    customer = _customer(number, "addresses")
    address = next((a for a in company.addresses(db_session, customer) if a.id == address_id),
                   None)
    if address is None:
        abort(404)
    form = AddressForm(data={**address.as_dict(), "label": address.label})
    if form.validate_on_submit():
        if commit_or_refuse(form, company.edit_address, customer, address_id, form.address(),
                            label=form.label.data or "", actor=_agent()):
            flash("Address saved.", "success")
            return redirect_to(url_for(".addresses", number=customer.number))
    return _address_form(customer, form, address_id)


@bp.post("/<number>/addresses/<int:address_id>/delete")
@requires_role(*ROLES)
def delete_address(number: str, address_id: int):
    customer = _customer(number, "addresses")
    return _act(customer, url_for(".addresses", number=customer.number),
                company.delete_address, "Address deleted.", address_id=address_id)


@bp.post("/<number>/addresses/<int:address_id>/default-shipping")
@requires_role(*ROLES)
def default_shipping(number: str, address_id: int):
    customer = _customer(number, "addresses")
    return _act(customer, url_for(".addresses", number=customer.number),
                company.make_default, "Default shipping address changed.",
                address_id=address_id, kind="shipping")


@bp.post("/<number>/addresses/<int:address_id>/bill-to")
@requires_role(*ROLES)
def bill_to(number: str, address_id: int):
    customer = _customer(number, "addresses")
    return _act(customer, url_for(".addresses", number=customer.number),
                company.make_default, "Bill-to address changed.", address_id=address_id,
                kind="billing")
