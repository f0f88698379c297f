"""The company admin's Company page (buyers: invite, role and limits, deactivate, resend an
invitation) and every customer's address book (a company's buyers see it; a person and a
company's admins keep it).

Who may is core.customers.company's to say (`authorise`, `may`): these views ask it and
never compare roles themselves. What is not the signed-in login's to do answers 404.
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, url_for
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField, TelField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Email, Length, Optional

from core.customers import company, roles
from core.customers.addresses import COUNTRIES
from core.customers.models import Customer
from core.errors import DomainError, NotFound
from core.ratelimit import RateLimited
from core.web.auth import current_account
from core.web.db import db_session
from core.web.forms import AmountField, commit_or_refuse, place_error
from core.web.render import redirect_to, render_page
from storefront.forms import region_choices
from storefront.limits import count

bp = Blueprint("company", __name__, url_prefix="/account")


@bp.app_template_global("manages_company")
def manages_company(user) -> bool:
    """Whether to offer the Company page to this login (the header and the account)."""
    return user is not None and roles.can_manage_company(user)


# --- forms ----------------------------------------------------------------------------------

ROLE_CHOICES = [SelectChoice(value, label) for value, label in roles.ROLES.items()]


class BuyerFields(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES, default="buyer", validate_choice=False)
    order_limit = AmountField("Spending limit per order (optional)", places=2,
                              noun="limit", example="500.00")
    monthly_limit = AmountField("Spending limit per month (optional)", places=2,
                                noun="limit", example="2000.00")


class InviteForm(BuyerFields):
    full_name = StringField("Full name", validators=[Length(max=200)])
    email = EmailField("E-mail", validators=[Email("Enter a valid e-mail address."),
                                             Length(max=254)])


class AddressForm(FlaskForm):
    label = StringField("Label (optional), like Warehouse or Head office",
                        validators=[Optional(), Length(max=company.LABEL_MAX)])
    full_name = StringField("Recipient's full name", validators=[Length(max=200)])
    company = StringField("Company (optional)", validators=[Optional(), Length(max=200)])
    line1 = StringField("Street and house number", validators=[Length(max=200)])
    line2 = StringField("Apartment, suite, floor (optional)",
                        validators=[Optional(), Length(max=200)])
    postal_code = StringField("Postal code", validators=[Length(max=20)])
    city = StringField("City", validators=[Length(max=100)])
    country = SelectField("Country", choices=[SelectChoice(v, label) for v, label in sorted(
                              COUNTRIES.items(), key=lambda c: c[1])],
                          default="DE", validate_choice=False)
    region = SelectField("Region (optional)", choices=[], validate_choice=False,
                         validators=[Optional()])
    phone = TelField("Delivery phone (optional)", validators=[Optional(), Length(max=40)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.region.choices = [SelectChoice(v, label)
                               for v, label in region_choices(self.country.data)]

    def address(self) -> dict[str, str]:
        return {f: getattr(self, f).data or "" for f in
                ("full_name", "company", "line1", "line2", "city", "postal_code", "region",
                 "country", "phone")}


class VatIdForm(FlaskForm):
    vat_id = StringField("VAT ID (optional)", validators=[Optional(), Length(max=40)])


def _days() -> int:
    return current_app.config["MARKETLINE"].INVITATION_DAYS


# --- the Company page --------------------------------------------------------------------------

def _managed() -> Customer:
    """The signed-in admin's company; 404 for anyone else (core.customers.company)."""
    user = current_account()
    company.authorise(user, user.customer)
    return user.customer


def _company_page(form: InviteForm | None = None, status: int = 200,
                  vat_form: VatIdForm | None = None):
    customer = _managed()
    form = form or InviteForm(formdata=None)
    vat_form = vat_form or VatIdForm(formdata=None, data={"vat_id": customer.vat_id})
    bill_to = next((a for a in company.addresses(db_session, customer) if a.default_billing),
                   None)
    return render_page("company/index.html", block="invite", customer=customer,
                       buyers=company.buyers(db_session, customer), form=form,
                       bill_to=bill_to, status_label=company.STATUS_LABELS,
                       status_of=company.status, role_labels=roles.ROLES, days=_days(),
                       status=status, vat_form=vat_form)


@bp.get("/company")
@login_required
def index():
    return _company_page()


@bp.post("/company/vat-id")
@login_required
def vat_id():
    """The company's VAT id, for its invoices and e-invoices."""
    customer = _managed()
    form = VatIdForm()
    if form.validate_on_submit():
        if done := commit_or_refuse(form, company.set_vat_id, customer, form.vat_id.data or "",
                                    actor=current_account()):
            flash(f"VAT ID {done.value} saved: invoices from now on carry it." if done.value
                  else "VAT ID removed.", "success")
            return redirect_to(url_for(".index"))
    return _company_page(vat_form=form, status=422)


@bp.post("/company/invite")
@login_required
def invite():
    customer = _managed()
    form = InviteForm()
    if form.validate_on_submit():
        try:
            count("invite", account=customer.number)
        except RateLimited as err:
            place_error(form, err)
            return _company_page(form)
        if commit_or_refuse(form, company.invite_buyer, customer, email=form.email.data or "",
                            full_name=form.full_name.data or "", role=form.role.data or "",
                            order_limit=form.order_limit.data,
                            monthly_limit=form.monthly_limit.data, actor=current_account(),
                            days=_days()):
            flash(f"Invitation sent to {form.email.data}. The link works for {_days()} days.",
                  "success")
            return redirect_to(url_for(".index"))
    return _company_page(form)


def _buyer_page(user_id: int, form: BuyerFields | None = None):
    customer = _managed()
    buyer = next((b for b in company.buyers(db_session, customer) if b.id == user_id), None)
    if buyer is None:
        raise NotFound("We could not find that buyer.")
    if form is None:
        form = BuyerFields(formdata=None, data={"role": buyer.role,
                                                "order_limit": buyer.order_limit,
                                                "monthly_limit": buyer.monthly_limit})
    return render_page("company/buyer.html", block="form", customer=customer, buyer=buyer,
                       form=form, state=company.status(buyer),
                       status_label=company.STATUS_LABELS, itself=buyer.id == current_account().id)


@bp.get("/company/buyers/<int:user_id>")
@login_required
def buyer(user_id: int):
    return _buyer_page(user_id)


@bp.post("/company/buyers/<int:user_id>")
@login_required
def update_buyer(user_id: int):
    customer = _managed()
    form = BuyerFields()
    if form.validate_on_submit():
        if commit_or_refuse(form, company.update_buyer, customer, user_id,
                            role=form.role.data or "", order_limit=form.order_limit.data,
                            monthly_limit=form.monthly_limit.data, actor=current_account()):
            flash("Role and limits saved.", "success")
            return redirect_to(url_for(".buyer", user_id=user_id))
    return _buyer_page(user_id, form)


def _buyer_action(user_id: int, service, done: str):
    customer = _managed()
    form = FlaskForm()
    if form.validate_on_submit():
        try:
            service(db_session, customer, user_id, actor=current_account())
        except NotFound:
            raise
        except DomainError as err:
            db_session.rollback()
            flash(str(err), "error")
        else:
            db_session.commit()
            flash(done, "success")
    return redirect_to(url_for(".buyer", user_id=user_id))


@bp.post("/company/buyers/<int:user_id>/deactivate")
@login_required
def deactivate(user_id: int):
    return _buyer_action(user_id, company.deactivate_buyer,
                         "The login is deactivated and signed out everywhere.")


@bp.post("/company/buyers/<int:user_id>/reactivate")
@login_required
def reactivate(user_id: int):
    return _buyer_action(user_id, company.reactivate_buyer, "The login is active again.")


@bp.post("/company/buyers/<int:user_id>/resend")
@login_required
def resend(user_id: int):
    customer = _managed()
    try:
        count("invite", account=customer.number)
    except RateLimited as err:
        flash(str(err), "error")
        return redirect_to(url_for(".buyer", user_id=user_id))
    return _buyer_action(user_id, lambda session, c, uid, actor: company.resend_invitation(
        session, c, uid, actor=actor, days=_days()),
        "A new invitation is sent; the earlier links no longer work.")


# --- the address book --------------------------------------------------------------------------

def _customer() -> Customer:
    return current_account().customer


@bp.get("/addresses")
@login_required
def addresses():
    user = current_account()
    customer = user.customer
    return render_page("account/addresses.html", customer=customer,
                       addresses=company.addresses(db_session, customer),
                       can_edit=company.may(user, customer, "addresses"))


def _address_form_page(form: AddressForm, address_id: int | None):
    return render_page("account/address_form.html", block="form", form=form,
                       address_id=address_id)


@bp.route("/addresses/new", methods=["GET", "POST"])
@login_required
def new_address():
    company.authorise(current_account(), _customer(), "addresses")
    form = AddressForm()
    if form.validate_on_submit():
        if commit_or_refuse(form, company.add_address, _customer(), form.address(),
                            label=form.label.data or "", actor=current_account()):
            flash("Address added.", "success")
            return redirect_to(url_for(".addresses"))
    return _address_form_page(form, None)


@bp.route("/addresses/<int:address_id>/edit", methods=["GET", "POST"])
@login_required
def edit_address(address_id: int):
    customer = _customer()
    company.authorise(current_account(), customer, "addresses")
    address = next((a for a in company.addresses(db_session, customer) if a.id == address_id),
                   None)
    if address is None:
        raise NotFound("We could not find that address.")
    form = AddressForm(data={**address.as_dict(), "label": address.label})
    if form.validate_on_submit():
        if commit_or_refuse(form, company.edit_address, customer, address_id, form.address(),
                            label=form.label.data or "", actor=current_account()):
            flash("Address saved.", "success")
            return redirect_to(url_for(".addresses"))
    return _address_form_page(form, address_id)


def _address_action(service, done: str, **kwargs):
    form = FlaskForm()
    if form.validate_on_submit():
        try:
            service(db_session, _customer(), actor=current_account(), **kwargs)
        except NotFound:
            raise
        except DomainError as err:
            db_session.rollback()
            flash(str(err), "error")
        else:
            db_session.commit()
            flash(done, "success")
    return redirect_to(url_for(".addresses"))


@bp.post("/addresses/<int:address_id>/delete")
@login_required
def delete_address(address_id: int):
    return _address_action(company.delete_address, "Address deleted.", address_id=address_id)


@bp.post("/addresses/<int:address_id>/default-shipping")
@login_required
def default_shipping(address_id: int):
    return _address_action(company.make_default, "Default shipping address changed.",
                           address_id=address_id, kind="shipping")


@bp.post("/addresses/<int:address_id>/bill-to")
@login_required
def bill_to(address_id: int):
    return _address_action(company.make_default, "Bill-to address changed.",
                           address_id=address_id, kind="billing")
